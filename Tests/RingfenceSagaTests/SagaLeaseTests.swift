import Foundation
import Ringfence
import RingfenceTestSupport
import Synchronization
import Testing

/// Sagas on a store several runtimes share (SPEC §15): one runtime runs a saga at a time under a
/// lease with a fencing token; another resumes it once the lease has expired; the stale owner's
/// next write is refused. The runtimes share a `MemoryStore(sharedClock:)`, whose clock the test
/// moves.
@Suite struct SagaLeaseTests {
    /// A one-shot gate async code can wait on.
    actor Gate {
        /// True once opened.
        private var isOpen = false
        /// Who waits.
        private var waiters: [CheckedContinuation<Void, Never>] = []

        /// Returns once the gate is open.
        func wait() async {
            if isOpen { return }
            await withCheckedContinuation { waiters.append($0) }
        }

        /// Opens the gate.
        func open() {
            isOpen = true
            for waiter in waiters { waiter.resume() }
            waiters = []
        }
    }

    /// 2026-11-21T10:00:00Z in microseconds.
    static let start: Int64 = 1_795_255_200_000_000

    /// A runtime on `store` with `steps`, its clock standing still (time is the store's).
    static func node(_ engine: Engine, _ store: MemoryStore, seed: UInt64, steps: [String: InProcessStep]) throws -> Runtime {
        let runtime = try Runtime(engine: engine, store: store, clock: { 0 }, ids: .seeded(seed))
        runtime.sagaEnvironment = SagaEnvironment(executors: SagaExecutors(inProcess: steps))
        runtime.sagaLease = 5_000_000
        return runtime
    }

    @Test func anotherNodeResumesASagaOnceItsLeaseExpiresAndTheStaleOwnerIsFencedOff() async throws {
        let now = Atomic<Int64>(Self.start)
        let store = MemoryStore(sharedClock: { now.load(ordering: .relaxed) })
        let engine = try SagaFixture.engine([SagaRuntimeTests.threeSteps])
        let plan = try SagaFixture.plan(engine, "three")
        let calls = SagaRuntimeTests.CallLog()
        let started = Gate(), proceed = Gate()
        var stuck = SagaRuntimeTests.succeeding(["svc.a", "svc.c"], log: calls)
        stuck["svc.b"] = InProcessStep { call in
            calls.append("stuck \(call.step)/\(call.attempt)")
            await started.open()
            await proceed.wait()
            return .null
        }
        let a = try Self.node(engine, store, seed: 1, steps: stuck)
        let b = try Self.node(engine, store, seed: 2, steps: SagaRuntimeTests.succeeding(["svc.a", "svc.b", "svc.c"], log: calls))
        _ = try a.createSession(id: "s1")
        for agent in SagaFixture.agents { _ = try b.join(session: "s1", agent: agent, trust: 0.85) }
        _ = try a.activate(session: "s1")

        let first = Task { try await a.runSaga(plan, session: "s1", id: "saga-1") }
        await started.wait()
        // While a's lease lasts, b neither lists the saga nor may resume it.
        #expect(try b.orphanedSagas() == [])
        await #expect(throws: RuntimeError.self) { try await b.resumeSaga("saga-1") }
        now.add(5_000_001, ordering: .relaxed)
        #expect(try b.orphanedSagas() == ["saga-1"])
        let result = try await b.resumeSaga("saga-1")
        #expect(result.state == .completed)
        // a's step ends after the takeover: its write is refused, and a stops.
        await proceed.open()
        do {
            _ = try await first.value
            Issue.record("the stale owner went on writing")
        } catch let error as RuntimeError {
            #expect(error.code == .sagaRunning)
        }
        // b ran the step in doubt again under the same attempt number, then c; a ran c never.
        #expect(calls.entries == ["a/execute/did:a", "stuck b/1", "b/execute/did:b", "c/execute/did:c"])
        #expect(try a.sagaResult("saga-1").state == .completed)
        a.close()
        b.close()
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    @Test func aRuntimeThatOwnsItsStoreWritesNoLease() async throws {
        let store = MemoryStore()
        let engine = try SagaFixture.engine([SagaRuntimeTests.threeSteps])
        let runtime = try SagaFixture.runtime(engine, store: store, environment: SagaEnvironment(executors: SagaExecutors(
            inProcess: SagaRuntimeTests.succeeding(["svc.a", "svc.b", "svc.c"]))))
        _ = try await runtime.runSaga(try SagaFixture.plan(engine, "three"), session: "s1")
        runtime.close()
        #expect(try store.load().rows.allSatisfy { $0.key.collection != "saga_leases" })
    }
}
