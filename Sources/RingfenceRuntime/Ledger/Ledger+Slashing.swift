import RingfenceVM

// Slashing (SPEC §11.3) and saga escalations (§10.6).
//
// A slash of agent X with severity s walks the vouch graph upwards, breadth first:
//
//   depth 0   X: σ := 0
//   depth 1   every active voucher V of X: σ := min(σ, max(⌊σ × (1 − s)⌋, slash_floor)), the
//             vouch V → X released
//   depth n+1 every active voucher of a depth-n voucher left below `cascade_below` that is
//             itself vouched for — slashed in turn while n ≤ max_cascade_depth — likewise
//
// A voucher reached again (a diamond: two paths to one voucher) has its second vouch released
// but is clipped once. Each agent enters the walk at most once, so the walk ends after at most
// max_cascade_depth + 1 levels and never loops, even over a store whose graph were cyclic. The
// `min(σ, …)` keeps a slash from ever raising σ (a voucher already below the floor stays where
// it is). A voucher slashed in turn keeps its clipped σ — the floor is the least a slash leaves a
// voucher with — and passes the slash on to its own vouchers; only the agent named by the slash
// goes to 0. Every agent touched gets a `slash` event (risk +0.15 × max(s, 0.5)).
//
// Idempotence: a slash is kept by its violation id; repeating the id changes nothing and
// returns the first result, whatever the other fields say. A saga escalation is a slash whose
// violation is `<saga>/<step>` (never an id, which has no `/`) followed by a quarantine.

/// A saga step whose compensation failed (SPEC §10.6).
public struct EscalationRequest: Sendable, Hashable {
    /// The saga's id.
    public var saga: String
    /// The step's id.
    public var step: String
    /// The step's agent.
    public var agent: String
    /// The slash severity; nil takes `liability.escalation_severity`.
    public var severity: Double?

    /// An escalation of `agent` for `saga`'s `step`.
    public init(saga: String, step: String, agent: String, severity: Double? = nil) {
        self.saga = saga
        self.step = step
        self.agent = agent
        self.severity = severity
    }

    /// The key it is idempotent on: `<saga>/<step>`.
    public var key: String { saga + "/" + step }
}

/// What the ledger did about one escalation.
public struct EscalationOutcome: Sendable, Hashable {
    /// The saga's id.
    public var saga: String
    /// The step's id.
    public var step: String
    /// The slash (the first one, when `repeated`).
    public var slash: SlashOutcome
    /// Until when the agent is quarantined by it (nil when `repeated`).
    public var quarantinedUntil: Int64?
    /// True when `<saga>/<step>` was escalated before: nothing changed.
    public var repeated: Bool

    /// `{saga, step, violation, touched, quarantined_until, repeated}`.
    public var value: Value {
        .object(["saga": .string(saga), "step": .string(step), "violation": .string(slash.violation),
                 "touched": .list(slash.touched.map(\.value)),
                 "quarantined_until": quarantinedUntil.map { .string(RuntimeTime.text($0)) } ?? .null, "repeated": .bool(repeated)])
    }
}

extension Ledger {
    /// A severity in (0, 1] in micro-units (at least one); `invalid_field` otherwise.
    static func severity(_ x: Double, field: String = "severity") throws(RuntimeError) -> Int64 {
        guard x > 0, let micros = LedgerUnits.micros(x) else { throw RuntimeError(.invalidField, LedgerMessages.severityRange(field)) }
        return max(1, micros)
    }

