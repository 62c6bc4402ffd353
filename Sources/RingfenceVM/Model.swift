/// A JSON-shaped value carried by requests (`params`, `context`, `agent.attrs`).
public indirect enum Value: Sendable, Hashable {
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
}

/// The outcome for one request (SPEC §1).
public struct Decision: Sendable, Hashable {
    /// True for allow, false for deny.
    public var allowed: Bool
    /// Why.
    public var code: DecisionCode
    /// The deciding rule's policy, nil when no rule decided.
    public var policy: String?
    /// The deciding rule's id, nil when no rule decided.
    public var rule: String?
    /// The rule's reason or a generated one.
    public var reason: String
    /// The agent's effective ring.
    public var ring: Int

    /// Creates a decision.
    public init(allowed: Bool, code: DecisionCode, policy: String?, rule: String?, reason: String, ring: Int) {
        self.allowed = allowed
        self.code = code
        self.policy = policy
        self.rule = rule
        self.reason = reason
        self.ring = ring
    }

    /// `allow` or `deny`.
    public var decision: String { allowed ? "allow" : "deny" }
}
