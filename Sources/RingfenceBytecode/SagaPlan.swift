/// A compiled saga (SPEC §5): steps with every name resolved to an index, a topological order,
/// fan-out groups, limits, retry and escalation policies, and the compensation rule. The runtime
/// drives sagas from plans alone; it never sees the YAML.
///
/// ```
/// field          meaning
/// steps          step i: ids, endpoints, timeout (ms), retries, retry override, dependencies (indexes)
/// order          every step index once; each step comes after all of its dependencies
/// fanOuts        groups of ≥ 2 branch step indexes and the policy that decides the group
/// retry          the saga's retry policy (a step's own `retry` overrides it)
/// compensation   reverse completion order; escalate after `attempts` failed compensations
/// baseURL        what relative endpoints resolve against (nil: the runner's `--base-url`)
/// maxConcurrency at most this many steps run at once (1–64, default 4)
/// ```
public struct SagaPlan: Sendable, Hashable {
    /// The saga's name, unique in a program.
    public var name: String
    /// The session the saga belongs to.
    public var sessionID: String
    /// The saga's id when the file fixes one.
    public var sagaID: String?
    /// The file it was compiled from.
    public var file: String
    /// The source line of the saga.
    public var line: UInt32
    /// The steps in file order.
    public var steps: [Step]
    /// Step indexes in execution order: declaration order, moved only as far as dependencies need.
    public var order: [UInt32]
    /// The fan-out groups.
    public var fanOuts: [FanOut]
    /// The saga-wide retry policy.
    public var retry: Retry
    /// How committed steps are undone when the saga fails.
    public var compensation: Compensation
    /// Scalar `metadata` entries, in file order.
    public var metadata: [Metadata]
    /// The URL relative `execute_api` and `undo_api` paths resolve against, when the file gives one.
    public var baseURL: String?
    /// How many steps may run at once (1–64).
    public var maxConcurrency: UInt8

    /// The `max_concurrency` of a saga that does not set it (SPEC §10.1).
    public static let defaultMaxConcurrency: UInt8 = 4

    /// Creates a plan.
    public init(name: String, sessionID: String, sagaID: String?, file: String, line: UInt32, steps: [Step], order: [UInt32],
                fanOuts: [FanOut], retry: Retry, compensation: Compensation, metadata: [Metadata], baseURL: String? = nil,
                maxConcurrency: UInt8 = SagaPlan.defaultMaxConcurrency) {
        self.name = name
        self.sessionID = sessionID
        self.sagaID = sagaID
        self.file = file
        self.line = line
        self.steps = steps
        self.order = order
        self.fanOuts = fanOuts
        self.retry = retry
        self.compensation = compensation
        self.metadata = metadata
        self.baseURL = baseURL
        self.maxConcurrency = maxConcurrency
    }

    /// True when some step has `depends_on`: the steps form a DAG rather than a sequence (SPEC §10.1).
    public var isGraph: Bool { steps.contains { !$0.dependsOn.isEmpty } }

    /// One step of a plan.
    public struct Step: Sendable, Hashable {
        /// The step's id.
        public var id: String
        /// The action it performs.
        public var actionID: String
        /// The agent that executes it.
        public var agent: String
        /// The executing endpoint, if any.
        public var executeAPI: String?
        /// The compensating endpoint; nil when the step cannot be undone.
        public var undoAPI: String?
        /// Milliseconds before an attempt is abandoned (1 ms to 1 day).
        public var timeoutMilliseconds: UInt32
        /// Attempts after the first (0–10).
        public var retries: UInt8
        /// This step's own retry policy, overriding the saga's.
        public var retry: Retry?
        /// The checkpoint goal, if any.
        public var checkpointGoal: String?
        /// Indexes of the steps that must complete first.
        public var dependsOn: [UInt32]
        /// The source line of the step.
        public var line: UInt32

