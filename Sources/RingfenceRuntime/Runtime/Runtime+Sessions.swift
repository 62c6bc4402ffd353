import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

// Sessions (SPEC §8.1) and rings at join (SPEC §8.2).

/// What `session.create` may change of the runtime file's `sessions` settings.
public struct SessionOverrides: Sendable, Hashable {
    /// The most participants (1–1000).
    public var maxParticipants: Int?
    /// The lifetime in milliseconds (1s–7d).
    public var ttl: Int64?
    /// The trust floor (0–1).
    public var minTrust: Double?

    /// Overrides; nil keeps the setting.
    public init(maxParticipants: Int? = nil, ttl: Int64? = nil, minTrust: Double? = nil) {
        self.maxParticipants = maxParticipants
        self.ttl = ttl
        self.minTrust = minTrust
    }
}

/// The result of `session.join`.
public struct JoinResult: Sendable, Hashable {
    /// The agent's ring.
    public var ring: Int
    /// σ_eff.
    public var trustEff: Double
    /// Its ledger standing.
    public var standing: Standing

    /// `{ring, trust_eff, standing}`.
    public var value: Value {
        .object(["ring": .number(Double(ring)), "trust_eff": .number(trustEff), "standing": .string(standing.rawValue)])
    }
}

extension Runtime {
    /// `session.create`: a session in state `handshaking`; its id is `id` or a generated
    /// `session:<hex>`. Returns `{session, state}`.
    public func createSession(id: String? = nil, overrides: SessionOverrides = SessionOverrides()) throws(RuntimeError) -> Value {
        var config = SessionConfig(settings.sessions)
        if let n = overrides.maxParticipants {
            guard (1...RuntimeSettings.maxParticipants).contains(n) else {
                throw RuntimeError(.invalidField, "field `config.max_participants` must be a whole number from 1 to \(RuntimeSettings.maxParticipants)")
            }
            config.maxParticipants = n
        }
        if let ttl = overrides.ttl {
            guard (RuntimeSettings.minSessionTTL...RuntimeSettings.maxSessionTTL).contains(ttl) else {
                throw RuntimeError(.invalidField, "field `config.ttl` must be from 1s to 7d")
            }
            config.ttl = ttl
        }
        if let minTrust = overrides.minTrust {
            guard minTrust >= 0, minTrust <= 1 else { throw RuntimeError(.invalidField, RuntimeMessages.trustOutOfRange("config.min_trust")) }
            config.minTrust = minTrust
        }
        return try perform { now throws(RuntimeError) in
            let sid = try newID(id, kind: "session") { sessions[$0] != nil }
            let session = SessionData(id: sid, phase: .handshaking, config: config, createdAt: now, expiresAt: now + config.ttl * 1_000)
            let expiresAt = session.expiresAt, settled = config
            let entry = record(.sessionCreated, session: sid, agent: nil, at: now) { () throws(AuditError) in
                try SessionEntryData.created(session: sid, config: settled, expiresAt: expiresAt)
            }
            try commit(entry, rows: [session.row()])
            let phase = session.phase
            keep(session)
            expiries.push(expiresAt, sid)
            return .object(["session": .string(sid), "state": .string(phase.rawValue)])
        }
    }

    /// `session.join`: admits `agent` with `trust` and gives it its ring (SPEC §8.2).
    public func join(session sid: String, agent: String, trust: Double, consensus: Bool = false,
                     parent: String? = nil) throws(RuntimeError) -> JoinResult {
        try Self.checkID(sid, "session")
        try Self.checkID(agent, "agent")
        if let parent { try Self.checkID(parent, "parent") }
        guard trust >= 0, trust <= 1 else { throw RuntimeError(.invalidField, RuntimeMessages.trustOutOfRange("trust")) }
        return try perform { now throws(RuntimeError) in
            guard var session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            _ = try SessionMachine.next(.join, from: session.phase)
            if let existing = session.participants[agent] {
                throw existing.kill == nil ? RuntimeError(.alreadyJoined, RuntimeMessages.alreadyJoined(agent, sid))
                    : RuntimeError(.agentKilled, RuntimeMessages.agentKilled(agent, sid))
            }
            guard session.activeCount < session.config.maxParticipants else {
                throw RuntimeError(.sessionFull, RuntimeMessages.sessionFull(sid, session.config.maxParticipants))
            }
            var parentRing: Int?
            if let parent {
                guard let p = session.participants[parent], p.kill == nil else {
                    throw RuntimeError(.notAParticipant, RuntimeMessages.notAParticipant("parent", parent, sid))
                }
                parentRing = p.ring
            }
            let assessment = ledger.assess(agent: agent, trust: trust, at: now)
            if let until = assessment.quarantinedUntil, until > now {
                throw RuntimeError(.quarantined, RuntimeMessages.quarantined(agent, until: until))
            }
            guard assessment.standing != .deny else { throw RuntimeError(.admissionDenied, RuntimeMessages.admissionDenied(agent)) }
            let ring = Self.ringAtJoin(trustEff: assessment.trustEff, consensus: consensus, standing: assessment.standing,
                                       minTrust: session.config.minTrust, parentRing: parentRing, rings: settings.rings)
            session.participants[agent] = Participant(session: sid, agent: agent, trust: assessment.trust, trustEff: assessment.trustEff,
                                                      consensus: consensus, ring: ring, standing: assessment.standing, parent: parent,
                                                      joinedAt: now, window: settings.breach.window * 1_000)
            session.order.append(agent)
            let entry = record(.sessionJoined, session: sid, agent: agent, at: now) { () throws(AuditError) in
                try SessionEntryData.joined(session: sid, agent: agent, trust: assessment.trust, trustEff: assessment.trustEff,
                                            consensus: consensus, ring: ring, standing: assessment.standing, parent: parent)
            }
            try commit(entry, row: session.row(), then: ledger.joined(agent: agent, session: sid, trust: assessment.trust, at: now))
            keep(session)
            return JoinResult(ring: ring, trustEff: assessment.trustEff, standing: assessment.standing)
        }
    }

