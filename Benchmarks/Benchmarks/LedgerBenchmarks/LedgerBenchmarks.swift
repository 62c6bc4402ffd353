import Benchmark
import Foundation
import Ringfence

// The liability ledger (SPEC §11) at scale: 100,000 agents and 300,000 active vouches on the
// `memory:` store. The ledger is written as the store's rows (the documented row format of
// `ledger.agents` and `ledger.vouches`) and opened by a runtime, which rebuilds it and checks it
// for cycles; every measured operation is then a whole `ledger.*` operation through the runtime
// (its checks, its change and its audit entry), one operation per sample.
//
// The graph: agent k (k ≥ 1) is vouched for by three distinct earlier agents drawn uniformly
// (a voucher already bonding 16 shares of 0.05 — `max_exposure` 0.8 — is skipped), so the
// vouches form a random DAG whose reach sets are large: the hard case for a cycle check.
//
// A slash changes the graph it runs on: it releases the vouches into every agent it walks and
// leaves their vouchers at the floor. Measured one after another on one ledger, later samples
// would find more and more of the graph already released (a slash of an agent whose vouches are
// gone costs ~20 µs, a full cascade of ~40 agents ~30 times that), so the figures would depend on
// how many samples ran. Each slash sample is therefore undone outside the measurement — σ back
// for every agent touched, the released vouches vouched again — and the audit log flushed, so
// every sample slashes the same graph with an idle audit writer.

/// SplitMix64, seeded, so every run builds the same graph and draws the same samples.
struct Generator: RandomNumberGenerator {
    /// The state.
    var state: UInt64
    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// An integer in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// The policy the runtime decides with (the ledger does not read it).
let policy = """
    ringfence: 1
    kind: policy
    name: bench
    rules:
      - id: read
        effect: allow
        action: fs.read
        resources: ["/workspace/**"]
    """

/// A runtime over a ledger of `agents` agents and `3 × agents` vouches, with each vouch's parties.
final class LedgerWorld: @unchecked Sendable {
    // Safety: each benchmark runs its samples one after another on one thread.
    /// The runtime over the ledger.
    let runtime: Runtime
    /// How many agents.
    let agents: Int
    /// The vouchers of each agent, by index.
    let vouchers: [[Int32]]
    /// The active vouches into each agent, by index: the vouch's id and its voucher.
    var into: [[(vouch: String, voucher: Int32)]]
    /// How long opening the runtime (rebuilding the ledger from its rows) took, in seconds.
    let openSeconds: Double
    /// Draws the samples.
    var rng = Generator(state: 0x1ED6E4)
    /// Slashes made so far (each needs a new violation id).
    var violations = 0

    /// Builds the rows of a ledger of `agents` agents and opens a runtime on them.
    init(agents: Int) {
        self.agents = agents
        let since = RuntimeTime.text(1_795_255_200_000_000)
        var rng = Generator(state: 0xB0D)
        var shares = [Int](repeating: 0, count: agents)
        var vouchers = [[Int32]](repeating: [], count: agents)
        var into = [[(vouch: String, voucher: Int32)]](repeating: [], count: agents)
        var rows: [StateRow] = []
        rows.reserveCapacity(agents * 4)
        /// A ledger row (version 1) of `collection` at `key`.
        func row(_ collection: String, _ key: String, _ members: [String: Value]) -> StateRow {
            var members = members
            members["v"] = .number(1)
            return StateRow(StateKey(collection, key), Array(Value.object(members).jsonText.utf8))
        }
        for k in 0..<agents {
            rows.append(row("ledger.agents", "agent-\(k)", ["agent": .string("agent-\(k)"), "trust": .number(0.9), "since": .string(since)]))
        }
        var count = 0
        for k in 1..<agents {
            var chosen: Set<Int> = []
            var tries = 0
            while chosen.count < min(3, k), tries < 50 {
                tries += 1
                let v = rng.below(k)
                guard shares[v] < 16, chosen.insert(v).inserted else { continue }
                shares[v] += 1
                vouchers[k].append(Int32(v))
                into[k].append(("vouch-\(count)", Int32(v)))
                rows.append(row("ledger.vouches", "vouch-\(count)", [
                    "vouch": .string("vouch-\(count)"), "voucher": .string("agent-\(v)"), "vouchee": .string("agent-\(k)"),
                    "bond": .number(0.05), "bonded": .number(0.045), "created_at": .string(since),
                ]))
                count += 1
            }
        }
        self.vouchers = vouchers
        self.into = into
        let store = MemoryStore()
        var batch = StoreBatch()
        batch.puts = rows
        do {
            try store.commit(batch, durability: .relaxed)
            let engine = try Engine(source: policy)
            var settings = engine.program.runtime
            settings.liability.bond = 0.05
            settings.liability.minVoucherTrust = 0
            settings.liability.maxCascadeDepth = 2
            let started = Date()
            runtime = try Runtime(machine: engine.machine, settings: settings, store: store)
            openSeconds = Date().timeIntervalSince(started)
        } catch {
            fatalError("cannot build the ledger: \(error)")
        }
        print("ledger: \(agents) agents, \(count) vouches, opened in \(String(format: "%.2f", openSeconds)) s")
    }

