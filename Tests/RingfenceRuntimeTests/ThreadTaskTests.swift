@testable import RingfenceRuntime
import Synchronization
import Testing

/// `ThreadTask`: a value computed on a thread of its own, always joined.
@Suite struct ThreadTaskTests {
    struct Failure: Error, Equatable { let n: Int }

    final class Counter: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test func theValueIsWhatTheThreadComputed() {
        let task = ThreadTask { () throws(Never) in (1...1_000).reduce(0, +) }
        #expect(task.value() == 500_500)
        // Asked again, the same value (the thread is joined once).
        #expect(task.value() == 500_500)
    }

    @Test func whatTheThreadThrowsIsThrownByValue() {
        let task = ThreadTask { () throws(Failure) -> Int in throw Failure(n: 7) }
        #expect(throws: Failure(n: 7)) { try task.value() }
    }

    /// A task dropped without being asked still joins its thread: what the thread did is done
    /// by the time the task is gone.
    @Test func aTaskDroppedUnaskedJoinsItsThread() {
        let done = Counter()
        for _ in 0..<50 {
            _ = ThreadTask { () throws(Never) in
                for _ in 0..<1_000 { done.count.add(1, ordering: .relaxed) }
            }
        }
        #expect(done.count.load(ordering: .relaxed) == 50_000)
    }
}
