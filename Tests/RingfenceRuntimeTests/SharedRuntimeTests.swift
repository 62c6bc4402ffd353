import Foundation
import RingfenceAudit
@testable import RingfenceRuntime
import Synchronization
import Testing

/// Several runtimes on one shared store act as one runtime (SPEC §15): each operation sees what
/// every earlier operation of every runtime left, a slash sent to all of them is applied once,
/// and concurrent decisions through all of them give one audit log that verifies with no gap.
/// The runtimes here share a `MemoryStore(sharedClock:)`, whose tenure behaves as a PostgreSQL
/// store's does across processes.
@Suite struct SharedRuntimeTests {
    /// 2026-11-21T10:00:00Z in microseconds.
    static let start: Int64 = 1_795_255_200_000_000

    /// Two (or more) runtimes over one shared store, each with its own ids.
    static func nodes(_ count: Int, durability: Durability = .group, clock: @escaping @Sendable () -> Int64 = { start })
        throws -> (MemoryStore, [Runtime]) {
        let engine = try DecisionEntryTests.engine()
        var settings = engine.program.runtime
        settings.audit.durability = durability
        settings.limits.ring2 = .init(rate: 1_000_000, burst: 1_000_000)
        let store = MemoryStore(sharedClock: clock)
        let runtimes = try (0..<count).map { i in
            try Runtime(machine: engine.machine, settings: settings, store: store, clock: { 0 }, ids: .seeded(UInt64(i + 1)))
        }
        return (store, runtimes)
    }

    /// A read in the workspace by `agent`.
    static func read(_ agent: String) -> Request {
        Request(agent: Agent(id: agent), action: "fs.read", resource: "/workspace/data/a.csv")
    }

    @Test func eachRuntimeSeesTheOthersChanges() throws {
        let (store, nodes) = try Self.nodes(2)
        let (a, b) = (nodes[0], nodes[1])
        _ = try a.createSession(id: "s1")
        _ = try b.join(session: "s1", agent: "w1", trust: 0.8)
        _ = try a.join(session: "s1", agent: "w2", trust: 0.8)
        _ = try b.activate(session: "s1")
        #expect(try a.decide(Self.read("w1"), session: "s1").decision.allowed)
        _ = try b.kill(session: "s1", agent: "w1", reason: "manual")
        #expect(try a.decide(Self.read("w1"), session: "s1").decision.code == .killed)
        // The ledger: a vouch made on one runtime bonds on the other.
        _ = try a.vouch(voucher: "w2", vouchee: "w1")
        guard case .object(let members) = try b.ledgerStatement(agent: "w1"), case .number(let bondsIn)? = members["bonds_in"] else {
            Issue.record("ledger.get has no `bonds_in`")
            return
        }
        #expect(bondsIn > 0)
        _ = try b.terminate(session: "s1")
        #expect(throws: RuntimeError.self) { try a.decide(Self.read("w2"), session: "s1") }
        for node in nodes { node.close() }
        let report = AuditVerification.verify(store, keys: [])
        #expect(report.intact, "\(report.failure.map(\.message) ?? "")")
        // created, two joins, activated, a decision, the kill, a `killed` decision, the vouch, terminated.
        #expect(report.entries == 9)
    }

