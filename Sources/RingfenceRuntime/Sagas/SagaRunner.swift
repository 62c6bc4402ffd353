import RingfenceBytecode
import RingfenceVM
import Synchronization

// Running a saga (SPEC §10.1–§10.4): the forward part — a sequence, or a DAG when any step has
// `depends_on`, fan-out groups running their branches concurrently, at most `max_concurrency`
// steps at once — then, when it fails, compensation in reverse completion order. The runner
// holds no state of its own that matters: every transition goes through the runtime (and the
// store) first, so a run stopped anywhere resumes from the rows.
//
// Concurrency: a step that is the only one ready while nothing else runs is run on the saga's
// own task (a sequential saga creates no task at all); otherwise ready steps run as child tasks
// of one task group. An attempt runs on its step's task, or — for executors that do not end
// attempts by their timeout themselves — in a task of its own raced against the timeout.

extension Runtime {
    /// Starts `plan` in `session` and runs it to its end: the saga result of SPEC §10.5.
    /// `baseURL` overrides the plan's; `id` overrides the plan's `saga_id` (else one is generated).
    public func runSaga(_ plan: SagaPlan, session: String, id: String? = nil, input: Value = .null,
                        baseURL: String? = nil) async throws(RuntimeError) -> SagaResult {
        let saga = try beginSaga(plan, session: session, id: id ?? plan.sagaID, input: input, baseURL: baseURL)
        return try await drive(saga, from: .running)
    }

    /// Continues a stored saga where it stopped (SPEC §10.6); a saga that has ended returns its result.
    public func resumeSaga(_ id: String) async throws(RuntimeError) -> SagaResult {
        guard let (saga, state) = try claimSaga(id) else { return try sagaResult(id) }
        return try await drive(saga, from: state)
    }

    /// The ids of the stored sagas that have not ended and are not running here, in id order.
    public func unfinishedSagas() throws(RuntimeError) -> [String] {
        try perform { _ throws(RuntimeError) -> [String] in
            book.sagas.values.filter { !$0.state.isFinal && !$0.runningHere }.map(\.id).sorted()
        }
    }

    /// The result of saga `id` as it stands.
    public func sagaResult(_ id: String) throws(RuntimeError) -> SagaResult {
        try Self.checkID(id, "saga")
        return try withSaga(id) { SagaResult($0) }
    }

    /// Runs `saga` (claimed by this process) from `state` to its end, then releases it. The
    /// runner and every transition hold the saga's record rather than looking its id up in
    /// the book, a table of every saga the runtime has known. A run that ends writes its end,
    /// releases the saga and reads its result in one operation (`finishSaga`).
    private func drive(_ saga: SagaRecord, from state: SagaState) async throws(RuntimeError) -> SagaResult {
        do {
            let runner = SagaRunner(runtime: self, saga: saga, environment: sagaEnvironment)
            if state == .running {
                switch try await runner.forward() {
                case .completed: return try finishSaga(saga)
                case .failed(let reason): try startCompensating(saga, reason: reason)
                }
            }
            // Compensating now: its forward part failed, or it was compensating when claimed.
            // (`finishSaga` writes nothing for a saga that has ended already.)
            if try withSaga(saga, { $0.state }) == .compensating { try await runner.compensate() }
            return try finishSaga(saga)
        } catch {
            releaseSaga(saga)
            throw error
        }
    }
}

/// How the forward part ended.
enum ForwardOutcome: Sendable, Hashable {
    /// Every step settled and the saga succeeded.
    case completed
    /// The saga must compensate, for this reason.
    case failed(String)
}

/// Drives one saga's steps through the runtime's transitions.
struct SagaRunner: Sendable {
    /// The runtime the transitions go through.
    let runtime: Runtime
    /// The saga's record (read and changed only under the runtime's lock, by the runtime).
    let saga: SagaRecord
    /// Its plan, the record's (read in place as `shared.plan`: a copy of the plan retains each
    /// of its steps' strings and lists; the record's plan never changes, so it is read without
    /// the lock).
    var shared: SharedPlan { saga.shared }
    /// Executors, time and randomness.
    let environment: SagaEnvironment

    // MARK: Forward

