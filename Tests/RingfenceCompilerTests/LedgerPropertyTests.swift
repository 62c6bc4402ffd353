import Foundation
import Testing
import Ringfence
@testable import RingfenceRuntime
import RingfenceTestSupport

/// Properties of the ledger over thousands of seeded random vouch graphs and operation
/// sequences, each operation checked against the whole ledger: no cycle, bonds within
/// `max_exposure × σ`, σ in [0, 1], caches equal to what the vouches say, a refusal exactly
/// when an independent search finds a cycle or the exact exposure sum is over, a repeated slash
/// or a refused operation changing nothing, a slash clipping each voucher once, and a ledger
/// rebuilt from the store equal to the one that wrote it.
@Suite struct LedgerPropertyTests {
    /// How many random worlds the main property runs.
    static let worlds = 2_000

    /// A random world: a runtime over random liability settings with random agents in a session.
    struct World {
        /// The runtime.
        let runtime: Runtime
        /// Its ledger.
        let ledger: Ledger
        /// Its store.
        let store: MemoryStore
        /// The clock.
        let clock: RuntimeTests.Clock
        /// The agents that joined.
        let agents: [String]
        /// The settings in force.
        let settings: RuntimeSettings
        /// Vouch ids made so far.
        var vouches: [String] = []
    }

    /// A world from `rng` over `engine` (compiled once per test: the engine is immutable).
    static func world(_ engine: Engine, _ rng: inout SeededGenerator) throws -> World {
        var settings = engine.program.runtime
        let l = Self.liability(&rng)
        settings.liability = l
        let store = MemoryStore()
        let clock = RuntimeTests.Clock(LedgerTests.start)
        let runtime = try Runtime(machine: engine.machine, settings: settings, store: store, clock: clock.closure, ids: .seeded(rng.next()))
        _ = try runtime.createSession(id: "s1", overrides: SessionOverrides(maxParticipants: 1_000))
        let count = 3 + rng.below(12)
        var agents: [String] = []
        for i in 0..<count {
            let agent = "a\(i)"
            _ = try runtime.join(session: "s1", agent: agent, trust: Double(rng.below(101)) / 100)
            agents.append(agent)
        }
        guard let ledger = runtime.ledger as? Ledger else { throw RuntimeError(.unknownOp, "no ledger") }
        return World(runtime: runtime, ledger: ledger, store: store, clock: clock, agents: agents, settings: settings)
    }

    /// Random `liability` settings that `check` would accept.
    static func liability(_ rng: inout SeededGenerator) -> RuntimeSettings.Liability {
        var l = RuntimeSettings.Liability()
        l.minVoucherTrust = Double(rng.below(8)) / 10
        l.maxExposure = Double(2 + rng.below(9)) / 10
        l.bond = Double(rng.below(Int(l.maxExposure * 100) + 1)) / 100
        l.vouchWeight = Double(rng.below(11)) / 10
        l.slashFloor = Double(rng.below(10)) / 100
        l.cascadeBelow = l.slashFloor + Double(1 + rng.below(50)) / 100
        l.maxCascadeDepth = rng.below(4)
        l.probationRisk = Double(1 + rng.below(5)) / 10
        l.denyRisk = l.probationRisk + Double(1 + rng.below(4)) / 10
        return l
    }

    /// The ledger's state, copied (its arrays are values, so a copy costs nothing until the ledger changes).
    struct Snapshot {
        let agents: [LedgerAgent]
        let history: [[LedgerEvent]]
        let vouches: [LedgerVouch]
        let violations: [String]
        let failures: [String]
        let quarantines: Int

        /// The ledger as it is now.
        init(_ ledger: Ledger) {
            agents = ledger.agents
            history = ledger.history
            vouches = ledger.vouches
            violations = ledger.violations.keys.sorted()
            failures = ledger.failures.keys.sorted()
            quarantines = ledger.quarantines
        }
    }

    /// Everything the ledger holds, by id (so a rebuilt ledger, whose slots differ, compares equal).
    static func fingerprint(_ ledger: Ledger) -> [String] { fingerprint(Snapshot(ledger)) }

