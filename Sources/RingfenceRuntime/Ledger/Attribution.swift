import RingfenceVM

// Attribution (SPEC §11.5): who is to blame for a failure, and how much. Each action scores
//
//   0.5                                 if it is a root cause
//   + 0.3 / F                           if it failed and is not a root cause (F: such actions)
//   + 0.2 × risk_weight / n(agent)      risk_weight defaults to 0.5; n: the agent's actions
//
// An agent's score is the sum over its actions; the shares are the scores normalised to sum 1
// (equal shares when every score is 0), rounded to 4 places by the largest-remainder method —
// each share rounded down to 10^-4, the missing ten-thousandths given to the largest remainders
// (ties to the agent named first) — so the rounded shares always sum to exactly 1. They are
// listed largest first (ties by agent id). With `record: true` each share is recorded as a fault
// (risk +0.05 × share), once per failure id: recording the same failure again changes nothing
// and returns the recorded shares.

/// One action of the run that failed.
public struct AttributionAction: Sendable, Hashable {
    /// The agent that took it.
    public var agent: String
    /// What it was (a label).
    public var action: String
    /// Whether it failed.
    public var failed: Bool
    /// Whether it is a root cause.
    public var rootCause: Bool
    /// Its risk weight, 0–1.
    public var riskWeight: Double

    /// An action.
    public init(agent: String, action: String, failed: Bool, rootCause: Bool = false, riskWeight: Double = 0.5) {
        self.agent = agent
        self.action = action
        self.failed = failed
        self.rootCause = rootCause
        self.riskWeight = riskWeight
    }

    /// The most actions one attribution takes.
    public static let maxActions = 10_000

    /// The keys an action may have.
    static let keys = ["agent", "action", "failed", "root_cause", "risk_weight"]

    /// Reads the `actions` field: a non-empty list of `{agent, action, failed, root_cause?, risk_weight?}`.
    public static func list(_ value: Value, field: String = "actions") throws(RuntimeError) -> [AttributionAction] {
        guard case .list(let items) = value, !items.isEmpty, items.count <= maxActions else {
            throw RuntimeError(.invalidField, LedgerMessages.actionsShape(field, max: maxActions))
        }
        var actions: [AttributionAction] = []
        actions.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let path = "\(field)[\(i)]"
            guard case .object(let m) = item else { throw RuntimeError(.invalidField, "field `\(path)` must be an object") }
            if let unknown = m.keys.sorted().first(where: { !keys.contains($0) }) {
                throw RuntimeError(.unknownField, "unknown field \(RuntimeMessages.quote(path + "." + unknown)); expected "
                                   + keys.map { "`\($0)`" }.joined(separator: ", "))
            }
            for key in ["agent", "action", "failed"] where m[key] == nil || m[key] == .null {
                throw RuntimeError(.missingField, "missing field `\(path).\(key)`")
            }
            guard case .string(let agent)? = m["agent"] else { throw RuntimeError(.invalidField, "field `\(path).agent` must be a string") }
            guard RuntimeID.isValid(agent) else { throw RuntimeError(.invalidID, RuntimeMessages.invalidID("field `\(path).agent`:", agent)) }
            guard case .string(let action)? = m["action"], !action.isEmpty, action.utf8.count <= OperationFieldType.maxText else {
                throw RuntimeError(.invalidField, "field `\(path).action` must be a non-empty string of at most \(OperationFieldType.maxText) bytes")
            }
            guard case .bool(let failed)? = m["failed"] else { throw RuntimeError(.invalidField, "field `\(path).failed` must be `true` or `false`") }
            var rootCause = false
            if let value = m["root_cause"], value != .null {
                guard case .bool(let b) = value else { throw RuntimeError(.invalidField, "field `\(path).root_cause` must be `true` or `false`") }
                rootCause = b
            }
            var weight = 0.5
            if let value = m["risk_weight"], value != .null {
                guard case .number(let x) = value, x.isFinite, x >= 0, x <= 1 else {
                    throw RuntimeError(.invalidField, LedgerMessages.unitRange("\(path).risk_weight"))
                }
                weight = x
            }
            actions.append(AttributionAction(agent: agent, action: action, failed: failed, rootCause: rootCause, riskWeight: weight))
        }
        return actions
    }

    /// Each agent's share in ten-thousandths, largest first, summing to 10,000.
    static func shares(_ actions: [AttributionAction]) -> [(agent: String, share: Int)] {
        var order: [String] = []
        var count: [String: Int] = [:]
        for a in actions {
            if count[a.agent] == nil { order.append(a.agent) }
            count[a.agent, default: 0] += 1
        }
        let blamedFailures = actions.filter { $0.failed && !$0.rootCause }.count
        var score: [String: Double] = [:]
        for a in actions {
            var s = a.rootCause ? 0.5 : 0
            if a.failed && !a.rootCause { s += 0.3 / Double(blamedFailures) }
            s += 0.2 * a.riskWeight / Double(count[a.agent] ?? 1)
            score[a.agent, default: 0] += s
        }
        let total = order.reduce(0.0) { $0 + (score[$1] ?? 0) }
        let exact = order.map { agent in total > 0 ? (score[agent] ?? 0) / total * Double(LedgerUnits.share) : Double(LedgerUnits.share) / Double(order.count) }
        var units = exact.map { Int($0.rounded(.down)) }
        var missing = LedgerUnits.share - units.reduce(0, +)
        let remainder = exact.indices.map { exact[$0] - Double(units[$0]) }
        let byRemainder = exact.indices.sorted { remainder[$0] != remainder[$1] ? remainder[$0] > remainder[$1] : $0 < $1 }
        var i = 0
        while missing > 0, !byRemainder.isEmpty {
            units[byRemainder[i % byRemainder.count]] += 1
            missing -= 1
            i += 1
        }
        return zip(order, units).map { ($0, $1) }.sorted { $0.share != $1.share ? $0.share > $1.share : $0.agent < $1.agent }
    }
}

