/// Every message the ledger writes: one lowercase line, user input in backticks, no final period.
enum LedgerMessages {
    /// `self_vouch`.
    static let selfVouch = "cannot vouch for yourself"

    /// `unknown_agent`.
    static func unknownAgent(_ agent: String) -> String {
        "the ledger does not know agent \(RuntimeMessages.quote(agent)); an agent is known once it has joined a session or been given a trust with `ledger.trust`"
    }

    /// `voucher_trust`.
    static func voucherTrust(_ voucher: String, _ sigma: Int64, _ least: Int64) -> String {
        "voucher \(RuntimeMessages.quote(voucher)) has trust \(LedgerUnits.text(micros: sigma)), below \(LedgerUnits.text(micros: least)), the least trust to vouch"
    }

    /// `vouch_cycle`.
    static func vouchCycle(voucher: String, vouchee: String) -> String {
        "\(RuntimeMessages.quote(vouchee)) already vouches, directly or through others, for \(RuntimeMessages.quote(voucher)): the vouch would close a cycle"
    }

    /// `exposure`: current, requested and limit as bonds (σ × shares); at σ 0, as shares of σ.
    static func exposure(_ voucher: String, sigma: Int64, shares: Int64, share: Int64, limit: Int64) -> String {
        guard sigma > 0 else {
            return "the bonds of \(RuntimeMessages.quote(voucher)) would exceed its limit: current \(LedgerUnits.text(micros: shares)) + requested \(LedgerUnits.text(micros: share)) > limit \(LedgerUnits.text(micros: limit)) of its trust (now 0)"
        }
        return "the bonds of \(RuntimeMessages.quote(voucher)) would exceed its limit: current \(LedgerUnits.text(picos: sigma * shares)) + requested \(LedgerUnits.text(picos: sigma * share)) > limit \(LedgerUnits.text(picos: sigma * limit))"
    }

    /// `vouch_not_found`.
    static func vouchNotFound(_ id: String) -> String { "no vouch \(RuntimeMessages.quote(id))" }

    /// A number outside [0, 1].
    static func unitRange(_ field: String) -> String { "field `\(field)` must be a number from 0 to 1" }

    /// A severity outside (0, 1].
    static func severityRange(_ field: String) -> String { "field `\(field)` must be a number above 0 and at most 1" }

    /// A quarantine of no time.
    static let durationPositive = "field `duration` must be above 0"

    /// A malformed `actions` list.
    static func actionsShape(_ field: String, max: Int) -> String {
        "field `\(field)` must be a list of 1 to \(max) objects `{agent, action, failed, root_cause?, risk_weight?}`"
    }

    /// The reason a saga escalation gives its slash and quarantine.
    static let escalationReason = "compensation_failed"

    /// A session a vouch cannot be scoped to.
    static func sessionEnded(_ session: String, _ state: String) -> String {
        "session \(RuntimeMessages.quote(session)) is `\(state)`: a vouch can be scoped only to a session that is `handshaking` or `active`"
    }

    /// Ledger operations on a runtime given another `LedgerView`.
    static func noLedger(_ op: String) -> String {
        "operation `\(op)` needs the runtime's own ledger; this runtime was opened with another `LedgerView`"
    }
}