    /// `ledger.slash`: the slash and its cascade, or the first result for a violation seen before.
    func slash(agent: String, severity: Double, violation: String, reason: String?, at now: Int64) throws(RuntimeError) -> (SlashOutcome, ChangeSet) {
        let s = try Self.severity(severity)
        if let first = violations[violation] { return (first.outcome, .none) }
        guard let slot = slots[agent] else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(agent)) }
        var draft = LedgerDraft(self, at: now)
        let record = cascade(&draft, slot, severity: s, violation: violation, reason: reason, escalation: nil)
        return (record.outcome, draft.changeSet())
    }

    /// Saga escalations (SPEC §10.6), idempotent on `<saga>/<step>`: each slashes the step's
    /// agent with `liability.escalation_severity` (or the request's severity) and quarantines it
    /// for `liability.quarantine`, both audited (`ledger.slashed` and `ledger.quarantined`, each
    /// naming the saga and step). Escalations made together — every failed undo of one saga —
    /// must be passed in one call: they are one change set, each seeing the ones before it.
    public func escalate(_ requests: [EscalationRequest], at now: Int64) throws(RuntimeError) -> ([EscalationOutcome], ChangeSet) {
        var draft = LedgerDraft(self, at: now)
        var outcomes: [EscalationOutcome] = []
        for request in requests {
            let severity = try request.severity.map { x throws(RuntimeError) in try Self.severity(x) } ?? settings.escalationSeverity
            if let first = draft.slash(request.key) {
                outcomes.append(EscalationOutcome(saga: request.saga, step: request.step, slash: first.outcome, quarantinedUntil: nil,
                                                  repeated: true))
                continue
            }
            guard let slot = draft.slot(request.agent) else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(request.agent)) }
            let record = cascade(&draft, slot, severity: severity, violation: request.key, reason: LedgerMessages.escalationReason,
                                 escalation: (request.saga, request.step))
            let until = quarantine(&draft, slot, duration: settings.quarantine, reason: LedgerMessages.escalationReason, severity: severity,
                                   escalation: (request.saga, request.step))
            outcomes.append(EscalationOutcome(saga: request.saga, step: request.step, slash: record.outcome, quarantinedUntil: until,
                                              repeated: false))
        }
        return (outcomes, draft.changeSet())
    }

    /// Slashes the agent in `root` on `draft` and walks the cascade; records the slash (its row,
    /// its `ledger.slashed` entry, a `slash` event for each agent touched) and returns it.
    func cascade(_ draft: inout LedgerDraft, _ root: Int32, severity s: Int64, violation: String, reason: String?,
                 escalation: (saga: String, step: String)?) -> SlashRecord {
        var touched: [(slot: Int32, before: Int64, after: Int64, depth: Int)] = [(root, draft.trust(root), 0, 0)]
        var reached: Set<Int32> = [root]
        var released: [Int32] = []
        draft.setTrust(root, to: 0)
        var frontier: [Int32] = [root]
        var depth = 0
        while !frontier.isEmpty {
            var next: [Int32] = []
            for slashed in frontier {
                let vouchesFor = draft.into(slashed).sorted { draft.vouch($0).id < draft.vouch($1).id }
                for v in vouchesFor {
                    let voucher = draft.vouch(v).voucher
                    draft.release(v, by: "slash", violation: violation)
                    released.append(v)
                    guard reached.insert(voucher).inserted else { continue }
                    let before = draft.trust(voucher)
                    let after = min(before, max(LedgerUnits.clip(before, severity: s), settings.slashFloor))
                    draft.setTrust(voucher, to: after)
                    touched.append((voucher, before, after, depth + 1))
                    if after < settings.cascadeBelow, depth + 1 <= settings.maxCascadeDepth, !draft.into(voucher).isEmpty {
                        next.append(voucher)
                    }
                }
            }
            frontier = next
            depth += 1
        }
        for t in touched {
            draft.record(.slash(at: draft.now, violation: violation, severity: s, depth: t.depth, before: t.before, after: t.after), for: t.slot)
        }
        let record = SlashRecord(violation: violation, agent: draft.id(root), severity: s, reason: reason, at: draft.now,
                                 touched: touched.map { (draft.id($0.slot), $0.before, $0.after, $0.depth) },
                                 released: released.map { draft.vouch($0).id }, escalation: escalation)
        draft.violations[violation] = record
        var data: [String: Value] = [
            "violation": .string(violation), "agent": .string(record.agent), "severity": .number(LedgerUnits.value(micros: s)),
            "touched": .list(record.outcome.touched.map(\.value)), "released": .list(record.released.map(Value.string)),
        ]
        if let reason { data["reason"] = .string(reason) }
        if let escalation {
            data["saga"] = .string(escalation.saga)
            data["step"] = .string(escalation.step)
        }
        draft.records.append(ledgerRecord(.ledgerSlashed, agent: record.agent, at: draft.now, data))
        return record
    }
}
