import RingfenceBytecode
import Testing
@testable import RingfenceRuntime
import RingfenceTestSupport
import RingfenceVM
import RingfenceWire

/// A saga's rows — its header (with the plan), its state and each step's — written member by
/// member (`RowText`), are byte for byte the compact JSON of the documented row objects
/// (`Value.jsonText`, keys sorted), and read back to a saga that writes the same rows: over
/// seeded random plans and sagas whose strings need escapes, whose numbers and times sit at the
/// edges of their ranges and whose optional members come and go.
@Suite struct SagaRowTextTests {
    /// How many random sagas.
    static let rounds = 1_000

    static func text(_ rng: inout SeededGenerator) -> String { LedgerRowTextTests.text(&rng) }
    static func time(_ rng: inout SeededGenerator) -> Int64 { LedgerRowTextTests.time(&rng) }
    static func maybe<T>(_ rng: inout SeededGenerator, _ make: (inout SeededGenerator) -> T) -> T? {
        SessionRowTextTests.maybe(&rng, make)
    }

    /// A random number, often one whose shortest form is long or written with an exponent.
    static func number(_ rng: inout SeededGenerator) -> Double {
        rng.pick([0, 1, 0.5, 1e-7, 0.30000000000000004, 1e21, 123_456_789, Double(rng.below(1_000_000)) / 1_000])
    }

    /// A random JSON value up to `depth` levels deep.
    static func value(_ rng: inout SeededGenerator, depth: Int = 2) -> Value {
        switch rng.below(depth > 0 ? 7 : 5) {
        case 0: return .null
        case 1: return .bool(rng.chance(1, in: 2))
        case 2: return .number(number(&rng))
        case 3, 4: return .string(text(&rng))
        case 5: return .list((0..<rng.below(3)).map { _ in value(&rng, depth: depth - 1) })
        default:
            var members: [String: Value] = [:]
            for _ in 0..<rng.below(4) { members[text(&rng)] = value(&rng, depth: depth - 1) }
            return .object(members)
        }
    }

    /// A random retry policy in range.
    static func retry(_ rng: inout SeededGenerator) -> SagaPlan.Retry {
        let initial = rng.pick([0.001, 0.5, 1, 2.25])
        return SagaPlan.Retry(initial: initial, multiplier: rng.pick([1, 1.5, 2, 10]), max: initial * rng.pick([1, 3, 100]),
                              jitter: rng.pick([0, 0.1, 0.25, 1]))
    }

    /// A random plan that verifies: up to 5 steps, each depending only on earlier ones.
    static func plan(_ rng: inout SeededGenerator) -> SagaPlan {
        let count = 1 + rng.below(5)
        let steps = (0..<count).map { i in
            SagaPlan.Step(id: text(&rng) + "#\(i)", actionID: "svc." + text(&rng), agent: text(&rng),
                          executeAPI: maybe(&rng) { r in "/do/" + text(&r) }, undoAPI: maybe(&rng) { r in "/undo/" + text(&r) },
                          timeoutMilliseconds: UInt32(rng.pick([1, 30_000, 86_400_000])), retries: UInt8(rng.below(11)),
                          retry: maybe(&rng, retry), checkpointGoal: maybe(&rng, text),
                          dependsOn: i > 0 && rng.chance(1, in: 2) ? Array(Set((0..<rng.below(3)).map { _ in UInt32(rng.below(i)) })).sorted() : [],
                          line: UInt32(rng.below(10_000)))
        }
        var fanOuts: [SagaPlan.FanOut] = []
        if count >= 2, rng.chance(1, in: 3) {
            fanOuts.append(SagaPlan.FanOut(policy: rng.pick(SagaPlan.FanOut.Policy.allCases), branches: [0, UInt32(count - 1)]))
        }
        return SagaPlan(name: text(&rng), sessionID: text(&rng), sagaID: maybe(&rng, text), file: text(&rng) + ".yaml",
                        line: UInt32(rng.below(100_000)), steps: steps, order: (0..<UInt32(count)).map { $0 }, fanOuts: fanOuts,
                        retry: retry(&rng), compensation: SagaPlan.Compensation(attempts: UInt8(1 + rng.below(10))),
                        metadata: (0..<rng.below(3)).map { _ in SagaPlan.Metadata(key: text(&rng), value: text(&rng)) },
                        baseURL: maybe(&rng) { _ in "https://svc.example:8443/api" }, maxConcurrency: UInt8(1 + rng.below(64)))
    }

    /// A random step error.
    static func stepError(_ rng: inout SeededGenerator) -> StepError {
        StepError(code: rng.pick(["timeout", "http_status", "policy_denied"]), message: text(&rng),
                  status: maybe(&rng) { r in r.pick([200, 404, 503]) }, decision: maybe(&rng) { r in value(&r) })
    }

