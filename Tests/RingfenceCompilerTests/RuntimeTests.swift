import Foundation
import Testing
import Ringfence
import RingfenceTestSupport

/// The session runtime through its library API: audit entries, the breach detector on bursts
/// and at its shares, restart from the store's rows, determinism, durability and failing stores.
@Suite struct RuntimeTests {
    /// 2026-11-21T10:00:00Z in microseconds.
    static let start: Int64 = 1_795_255_200_000_000

    static let policy = """
        ringfence: 1
        kind: policy
        name: workspace
        rules:
          - id: read-workspace
            effect: allow
            action: fs.read
            resources: ["/workspace/**"]
            ring: 3
          - id: write-workspace
            effect: allow
            action: fs.write
            resources: ["/workspace/**"]
            ring: 2
        """

    /// A clock the test moves (µs).
    typealias Clock = TestClock<Int64>

    /// A runtime over the workspace policy with `settings` changes, on `store`.
    static func runtime(store: StateStore = MemoryStore(), clock: Clock = Clock(start), seed: UInt64 = 1,
                        durability: RuntimeSettings.Audit.Durability = .group,
                        _ change: (inout RuntimeSettings) -> Void = { _ in }) throws -> Runtime {
        let engine = try Engine(source: policy)
        var settings = engine.program.runtime
        settings.audit.durability = durability
        change(&settings)
        return try Runtime(machine: engine.machine, settings: settings, store: store, clock: clock.closure, ids: .seeded(seed))
    }

    /// Every entry of `store`'s log.
    static func entries(_ store: StateStore) throws -> [StoredAuditEntry] {
        try store.auditEntries(from: 0, limit: 1_000_000)
    }

