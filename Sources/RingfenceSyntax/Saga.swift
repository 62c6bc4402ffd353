import RingfenceDiagnostics

/// A parsed saga definition (SPEC §5): the seed's format, or a `kind: saga` file with its
/// optional retry and escalation settings. Built only when the structure is sound; the
/// relations between steps (unknown names, cycles) are checked by the parser too.
public struct SagaDocument: Sendable {
    /// The file it came from.
    public var file: String
    /// The saga's name.
    public var name: Located<String>
    /// The session the saga belongs to.
    public var sessionID: Located<String>
    /// The saga's id, when the file fixes one (the seed generates one otherwise).
    public var sagaID: Located<String>?
    /// The steps in file order.
    public var steps: [SagaStep]
    /// The fan-out groups, from `fan_out` or `fan_outs`, in file order.
    public var fanOuts: [FanOutGroup]
    /// The top-level scalar entries of `metadata`, in file order (nested values are not kept).
    public var metadata: [SagaMetadataEntry]
    /// The saga-wide retry policy (`kind: saga` files only), or nil for the seed's fixed 1 s delay.
    public var retry: RetryPolicy?
    /// What happens when a compensation keeps failing (`kind: saga` files only).
    public var onCompensationFailure: CompensationFailurePolicy?
    /// The URL relative `execute_api` and `undo_api` paths are resolved against (`kind: saga` files only).
    public var baseURL: Located<String>?
    /// How many steps may run at once (`kind: saga` files only; nil for the default, 4).
    public var maxConcurrency: Int?
    /// `seed` for a file written for the seed system (no `ringfence:` key), nil for a native one.
    public var dialect: String?
    /// Where the document starts.
    public var location: SourceLocation

    /// Creates a saga document.
    public init(file: String, name: Located<String>, sessionID: Located<String>, sagaID: Located<String>?,
                steps: [SagaStep], fanOuts: [FanOutGroup], metadata: [SagaMetadataEntry], retry: RetryPolicy?,
                onCompensationFailure: CompensationFailurePolicy?, baseURL: Located<String>? = nil, maxConcurrency: Int? = nil,
                dialect: String?, location: SourceLocation) {
        self.file = file
        self.name = name
        self.sessionID = sessionID
        self.sagaID = sagaID
        self.steps = steps
        self.fanOuts = fanOuts
        self.metadata = metadata
        self.retry = retry
        self.onCompensationFailure = onCompensationFailure
        self.baseURL = baseURL
        self.maxConcurrency = maxConcurrency
        self.dialect = dialect
        self.location = location
    }
}

/// One step of a saga: the action an agent executes, how to undo it, and its limits.
public struct SagaStep: Sendable {
    /// The step's id, unique within its saga.
    public var id: Located<String>
    /// The action the step performs (e.g. `deploy.push`).
    public var actionID: Located<String>
    /// The agent (usually a DID) that executes it.
    public var agent: Located<String>
    /// The endpoint that executes the step, when given.
    public var executeAPI: String?
    /// The endpoint that compensates the step; nil when the step cannot be undone.
    public var undoAPI: String?
    /// Milliseconds before an attempt is abandoned (1 ms to 1 day, default 300 s); written as
    /// seconds or as a duration (`500ms`, `2m`).
    public var timeoutMilliseconds: Int64
    /// Attempts after the first (0–10, default 0).
    public var retries: Int
    /// What achieving the step means, for semantic checkpoints.
    public var checkpointGoal: String?
    /// Steps that must complete before this one starts.
    public var dependsOn: [Located<String>]
    /// A retry policy overriding the saga's for this step (`kind: saga` files only).
    public var retry: RetryPolicy?
    /// Where the step starts.
    public var location: SourceLocation

    /// The default `timeout`, in milliseconds.
    public static let defaultTimeout: Int64 = 300_000
    /// The default `retries`.
    public static let defaultRetries = 0

    /// Creates a step.
    public init(id: Located<String>, actionID: Located<String>, agent: Located<String>, executeAPI: String?,
                undoAPI: String?, timeoutMilliseconds: Int64, retries: Int, checkpointGoal: String?, dependsOn: [Located<String>],
                retry: RetryPolicy?, location: SourceLocation) {
        self.id = id
        self.actionID = actionID
        self.agent = agent
        self.executeAPI = executeAPI
        self.undoAPI = undoAPI
        self.timeoutMilliseconds = timeoutMilliseconds
        self.retries = retries
        self.checkpointGoal = checkpointGoal
        self.dependsOn = dependsOn
        self.retry = retry
        self.location = location
    }
}

/// When a fan-out group as a whole succeeds.
public enum FanOutPolicy: String, Sendable, Hashable, CaseIterable {
    /// Every branch must succeed.
    case allMustSucceed = "all_must_succeed"
    /// More than half of the branches must succeed.
    case majorityMustSucceed = "majority_must_succeed"
    /// At least one branch must succeed.
    case anyMustSucceed = "any_must_succeed"
}

/// Steps that run concurrently, with the policy that decides whether the group succeeded.
public struct FanOutGroup: Sendable {
    /// The success policy.
    public var policy: Located<FanOutPolicy>
    /// The ids of the branch steps, in file order.
    public var branches: [Located<String>]
    /// Where the group starts.
    public var location: SourceLocation

    /// Creates a fan-out group.
    public init(policy: Located<FanOutPolicy>, branches: [Located<String>], location: SourceLocation) {
        self.policy = policy
        self.branches = branches
        self.location = location
    }
}

/// Exponential backoff between attempts: the n-th retry waits
/// `min(max, initial × multiplier^(n−1))` seconds, scaled by a random factor in `[1 − jitter, 1]`.
public struct RetryPolicy: Sendable, Hashable {
    /// Seconds before the first retry (> 0, ≤ 86400).
    public var initial: Double
    /// Growth factor per retry (1–10).
    public var multiplier: Double
    /// The longest wait, in seconds (≥ initial, ≤ 86400).
    public var max: Double
    /// The fraction of each wait that is randomised (0–1).
    public var jitter: Double

    /// The seed's behaviour: a fixed one-second delay between attempts.
    public static let seed = RetryPolicy(initial: 1, multiplier: 1, max: 1, jitter: 0)
    /// The defaults for a `retry:` block's absent keys: 1 s doubling to at most 60 s, no jitter.
    public static let defaults = RetryPolicy(initial: 1, multiplier: 2, max: 60, jitter: 0)

    /// Creates a retry policy.
    public init(initial: Double, multiplier: Double, max: Double, jitter: Double) {
        self.initial = initial
        self.multiplier = multiplier
        self.max = max
        self.jitter = jitter
    }
}

/// What the runtime does when compensating a step keeps failing.
public struct CompensationFailurePolicy: Sendable, Hashable {
    /// Where the failure escalates to; the liability ledger is the one target.
    public var escalate: EscalationTarget
    /// Compensation attempts before escalating (1–10).
    public var attempts: Int

    /// The seed's behaviour: one attempt, then escalate.
    public static let seed = CompensationFailurePolicy(escalate: .liability, attempts: 1)

    /// Creates a compensation-failure policy.
    public init(escalate: EscalationTarget, attempts: Int) {
        self.escalate = escalate
        self.attempts = attempts
    }
}

/// Where a failed compensation escalates.
public enum EscalationTarget: String, Sendable, Hashable, CaseIterable {
    /// The joint-liability ledger (SPEC §5).
    case liability
}

/// One `metadata` entry whose value is a scalar, kept as written.
public struct SagaMetadataEntry: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The scalar's text.
    public var value: String

    /// Creates an entry.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
