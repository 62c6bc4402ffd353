// The saga and step state machines (SPEC §10.5), each one table: the executor checks every
// transition against its table, and `docs/sagas.md` draws both from them (`SagaReference`).

/// A step's state.
public enum StepState: String, Sendable, Hashable, CaseIterable {
    /// Not started.
    case pending
    /// An attempt is running, or waiting to be retried.
    case executing
    /// An attempt succeeded: the step took effect.
    case committed
    /// It will not take effect: denied, or out of attempts.
    case failed
    /// Its undo is running.
    case compensating
    /// Its undo succeeded.
    case compensated
    /// It could not be undone: its undo kept failing, or it has no `undo_api`.
    case compensationFailed = "compensation_failed"

    /// True once the step's forward part is over (committed or failed, and everything after).
    public var isSettled: Bool { self != .pending && self != .executing }
}

/// What happens to a step.
public enum StepEvent: String, Sendable, Hashable, CaseIterable {
    /// An attempt is allowed by the policies and starts (the first, a retry, or one found in doubt after a crash).
    case attempt
    /// An attempt succeeded.
    case commit
    /// A denial, a non-retryable failure, the last attempt failing, or its agent killed without a substitute.
    case fail
    /// The saga compensates and this committed step's undo starts.
    case compensate
    /// An undo attempt succeeded.
    case undone
    /// The undo attempts are spent, or there is no `undo_api`.
    case undoFailed = "undo_failed"
}

/// The step state machine.
public enum StepMachine {
    /// One row: an event, the states it is allowed in, the state it leads to.
    public typealias Transition = StateTransition<StepEvent, StepState>

    /// The table; a step starts `pending`.
    public static let table: [Transition] = [
        Transition(event: .attempt, from: [.pending, .executing], to: .executing),
        Transition(event: .commit, from: [.executing], to: .committed),
        Transition(event: .fail, from: [.pending, .executing], to: .failed),
        Transition(event: .compensate, from: [.committed, .compensating], to: .compensating),
        Transition(event: .undone, from: [.compensating], to: .compensated),
        Transition(event: .undoFailed, from: [.committed, .compensating], to: .compensationFailed),
    ]

    /// The state `event` leads to from `state`, or nil when the table has no such row.
    public static func next(_ event: StepEvent, from state: StepState) -> StepState? {
        Transition.next(event, from: state, in: table)
    }
}

/// A saga's state.
public enum SagaState: String, Sendable, Hashable, CaseIterable {
    /// Steps run forward.
    case running
    /// A step failed, a fan-out group's policy was not met, or an agent was killed: committed steps are being undone.
    case compensating
    /// Every step committed (or, in a fan-out group whose policy held, failed).
    case completed
    /// Every committed step was undone.
    case compensated
    /// Some committed step could not be undone; one escalation per such step.
    case escalated

    /// True for the three end states.
    public var isFinal: Bool { self == .completed || self == .compensated || self == .escalated }
}

/// What happens to a saga.
public enum SagaEvent: String, Sendable, Hashable, CaseIterable {
    /// Every step is settled and the saga succeeded.
    case complete
    /// The saga fails and starts compensating.
    case compensate
    /// Compensation ended with every undo succeeded.
    case undone
    /// Compensation ended with some undo failed.
    case escalate
}

/// The saga state machine.
public enum SagaMachine {
    /// One row: an event, the states it is allowed in, the state it leads to.
    public typealias Transition = StateTransition<SagaEvent, SagaState>

    /// The table; a saga starts `running`.
    public static let table: [Transition] = [
        Transition(event: .complete, from: [.running], to: .completed),
        Transition(event: .compensate, from: [.running], to: .compensating),
        Transition(event: .undone, from: [.compensating], to: .compensated),
        Transition(event: .escalate, from: [.compensating], to: .escalated),
    ]

    /// The state `event` leads to from `state`, or nil when the table has no such row.
    public static func next(_ event: SagaEvent, from state: SagaState) -> SagaState? {
        Transition.next(event, from: state, in: table)
    }
}

/// The kinds of the audit entries sagas write (all under the reserved `saga.` prefix).
public enum SagaEntryKind: String, Sendable, Hashable, CaseIterable {
    /// A saga was started: its plan, session, input and base URL.
    case started = "saga.started"
    /// A step's attempt starts (after the decision allowing it, in the same transaction).
    case stepExecuting = "saga.step.executing"
    /// An attempt failed; the step will be retried after `retry_in` seconds.
    case stepRetrying = "saga.step.retrying"
    /// A step committed, with its checkpoint goal.
    case stepCommitted = "saga.step.committed"
    /// A step failed.
    case stepFailed = "saga.step.failed"
    /// A killed agent's step was handed to a substitute.
    case stepHandedOff = "saga.step.handed_off"
    /// The saga started compensating, and why.
    case compensating = "saga.compensating"
    /// An undo attempt starts.
    case stepCompensating = "saga.step.compensating"
    /// A step was undone.
    case stepCompensated = "saga.step.compensated"
    /// A step could not be undone.
    case stepCompensationFailed = "saga.step.compensation_failed"
    /// A failed undo escalated (once per saga and step).
    case escalation = "saga.escalation"
    /// The saga ended: completed, compensated or escalated.
    case ended = "saga.ended"
}
