import RingfenceVM

// What the session runtime asks of the components that plug into it: the liability ledger
// (SPEC §11: trust, vouches, probation, quarantine, escalations) and the saga executor (SPEC §10:
// in-flight steps a kill hands off). Both are protocols so they plug in without changing the
// runtime; the runtime has its own `Ledger` unless given another, and `NoSagas` stands in for the
// saga executor until it exists (`NoLedger`, a ledger that records nothing, stays for hosts and
// benchmarks that want none). Their calls are made under the runtime's lock, in the operation
// that causes them, and the changes they return commit with it — at most one ledger change set
// per operation (a change set takes effect when the operation commits, so a second one computed
// in the same operation would not see the first).

/// State rows and audit records another component adds to the operation that causes them, and
/// what it applies to its own memory once they are queued.
public struct ChangeSet: Sendable {
    /// Rows to commit with the operation.
    public var rows: [StateRow]
    /// Entries to append after the operation's own.
    public var records: [AuditRecord] {
        get {
            switch entries {
            case .one(let record): [record]
            case .list(let records): records
            }
        }
        set { entries = .list(newValue) }
    }
    /// The entries as they are kept: a saga step's transition adds one entry, held without a
    /// list of its own (`Runtime.commit(_:)` queues it as it is).
    var entries: Entries
    /// Applied once the operation's changes are queued (never when the operation fails).
    public var apply: @Sendable () -> Void

    /// Moves the entries out, leaving an empty list: a record matched out of a change set that
    /// is only borrowed is copied, which retains everything it holds.
    mutating func takeEntries() -> Entries {
        var taken = Entries.list([])
        swap(&taken, &entries)
        return taken
    }

    /// A change set's entries: one, or a list.
    enum Entries: Sendable {
        case one(AuditRecord)
        case list([AuditRecord])
    }

    /// A change set.
    public init(rows: [StateRow] = [], records: [AuditRecord] = [], apply: @escaping @Sendable () -> Void = {}) {
        self.rows = rows
        self.entries = .list(records)
        self.apply = apply
    }

    /// A change set of `rows` and the one entry `record`.
    init(rows: [StateRow], record: AuditRecord, apply: @escaping @Sendable () -> Void) {
        self.rows = rows
        self.entries = .one(record)
        self.apply = apply
    }

    /// No change.
    public static let none = ChangeSet()
}

/// What the ledger says of an agent about to join (SPEC §8.2, §11.2, §11.5).
public struct LedgerAssessment: Sendable, Hashable {
    /// σ: the trust given at join, or the ledger's σ when that is smaller (a slash sticks).
    public var trust: Double
    /// σ_eff = min(1, σ + ω·Σ bonds of the active vouches for the agent).
    public var trustEff: Double
    /// Admit, probation (ring 3) or deny.
    public var standing: Standing
    /// Until when the agent is quarantined (µs), nil when it is not.
    public var quarantinedUntil: Int64?

    /// An assessment.
    public init(trust: Double, trustEff: Double, standing: Standing, quarantinedUntil: Int64?) {
        self.trust = trust
        self.trustEff = trustEff
        self.standing = standing
        self.quarantinedUntil = quarantinedUntil
    }
}

/// The liability ledger as the session runtime sees it.
public protocol LedgerView: Sendable {
    /// How `agent` stands when it joins with `trust` at `now`.
    func assess(agent: String, trust: Double, at now: Int64) -> LedgerAssessment
    /// σ_eff of `agent` at `now`, its σ capped by `trust` (the σ it joined the session with);
    /// nil when the ledger has nothing newer than σ_eff at join.
    func effectiveTrust(of agent: String, trust: Double, at now: Int64) -> Double?
    /// Until when `agent` is quarantined (µs), nil when it is not at `now` (SPEC §11.4).
    func quarantinedUntil(_ agent: String, at now: Int64) -> Int64?
    /// The ledger's changes when `agent` joins `session` (its first join records σ, SPEC §11.2).
    func joined(agent: String, session: String, trust: Double, at now: Int64) -> ChangeSet
    /// The ledger's changes when `session` ends: its vouches are released and each of `clean`
    /// counts a clean session (SPEC §8.1, §11.5).
    func sessionEnded(_ session: String, clean: [String], at now: Int64) -> ChangeSet
    /// The ledger's changes when a critical breach quarantines `agent` (SPEC §8.5).
    func quarantine(agent: String, reason: String, at now: Int64) -> ChangeSet
    /// Saga escalations (SPEC §10.6), idempotent on `<saga>/<step>`: each slashes the step's
    /// agent with `liability.escalation_severity` and quarantines it; every escalation of one
    /// operation goes in one call, and its change set commits with that operation.
    func escalate(_ requests: [EscalationRequest], at now: Int64) throws(RuntimeError) -> ([EscalationOutcome], ChangeSet)
}

