#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State behind a pthread mutex with one condition variable: `withLock` runs a body holding the
/// mutex, `withLock(waitingUntil:)` first sleeps until a condition on the state holds, woken by
/// another thread's `broadcast`.
final class Monitor<State: ~Copyable>: @unchecked Sendable {
    // Safety: `state` is only touched while `mutex` is held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    /// Guards `state`.
    init(_ state: consuming State) {
        self.state = state
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body` with the state, holding the mutex.
    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Holding the mutex, sleeps (releasing it) until `ready` holds, then runs `body` with the
    /// state. `ready` reads the state afresh after every wake-up: a loop around a wait inside
    /// `withLock`'s body would not, since the body's `inout` access lets the optimiser keep the
    /// state it read before the wait (a release build then sleeps forever).
    func withLock<R, E: Error>(waitingUntil ready: (borrowing State) -> Bool, _ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return try body(&state)
    }

    /// Wakes every thread sleeping in `wait`.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

