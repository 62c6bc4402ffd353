import RingfenceVM

// The ledger's operations (SPEC §11, the `ledger.*` rows of §13) as runtime operations: each
// runs under the runtime's lock like every other, checks everything first, and commits its
// state rows with its audit entries in one transaction; a refused operation changes nothing.

extension Runtime {
    /// The runtime's own ledger; `unknown_op` when the runtime was opened with another `LedgerView`.
    func ownLedger(_ op: String) throws(RuntimeError) -> Ledger {
        guard let book = ledger as? Ledger else { throw RuntimeError(.unknownOp, LedgerMessages.noLedger(op)) }
        return book
    }

    /// Commits a ledger change set as the running operation's transaction.
    private func commitLedger(_ change: ChangeSet) throws(RuntimeError) {
        guard !change.rows.isEmpty || !change.records.isEmpty else { return }
        try commit(change)
    }

    /// `ledger.vouch`: `voucher` bonds σ_voucher × `bond` (default `liability.bond`) for
    /// `vouchee`, until released or, when scoped to `session`, until that session ends.
    public func vouch(voucher: String, vouchee: String, session sid: String? = nil, bond: Double? = nil,
                      id: String? = nil) throws(RuntimeError) -> VouchOutcome {
        try Self.checkID(voucher, "voucher")
        try Self.checkID(vouchee, "vouchee")
        if let sid { try Self.checkID(sid, "session") }
        if let id { try Self.checkID(id, "vouch") }
        let book = try ownLedger("ledger.vouch")
        let share = try book.share(bond)
        return try perform { now throws(RuntimeError) in
            try book.checkParties(voucher: voucher, vouchee: vouchee)
            if let sid {
                guard let session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
                guard session.phase == .handshaking || session.phase == .active else {
                    throw RuntimeError(.sessionState, LedgerMessages.sessionEnded(sid, session.phase.rawValue))
                }
            }
            if let id, book.vouchSlots[id] != nil { throw RuntimeError(.idTaken, "vouch id `\(id)` is already used") }
            let (outcome, change) = try book.vouch(voucher: voucher, vouchee: vouchee, session: sid, share: share, at: now) { () throws(RuntimeError) in
                try newID(id, kind: "vouch") { book.vouchSlots[$0] != nil }
            }
            try commitLedger(change)
            return outcome
        }
    }

    /// `ledger.release`: ends a vouch early → `{vouch, state: "released"}`.
    public func releaseVouch(_ id: String) throws(RuntimeError) -> Value {
        try Self.checkID(id, "vouch")
        let book = try ownLedger("ledger.release")
        return try perform { now throws(RuntimeError) in
            let (result, change) = try book.release(id, at: now)
            try commitLedger(change)
            return result
        }
    }

    /// `ledger.slash`: σ of `agent` to 0 and the cascade to its vouchers (SPEC §11.3); the first
    /// result again for a `violation` seen before.
    public func slash(agent: String, severity: Double, violation: String, reason: String? = nil) throws(RuntimeError) -> SlashOutcome {
        try Self.checkID(agent, "agent")
        try Self.checkID(violation, "violation")
        let book = try ownLedger("ledger.slash")
        return try perform { now throws(RuntimeError) in
            let (outcome, change) = try book.slash(agent: agent, severity: severity, violation: violation, reason: reason, at: now)
            try commitLedger(change)
            return outcome
        }
    }

    /// `ledger.quarantine`: for `duration` milliseconds (default `liability.quarantine`), or
    /// that much longer when the agent is quarantined already.
    public func quarantine(agent: String, duration: Int64? = nil, reason: String? = nil) throws(RuntimeError) -> QuarantineOutcome {
        try Self.checkID(agent, "agent")
        let book = try ownLedger("ledger.quarantine")
        return try perform { now throws(RuntimeError) in
            let (outcome, change) = try book.quarantine(agent: agent, duration: duration, reason: reason, at: now)
            try commitLedger(change)
            return outcome
        }
    }

    /// `ledger.unquarantine`: ends the agent's quarantine now.
    public func unquarantine(agent: String, reason: String? = nil) throws(RuntimeError) -> QuarantineOutcome {
        try Self.checkID(agent, "agent")
        let book = try ownLedger("ledger.unquarantine")
        return try perform { now throws(RuntimeError) in
            let (outcome, change) = try book.unquarantine(agent: agent, reason: reason, at: now)
            try commitLedger(change)
            return outcome
        }
    }

    /// `ledger.trust`: an operator sets the agent's σ → `{agent, trust}`.
    public func setTrust(agent: String, trust: Double) throws(RuntimeError) -> Value {
        try Self.checkID(agent, "agent")
        let book = try ownLedger("ledger.trust")
        return try perform { now throws(RuntimeError) in
            let (result, change) = try book.setTrust(agent: agent, trust: trust, at: now)
            try commitLedger(change)
            return result
        }
    }

    /// `ledger.get`: the agent as the ledger sees it now (SPEC §11.5).
    public func ledgerStatement(agent: String) throws(RuntimeError) -> Value {
        try Self.checkID(agent, "agent")
        let book = try ownLedger("ledger.get")
        return try perform { now throws(RuntimeError) in try book.statement(of: agent, at: now) }
    }

    /// `ledger.attribute`: each agent's share of the blame for `failure`; with `record`, the
    /// shares are recorded as faults (once per failure).
    public func attribute(failure: String, actions: [AttributionAction], record: Bool = false) throws(RuntimeError) -> Attribution {
        try Self.checkID(failure, "failure")
        for action in actions { try Self.checkID(action.agent, "agent") }
        let book = try ownLedger("ledger.attribute")
        return try perform { now throws(RuntimeError) in
            let (attribution, change) = try book.attribute(failure: failure, actions: actions, record: record, at: now)
            try commitLedger(change)
            return attribution
        }
    }

    /// Saga escalations as one operation of their own (SPEC §10.6); a saga executor that raises
    /// them inside its own operation calls `ledger.escalate(_:at:)` and commits the change set
    /// it returns with that operation instead.
    public func escalate(_ requests: [EscalationRequest]) throws(RuntimeError) -> [EscalationOutcome] {
        for request in requests {
            try Self.checkID(request.saga, "saga")
            try Self.checkID(request.step, "step")
            try Self.checkID(request.agent, "agent")
        }
        return try perform { now throws(RuntimeError) in
            let (outcomes, change) = try ledger.escalate(requests, at: now)
            try commitLedger(change)
            return outcomes
        }
    }
}
