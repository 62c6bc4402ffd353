import RingfenceWire
import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

// Deciding in a session (SPEC §8.3): the runtime supplies the agent's trust (σ_eff), ring
// (elevation included) and consensus, then checks in the table's order —
//
//   1 killed in this session        `killed`
//   2 quarantined (the ledger)      `quarantine`
//   3 breaker open                  `breaker`
//   4 the VM, per-rule limits       as Part I
//   5 an allow takes a ring token   `rate_limit` (with `retry_after`)
//
// — then the breach detector records calls decided by steps 4–5, and every decision is
// audited (`decision`: the request as decided and the decision). Outside a session only steps
// 2, 4 and 5 run, with the request's own trust and ring.

/// A decision made by the runtime: the decision, and for `rate_limit` how long to wait.
public struct RuntimeDecision: Sendable, Hashable {
    /// The decision.
    public var decision: Decision
    /// For `rate_limit`: seconds until a token is available (whole microseconds, rounded up).
    public var retryAfter: Double?

    /// A decision.
    public init(_ decision: Decision, retryAfter: Double? = nil) {
        self.decision = decision
        self.retryAfter = retryAfter
    }

    /// The decision's JSON line (SPEC §1 order, then `retry_after`).
    public var jsonLine: String { decision.jsonLine(retryAfter: retryAfter) }

    /// Appends `jsonLine` to `out`.
    public func appendJSONLine(to out: inout String) { decision.appendJSONLine(retryAfter: retryAfter, to: &out) }

    /// The decision as a JSON value.
    public var value: Value {
        // Sized once for every member, so building it allocates one table.
        var members = [String: Value](minimumCapacity: retryAfter == nil ? 6 : 7)
        members["decision"] = .string(decision.decision)
        members["code"] = .string(decision.code.rawValue)
        members["policy"] = decision.policy.map(Value.string) ?? .null
        members["rule"] = decision.rule.map(Value.string) ?? .null
        members["reason"] = .string(decision.reason)
        members["ring"] = .number(Double(decision.ring))
        if let retryAfter { members["retry_after"] = .number(retryAfter) }
        return .object(members)
    }

    /// Nanoseconds to seconds, rounded up to whole microseconds.
    static func seconds(_ nanoseconds: Int64) -> Double {
        let micros = nanoseconds / 1_000 + (nanoseconds % 1_000 > 0 ? 1 : 0)
        return Double(micros) / 1e6
    }
}

extension Runtime {
    /// `decide`: decides `request` in `session` (SPEC §8.3), or outside any session when nil.
    public func decide(_ request: Request, session sid: String? = nil) throws(RuntimeError) -> RuntimeDecision {
        try DecisionData.checkRecordable(request)
        guard let sid else { return try decideOutside(request) }
        // Each path gets its own closure rather than `perform`'s one: a closure value handed on
        // to either path was built with a copy of the request (`performOwned`).
        if tenure != nil { return try performShared { now throws(RuntimeError) in try decideInSession(request, session: sid, at: now) } }
        return try performOwned { now throws(RuntimeError) in try decideInSession(request, session: sid, at: now) }
    }