/// The result of `ledger.attribute`.
public struct Attribution: Sendable, Hashable {
    /// One agent's share.
    public struct Share: Sendable, Hashable {
        /// The agent.
        public var agent: String
        /// Its share of the blame, to 4 places.
        public var share: Double
    }

    /// The failure's id.
    public var failure: String
    /// The shares, largest first, summing to 1.
    public var shares: [Share]

    /// `{failure, shares: [{agent, share}]}`.
    public var value: Value {
        .object(["failure": .string(failure), "shares": .list(shares.map { .object(["agent": .string($0.agent), "share": .number($0.share)]) })])
    }

    /// From shares in ten-thousandths.
    init(failure: String, units: [(agent: String, share: Int)]) {
        self.failure = failure
        shares = units.map { Share(agent: $0.agent, share: Double($0.share) / 1e4) }
    }
}

extension Ledger {
    /// `ledger.attribute`: the shares of `actions` in the failure; with `record`, recorded as
    /// faults once per failure (every agent must be known then).
    func attribute(failure: String, actions: [AttributionAction], record: Bool, at now: Int64) throws(RuntimeError) -> (Attribution, ChangeSet) {
        guard !actions.isEmpty else { throw RuntimeError(.invalidField, LedgerMessages.actionsShape("actions", max: AttributionAction.maxActions)) }
        guard record else { return (Attribution(failure: failure, units: AttributionAction.shares(actions)), .none) }
        if let recorded = failures[failure] { return (Attribution(failure: failure, units: recorded.shares), .none) }
        for action in actions where slots[action.agent] == nil {
            throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(action.agent))
        }
        let units = AttributionAction.shares(actions)
        var draft = LedgerDraft(self, at: now)
        for (agent, share) in units {
            guard let slot = slots[agent] else { continue }
            draft.record(.fault(at: now, failure: failure, share: share), for: slot)
        }
        draft.failures[failure] = FailureRecord(failure: failure, at: now, shares: units)
        let attribution = Attribution(failure: failure, units: units)
        draft.records.append(ledgerRecord(.ledgerAttributed, agent: nil, at: now, [
            "failure": .string(failure), "shares": attribution.value.member("shares"), "actions": .number(Double(actions.count)),
        ]))
        return (attribution, draft.changeSet())
    }
}

extension Value {
    /// The member `key` of an object (`null` when absent or not an object).
    func member(_ key: String) -> Value {
        if case .object(let m) = self { return m[key] ?? .null }
        return .null
    }
}
