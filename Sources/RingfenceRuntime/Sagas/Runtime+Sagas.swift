import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The saga transitions as runtime operations (SPEC §10.5, §10.6). Each runs under the runtime's
// lock, checks its transition against the step or saga table, and queues the new rows with their
// `saga.*` entries in one transaction before it returns — so every transition is written before
// the action it announces: an attempt's `executing` row (with the decision that allowed it)
// before the attempt runs, `compensating` before the undo. The runner (`SagaRunner`) calls
// them between the actions, which run outside the lock.

/// What the runner does next with a step.
enum StepGate: Sendable {
    /// Run this attempt.
    case run(StepCall)
    /// Wait this long (µs) first: the step is waiting to be retried.
    case wait(Int64)
    /// The step is over: committed, failed, or not to be run.
    case done(StepState)
}

extension Runtime {
    /// The executors, timer, randomness and escalation handler sagas run with.
    public var sagaEnvironment: SagaEnvironment {
        get { book.environment.withLock { $0 } }
        set { book.environment.withLock { $0 = newValue } }
    }

    // MARK: Starting

    /// Writes a new saga (`saga.started`) and marks it running here; returns its record. Refuses,
    /// before anything is written: a session that is missing or not active, a step agent that is
    /// not a participant or was killed, a step no executor can run (`invalid_saga`). On a store
    /// that persists, returns once the start is committed, so a saga that runs can be resumed.
    func beginSaga(_ plan: SagaPlan, session sid: String, id: String?, input: Value, baseURL: String?) throws(RuntimeError) -> SagaRecord {
        try Self.checkID(sid, "session")
        let base = baseURL ?? plan.baseURL
        if let base, SagaEndpoint(base) == nil {
            throw RuntimeError(.invalidSaga, "the base url `\(base)` is not an absolute `http` or `https` url")
        }
        let executors = sagaEnvironment.executors
        // Steps are read in place, by index (a step copied out retains each of its strings).
        for i in plan.steps.indices {
            guard let executor = executors.executor(forAction: plan.steps[i].actionID) else {
                throw RuntimeError(.invalidSaga, "no executor can run step `\(plan.steps[i].id)` (action `\(plan.steps[i].actionID)`)")
            }
            // A step passed to an executor's method is copied first: only an executor that can
            // refuse a step is asked.
            guard executor.checksSteps else { continue }
            for phase in StepPhase.allCases where phase == .execute || plan.steps[i].undoAPI != nil {
                if let problem = executor.problem(with: plan.steps[i], phase: phase, baseURL: base) {
                    throw RuntimeError(.invalidSaga, "step `\(plan.steps[i].id)` cannot \(phase.rawValue): \(problem)")
                }
            }
        }
        let kept = book.shared(plan)
        let (saga, ticket) = try perform { now throws(RuntimeError) -> (SagaRecord, AuditLog.Ticket) in
            guard let session = sessions[sid]?.data else { throw RuntimeError(.sessionNotFound, RuntimeMessages.sessionNotFound(sid)) }
            _ = try SessionMachine.next(.sagaStart, from: session.phase)
            // Every step's agent must be a participant not killed; of those that are not, the
            // first in agent order is reported.
            let shared = kept.plan
            var refused: String?
            for i in shared.plan.steps.indices where session.participants[shared.plan.steps[i].agent].map({ $0.kill != nil }) ?? true {
                if refused.map({ shared.plan.steps[i].agent < $0 }) ?? true { refused = shared.plan.steps[i].agent }
            }
            if let agent = refused {
                guard session.participants[agent] != nil else {
                    throw RuntimeError(.invalidSaga, "step agent `\(agent)` is not a participant of session `\(sid)`")
                }
                throw RuntimeError(.agentKilled, RuntimeMessages.agentKilled(agent, sid))
            }
            let sagaID = try newID(id, kind: "saga") { book.sagas[$0] != nil }
            let saga = SagaRecord(id: sagaID, session: sid, plan: shared, input: input, baseURL: base, startedAt: now)
            // The entry's data (the step ids too) is written on the log's writer, from the plan.
            let started = record(.started, session: sid, at: now) { () throws(AuditError) in
                try SagaEntryData.started(saga: sagaID, name: shared.plan.name, session: sid, steps: shared.plan.steps.map(\.id),
                                          input: input, baseURL: base)
            }
            let ticket = try commit(started, rows: [saga.headerRow(planText: kept.text), saga.stateRow()])
            book.sagas[sagaID] = saga
            saga.runningHere = true
            try takeLease(sagaID, at: now)
            return (saga, ticket)
        }
        if !(store is MemoryStore), log.settings.durability != .strict { try waitFor(ticket) }
        return saga
    }

