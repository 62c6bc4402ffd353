import Foundation
import Testing
import Ringfence
import RingfenceTestSupport

/// The liability ledger through the library: its wiring into sessions (rings at join,
/// decisions, elevation, termination, critical breaches), saga escalations, audit entries,
/// and rebuilding from the store.
@Suite struct LedgerTests {
    /// The runtime tests' start time and workspace policy, which the ledger is tried on too.
    static let start = RuntimeTests.start
    static let policy = RuntimeTests.policy

    /// A runtime over the workspace policy with `change` applied to its settings.
    static func runtime(store: StateStore = MemoryStore(), clock: RuntimeTests.Clock = RuntimeTests.Clock(start),
                        _ change: (inout RuntimeSettings) -> Void = { _ in }) throws -> Runtime {
        let engine = try Engine(source: policy)
        var settings = engine.program.runtime
        change(&settings)
        return try Runtime(machine: engine.machine, settings: settings, store: store, clock: clock.closure, ids: .seeded(7))
    }

    /// A number member of a JSON object.
    static func number(_ value: Value, _ key: String) -> Double? {
        if case .object(let m) = value, case .number(let x)? = m[key] { return x }
        return nil
    }

    /// A string member of a JSON object.
    static func string(_ value: Value, _ key: String) -> String? {
        if case .object(let m) = value, case .string(let s)? = m[key] { return s }
        return nil
    }

    static let read = Request(agent: Agent(id: "a"), action: "fs.read", resource: "/workspace/a.csv")