    /// Decides `request` in session `sid` inside an operation; `then` gives the changes that
    /// commit with the decision's own entry (a saga step's transition), in one transaction —
    /// nil (the default) for none, so a plain decision queues its entry alone.
    func decideInSession(_ request: Request, session sid: String, at now: Int64,
                         then: (RuntimeDecision) -> ChangeSet? = { _ in nil }) throws(RuntimeError) -> RuntimeDecision {
        do {
            // The session is read in place (its box), not copied; the id's shape is checked only
            // once the lookup failed, so deciding costs one lookup.
            guard let box = sessions[sid] else {
                try Self.checkID(sid, "session")
                throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid))
            }
            if box.data.phase != .active { _ = try SessionMachine.next(.decide, from: box.data.phase) }
            let agent = request.agent.id
            guard let slot = box.data.participants.index(forKey: agent) else {
                throw RuntimeError(.notAParticipant, RuntimeMessages.notAParticipant("agent", agent, sid))
            }
            // What deciding needs of the participant, read where the session keeps it.
            let (joinedRing, elevation, trust, trustEff, consensus, kill, breakerUntil, window) = box.readParticipant(slot) { p in
                (p.ring, p.elevation, p.trust, p.trustEff, p.consensus, p.kill, p.breakerUntil, p.window)
            }
            var ring = joinedRing
            if let index = elevation, box.data.elevations[index].phase(at: now) == .active { ring = box.data.elevations[index].ring }
            let supplied = SuppliedAgent(trust: ledger.effectiveTrust(of: agent, trust: trust, at: now) ?? trustEff, ring: ring,
                                         consensus: consensus)
            // Steps 1–3: decided before the rules.
            if let kill {
                let reason = box.data.kills.first { $0.id == kill }?.reason ?? "manual"
                let outcome = RuntimeDecision(Decision(allowed: false, code: .killed, policy: nil, rule: nil,
                                                       reason: RuntimeMessages.killedReason(agent, sid, reason), ring: ring))
                try commitDecision(decisionRecord(request, supplied, outcome, session: sid, at: now), with: then(outcome))
                return outcome
            }
            if let until = ledger.quarantinedUntil(agent, at: now), until > now {
                let outcome = RuntimeDecision(Decision(allowed: false, code: .quarantine, policy: nil, rule: nil,
                                                       reason: RuntimeMessages.quarantineReason(agent, until: until), ring: ring))
                try commitDecision(decisionRecord(request, supplied, outcome, session: sid, at: now), with: then(outcome))
                return outcome
            }
            if let until = breakerUntil, until > now {
                let outcome = RuntimeDecision(Decision(allowed: false, code: .breaker, policy: nil, rule: nil,
                                                       reason: RuntimeMessages.breakerReason(agent, until: until), ring: ring))
                try commitDecision(decisionRecord(request, supplied, outcome, session: sid, at: now), with: then(outcome))
                return outcome
            }
            // Steps 4–5, on the request with the runtime's agent fields (applied while preparing,
            // and by the audit entry on the writer thread, so the request is never copied here).
            // Laid out in the runtime's own storage, in place (under the lock), so a decision in
            // a session allocates nothing for it once that storage has grown.
            // The storage is taken out of the runtime for the decision and put back after: read
            // in place from the runtime, it was copied (every array in it retained and released)
            // to be lent to the machine.
            var prepared = PreparedRequest()
            swap(&prepared, &preparedStorage)
            prepared.refill(request, for: machine, supplying: (supplied.trust, ring, supplied.consensus))
            let outcome = box.readParticipant(slot) { p in
                p.bucketKey.withUnsafeBufferPointer { key in decideWithRules(prepared, ring: ring, bucketKey: key, now: now) }
            }
            swap(&prepared, &preparedStorage)
            try recordCall(request, supplied, outcome, session: box, window: window, at: now, then: then(outcome))
            return outcome
        }
    }

    /// A decision outside any session: quarantine, the rules, the ring bucket of (no session, agent).
    private func decideOutside(_ request: Request) throws(RuntimeError) -> RuntimeDecision {
        // Laid out for the machine before the lock is taken: it reads only the request and the
        // (immutable) machine, so callers on other threads prepare theirs meanwhile.
        let prepared = PreparedRequest(request, for: machine)
        return try perform { now throws(RuntimeError) in
            let agent = request.agent.id
            let outcome: RuntimeDecision
            if let until = ledger.quarantinedUntil(agent, at: now), until > now {
                outcome = RuntimeDecision(Decision(allowed: false, code: .quarantine, policy: nil, rule: nil,
                                                   reason: RuntimeMessages.quarantineReason(agent, until: until), ring: prepared.ring))
            } else {
                // The bucket key — a zero byte (no session), then the agent id — on the stack.
                let id = agent.utf8
                outcome = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: id.count + 1) { key in
                    key[0] = 0
                    _ = UnsafeMutableBufferPointer(rebasing: key[1...]).initialize(fromContentsOf: id)
                    return decideWithRules(prepared, ring: prepared.ring, bucketKey: UnsafeBufferPointer(key), now: now)
                }
            }
            try commit(decisionRecord(request, nil, outcome, session: nil, at: now))
            return outcome
        }
    }

    /// Steps 4 and 5: the VM with per-rule limits on the runtime's limiter, then a token from
    /// the ring bucket keyed `bucketKey` for an allow.
    func decideWithRules(_ prepared: borrowing PreparedRequest, ring: Int, bucketKey: UnsafeBufferPointer<UInt8>, now: Int64) -> RuntimeDecision {
        let nanoseconds = Self.nanoseconds(now)
        var refusal: Int64 = 0
        let decision = withUnsafeMutablePointer(to: &refusal) { pointer in
            machine.decide(prepared, gate: SessionLimitGate(limiter, now: nanoseconds, refusal: pointer))
        }
        if decision.code == .rateLimit { return RuntimeDecision(decision, retryAfter: RuntimeDecision.seconds(refusal)) }
        guard decision.allowed else { return RuntimeDecision(decision) }
        let bucketRing = min(max(ring, 0), 3)
        let admission = limiter.take(namespace: Self.ringNamespace, agent: bucketKey, bucket: ringBuckets[bucketRing], now: nanoseconds)
        guard !admission.admitted else { return RuntimeDecision(decision) }
        let limited = Decision(allowed: false, code: .rateLimit, policy: decision.policy, rule: decision.rule,
                               reason: RuntimeMessages.ringBucketReason(ring: bucketRing, settings.limits[ring: bucketRing]), ring: ring)
        return RuntimeDecision(limited, retryAfter: RuntimeDecision.seconds(admission.retryAfterNanoseconds))
    }

    /// Audits a call decided by the rules and lets the breach detector record it: a rise in
    /// severity writes a `breach` entry, `high` and above open the breaker for `cooldown`, and
    /// `critical` with `on_critical: kill` kills the agent and quarantines it (SPEC §8.5).
    private func recordCall(_ request: Request, _ supplied: SuppliedAgent, _ outcome: RuntimeDecision, session box: SessionBox,
                            window: BreachWindow, at now: Int64, then: consuming ChangeSet?) throws(RuntimeError) {
        if let rearm = window.rearmAt, now >= rearm {
            window.reported = .none
            window.rearmAt = nil
        }
        let aimedAbove = outcome.decision.code == .ring
        let totals = window.preview(at: now, aimedAbove: aimedAbove)
        let severity = BreachSeverity.of(aimed: totals.aimed, calls: totals.calls, settings: settings.breach)
        let sid = box.data.id
        guard aimedAbove, severity > window.reported else {
            // The entry is moved into the log's queue, never copied.
            try commitDecision(decisionRecord(request, supplied, outcome, session: sid, at: now), with: then)
            window.record(at: now, aimedAbove: aimedAbove)
            if severity < window.reported { window.reported = severity }
            return
        }
        // A verdict (on the request's agent: participants are keyed by their id).
        let agent = request.agent.id
        var updated = box.data
        updated.participants[agent]?.violations += 1
        var until: Int64?
        if severity >= .high {
            until = now + settings.breach.cooldown * 1_000
            updated.participants[agent]?.breakerUntil = until
        }
        var records = [decisionRecord(request, supplied, outcome, session: sid, at: now), record(.breach, session: sid, agent: agent, at: now, [
            "session": .string(sid), "agent": .string(agent), "severity": .string(severity.name),
            "calls": .number(Double(totals.calls)), "aimed_above": .number(Double(totals.aimed)),
            "share": .number(Double(totals.aimed) / Double(totals.calls)),
            "breaker_until": until.map { .string(RuntimeTime.text($0)) } ?? .null,
        ])]
        var changes: [ChangeSet] = []
        if severity == .critical, settings.breach.onCritical == .kill {
            let killID = try newID(nil, kind: "kill") { killIDs.contains($0) }
            let (kill, change) = applyKill(&updated, agent: agent, reason: "ring_breach", substitute: nil, id: killID, at: now)
            records.append(record(.kill, session: sid, agent: agent, at: now, killData(kill, session: sid)))
            changes = [change, ledger.quarantine(agent: agent, reason: "ring_breach", at: now)]
            killIDs.insert(killID)
        }
        try commitDecision(records, rows: [updated.row()], changes: changes, with: then)
        box.data = updated
        window.record(at: now, aimedAbove: aimedAbove)
        window.reported = severity
        window.rearmAt = until
    }

    /// Queues a decision's entry, with the changes `then` gave for it when it gave any; a plain
    /// decision gives none, and its entry is moved into the log's queue (`commit(_:)`).
    private func commitDecision(_ record: consuming AuditRecord, with then: consuming ChangeSet?) throws(RuntimeError) {
        // The change is moved on, not bound out of the optional (a copy of it retains its rows,
        // its record and its closure).
        if then != nil {
            try commit(record, then: then.take()!)
        } else {
            try commit(consume record)
        }
    }

    /// Queues a decision's entries with `rows` and `changes`, and the changes `then` gave for it
    /// when it gave any.
    private func commitDecision(_ records: [AuditRecord], rows: [StateRow] = [], changes: [ChangeSet] = [],
                                with then: ChangeSet?) throws(RuntimeError) {
        if let then {
            try commit(records, rows: rows, changes: changes + [then])
        } else {
            try commit(records, rows: rows, changes: changes)
        }
    }

    /// The `decision` entry: the request as decided (`supplied` applied) and the decision,
    /// written in canonical form on the writer thread (`DecisionData`).
    func decisionRecord(_ request: Request, _ supplied: SuppliedAgent?, _ outcome: RuntimeDecision, session: String?,
                        at now: Int64) -> AuditRecord {
        AuditRecord(kind: EntryKind.decision.rawValue, session: session, agent: request.agent.id, time: RuntimeTime.auditTime(now)) {
            () throws(AuditError) -> [UInt8] in try DecisionData.canonical(request, supplied: supplied, outcome)
        }
    }

    /// Microseconds to the limiter's nanoseconds, clamped so far-future times cannot overflow.
    static func nanoseconds(_ microseconds: Int64) -> Int64 {
        let (ns, overflow) = microseconds.multipliedReportingOverflow(by: 1_000)
        return overflow ? (microseconds > 0 ? Int64.max / 4 : Int64.min / 4) : ns
    }
}