    /// Marks a stored, unfinished saga as running here for a resume; returns its record and
    /// state, or nil when it has ended already.
    func claimSaga(_ id: String) throws(RuntimeError) -> (saga: SagaRecord, state: SagaState)? {
        try Self.checkID(id, "saga")
        return try perform { now throws(RuntimeError) -> (saga: SagaRecord, state: SagaState)? in
            guard let saga = book.sagas[id] else { throw RuntimeError(.sagaNotFound, "no saga has id `\(id)`") }
            guard !saga.state.isFinal else { return nil }
            guard !saga.runningHere else { throw RuntimeError(.sagaRunning, "saga `\(id)` is being run already") }
            try takeLease(id, at: now)
            saga.runningHere = true
            return (saga, saga.state)
        }
    }

    /// Marks a saga as no longer running here (its run stopped on an error; a run that ends
    /// releases it in `finishSaga`).
    func releaseSaga(_ saga: SagaRecord) {
        _ = try? perform { _ throws(RuntimeError) in saga.runningHere = false }
    }

    /// A read of a saga under the lock.
    func withSaga<R>(_ id: String, _ body: (SagaRecord) -> R) throws(RuntimeError) -> R {
        try perform { _ throws(RuntimeError) -> R in
            guard let saga = book.sagas[id] else { throw RuntimeError(.sagaNotFound, "no saga has id `\(id)`") }
            return body(saga)
        }
    }

    /// A read of a saga whose record the caller holds (its runner), under the lock.
    func withSaga<R>(_ saga: SagaRecord, _ body: (SagaRecord) -> R) throws(RuntimeError) -> R {
        try perform { _ throws(RuntimeError) -> R in body(saga) }
    }

    // MARK: Forward

