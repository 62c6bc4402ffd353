import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

// Elevation and the kill switch (SPEC §8.6), breaker resets (§8.5), and the host's own audit
// entries and checkpoints (§9).

/// The result of `elevate`.
public struct ElevationGrant: Sendable, Hashable {
    /// The elevation's id.
    public var elevation: String
    /// The granted ring.
    public var ring: Int
    /// When it expires (µs): from this instant on the agent's ring at join applies again.
    public var expiresAt: Int64

    /// `{elevation, ring, expires_at}`.
    public var value: Value {
        .object(["elevation": .string(elevation), "ring": .number(Double(ring)), "expires_at": .string(RuntimeTime.text(expiresAt))])
    }
}

/// The result of `kill`.
public struct KillResult: Sendable, Hashable {
    /// The kill's id.
    public var kill: String
    /// What happened to the agent's in-flight saga steps.
    public var handoffs: [Handoff]

    /// `{kill, handoffs, terminated: true}`.
    public var value: Value {
        .object(["kill": .string(kill), "handoffs": .list(handoffs.map(\.value)), "terminated": .bool(true)])
    }
}

extension Runtime {
    /// `elevate`: a temporary ring for `agent`. Refusals, in order: `invalid_target`,
    /// `ring_0_forbidden`, `duplicate_elevation`, `insufficient_trust`, `no_sponsorship`.
    /// The TTL (milliseconds) is `ttl` when positive, else `default_ttl`, capped at `max_ttl`.
    public func elevate(session sid: String, agent: String, ring target: Int, ttl: Int64? = nil, attestation: String? = nil,
                        reason: String? = nil, id: String? = nil) throws(RuntimeError) -> ElevationGrant {
        try Self.checkID(sid, "session")
        try Self.checkID(agent, "agent")
        guard (0...3).contains(target) else { throw RuntimeError(.invalidField, "field `ring` must be a whole number from 0 to 3") }
        return try perform { now throws(RuntimeError) in
            guard var session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            _ = try SessionMachine.next(.elevate, from: session.phase)
            guard let participant = session.participants[agent] else {
                throw RuntimeError(.notAParticipant, RuntimeMessages.notAParticipant("agent", agent, sid))
            }
            guard participant.kill == nil else { throw RuntimeError(.agentKilled, RuntimeMessages.agentKilled(agent, sid)) }
            if let until = ledger.quarantinedUntil(agent, at: now), until > now {
                throw RuntimeError(.quarantined, RuntimeMessages.quarantined(agent, until: until))
            }
            guard target < participant.ring else {
                throw RuntimeError(.invalidTarget, RuntimeMessages.invalidTarget(target, current: participant.ring))
            }
            guard target != 0 else { throw RuntimeError(.ring0Forbidden, RuntimeMessages.ring0Forbidden) }
            if let index = participant.elevation, session.elevations[index].phase(at: now) == .active {
                let active = session.elevations[index]
                throw RuntimeError(.duplicateElevation, RuntimeMessages.duplicateElevation(agent, sid, active.id, until: active.expiresAt))
            }
            let trust = ledger.effectiveTrust(of: agent, trust: participant.trust, at: now) ?? participant.trustEff
            let threshold = target == 1 ? settings.elevation.ring1 : settings.elevation.ring2
            guard trust >= threshold else {
                throw RuntimeError(.insufficientTrust, RuntimeMessages.insufficientTrust(trust, ring: target, threshold: threshold))
            }
            guard target != 1 || !(attestation ?? "").isEmpty else { throw RuntimeError(.noSponsorship, RuntimeMessages.noSponsorship) }
            let eid = try newID(id, kind: "elevation") { elevationSessions[$0] != nil }
            let lifetime = Self.elevationTTL(ttl, settings.elevation)
            let grant = ElevationGrant(elevation: eid, ring: target, expiresAt: now + lifetime * 1_000)
            session.elevations.append(ElevationRecord(id: eid, agent: agent, ring: target, fromRing: participant.ring, grantedAt: now,
                                                      expiresAt: grant.expiresAt, attestation: attestation, reason: reason))
            session.participants[agent]?.elevation = session.elevations.count - 1
            var data: [String: Value] = [
                "elevation": .string(eid), "session": .string(sid), "agent": .string(agent), "ring": .number(Double(target)),
                "from_ring": .number(Double(participant.ring)), "ttl": .number(Double(lifetime) / 1_000),
                "expires_at": .string(RuntimeTime.text(grant.expiresAt)),
            ]
            if let attestation { data["attestation"] = .string(attestation) }
            if let reason { data["reason"] = .string(reason) }
            try commit([record(.elevationGranted, session: sid, agent: agent, at: now, data)], rows: [session.row()])
            keep(session)
            elevationSessions[eid] = sid
            return grant
        }
    }