    /// A random saga over a random plan, its steps and state anywhere (its id follows the id
    /// pattern, as the runtime checks: a step row's key is `<saga>/<index>`).
    static func saga(_ rng: inout SeededGenerator) -> SagaRecord {
        let plan = plan(&rng)
        let saga = SagaRecord(id: "saga-\(rng.below(1_000_000))", session: text(&rng), plan: SharedPlan(plan), input: rng.chance(1, in: 3) ? .null : value(&rng),
                              baseURL: maybe(&rng) { _ in "http://127.0.0.1:9/x" }, startedAt: time(&rng))
        saga.state = rng.pick(SagaState.allCases)
        saga.reason = maybe(&rng, text)
        saga.compensated = (0..<rng.below(3)).map { _ in rng.below(plan.steps.count) }
        saga.completions = rng.pick([0, 1, 3, 1_000_000])
        saga.endedAt = maybe(&rng, time)
        saga.escalations = (0..<rng.below(3)).map { _ in
            SagaEscalation(saga: saga.id, session: saga.session, step: text(&rng), agent: text(&rng), severity: number(&rng), error: stepError(&rng))
        }
        for i in saga.steps.indices {
            var s = StepRecord(agent: text(&rng))
            s.state = rng.pick(StepState.allCases)
            s.attempts = rng.pick([0, 1, 11])
            s.failures = rng.pick([0, 1, 10])
            s.undoAttempts = rng.below(4)
            s.undoFailures = rng.below(4)
            s.completion = maybe(&rng) { r in 1 + r.below(5) }
            s.output = maybe(&rng) { r in value(&r) }
            s.error = maybe(&rng, stepError)
            s.undoError = maybe(&rng, stepError)
            s.retryAt = maybe(&rng, time)
            s.checkpoint = maybe(&rng, text)
            saga.steps[i] = s
        }
        return saga
    }

    // MARK: The documented row objects

    static func expected(_ members: [String: Value]) -> [UInt8] { Array(Value.object(members).jsonText.utf8) }

    static func retryValue(_ r: SagaPlan.Retry) -> Value {
        .object(["initial": .number(r.initial), "multiplier": .number(r.multiplier), "max": .number(r.max), "jitter": .number(r.jitter)])
    }

    static func planValue(_ p: SagaPlan) -> Value {
        var members: [String: Value] = [
            "name": .string(p.name), "session": .string(p.sessionID), "file": .string(p.file), "line": .number(Double(p.line)),
            "steps": .list(p.steps.map { s in
                var m: [String: Value] = [
                    "id": .string(s.id), "action": .string(s.actionID), "agent": .string(s.agent),
                    "timeout_ms": .number(Double(s.timeoutMilliseconds)), "retries": .number(Double(s.retries)),
                    "depends_on": .list(s.dependsOn.map { .number(Double($0)) }), "line": .number(Double(s.line)),
                ]
                if let api = s.executeAPI { m["execute_api"] = .string(api) }
                if let api = s.undoAPI { m["undo_api"] = .string(api) }
                if let retry = s.retry { m["retry"] = retryValue(retry) }
                if let goal = s.checkpointGoal { m["checkpoint_goal"] = .string(goal) }
                return .object(m)
            }),
            "order": .list(p.order.map { .number(Double($0)) }),
            "fan_outs": .list(p.fanOuts.map { .object(["policy": .number(Double($0.policy.rawValue)),
                                                       "branches": .list($0.branches.map { .number(Double($0)) })]) }),
            "retry": retryValue(p.retry), "attempts": .number(Double(p.compensation.attempts)),
            "metadata": .list(p.metadata.map { .object(["key": .string($0.key), "value": .string($0.value)]) }),
            "max_concurrency": .number(Double(p.maxConcurrency)),
        ]
        if let id = p.sagaID { members["saga_id"] = .string(id) }
        if let base = p.baseURL { members["base_url"] = .string(base) }
        return .object(members)
    }

    static func header(_ s: SagaRecord) -> [UInt8] {
        var members: [String: Value] = [
            "v": .number(1), "saga": .string(s.id), "name": .string(s.plan.name), "session": .string(s.session),
            "plan": planValue(s.plan), "started_at": .string(RuntimeTime.text(s.startedAt)),
        ]
        if s.input != .null { members["input"] = s.input }
        if let baseURL = s.baseURL { members["base_url"] = .string(baseURL) }
        return expected(members)
    }

    static func state(_ s: SagaRecord) -> [UInt8] {
        var members: [String: Value] = [
            "v": .number(1), "state": .string(s.state.rawValue), "compensated": .list(s.compensated.map { .number(Double($0)) }),
            "completions": .number(Double(s.completions)), "escalations": .list(s.escalations.map(\.value)),
        ]
        if let reason = s.reason { members["reason"] = .string(reason) }
        if let endedAt = s.endedAt { members["ended_at"] = .string(RuntimeTime.text(endedAt)) }
        return expected(members)
    }