    @Test func effectiveTrustGivesTheRingAtJoin() throws {
        let runtime = try Self.runtime()
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "v", trust: 0.9)
        let first = try runtime.join(session: "s1", agent: "a", trust: 0.55)
        #expect(first.ring == 3 && first.trustEff == 0.55)
        // 0.55 + 0.2 × (0.9 × 0.5) = 0.64 > 0.60: ring 2 in the next session.
        _ = try runtime.vouch(voucher: "v", vouchee: "a", bond: 0.5)
        _ = try runtime.createSession(id: "s2")
        let second = try runtime.join(session: "s2", agent: "a", trust: 0.55)
        #expect(second.ring == 2 && second.trustEff == 0.64 && second.standing == .admit)
        // A later join with more trust than the ledger's σ gets the ledger's σ.
        _ = try runtime.createSession(id: "s3")
        #expect(try runtime.join(session: "s3", agent: "a", trust: 1).trustEff == 0.64)
        runtime.close()
    }

    @Test func decisionsSeeTheTrustOfNowAndTheQuarantine() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "v", trust: 0.9)
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.7)
        _ = try runtime.activate(session: "s1")
        _ = try runtime.vouch(voucher: "v", vouchee: "a", bond: 0.5)
        #expect(try runtime.decide(Self.read, session: "s1").decision.allowed)
        _ = try runtime.quarantine(agent: "a", duration: 60_000, reason: "suspicious")
        let inSession = try runtime.decide(Self.read, session: "s1")
        #expect(inSession.decision.code == .quarantine)
        #expect(try runtime.decide(Self.read).decision.code == .quarantine)
        RuntimeTests.expect(.quarantined) { () throws(RuntimeError) in try runtime.elevate(session: "s1", agent: "a", ring: 2) }
        _ = try runtime.createSession(id: "s2")
        RuntimeTests.expect(.quarantined) { () throws(RuntimeError) in try runtime.join(session: "s2", agent: "a", trust: 0.7) }
        _ = try runtime.unquarantine(agent: "a")
        #expect(try runtime.decide(Self.read, session: "s1").decision.allowed)
        runtime.close()
        // The decisions carried σ_eff as it was: 0.7 + 0.2 × 0.45 = 0.79.
        let decisions = try RuntimeTests.entries(store).filter { $0.entry.kind == "decision" }
        guard case .object(let data) = try RuntimeTests.data(decisions[0]), case .object(let request)? = data["request"],
              case .object(let agent)? = request["agent"] else {
            Issue.record("the decision entry has no request")
            return
        }
        #expect(agent["trust"] == .number(0.79))
    }

    @Test func probationJoinsAtRingThreeAndDenyIsRefused() throws {
        let runtime = try Self.runtime()
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.9)
        _ = try runtime.slash(agent: "a", severity: 1, violation: "a-1")
        _ = try runtime.slash(agent: "a", severity: 1, violation: "a-2")
        _ = try runtime.setTrust(agent: "a", trust: 0.9)
        _ = try runtime.createSession(id: "s2")
        // Risk 0.30: probation, ring 3 although σ_eff is 0.9.
        let joined = try runtime.join(session: "s2", agent: "a", trust: 0.9)
        #expect(joined.standing == .probation && joined.ring == 3 && joined.trustEff == 0.9)
        for i in 3...4 { _ = try runtime.slash(agent: "a", severity: 1, violation: "a-\(i)") }
        _ = try runtime.createSession(id: "s3")
        RuntimeTests.expect(.admissionDenied) { () throws(RuntimeError) in try runtime.join(session: "s3", agent: "a", trust: 0.9) }
        runtime.close()
    }

    @Test func terminationReleasesSessionVouchesAndCountsCleanSessions() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "v", trust: 0.9)
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.5)
        _ = try runtime.activate(session: "s1")
        _ = try runtime.vouch(voucher: "v", vouchee: "a", session: "s1", id: "scoped")
        #expect(Self.number(try runtime.ledgerStatement(agent: "a"), "bonds_in") == 0.18)
        _ = try runtime.kill(session: "s1", agent: "v", reason: "manual")
        _ = try runtime.terminate(session: "s1")
        #expect(Self.number(try runtime.ledgerStatement(agent: "a"), "bonds_in") == 0)
        runtime.close()
        let entries = try RuntimeTests.entries(store)
        #expect(entries.suffix(2).map(\.entry.kind) == ["session.terminated", "ledger.released"])
        #expect(entries.last?.entry.session == nil)
        // `v` was killed in the session: no clean session. `a` was clean.
        let reopened = try Self.runtime(store: store)
        guard case .object(let a) = try reopened.ledgerStatement(agent: "a"), case .list(let history)? = a["history"],
              case .object(let v) = try reopened.ledgerStatement(agent: "v"), case .list(let vHistory)? = v["history"] else {
            Issue.record("ledger.get has no history")
            return
        }
        #expect(history.contains { Self.string($0, "event") == "clean_session" })
        #expect(!vHistory.contains { Self.string($0, "event") == "clean_session" })
        reopened.close()
    }

    @Test func aCriticalBreachWithKillQuarantines() throws {
        let runtime = try Self.runtime { $0.breach.onCritical = .kill }
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.5)
        _ = try runtime.activate(session: "s1")
        let write = Request(agent: Agent(id: "a"), action: "fs.write", resource: "/workspace/a.csv")
        for _ in 0..<5 { _ = try runtime.decide(write, session: "s1") }
        let statement = try runtime.ledgerStatement(agent: "a")
        #expect(Self.string(statement, "quarantined_until") == RuntimeTime.text(Self.start + 300_000_000))
        #expect(Self.number(statement, "risk") == 0.1)
        #expect(try runtime.decide(Self.read).decision.code == .quarantine)
        runtime.close()
    }

    @Test func escalationsSlashAndQuarantineOncePerStep() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "v", trust: 0.9)
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.8)
        _ = try runtime.vouch(voucher: "v", vouchee: "a")
        let requests = [EscalationRequest(saga: "saga:1", step: "charge", agent: "a"),
                        EscalationRequest(saga: "saga:1", step: "ship", agent: "a")]
        let first = try runtime.escalate(requests)
        #expect(first.map(\.repeated) == [false, false])
        // The second escalation of the same agent sees the first: σ was 0 already, the quarantine extends.
        #expect(first[0].slash.touched.map(\.after) == [0, 0.45] && first[1].slash.touched.map(\.before) == [0])
        #expect(first[0].quarantinedUntil == Self.start + 300_000_000 && first[1].quarantinedUntil == Self.start + 600_000_000)
        let again = try runtime.escalate([requests[0]])
        #expect(again[0].repeated && again[0].slash == first[0].slash && again[0].quarantinedUntil == nil)
        runtime.close()
        let slashes = try RuntimeTests.entries(store).filter { $0.entry.kind == "ledger.slashed" }
        #expect(slashes.count == 2)
        guard case .object(let data) = try RuntimeTests.data(slashes[0]) else { return }
        #expect(data["saga"] == .string("saga:1") && data["step"] == .string("charge") && data["violation"] == .string("saga:1/charge"))
        #expect(try RuntimeTests.entries(store).filter { $0.entry.kind == "ledger.quarantined" }.count == 2)
    }

    @Test func everyChangeIsAuditedAndTheLogVerifies() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "v", trust: 0.9)
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.8)
        _ = try runtime.vouch(voucher: "v", vouchee: "a", id: "v-a")
        _ = try runtime.releaseVouch("v-a")
        _ = try runtime.slash(agent: "a", severity: 0.5, violation: "a-1")
        _ = try runtime.quarantine(agent: "a")
        _ = try runtime.unquarantine(agent: "a")
        _ = try runtime.setTrust(agent: "a", trust: 0.6)
        _ = try runtime.attribute(failure: "f1", actions: [AttributionAction(agent: "a", action: "x", failed: true)], record: true)
        runtime.close()
        let kinds = try RuntimeTests.entries(store).map(\.entry.kind).filter { $0.hasPrefix("ledger.") }
        #expect(kinds == ["ledger.vouched", "ledger.released", "ledger.slashed", "ledger.quarantined", "ledger.unquarantined",
                          "ledger.trust", "ledger.attributed"])
        #expect(AuditVerification.verify(store, keys: []).intact)
        let other = try Self.runtime()
        RuntimeTests.expect(.reservedKind) { () throws(RuntimeError) in try other.append(kind: "ledger.slashed", data: .null) }
        other.close()
    }

    @Test func aRefusedOperationWritesNothing() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "v", trust: 0.9)
        _ = try runtime.join(session: "s1", agent: "a", trust: 0.6)
        _ = try runtime.join(session: "s1", agent: "low", trust: 0.4)
        _ = try runtime.vouch(voucher: "v", vouchee: "a")
        try runtime.log.flush()
        let rows = try store.load().rows, size = runtime.log.size
        RuntimeTests.expect(.vouchCycle) { () throws(RuntimeError) in try runtime.vouch(voucher: "a", vouchee: "v", bond: 0) }
        RuntimeTests.expect(.voucherTrust) { () throws(RuntimeError) in try runtime.vouch(voucher: "low", vouchee: "v") }
        RuntimeTests.expect(.exposure) { () throws(RuntimeError) in try runtime.vouch(voucher: "v", vouchee: "a", bond: 0.7) }
        RuntimeTests.expect(.invalidField) { () throws(RuntimeError) in try runtime.slash(agent: "a", severity: .nan, violation: "x") }
        RuntimeTests.expect(.unknownAgent) { () throws(RuntimeError) in try runtime.slash(agent: "ghost", severity: 1, violation: "x") }
        RuntimeTests.expect(.invalidField) { () throws(RuntimeError) in try runtime.setTrust(agent: "a", trust: .infinity) }
        RuntimeTests.expect(.invalidField) { () throws(RuntimeError) in try runtime.quarantine(agent: "a", duration: -5) }
        try runtime.log.flush()
        #expect(try store.load().rows == rows && runtime.log.size == size)
        runtime.close()
    }

    @Test func aRuntimeWithAnotherLedgerViewRefusesLedgerOperations() throws {
        let engine = try Engine(source: Self.policy)
        let runtime = try Runtime(engine: engine, store: MemoryStore(), ledger: NoLedger())
        RuntimeTests.expect(.unknownOp) { () throws(RuntimeError) in try runtime.ledgerStatement(agent: "a") }
        #expect(try runtime.escalate([EscalationRequest(saga: "s", step: "t", agent: "a")]).first?.slash.touched == [])
        runtime.close()
    }

    @Test func theLedgerIsRebuiltFromTheStore() throws {
        let store = MemoryStore()
        let clock = RuntimeTests.Clock(Self.start)
        let first = try Self.runtime(store: store, clock: clock)
        _ = try first.createSession(id: "s1")
        for (agent, trust) in [("t", 0.9), ("b", 0.8), ("c", 0.7), ("x", 0.6), ("y", 0.5)] {
            _ = try first.join(session: "s1", agent: agent, trust: trust)
        }
        _ = try first.vouch(voucher: "t", vouchee: "b")
        _ = try first.vouch(voucher: "t", vouchee: "c", session: "s1")
        _ = try first.vouch(voucher: "b", vouchee: "x")
        _ = try first.vouch(voucher: "c", vouchee: "x", bond: 0.5)
        _ = try first.vouch(voucher: "c", vouchee: "y", id: "c-y")
        _ = try first.slash(agent: "x", severity: 0.9, violation: "x-1")
        _ = try first.quarantine(agent: "y", reason: "odd")
        _ = try first.attribute(failure: "f", actions: [AttributionAction(agent: "y", action: "a", failed: true)], record: true)
        let agents = ["t", "b", "c", "x", "y"]
        let before = try agents.map { try first.ledgerStatement(agent: $0) }
        first.close()
        let second = try Self.runtime(store: store, clock: clock)
        #expect(try agents.map { try second.ledgerStatement(agent: $0) } == before)
        // The rebuilt ledger acts: the violation is remembered, the vouch id taken, the session vouch ends with s1.
        #expect(try second.slash(agent: "x", severity: 0.1, violation: "x-1").touched.first?.before == 0.6)
        RuntimeTests.expect(.idTaken) { () throws(RuntimeError) in try second.vouch(voucher: "t", vouchee: "y", id: "c-y") }
        _ = try second.terminate(session: "s1")
        #expect(Self.number(try second.ledgerStatement(agent: "c"), "bonds_in") == 0)
        second.close()
    }
}
