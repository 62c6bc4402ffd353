#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value computed on a thread of its own: `init` starts the thread, `value()` waits for it to
/// end and gives its result. The thread is always joined — by `value()` or, if nobody asked, when
/// the task goes away — so nothing it touches (a store, say) is still in use after that.
final class ThreadTask<Success: Sendable, Failure: Error>: @unchecked Sendable {
    /// What the thread shares with the task: its work and, once it ends, the result.
    private final class Work: @unchecked Sendable {
        // Safety: `result` is written by the thread before it ends and read only after
        // `pthread_join` has returned.
        let body: @Sendable () throws(Failure) -> Success
        var result: Result<Success, Failure>?

        init(_ body: @escaping @Sendable () throws(Failure) -> Success) {
            self.body = body
        }

        func run() {
            result = Result { () throws(Failure) -> Success in try body() }
        }
    }

    // Safety: touched only by the task's owner (the thread holds `work`, not the task, so the
    // owner's last release is what joins the thread).
    private let work: Work
    private var thread = pthread_t()
    private var joined = false

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () throws(Failure) -> Success) {
        let work = Work(body)
        self.work = work
        thread = startThread(ThreadBody(work.run))
    }

    deinit {
        join()
    }

    /// Waits for the thread, then returns what it computed or throws what it threw.
    func value() throws(Failure) -> Success {
        join()
        return try work.result!.get()
    }

    private func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }
}

/// What a new thread runs (not generic: the C entry point below cannot be).
private final class ThreadBody: @unchecked Sendable {
    // Safety: immutable.
    let run: () -> Void

    init(_ run: @escaping () -> Void) {
        self.run = run
    }
}

/// Starts a thread running `body`; the caller joins it.
private func startThread(_ body: ThreadBody) -> pthread_t {
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, Unmanaged.passRetained(body).toOpaque())
    precondition(status == 0, "cannot start a thread")
    return thread
}
