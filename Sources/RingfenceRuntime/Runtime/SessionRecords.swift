import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

// What the runtime keeps of a session (SPEC §8): its settings, participants, elevations and
// kills. One session is one state row (`sessions/<id>`, canonical JSON, times in the audit
// log's text form so they stay exact), rewritten by every operation that changes it and
// committed with that operation's audit entries. Breach windows and ring buckets stay in memory
// (losing them only restarts detection and refills buckets, SPEC §12).

/// A session's settings: the `sessions` keys of SPEC §7, with `session.create`'s overrides.
public struct SessionConfig: Sendable, Hashable {
    /// The most participants.
    public var maxParticipants: Int
    /// The session's lifetime, in milliseconds.
    public var ttl: Int64
    /// Below this σ_eff an agent joins at ring 3.
    public var minTrust: Double

    /// The runtime file's `sessions` settings.
    public init(_ settings: RuntimeSettings.Sessions) {
        maxParticipants = settings.maxParticipants
        ttl = settings.ttl
        minTrust = settings.minTrust
    }

    /// `{max_participants, min_trust, ttl}` with `ttl` in seconds.
    public var value: Value {
        .object(["max_participants": .number(Double(maxParticipants)), "ttl": .number(Double(ttl) / 1_000),
                 "min_trust": .number(minTrust)])
    }
}

/// An agent's standing in the ledger (SPEC §11.5).
public enum Standing: String, Sendable, Hashable, CaseIterable {
    /// Joins normally.
    case admit
    /// Joins at ring 3.
    case probation
    /// Refused at join.
    case deny
}

/// One agent in one session.
struct Participant: Sendable {
    /// The agent's id.
    var agent: String
    /// σ: the trust it joined with (the ledger's, when smaller).
    var trust: Double
    /// σ_eff at join.
    var trustEff: Double
    /// Whether a consensus stands behind it.
    var consensus: Bool
    /// Its ring at join (SPEC §8.2).
    var ring: Int
    /// Its standing at join.
    var standing: Standing
    /// The participant it joined under, if any.
    var parent: String?
    /// When it joined (µs).
    var joinedAt: Int64
    /// The id of its kill, once killed.
    var kill: String?
    /// While its breaker is open: until when (µs).
    var breakerUntil: Int64?
    /// Breach verdicts and kills against it in this session (none: a clean session, SPEC §11.5).
    var violations: Int = 0
    /// The index of its latest elevation in the session's list.
    var elevation: Int?
    /// The ring-bucket key: the session id, a zero byte, the agent id (SPEC §8.4).
    let bucketKey: [UInt8]
    /// Its breach window (memory only).
    var window: BreachWindow

    /// A participant of `session`.
    init(session: String, agent: String, trust: Double, trustEff: Double, consensus: Bool, ring: Int, standing: Standing,
         parent: String?, joinedAt: Int64, window: Int64) {
        self.agent = agent
        self.trust = trust
        self.trustEff = trustEff
        self.consensus = consensus
        self.ring = ring
        self.standing = standing
        self.parent = parent
        self.joinedAt = joinedAt
        bucketKey = Array(session.utf8) + [0] + Array(agent.utf8)
        self.window = BreachWindow(length: window)
    }
}

/// A temporary ring (SPEC §8.6).
struct ElevationRecord: Sendable {
    /// Its id.
    var id: String
    /// The elevated agent.
    var agent: String
    /// The granted ring.
    var ring: Int
    /// The agent's ring at join.
    var fromRing: Int
    /// When granted (µs).
    var grantedAt: Int64
    /// When it expires (µs): from this instant on it is no longer active.
    var expiresAt: Int64
    /// The attestation given (needed for ring 1).
    var attestation: String?
    /// The reason given.
    var reason: String?
    /// When and how it ended early.
    var ended: (at: Int64, by: ElevationEvent)?

    /// Its state at `now`.
    func phase(at now: Int64) -> ElevationPhase {
        if ended != nil { return .revoked }
        return now >= expiresAt ? .expired : .active
    }
}

/// A kill (SPEC §8.6).
struct KillRecord: Sendable {
    /// Its id.
    var id: String
    /// The killed agent.
    var agent: String
    /// One of `Runtime.killReasons`.
    var reason: String
    /// The participant in-flight steps went to.
    var substitute: String?
    /// When (µs).
    var at: Int64
    /// The steps handed off or compensated.
    var handoffs: [Handoff]
}

/// Everything the runtime keeps of one session.
struct SessionData: Sendable {
    /// Its id.
    var id: String
    /// Its state.
    var phase: SessionPhase
    /// Its settings.
    var config: SessionConfig
    /// When created (µs).
    var createdAt: Int64
    /// When it expires (µs): from this instant on the runtime terminates it.
    var expiresAt: Int64
    /// Participants by agent id.
    var participants: [String: Participant] = [:]
    /// Agent ids in join order.
    var order: [String] = []
    /// Elevations in grant order.
    var elevations: [ElevationRecord] = []
    /// Kills in order.
    var kills: [KillRecord] = []
    /// When terminated (µs), once archived.
    var terminatedAt: Int64?
    /// `session.terminate` or `expiry`.
    var terminatedBy: String?
    /// The RFC 9162 root over the session's entries before `session.terminated`.
    var auditRoot: AuditHash?

    /// The participants that have not been killed.
    var activeCount: Int { participants.values.reduce(0) { $0 + ($1.kill == nil ? 1 : 0) } }