        /// Creates a step.
        public init(id: String, actionID: String, agent: String, executeAPI: String?, undoAPI: String?, timeoutMilliseconds: UInt32,
                    retries: UInt8, retry: Retry?, checkpointGoal: String?, dependsOn: [UInt32], line: UInt32) {
            self.id = id
            self.actionID = actionID
            self.agent = agent
            self.executeAPI = executeAPI
            self.undoAPI = undoAPI
            self.timeoutMilliseconds = timeoutMilliseconds
            self.retries = retries
            self.retry = retry
            self.checkpointGoal = checkpointGoal
            self.dependsOn = dependsOn
            self.line = line
        }
    }

    /// Branches that run concurrently and the policy that decides whether the group succeeded.
    public struct FanOut: Sendable, Hashable {
        /// When the group succeeds.
        public var policy: Policy
        /// Branch step indexes (at least two, each in at most one group).
        public var branches: [UInt32]

        /// Creates a group.
        public init(policy: Policy, branches: [UInt32]) {
            self.policy = policy
            self.branches = branches
        }

        /// A fan-out success policy, stored as one byte.
        public enum Policy: UInt8, Sendable, Hashable, CaseIterable {
            /// Every branch must succeed.
            case allMustSucceed = 0
            /// More than half of the branches must succeed.
            case majorityMustSucceed = 1
            /// At least one branch must succeed.
            case anyMustSucceed = 2

            /// The policy as written in saga files.
            public var spelling: String {
                switch self {
                case .allMustSucceed: "all_must_succeed"
                case .majorityMustSucceed: "majority_must_succeed"
                case .anyMustSucceed: "any_must_succeed"
                }
            }
        }
    }

    /// Exponential backoff: retry n waits `min(max, initial × multiplier^(n−1))` seconds, of
    /// which the fraction `jitter` is randomised downwards.
    public struct Retry: Sendable, Hashable {
        /// Seconds before the first retry.
        public var initial: Double
        /// Growth per retry.
        public var multiplier: Double
        /// The longest wait in seconds.
        public var max: Double
        /// Randomised fraction of each wait (0–1).
        public var jitter: Double

        /// Creates a retry policy.
        public init(initial: Double, multiplier: Double, max: Double, jitter: Double) {
            self.initial = initial
            self.multiplier = multiplier
            self.max = max
            self.jitter = jitter
        }
    }

    /// How a failed saga is compensated and when a failing compensation escalates.
    public struct Compensation: Sendable, Hashable {
        /// The order committed steps are undone in.
        public var order: Order
        /// Where a compensation that keeps failing escalates.
        public var escalate: Escalation
        /// Compensation attempts per step before escalating (1–10).
        public var attempts: UInt8

        /// Creates a compensation rule.
        public init(order: Order = .reverseCompletion, escalate: Escalation = .liability, attempts: UInt8) {
            self.order = order
            self.escalate = escalate
            self.attempts = attempts
        }

        /// Compensation orders; SPEC §5 fixes the one there is.
        public enum Order: UInt8, Sendable, Hashable {
            /// Committed steps are undone in reverse order of completion.
            case reverseCompletion = 0
        }

        /// Escalation targets.
        public enum Escalation: UInt8, Sendable, Hashable {
            /// The joint-liability ledger.
            case liability = 0
        }
    }

    /// One scalar `metadata` entry.
    public struct Metadata: Sendable, Hashable {
        /// The key.
        public var key: String
        /// The value as written.
        public var value: String

        /// Creates an entry.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }
}

// MARK: Verification

extension Verifier {
    /// The longest timeout or retry delay a plan may hold, in seconds.
    static let maxSagaSeconds: Double = 86_400

