import RingfenceBytecode
import RingfenceVM
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What runs a step (SPEC §10.2). The runtime's core knows executors only through the
// `StepExecutor` protocol: in-process closures registered per `action_id` live here; the HTTP
// executor lives in its own target (`RingfenceHTTPExecutor`), so async-http-client never
// reaches the core. Time and randomness are parameters too (`SagaTimer`, `SagaRandom`), so a
// saga with retries and jitter runs in no real time under test and repeats exactly.

/// Execute or undo.
public enum StepPhase: String, Sendable, Hashable, CaseIterable {
    /// Running the step forward (`execute_api`).
    case execute
    /// Compensating it (`undo_api`).
    case undo
}

/// One attempt, as an executor sees it.
public struct StepCall: Sendable, Hashable {
    /// The saga's id.
    public var saga: String
    /// The step's id.
    public var step: String
    /// The step's `action_id`.
    public var action: String
    /// The agent the attempt was decided for.
    public var agent: String
    /// 1 for the first attempt of this phase, then 2, 3, …
    public var attempt: Int
    /// Execute or undo.
    public var phase: StepPhase
    /// `execute_api` or `undo_api` as written (a URL, or a path).
    public var endpoint: String?
    /// The base URL a path resolves against.
    public var baseURL: String?
    /// The saga's input.
    public var input: Value
    /// The attempt's time limit, in milliseconds.
    public var timeoutMilliseconds: Int64

    /// `<saga>/<step>/<phase>`: the same on every attempt and after every resume, so a service
    /// applies the effect once however often it is asked.
    public var idempotencyKey: String { "\(saga)/\(step)/\(phase.rawValue)" }

    /// The JSON body of SPEC §10.2: `{saga, step, action, agent, attempt, phase, input}`.
    public var body: Value {
        .object(["saga": .string(saga), "step": .string(step), "action": .string(action), "agent": .string(agent),
                 "attempt": .number(Double(attempt)), "phase": .string(phase.rawValue), "input": input])
    }
}

/// Why an attempt failed, and whether trying again may help.
public struct StepFailure: Error, Sendable, Hashable {
    /// The error the step records (`timeout`, `http_status`, `connection`, …).
    public var error: StepError
    /// True for failures a retry may cure (408, 425, 429, 5xx, timeouts, connection errors).
    public var retryable: Bool

    /// A failure.
    public init(_ code: String, _ message: String, retryable: Bool, status: Int? = nil) {
        error = StepError(code: code, message: message, status: status)
        self.retryable = retryable
    }

    /// The attempt ran past its timeout (retryable; it may have taken effect).
    public static func timeout(_ milliseconds: Int64) -> StepFailure {
        StepFailure("timeout", "the attempt took longer than its timeout of \(SagaText.duration(milliseconds))", retryable: true)
    }
}

/// Runs attempts of steps.
public protocol StepExecutor: Sendable {
    /// Why this executor cannot run `step`'s `phase` with `baseURL` (an endpoint that does not
    /// resolve, say), or nil when it can; asked for every step before a saga starts.
    func problem(with step: SagaPlan.Step, phase: StepPhase, baseURL: String?) -> String?
    /// Runs one attempt: the step's output (nil for none), or why it failed.
    func run(_ call: StepCall) async -> Result<Value?, StepFailure>
    /// True when the executor ends every attempt by its timeout itself (the HTTP executor's
    /// deadline); false makes the runner race the attempt against its timeout in a task of its own.
    var enforcesTimeout: Bool { get }
    /// False for an executor that runs every step it is given, whose `problem(with:phase:baseURL:)`
    /// is never asked (true unless an executor says otherwise).
    var checksSteps: Bool { get }
}

extension StepExecutor {
    /// True: `problem(with:phase:baseURL:)` is asked for every step before a saga starts.
    public var checksSteps: Bool { true }
}

/// A step run by a closure in this process (SPEC §10.2's in-process executor).
public struct InProcessStep: Sendable {
    /// How an attempt runs.
    public enum Isolation: Sendable, Hashable {
        /// In a task of its own, abandoned (and cancelled) at its timeout: a closure that hangs
        /// cannot hold the saga. The default.
        case task
        /// On the saga's own task, for closures that never block (no I/O, no waiting): no task
        /// is created, and an attempt that returns after its timeout counts as timed out.
        case inline
    }

    /// Runs an attempt of either phase.
    public var run: @Sendable (StepCall) async throws(StepFailure) -> Value?
    /// How attempts run.
    public var isolation: Isolation

    /// A step whose attempts `run` performs (it sees the phase in `call.phase`).
    public init(isolation: Isolation = .task, _ run: @escaping @Sendable (StepCall) async throws(StepFailure) -> Value?) {
        self.run = run
        self.isolation = isolation
    }
}

/// The executors a runtime's sagas use: closures per `action_id` first, then a fallback for
/// every other step (the HTTP executor, in the command line).
public struct SagaExecutors: Sendable {
    /// Closures by `action_id`.
    public var inProcess: [String: InProcessStep]
    /// Runs every step without a closure; nil when there is none.
    public var fallback: (any StepExecutor)?