    /// The ring at join (SPEC §8.2): from `rings` as in §3.3 (σ_eff > privileged with consensus →
    /// 1, σ_eff > standard → 2, else 3; strict comparisons), forced to 3 below `min_trust` or on
    /// probation, and never more privileged than `min(parent's ring + 1, 3)`.
    public static func ringAtJoin(trustEff: Double, consensus: Bool, standing: Standing, minTrust: Double, parentRing: Int?,
                                  rings: RuntimeSettings.Rings) -> Int {
        var ring = trustEff > rings.privileged && consensus ? 1 : trustEff > rings.standard ? 2 : 3
        if trustEff < minTrust || standing == .probation { ring = 3 }
        if let parentRing { ring = max(ring, min(parentRing + 1, 3)) }
        return ring
    }

    /// `session.activate`: `handshaking` → `active`; needs a participant. Returns the session.
    public func activate(session sid: String) throws(RuntimeError) -> SessionView {
        try Self.checkID(sid, "session")
        return try perform { now throws(RuntimeError) in
            guard var session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            let next = try SessionMachine.next(.activate, from: session.phase)
            guard session.activeCount > 0 else { throw RuntimeError(.sessionEmpty, RuntimeMessages.sessionEmpty(sid)) }
            session.phase = next
            let entry = record(.sessionActivated, session: sid, agent: nil, at: now) { () throws(AuditError) in
                SessionEntryData.activated(session: sid)
            }
            try commit(entry, rows: [session.row()])
            let view = session.view(at: now)
            keep(session)
            return view
        }
    }

    /// `session.terminate`: ends the session and archives it; returns it with `audit_root`.
    public func terminate(session sid: String) throws(RuntimeError) -> SessionView {
        try Self.checkID(sid, "session")
        return try perform { now throws(RuntimeError) in
            guard sessions[sid] != nil else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            return try terminateSession(sid, at: now, by: SessionEvent.terminate.rawValue)
        }
    }

    /// `session.get`: the session as it stands now.
    public func session(_ sid: String) throws(RuntimeError) -> SessionView {
        try Self.checkID(sid, "session")
        return try perform { now throws(RuntimeError) in
            guard let session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            return session.view(at: now)
        }
    }

    /// Terminates the sessions whose expiry is at or before `now`, each at its expiry time.
    func expireSessions(upTo now: Int64) throws(RuntimeError) {
        while let first = expiries.first, first.at <= now {
            _ = expiries.pop()
            guard let session = sessions[first.id]?.data, session.expiresAt == first.at,
                  session.phase == .handshaking || session.phase == .active else { continue }
            _ = try terminateSession(first.id, at: first.at, by: "expiry")
        }
    }

    /// Terminates a live session at `time` (SPEC §8.1): waits until its entries so far are
    /// committed, computes its audit root over them, ends its elevations, lets the ledger
    /// release its vouches and count clean sessions, writes `session.terminated` and archives it.
    func terminateSession(_ sid: String, at time: Int64, by cause: String) throws(RuntimeError) -> SessionView {
        guard var session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
        session.phase = try SessionMachine.next(.terminate, from: session.phase)
        // The root covers every entry of the session so far: they were all queued under this
        // lock, so once the log has committed what is queued, the store holds all of them.
        let hashes: [AuditHash]
        do {
            try log.flush()
            hashes = try store.auditEntryHashes(session: sid)
        } catch {
            failure = "the audit log cannot be read back: \(error)"
            throw RuntimeError(.auditFailed, failure ?? "")
        }
        var frontier = MerkleFrontier()
        for hash in hashes { frontier.append(MerkleHash.leaf(entryHash: hash)) }
        for i in session.elevations.indices where session.elevations[i].phase(at: time) == .active {
            if ElevationMachine.next(.terminate, from: .active) != nil { session.elevations[i].ended = (time, .terminate) }
        }
        let clean = session.order.filter { session.participants[$0].map { $0.violations == 0 && $0.kill == nil } ?? false }
        let change = ledger.sessionEnded(sid, clean: clean, at: time)
        session.phase = try SessionMachine.next(.archive, from: session.phase)
        session.terminatedAt = time
        session.terminatedBy = cause
        session.auditRoot = frontier.root
        let root = frontier.root, entries = hashes.count, participants = session.order
        let entry = record(.sessionTerminated, session: sid, agent: nil, at: time) { () throws(AuditError) in
            SessionEntryData.terminated(session: sid, cause: cause, auditRoot: root, entries: entries, participants: participants,
                                        clean: clean)
        }
        try commit(entry, row: session.row(), then: change)
        let view = session.view(at: time)
        keep(session)
        return view
    }
}
