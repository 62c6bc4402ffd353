import RingfenceAudit
import RingfenceVM

// The data of the `saga.*` entries every run writes — the start, each attempt and commit, each
// undo, the end — written straight in canonical form (`CanonicalObject`) by the log's writer,
// not built as value trees under the runtime's lock and sorted and written there: a 3-step saga
// writes eight of them. The rare transitions (a failure, a retry, a failed undo, an escalation)
// keep their value trees. `SagaEntryDataTests` holds every written form to the canonical form of
// the same members as values, byte for byte.

/// The data of a `saga.step.*` entry: the transition's own members, with `saga` and `step`.
enum StepEntryData: Sendable {
    /// An attempt starts: `{agent, attempt, phase, saga, step}`.
    case executing(agent: String, attempt: Int, phase: StepPhase)
    /// A step committed: `{attempt, checkpoint_goal?, completion, saga, step}`.
    case committed(attempt: Int, completion: Int, checkpointGoal: String?)
    /// An undo attempt starts: `{agent, attempt, saga, step}`.
    case compensating(agent: String, attempt: Int)
    /// A step was undone: `{attempts, saga, step}`.
    case compensated(attempts: Int)
    /// Any other members (the rare transitions); `saga` and `step` are added to them.
    case members([String: Value])

    /// The members as values, `saga` and `step` included.
    func value(saga: String, step: String) -> Value {
        var members: [String: Value]
        switch self {
        case .executing(let agent, let attempt, let phase):
            members = ["agent": .string(agent), "attempt": .number(Double(attempt)), "phase": .string(phase.rawValue)]
        case .committed(let attempt, let completion, let goal):
            members = ["attempt": .number(Double(attempt)), "completion": .number(Double(completion))]
            if let goal { members["checkpoint_goal"] = .string(goal) }
        case .compensating(let agent, let attempt):
            members = ["agent": .string(agent), "attempt": .number(Double(attempt))]
        case .compensated(let attempts):
            members = ["attempts": .number(Double(attempts))]
        case .members(let given):
            members = given
        }
        members["saga"] = .string(saga)
        members["step"] = .string(step)
        return .object(members)
    }

    /// The canonical bytes of the data (what `CanonicalJSON.encode` makes of `value`).
    func canonical(saga: String, step: String) throws(AuditError) -> [UInt8] {
        var o = CanonicalObject(capacity: 128 + saga.utf8.count + step.utf8.count)
        switch self {
        case .executing(let agent, let attempt, let phase):
            o.string("agent", agent)
            o.int("attempt", attempt)
            o.string("phase", phase.rawValue)
        case .committed(let attempt, let completion, let goal):
            o.int("attempt", attempt)
            if let goal { o.string("checkpoint_goal", goal) }
            o.int("completion", completion)
        case .compensating(let agent, let attempt):
            o.string("agent", agent)
            o.int("attempt", attempt)
        case .compensated(let attempts):
            o.int("attempts", attempts)
        case .members:
            return try CanonicalJSON.encode(value(saga: saga, step: step))
        }
        o.string("saga", saga)
        o.string("step", step)
        return o.finish()
    }
}

/// The data of the saga-level entries written straight in canonical form.
enum SagaEntryData {
    /// `saga.started`: `{base_url?, input? (when not null), name, saga, session, steps}`.
    static func started(saga: String, name: String, session: String, steps: [String], input: Value,
                        baseURL: String?) throws(AuditError) -> [UInt8] {
        var o = CanonicalObject(capacity: 96 + 24 * steps.count)
        if let baseURL { o.string("base_url", baseURL) }
        if input != .null { try o.value("input", input) }
        o.string("name", name)
        o.string("saga", saga)
        o.string("session", session)
        o.strings("steps", steps)
        return o.finish()
    }

    /// `saga.compensating`: `{reason, saga}`.
    static func compensating(saga: String, reason: String) -> [UInt8] {
        var o = CanonicalObject(capacity: 48 + reason.utf8.count)
        o.string("reason", reason)
        o.string("saga", saga)
        return o.finish()
    }

    /// `saga.ended`: `{compensated, saga, state}`.
    static func ended(saga: String, state: SagaState, compensated: [String]) -> [UInt8] {
        var o = CanonicalObject(capacity: 64 + 16 * compensated.count)
        o.strings("compensated", compensated)
        o.string("saga", saga)
        o.string("state", state.rawValue)
        return o.finish()
    }
}
