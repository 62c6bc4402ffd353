/// A JSON-shaped value carried by requests (`params`, `context`, `agent.attrs`).
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([Value])
    case object([String: Value])

    /// A short type name for messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .list: "list"
        case .object: "object"
        }
    }
}

/// The agent making a request (SPEC §1).
public struct Agent: Sendable, Hashable {
    /// The agent's identifier, e.g. `did:mesh:agent-1`. Required.
    public var id: String
    /// The trust score in [0, 1], when known.
    public var trust: Double?
    /// An explicitly granted ring (0–3); when nil the ring is computed from trust.
    public var ring: Int?
    /// Whether a consensus of agents stands behind the request (needed for ring 1).
    public var consensus: Bool
    /// Role names.
    public var roles: [String]
    /// Free-form attributes.
    public var attrs: [String: Value]

    /// Creates an agent.
    public init(id: String, trust: Double? = nil, ring: Int? = nil, consensus: Bool = false,
                roles: [String] = [], attrs: [String: Value] = [:]) {
        self.id = id
        self.trust = trust
        self.ring = ring
        self.consensus = consensus
        self.roles = roles
        self.attrs = attrs
    }
}

/// One tool call to decide on (SPEC §1).
public struct Request: Sendable, Hashable {
    /// Who asks.
    public var agent: Agent
    /// What it wants to do, e.g. `fs.read`.
    public var action: String
    /// What it wants to do it to, e.g. `/workspace/a.csv`; nil when the action has no resource.
    public var resource: String?
    /// The call's parameters.
    public var params: [String: Value]
    /// Facts about the call (time, session, …).
    public var context: [String: Value]

    /// Creates a request.
    public init(agent: Agent, action: String, resource: String? = nil,
                params: [String: Value] = [:], context: [String: Value] = [:]) {
        self.agent = agent
        self.action = action
        self.resource = resource
        self.params = params
        self.context = context
    }
}

/// Why a decision came out as it did (SPEC §1).
public enum DecisionCode: String, Sendable, Hashable, CaseIterable {
    /// An allow rule applied, its ring gate passed, and no deny rule applied.
    case allow
    /// A deny rule applied.
    case denyRule = "deny_rule"
    /// An allow rule applied but the agent's ring is not privileged enough.
    case ring
    /// An allow rule applied but its rate limit is exhausted.
    case rateLimit = "rate_limit"
    /// No rule decided; the default applied.
    case `default`
    /// A deny rule could not be evaluated (fail closed).
    case error
    /// The runtime: the agent was killed in the session (SPEC §8.3, before the rules).
    case killed
    /// The runtime: the agent is quarantined (SPEC §8.3, §11.4).
    case quarantine
    /// The runtime: the agent's breaker is open (SPEC §8.3, §8.5).
    case breaker
}

/// Why a rule could not be evaluated (a decision with code `error` names one, SPEC §3.2).
public enum RuleFault: UInt8, Sendable, Hashable, CaseIterable {
    /// A value in `when` has the wrong type for its operation.
    case typeMismatch
    /// Regex matching went over the decision's work budget, or its subject is too long.
    case regexBudget
    /// The resource cannot be placed (it climbs above its start, or is a URL that cannot be parsed).
    case unplaceableResource
    /// The request is too large to decide (SPEC §3.1): refused whole, before any rule runs.
    case requestTooLarge

    /// The phrase a generated reason uses, e.g. "a value in `when` has the wrong type".
    public var phrase: String {
        switch self {
        case .typeMismatch: "a value in `when` has the wrong type"
        case .regexBudget: "regex matching went over its work budget"
        case .unplaceableResource: "the resource cannot be placed"
        case .requestTooLarge: "the request is too large to decide"
        }
    }
}

