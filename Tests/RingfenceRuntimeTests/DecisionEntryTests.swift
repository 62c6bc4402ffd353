import Foundation
import RingfenceAudit
import RingfenceRuntime
import Testing

/// The exact content of the audit entries a decision writes (SPEC §9.1): the envelope's kind,
/// session, agent and time, and the canonical data byte for byte, for every decision code the
/// runtime gives in a session and outside one — and the `breach` entry a verdict adds. Whatever
/// the decision path does to get faster, `audit log` must print the same bytes.
@Suite struct DecisionEntryTests {
    /// 2026-11-21T10:00:00Z in microseconds.
    static let start: Int64 = 1_795_255_200_000_000

    /// The committed workspace bundle (`policies/workspace.yaml`).
    static func engine() throws -> Engine {
        let url = try #require(Bundle.module.url(forResource: "workspace", withExtension: "rfb", subdirectory: "Fixtures"))
        return try Engine(bundle: Array(try Data(contentsOf: url)))
    }

    /// A request that carries every optional field, with strings the canonical form escapes.
    static func fullRequest(agent: String) -> Request {
        Request(agent: Agent(id: agent, trust: 0.1, ring: 0, consensus: false, roles: ["ops", "dev \u{e9}"],
                             attrs: ["team": .string("data"), "level": .number(3), "tags": .list([.bool(true), .null])]),
                action: "fs.read", resource: "/workspace/data/q\"1\u{1}.csv",
                params: ["path": .string("/workspace/data/q.csv"), "limit": .number(0.5), "opts": .object(["z": .number(-0.0), "a": .number(1e21)])],
                context: ["time": .string("2026-11-21T10:00:00Z"), "why": .string("line\nbreak \u{1F600}")])
    }

    /// Runs a script of decisions that reaches every decision code, and returns each `decision`,
    /// `breach` and `kill` entry as `<seq> <kind> <session> <agent> <time> <canonical data>`.
    static func decisionEntries() throws -> [String] {
        let store = MemoryStore()
        let engine = try engine()
        var settings = engine.program.runtime
        settings.audit.durability = .group
        settings.limits.ring3 = .init(rate: 5, burst: 1)
        // Wide enough that the writes below meet the rule's own limit first.
        settings.limits.ring2 = .init(rate: 1_000, burst: 1_000)
        let runtime = try Runtime(machine: engine.machine, settings: settings, store: store, clock: { start }, ids: .seeded(7))
        _ = try runtime.createSession(id: "s1")
        _ = try runtime.join(session: "s1", agent: "a1", trust: 0.85, consensus: true)
        _ = try runtime.join(session: "s1", agent: "a3", trust: 0.3)
        _ = try runtime.join(session: "s1", agent: "b1", trust: 0.4)
        _ = try runtime.join(session: "s1", agent: "e1", trust: 0.55)
        _ = try runtime.join(session: "s1", agent: "k1", trust: 0.9)
        _ = try runtime.join(session: "s1", agent: "q1", trust: 0.7)
        _ = try runtime.activate(session: "s1")
        // In a session: allow with the runtime's agent fields, a deny rule, no resource (default).
        _ = try runtime.decide(fullRequest(agent: "a1"), session: "s1")
        _ = try runtime.decide(Request(agent: Agent(id: "a1"), action: "fs.read", resource: "/workspace/config/.env"), session: "s1")
        _ = try runtime.decide(Request(agent: Agent(id: "a1"), action: "net.fetch"), session: "s1")
        // A per-rule limit (100/minute): the 101st write is refused with `retry_after`.
        try runtime.advanceClock(to: start + 1_000)
        for _ in 0..<101 {
            _ = try runtime.decide(Request(agent: Agent(id: "a1"), action: "fs.write", resource: "/workspace/out/r.txt"), session: "s1")
        }
        // The ring-3 bucket (rate 5, burst 1): the second read right away is refused.
        try runtime.advanceClock(to: start + 2_000)
        _ = try runtime.decide(Request(agent: Agent(id: "a3"), action: "fs.read", resource: "/workspace/a.csv"), session: "s1")
        _ = try runtime.decide(Request(agent: Agent(id: "a3"), action: "fs.read", resource: "/workspace/a.csv"), session: "s1")
        // Five writes aimed above ring 3: `ring` decisions, a critical verdict, then `breaker`.
        try runtime.advanceClock(to: start + 3_000)
        for _ in 0..<6 {
            _ = try runtime.decide(Request(agent: Agent(id: "b1"), action: "fs.write", resource: "/workspace/out/x"), session: "s1")
        }
        // An elevation to ring 2 lets e1 write; σ lowered by an operator shows in the next entry.
        _ = try runtime.elevate(session: "s1", agent: "e1", ring: 2)
        _ = try runtime.decide(Request(agent: Agent(id: "e1", ring: 3), action: "fs.write", resource: "/workspace/tmp/e"), session: "s1")
        _ = try runtime.setTrust(agent: "e1", trust: 0.52)
        _ = try runtime.decide(Request(agent: Agent(id: "e1"), action: "fs.list", resource: "/workspace"), session: "s1")
        // Killed, quarantined in and outside the session.
        _ = try runtime.kill(session: "s1", agent: "k1", reason: "manual")
        _ = try runtime.decide(Request(agent: Agent(id: "k1"), action: "fs.read", resource: "/workspace/a.csv"), session: "s1")
        _ = try runtime.quarantine(agent: "q1", reason: "review")
        _ = try runtime.decide(Request(agent: Agent(id: "q1"), action: "fs.read", resource: "/workspace/a.csv"), session: "s1")
        _ = try runtime.decide(Request(agent: Agent(id: "q1", trust: 0.99), action: "fs.read", resource: "/workspace/a.csv"))
        // Outside any session: the request's own trust, ring and fields.
        _ = try runtime.decide(fullRequest(agent: "o1"))
        _ = try runtime.decide(Request(agent: Agent(id: "o2", trust: 0.7, consensus: true), action: "fs.write", resource: "https://example.com/a?b#c"))
        runtime.close()
        let kinds: Set = ["decision", "breach", "kill"]
        return try store.auditEntries(from: 0, limit: 10_000).filter { kinds.contains($0.entry.kind) }.map { stored in
            let e = stored.entry
            let data = stored.data.map { String(decoding: $0, as: UTF8.self) } ?? "<purged>"
            return "\(e.seq) \(e.kind) \(e.session ?? "-") \(e.agent ?? "-") \(e.time.text) \(data)"
        }
    }