    /// The parsed data of an entry.
    static func data(_ entry: StoredAuditEntry) throws -> Value {
        let bytes = try #require(entry.data)
        return try bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }
    }

    static let read = "/workspace/a.csv"

    /// Expects `body` to fail with `code`.
    static func expect<R>(_ code: RuntimeError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation,
                          _ body: () throws(RuntimeError) -> R) {
        do {
            _ = try body()
            Issue.record("expected `\(code.rawValue)`, the operation succeeded", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func decisionEntriesHoldTheRequestAsDecided() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a1", trust: 0.7, consensus: true)
        _ = try runtime.activate(session: "s1")
        let request = Request(agent: Agent(id: "a1", trust: 0.1, ring: 0), action: "fs.write", resource: Self.read)
        let outcome = try runtime.decide(request, session: "s1")
        #expect(outcome.decision.allowed && outcome.decision.ring == 2)
        runtime.close()
        let decision = try #require(try Self.entries(store).last)
        #expect(decision.entry.kind == "decision" && decision.entry.session == "s1" && decision.entry.agent == "a1")
        guard case .object(let data) = try Self.data(decision), case .object(let req)? = data["request"],
              case .object(let agent)? = req["agent"] else {
            Issue.record("the decision entry has no request")
            return
        }
        #expect(agent["trust"] == .number(0.7) && agent["ring"] == .number(2) && agent["consensus"] == .bool(true))
        #expect(data["decision"] == outcome.value)
        #expect(try Self.entries(store).map(\.entry.kind) == ["session.created", "session.joined", "session.activated", "decision"])
    }

    @Test func aThousandLegitimateCallsInOneMillisecondNeverTrip() throws {
        let store = MemoryStore()
        let clock = Clock(Self.start)
        let runtime = try Self.runtime(store: store, clock: clock) { $0.limits.ring2 = .init(rate: 1_000_000, burst: 1_000_000) }
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a2", trust: 0.8)
        _ = try runtime.activate(session: "s1")
        let request = Request(agent: Agent(id: "a2"), action: "fs.read", resource: Self.read)
        for i in 0..<1_000 {
            clock.now = Self.start + Int64(i)
            #expect(try runtime.decide(request, session: "s1").decision.allowed)
        }
        runtime.close()
        let kinds = try Self.entries(store).map(\.entry.kind)
        #expect(kinds.filter { $0 == "decision" }.count == 1_000)
        #expect(!kinds.contains("breach"))
    }

    /// `legit` allowed calls, then aimed-above calls until the first verdict: the verdict's
    /// severity and the number of calls in the window when it came.
    static func firstVerdict(legit: Int, aimed: Int) throws -> (severity: String, calls: Double)? {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store) { $0.limits.ring3 = .init(rate: 1_000, burst: 1_000) }
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a3", trust: 0.5)
        _ = try runtime.activate(session: "s1")
        for _ in 0..<legit { _ = try runtime.decide(Request(agent: Agent(id: "a3"), action: "fs.read", resource: read), session: "s1") }
        for _ in 0..<aimed { _ = try runtime.decide(Request(agent: Agent(id: "a3"), action: "fs.write", resource: read), session: "s1") }
        runtime.close()
        guard let breach = try entries(store).first(where: { $0.entry.kind == "breach" }),
              case .object(let data) = try self.data(breach), case .string(let severity)? = data["severity"],
              case .number(let calls)? = data["calls"] else { return nil }
        return (severity, calls)
    }

    @Test func verdictsComeAtTheDocumentedShares() throws {
        // 7 legitimate calls then 3 aimed: 3/10 = 0.3 is `low` on the tenth call.
        #expect(try Self.firstVerdict(legit: 7, aimed: 3)?.severity == "low")
        #expect(try Self.firstVerdict(legit: 7, aimed: 3)?.calls == 10)
        // 2/10 stays below `low`.
        #expect(try Self.firstVerdict(legit: 8, aimed: 2) == nil)
        // 5 legitimate then aimed: 5/10 = 0.5 would be medium, but 3/8 = 0.375 was low first.
        #expect(try Self.firstVerdict(legit: 5, aimed: 5)?.severity == "low")
        // Straight to a share: 1 legitimate, 4 aimed → 4/5 = 0.8 high at min_calls.
        #expect(try Self.firstVerdict(legit: 1, aimed: 4)?.severity == "high")
        #expect(try Self.firstVerdict(legit: 0, aimed: 5)?.severity == "critical")
        #expect(try Self.firstVerdict(legit: 5, aimed: 5)?.calls == 8)
        #expect(try Self.firstVerdict(legit: 0, aimed: 4) == nil)
    }

    @Test func stateIsRebuiltFromTheStoreRows() throws {
        let store = MemoryStore()
        let clock = Clock(Self.start)
        let first = try Self.runtime(store: store, clock: clock)
        _ = try first.createSession(id: "s1")
        _ = try first.join(session: "s1", agent: "a3", trust: 0.55)
        _ = try first.join(session: "s1", agent: "b2", trust: 0.9)
        _ = try first.join(session: "s1", agent: "c2", trust: 0.8, parent: "b2")
        _ = try first.activate(session: "s1")
        _ = try first.elevate(session: "s1", agent: "a3", ring: 2, id: "e1")
        _ = try first.kill(session: "s1", agent: "c2", reason: "manual", id: "k1")
        _ = try first.createSession(id: "s2", overrides: SessionOverrides(ttl: 60_000))
        _ = try first.createSession(id: "done")
        _ = try first.terminate(session: "done")
        let before = try ["s1", "s2", "done"].map { try first.session($0).value }
        first.close()

        let second = try Self.runtime(store: store, clock: clock)
        #expect(try ["s1", "s2", "done"].map { try second.session($0).value } == before)
        // The rebuilt state acts: the elevation holds, the kill holds, ids stay taken.
        #expect(try second.decide(Request(agent: Agent(id: "a3"), action: "fs.write", resource: Self.read), session: "s1").decision.allowed)
        #expect(try second.decide(Request(agent: Agent(id: "c2"), action: "fs.read", resource: Self.read), session: "s1").decision.code == .killed)
        Self.expect(.idTaken) { () throws(RuntimeError) in try second.elevate(session: "s1", agent: "b2", ring: 1, attestation: "x", id: "e1") }
        Self.expect(.idTaken) { () throws(RuntimeError) in try second.kill(session: "s1", agent: "b2", reason: "manual", id: "k1") }
        Self.expect(.idTaken) { () throws(RuntimeError) in try second.createSession(id: "done") }
        // The expiry of s2 is rebuilt too: past its TTL the next operation terminates it.
        clock.now = Self.start + 60_000_000
        guard case .object(let s2) = try second.session("s2").value else {
            Issue.record("session `s2` is not an object")
            return
        }
        #expect(s2["state"] == .string("archived") && s2["terminated_by"] == .string("expiry"))
        second.close()
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    /// Runs the same operations on a fresh runtime and returns the result lines and the log.
    static func run(_ lines: [String]) throws -> (results: [String], log: [StoredAuditEntry]) {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store, clock: Clock(0))
        let dispatcher = OperationDispatcher(runtime)
        let results = lines.map { dispatcher.dispatch(line: $0).line }
        runtime.close()
        return (results, try entries(store))
    }

    @Test func theSameScriptGivesTheSameResultsAndLog() throws {
        let lines = [
            #"{"op":"session.create","at":"2026-11-21T10:00:00Z"}"#,
            #"{"op":"session.create","session":"s1","config":{"ttl":"10m"}}"#,
            #"{"op":"session.join","session":"s1","agent":"a3","trust":0.55}"#,
            #"{"op":"session.join","session":"s1","agent":"a2","trust":0.9}"#,
            #"{"op":"session.activate","session":"s1"}"#,
            #"{"op":"decide","session":"s1","request":{"agent":{"id":"a3"},"action":"fs.write","resource":"/workspace/a"}}"#,
            #"{"op":"elevate","session":"s1","agent":"a3","ring":2}"#,
            #"{"op":"decide","at":"2026-11-21T10:00:01.5Z","session":"s1","request":{"agent":{"id":"a3"},"action":"fs.write","resource":"/workspace/a"}}"#,
            #"{"op":"kill","session":"s1","agent":"a2","reason":"manual"}"#,
            #"{"op":"audit.append","session":"s1","kind":"delta","data":{"file":"/workspace/a"}}"#,
            #"{"op":"session.terminate","at":"2026-11-21T10:01:00Z","session":"s1"}"#,
            #"{"op":"audit.checkpoint"}"#,
        ]
        let first = try Self.run(lines)
        let second = try Self.run(lines)
        #expect(first.results == second.results)
        #expect(first.results.allSatisfy { $0.contains("\"ok\":true") })
        #expect(first.log == second.log)
        #expect(first.log.count == 11)
    }

    @Test func strictOperationsReturnOnceDurable() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store, durability: .strict)
        _ = try runtime.createSession(id: "s1")
        #expect(try store.auditEntries(from: 0, limit: 10).count == 1)
        _ = try runtime.join(session: "s1", agent: "a2", trust: 0.8)
        _ = try runtime.activate(session: "s1")
        _ = try runtime.decide(Request(agent: Agent(id: "a2"), action: "fs.read", resource: Self.read), session: "s1")
        #expect(try store.auditEntries(from: 0, limit: 10).count == 4)
        #expect(try store.load().rows.map(\.key) == [StateKey("ledger.agents", "a2"), StateKey("ledger.events", "a2/0000000000"),
                                                      StateKey("sessions", "s1")])
        runtime.close()
    }

    /// A view shows the session as it was when it was taken, however late it is read: the
    /// participants' breach windows go on counting, the view does not.
    @Test func aSessionViewIsTheSessionWhenItWasTaken() throws {
        let runtime = try Self.runtime()
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a2", trust: 0.8)
        let activated = try runtime.activate(session: "s1")
        for _ in 0..<3 { _ = try runtime.decide(Request(agent: Agent(id: "a2"), action: "fs.read", resource: Self.read), session: "s1") }
        let later = try runtime.session("s1")
        _ = try runtime.terminate(session: "s1")
        func calls(_ view: SessionView) -> Value? {
            guard case .object(let session) = view.value, case .list(let participants)? = session["participants"],
                  case .object(let first)? = participants.first, case .object(let breach)? = first["breach"] else { return nil }
            return breach["calls"]
        }
        #expect(calls(activated) == .number(0))
        #expect(calls(later) == .number(3))
        #expect(activated.state == "active" && later.state == "active" && later.id == "s1")
        #expect(try runtime.session("s1").state == "archived")
        runtime.close()
    }

    @Test func theAuditRootCoversTheSessionsOwnEntries() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.createSession(id: "s2")
        _ = try runtime.join(session: "s1", agent: "a2", trust: 0.8)
        _ = try runtime.join(session: "s2", agent: "b2", trust: 0.8)
        _ = try runtime.activate(session: "s1")
        _ = try runtime.append(kind: "delta", session: "s1", data: .object(["n": .number(1)]))
        guard case .object(let view) = try runtime.terminate(session: "s1").value, case .string(let root)? = view["audit_root"] else {
            Issue.record("terminate gave no audit root")
            return
        }
        runtime.close()
        let own = try Self.entries(store).filter { $0.entry.session == "s1" && $0.entry.kind != "session.terminated" }
        #expect(own.map(\.entry.kind) == ["session.created", "session.joined", "session.activated", "delta"])
        #expect(root == Self.rfc9162Root(own.map { MerkleHash.leaf(entryHash: $0.hash) }).hex)
    }

    /// `audit.append` with data that has no canonical form (a Swift caller's NaN) is refused as
    /// an invalid field; nothing is written and the runtime goes on.
    @Test func appendedDataWithoutACanonicalFormIsRefusedAndTheRuntimeGoesOn() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.append(kind: "delta", data: .object(["n": .number(1)]))
        for bad in [Double.nan, .infinity] {
            #expect {
                _ = try runtime.append(kind: "delta", data: .object(["n": .number(bad)]))
            } throws: { error in
                (error as? RuntimeError)?.code == .invalidField && "\(error)".contains("`data`")
            }
        }
        let receipt = try runtime.append(kind: "delta", data: .object(["n": .number(2)]))
        #expect(receipt.seq == 1)
        runtime.close()
        #expect(try Self.entries(store).map(\.entry.kind) == ["delta", "delta"])
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    /// A request built in Swift whose decision entry could not be written (a number that is not
    /// finite, nesting past the JSON limit) is refused before it is decided, in a session and
    /// outside one; nothing is written and the runtime goes on deciding.
    @Test func requestsWhoseEntriesCannotBeWrittenAreRefusedAndTheRuntimeGoesOn() throws {
        let store = MemoryStore()
        let runtime = try Self.runtime(store: store)
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a2", trust: 0.8)
        _ = try runtime.activate(session: "s1")
        var deep = Value.number(1)
        for _ in 0..<70 { deep = .list([deep]) }
        var bad: [Request] = []
        for (i, value) in [Value.number(.nan), .number(-.infinity), .object(["x": .list([.number(.infinity)])]), deep].enumerated() {
            var request = Request(agent: Agent(id: "a2"), action: "fs.read", resource: Self.read)
            switch i % 3 {
            case 0: request.params = ["n": value]
            case 1: request.context = ["n": value]
            default: request.agent.attrs = ["n": value]
            }
            bad.append(request)
        }
        var untrusted = Request(agent: Agent(id: "a2"), action: "fs.read", resource: Self.read)
        untrusted.agent.trust = .nan
        bad.append(untrusted)
        try runtime.log.flush()
        let before = try Self.entries(store).count
        for request in bad {
            for session in [nil, "s1"] as [String?] {
                #expect {
                    _ = try runtime.decide(request, session: session)
                } throws: { error in
                    (error as? RuntimeError)?.code == .invalidField
                }
            }
        }
        let good = try runtime.decide(Request(agent: Agent(id: "a2"), action: "fs.read", resource: Self.read), session: "s1")
        #expect(good.decision.allowed)
        runtime.close()
        #expect(try Self.entries(store).count == before + 1)
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    /// RFC 9162 §2.1.1, written out recursively (independent of `MerkleFrontier`).
    static func rfc9162Root(_ leaves: [AuditHash]) -> AuditHash {
        if leaves.isEmpty { return MerkleHash.emptyRoot }
        if leaves.count == 1 { return leaves[0] }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        return MerkleHash.node(rfc9162Root(Array(leaves[..<k])), rfc9162Root(Array(leaves[k...])))
    }

    @Test func aFailingStoreStopsTheRuntime() throws {
        let store = FailingStore()
        let runtime = try Self.runtime(store: store, durability: .strict)
        _ = try runtime.createSession(id: "s1")
        store.failing = true
        Self.expect(.auditFailed) { () throws(RuntimeError) in try runtime.join(session: "s1", agent: "a2", trust: 0.8) }
        store.failing = false
        Self.expect(.auditFailed) { () throws(RuntimeError) in try runtime.session("s1") }
        runtime.close()
    }

    @Test func runtimeDecisionLinesMatchTheResultWriter() throws {
        let runtime = try Self.runtime { $0.limits.ring3 = .init(rate: 5, burst: 1) }
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a3", trust: 0.5)
        _ = try runtime.activate(session: "s1")
        let request = Request(agent: Agent(id: "a3"), action: "fs.read", resource: Self.read)
        _ = try runtime.decide(request, session: "s1")
        let limited = try runtime.decide(request, session: "s1")
        #expect(limited.decision.code == .rateLimit && limited.retryAfter == 0.2)
        #expect(limited.jsonLine.hasSuffix(",\"ring\":3,\"retry_after\":0.2}"))
        let outcome = OperationOutcome(op: "decide", result: .success(limited.value))
        #expect(outcome.line == "{\"op\":\"decide\",\"ok\":true,\"result\":" + limited.jsonLine + "}")
        runtime.close()
    }
}