/// The outcome for one request (SPEC §1).
///
/// A decision made by a machine points at its rule's texts and keeps them alive through the
/// deciding thread's hold on the machine's texts (see `DecisionTextsHolds`): making, copying and
/// dropping a decision count references on an object only that thread's decisions share, so
/// threads sharing an engine do not contend, and a decision stays readable after its engine is
/// gone. `policy`, `rule` and `reason` read those texts; generated reasons (ring, rate limit,
/// error) are formatted when read.
public struct Decision: Sendable, Hashable {
    /// True for allow, false for deny.
    public let allowed: Bool
    /// Why.
    public let code: DecisionCode
    /// The agent's effective ring.
    public let ring: Int
    /// For code `error`: why the deciding rule could not be evaluated.
    public let fault: RuleFault?
    /// Where the texts come from.
    let source: Source

    /// The origin of a decision's texts.
    enum Source: Sendable {
        /// No rule decided and no policy default applied: the default deny.
        case none
        /// A rule decided.
        case rule(DecisionTexts.Ref)
        /// A first-match policy's default allowed.
        case policyDefault(DecisionTexts.Ref)
        /// Texts given to the public initialiser.
        case given(Given)
    }

    /// Texts supplied by a caller rather than by a machine.
    final class Given: Sendable {
        let policy: String?
        let rule: String?
        let reason: String

        init(policy: String?, rule: String?, reason: String) {
            self.policy = policy
            self.rule = rule
            self.reason = reason
        }
    }

    /// Creates a decision with the given texts.
    public init(allowed: Bool, code: DecisionCode, policy: String?, rule: String?, reason: String, ring: Int) {
        self.init(allowed: allowed, code: code, ring: ring, source: .given(Given(policy: policy, rule: rule, reason: reason)))
    }

    /// A machine's decision.
    @inline(__always)
    init(allowed: Bool, code: DecisionCode, ring: Int, source: Source, fault: RuleFault? = nil) {
        self.allowed = allowed
        self.code = code
        self.ring = ring
        self.fault = fault
        self.source = source
    }

    /// The deciding rule's policy, nil when no rule decided.
    public var policy: String? {
        switch source {
        case .none: nil
        case .rule(let ref), .policyDefault(let ref): ref.texts.policy
        case .given(let given): given.policy
        }
    }

    /// The deciding rule's id, nil when no rule decided.
    public var rule: String? {
        switch source {
        case .none, .policyDefault: nil
        case .rule(let ref): ref.texts.rule
        case .given(let given): given.rule
        }
    }

    /// The rule's reason or a generated one.
    public var reason: String {
        switch source {
        case .none: fault.map { "\($0.phrase); refused to fail closed" } ?? Decision.defaultReason
        case .policyDefault(let ref): ref.texts.decided
        case .given(let given): given.reason
        case .rule(let ref):
            switch code {
            case .ring: ref.texts.ringReason(ring)
            case .rateLimit: ref.texts.rateLimitReason
            case .error: ref.texts.errorReason(fault ?? .typeMismatch)
            case .allow, .denyRule, .default, .killed, .quarantine, .breaker: ref.texts.decided
            }
        }
    }

    /// `allow` or `deny`.
    public var decision: String { allowed ? "allow" : "deny" }

    /// The reason text reported when no rule decides.
    public static let defaultReason = "no rule allowed the request (default deny)"

    /// Equal outcome, ring and texts.
    public static func == (a: Decision, b: Decision) -> Bool {
        guard a.allowed == b.allowed, a.code == b.code, a.ring == b.ring, a.fault == b.fault else { return false }
        switch (a.source, b.source) {
        case (.none, .none): return true
        case (.rule(let x), .rule(let y)) where x == y: return true
        case (.policyDefault(let x), .policyDefault(let y)) where x == y: return true
        default: return a.policy == b.policy && a.rule == b.rule && a.reason == b.reason
        }
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(allowed)
        hasher.combine(code)
        hasher.combine(ring)
        hasher.combine(fault)
        hasher.combine(policy)
        hasher.combine(rule)
        hasher.combine(reason)
    }
}
