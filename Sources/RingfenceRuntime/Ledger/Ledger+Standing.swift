import RingfenceAudit
import RingfenceVM

// Quarantine (SPEC §11.4), operator trust (§11.2), and what `ledger.get` shows (§11.5).
//
// A quarantine lasts `duration` (default `liability.quarantine`) from now; quarantining an agent
// already quarantined extends it — the new end is the old end plus `duration` — and appends the
// reason. It ends at its expiry (nothing is written then: every check compares it with the
// clock) or with `ledger.unquarantine`. Each quarantine, new or extending, adds 0.10 × max(its
// severity, 0.3) to the agent's risk: an operator's quarantine has no severity (0.03), a saga
// escalation's is the slash's, a critical ring breach's is 1 (0.10).

/// The result of `ledger.quarantine` and `ledger.unquarantine`.
public struct QuarantineOutcome: Sendable, Hashable {
    /// The agent.
    public var agent: String
    /// Until when it is quarantined; nil once it is not.
    public var until: Int64?

    /// `{agent, until}` (`until` null when not quarantined).
    public var value: Value {
        .object(["agent": .string(agent), "until": until.map { .string(RuntimeTime.text($0)) } ?? .null])
    }
}

extension Ledger {
    /// Quarantines (or extends the quarantine of) the agent in `slot` on `draft` for `duration`
    /// µs; records the event and the `ledger.quarantined` entry; returns the new end.
    @discardableResult
    func quarantine(_ draft: inout LedgerDraft, _ slot: Int32, duration: Int64, reason: String, severity: Int64,
                    escalation: (saga: String, step: String)? = nil) -> Int64 {
        let now = draft.now
        let current = draft.agent(slot).quarantined(at: now)
        let latest = AuditTime.latest.microseconds
        let from = current ?? now
        let until = duration >= latest - from ? latest : from + duration
        let reasons = draft.update(slot, row: true) { a -> [String] in
            a.quarantineUntil = until
            a.quarantineReasons = current == nil ? [reason] : a.quarantineReasons + [reason]
            return a.quarantineReasons
        }
        draft.record(.quarantine(at: now, until: until, reason: reason, severity: severity), for: slot)
        let id = draft.agent(slot).id
        var data: [String: Value] = [
            "agent": .string(id), "until": .string(RuntimeTime.text(until)), "reason": .string(reason),
            "reasons": .list(reasons.map(Value.string)), "extended": .bool(current != nil),
            "duration": .number(Double(duration) / 1e6), "severity": .number(LedgerUnits.value(micros: severity)),
        ]
        if let escalation {
            data["saga"] = .string(escalation.saga)
            data["step"] = .string(escalation.step)
        }
        draft.records.append(ledgerRecord(.ledgerQuarantined, agent: id, at: now, data))
        return until
    }

    /// `ledger.quarantine`: `duration` milliseconds (above 0; default `liability.quarantine`).
    func quarantine(agent: String, duration: Int64?, reason: String?, at now: Int64) throws(RuntimeError) -> (QuarantineOutcome, ChangeSet) {
        if let duration, duration <= 0 { throw RuntimeError(.invalidField, LedgerMessages.durationPositive) }
        guard let slot = slots[agent] else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(agent)) }
        var draft = LedgerDraft(self, at: now)
        let until = quarantine(&draft, slot, duration: duration.map { $0 * 1_000 } ?? settings.quarantine, reason: reason ?? "manual",
                               severity: 0)
        return (QuarantineOutcome(agent: agent, until: until), draft.changeSet())
    }

    /// `ledger.unquarantine`: ends the agent's quarantine now; an agent not quarantined is left
    /// as it is.
    func unquarantine(agent: String, reason: String?, at now: Int64) throws(RuntimeError) -> (QuarantineOutcome, ChangeSet) {
        guard let slot = slots[agent] else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(agent)) }
        guard let until = agents[Int(slot)].quarantined(at: now) else { return (QuarantineOutcome(agent: agent, until: nil), .none) }
        var draft = LedgerDraft(self, at: now)
        draft.update(slot, row: true) { a in
            a.quarantineUntil = nil
            a.quarantineReasons = []
        }
        draft.record(.unquarantine(at: now, wasUntil: until, reason: reason), for: slot)
        var data: [String: Value] = ["agent": .string(agent), "was_until": .string(RuntimeTime.text(until))]
        if let reason { data["reason"] = .string(reason) }
        draft.records.append(ledgerRecord(.ledgerUnquarantined, agent: agent, at: now, data))
        return (QuarantineOutcome(agent: agent, until: nil), draft.changeSet())
    }

    /// `ledger.trust`: an operator sets σ (recording the agent when the ledger does not know it
    /// yet); the agent's live bonds follow.
    func setTrust(agent: String, trust: Double, at now: Int64) throws(RuntimeError) -> (Value, ChangeSet) {
        guard let micros = LedgerUnits.micros(trust) else { throw RuntimeError(.invalidField, LedgerMessages.unitRange("trust")) }
        var draft = LedgerDraft(self, at: now)
        let before: Int64?
        let slot: Int32
        if let known = slots[agent] {
            slot = known
            before = agents[Int(known)].trust
            draft.setTrust(known, to: micros)
        } else {
            before = nil
            slot = draft.addAgent(agent, trust: micros)
        }
        draft.record(.trust(at: now, before: before, after: micros, by: "operator", session: nil), for: slot)
        var data: [String: Value] = ["agent": .string(agent), "trust": .number(LedgerUnits.value(micros: micros))]
        if let before { data["before"] = .number(LedgerUnits.value(micros: before)) }
        draft.records.append(ledgerRecord(.ledgerTrust, agent: agent, at: now, data))
        return (.object(["agent": .string(agent), "trust": .number(LedgerUnits.value(micros: micros))]), draft.changeSet())
    }

    /// `ledger.get`: `{agent, trust, trust_eff, bonds_out, bonds_in, exposure: {current, limit},
    /// risk, standing, quarantined_until?, history}` at `now`.
    public func statement(of agent: String, at now: Int64) throws(RuntimeError) -> Value {
        guard let slot = slots[agent] else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(agent)) }
        let a = agents[Int(slot)]
        let effective = LedgerUnits.effectiveTrust(sigma: a.trust, bondsIn: a.bondsIn, weight: settings.vouchWeight)
        var members: [String: Value] = [
            "agent": .string(agent), "trust": .number(LedgerUnits.value(micros: a.trust)),
            "trust_eff": .number(LedgerUnits.value(micros: effective)),
            "bonds_out": .number(LedgerUnits.value(picos: a.bondsOut)), "bonds_in": .number(LedgerUnits.value(picos: a.bondsIn)),
            "exposure": .object(["current": .number(LedgerUnits.value(picos: a.bondsOut)),
                                 "limit": .number(LedgerUnits.value(picos: a.trust * settings.maxExposure))]),
            "risk": .number(LedgerUnits.value(risk: a.risk)), "standing": .string(standing(risk: a.risk).rawValue),
            "history": .list(history[Int(slot)].map(\.value)),
        ]
        if let until = a.quarantined(at: now) {
            members["quarantined_until"] = .string(RuntimeTime.text(until))
            members["quarantine_reasons"] = .list(a.quarantineReasons.map(Value.string))
        }
        return .object(members)
    }
}