    /// The next attempt of step `i`: while the saga runs, decided for the step's agent first
    /// (SPEC §10.2) — a denial fails the step at once, in the decision's own transaction; an
    /// allow writes `executing` in it. An attempt found in doubt after a crash runs again under
    /// its number and key without a new decision (it was decided before it started). While the
    /// saga compensates, only an attempt in doubt runs; a step waiting to be retried fails.
    /// `waited` says the runner has just waited out the step's backoff (its own timer's
    /// business); otherwise a step waiting to be retried (after a resume) waits what is left.
    func nextAttempt(_ held: SagaRecord, step i: Int, waited: Bool = false) throws(RuntimeError) -> StepGate {
        try perform { now throws(RuntimeError) -> StepGate in
            let saga = try ownedSaga(held, at: now)
            var step = saga.steps[i]
            if step.state.isSettled { return .done(step.state) }
            if step.attemptInDoubt {
                return .run(call(saga, i, step, attempt: step.attempts, phase: .execute))
            }
            guard saga.state == .running else {
                guard step.state == .executing, let next = StepMachine.next(.fail, from: step.state) else { return .done(step.state) }
                step.state = next
                step.retryAt = nil
                step.error = StepError(code: "saga_compensating", message: "the saga is compensating: \(saga.reason ?? "a step failed")")
                try commitStep(saga, i, step, .stepFailed, at: now, .members(["attempts": .number(Double(step.attempts)), "error": step.error!.value]))
                return .done(next)
            }
            if !waited, let at = step.retryAt, at > now { return .wait(at - now) }
            // Filled member by member: a dictionary literal first builds a list of its pairs.
            var context = [String: Value](minimumCapacity: 3)
            context["session"] = .string(saga.session)
            context["saga"] = .string(saga.id)
            context["step"] = .string(saga.plan.steps[i].id)
            let request = Request(agent: Agent(id: step.agent), action: saga.plan.steps[i].actionID, resource: saga.plan.steps[i].executeAPI,
                                  context: context)
            var gate = StepGate.done(.failed)
            do throws(RuntimeError) {
                _ = try decideInSession(request, session: saga.session, at: now) { outcome in
                    var changed = step
                    if outcome.decision.allowed, let next = StepMachine.next(.attempt, from: step.state) {
                        changed.state = next
                        changed.attempts += 1
                        changed.retryAt = nil
                        gate = .run(call(saga, i, changed, attempt: changed.attempts, phase: .execute))
                        return stepChange(saga, i, changed, .stepExecuting, at: now,
                                          .executing(agent: changed.agent, attempt: changed.attempts, phase: .execute))
                    }
                    changed.state = .failed
                    changed.retryAt = nil
                    changed.error = StepError(code: "policy_denied", message: "the attempt was denied: \(outcome.decision.reason)",
                                              decision: outcome.value)
                    return stepChange(saga, i, changed, .stepFailed, at: now,
                                      .members(["attempts": .number(Double(changed.attempts)), "error": changed.error!.value]))
                }
            } catch let error where error.code != .auditFailed {
                // The session refused to decide (ended, the agent gone): the step fails like a denial.
                step.state = .failed
                step.retryAt = nil
                step.error = StepError(code: error.code.rawValue, message: error.message)
                try commitStep(saga, i, step, .stepFailed, at: now, .members(["attempts": .number(Double(step.attempts)), "error": step.error!.value]))
                return .done(.failed)
            }
            return gate
        }
    }

    /// Records how attempt `attempt` of step `i` ended: a success commits it (with its output
    /// and checkpoint goal); a failure is retried after its backoff while the saga runs, the
    /// failure is retryable and retries are left, or fails the step.
    func attemptEnded(_ held: SagaRecord, step i: Int, attempt: Int, _ result: Result<Value?, StepFailure>) throws(RuntimeError) -> StepGate {
        try perform { now throws(RuntimeError) -> StepGate in
            let saga = try ownedSaga(held, at: now)
            var step = saga.steps[i]
            guard step.state == .executing, step.attempts == attempt else { return .done(step.state) }
            switch result {
            case .success(let output):
                step.state = .committed
                step.completion = saga.completions + 1
                step.output = output
                step.error = nil
                step.checkpoint = saga.plan.steps[i].checkpointGoal
                let completions = saga.completions + 1
                let data = StepEntryData.committed(attempt: attempt, completion: completions, checkpointGoal: step.checkpoint)
                let change = stepChange(saga, i, step, .stepCommitted, at: now, data, sagaState: saga.stateFields(completions: completions))
                try commit(change)
                return .done(.committed)
            case .failure(let failure):
                step.failures += 1
                step.error = failure.error
                if saga.state == .running, failure.retryable, attempt <= Int(saga.plan.steps[i].retries) {
                    let delay = backoff(saga.plan.steps[i].retry ?? saga.plan.retry, retry: attempt)
                    step.retryAt = now + delay
                    try commitStep(saga, i, step, .stepRetrying, at: now, .members([
                        "attempt": .number(Double(attempt)), "phase": .string("execute"), "error": failure.error.value,
                        "retry_in": .number(Double(delay) / 1e6),
                    ]))
                    return .wait(delay)
                }
                step.state = .failed
                step.retryAt = nil
                try commitStep(saga, i, step, .stepFailed, at: now, .members(["attempts": .number(Double(attempt)), "error": failure.error.value]))
                return .done(.failed)
            }
        }
    }

    // MARK: Saga transitions

