#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain POSIX threads for the commands that spread work over cores (`eval`, `bench --threads`).
enum Threads {
    /// The processors online (at least 1).
    static var available: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Runs `body(0)`, …, `body(count - 1)` at once, `body(0)` on the calling thread (after
    /// `alongside`) and the others on new threads, and returns when all have finished. A share
    /// whose thread cannot be created runs on the calling thread.
    static func run(_ count: Int, alongside: () -> Void = {}, _ body: @escaping @Sendable (Int) -> Void) {
        final class Work: Sendable {
            let body: @Sendable (Int) -> Void
            let index: Int
            init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) {
                self.body = body
                self.index = index
            }
        }
        var threads: [pthread_t] = []
        var inline: [Int] = [0]
        for index in 1..<max(1, count) {
            let context = Unmanaged.passRetained(Work(body, index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { context in
                let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
                work.body(work.index)
                return nil
            }, context)
            if status == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Work>.fromOpaque(context).release()
                inline.append(index)
            }
        }
        alongside()
        for index in inline { body(index) }
        for thread in threads { pthread_join(thread, nil) }
    }
}
