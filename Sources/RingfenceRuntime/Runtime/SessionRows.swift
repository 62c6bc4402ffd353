import RingfenceWire
import RingfenceAudit
import RingfenceVM

// A session as one state row: `sessions/<id>`, its value the compact JSON (keys sorted) of
//
//   {"v": 1, "session", "state", "config": {"max_participants", "ttl_ms", "min_trust"},
//    "created_at", "expires_at",                                  times: the audit text form
//    "participants": [{"agent", "trust", "trust_eff", "consensus", "ring", "standing",
//                      "parent"?, "joined_at", "kill"?, "breaker_until"?, "violations",
//                      "elevation"? (index into "elevations")}],   in join order
//    "elevations": [{"elevation", "agent", "ring", "from_ring", "granted_at", "expires_at",
//                    "attestation"?, "reason"?, "ended_at"?, "ended_by"?}],
//    "kills": [{"kill", "agent", "reason", "substitute"?, "at", "handoffs"}],
//    "terminated_at"?, "terminated_by"?, "audit_root"?}
//
// Reading a row checks every field; a row that does not read is a store the runtime cannot
// open (`foreignSchema`), never a silently dropped session.

extension SessionData {
    /// The collection session rows live in.
    static let collection = "sessions"
    /// The row format's version.
    static let rowVersion = 1

    /// The session's state row: compact JSON with object keys sorted (deterministic, and read
    /// back exactly: numbers in their shortest round-tripping form, times as text).
    func row() throws(RuntimeError) -> StateRow {
        StateRow(StateKey(Self.collection, id), Array(rowValue.jsonText.utf8))
    }

    /// The row's JSON value.
    var rowValue: Value {
        let t = RuntimeTime.text
        var members: [String: Value] = [
            "v": .number(Double(Self.rowVersion)), "session": .string(id), "state": .string(phase.rawValue),
            "config": .object(["max_participants": .number(Double(config.maxParticipants)), "ttl_ms": .number(Double(config.ttl)),
                               "min_trust": .number(config.minTrust)]),
            "created_at": .string(t(createdAt)), "expires_at": .string(t(expiresAt)),
        ]
        members["participants"] = .list(order.compactMap { participants[$0] }.map { p in
            var m: [String: Value] = [
                "agent": .string(p.agent), "trust": .number(p.trust), "trust_eff": .number(p.trustEff),
                "consensus": .bool(p.consensus), "ring": .number(Double(p.ring)), "standing": .string(p.standing.rawValue),
                "joined_at": .string(t(p.joinedAt)), "violations": .number(Double(p.violations)),
            ]
            if let parent = p.parent { m["parent"] = .string(parent) }
            if let kill = p.kill { m["kill"] = .string(kill) }
            if let until = p.breakerUntil { m["breaker_until"] = .string(t(until)) }
            if let elevation = p.elevation { m["elevation"] = .number(Double(elevation)) }
            return .object(m)
        })
        members["elevations"] = .list(elevations.map { e in
            var m: [String: Value] = [
                "elevation": .string(e.id), "agent": .string(e.agent), "ring": .number(Double(e.ring)),
                "from_ring": .number(Double(e.fromRing)), "granted_at": .string(t(e.grantedAt)), "expires_at": .string(t(e.expiresAt)),
            ]
            if let attestation = e.attestation { m["attestation"] = .string(attestation) }
            if let reason = e.reason { m["reason"] = .string(reason) }
            if let ended = e.ended {
                m["ended_at"] = .string(t(ended.at))
                m["ended_by"] = .string(ended.by.rawValue)
            }
            return .object(m)
        })
        members["kills"] = .list(kills.map { k in
            var m: [String: Value] = ["kill": .string(k.id), "agent": .string(k.agent), "reason": .string(k.reason),
                                      "at": .string(t(k.at)), "handoffs": .list(k.handoffs.map(\.value))]
            if let substitute = k.substitute { m["substitute"] = .string(substitute) }
            return .object(m)
        })
        if let terminatedAt { members["terminated_at"] = .string(t(terminatedAt)) }
        if let terminatedBy { members["terminated_by"] = .string(terminatedBy) }
        if let auditRoot { members["audit_root"] = .string(auditRoot.hex) }
        return .object(members)
    }