    /// Runs the forward part: returns when every step has settled, or when the saga fails and
    /// the steps under way have finished.
    func forward() async throws(RuntimeError) -> ForwardOutcome {
        if shared.isSequence, let outcome = try await forwardInSequence() { return outcome }
        var states = try runtime.withSaga(saga) { $0.steps.map(\.state) }
        let deps = dependencies()
        var groupOf = [Int?](repeating: nil, count: shared.plan.steps.count)
        for (g, group) in shared.plan.fanOuts.enumerated() { for b in group.branches { groupOf[Int(b)] = g } }
        var groupResolved = [Bool?](repeating: nil, count: shared.plan.fanOuts.count)
        var failure: String?
        var running = Set<Int>()

        /// True when `d` no longer holds up its dependents.
        func satisfied(_ d: Int) -> Bool {
            states[d] == .committed || (groupOf[d].map { groupResolved[$0] == true } ?? false) && states[d].isSettled
        }
        /// Settles fan-out groups whose branches have all finished; the first unmet policy fails the saga.
        func resolveGroups() {
            for (g, group) in shared.plan.fanOuts.enumerated() where groupResolved[g] == nil {
                guard group.branches.allSatisfy({ states[Int($0)].isSettled }) else { continue }
                let committed = group.branches.filter { states[Int($0)] == .committed }.count
                let met = switch group.policy {
                case .allMustSucceed: committed == group.branches.count
                case .majorityMustSucceed: committed * 2 > group.branches.count
                case .anyMustSucceed: committed >= 1
                }
                groupResolved[g] = met
                if !met, failure == nil {
                    let names = group.branches.map { "`\(shared.plan.steps[Int($0)].id)`" }.joined(separator: ", ")
                    failure = "fan-out group [\(names)] is \(group.policy.spelling) and \(committed) of \(group.branches.count) branches committed"
                }
            }
        }
        /// Records how step `s` ended.
        func settle(_ s: Int, _ state: StepState) {
            states[s] = state
            if state == .failed, groupOf[s] == nil, failure == nil {
                failure = "step `\(shared.plan.steps[s].id)` failed"
            } else if state == .pending, failure == nil {
                failure = "the saga is compensating"
            }
            resolveGroups()
        }
        /// Steps that may start now: in doubt after a resume, or pending with their dependencies satisfied.
        func ready() -> [Int] {
            guard failure == nil else { return [] }
            return shared.plan.order.map(Int.init).filter { s in
                !running.contains(s) && (states[s] == .executing || states[s] == .pending && deps[s].allSatisfy(satisfied))
            }
        }

        resolveGroups()
        for s in states.indices where states[s] == .failed && groupOf[s] == nil && failure == nil {
            failure = "step `\(shared.plan.steps[s].id)` failed"
        }
        let limit = Int(shared.plan.maxConcurrency)
        return try await withTaskGroup(of: (Int, Result<StepState, RuntimeError>).self) { group -> Result<ForwardOutcome, RuntimeError> in
          do throws(RuntimeError) {
            while true {
                let candidates = ready()
                if running.isEmpty, candidates.count == 1 {
                    let s = candidates[0]
                    settle(s, try await runStep(s))
                    continue
                }
                for s in candidates.prefix(max(0, limit - running.count)) {
                    running.insert(s)
                    group.addTask { (s, await self.runStepResult(s)) }
                }
                guard !running.isEmpty else { break }
                guard let (s, result) = await group.next() else { break }
                running.remove(s)
                switch result {
                case .success(let state): settle(s, state)
                case .failure(let error):
                    // Let the others finish their attempts (their transitions are written), then stop.
                    while let (_, _) = await group.next() {}
                    throw error
                }
            }
            if let failure { return .success(.failed(failure)) }
            guard states.allSatisfy(\.isSettled) else { return .success(.failed("the saga is compensating")) }
            return .success(.completed)
          } catch {
            return .failure(error)
          }
        }.get()
    }

    /// The forward part of a plain sequence (no `depends_on`, no fan-out group), step after
    /// step on the saga's own task: what the general loop of `forward` does with it — each step
    /// depends on the one before it in `order`, so one step at most is ready at a time — without
    /// a task group or lists rebuilt at every step. Returns nil, before running another step, if
    /// it finds two steps ready at once (only a damaged store holds two attempts in doubt), and
    /// the general loop takes over from the runtime's state.
    func forwardInSequence() async throws(RuntimeError) -> ForwardOutcome? {
        var states = try runtime.withSaga(saga) { $0.steps.map(\.state) }
        if let s = states.firstIndex(of: .failed) { return .failed("step `\(shared.plan.steps[s].id)` failed") }
        while true {
            // The step that may start: in doubt after a resume, or pending after a committed one.
            var next: Int?
            var previous: Int?
            for position in shared.plan.order.indices {
                let s = Int(shared.plan.order[position])
                if states[s] == .executing || states[s] == .pending && (previous.map { states[$0] == .committed } ?? true) {
                    guard next == nil else { return nil }
                    next = s
                }
                previous = s
            }
            guard let s = next else { break }
            let state = try await runStep(s)
            states[s] = state
            if state == .failed { return .failed("step `\(shared.plan.steps[s].id)` failed") }
            if state == .pending { return .failed("the saga is compensating") }
        }
        return states.allSatisfy(\.isSettled) ? .completed : .failed("the saga is compensating")
    }

    /// Each step's effective dependencies: `depends_on` in a DAG; in a sequence, the unit
    /// (step or fan-out group) before it, a group's branches all depending on the unit before the group.
    func dependencies() -> [[Int]] {
        if shared.plan.isGraph { return shared.plan.steps.map { $0.dependsOn.map(Int.init) } }
        var deps = [[Int]](repeating: [], count: shared.plan.steps.count)
        var groupOf = [Int?](repeating: nil, count: shared.plan.steps.count)
        for (g, group) in shared.plan.fanOuts.enumerated() { for b in group.branches { groupOf[Int(b)] = g } }
        var previous: [Int] = []
        var placed = Set<Int>()
        for s in shared.plan.order.map(Int.init) where !placed.contains(s) {
            let unit = groupOf[s].map { shared.plan.fanOuts[$0].branches.map(Int.init) } ?? [s]
            for u in unit {
                deps[u] = previous
                placed.insert(u)
            }
            previous = unit
        }
        return deps
    }

