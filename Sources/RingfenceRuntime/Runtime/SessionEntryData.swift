import RingfenceAudit
import RingfenceVM

/// The data of the session entries every session writes — created, joined, activated,
/// terminated — written straight in canonical form (`CanonicalObject`) by the log's writer
/// rather than built as value trees under the runtime's lock. `SessionEntryDataTests` holds each
/// to `CanonicalJSON.encode` of the same members as values, byte for byte.
enum SessionEntryData {
    /// `session.created`: `{config: {max_participants, min_trust, ttl}, expires_at, session}`.
    static func created(session: String, config: SessionConfig, expiresAt: Int64) throws(AuditError) -> [UInt8] {
        var o = CanonicalObject(capacity: 160 + session.utf8.count)
        try o.object("config") { (c: inout CanonicalObject) throws(AuditError) in
            c.int("max_participants", config.maxParticipants)
            try c.number("min_trust", config.minTrust)
            try c.number("ttl", Double(config.ttl) / 1_000)
        }
        o.time("expires_at", RuntimeTime.auditTime(expiresAt))
        o.string("session", session)
        return o.finish()
    }

    /// `session.joined`: `{agent, consensus, parent, ring, session, standing, trust, trust_eff}`.
    static func joined(session: String, agent: String, trust: Double, trustEff: Double, consensus: Bool, ring: Int,
                       standing: Standing, parent: String?) throws(AuditError) -> [UInt8] {
        var o = CanonicalObject(capacity: 192 + session.utf8.count + agent.utf8.count + (parent?.utf8.count ?? 0))
        o.string("agent", agent)
        o.bool("consensus", consensus)
        o.optional("parent", parent)
        o.int("ring", ring)
        o.string("session", session)
        o.string("standing", standing.rawValue)
        try o.number("trust", trust)
        try o.number("trust_eff", trustEff)
        return o.finish()
    }

    /// `session.activated`: `{session}`.
    static func activated(session: String) -> [UInt8] {
        var o = CanonicalObject(capacity: 16 + session.utf8.count)
        o.string("session", session)
        return o.finish()
    }

    /// `session.terminated`: `{audit_root, clean, entries, participants, session, terminated_by}`.
    static func terminated(session: String, cause: String, auditRoot: AuditHash, entries: Int, participants: [String],
                           clean: [String]) -> [UInt8] {
        var o = CanonicalObject(capacity: 192 + session.utf8.count + 40 * participants.count)
        o.string("audit_root", auditRoot.hex)
        o.strings("clean", clean)
        o.int("entries", entries)
        o.strings("participants", participants)
        o.string("session", session)
        o.string("terminated_by", cause)
        return o.finish()
    }
}