    /// Reads a session row back; `window` is the breach window its participants get.
    init(row: StateRow, window: Int64) throws(StoreError) {
        let key = row.key.key
        func bad(_ what: String) -> StoreError {
            StoreError(.foreignSchema, "session row `\(key)` cannot be read: \(what)")
        }
        let value: Value
        do {
            value = try row.value.withUnsafeBufferPointer { bytes throws(JSONParseError) in try JSONParser.parse(bytes) }
        } catch {
            throw bad("not json (\(error.message))")
        }
        guard let r = RowReader(value), r.int("v") == Self.rowVersion else { throw bad("not a version \(Self.rowVersion) session") }
        guard let id = r.string("session"), id == key, let phase = r.string("state").flatMap(SessionPhase.init(rawValue:)),
              let config = r.object("config"), let maxParticipants = config.int("max_participants"),
              let ttl = config.int("ttl_ms"), let minTrust = config.number("min_trust"),
              let createdAt = r.time("created_at"), let expiresAt = r.time("expires_at"),
              let participantValues = r.list("participants"), let elevationValues = r.list("elevations"),
              let killValues = r.list("kills")
        else { throw bad("a session field is missing or malformed") }
        var sessionConfig = SessionConfig(.init())
        sessionConfig.maxParticipants = maxParticipants
        sessionConfig.ttl = Int64(ttl)
        sessionConfig.minTrust = minTrust
        self.init(id: id, phase: phase, config: sessionConfig, createdAt: createdAt, expiresAt: expiresAt)
        for value in elevationValues {
            guard let e = RowReader(value), let eid = e.string("elevation"), let agent = e.string("agent"), let ring = e.int("ring"),
                  let fromRing = e.int("from_ring"), let grantedAt = e.time("granted_at"), let expires = e.time("expires_at")
            else { throw bad("an elevation is malformed") }
            var record = ElevationRecord(id: eid, agent: agent, ring: ring, fromRing: fromRing, grantedAt: grantedAt, expiresAt: expires,
                                         attestation: e.string("attestation"), reason: e.string("reason"))
            if let at = e.time("ended_at") {
                guard let by = e.string("ended_by").flatMap(ElevationEvent.init(rawValue:)) else { throw bad("an elevation's end is malformed") }
                record.ended = (at, by)
            }
            elevations.append(record)
        }
        for value in participantValues {
            guard let p = RowReader(value), let agent = p.string("agent"), let trust = p.number("trust"),
                  let trustEff = p.number("trust_eff"), let consensus = p.bool("consensus"), let ring = p.int("ring"),
                  let standing = p.string("standing").flatMap(Standing.init(rawValue:)), let joinedAt = p.time("joined_at"),
                  let violations = p.int("violations")
            else { throw bad("a participant is malformed") }
            var participant = Participant(session: id, agent: agent, trust: trust, trustEff: trustEff, consensus: consensus, ring: ring,
                                          standing: standing, parent: p.string("parent"), joinedAt: joinedAt, window: window)
            participant.kill = p.string("kill")
            participant.breakerUntil = p.time("breaker_until")
            participant.violations = violations
            if let index = p.int("elevation") {
                guard elevations.indices.contains(index) else { throw bad("a participant names a missing elevation") }
                participant.elevation = index
            }
            participants[agent] = participant
            order.append(agent)
        }
        for value in killValues {
            guard let k = RowReader(value), let kid = k.string("kill"), let agent = k.string("agent"), let reason = k.string("reason"),
                  let at = k.time("at"), let handoffValues = k.list("handoffs")
            else { throw bad("a kill is malformed") }
            var handoffs: [Handoff] = []
            for h in handoffValues {
                guard let hr = RowReader(h), let saga = hr.string("saga"), let step = hr.string("step"),
                      let outcome = hr.string("outcome").flatMap(Handoff.Outcome.init(rawValue:))
                else { throw bad("a handoff is malformed") }
                handoffs.append(Handoff(saga: saga, step: step, outcome: outcome))
            }
            kills.append(KillRecord(id: kid, agent: agent, reason: reason, substitute: k.string("substitute"), at: at, handoffs: handoffs))
        }
        terminatedAt = r.time("terminated_at")
        terminatedBy = r.string("terminated_by")
        if let hex = r.string("audit_root") {
            guard let root = try? AuditHash(hex: hex) else { throw bad("the audit root is malformed") }
            auditRoot = root
        }
    }
}

/// Typed reads of a JSON object's members; each returns nil when absent or of another type.
struct RowReader {
    /// The object's members.
    let members: [String: Value]

    /// A reader over `value`, or nil when it is not an object.
    init?(_ value: Value) {
        guard case .object(let members) = value else { return nil }
        self.members = members
    }

    /// A string member.
    func string(_ key: String) -> String? {
        if case .string(let s)? = members[key] { return s }
        return nil
    }

    /// A number member.
    func number(_ key: String) -> Double? {
        if case .number(let x)? = members[key], x.isFinite { return x }
        return nil
    }

    /// An integer member (a number with no fraction, within ±2^53).
    func int(_ key: String) -> Int? {
        guard let x = number(key), x == x.rounded(), abs(x) <= 9_007_199_254_740_992 else { return nil }
        return Int(x)
    }

    /// A boolean member.
    func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = members[key] { return b }
        return nil
    }

    /// A list member.
    func list(_ key: String) -> [Value]? {
        if case .list(let l)? = members[key] { return l }
        return nil
    }

    /// An object member.
    func object(_ key: String) -> RowReader? {
        members[key].flatMap(RowReader.init)
    }

    /// A time member in the audit text form, in microseconds.
    func time(_ key: String) -> Int64? {
        string(key).flatMap { try? AuditTime(parsing: $0).microseconds }
    }
}
