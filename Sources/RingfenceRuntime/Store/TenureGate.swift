#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The in-process side of a store's tenure: a flag under a mutex and a condition, so that one
/// runtime of this process holds it at a time and it may be released by another thread than
/// the one that took it (a pthread mutex may not). A shared `MemoryStore` is this gate alone;
/// the PostgreSQL store takes it before its advisory lock (a lock that is re-entrant within its
/// database session, so it cannot tell two runtimes of one process apart).
public final class TenureGate: @unchecked Sendable {
    // Safety: `held` is touched only under `mutex`; the primitives live at fixed addresses.
    /// True while a runtime holds (or is taking) the tenure.
    private var held = false
    /// Guards `held`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when the gate opens.
    private let opened = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// An open gate (timed waits measure the monotonic clock where there is one).
    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(opened, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(opened)
        pthread_mutex_destroy(mutex)
        opened.deallocate()
        mutex.deallocate()
    }

    /// Waits until nobody holds the gate — at most `seconds`, or for as long as it takes when
    /// nil — and takes it; false when the wait ran out (holding nothing).
    public func enter(within seconds: Int? = nil) -> Bool {
        var deadline = timespec()
        if let seconds {
            #if canImport(Glibc)
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            #else
            clock_gettime(CLOCK_REALTIME, &deadline)
            #endif
            deadline.tv_sec += seconds
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while held {
            if seconds == nil {
                pthread_cond_wait(opened, mutex)
            } else if pthread_cond_timedwait(opened, mutex, &deadline) == ETIMEDOUT && held {
                return false
            }
        }
        held = true
        return true
    }

    /// Opens the gate for the next runtime.
    public func leave() {
        pthread_mutex_lock(mutex)
        held = false
        pthread_cond_signal(opened)
        pthread_mutex_unlock(mutex)
    }
}