    /// Checks every saga plan: names unique, every index in range, dependencies acyclic and
    /// `order` a topological order of them, fan-out groups well formed, limits in range.
    static func verifySagas(_ p: Program) throws(Failure) {
        var names = Set<String>()
        for (i, saga) in p.sagas.enumerated() {
            let at = "saga \(i) (`\(saga.name)`)"
            func fail(_ message: String) -> Failure { Failure(message: "\(at) \(message)") }
            guard names.insert(saga.name).inserted else { throw fail("repeats a saga name") }
            guard !saga.steps.isEmpty else { throw fail("has no steps") }
            try verify(saga.retry, fail)
            guard (1...10).contains(saga.compensation.attempts) else { throw fail("has an invalid compensation attempt count") }
            guard (1...64).contains(saga.maxConcurrency) else { throw fail("has max_concurrency \(saga.maxConcurrency)") }
            if let base = saga.baseURL, SagaEndpoint(base) == nil { throw fail("has a base url that is not an absolute http(s) url") }
            var ids = Set<String>()
            for (s, step) in saga.steps.enumerated() {
                guard ids.insert(step.id).inserted else { throw fail("repeats step id `\(step.id)`") }
                guard (1...86_400_000).contains(step.timeoutMilliseconds) else { throw fail("step \(s) has timeout \(step.timeoutMilliseconds) ms") }
                guard step.retries <= 10 else { throw fail("step \(s) has \(step.retries) retries") }
                if let retry = step.retry { try verify(retry, fail) }
                for d in step.dependsOn where Int(d) >= saga.steps.count || Int(d) == s {
                    throw fail("step \(s) depends on step \(d), which is not another step")
                }
            }
            // `order` holds every step once, each after all of its dependencies (so no cycle exists).
            guard saga.order.count == saga.steps.count else { throw fail("has an order of the wrong length") }
            var position = [Int](repeating: -1, count: saga.steps.count)
            for (k, s) in saga.order.enumerated() {
                guard Int(s) < saga.steps.count, position[Int(s)] < 0 else { throw fail("has an order that is not a permutation") }
                position[Int(s)] = k
            }
            for (s, step) in saga.steps.enumerated() {
                for d in step.dependsOn where position[Int(d)] > position[s] {
                    throw fail("orders step \(s) before its dependency \(d)")
                }
            }
            var branched = Set<UInt32>()
            for (g, group) in saga.fanOuts.enumerated() {
                guard group.branches.count >= 2 else { throw fail("fan-out \(g) has fewer than two branches") }
                for b in group.branches {
                    guard Int(b) < saga.steps.count else { throw fail("fan-out \(g) names step \(b), which does not exist") }
                    guard branched.insert(b).inserted else { throw fail("fan-out \(g) repeats branch \(b)") }
                }
            }
        }
    }

    /// Checks that a retry policy's numbers are finite and in range.
    private static func verify(_ retry: SagaPlan.Retry, _ fail: (String) -> Failure) throws(Failure) {
        let ok = retry.initial.isFinite && retry.initial > 0 && retry.initial <= maxSagaSeconds
            && retry.max.isFinite && retry.max >= retry.initial && retry.max <= maxSagaSeconds
            && retry.multiplier.isFinite && (1...10).contains(retry.multiplier)
            && retry.jitter.isFinite && (0...1).contains(retry.jitter)
        guard ok else { throw fail("has a retry policy out of range") }
    }
}

// MARK: Serialisation

extension ProgramCoding {
    /// Appends the saga section: a count, then each plan.
    static func encodeSagas(_ sagas: [SagaPlan], _ w: inout BinaryWriter) {
        w.count(sagas.count)
        for saga in sagas {
            w.string(saga.name)
            w.string(saga.sessionID)
            w.optional(saga.sagaID) { $0.string($1) }
            w.string(saga.file)
            w.int(saga.line)
            w.count(saga.steps.count)
            for step in saga.steps {
                w.string(step.id)
                w.string(step.actionID)
                w.string(step.agent)
                w.optional(step.executeAPI) { $0.string($1) }
                w.optional(step.undoAPI) { $0.string($1) }
                w.int(step.timeoutMilliseconds)
                w.int(step.retries)
                w.optional(step.retry) { encodeRetry($1, &$0) }
                w.optional(step.checkpointGoal) { $0.string($1) }
                w.count(step.dependsOn.count)
                for d in step.dependsOn { w.int(d) }
                w.int(step.line)
            }
            w.count(saga.order.count)
            for s in saga.order { w.int(s) }
            w.count(saga.fanOuts.count)
            for group in saga.fanOuts {
                w.int(group.policy.rawValue)
                w.count(group.branches.count)
                for b in group.branches { w.int(b) }
            }
            encodeRetry(saga.retry, &w)
            w.int(saga.compensation.order.rawValue)
            w.int(saga.compensation.escalate.rawValue)
            w.int(saga.compensation.attempts)
            w.count(saga.metadata.count)
            for entry in saga.metadata {
                w.string(entry.key)
                w.string(entry.value)
            }
            w.optional(saga.baseURL) { $0.string($1) }
            w.int(saga.maxConcurrency)
        }
    }