/// Per-rule limits on the runtime's limiter, as `RuleLimitGate` takes them (namespace = rule
/// index, key = agent id), also noting how long the first refused bucket needs: a `rate_limit`
/// decision made by the runtime carries `retry_after`.
struct SessionLimitGate: LimitGate {
    /// The limiter, unretained (the runtime keeps it alive).
    private let limiter: Unmanaged<RateLimiter>
    /// The decision's time (ns).
    private let now: Int64
    /// Where the first refusal's wait (ns) is written; 0 until one happens.
    private let refusal: UnsafeMutablePointer<Int64>

    /// A gate over `limiter` at `now` (ns) writing the first refusal's wait to `refusal`.
    init(_ limiter: RateLimiter, now: Int64, refusal: UnsafeMutablePointer<Int64>) {
        self.limiter = Unmanaged.passUnretained(limiter)
        self.now = now
        self.refusal = refusal
    }

    /// Takes a token from the bucket of (`rule`, agent).
    func admit(rule: Int, limit: Limit, agent: UnsafeBufferPointer<UInt8>) -> Bool {
        let admission = limiter._withUnsafeGuaranteedRef {
            $0.take(namespace: UInt64(rule), agent: agent, bucket: RateLimiter.Bucket(count: limit.count, per: limit.seconds), now: now)
        }
        if !admission.admitted, refusal.pointee == 0 { refusal.pointee = max(1, admission.retryAfterNanoseconds) }
        return admission.admitted
    }
}