/// A ledger that records nothing (for hosts and benchmarks that want none): σ_eff is the trust
/// given, everyone is admitted, nobody is quarantined, and the `ledger.*` operations are refused.
public struct NoLedger: LedgerView {
    /// Creates it.
    public init() {}
    /// σ = σ_eff = `trust`, standing admit.
    public func assess(agent: String, trust: Double, at now: Int64) -> LedgerAssessment {
        LedgerAssessment(trust: trust, trustEff: trust, standing: .admit, quarantinedUntil: nil)
    }
    /// Nothing newer than σ_eff at join.
    public func effectiveTrust(of agent: String, trust: Double, at now: Int64) -> Double? { nil }
    /// Never quarantined.
    public func quarantinedUntil(_ agent: String, at now: Int64) -> Int64? { nil }
    /// Records nothing.
    public func joined(agent: String, session: String, trust: Double, at now: Int64) -> ChangeSet { .none }
    /// Releases nothing, counts nothing.
    public func sessionEnded(_ session: String, clean: [String], at now: Int64) -> ChangeSet { .none }
    /// Quarantines nobody.
    public func quarantine(agent: String, reason: String, at now: Int64) -> ChangeSet { .none }
    /// Slashes and quarantines nobody: each escalation touches no agent.
    public func escalate(_ requests: [EscalationRequest], at now: Int64) throws(RuntimeError) -> ([EscalationOutcome], ChangeSet) {
        (requests.map { EscalationOutcome(saga: $0.saga, step: $0.step, slash: SlashOutcome(violation: $0.key, touched: []),
                                          quarantinedUntil: nil, repeated: false) }, .none)
    }
}

/// What a kill did to one in-flight saga step (SPEC §8.6).
public struct Handoff: Sendable, Hashable {
    /// `handed_off` to the substitute, or `compensated` (its saga failed and compensates).
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// Re-decided for and given to the substitute.
        case handedOff = "handed_off"
        /// Its saga failed and compensates.
        case compensated
    }

    /// The saga's id.
    public var saga: String
    /// The step's id.
    public var step: String
    /// What happened to it.
    public var outcome: Outcome

    /// A handoff.
    public init(saga: String, step: String, outcome: Outcome) {
        self.saga = saga
        self.step = step
        self.outcome = outcome
    }

    /// `{saga, step, outcome}`.
    public var value: Value {
        .object(["saga": .string(saga), "step": .string(step), "outcome": .string(outcome.rawValue)])
    }
}

/// The saga executor as the kill switch sees it.
public protocol SagaView: Sendable {
    /// Hands every in-flight step of `agent` in `session` to `substitute`, or fails its saga
    /// when there is none; returns what happened to each step and the changes to commit.
    func agentKilled(_ agent: String, session: String, substitute: String?, at now: Int64) -> (handoffs: [Handoff], change: ChangeSet)
}

/// The saga executor before there is one: no step is ever in flight.
public struct NoSagas: SagaView {
    /// Creates it.
    public init() {}
    /// No handoffs.
    public func agentKilled(_ agent: String, session: String, substitute: String?, at now: Int64) -> (handoffs: [Handoff], change: ChangeSet) {
        ([], .none)
    }
}
