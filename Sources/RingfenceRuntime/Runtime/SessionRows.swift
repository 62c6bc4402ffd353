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
    /// back exactly: numbers in their shortest round-tripping form, times as text), written
    /// member by member (`RowText`) in key order — by whoever commits the row, from the session
    /// as it is now (`StateRow.init(_:written:)`).
    func row() -> StateRow {
        StateRow(StateKey(Self.collection, id)) { text() }
    }

    /// The bytes of the session's row.
    private func text() -> [UInt8] {
        var w = RowText(capacity: 320 + 256 * order.count + 200 * elevations.count)
        if let auditRoot { w.string("audit_root", auditRoot.hex) }
        w.object("config") { c in
            c.int("max_participants", config.maxParticipants)
            c.number("min_trust", config.minTrust)
            c.number("ttl_ms", Double(config.ttl))
        }
        w.time("created_at", createdAt)
        w.objects("elevations", elevations) { m, e in
            m.string("agent", e.agent)
            if let attestation = e.attestation { m.string("attestation", attestation) }
            m.string("elevation", e.id)
            if let ended = e.ended {
                m.time("ended_at", ended.at)
                m.string("ended_by", ended.by.rawValue)
            }
            m.time("expires_at", e.expiresAt)
            m.int("from_ring", e.fromRing)
            m.time("granted_at", e.grantedAt)
            if let reason = e.reason { m.string("reason", reason) }
            m.int("ring", e.ring)
        }
        w.time("expires_at", expiresAt)
        w.objects("kills", kills) { m, k in
            m.string("agent", k.agent)
            m.time("at", k.at)
            m.objects("handoffs", k.handoffs) { h, handoff in
                h.string("outcome", handoff.outcome.rawValue)
                h.string("saga", handoff.saga)
                h.string("step", handoff.step)
            }
            m.string("kill", k.id)
            m.string("reason", k.reason)
            if let substitute = k.substitute { m.string("substitute", substitute) }
        }
        w.objects("participants", order.lazy.compactMap { participants[$0] }) { m, p in
            m.string("agent", p.agent)
            if let until = p.breakerUntil { m.time("breaker_until", until) }
            m.bool("consensus", p.consensus)
            if let elevation = p.elevation { m.int("elevation", elevation) }
            m.time("joined_at", p.joinedAt)
            if let kill = p.kill { m.string("kill", kill) }
            if let parent = p.parent { m.string("parent", parent) }
            m.int("ring", p.ring)
            m.string("standing", p.standing.rawValue)
            m.number("trust", p.trust)
            m.number("trust_eff", p.trustEff)
            m.int("violations", p.violations)
        }
        w.string("session", id)
        w.string("state", phase.rawValue)
        if let terminatedAt { w.time("terminated_at", terminatedAt) }
        if let terminatedBy { w.string("terminated_by", terminatedBy) }
        w.version(Self.rowVersion)
        return w.finish()
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