    /// An agent's id.
    func id(_ k: Int) -> String { "agent-\(k)" }

    /// A pair that would close a cycle: `top` vouches (through one or two hops) for `bottom`, and
    /// `bottom` now offers to vouch for `top`.
    func cyclePair() -> (voucher: String, vouchee: String) {
        while true {
            let bottom = 1 + rng.below(agents - 1)
            guard let middle = vouchers[bottom].first else { continue }
            let top = vouchers[Int(middle)].first.map(Int.init) ?? Int(middle)
            return (id(bottom), id(top))
        }
    }

    /// Undoes `outcome`, a slash with severity 0.95 under the world's settings (cascade below
    /// 0.06, two hops): σ back to its value before for every agent touched, and every vouch the
    /// slash released — the active vouches into the agents it walked (the slashed agent and the
    /// vouchers it clipped at depth 1 and 2, all below 0.06 after a 0.95 slash) — made again.
    /// Then waits for the audit log, so the next sample starts with an idle writer.
    func undo(_ outcome: SlashOutcome) {
        do {
            for touch in outcome.touched where touch.after != touch.before {
                _ = try runtime.setTrust(agent: touch.agent, trust: touch.before)
            }
            for touch in outcome.touched where touch.depth <= 2 {
                guard let k = Int(touch.agent.dropFirst("agent-".count)) else { fatalError("agent id `\(touch.agent)`") }
                let released = into[k]
                into[k] = []
                for (_, voucher) in released {
                    let made = try runtime.vouch(voucher: id(Int(voucher)), vouchee: touch.agent, bond: 0.05)
                    into[k].append((made.vouch, voucher))
                }
            }
            try runtime.log.flush()
        } catch {
            fatalError("cannot undo the slash of `\(outcome.touched.first?.agent ?? "")`: \(error)")
        }
    }

    /// A pair with the voucher earlier than the vouchee: never a cycle, so the search runs until
    /// one side has nothing left to follow.
    func forwardPair() -> (voucher: String, vouchee: String) {
        let a = rng.below(agents), b = rng.below(agents)
        return a == b ? forwardPair() : (id(min(a, b)), id(max(a, b)))
    }
}

/// The benchmarks: every one shares the ledger, built once.
let benchmarks: @Sendable () -> Void = {
    let world = LedgerWorld(agents: 100_000)
    let configuration = Benchmark.Configuration(metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 10,
                                                scalingFactor: .one, maxDuration: .seconds(20), maxIterations: 2_000, thresholds: [:])

    Benchmark("ledger.vouch refused as a cycle (100k agents, 300k vouches, memory)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            let (voucher, vouchee) = world.cyclePair()
            benchmark.startMeasurement()
            let refused: Bool
            do throws(RuntimeError) {
                _ = try world.runtime.vouch(voucher: voucher, vouchee: vouchee)
                refused = false
            } catch {
                refused = error.code == .vouchCycle
            }
            benchmark.stopMeasurement()
            precondition(refused, "`\(voucher)` → `\(vouchee)` was not refused as a cycle")
        }
    }

    Benchmark("ledger.vouch with a full cycle check (100k agents, 300k vouches, memory)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            let (voucher, vouchee) = world.forwardPair()
            benchmark.startMeasurement()
            let outcome = try? world.runtime.vouch(voucher: voucher, vouchee: vouchee)
            benchmark.stopMeasurement()
            if let outcome { _ = try? world.runtime.releaseVouch(outcome.vouch) }
        }
    }

    Benchmark("ledger.slash cascading two hops (100k agents, 300k vouches, memory)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            let agent = world.id(1 + world.rng.below(world.agents - 1))
            world.violations += 1
            let violation = "bench-\(world.violations)"
            benchmark.startMeasurement()
            let outcome = try? world.runtime.slash(agent: agent, severity: 0.95, violation: violation)
            benchmark.stopMeasurement()
            guard let outcome else { fatalError("the slash of `\(agent)` failed") }
            world.undo(outcome)
        }
    }
}