    /// An elevation's lifetime in milliseconds: `ttl` when positive, else `default_ttl`; at most `max_ttl`.
    public static func elevationTTL(_ ttl: Int64?, _ settings: RuntimeSettings.Elevation) -> Int64 {
        let asked = ttl.flatMap { $0 > 0 ? $0 : nil } ?? settings.defaultTTL
        return min(asked, settings.maxTTL)
    }

    /// `elevation.revoke`: ends an active elevation now; the agent's ring at join applies at once.
    public func revokeElevation(_ eid: String) throws(RuntimeError) {
        try Self.checkID(eid, "elevation")
        try perform { now throws(RuntimeError) in
            guard let sid = elevationSessions[eid], var session = sessions[sid]?.data,
                  let index = session.elevations.firstIndex(where: { $0.id == eid }) else {
                throw RuntimeError(.elevationNotFound, RuntimeMessages.elevationNotFound(eid))
            }
            let phase = session.elevations[index].phase(at: now)
            guard ElevationMachine.next(.revoke, from: phase) != nil else {
                throw RuntimeError(.elevationEnded, RuntimeMessages.elevationEnded(eid, phase))
            }
            session.elevations[index].ended = (now, .revoke)
            let elevation = session.elevations[index]
            try commit([record(.elevationRevoked, session: sid, agent: elevation.agent, at: now, [
                "elevation": .string(eid), "session": .string(sid), "agent": .string(elevation.agent), "ring": .number(Double(elevation.ring)),
            ])], rows: [session.row()])
            keep(session)
        }
    }

    /// `kill`: the agent leaves the session; its in-flight saga steps go to `substitute` (a
    /// participant) or fail; its later decisions there are `killed`.
    public func kill(session sid: String, agent: String, reason: String, substitute: String? = nil,
                     id: String? = nil) throws(RuntimeError) -> KillResult {
        try Self.checkID(sid, "session")
        try Self.checkID(agent, "agent")
        if let substitute { try Self.checkID(substitute, "substitute") }
        guard Self.killReasons.contains(reason) else { throw RuntimeError(.invalidField, RuntimeMessages.unknownKillReason(reason)) }
        return try perform { now throws(RuntimeError) in
            guard var session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            _ = try SessionMachine.next(.kill, from: session.phase)
            guard let participant = session.participants[agent] else {
                throw RuntimeError(.notAParticipant, RuntimeMessages.notAParticipant("agent", agent, sid))
            }
            guard participant.kill == nil else { throw RuntimeError(.agentKilled, RuntimeMessages.agentKilled(agent, sid)) }
            if let substitute {
                guard substitute != agent else { throw RuntimeError(.invalidField, RuntimeMessages.selfSubstitute) }
                guard let other = session.participants[substitute], other.kill == nil else {
                    throw RuntimeError(.notAParticipant, RuntimeMessages.notAParticipant("substitute", substitute, sid))
                }
            }
            let kid = try newID(id, kind: "kill") { killIDs.contains($0) }
            let (kill, change) = applyKill(&session, agent: agent, reason: reason, substitute: substitute, id: kid, at: now)
            try commit([record(.kill, session: sid, agent: agent, at: now, killData(kill, session: sid))], rows: [session.row()],
                       changes: [change])
            keep(session)
            killIDs.insert(kid)
            participant.window.clear()
            return KillResult(kill: kid, handoffs: kill.handoffs)
        }
    }

    /// Kills `agent` in `session` (the caller has checked it may): hands off its saga steps,
    /// ends its elevation and breaker, marks it killed. Changes `session` only.
    func applyKill(_ session: inout SessionData, agent: String, reason: String, substitute: String?, id: String,
                   at now: Int64) -> (KillRecord, ChangeSet) {
        let (handoffs, change) = sagas.agentKilled(agent, session: session.id, substitute: substitute, at: now)
        let kill = KillRecord(id: id, agent: agent, reason: reason, substitute: substitute, at: now, handoffs: handoffs)
        if let index = session.participants[agent]?.elevation, session.elevations[index].phase(at: now) == .active,
           ElevationMachine.next(.kill, from: .active) != nil {
            session.elevations[index].ended = (now, .kill)
        }
        session.participants[agent]?.kill = id
        session.participants[agent]?.breakerUntil = nil
        session.participants[agent]?.violations += 1
        session.kills.append(kill)
        return (kill, change)
    }