    /// With `on_critical: kill`, a critical verdict's entries: the decision, the `breach`, the
    /// `kill` and the ledger's quarantine, then the decisions that follow in and outside the session.
    static func criticalKillEntries() throws -> [String] {
        let store = MemoryStore()
        let engine = try engine()
        var settings = engine.program.runtime
        settings.audit.durability = .group
        settings.breach.onCritical = .kill
        let runtime = try Runtime(machine: engine.machine, settings: settings, store: store, clock: { start }, ids: .seeded(11))
        _ = try runtime.createSession(id: "s2")
        _ = try runtime.join(session: "s2", agent: "b2", trust: 0.45)
        _ = try runtime.activate(session: "s2")
        for _ in 0..<6 {
            _ = try runtime.decide(Request(agent: Agent(id: "b2"), action: "fs.write", resource: "/workspace/out/y"), session: "s2")
        }
        _ = try runtime.decide(Request(agent: Agent(id: "b2"), action: "fs.read", resource: "/workspace/y"))
        runtime.close()
        return try store.auditEntries(from: 0, limit: 10_000).filter { $0.entry.seq >= 7 }.map { stored in
            let e = stored.entry
            let data = stored.data.map { String(decoding: $0, as: UTF8.self) } ?? "<purged>"
            return "\(e.seq) \(e.kind) \(e.session ?? "-") \(e.agent ?? "-") \(e.time.text) \(data)"
        }
    }