    /// Everything a snapshot holds, by id.
    static func fingerprint(_ snapshot: Snapshot) -> [String] {
        var lines: [String] = []
        for (slot, a) in snapshot.agents.enumerated().sorted(by: { $0.element.id < $1.element.id }) {
            let out = a.out.map { snapshot.vouches[Int($0)].id }.sorted(), into = a.into.map { snapshot.vouches[Int($0)].id }.sorted()
            lines.append("agent \(a.id) σ=\(a.trust) shares=\(a.sharesOut) in=\(a.bondsIn) out=\(out) into=\(into) "
                         + "q=\(String(describing: a.quarantineUntil)) \(a.quarantineReasons) risk=\(a.riskSum) events=\(a.events) "
                         + "history=\(snapshot.history[slot])")
        }
        for v in snapshot.vouches.sorted(by: { $0.id < $1.id }) {
            lines.append("vouch \(v.id) \(snapshot.agents[Int(v.voucher)].id)→\(snapshot.agents[Int(v.vouchee)].id) share=\(v.share) "
                         + "session=\(v.session ?? "-") released=\(v.released.map { "\($0.at) \($0.by) \($0.violation ?? "-")" } ?? "-")")
        }
        lines.append("violations \(snapshot.violations) failures \(snapshot.failures) quarantines \(snapshot.quarantines)")
        return lines
    }

    /// The active vouches as an adjacency list by slot, computed from the vouches alone.
    static func graph(_ ledger: Ledger) -> [[Int]] {
        var out = Array(repeating: [Int](), count: ledger.agents.count)
        for v in ledger.vouches where v.isActive { out[Int(v.voucher)].append(Int(v.vouchee)) }
        return out
    }

    /// True when `from` reaches `to` in `graph` (depth-first, independent of the ledger's search).
    static func reaches(_ graph: [[Int]], from: Int, to: Int) -> Bool {
        var seen = Set([from]), stack = [from]
        while let u = stack.popLast() {
            if u == to { return true }
            for w in graph[u] where seen.insert(w).inserted { stack.append(w) }
        }
        return false
    }

    /// Checks every invariant of the ledger; records an issue for each that fails.
    static func checkInvariants(_ world: World, _ context: String) {
        let ledger = world.ledger
        let graph = Self.graph(ledger)
        // No cycle: Kahn's algorithm consumes every agent.
        var indegree = Array(repeating: 0, count: graph.count)
        for edges in graph { for w in edges { indegree[w] += 1 } }
        var ready = indegree.indices.filter { indegree[$0] == 0 }, consumed = 0
        while let u = ready.popLast() {
            consumed += 1
            for w in graph[u] {
                indegree[w] -= 1
                if indegree[w] == 0 { ready.append(w) }
            }
        }
        #expect(consumed == graph.count, "\(context): the active vouches form a cycle")
        let maxExposure = LedgerUnits.clampedMicros(world.settings.liability.maxExposure)
        for (slot, a) in ledger.agents.enumerated() {
            let shares = ledger.vouches.filter { $0.isActive && Int($0.voucher) == slot }.reduce(Int64(0)) { $0 + $1.share }
            let bondsIn = ledger.vouches.filter { $0.isActive && Int($0.vouchee) == slot }
                .reduce(Int64(0)) { $0 + ledger.agents[Int($1.voucher)].trust * $1.share }
            #expect(a.sharesOut == shares && a.bondsIn == bondsIn, "\(context): the cached bonds of \(a.id) differ from its vouches")
            #expect(a.trust * shares <= a.trust * maxExposure && shares <= maxExposure, "\(context): the bonds of \(a.id) exceed max_exposure × σ")
            #expect((0...LedgerUnits.micro).contains(a.trust), "\(context): σ of \(a.id) is \(a.trust)")
            #expect(a.bondsIn >= 0 && a.sharesOut >= 0)
            let effective = LedgerUnits.effectiveTrust(sigma: a.trust, bondsIn: a.bondsIn, weight: ledger.settings.vouchWeight)
            #expect(effective >= a.trust && effective <= LedgerUnits.micro, "\(context): σ_eff of \(a.id) is \(effective)")
            #expect((0...LedgerUnits.risk).contains(a.risk))
            #expect(a.events == ledger.history[slot].count && a.riskSum == ledger.history[slot].reduce(0) { $0 + $1.riskTerm })
        }
    }