    /// The agent's effective ring at `now`: its active elevation's ring, else its ring at join.
    func effectiveRing(_ participant: Participant, at now: Int64) -> Int {
        if let index = participant.elevation, elevations[index].phase(at: now) == .active { return elevations[index].ring }
        return participant.ring
    }

    /// The session as `session.get` shows it at `now`: the session and its participants'
    /// breach windows as they are now (the windows change with every decision), made into JSON
    /// when the view is read.
    func view(at now: Int64) -> SessionView {
        var breaches: [SessionView.Breach] = []
        breaches.reserveCapacity(order.count)
        for agent in order {
            guard let p = participants[agent] else { continue }
            let window = p.window.totals(at: now)
            // The severity last reported, until the breaker it tripped closes (the detector re-arms).
            let rearmed = p.window.rearmAt.map { now >= $0 } ?? false
            breaches.append(SessionView.Breach(calls: window.calls, aimed: window.aimed, severity: rearmed ? .none : p.window.reported))
        }
        return SessionView(session: self, breaches: breaches, at: now)
    }

    /// The view's JSON: `breaches` holds each participant's window, in join order.
    fileprivate func viewValue(breaches: [SessionView.Breach], at now: Int64) -> Value {
        var participantValues: [Value] = []
        participantValues.reserveCapacity(order.count)
        var next = breaches.makeIterator()
        for agent in order {
            guard let p = participants[agent], let breach = next.next() else { continue }
            participantValues.append(participantView(p, breach, at: now))
        }
        var members: [String: Value] = [
            "session": .string(id), "state": .string(phase.rawValue),
            "created_at": .string(RuntimeTime.text(createdAt)), "expires_at": .string(RuntimeTime.text(expiresAt)),
            "config": config.value,
            "participants": .list(participantValues),
            "elevations": .list(elevations.map { elevationView($0, at: now) }),
            "kills": .list(kills.map(Self.killView)),
        ]
        if let terminatedAt { members["terminated_at"] = .string(RuntimeTime.text(terminatedAt)) }
        if let terminatedBy { members["terminated_by"] = .string(terminatedBy) }
        if let auditRoot { members["audit_root"] = .string(auditRoot.hex) }
        return .object(members)
    }

    /// One participant as `session.get` shows it.
    private func participantView(_ p: Participant, _ window: SessionView.Breach, at now: Int64) -> Value {
        let open = p.breakerUntil.flatMap { $0 > now ? $0 : nil }
        let elevation = p.elevation.flatMap { elevations[$0].phase(at: now) == .active ? elevations[$0].id : nil }
        let breach: Value = .object(["calls": .number(Double(window.calls)), "aimed_above": .number(Double(window.aimed)),
                                     "severity": .string(window.severity.name)])
        return .object([
            "breach": p.kill == nil ? breach : .null,
            "agent": .string(p.agent), "trust": .number(p.trust), "trust_eff": .number(p.trustEff),
            "consensus": .bool(p.consensus), "ring": .number(Double(p.ring)),
            "effective_ring": .number(Double(effectiveRing(p, at: now))), "standing": .string(p.standing.rawValue),
            "parent": p.parent.map(Value.string) ?? .null, "joined_at": .string(RuntimeTime.text(p.joinedAt)),
            "state": .string(p.kill == nil ? "active" : "killed"),
            "breaker_until": open.map { .string(RuntimeTime.text($0)) } ?? .null,
            "elevation": elevation.map(Value.string) ?? .null,
        ])
    }

    /// One elevation as `session.get` shows it.
    private func elevationView(_ e: ElevationRecord, at now: Int64) -> Value {
        var members: [String: Value] = [
            "elevation": .string(e.id), "agent": .string(e.agent), "ring": .number(Double(e.ring)),
            "from_ring": .number(Double(e.fromRing)), "granted_at": .string(RuntimeTime.text(e.grantedAt)),
            "expires_at": .string(RuntimeTime.text(e.expiresAt)), "state": .string(e.phase(at: now).rawValue),
        ]
        if let attestation = e.attestation { members["attestation"] = .string(attestation) }
        if let reason = e.reason { members["reason"] = .string(reason) }
        if let ended = e.ended {
            members["ended_at"] = .string(RuntimeTime.text(ended.at))
            members["ended_by"] = .string(ended.by.rawValue)
        }
        return .object(members)
    }

    /// One kill as `session.get` and the `kill` entry show it.
    static func killView(_ k: KillRecord) -> Value {
        .object(["kill": .string(k.id), "agent": .string(k.agent), "reason": .string(k.reason),
                 "substitute": k.substitute.map(Value.string) ?? .null, "at": .string(RuntimeTime.text(k.at)),
                 "handoffs": .list(k.handoffs.map(\.value))])
    }
}

/// A session as `session.get` shows it (SPEC §13), as it was when the operation that returned
/// it ran: `value` is its JSON, made when read — a caller that does not read it does not pay
/// for it, as with `JoinResult`.
public struct SessionView: Sendable {
    /// A participant's breach window when the view was taken.
    struct Breach: Sendable {
        let calls: Int
        let aimed: Int
        let severity: BreachSeverity
    }

    /// The session.
    let session: SessionData
    /// Each participant's window, in join order.
    let breaches: [Breach]
    /// When the view was taken (µs).
    let at: Int64

    /// The session's id.
    public var id: String { session.id }

    /// The session's state.
    public var state: String { session.phase.rawValue }

    /// The view as `session.get` returns it.
    public var value: Value { session.viewValue(breaches: breaches, at: at) }
}