    /// The data of a `kill` entry.
    func killData(_ kill: KillRecord, session: String) -> [String: Value] {
        guard case .object(var members) = SessionData.killView(kill) else { return [:] }
        members["session"] = .string(session)
        return members
    }

    /// `breaker.reset`: closes the agent's breaker and clears its breach window.
    public func resetBreaker(session sid: String, agent: String) throws(RuntimeError) {
        try Self.checkID(sid, "session")
        try Self.checkID(agent, "agent")
        try perform { now throws(RuntimeError) in
            guard var session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            _ = try SessionMachine.next(.breakerReset, from: session.phase)
            guard let participant = session.participants[agent] else {
                throw RuntimeError(.notAParticipant, RuntimeMessages.notAParticipant("agent", agent, sid))
            }
            guard participant.kill == nil else { throw RuntimeError(.agentKilled, RuntimeMessages.agentKilled(agent, sid)) }
            let wasOpen = participant.breakerUntil.map { $0 > now } ?? false
            session.participants[agent]?.breakerUntil = nil
            try commit([record(.breakerReset, session: sid, agent: agent, at: now, [
                "session": .string(sid), "agent": .string(agent), "was_open": .bool(wasOpen),
            ])], rows: [session.row()])
            keep(session)
            participant.window.clear()
        }
    }

    /// `audit.append`: a host's own entry (`delta`, …), in `session` when given (which must be
    /// handshaking or active). Returns its receipt once it is committed.
    public func append(kind: String, session sid: String? = nil, agent: String? = nil, data: Value) throws(RuntimeError) -> AuditReceipt {
        guard Self.isHostKind(kind) else {
            throw RuntimeError(.invalidField, "field `kind` must be 1–64 bytes of lowercase letters, digits, `.`, `_` or `-`, starting with a letter")
        }
        guard !EntryKind.isReserved(kind) else { throw RuntimeError(.reservedKind, RuntimeMessages.reservedKind(kind)) }
        if let sid { try Self.checkID(sid, "session") }
        if let agent { try Self.checkID(agent, "agent") }
        // The data is written in canonical form here, before the runtime's lock is taken; the
        // entry gets its time under the lock.
        var written: AuditRecord? = AuditRecord(kind: kind, session: sid, agent: agent, time: .earliest, value: data)
        if let problem = written?.encodingFailure { throw RuntimeError(.invalidField, "field `data` cannot be written: \(problem.message)") }
        let ticket = try perform { now throws(RuntimeError) -> AuditLog.Ticket in
            if let sid {
                guard let phase = sessions[sid]?.data.phase else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
                _ = try SessionMachine.next(.append, from: phase)
            }
            // Moved, not copied, into the log's queue.
            var entry = written.take()!
            entry.time = RuntimeTime.auditTime(now)
            let ticket = try commit(entry, rows: [], receipts: true)
            // Waited for below, with its receipt (which a wait hands out once).
            pendingTicket = nil
            return ticket
        }
        guard let receipt = try waitForReceipt(ticket) else {
            throw RuntimeError(.auditFailed, "the audit log returned no receipt for the entry")
        }
        return receipt
    }

    /// True for a kind a host may write: 1–64 bytes of `a–z 0–9 . _ -`, starting with a letter.
    static func isHostKind(_ kind: String) -> Bool {
        let bytes = kind.utf8
        guard let first = bytes.first, bytes.count <= 64, (first &- UInt8(ascii: "a")) < 26 else { return false }
        return bytes.allSatisfy { ($0 &- UInt8(ascii: "a")) < 26 || ($0 &- UInt8(ascii: "0")) < 10 || $0 == UInt8(ascii: ".")
            || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// `audit.checkpoint`: a checkpoint of the whole log now, signed when the runtime has a key.
    public func checkpoint() throws(RuntimeError) -> StoredCheckpoint {
        try perform { _ throws(RuntimeError) in }
        do {
            return try log.checkpoint()
        } catch {
            throw RuntimeError(.auditFailed, error.message)
        }
    }
}