/// The agent fields the runtime supplies in a session (SPEC §8.3), replacing the request's.
public struct SuppliedAgent: Sendable, Hashable {
    /// σ_eff.
    public var trust: Double
    /// The effective ring, elevation included.
    public var ring: Int
    /// Whether a consensus stands behind the agent (as given at join).
    public var consensus: Bool

    /// The fields the runtime supplies for an agent.
    public init(trust: Double, ring: Int, consensus: Bool) {
        self.trust = trust
        self.ring = ring
        self.consensus = consensus
    }
}

/// A `decision` entry's data — `{"request": …, "decision": …}` — written straight in canonical
/// form (RFC 8785), without building a value tree: the request as SPEC §1 writes it, with the
/// runtime's agent fields when `supplied` and absent optional fields (nil, `false`, empty lists
/// and objects) left out, and the decision as `RuntimeDecision.value` gives it. The fixed member
/// names are written in their canonical (UTF-16) order; only `params`, `context` and `attrs`,
/// whose members the caller chose, go through the general encoder. `DecisionEntryTests` holds
/// the bytes to the canonical form of the same data built as values.
public enum DecisionData {
    /// How deep the request's objects sit in the entry's data: `params` and `context` inside
    /// `{"request": …}`, `agent.attrs` one level further down.
    private static let requestDepth = 2, attrsDepth = 3