    static func step(_ s: StepRecord) -> [UInt8] {
        var members: [String: Value] = [
            "v": .number(1), "state": .string(s.state.rawValue), "agent": .string(s.agent),
            "attempts": .number(Double(s.attempts)), "failures": .number(Double(s.failures)),
            "undo_attempts": .number(Double(s.undoAttempts)), "undo_failures": .number(Double(s.undoFailures)),
        ]
        if let completion = s.completion { members["completion"] = .number(Double(completion)) }
        if let output = s.output { members["output"] = output }
        if let error = s.error { members["error"] = error.value }
        if let undoError = s.undoError { members["undo_error"] = undoError.value }
        if let retryAt = s.retryAt { members["retry_at"] = .string(RuntimeTime.text(retryAt)) }
        if let checkpoint = s.checkpoint { members["checkpoint"] = .string(checkpoint) }
        return expected(members)
    }

    /// Every row of `saga`.
    static func rows(_ saga: SagaRecord) -> [StateRow] {
        [saga.headerRow(), saga.stateRow()] + saga.steps.indices.map { saga.stepRow($0, saga.steps[$0]) }
    }

    /// The saga book shares a plan and writes its text once, keeping both by the plan's name,
    /// but never hands out the plan or text of another plan of that name, and keeps at most
    /// `planTextsKept` of them.
    @Test func aKeptPlanIsThatPlansOwn() {
        var rng = SeededGenerator(seed: 0x9A1D_2026)
        let book = SagaBook()
        for round in 0..<500 {
            var plan = Self.plan(&rng)
            // Few names, so most plans meet a kept plan of another plan with their name.
            plan.name = round < 400 ? rng.pick(["a", "b", "c"]) : "plan-\(round)"
            let kept = book.shared(plan)
            #expect(kept.plan.plan == plan)
            #expect(kept.text == SagaPlanJSON.text(plan))
            let again = book.shared(plan)
            #expect(again.plan === kept.plan)
            #expect(again.text == kept.text)
            #expect(book.planTexts.count <= SagaBook.planTextsKept)
        }
    }

    @Test func sagaRowsAreTheDocumentedJSONAndReadBack() throws {
        var rng = SeededGenerator(seed: 0x5A6A_2026)
        var mismatches = 0, first: (String, String)?
        func check(_ written: [UInt8], _ wanted: [UInt8]) {
            guard written != wanted else { return }
            mismatches += 1
            if first == nil { first = (String(decoding: written, as: UTF8.self), String(decoding: wanted, as: UTF8.self)) }
        }
        for _ in 0..<Self.rounds {
            let saga = Self.saga(&rng)
            try saga.plan.verify()
            let rows = Self.rows(saga)
            check(rows[0].value, Self.header(saga))
            check(rows[1].value, Self.state(saga))
            for (i, step) in saga.steps.enumerated() { check(rows[2 + i].value, Self.step(step)) }
            #expect(rows[0].key == StateKey(SagaRecord.headers, saga.id))
            #expect(rows[1].key == StateKey(SagaRecord.states, saga.id))
            let back = try #require(try SagaRecord.load(rows)[saga.id])
            #expect(back.plan == saga.plan, "a plan does not read back to itself")
            #expect(Self.rows(back) == rows, "a saga's rows do not read back to themselves")
        }
        #expect(mismatches == 0, "\(mismatches) rows differ; first written \(first?.0 ?? "") expected \(first?.1 ?? "")")
    }

    /// A step's rarely set fields, held out of line, read back as they were last set, whatever
    /// the order of changes: a copy keeps its own values when the original changes, and a
    /// record whose rare fields are all unset again equals (and hashes as) one that never set them.
    @Test func aStepsOutOfLineFieldsReadAsSetAndCopiesKeepTheirOwn() {
        var rng = SeededGenerator(seed: 0x57E9)
        for round in 0..<Self.rounds {
            var step = StepRecord(agent: "did:step")
            var model = StepDetails()
            var copies: [(StepRecord, StepDetails)] = []
            for _ in 0..<rng.below(12) {
                switch rng.below(5) {
                case 0:
                    let v = Self.maybe(&rng) { r in Self.value(&r) }
                    step.output = v
                    model.output = v
                case 1:
                    let v = Self.maybe(&rng, Self.stepError)
                    step.error = v
                    model.error = v
                case 2:
                    let v = Self.maybe(&rng, Self.stepError)
                    step.undoError = v
                    model.undoError = v
                case 3:
                    let v = Self.maybe(&rng, Self.time)
                    step.retryAt = v
                    model.retryAt = v
                default:
                    let v = Self.maybe(&rng, Self.text)
                    step.checkpoint = v
                    model.checkpoint = v
                }
                if rng.chance(1, in: 3) { copies.append((step, model)) }
            }
            for (record, expected) in copies + [(step, model)] {
                let read = StepDetails(output: record.output, error: record.error, undoError: record.undoError, retryAt: record.retryAt,
                                       checkpoint: record.checkpoint)
                #expect(read == expected, "round \(round)")
            }
            step.output = nil
            step.error = nil
            step.undoError = nil
            step.retryAt = nil
            step.checkpoint = nil
            let fresh = StepRecord(agent: "did:step")
            #expect(step == fresh && step.hashValue == fresh.hashValue, "round \(round)")
        }
    }
}
