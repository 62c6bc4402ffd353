import RingfenceVM

// What the ledger keeps (SPEC §11): agents, vouches, the events of each agent's history (from
// which its risk is computed), slashes by violation and recorded attributions by failure. The
// numbers are the fixed-point units of `LedgerUnits`.

/// An agent the ledger knows.
struct LedgerAgent: Sendable {
    /// The agent's id.
    let id: String
    /// σ (micro).
    var trust: Int64
    /// When the ledger first recorded it (µs).
    var since: Int64
    /// Σ bond shares of the active vouches it gave (micro); its bonds are σ × this.
    var sharesOut: Int64 = 0
    /// Σ bonds of the active vouches for it (pico): each voucher's σ × share.
    var bondsIn: Int64 = 0
    /// The active vouches it gave.
    var out: [Int32] = []
    /// The active vouches for it.
    var into: [Int32] = []
    /// Until when it is quarantined (µs); kept after expiry until the next quarantine or release.
    var quarantineUntil: Int64?
    /// The reasons of the quarantine in force, oldest first.
    var quarantineReasons: [String] = []
    /// The unclamped sum of its history's risk terms (risk units).
    var riskSum: Int64 = 0
    /// The number of events in its history (the next event's sequence number).
    var events = 0

    /// A new agent with σ `trust` recorded at `since`.
    init(id: String, trust: Int64, since: Int64) {
        self.id = id
        self.trust = trust
        self.since = since
    }

    /// Its risk, clamped to [0, 1] (risk units).
    var risk: Int64 { min(max(riskSum, 0), LedgerUnits.risk) }

    /// Its bonds out (pico): σ × Σ shares, exact.
    var bondsOut: Int64 { trust * sharesOut }

    /// Until when it is quarantined, when that is after `now`.
    func quarantined(at now: Int64) -> Int64? {
        quarantineUntil.flatMap { $0 > now ? $0 : nil }
    }
}

/// A vouch (SPEC §11.1): the voucher bonds σ_voucher × share for the vouchee while it is active.
struct LedgerVouch: Sendable {
    /// The vouch's id.
    let id: String
    /// The voucher's slot.
    let voucher: Int32
    /// The vouchee's slot.
    let vouchee: Int32
    /// The session it ends with, if scoped to one.
    let session: String?
    /// The share of the voucher's σ it bonds (micro).
    let share: Int64
    /// What it bonded when made (pico).
    let bonded: Int64
    /// When it was made (µs).
    let createdAt: Int64
    /// When and by what it ended: `ledger.release`, `session`, or `slash` (with the violation).
    var released: (at: Int64, by: String, violation: String?)?

    /// True while it bonds.
    var isActive: Bool { released == nil }
}

/// One event in an agent's history; each carries its term of the risk formula (SPEC §11.5).
enum LedgerEvent: Sendable, Hashable {
    /// σ recorded at the first join (`by: join`) or set by an operator (`by: operator`).
    case trust(at: Int64, before: Int64?, after: Int64, by: String, session: String?)
    /// A slash received (depth 0) or cascaded to it (depth ≥ 1).
    case slash(at: Int64, violation: String, severity: Int64, depth: Int, before: Int64, after: Int64)
    /// A quarantine, new or extended.
    case quarantine(at: Int64, until: Int64, reason: String, severity: Int64)
    /// A quarantine ended early.
    case unquarantine(at: Int64, wasUntil: Int64, reason: String?)
    /// A share of a failure attributed to it (10^-4).
    case fault(at: Int64, failure: String, share: Int)
    /// A session it left with no violation.
    case cleanSession(at: Int64, session: String)

    /// Its term of the risk sum (risk units): +0.15 × max(severity, 0.5) per slash, +0.10 ×
    /// max(severity, 0.3) per quarantine, +0.05 × share per fault, −0.05 per clean session.
    var riskTerm: Int64 {
        switch self {
        case .slash(_, _, let severity, _, _, _): 15 * max(severity, 500_000)
        case .quarantine(_, _, _, let severity): 10 * max(severity, 300_000)
        case .fault(_, _, let share): 500 * Int64(share)
        case .cleanSession: -5_000_000
        case .trust, .unquarantine: 0
        }
    }

    /// When it happened (µs).
    var at: Int64 {
        switch self {
        case .trust(let at, _, _, _, _), .slash(let at, _, _, _, _, _), .quarantine(let at, _, _, _),
             .unquarantine(let at, _, _), .fault(let at, _, _), .cleanSession(let at, _): at
        }
    }