    /// Appends a retry policy as four doubles.
    private static func encodeRetry(_ retry: SagaPlan.Retry, _ w: inout BinaryWriter) {
        w.double(retry.initial)
        w.double(retry.multiplier)
        w.double(retry.max)
        w.double(retry.jitter)
    }

    /// Reads the saga section; every count is checked against the bytes left.
    static func decodeSagas(_ r: inout BinaryReader) throws(BinaryReader.Malformed) -> [SagaPlan] {
        var sagas: [SagaPlan] = []
        for _ in 0..<(try r.count(minimumItemSize: 60)) {
            let name = try r.string(), sessionID = try r.string()
            let sagaID = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.string() }
            let file = try r.string()
            let line = try r.int(UInt32.self)
            var steps: [SagaPlan.Step] = []
            for _ in 0..<(try r.count(minimumItemSize: 28)) {
                let id = try r.string(), actionID = try r.string(), agent = try r.string()
                let executeAPI = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.string() }
                let undoAPI = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.string() }
                let timeout = try r.int(UInt32.self)
                let retries = try r.int(UInt8.self)
                let retry = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try decodeRetry(&r) }
                let goal = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.string() }
                var dependsOn: [UInt32] = []
                for _ in 0..<(try r.count(minimumItemSize: 4)) { dependsOn.append(try r.int()) }
                steps.append(SagaPlan.Step(id: id, actionID: actionID, agent: agent, executeAPI: executeAPI, undoAPI: undoAPI,
                                           timeoutMilliseconds: timeout, retries: retries, retry: retry, checkpointGoal: goal,
                                           dependsOn: dependsOn, line: try r.int()))
            }
            var order: [UInt32] = []
            for _ in 0..<(try r.count(minimumItemSize: 4)) { order.append(try r.int()) }
            var fanOuts: [SagaPlan.FanOut] = []
            for _ in 0..<(try r.count(minimumItemSize: 5)) {
                let raw = try r.int(UInt8.self)
                guard let policy = SagaPlan.FanOut.Policy(rawValue: raw) else { throw .init(message: "unknown fan-out policy \(raw)") }
                var branches: [UInt32] = []
                for _ in 0..<(try r.count(minimumItemSize: 4)) { branches.append(try r.int()) }
                fanOuts.append(SagaPlan.FanOut(policy: policy, branches: branches))
            }
            let retry = try decodeRetry(&r)
            let orderRaw = try r.int(UInt8.self), escalateRaw = try r.int(UInt8.self)
            guard let compensationOrder = SagaPlan.Compensation.Order(rawValue: orderRaw) else {
                throw .init(message: "unknown compensation order \(orderRaw)")
            }
            guard let escalate = SagaPlan.Compensation.Escalation(rawValue: escalateRaw) else {
                throw .init(message: "unknown escalation target \(escalateRaw)")
            }
            let compensation = SagaPlan.Compensation(order: compensationOrder, escalate: escalate, attempts: try r.int())
            var metadata: [SagaPlan.Metadata] = []
            for _ in 0..<(try r.count(minimumItemSize: 8)) {
                metadata.append(SagaPlan.Metadata(key: try r.string(), value: try r.string()))
            }
            let baseURL = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.string() }
            let maxConcurrency = try r.int(UInt8.self)
            sagas.append(SagaPlan(name: name, sessionID: sessionID, sagaID: sagaID, file: file, line: line, steps: steps,
                                  order: order, fanOuts: fanOuts, retry: retry, compensation: compensation, metadata: metadata,
                                  baseURL: baseURL, maxConcurrency: maxConcurrency))
        }
        return sagas
    }

    /// Reads a retry policy written by `encodeRetry`.
    private static func decodeRetry(_ r: inout BinaryReader) throws(BinaryReader.Malformed) -> SagaPlan.Retry {
        SagaPlan.Retry(initial: try r.double(), multiplier: try r.double(), max: try r.double(), jitter: try r.double())
    }
}