    /// `running → compensating`, with the reason; a saga compensating already is left as it is.
    func startCompensating(_ held: SagaRecord, reason: String) throws(RuntimeError) {
        try perform { now throws(RuntimeError) in
            let saga = try ownedSaga(held, at: now)
            guard let next = SagaMachine.next(.compensate, from: saga.state) else { return }
            let id = saga.id
            let entry = record(.compensating, session: saga.session, at: now) { () throws(AuditError) in
                SagaEntryData.compensating(saga: id, reason: reason)
            }
            try commit(entry, rows: [saga.stateRowValue(state: next, reason: reason)])
            saga.state = next
            saga.reason = reason
        }
    }

    /// Ends a saga — `completed` from running; from compensating, `escalated` when some step
    /// could not be undone, else `compensated`; nothing when it has ended already — releases it
    /// and returns its result, in one operation.
    func finishSaga(_ held: SagaRecord) throws(RuntimeError) -> SagaResult {
        try perform { now throws(RuntimeError) -> SagaResult in
            let saga = try ownedSaga(held, at: now)
            defer { saga.runningHere = false }
            let event: SagaEvent = saga.state == .running ? .complete
                : (saga.steps.contains { $0.state == .compensationFailed } ? .escalate : .undone)
            guard let next = SagaMachine.next(event, from: saga.state) else { return SagaResult(saga) }
            let row = saga.stateRowValue(state: next, endedAt: now)
            let compensated = saga.compensated.map { saga.plan.steps[$0].id }
            let id = saga.id
            let entry = record(.ended, session: saga.session, at: now) { () throws(AuditError) in
                SagaEntryData.ended(saga: id, state: next, compensated: compensated)
            }
            try commit(entry, rows: [row])
            saga.state = next
            saga.endedAt = now
            return SagaResult(saga)
        }
    }

    // MARK: Compensation

    /// The next undo attempt of committed step `i` (SPEC §10.4): `compensating` written first;
    /// an undo found in doubt runs again under its number and key. A step without `undo_api` is
    /// recorded `compensation_failed` ("no undo_api") and escalates.
    func nextUndo(_ held: SagaRecord, step i: Int, waited: Bool = false) throws(RuntimeError) -> StepGate {
        try perform { now throws(RuntimeError) -> StepGate in
            let saga = try ownedSaga(held, at: now)
            var step = saga.steps[i]
            guard step.state == .committed || step.state == .compensating else { return .done(step.state) }
            if step.undoInDoubt { return .run(call(saga, i, step, attempt: step.undoAttempts, phase: .undo)) }
            guard saga.plan.steps[i].undoAPI != nil else {
                step.state = .compensationFailed
                step.undoError = StepError(code: "no_undo_api", message: "no undo_api")
                try commitUndoFailure(saga, i, step, at: now)
                return .done(.compensationFailed)
            }
            if !waited, let at = step.retryAt, at > now { return .wait(at - now) }
            guard let next = StepMachine.next(.compensate, from: step.state) else { return .done(step.state) }
            step.state = next
            step.undoAttempts += 1
            step.retryAt = nil
            try commitStep(saga, i, step, .stepCompensating, at: now, .compensating(agent: step.agent, attempt: step.undoAttempts))
            return .run(call(saga, i, step, attempt: step.undoAttempts, phase: .undo))
        }
    }

    /// Records how undo attempt `attempt` of step `i` ended: compensated; retried after the
    /// saga's backoff while `on_compensation_failure.attempts` allows and the failure is
    /// retryable; or `compensation_failed` with its escalation.
    func undoEnded(_ held: SagaRecord, step i: Int, attempt: Int, _ result: Result<Value?, StepFailure>) throws(RuntimeError) -> StepGate {
        try perform { now throws(RuntimeError) -> StepGate in
            let saga = try ownedSaga(held, at: now)
            var step = saga.steps[i]
            guard step.state == .compensating, step.undoAttempts == attempt else { return .done(step.state) }
            switch result {
            case .success:
                step.state = .compensated
                step.undoError = nil
                let compensated = saga.compensated + [i]
                let change = stepChange(saga, i, step, .stepCompensated, at: now, .compensated(attempts: attempt),
                                        sagaState: saga.stateFields(compensated: compensated))
                try commit(change)
                return .done(.compensated)
            case .failure(let failure):
                step.undoFailures += 1
                step.undoError = failure.error
                if failure.retryable, attempt < Int(saga.plan.compensation.attempts) {
                    let delay = backoff(saga.plan.retry, retry: attempt)
                    step.retryAt = now + delay
                    try commitStep(saga, i, step, .stepRetrying, at: now, .members([
                        "attempt": .number(Double(attempt)), "phase": .string("undo"), "error": failure.error.value,
                        "retry_in": .number(Double(delay) / 1e6),
                    ]))
                    return .wait(delay)
                }
                step.state = .compensationFailed
                step.retryAt = nil
                try commitUndoFailure(saga, i, step, at: now)
                return .done(.compensationFailed)
            }
        }
    }