    /// One random operation; checks its outcome against an independent computation. Returns
    /// what happened: the error code of a refusal, `cascade` for a slash that went two hops or
    /// more, `ok` otherwise.
    @discardableResult
    static func step(_ world: inout World, _ rng: inout SeededGenerator, _ context: String) -> String {
        var result = "ok"
        let runtime = world.runtime, ledger = world.ledger
        let before = Snapshot(ledger)
        let agents = world.agents
        let pick = { (rng: inout SeededGenerator) -> String in
            rng.chance(1, in: 25) ? "ghost" : agents[rng.below(agents.count)]
        }
        let roll = rng.below(100)
        var changesNothing = false
        do {
            switch roll {
            case 0..<45:
                let voucher = pick(&rng), vouchee = pick(&rng)
                let bond: Double? = switch rng.below(10) {
                case 0: 1.5
                case 1, 2, 3: nil
                default: Double(rng.below(21)) / 20
                }
                // What the ledger must answer, computed independently.
                var expected: RuntimeError.Code?
                if bond.map({ $0 > 1 }) ?? false { expected = .invalidField }
                else if voucher == vouchee { expected = .selfVouch }
                else if let v = ledger.slots[voucher], let e = ledger.slots[vouchee] {
                    let share = bond.flatMap(LedgerUnits.micros) ?? ledger.settings.bond
                    let sigma = ledger.agents[Int(v)].trust
                    if sigma < ledger.settings.minVoucherTrust { expected = .voucherTrust }
                    else if Self.reaches(Self.graph(ledger), from: Int(e), to: Int(v)) { expected = .vouchCycle }
                    else if ledger.agents[Int(v)].sharesOut + share > ledger.settings.maxExposure { expected = .exposure }
                } else {
                    expected = .unknownAgent
                }
                do {
                    let outcome = try runtime.vouch(voucher: voucher, vouchee: vouchee, bond: bond)
                    #expect(expected == nil, "\(context): vouch \(voucher) → \(vouchee) succeeded, expected \(String(describing: expected))")
                    world.vouches.append(outcome.vouch)
                } catch {
                    #expect(error.code == expected, "\(context): vouch \(voucher) → \(vouchee): \(error)")
                    throw error
                }
            case 45..<55:
                let id = world.vouches.isEmpty || rng.chance(1, in: 10) ? "nope" : world.vouches[rng.below(world.vouches.count)]
                if let slot = ledger.vouchSlots[id], !ledger.vouches[Int(slot)].isActive { changesNothing = true }
                _ = try runtime.releaseVouch(id)
            case 55..<75:
                let agent = pick(&rng), violation = "v\(rng.below(8))"
                let severity = rng.chance(1, in: 20) ? 0 : Double(1 + rng.below(100)) / 100
                let first = ledger.violations[violation]
                if first != nil, severity > 0 { changesNothing = true }
                let outcome = try runtime.slash(agent: agent, severity: severity, violation: violation)
                if outcome.touched.contains(where: { $0.depth >= 2 }) { result = "cascade" }
                if let first {
                    #expect(outcome == first.outcome, "\(context): a repeated slash gave another result")
                } else {
                    Self.checkSlash(outcome, severity: severity, ledger: ledger, context)
                }
            case 75..<83:
                _ = try runtime.setTrust(agent: pick(&rng), trust: rng.chance(1, in: 20) ? 1.01 : Double(rng.below(101)) / 100)
            case 83..<90:
                _ = try runtime.quarantine(agent: pick(&rng), duration: rng.chance(1, in: 10) ? 0 : Int64(1 + rng.below(600)) * 1_000)
            case 90..<95:
                let actions = (0..<(1 + rng.below(4))).map { _ in
                    AttributionAction(agent: pick(&rng), action: "x", failed: rng.chance(1, in: 2), rootCause: rng.chance(1, in: 4))
                }
                let failure = "f\(rng.below(4))"
                if ledger.failures[failure] != nil { changesNothing = true }
                let attribution = try runtime.attribute(failure: failure, actions: actions, record: true)
                let units: [Int] = attribution.shares.map { Int(($0.share * 1e4).rounded()) }
                #expect(units.reduce(0, +) == 10_000)
            default:
                let request = EscalationRequest(saga: "saga", step: "step\(rng.below(4))", agent: pick(&rng))
                if ledger.violations[request.key] != nil { changesNothing = true }
                _ = try runtime.escalate([request])
            }
        } catch {
            changesNothing = true
            result = (error as? RuntimeError)?.code.rawValue ?? "\(error)"
        }
        if changesNothing {
            #expect(Self.fingerprint(ledger) == Self.fingerprint(before), "\(context): an operation that should change nothing changed the ledger")
        }
        Self.checkInvariants(world, context)
        return result
    }

