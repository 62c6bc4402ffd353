import RingfenceVM

/// A saga's result (SPEC §10.5): `{saga, state, steps: [{id, state, attempts, output?, error?}],
/// compensated: [ids in order], escalation?}`.
public struct SagaResult: Sendable, Hashable {
    /// One step as the result lists it.
    public struct Step: Sendable, Hashable {
        /// The step's id.
        public var id: String
        /// Where it ended.
        public var state: StepState
        /// Forward attempts started.
        public var attempts: Int
        /// The output of the attempt that committed.
        public var output: Value?
        /// Why it failed, or (for `compensation_failed`) why its undo failed.
        public var error: StepError?
    }

    /// The saga's id.
    public var saga: String
    /// The saga's name (not part of the JSON result).
    public var name: String
    /// Where it is.
    public var state: SagaState
    /// The steps, as the plan lists them.
    public var steps: [Step]
    /// The ids of the steps undone, in the order they were undone.
    public var compensated: [String]
    /// The escalations raised, one per step that could not be undone.
    public var escalations: [SagaEscalation]

    /// The result of `saga` as it stands.
    init(_ saga: SagaRecord) {
        self.saga = saga.id
        name = saga.plan.name
        state = saga.state
        steps = saga.steps.enumerated().map { i, s in
            Step(id: saga.plan.steps[i].id, state: s.state, attempts: s.attempts, output: s.output,
                 error: s.state == .compensationFailed ? (s.undoError ?? s.error) : (s.state == .failed ? s.error : nil))
        }
        compensated = saga.compensated.map { saga.plan.steps[$0].id }
        escalations = saga.escalations
    }

    /// The result as JSON; `escalation` is present when the saga escalated:
    /// `{target: "liability", steps: [{step, agent, severity, error}]}`.
    public var value: Value {
        var members: [String: Value] = [
            "saga": .string(saga), "state": .string(state.rawValue),
            "steps": .list(steps.map { step in
                var m: [String: Value] = ["id": .string(step.id), "state": .string(step.state.rawValue), "attempts": .number(Double(step.attempts))]
                if let output = step.output { m["output"] = output }
                if let error = step.error { m["error"] = error.value }
                return .object(m)
            }),
            "compensated": .list(compensated.map(Value.string)),
        ]
        if !escalations.isEmpty {
            members["escalation"] = .object(["target": .string("liability"), "steps": .list(escalations.map(\.value))])
        }
        return .object(members)
    }

    /// The exit status `ringfence saga` ends with: 0 completed, 4 compensated, 5 escalated, and
    /// 1 for a saga that has not ended.
    public var exitStatus: Int32 {
        switch state {
        case .completed: 0
        case .compensated: 4
        case .escalated: 5
        case .running, .compensating: 1
        }
    }
}

extension SagaResult {
    /// The results of every saga kept in `store`, in id order, read without opening a runtime
    /// (for `ringfence saga status`).
    public static func stored(in store: StateStore) throws(StoreError) -> [SagaResult] {
        let sagas = try SagaRecord.load(try store.load().rows)
        return sagas.keys.sorted().compactMap { sagas[$0].map(SagaResult.init) }
    }
}