    /// Writes `compensation_failed` for step `i` and, once per `<saga>/<step>`, its escalation
    /// (SPEC §10.6) with the ledger's slash and quarantine and the handler's changes, in one transaction.
    private func commitUndoFailure(_ saga: SagaRecord, _ i: Int, _ step: StepRecord, at now: Int64) throws(RuntimeError) {
        let error = step.undoError ?? StepError(code: "executor_error", message: "the undo failed")
        var changes = [stepChange(saga, i, step, .stepCompensationFailed, at: now, .members(["error": error.value]))]
        let stepID = saga.plan.steps[i].id
        if !saga.escalations.contains(where: { $0.step == stepID }) {
            let escalation = SagaEscalation(saga: saga.id, session: saga.session, step: stepID, agent: step.agent,
                                            severity: settings.liability.escalationSeverity, error: error)
            let escalations = saga.escalations + [escalation]
            changes.append(ChangeSet(rows: [saga.stateRowValue(escalations: escalations)], records: [
                record(.escalation, session: saga.session, agent: step.agent, at: now, .object([
                    "saga": .string(saga.id), "step": .string(stepID), "agent": .string(step.agent), "key": .string(escalation.key),
                    "severity": .number(escalation.severity), "target": .string("liability"), "error": error.value,
                ])),
            ]) { saga.escalations = escalations })
            // The liability ledger slashes and quarantines the step's agent (SPEC §10.6, §11); a
            // host's handler may add its own changes. Both commit with the escalation's entry.
            let (_, slash) = try ledger.escalate([EscalationRequest(saga: saga.id, step: stepID, agent: step.agent,
                                                                    severity: escalation.severity)], at: now)
            changes.append(slash)
            changes.append(sagaEnvironment.escalations.escalated(escalation, at: now))
        }
        try commit([], rows: [], changes: changes)
    }

    // MARK: Helpers

    /// The wait before retry `n` (n ≥ 1), in µs: `min(max, initial × multiplier^(n−1))` seconds
    /// times a random factor in `[1 − jitter, 1]` (SPEC §10.3).
    func backoff(_ retry: SagaPlan.Retry, retry n: Int) -> Int64 {
        let base = Swift.min(retry.max, retry.initial * pow(retry.multiplier, Double(Swift.max(0, n - 1))))
        let factor = retry.jitter > 0 ? 1 - retry.jitter * sagaEnvironment.random.unit() : 1
        return Int64((base * factor * 1e6).rounded())
    }

    /// The call of attempt `attempt` of step `i` in `phase`.
    private func call(_ saga: SagaRecord, _ i: Int, _ step: StepRecord, attempt: Int, phase: StepPhase) -> StepCall {
        StepCall(saga: saga.id, step: saga.plan.steps[i].id, action: saga.plan.steps[i].actionID, agent: step.agent, attempt: attempt,
                 phase: phase, endpoint: phase == .execute ? saga.plan.steps[i].executeAPI : saga.plan.steps[i].undoAPI,
                 baseURL: saga.baseURL, input: saga.input, timeoutMilliseconds: Int64(saga.plan.steps[i].timeoutMilliseconds))
    }

