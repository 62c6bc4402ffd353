#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A readers–writer gate that prefers the writer: requests hold it shared while they use the
/// runtime, a reload holds it alone to swap the runtime, and once a reload waits no new request
/// enters, so a stream of requests cannot starve a reload and no request sees half a swap.
final class ReloadGate: @unchecked Sendable {
    // Safety: `readers`, `writing` and `writerWaiting` are touched only with `mutex` held;
    // the mutex and condition live at fixed addresses for the object's lifetime.
    /// The mutex guarding the counters.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when the last reader leaves or the writer is done.
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Requests inside the gate.
    private var readers = 0
    /// True while a writer holds the gate.
    private var writing = false
    /// Writers waiting to enter.
    private var writerWaiting = 0

    /// An open gate.
    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the gate shared.
    func shared<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        while writing || writerWaiting > 0 { pthread_cond_wait(changed, mutex) }
        readers += 1
        pthread_mutex_unlock(mutex)
        defer {
            pthread_mutex_lock(mutex)
            readers -= 1
            if readers == 0 { pthread_cond_broadcast(changed) }
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }

    /// Runs `body` holding the gate alone, once every request inside has left.
    func exclusive<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        writerWaiting += 1
        while writing || readers > 0 { pthread_cond_wait(changed, mutex) }
        writerWaiting -= 1
        writing = true
        pthread_mutex_unlock(mutex)
        defer {
            pthread_mutex_lock(mutex)
            writing = false
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
        return body()
    }
}