    /// A first slash: the slashed agent at 0, every other agent touched once, each clipped by the formula.
    static func checkSlash(_ outcome: SlashOutcome, severity: Double, ledger: Ledger, _ context: String) {
        let agents = outcome.touched.map(\.agent)
        #expect(Set(agents).count == agents.count, "\(context): an agent was touched twice in one slash")
        #expect(outcome.touched.first?.depth == 0 && outcome.touched.first?.after == 0)
        let s = LedgerUnits.micros(severity) ?? 0
        for t in outcome.touched.dropFirst() {
            let before = LedgerUnits.micros(t.before) ?? -1
            let expected = min(before, max(LedgerUnits.clip(before, severity: s), ledger.settings.slashFloor))
            #expect(LedgerUnits.micros(t.after) == expected, "\(context): \(t.agent) clipped to \(t.after)")
            #expect(t.depth >= 1 && t.depth <= ledger.settings.maxCascadeDepth + 1, "\(context): depth \(t.depth)")
        }
    }

    @Test func randomGraphsKeepEveryInvariant() throws {
        var rng = SeededGenerator(seed: 0x1ED6E4)
        var outcomes: [String: Int] = [:]
        let engine = try Engine(source: LedgerTests.policy)
        for w in 0..<Self.worlds {
            var world = try Self.world(engine, &rng)
            for s in 0..<(10 + rng.below(40)) {
                outcomes[Self.step(&world, &rng, "world \(w) step \(s)"), default: 0] += 1
            }
            let before = Self.fingerprint(world.ledger)
            world.runtime.close()
            if w % 25 == 0 {
                // A ledger rebuilt from the store equals the one that wrote it.
                let reopened = try Runtime(machine: engine.machine, settings: world.settings, store: world.store, clock: world.clock.closure)
                let ledger = try #require(reopened.ledger as? Ledger)
                #expect(Self.fingerprint(ledger) == before, "world \(w): the rebuilt ledger differs")
                reopened.close()
                #expect(AuditVerification.verify(world.store, keys: []).intact)
            }
        }
        // The random operations reached every outcome the properties are about.
        for outcome in ["ok", "cascade", "vouch_cycle", "exposure", "voucher_trust", "self_vouch", "unknown_agent", "invalid_field",
                        "vouch_not_found"] {
            #expect((outcomes[outcome] ?? 0) > 20, "only \(outcomes[outcome] ?? 0) operations ended `\(outcome)`: \(outcomes)")
        }
    }

    @Test func aDiamondClipsItsTopVoucherOnce() throws {
        var rng = SeededGenerator(seed: 0xD1A)
        let engine = try Engine(source: LedgerTests.policy)
        for w in 0..<1_000 {
            var settings = engine.program.runtime
            settings.liability.cascadeBelow = 0.3
            settings.liability.maxExposure = 1
            settings.liability.maxCascadeDepth = 1 + rng.below(3)
            let runtime = try Runtime(machine: engine.machine, settings: settings, store: MemoryStore(), clock: { LedgerTests.start })
            _ = try runtime.createSession(id: "s1")
            let top = 0.5 + Double(rng.below(51)) / 100
            _ = try runtime.join(session: "s1", agent: "t", trust: top)
            _ = try runtime.join(session: "s1", agent: "x", trust: 0.7)
            let middles = 2 + rng.below(3)
            for m in 0..<middles {
                _ = try runtime.join(session: "s1", agent: "m\(m)", trust: 0.5)
                _ = try runtime.vouch(voucher: "m\(m)", vouchee: "x", bond: 0.1)
                _ = try runtime.vouch(voucher: "t", vouchee: "m\(m)", bond: 0.2)
            }
            // Each middle voucher falls from 0.5 below 0.3 and passes the slash to `t`, which is clipped once.
            let severity = 0.41 + Double(rng.below(59)) / 100
            let outcome = try runtime.slash(agent: "x", severity: severity, violation: "x-1")
            let tops = outcome.touched.filter { $0.agent == "t" }
            #expect(tops.count == 1, "world \(w): `t` touched \(tops.count) times")
            let s = LedgerUnits.micros(severity) ?? 0, before = LedgerUnits.micros(top) ?? 0
            #expect(tops.first.flatMap { LedgerUnits.micros($0.after) } == max(LedgerUnits.clip(before, severity: s), LedgerUnits.micros(0.05) ?? 0),
                    "world \(w): `t` went from \(top) to \(String(describing: tops.first?.after)) at severity \(severity)")
            #expect(tops.first?.depth == 2)
            // All of its vouches for the middles were released.
            #expect(LedgerTests.number(try runtime.ledgerStatement(agent: "t"), "bonds_out") == 0)
            runtime.close()
        }
    }
}