    /// Refuses a request whose decision entry could not be written — a number that is not finite,
    /// or nesting past the JSON limit, which only a request built in Swift can hold — before it
    /// is decided: the entry is written on the writer thread, where it would fail the log.
    static func checkRecordable(_ request: Request) throws(RuntimeError) {
        if let trust = request.agent.trust, !trust.isFinite {
            throw RuntimeError(.invalidField, "field `agent.trust` must be a finite number")
        }
        do {
            if !request.params.isEmpty { try CanonicalJSON.check(.object(request.params), depth: requestDepth) }
            if !request.context.isEmpty { try CanonicalJSON.check(.object(request.context), depth: requestDepth) }
            if !request.agent.attrs.isEmpty { try CanonicalJSON.check(.object(request.agent.attrs), depth: attrsDepth) }
        } catch {
            throw RuntimeError(.invalidField, "the request cannot be recorded: \(error.message)")
        }
    }

    /// The canonical bytes of the entry data for `request` (with `supplied` applied) and `outcome`.
    public static func canonical(_ request: Request, supplied: SuppliedAgent?, _ outcome: RuntimeDecision) throws(AuditError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320 + request.agent.id.utf8.count + request.action.utf8.count + (request.resource?.utf8.count ?? 0)
                            + outcome.decision.reason.utf8.count)
        let decision = outcome.decision
        raw(#"{"decision":{"code":"#, &out)
        CanonicalJSON.appendString(decision.code.rawValue, to: &out)
        raw(#","decision":"#, &out)
        CanonicalJSON.appendString(decision.decision, to: &out)
        raw(#","policy":"#, &out)
        optional(decision.policy, &out)
        raw(#","reason":"#, &out)
        CanonicalJSON.appendString(decision.reason, to: &out)
        if let retryAfter = outcome.retryAfter {
            raw(#","retry_after":"#, &out)
            try CanonicalJSON.appendNumber(retryAfter, to: &out)
        }
        raw(#","ring":"#, &out)
        try CanonicalJSON.appendNumber(Double(decision.ring), to: &out)
        raw(#","rule":"#, &out)
        optional(decision.rule, &out)
        raw(#"},"request":{"action":"#, &out)
        CanonicalJSON.appendString(request.action, to: &out)
        raw(#","agent":{"#, &out)
        let agent = request.agent
        // `id` is always there: the members that sort before it end with a comma, the ones after
        // it begin with one.
        if !agent.attrs.isEmpty {
            raw(#""attrs":"#, &out)
            try CanonicalJSON.append(.object(agent.attrs), depth: attrsDepth, to: &out)
            out.append(UInt8(ascii: ","))
        }
        if supplied?.consensus ?? agent.consensus { raw(#""consensus":true,"#, &out) }
        raw(#""id":"#, &out)
        CanonicalJSON.appendString(agent.id, to: &out)
        if let ring = supplied?.ring ?? agent.ring {
            raw(#","ring":"#, &out)
            try CanonicalJSON.appendNumber(Double(ring), to: &out)
        }
        if !agent.roles.isEmpty {
            raw(#","roles":["#, &out)
            for (index, role) in agent.roles.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                CanonicalJSON.appendString(role, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        if let trust = supplied?.trust ?? agent.trust {
            raw(#","trust":"#, &out)
            try CanonicalJSON.appendNumber(trust, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        if !request.context.isEmpty {
            raw(#","context":"#, &out)
            try CanonicalJSON.append(.object(request.context), depth: requestDepth, to: &out)
        }
        if !request.params.isEmpty {
            raw(#","params":"#, &out)
            try CanonicalJSON.append(.object(request.params), depth: requestDepth, to: &out)
        }
        if let resource = request.resource {
            raw(#","resource":"#, &out)
            CanonicalJSON.appendString(resource, to: &out)
        }
        raw("}}", &out)
        return out
    }

    /// Appends a fixed ASCII text.
    private static func raw(_ text: StaticString, _ out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a string, or `null`.
    private static func optional(_ text: String?, _ out: inout [UInt8]) {
        if let text { CanonicalJSON.appendString(text, to: &out) } else { raw("null", &out) }
    }
}