    /// Executors: closures by action, and a fallback.
    public init(inProcess: [String: InProcessStep] = [:], fallback: (any StepExecutor)? = nil) {
        self.inProcess = inProcess
        self.fallback = fallback
    }

    /// The executor of steps whose action is `action`, or nil when nothing can run them.
    func executor(forAction action: String) -> (any StepExecutor)? {
        if let closure = inProcess[action] { return InProcessExecutor(step: closure) }
        return fallback
    }
}

/// An in-process closure as a `StepExecutor`.
struct InProcessExecutor: StepExecutor {
    /// The closure.
    let step: InProcessStep

    /// A closure can run any step.
    func problem(with step: SagaPlan.Step, phase: StepPhase, baseURL: String?) -> String? { nil }

    /// False: a closure runs whatever step it is given.
    var checksSteps: Bool { false }

    /// Calls the closure; a thrown `StepFailure` is the attempt's failure.
    func run(_ call: StepCall) async -> Result<Value?, StepFailure> {
        do {
            return .success(try await step.run(call))
        } catch {
            return .failure(error)
        }
    }

    /// Inline closures are timed by the runner after they return; task closures are raced.
    var enforcesTimeout: Bool { step.isolation == .inline }
}

/// Time for sagas: a monotonic clock for attempt deadlines, the waits between attempts, and the
/// timer an attempt is raced against.
public protocol SagaTimer: Sendable {
    /// A monotonic time, in microseconds.
    func now() -> Int64
    /// Waits `microseconds` between attempts (a retry's backoff, an undo's wait).
    func sleep(_ microseconds: Int64) async
    /// Returns after an attempt's timeout of `microseconds`, or at once when the task is cancelled.
    func timeout(_ microseconds: Int64) async
}

/// The system's monotonic clock and real waits.
public struct SystemSagaTimer: SagaTimer {
    /// Creates it.
    public init() {}

    /// CLOCK_MONOTONIC, in microseconds.
    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    /// Sleeps (a cancelled task wakes at once).
    public func sleep(_ microseconds: Int64) async {
        guard microseconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(microseconds) * 1_000)
    }

    /// Sleeps the timeout (a cancelled task wakes at once).
    public func timeout(_ microseconds: Int64) async {
        await sleep(microseconds)
    }
}

/// Random numbers for jitter.
public protocol SagaRandom: Sendable {
    /// A number in `[0, 1)`.
    func unit() -> Double
}

/// SplitMix64 from a seed: the same seed gives the same jitter (tests, reproducible runs).
public final class SeededSagaRandom: SagaRandom {
    /// The generator's state.
    private let state: Mutex<UInt64>

    /// A generator from `seed`.
    public init(seed: UInt64) {
        state = Mutex(seed)
    }

    /// The next number in `[0, 1)` (53 random bits).
    public func unit() -> Double {
        let bits = state.withLock { (s: inout UInt64) -> UInt64 in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return Double(bits >> 11) / Double(UInt64(1) << 53)
    }
}

/// The system's randomness.
public struct SystemSagaRandom: SagaRandom {
    /// Creates it.
    public init() {}
    /// A number in `[0, 1)`.
    public func unit() -> Double { Double.random(in: 0..<1) }
}

/// What a host does besides the liability ledger with an escalation (the runtime's `LedgerView`
/// slashes and quarantines the step's agent, SPEC §10.6). Called under the runtime's lock, once
/// per `<saga>/<step>`; the changes it returns commit with the escalation's own audit entry.
public protocol SagaEscalationHandler: Sendable {
    /// The ledger's changes for `escalation`.
    func escalated(_ escalation: SagaEscalation, at now: Int64) -> ChangeSet
}

/// No more than the ledger's slash and quarantine and the executor's own `saga.escalation` entry.
public struct RecordedEscalations: SagaEscalationHandler {
    /// Creates it.
    public init() {}
    /// No ledger change.
    public func escalated(_ escalation: SagaEscalation, at now: Int64) -> ChangeSet { .none }
}

/// Everything sagas run with besides the runtime itself.
public struct SagaEnvironment: Sendable {
    /// Who runs steps.
    public var executors: SagaExecutors
    /// Time.
    public var timer: any SagaTimer
    /// Jitter.
    public var random: any SagaRandom
    /// A host's own handling of escalations, beside the ledger's slash and quarantine.
    public var escalations: any SagaEscalationHandler

    /// An environment; by default no executors, the system's clock and randomness, and no
    /// escalation handling beyond the ledger's.
    public init(executors: SagaExecutors = SagaExecutors(), timer: any SagaTimer = SystemSagaTimer(),
                random: any SagaRandom = SystemSagaRandom(), escalations: any SagaEscalationHandler = RecordedEscalations()) {
        self.executors = executors
        self.timer = timer
        self.random = random
        self.escalations = escalations
    }
}

/// Texts shared by the saga executor.
enum SagaText {
    /// Milliseconds as a duration: `30s` when whole seconds, else `250ms`.
    static func duration(_ ms: Int64) -> String { ms % 1_000 == 0 ? "\(ms / 1_000)s" : "\(ms)ms" }
}