    /// `{at, event, …}` as `ledger.get` shows it and the event's row stores it.
    var value: Value {
        let t = RuntimeTime.text, m = LedgerUnits.value(micros:)
        var members: [String: Value] = ["at": .string(t(at))]
        switch self {
        case .trust(_, let before, let after, let by, let session):
            members["event"] = .string("trust")
            if let before { members["before"] = .number(m(before)) }
            members["after"] = .number(m(after))
            members["by"] = .string(by)
            if let session { members["session"] = .string(session) }
        case .slash(_, let violation, let severity, let depth, let before, let after):
            members["event"] = .string("slash")
            members["violation"] = .string(violation)
            members["severity"] = .number(m(severity))
            members["depth"] = .number(Double(depth))
            members["before"] = .number(m(before))
            members["after"] = .number(m(after))
        case .quarantine(_, let until, let reason, let severity):
            members["event"] = .string("quarantine")
            members["until"] = .string(t(until))
            members["reason"] = .string(reason)
            members["severity"] = .number(m(severity))
        case .unquarantine(_, let wasUntil, let reason):
            members["event"] = .string("unquarantine")
            members["was_until"] = .string(t(wasUntil))
            if let reason { members["reason"] = .string(reason) }
        case .fault(_, let failure, let share):
            members["event"] = .string("fault")
            members["failure"] = .string(failure)
            members["share"] = .number(Double(share) / 1e4)
        case .cleanSession(_, let session):
            members["event"] = .string("clean_session")
            members["session"] = .string(session)
        }
        return .object(members)
    }

    /// Reads an event back from `value`; nil when it is malformed.
    init?(value: Value) {
        guard let r = RowReader(value), let at = r.time("at"), let event = r.string("event") else { return nil }
        switch event {
        case "trust":
            guard let after = r.micros("after"), let by = r.string("by") else { return nil }
            let before = r.members["before"] == nil ? nil : r.micros("before")
            if r.members["before"] != nil, before == nil { return nil }
            self = .trust(at: at, before: before, after: after, by: by, session: r.string("session"))
        case "slash":
            guard let violation = r.string("violation"), let severity = r.micros("severity"), let depth = r.int("depth"),
                  let before = r.micros("before"), let after = r.micros("after") else { return nil }
            self = .slash(at: at, violation: violation, severity: severity, depth: depth, before: before, after: after)
        case "quarantine":
            guard let until = r.time("until"), let reason = r.string("reason"), let severity = r.micros("severity") else { return nil }
            self = .quarantine(at: at, until: until, reason: reason, severity: severity)
        case "unquarantine":
            guard let wasUntil = r.time("was_until") else { return nil }
            self = .unquarantine(at: at, wasUntil: wasUntil, reason: r.string("reason"))
        case "fault":
            guard let failure = r.string("failure"), let share = r.number("share"), share >= 0, share <= 1 else { return nil }
            self = .fault(at: at, failure: failure, share: Int((share * 1e4).rounded()))
        case "clean_session":
            guard let session = r.string("session") else { return nil }
            self = .cleanSession(at: at, session: session)
        default:
            return nil
        }
    }
}

/// One agent a slash touched, with σ before and after and its distance from the slashed agent.
public struct SlashTouch: Sendable, Hashable {
    /// The agent.
    public var agent: String
    /// σ before the slash.
    public var before: Double
    /// σ after it.
    public var after: Double
    /// 0 for the slashed agent, n for a voucher n hops away.
    public var depth: Int

    /// `{agent, before, after, depth}`.
    public var value: Value {
        .object(["agent": .string(agent), "before": .number(before), "after": .number(after), "depth": .number(Double(depth))])
    }
}

/// A slash as the ledger keeps it: what `ledger.slash` returned the first time (SPEC §11.3).
struct SlashRecord: Sendable {
    /// The violation's id (`<saga>/<step>` for a saga escalation).
    var violation: String
    /// The slashed agent.
    var agent: String
    /// The severity (micro).
    var severity: Int64
    /// The reason given.
    var reason: String?
    /// When (µs).
    var at: Int64
    /// Every agent touched, in walk order, with σ in micro-units.
    var touched: [(agent: String, before: Int64, after: Int64, depth: Int)]
    /// The ids of the vouches it released.
    var released: [String]
    /// For a saga escalation: the saga and step.
    var escalation: (saga: String, step: String)?

    /// The result people see.
    var outcome: SlashOutcome {
        SlashOutcome(violation: violation, touched: touched.map {
            SlashTouch(agent: $0.agent, before: LedgerUnits.value(micros: $0.before), after: LedgerUnits.value(micros: $0.after), depth: $0.depth)
        })
    }
}

/// The result of `ledger.slash`.
public struct SlashOutcome: Sendable, Hashable {
    /// The violation.
    public var violation: String
    /// Every agent touched, slashed agent first.
    public var touched: [SlashTouch]

    /// `{violation, touched: [{agent, before, after, depth}]}`.
    public var value: Value {
        .object(["violation": .string(violation), "touched": .list(touched.map(\.value))])
    }
}

/// An attribution recorded as faults (SPEC §11.5), kept so recording it again changes nothing.
struct FailureRecord: Sendable {
    /// The failure's id.
    var failure: String
    /// When it was recorded (µs).
    var at: Int64
    /// Each agent's share (10^-4), in the result's order.
    var shares: [(agent: String, share: Int)]
}

extension RowReader {
    /// A number member from 0 to 1 in micro-units (to the nearest).
    func micros(_ key: String) -> Int64? {
        number(key).flatMap(LedgerUnits.micros)
    }

    /// A non-negative number member in pico-units (to the nearest).
    func picos(_ key: String) -> Int64? {
        guard let x = number(key), x >= 0, x < 9e6 else { return nil }
        return Int64((x * 1e12).rounded())
    }
}