    /// Step `i` becomes `step`: its row and a `kind` entry with `data`, applied to the book once queued.
    /// The row's bytes, the entry's data and the change to the book all come from one
    /// `StepTransition`, so the transition costs one object rather than a closure context each.
    private func stepChange(_ saga: SagaRecord, _ i: Int, _ step: StepRecord, _ kind: SagaEntryKind, at now: Int64,
                            _ data: StepEntryData, sagaState: SagaStateFields? = nil) -> ChangeSet {
        let transition = StepTransition(saga: saga, index: i, step: step, data: data, sagaState: sagaState)
        var rows: [StateRow] = []
        rows.reserveCapacity(sagaState == nil ? 1 : 2)
        rows.append(StateRow(saga.stepRowKeys[i]) { transition.rowText() })
        if sagaState != nil { rows.append(StateRow(saga.stateRowKey) { transition.sagaStateText() }) }
        let entry: AuditRecord
        if case .members = data {
            entry = record(kind, session: saga.session, agent: step.agent, at: now, data.value(saga: saga.id, step: saga.plan.steps[i].id))
        } else {
            entry = record(kind, session: saga.session, agent: step.agent, at: now) { () throws(AuditError) in try transition.entryData() }
        }
        return ChangeSet(rows: rows, record: entry) { transition.apply() }
    }

    /// Queues `stepChange` alone.
    private func commitStep(_ saga: SagaRecord, _ i: Int, _ step: StepRecord, _ kind: SagaEntryKind, at now: Int64,
                            _ data: StepEntryData) throws(RuntimeError) {
        try commit(stepChange(saga, i, step, kind, at: now, data))
    }

    /// A `saga.*` entry whose data is a value, written on the log's writer.
    private func record(_ kind: SagaEntryKind, session: String, agent: String? = nil, at time: Int64, _ data: Value) -> AuditRecord {
        AuditRecord(kind: kind.rawValue, session: session, agent: agent, time: RuntimeTime.auditTime(time), deferred: data)
    }

    /// A `saga.*` entry whose data `write` writes in canonical form on the log's writer.
    private func record(_ kind: SagaEntryKind, session: String, agent: String? = nil, at time: Int64,
                        canonical write: @escaping @Sendable () throws(AuditError) -> [UInt8]) -> AuditRecord {
        AuditRecord(kind: kind.rawValue, session: session, agent: agent, time: RuntimeTime.auditTime(time), canonical: write)
    }
}

/// One step transition as it is queued: step `index` of `saga` becomes `step`. The store writes
/// its row and the log its entry's data from it (on whichever thread commits them), and the
/// runtime applies it to the book once it is queued. Its fields never change.
final class StepTransition: Sendable {
    /// The saga (its `id` and `plan` are read, which never change).
    let saga: SagaRecord
    /// The step's index.
    let index: Int
    /// The step as it becomes.
    let step: StepRecord
    /// The entry's data.
    let data: StepEntryData
    /// The saga's own fields as the transition leaves them, when it changes them (a commit its
    /// count of commits, an undo its list of undone steps): its saga-state row is rewritten too.
    let sagaState: SagaStateFields?

    init(saga: SagaRecord, index: Int, step: StepRecord, data: StepEntryData, sagaState: SagaStateFields?) {
        self.saga = saga
        self.index = index
        self.step = step
        self.data = data
        self.sagaState = sagaState
    }

    /// The bytes of the step's row.
    func rowText() -> [UInt8] { SagaRecord.stepRowText(step) }

    /// The bytes of the saga-state row (only for a transition that changes it).
    func sagaStateText() -> [UInt8] { sagaState?.text() ?? [] }

    /// The entry's data in canonical form.
    func entryData() throws(AuditError) -> [UInt8] {
        try data.canonical(saga: saga.id, step: saga.plan.steps[index].id)
    }

    /// Makes the step the book's (under the runtime's lock, once the transition is queued).
    func apply() {
        saga.steps[index] = step
        if let sagaState {
            saga.completions = sagaState.completions
            saga.compensated = sagaState.compensated
        }
    }
}