// MARK: Disassembly

extension Disassembler {
    /// The saga plans as text, one block per saga (empty when the program has none).
    public static func renderSagas(_ p: Program) -> [String] {
        var out: [String] = []
        for saga in p.sagas {
            var head = "saga \(saga.name) session \(describe(.string(saga.sessionID)))"
            if let id = saga.sagaID { head += " id \(describe(.string(id)))" }
            if let base = saga.baseURL { head += " base \(describe(.string(base)))" }
            if saga.maxConcurrency != SagaPlan.defaultMaxConcurrency { head += " concurrency \(saga.maxConcurrency)" }
            out.append(head + " line \(saga.line)")
            out.append("  retry \(render(saga.retry))")
            let c = saga.compensation
            out.append("  compensate reverse-completion, escalate liability after \(c.attempts) failed attempt\(c.attempts == 1 ? "" : "s")")
            for (i, step) in saga.steps.enumerated() {
                var line = "  step T\(i) \(step.id) action \(step.actionID) agent \(step.agent) timeout \(milliseconds(step.timeoutMilliseconds)) retries \(step.retries)"
                if let api = step.executeAPI { line += " execute \(describe(.string(api)))" }
                line += step.undoAPI.map { " undo \(describe(.string($0)))" } ?? " no-undo"
                if !step.dependsOn.isEmpty { line += " after " + step.dependsOn.map { "T\($0)" }.joined(separator: ",") }
                if let retry = step.retry { line += " retry \(render(retry))" }
                if let goal = step.checkpointGoal { line += " goal \(describe(.string(goal)))" }
                out.append(line + " line \(step.line)")
            }
            out.append("  order " + saga.order.map { "T\($0)" }.joined(separator: " "))
            for (g, group) in saga.fanOuts.enumerated() {
                let names = group.branches.map { Int($0) < saga.steps.count ? "T\($0) \(saga.steps[Int($0)].id)" : "T\($0) ?" }
                out.append("  fanout F\(g) \(group.policy.spelling) [\(names.joined(separator: ", "))]")
            }
            for entry in saga.metadata { out.append("  meta \(entry.key) = \(describe(.string(entry.value)))") }
        }
        return out
    }

    /// A retry policy as one line of text.
    private static func render(_ r: SagaPlan.Retry) -> String {
        "exponential initial=\(seconds(r.initial)) multiplier=\(number(r.multiplier)) max=\(seconds(r.max)) jitter=\(number(r.jitter))"
    }

    /// A number of milliseconds as a duration: `120s` when whole seconds, else `250ms`.
    private static func milliseconds(_ ms: UInt32) -> String { ms % 1_000 == 0 ? "\(ms / 1_000)s" : "\(ms)ms" }

    /// A number of seconds, e.g. `1.5s`.
    private static func seconds(_ x: Double) -> String { number(x) + "s" }

    /// A number as the disassembler writes constants.
    private static func number(_ x: Double) -> String { describe(.number(x)) }
}

extension SagaPlan {
    /// Checks this plan as the verifier checks the plans of a loaded bundle (for plans read back
    /// from elsewhere, such as a saga's stored row); the message says what is wrong.
    public func verify() throws(Verifier.Failure) {
        try Verifier.verifySagas(Program(sagas: [self]))
    }
}