    /// The decision data written straight in canonical form is, byte for byte, the canonical
    /// form of the request and decision values, for every combination of the optional fields,
    /// supplied agent fields or not, and member names that sort differently by UTF-16 units and
    /// by UTF-8 bytes.
    @Test func decisionDataWrittenDirectlyIsTheCanonicalFormOfItsValue() throws {
        let full = Self.fullRequest(agent: "did:mesh:a\u{7f}")
        var odd = full
        odd.params = ["\u{FB33}": .number(1), "\u{1F600}": .list([.number(2.5e-7), .object(["\u{E000}": .null, "b": .bool(false)])]),
                      "é": .string("\u{2028}")]
        odd.agent.attrs = ["\u{10FFFF}": .number(-1), "\u{FFFD}": .number(1)]
        var bare = Request(agent: Agent(id: "b"), action: "x")
        bare.agent.consensus = true
        let requests = [full, odd, bare, Request(agent: Agent(id: "c", trust: 1, ring: 3), action: "fs.write", resource: "")]
        let supplies: [SuppliedAgent?] = [nil, SuppliedAgent(trust: 0.45, ring: 2, consensus: false), SuppliedAgent(trust: 0, ring: 0, consensus: true)]
        let outcomes = [
            RuntimeDecision(Decision(allowed: true, code: .allow, policy: "p", rule: "r", reason: "ok \"quoted\"\n", ring: 2)),
            RuntimeDecision(Decision(allowed: false, code: .rateLimit, policy: nil, rule: nil, reason: "", ring: 3), retryAfter: 0.000001),
            RuntimeDecision(Decision(allowed: false, code: .killed, policy: nil, rule: "only", reason: "\u{1}", ring: 0), retryAfter: 12.5),
        ]
        for request in requests {
            for supplied in supplies {
                for outcome in outcomes {
                    let value = Value.object(["request": RequestValue.value(request, supplied: supplied), "decision": outcome.value])
                    let direct = try DecisionData.canonical(request, supplied: supplied, outcome)
                    #expect(direct == (try CanonicalJSON.encode(value)), "\(String(decoding: direct, as: UTF8.self))")
                }
            }
        }
        // A record carrying the canonical bytes gives its data back as a value with the same form.
        let (request, supplied, outcome) = (odd, supplies[1], outcomes[2])
        let record = AuditRecord(kind: "decision", time: try AuditTime(microseconds: Self.start)) { () throws(AuditError) -> [UInt8] in
            try DecisionData.canonical(request, supplied: supplied, outcome)
        }
        #expect(try CanonicalJSON.encode(record.data()) == DecisionData.canonical(odd, supplied: supplies[1], outcomes[2]))
        // A number that has no canonical form is an error on both paths.
        var infinite = bare
        infinite.params = ["n": .number(.infinity)]
        #expect(throws: AuditError.self) { try DecisionData.canonical(infinite, supplied: nil, outcomes[0]) }
        #expect(throws: AuditError.self) {
            try CanonicalJSON.encode(.object(["request": RequestValue.value(infinite), "decision": outcomes[0].value]))
        }
    }

    @Test func criticalVerdictEntriesKeepTheirExactBytes() throws {
        let lines = try Self.criticalKillEntries()
        for (line, expected) in zip(lines, Self.expectedCritical) {
            #expect(line == expected)
        }
        #expect(lines.count == Self.expectedCritical.count)
    }

    @Test func decisionEntriesKeepTheirExactBytes() throws {
        let lines = try Self.decisionEntries()
        // The rule-limited writes in between are the same entry 100 times: only the first and
        // the refused one are pinned, the rest must equal the first.
        let writes = lines.filter { $0.contains(#""resource":"/workspace/out/r.txt""#) }
        #expect(writes.count == 101)
        let allowedWrite = try #require(writes.first).split(separator: " ", maxSplits: 1)[1]
        #expect(writes.dropLast().allSatisfy { $0.split(separator: " ", maxSplits: 1)[1] == allowedWrite })
        let pinned = lines.filter { !writes.dropFirst().dropLast().contains($0) }
        for (line, expected) in zip(pinned, Self.expected) {
            #expect(line == expected)
        }
        #expect(pinned.count == Self.expected.count)
    }

    /// The entries `decisionEntries` gives, as the runtime wrote them before the decision path
    /// was reworked for speed.
    static let expected: [String] = [
        #"8 decision s1 a1 2026-11-21T10:00:00.000000Z {"decision":{"code":"allow","decision":"allow","policy":"workspace","reason":"workspace files are readable","ring":2,"rule":"read-workspace"},"request":{"action":"fs.read","agent":{"attrs":{"level":3,"tags":[true,null],"team":"data"},"consensus":true,"id":"a1","ring":2,"roles":["ops","dev é"],"trust":0.85},"context":{"time":"2026-11-21T10:00:00Z","why":"line\nbreak 😀"},"params":{"limit":0.5,"opts":{"a":1e+21,"z":0},"path":"/workspace/data/q.csv"},"resource":"/workspace/data/q\"1\u0001.csv"}}"#,
        #"9 decision s1 a1 2026-11-21T10:00:00.000000Z {"decision":{"code":"deny_rule","decision":"deny","policy":"workspace","reason":"secrets in the workspace are never readable or writable","ring":2,"rule":"no-secrets"},"request":{"action":"fs.read","agent":{"consensus":true,"id":"a1","ring":2,"trust":0.85},"resource":"/workspace/config/.env"}}"#,
        #"10 decision s1 a1 2026-11-21T10:00:00.000000Z {"decision":{"code":"default","decision":"deny","policy":null,"reason":"no rule allowed the request (default deny)","ring":2,"rule":null},"request":{"action":"net.fetch","agent":{"consensus":true,"id":"a1","ring":2,"trust":0.85}}}"#,
        #"11 decision s1 a1 2026-11-21T10:00:00.001000Z {"decision":{"code":"allow","decision":"allow","policy":"workspace","reason":"trusted agents may write results to out/ and tmp/","ring":2,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"consensus":true,"id":"a1","ring":2,"trust":0.85},"resource":"/workspace/out/r.txt"}}"#,
        #"111 decision s1 a1 2026-11-21T10:00:00.001000Z {"decision":{"code":"rate_limit","decision":"deny","policy":"workspace","reason":"rate limit of rule `write-workspace-output` is exhausted (100 per 60s per agent)","retry_after":0.6,"ring":2,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"consensus":true,"id":"a1","ring":2,"trust":0.85},"resource":"/workspace/out/r.txt"}}"#,
        #"112 decision s1 a3 2026-11-21T10:00:00.002000Z {"decision":{"code":"allow","decision":"allow","policy":"workspace","reason":"workspace files are readable","ring":3,"rule":"read-workspace"},"request":{"action":"fs.read","agent":{"id":"a3","ring":3,"trust":0.3},"resource":"/workspace/a.csv"}}"#,
        #"113 decision s1 a3 2026-11-21T10:00:00.002000Z {"decision":{"code":"rate_limit","decision":"deny","policy":"workspace","reason":"the ring 3 bucket is empty (5 per second, burst 1)","retry_after":0.2,"ring":3,"rule":"read-workspace"},"request":{"action":"fs.read","agent":{"id":"a3","ring":3,"trust":0.3},"resource":"/workspace/a.csv"}}"#,
        #"114 decision s1 b1 2026-11-21T10:00:00.003000Z {"decision":{"code":"ring","decision":"deny","policy":"workspace","reason":"ring 3 is not privileged enough for rule `write-workspace-output` (it needs ring 2 or lower)","ring":3,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"b1","ring":3,"trust":0.4},"resource":"/workspace/out/x"}}"#,
        #"115 decision s1 b1 2026-11-21T10:00:00.003000Z {"decision":{"code":"ring","decision":"deny","policy":"workspace","reason":"ring 3 is not privileged enough for rule `write-workspace-output` (it needs ring 2 or lower)","ring":3,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"b1","ring":3,"trust":0.4},"resource":"/workspace/out/x"}}"#,
        #"116 decision s1 b1 2026-11-21T10:00:00.003000Z {"decision":{"code":"ring","decision":"deny","policy":"workspace","reason":"ring 3 is not privileged enough for rule `write-workspace-output` (it needs ring 2 or lower)","ring":3,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"b1","ring":3,"trust":0.4},"resource":"/workspace/out/x"}}"#,
        #"117 decision s1 b1 2026-11-21T10:00:00.003000Z {"decision":{"code":"ring","decision":"deny","policy":"workspace","reason":"ring 3 is not privileged enough for rule `write-workspace-output` (it needs ring 2 or lower)","ring":3,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"b1","ring":3,"trust":0.4},"resource":"/workspace/out/x"}}"#,
        #"118 decision s1 b1 2026-11-21T10:00:00.003000Z {"decision":{"code":"ring","decision":"deny","policy":"workspace","reason":"ring 3 is not privileged enough for rule `write-workspace-output` (it needs ring 2 or lower)","ring":3,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"b1","ring":3,"trust":0.4},"resource":"/workspace/out/x"}}"#,
        #"119 breach s1 b1 2026-11-21T10:00:00.003000Z {"agent":"b1","aimed_above":5,"breaker_until":"2026-11-21T10:00:30.003000Z","calls":5,"session":"s1","severity":"critical","share":1}"#,
        #"120 decision s1 b1 2026-11-21T10:00:00.003000Z {"decision":{"code":"breaker","decision":"deny","policy":null,"reason":"the breaker of agent `b1` is open until 2026-11-21T10:00:30.003000Z after a ring breach","ring":3,"rule":null},"request":{"action":"fs.write","agent":{"id":"b1","ring":3,"trust":0.4},"resource":"/workspace/out/x"}}"#,
        #"122 decision s1 e1 2026-11-21T10:00:00.003000Z {"decision":{"code":"allow","decision":"allow","policy":"workspace","reason":"trusted agents may write results to out/ and tmp/","ring":2,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"e1","ring":2,"trust":0.55},"resource":"/workspace/tmp/e"}}"#,
        #"124 decision s1 e1 2026-11-21T10:00:00.003000Z {"decision":{"code":"allow","decision":"allow","policy":"workspace","reason":"workspace files are readable","ring":2,"rule":"read-workspace"},"request":{"action":"fs.list","agent":{"id":"e1","ring":2,"trust":0.52},"resource":"/workspace"}}"#,
        #"125 kill s1 k1 2026-11-21T10:00:00.003000Z {"agent":"k1","at":"2026-11-21T10:00:00.003000Z","handoffs":[],"kill":"kill:044c3cd7f43c661c","reason":"manual","session":"s1","substitute":null}"#,
        #"126 decision s1 k1 2026-11-21T10:00:00.003000Z {"decision":{"code":"killed","decision":"deny","policy":null,"reason":"agent `k1` was killed in session `s1` (`manual`)","ring":2,"rule":null},"request":{"action":"fs.read","agent":{"id":"k1","ring":2,"trust":0.9},"resource":"/workspace/a.csv"}}"#,
        #"128 decision s1 q1 2026-11-21T10:00:00.003000Z {"decision":{"code":"quarantine","decision":"deny","policy":null,"reason":"agent `q1` is quarantined until 2026-11-21T10:05:00.003000Z","ring":2,"rule":null},"request":{"action":"fs.read","agent":{"id":"q1","ring":2,"trust":0.7},"resource":"/workspace/a.csv"}}"#,
        #"129 decision - q1 2026-11-21T10:00:00.003000Z {"decision":{"code":"quarantine","decision":"deny","policy":null,"reason":"agent `q1` is quarantined until 2026-11-21T10:05:00.003000Z","ring":2,"rule":null},"request":{"action":"fs.read","agent":{"id":"q1","trust":0.99},"resource":"/workspace/a.csv"}}"#,
        #"130 decision - o1 2026-11-21T10:00:00.003000Z {"decision":{"code":"allow","decision":"allow","policy":"workspace","reason":"workspace files are readable","ring":0,"rule":"read-workspace"},"request":{"action":"fs.read","agent":{"attrs":{"level":3,"tags":[true,null],"team":"data"},"id":"o1","ring":0,"roles":["ops","dev é"],"trust":0.1},"context":{"time":"2026-11-21T10:00:00Z","why":"line\nbreak 😀"},"params":{"limit":0.5,"opts":{"a":1e+21,"z":0},"path":"/workspace/data/q.csv"},"resource":"/workspace/data/q\"1\u0001.csv"}}"#,
        #"131 decision - o2 2026-11-21T10:00:00.003000Z {"decision":{"code":"default","decision":"deny","policy":null,"reason":"no rule allowed the request (default deny)","ring":2,"rule":null},"request":{"action":"fs.write","agent":{"consensus":true,"id":"o2","trust":0.7},"resource":"https://example.com/a?b#c"}}"#,
    ]

    /// The entries `criticalKillEntries` gives, as the runtime wrote them before the decision
    /// path was reworked for speed.
    static let expectedCritical: [String] = [
        #"7 decision s2 b2 2026-11-21T10:00:00.000000Z {"decision":{"code":"ring","decision":"deny","policy":"workspace","reason":"ring 3 is not privileged enough for rule `write-workspace-output` (it needs ring 2 or lower)","ring":3,"rule":"write-workspace-output"},"request":{"action":"fs.write","agent":{"id":"b2","ring":3,"trust":0.45},"resource":"/workspace/out/y"}}"#,
        #"8 breach s2 b2 2026-11-21T10:00:00.000000Z {"agent":"b2","aimed_above":5,"breaker_until":"2026-11-21T10:00:30.000000Z","calls":5,"session":"s2","severity":"critical","share":1}"#,
        #"9 kill s2 b2 2026-11-21T10:00:00.000000Z {"agent":"b2","at":"2026-11-21T10:00:00.000000Z","handoffs":[],"kill":"kill:50f5647d2380309d","reason":"ring_breach","session":"s2","substitute":null}"#,
        #"10 ledger.quarantined - b2 2026-11-21T10:00:00.000000Z {"agent":"b2","duration":300,"extended":false,"reason":"ring_breach","reasons":["ring_breach"],"severity":1,"until":"2026-11-21T10:05:00.000000Z"}"#,
        #"11 decision s2 b2 2026-11-21T10:00:00.000000Z {"decision":{"code":"killed","decision":"deny","policy":null,"reason":"agent `b2` was killed in session `s2` (`ring_breach`)","ring":3,"rule":null},"request":{"action":"fs.write","agent":{"id":"b2","ring":3,"trust":0.45},"resource":"/workspace/out/y"}}"#,
        #"12 decision - b2 2026-11-21T10:00:00.000000Z {"decision":{"code":"quarantine","decision":"deny","policy":null,"reason":"agent `b2` is quarantined until 2026-11-21T10:05:00.000000Z","ring":3,"rule":null},"request":{"action":"fs.read","agent":{"id":"b2"},"resource":"/workspace/y"}}"#,
    ]
}

/// The reference for `DecisionData`: a decision entry's request built as a value tree.
enum RequestValue {
    /// The request as SPEC §1 writes it, with the runtime's agent fields when `supplied`;
    /// absent optional fields (nil, `false`, empty lists and objects) are left out, as
    /// `Request.jsonText` does.
    static func value(_ request: Request, supplied: SuppliedAgent? = nil) -> Value {
        // Each object is sized once for the members it will hold, so it allocates one table.
        let trust = supplied?.trust ?? request.agent.trust
        let ring = supplied?.ring ?? request.agent.ring
        let consensus = supplied?.consensus ?? request.agent.consensus
        let roles = request.agent.roles, attrs = request.agent.attrs
        var agent = [String: Value](minimumCapacity: 1 + (trust == nil ? 0 : 1) + (ring == nil ? 0 : 1) + (consensus ? 1 : 0)
                                        + (roles.isEmpty ? 0 : 1) + (attrs.isEmpty ? 0 : 1))
        agent["id"] = .string(request.agent.id)
        if let trust { agent["trust"] = .number(trust) }
        if let ring { agent["ring"] = .number(Double(ring)) }
        if consensus { agent["consensus"] = .bool(true) }
        if !roles.isEmpty { agent["roles"] = .list(roles.map(Value.string)) }
        if !attrs.isEmpty { agent["attrs"] = .object(attrs) }
        var members = [String: Value](minimumCapacity: 2 + (request.resource == nil ? 0 : 1) + (request.params.isEmpty ? 0 : 1)
                                          + (request.context.isEmpty ? 0 : 1))
        members["agent"] = .object(agent)
        members["action"] = .string(request.action)
        if let resource = request.resource { members["resource"] = .string(resource) }
        if !request.params.isEmpty { members["params"] = .object(request.params) }
        if !request.context.isEmpty { members["context"] = .object(request.context) }
        return .object(members)
    }
}