    @Test func aSlashSentToEveryRuntimeAtOnceIsAppliedOnce() throws {
        let (store, nodes) = try Self.nodes(3)
        _ = try nodes[0].setTrust(agent: "v1", trust: 0.9)
        _ = try nodes[1].setTrust(agent: "x1", trust: 0.8)
        _ = try nodes[2].vouch(voucher: "v1", vouchee: "x1")
        let outcomes = Mutex<[SlashOutcome]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            if let outcome = try? nodes[i].slash(agent: "x1", severity: 0.5, violation: "viol-1") {
                outcomes.withLock { $0.append(outcome) }
            }
        }
        let results = outcomes.withLock { $0 }
        #expect(results.count == 3)
        #expect(Set(results).count == 1, "every runtime answers with the one slash")
        for node in nodes { node.close() }
        let entries = try store.auditEntries(from: 0, limit: 100)
        #expect(entries.filter { $0.entry.kind == "ledger.slashed" }.count == 1)
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    @Test(arguments: [Durability.group, .strict])
    func concurrentDecisionsThroughEveryRuntimeMakeOneLog(durability: Durability) throws {
        let (store, nodes) = try Self.nodes(3, durability: durability)
        _ = try nodes[0].createSession(id: "s1")
        for i in 0..<6 { _ = try nodes[i % 3].join(session: "s1", agent: "w\(i)", trust: 0.8) }
        _ = try nodes[1].activate(session: "s1")
        let perThread = 300
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { t in
            let node = nodes[t % 3]
            for j in 0..<perThread {
                do {
                    if j % 2 == 0 {
                        _ = try node.decide(Self.read("w\(t)"), session: "s1")
                    } else {
                        _ = try node.decide(Self.read("o\(t)"))
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        for node in nodes { node.close() }
        let report = AuditVerification.verify(store, keys: [])
        #expect(report.intact, "\(report.failure.map(\.message) ?? "")")
        // session.created, 6 joins, activation, then every decision.
        #expect(report.entries == UInt64(8 + 6 * perThread))
    }

    @Test func aRuleLimitIsSharedByEveryRuntime() throws {
        let (store, nodes) = try Self.nodes(3)
        _ = try nodes[0].createSession(id: "s1")
        _ = try nodes[1].join(session: "s1", agent: "w1", trust: 0.9)
        _ = try nodes[2].activate(session: "s1")
        // `fs.write` under /workspace is limited to 100 a minute per agent; 150 writes at one
        // instant, spread over three runtimes and three threads, admit exactly 100.
        let allowed = Atomic<Int>(0), limited = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 3) { t in
            for _ in 0..<50 {
                let request = Request(agent: Agent(id: "w1"), action: "fs.write", resource: "/workspace/out/r.txt")
                guard let outcome = try? nodes[t].decide(request, session: "s1") else { continue }
                if outcome.decision.allowed { allowed.add(1, ordering: .relaxed) }
                if outcome.decision.code == .rateLimit { limited.add(1, ordering: .relaxed) }
            }
        }
        #expect(allowed.load(ordering: .relaxed) == 100)
        #expect(limited.load(ordering: .relaxed) == 50)
        for node in nodes { node.close() }
        // A runtime opened afterwards reads the buckets back: the limit still holds.
        let engine = try DecisionEntryTests.engine()
        let late = try Runtime(machine: engine.machine, settings: engine.program.runtime, store: store, clock: { 0 }, ids: .seeded(9))
        let request = Request(agent: Agent(id: "w1"), action: "fs.write", resource: "/workspace/out/r.txt")
        #expect(try late.decide(request, session: "s1").decision.code == .rateLimit)
        late.close()
    }

    @Test func aBreakerOpenedOnOneRuntimeHoldsOnTheOthers() throws {
        let (_, nodes) = try Self.nodes(2)
        _ = try nodes[0].createSession(id: "s1")
        _ = try nodes[1].join(session: "s1", agent: "b1", trust: 0.4)
        _ = try nodes[0].activate(session: "s1")
        // Writes aimed above ring 3 through one runtime: `ring` decisions until a verdict opens
        // the breaker; the other runtime then refuses with `breaker` too.
        var codes: [DecisionCode] = []
        for _ in 0..<6 {
            codes.append(try nodes[0].decide(Request(agent: Agent(id: "b1"), action: "fs.write", resource: "/workspace/out/x"), session: "s1").decision.code)
        }
        #expect(codes.last == .breaker)
        #expect(try nodes[1].decide(Self.read("b1"), session: "s1").decision.code == .breaker)
        for node in nodes { node.close() }
    }

    @Test func bucketRowsReadBack() throws {
        let key = RateLimiter.BucketKey(namespace: 0x5249_4E47_424B_5400, agent: [0, 0x61, 0xFF, 0x3A])
        let row = Sharing.bucketRow(key, tat: 1_795_255_200_000_000_123, interval: 600_000_000)
        #expect(row.key.key == "52494e47424b5400:0061ff3a")
        let (back, tat, interval) = try Sharing.bucket(row)
        #expect(back == key && tat == 1_795_255_200_000_000_123 && interval == 600_000_000)
        for bad in ["5249:00", "52494e47424b5400:0g", "52494e47424b5400:001"] {
            #expect(throws: StoreError.self) { try Sharing.bucket(StateRow(StateKey(Sharing.buckets, bad), Array("1 1".utf8))) }
        }
        #expect(throws: StoreError.self) { try Sharing.bucket(StateRow(row.key, Array("1 0".utf8))) }
    }

    @Test func timeIsTheStoresClock() throws {
        let now = Atomic<Int64>(Self.start)
        let (_, nodes) = try Self.nodes(2, clock: { now.load(ordering: .relaxed) })
        _ = try nodes[0].createSession(id: "s1", overrides: SessionOverrides(ttl: 60_000))
        _ = try nodes[0].join(session: "s1", agent: "w1", trust: 0.8)
        _ = try nodes[0].activate(session: "s1")
        // The runtimes' own clocks read 0; only the store's clock moves, and both follow it.
        now.store(Self.start + 61_000_000, ordering: .relaxed)
        let decision = try? nodes[1].decide(Self.read("w1"), session: "s1")
        #expect(decision == nil, "the session expired on the store's clock")
        guard case .object(let session) = try nodes[0].session("s1").value else {
            Issue.record("session.get is not an object")
            return
        }
        #expect(session["state"] == .string("archived") || session["state"] == .string("terminated"))
        for node in nodes { node.close() }
    }
}