/// A memory store whose commits fail while `failing` is set.
final class FailingStore: StateStore, @unchecked Sendable {
    private let inner = MemoryStore()
    private let lock = NSLock()
    private var fail = false
    /// When set, every commit fails.
    var failing: Bool {
        get { lock.withLock { fail } }
        set { lock.withLock { fail = newValue } }
    }
    var url: String { "failing:" }
    func load() throws(StoreError) -> StoreSnapshot { try inner.load() }
    func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        if failing { throw StoreError(.database, "the disk is full") }
        try inner.commit(batch, durability: durability)
    }
    func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] { try inner.auditEntries(from: seq, limit: limit) }
    func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] { try inner.auditNodes(ids) }
    func checkpoints() throws(StoreError) -> [StoredCheckpoint] { try inner.checkpoints() }
    func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash] { try inner.auditEntryHashes(session: session) }
    func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int { try inner.purgeAuditData(before: seq) }
}

/// `docs/runtime.md` shows the operations, error codes, state machines and entry kinds exactly as
/// the runtime's tables hold them.
@Suite struct RuntimeDocTests {
    @Test func docsShowTheTables() throws {
        let url = Repository.url("docs/runtime.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        let begin = RuntimeReference.begin + "\n", end = "\n" + RuntimeReference.end
        guard let a = doc.range(of: begin), let b = doc.range(of: end, range: a.upperBound..<doc.endIndex) else {
            Issue.record("docs/runtime.md lacks the generated-section markers")
            return
        }
        if ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == "1" {
            let updated = String(doc[..<a.upperBound]) + RuntimeReference.markdown + String(doc[b.lowerBound...])
            try updated.write(to: url, atomically: true, encoding: .utf8)
            Issue.record("recorded the runtime reference into docs/runtime.md; review and rerun without RINGFENCE_RECORD")
        }
        #expect(String(doc[a.upperBound..<b.lowerBound]) == RuntimeReference.markdown,
                "regenerate the reference in docs/runtime.md from the runtime's tables (RINGFENCE_RECORD=1)")
        for code in RuntimeError.Code.allCases { #expect(doc.contains("`\(code.rawValue)`")) }
    }
}