    /// `runStep` with its error as a value (for child tasks).
    func runStepResult(_ s: Int) async -> Result<StepState, RuntimeError> {
        do throws(RuntimeError) {
            return .success(try await runStep(s))
        } catch {
            return .failure(error)
        }
    }

    /// Runs step `s`'s attempts until it settles; returns its state (`pending` when the saga
    /// started compensating before it ran).
    func runStep(_ s: Int) async throws(RuntimeError) -> StepState {
        var gate = try runtime.nextAttempt(saga, step: s)
        while true {
            switch gate {
            case .done(let state):
                return state
            case .wait(let microseconds):
                await environment.timer.sleep(microseconds)
                gate = try runtime.nextAttempt(saga, step: s, waited: true)
            case .run(let call):
                let result = await attempt(call)
                gate = try runtime.attemptEnded(saga, step: s, attempt: call.attempt, result)
                if case .wait(let microseconds) = gate {
                    await environment.timer.sleep(microseconds)
                    gate = try runtime.nextAttempt(saga, step: s, waited: true)
                }
            }
        }
    }

    // MARK: Compensation

    /// Settles attempts left in doubt, then undoes every committed step in reverse completion
    /// order, one at a time (SPEC §10.4).
    func compensate() async throws(RuntimeError) {
        let executing = try runtime.withSaga(saga) { saga in saga.steps.indices.filter { saga.steps[$0].state == .executing } }
        for s in executing { _ = try await runStep(s) }
        let order = try runtime.withSaga(saga) { saga in
            saga.steps.indices.filter { saga.steps[$0].completion != nil }.sorted { saga.steps[$0].completion! > saga.steps[$1].completion! }
        }
        for s in order {
            var gate = try runtime.nextUndo(saga, step: s)
            loop: while true {
                switch gate {
                case .done:
                    break loop
                case .wait(let microseconds):
                    await environment.timer.sleep(microseconds)
                    gate = try runtime.nextUndo(saga, step: s, waited: true)
                case .run(let call):
                    let result = await attempt(call)
                    gate = try runtime.undoEnded(saga, step: s, attempt: call.attempt, result)
                    if case .wait(let microseconds) = gate {
                        await environment.timer.sleep(microseconds)
                        gate = try runtime.nextUndo(saga, step: s, waited: true)
                    }
                }
            }
        }
    }

    // MARK: Attempts

    /// Runs one attempt within its timeout.
    func attempt(_ call: StepCall) async -> Result<Value?, StepFailure> {
        guard let executor = environment.executors.executor(forAction: call.action) else {
            return .failure(StepFailure("no_executor", "no executor can run action `\(call.action)`", retryable: false))
        }
        let limit = call.timeoutMilliseconds * 1_000
        if executor.enforcesTimeout {
            let start = environment.timer.now()
            let result = await executor.run(call)
            if executor is InProcessExecutor, environment.timer.now() - start > limit { return .failure(.timeout(call.timeoutMilliseconds)) }
            return result
        }
        return await AttemptRace.run(timeout: limit, timer: environment.timer, onTimeout: .failure(.timeout(call.timeoutMilliseconds))) {
            await executor.run(call)
        }
    }
}

/// An attempt raced against its timeout: the attempt runs in a task of its own; whichever ends
/// first answers, and a timed-out attempt's task is cancelled and abandoned.
enum AttemptRace {
    /// The race's shared state: who answered, and the tasks to cancel.
    private final class Box: Sendable {
        /// The continuation until someone answers, and the worker to cancel on a timeout.
        let state = Mutex<(continuation: CheckedContinuation<Result<Value?, StepFailure>, Never>?, worker: Task<Void, Never>?)>((nil, nil))

        /// Answers with `result` if nobody has; true when this call answered.
        func finish(_ result: Result<Value?, StepFailure>) -> Bool {
            guard let continuation = state.withLock({ s -> CheckedContinuation<Result<Value?, StepFailure>, Never>? in
                defer { s.continuation = nil }
                return s.continuation
            }) else { return false }
            continuation.resume(returning: result)
            return true
        }
    }

    /// Runs `work`, answering `onTimeout` if `timer.timeout(timeout)` returns first.
    static func run(timeout: Int64, timer: any SagaTimer, onTimeout: Result<Value?, StepFailure>,
                    _ work: @escaping @Sendable () async -> Result<Value?, StepFailure>) async -> Result<Value?, StepFailure> {
        let box = Box()
        return await withCheckedContinuation { continuation in
            box.state.withLock { $0.continuation = continuation }
            let watchdog = Task {
                await timer.timeout(timeout)
                guard !Task.isCancelled, box.finish(onTimeout) else { return }
                box.state.withLock { $0.worker }?.cancel()
            }
            let worker = Task {
                let result = await work()
                if box.finish(result) { watchdog.cancel() }
            }
            box.state.withLock { $0.worker = worker }
        }
    }
}
