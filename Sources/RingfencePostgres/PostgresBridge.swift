import Dispatch
import PostgresNIO
import Synchronization

// The store protocol is synchronous; postgres-nio is asynchronous. The bridge runs each store
// call as a Swift task pinned to one NIO event loop, and blocks the calling thread on a
// semaphore until the task finishes or the call's deadline passes.
//
//   caller thread ──(Task with executor preference)──▶ event loop thread: the task's code, the
//        ▲                                             pool, every connection's I/O and decoding
//        └──────────────── semaphore ◀──── result ─────┘
//
// - The loops belong to a group of their own (`PostgresBridge.group`, at most two threads,
//   started on first use and never shut down, like NIO's singletons), so a caller never blocks
//   a loop that its own work needs: blocking another library's event loop (or a thread of
//   Swift's cooperative pool) delays only that caller. A call made on our own loop thread would
//   wait for itself and is refused with an error instead.
// - Each store takes one loop and gives it to its `PostgresClient` as the group, so its
//   connections live on the loop that runs its tasks: after the first hop, awaiting a query
//   resumes on the same thread with no further hand-offs.
// - Cost per call, beyond the round trips themselves: one task allocation, one hop onto the
//   loop and one semaphore wake-up back (measured in docs/scaling.md).
// - Deadlines: the caller waits at most the store's `timeout`. A task that has not started
//   its COMMIT by then is abandoned: it is cancelled, and a transaction it holds open is rolled
//   back instead of committed (`CallControl.beginCommit`), so the caller may report that nothing
//   was committed. A task already committing is given a second `timeout` to learn the outcome,
//   since giving up there would leave the caller unable to say what happened.

/// The event loops that run the PostgreSQL stores' tasks and connections.
final class PostgresBridge: Sendable {
    /// The process-wide group: one or two threads, never shut down.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: min(2, max(1, System.coreCount)))

    /// The loop this bridge's tasks and connections run on.
    let loop: any EventLoop
    /// The task executor over `loop`.
    let executor: LoopTaskExecutor

    /// A bridge on the next loop of the shared group.
    init() {
        loop = Self.group.next()
        executor = LoopTaskExecutor(loop: loop)
    }

    /// How a bridged call ended.
    enum Outcome<T: Sendable>: Sendable {
        /// The task finished with this result.
        case finished(Result<T, any Error>)
        /// The deadline passed before the task began committing; it was cancelled and commits
        /// nothing. `leased` tells whether it ever obtained a connection.
        case abandoned(leased: Bool)
        /// The deadline and the grace period passed while the task was committing.
        case unresolved
    }

    /// Runs `body` on the loop and waits for it at most `timeout`, then (when it is committing)
    /// at most `grace` more; `control` is shared with the task.
    func run<T: Sendable>(timeout: Duration, grace: Duration = .zero, control: CallControl = CallControl(),
                          _ body: @escaping @Sendable (CallControl) async throws -> T) -> Outcome<T> {
        if loop.inEventLoop {
            return .finished(.failure(BridgeError.calledFromEventLoop))
        }
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: executor) {
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body(control))
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        if done.wait(timeout: Self.deadline(after: timeout)) == .success {
            return .finished(result.withLock { $0! })
        }
        if control.abandon() {
            task.cancel()
            return .abandoned(leased: control.hasLeased)
        }
        if done.wait(timeout: Self.deadline(after: grace)) == .success {
            return .finished(result.withLock { $0! })
        }
        task.cancel()
        return .unresolved
    }

    /// The dispatch time `duration` from now.
    static func deadline(after duration: Duration) -> DispatchTime {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow else { return .distantFuture }
        return .now() + .nanoseconds(Int(clamping: nanoseconds.partialValue + attoseconds / 1_000_000_000))
    }
}

/// Errors of the bridge itself.
enum BridgeError: Error {
    /// A call was made on the bridge's own loop thread.
    case calledFromEventLoop
    /// The caller abandoned the call before its COMMIT was sent.
    case abandoned
}

/// What a bridged task and its caller share: whether the task got a connection, and who won
/// the race between the task starting its COMMIT and the caller giving up.
final class CallControl: Sendable {
    /// Where the call stands.
    private enum Phase {
        /// Working, not yet committing.
        case working
        /// COMMIT has been (or is being) sent.
        case committing
        /// The caller gave up first.
        case abandoned
    }

    /// Where the call stands.
    private let phase = Mutex(Phase.working)
    /// Whether the task got a connection.
    private let leased = Atomic(false)
    /// Whether an earlier attempt of this call sent COMMIT and never heard the outcome.
    private let inDoubt = Atomic(false)

    /// Creates a control for a call that has just started.
    init() {}

    /// True once the task has obtained a connection from the pool.
    var hasLeased: Bool { leased.load(ordering: .acquiring) }

    /// Records that the task obtained a connection.
    func markLeased() { leased.store(true, ordering: .releasing) }

    /// True once an attempt of this call sent COMMIT without learning whether it committed:
    /// only then may a later attempt take entries already stored for its own.
    var previousCommitInDoubt: Bool { inDoubt.load(ordering: .acquiring) }

    /// Records that an attempt's COMMIT went unanswered.
    func markCommitInDoubt() { inDoubt.store(true, ordering: .releasing) }

    /// True when the caller gave up.
    var isAbandoned: Bool { phase.withLock { $0 == .abandoned } }

    /// Called by the task just before it sends COMMIT: true to go ahead, false when the caller
    /// has given up (the task then rolls back).
    func beginCommit() -> Bool {
        phase.withLock { phase in
            guard phase != .abandoned else { return false }
            phase = .committing
            return true
        }
    }

    /// Called by the caller at its deadline: true when the task had not begun committing (it
    /// now never will), false when its COMMIT is under way.
    func abandon() -> Bool {
        phase.withLock { phase in
            guard phase != .committing else { return false }
            phase = .abandoned
            return true
        }
    }
}

/// A task executor that runs jobs on one NIO event loop.
final class LoopTaskExecutor: TaskExecutor {
    /// The loop.
    let loop: any EventLoop

    /// An executor over `loop`.
    init(loop: any EventLoop) { self.loop = loop }

    /// Runs `job` on the loop.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
