import RingfenceWire
import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

// A saga in the store: three collections of compact JSON rows (keys sorted), so a transition
// rewrites only what it changes.
//
//   sagas/<id>              written once at start:
//     {"v": 1, "saga", "name", "session", "plan": {…}, "input"?, "base_url"?, "started_at"}
//   saga_states/<id>        rewritten by saga transitions:
//     {"v": 1, "state", "reason"?, "compensated": [step index…], "completions",
//      "escalations": [{"step", "agent", "severity", "error"}], "ended_at"?}
//   saga_steps/<id>/<i>     rewritten by step i's transitions:
//     {"v": 1, "state", "agent", "attempts", "failures", "undo_attempts", "undo_failures",
//      "completion"?, "output"?, "error"?, "undo_error"?, "retry_at"?, "checkpoint"?}
//
// `attempts` counts attempts started (each written before it runs) and `failures` those known
// to have failed; when a step is `executing` with more attempts than failures, its last attempt
// is in doubt (the process stopped during it) and is run again under the same number and
// idempotency key. The undo counters work the same way. A row that does not read is a store
// the runtime cannot open (`foreignSchema`), never a silently dropped saga.

/// What went wrong with a step: a stable code, a message, and what backs it.
public struct StepError: Sendable, Hashable {
    /// `policy_denied`, `timeout`, `http_status`, `connection`, `invalid_response`,
    /// `response_too_large`, `redirect`, `executor_error`, `agent_killed`, `saga_compensating`,
    /// `no_undo_api` or `no_executor`.
    public var code: String
    /// One lowercase line.
    public var message: String
    /// The HTTP status, for `http_status` and `redirect`.
    public var status: Int?
    /// The decision, for `policy_denied`.
    public var decision: Value?

    /// An error.
    public init(code: String, message: String, status: Int? = nil, decision: Value? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.decision = decision
    }

    /// `{code, message, status?, decision?}`.
    public var value: Value {
        var members: [String: Value] = ["code": .string(code), "message": .string(message)]
        if let status { members["status"] = .number(Double(status)) }
        if let decision { members["decision"] = decision }
        return .object(members)
    }

    /// `value`'s members, written in key order into a row.
    func write(to w: inout RowText) {
        w.string("code", code)
        if let decision { w.value("decision", decision) }
        w.string("message", message)
        if let status { w.int("status", status) }
    }

    /// Reads `value` back; nil when it is not an error object.
    init?(_ value: Value) {
        guard let r = RowReader(value), let code = r.string("code"), let message = r.string("message") else { return nil }
        self.init(code: code, message: message, status: r.int("status"), decision: r.members["decision"])
    }
}

/// One step's progress.
struct StepRecord: Sendable, Hashable {
    /// Where it is.
    var state: StepState = .pending
    /// The agent its attempts are decided for (a kill's substitute replaces it).
    var agent: String
    /// Forward attempts started.
    var attempts = 0
    /// Forward attempts known to have failed.
    var failures = 0
    /// Undo attempts started.
    var undoAttempts = 0
    /// Undo attempts known to have failed.
    var undoFailures = 0
    /// Its place among the saga's commits (1, 2, …), once committed.
    var completion: Int?
    /// The fields a step that commits at its first attempt without output never sets, held out
    /// of line (nil while they are all unset): a record is copied at every transition and kept
    /// for every saga the runtime knows, and these would make it 272 bytes rather than 80.
    private var details: StepDetails.Box?

    init(agent: String) {
        self.agent = agent
    }

    /// The output of the attempt that committed.
    var output: Value? {
        get { details?.fields.output }
        set { if details != nil || newValue != nil { changeDetails { $0.output = newValue } } }
    }
    /// Why it failed, or why its last attempt failed.
    var error: StepError? {
        get { details?.fields.error }
        set { if details != nil || newValue != nil { changeDetails { $0.error = newValue } } }
    }
    /// Why its undo failed.
    var undoError: StepError? {
        get { details?.fields.undoError }
        set { if details != nil || newValue != nil { changeDetails { $0.undoError = newValue } } }
    }
    /// When the next attempt may start (µs, runtime clock), while it waits to be retried.
    var retryAt: Int64? {
        get { details?.fields.retryAt }
        set { if details != nil || newValue != nil { changeDetails { $0.retryAt = newValue } } }
    }
    /// The checkpoint goal recorded when it committed.
    var checkpoint: String? {
        get { details?.fields.checkpoint }
        set { if details != nil || newValue != nil { changeDetails { $0.checkpoint = newValue } } }
    }

    /// Changes the out-of-line fields: a new box when any is set (a box is never changed, so a
    /// copied record keeps its own), none when all are unset. Clearing a field of a record
    /// without a box (as every transition of a step that has not failed does) never comes here.
    private mutating func changeDetails(_ change: (inout StepDetails) -> Void) {
        var fields = details?.fields ?? StepDetails()
        change(&fields)
        details = fields.isEmpty ? nil : StepDetails.Box(fields)
    }

    /// True when the step is `executing` and its last attempt's outcome is unknown.
    var attemptInDoubt: Bool { state == .executing && attempts > failures }
    /// True when the step is `compensating` and its last undo's outcome is unknown.
    var undoInDoubt: Bool { state == .compensating && undoAttempts > undoFailures }
}

/// A step's rarely set fields (`StepRecord`).
struct StepDetails: Sendable, Hashable {
    var output: Value?
    var error: StepError?
    var undoError: StepError?
    var retryAt: Int64?
    var checkpoint: String?

    /// True when none is set.
    var isEmpty: Bool { output == nil && error == nil && undoError == nil && retryAt == nil && checkpoint == nil }

    /// The fields, boxed; compared and hashed by value.
    final class Box: Sendable, Hashable {
        let fields: StepDetails

        init(_ fields: StepDetails) {
            self.fields = fields
        }

        static func == (a: Box, b: Box) -> Bool { a === b || a.fields == b.fields }

        func hash(into hasher: inout Hasher) { fields.hash(into: &hasher) }
    }
}

/// An escalation raised by a failed undo (SPEC §10.6), idempotent on `<saga>/<step>`.
public struct SagaEscalation: Sendable, Hashable {
    /// The saga's id.
    public var saga: String
    /// The session the saga runs in.
    public var session: String
    /// The step's id.
    public var step: String
    /// The step's agent (the one slashed and quarantined).
    public var agent: String
    /// The slash severity (`liability.escalation_severity`).
    public var severity: Double
    /// Why the undo failed.
    public var error: StepError

    /// `<saga>/<step>`: the key an escalation is recorded once under (the liability ledger's violation id).
    public var key: String { "\(saga)/\(step)" }

    /// `{step, agent, severity, error}`.
    var value: Value {
        .object(["step": .string(step), "agent": .string(agent), "severity": .number(severity), "error": error.value])
    }

    /// `value`'s members, written in key order into a row.
    func write(to w: inout RowText) {
        w.string("agent", agent)
        w.object("error") { error.write(to: &$0) }
        w.number("severity", severity)
        w.string("step", step)
    }
}

/// What a saga-state row holds, as of one transition.
struct SagaStateFields: Sendable {
    var state: SagaState
    var reason: String?
    var compensated: [Int]
    var completions: Int
    var escalations: [SagaEscalation]
    var endedAt: Int64?

    /// The row's bytes.
    func text() -> [UInt8] {
        var w = RowText(capacity: 160 + 256 * escalations.count)
        w.ints("compensated", compensated)
        w.int("completions", completions)
        if let endedAt { w.time("ended_at", endedAt) }
        w.objects("escalations", escalations) { m, e in e.write(to: &m) }
        if let reason { w.string("reason", reason) }
        w.string("state", state.rawValue)
        w.version(SagaRecord.rowVersion)
        return w.finish()
    }
}

/// A compiled plan held by reference: every saga started from the same plan (and the runner
/// that drives it) shares one, where a copy of the plan retains each of its steps' strings
/// and lists.
final class SharedPlan: Sendable {
    /// The plan.
    let plan: SagaPlan
    /// True when its steps run one after the other in file order (no `depends_on`, no fan-out).
    let isSequence: Bool

    init(_ plan: SagaPlan) {
        self.plan = plan
        isSequence = !plan.isGraph && plan.fanOuts.isEmpty
    }
}

/// Everything the runtime knows of one saga.
final class SagaRecord: @unchecked Sendable {
    // Safety: touched only under the runtime's lock (inside `perform`), like sessions.
    /// The saga's id.
    let id: String
    /// The session it runs in.
    let session: String
    /// Its compiled plan, held once for every saga started from the same plan.
    let shared: SharedPlan
    /// Its compiled plan, read in place (a copy retains each of its steps' strings and lists).
    var plan: SagaPlan { _read { yield shared.plan } }
    /// The `input` every step receives.
    let input: Value
    /// The base URL relative endpoints resolve against (the run's, else the plan's).
    let baseURL: String?
    /// When it started (µs).
    let startedAt: Int64
    /// Where it is.
    var state: SagaState = .running
    /// Why it compensates.
    var reason: String?
    /// Step indexes undone, in the order they were undone.
    var compensated: [Int] = []
    /// Commits so far (the next commit's place is this plus one).
    var completions = 0
    /// Escalations raised, in order.
    var escalations: [SagaEscalation] = []
    /// When it ended (µs).
    var endedAt: Int64?
    /// True while this process runs it (a run, or a resume), from its start or claim until its
    /// runner stops.
    var runningHere = false
    /// The steps, as the plan lists them.
    var steps: [StepRecord]
    /// The keys of the steps' rows, made on first use, once a saga: every transition of a step
    /// rewrites its row.
    private(set) lazy var stepRowKeys: [StateKey] = plan.steps.indices.map { StateKey(Self.stepRows, Self.stepKey(saga: id, $0)) }

    /// A new saga, every step pending.
    init(id: String, session: String, plan: SharedPlan, input: Value, baseURL: String?, startedAt: Int64) {
        self.id = id
        self.session = session
        self.shared = plan
        self.input = input
        self.baseURL = baseURL
        self.startedAt = startedAt
        steps = plan.plan.steps.indices.map { StepRecord(agent: plan.plan.steps[$0].agent) }
    }

    /// The collections saga rows live in.
    static let headers = "sagas", states = "saga_states", stepRows = "saga_steps"
    /// The row format's version.
    static let rowVersion = 1

    // MARK: Rows

    /// The header row, written once when the saga starts; `planText` is the plan's JSON object
    /// (`SagaPlanJSON.text`) when the caller has it already. Like every saga row, its bytes are
    /// written by whoever commits it (`StateRow.init(_:written:)`), from the fields as they are now.
    func headerRow(planText: [UInt8]? = nil) -> StateRow {
        let baseURL = baseURL, input = input, shared = shared, id = id, session = session, startedAt = startedAt
        return StateRow(StateKey(Self.headers, id)) {
            var w = RowText(capacity: 384 + 320 * shared.plan.steps.count)
            if let baseURL { w.string("base_url", baseURL) }
            if input != .null { w.value("input", input) }
            w.string("name", shared.plan.name)
            w.raw("plan") { $0.append(contentsOf: planText ?? SagaPlanJSON.text(shared.plan)) }
            w.string("saga", id)
            w.string("session", session)
            w.time("started_at", startedAt)
            w.version(Self.rowVersion)
            return w.finish()
        }
    }

    /// The saga-state row.
    func stateRow() -> StateRow { stateRowValue() }

    /// The saga-state row as it will be with the given fields changed (for a change applied
    /// once it is queued).
    func stateRowValue(state: SagaState? = nil, reason: String? = nil, compensated: [Int]? = nil, completions: Int? = nil,
                       escalations: [SagaEscalation]? = nil, endedAt: Int64? = nil) -> StateRow {
        let fields = stateFields(state: state, reason: reason, compensated: compensated, completions: completions,
                                 escalations: escalations, endedAt: endedAt)
        return StateRow(stateRowKey) { fields.text() }
    }

    /// The key of the saga-state row.
    var stateRowKey: StateKey { StateKey(Self.states, id) }

    /// The saga-state row's fields as they will be with the given ones changed: a snapshot its
    /// row is written from, on whichever thread commits it.
    func stateFields(state: SagaState? = nil, reason: String? = nil, compensated: [Int]? = nil, completions: Int? = nil,
                     escalations: [SagaEscalation]? = nil, endedAt: Int64? = nil) -> SagaStateFields {
        SagaStateFields(state: state ?? self.state, reason: reason ?? self.reason, compensated: compensated ?? self.compensated,
                        completions: completions ?? self.completions, escalations: escalations ?? self.escalations,
                        endedAt: endedAt ?? self.endedAt)
    }

    /// The row of step `index` as `s` describes it.
    func stepRow(_ index: Int, _ s: StepRecord) -> StateRow {
        StateRow(stepRowKeys[index]) { Self.stepRowText(s) }
    }

    /// The bytes of a step's row.
    static func stepRowText(_ s: StepRecord) -> [UInt8] {
        var w = RowText(capacity: 160)
        w.string("agent", s.agent)
        w.int("attempts", s.attempts)
        if let checkpoint = s.checkpoint { w.string("checkpoint", checkpoint) }
        if let completion = s.completion { w.int("completion", completion) }
        if let error = s.error { w.object("error") { error.write(to: &$0) } }
        w.int("failures", s.failures)
        if let output = s.output { w.value("output", output) }
        if let retryAt = s.retryAt { w.time("retry_at", retryAt) }
        w.string("state", s.state.rawValue)
        w.int("undo_attempts", s.undoAttempts)
        if let undoError = s.undoError { w.object("undo_error") { undoError.write(to: &$0) } }
        w.int("undo_failures", s.undoFailures)
        w.version(rowVersion)
        return w.finish()
    }

    /// The key of step `index`'s row: `<saga>/<index>`, made with one allocation.
    static func stepKey(saga: String, _ index: Int) -> String {
        RuntimeKeys.numbered(saga, "/", UInt64(index), radix: .decimal, width: 1)
    }

    // MARK: Reading rows back

    /// Reads every saga out of a store's rows; a row that does not read throws `foreignSchema`.
    static func load(_ rows: [StateRow]) throws(StoreError) -> [String: SagaRecord] {
        var sagas: [String: SagaRecord] = [:]
        for row in rows where row.key.collection == headers {
            let saga = try header(row)
            sagas[saga.id] = saga
        }
        for row in rows where row.key.collection == states {
            guard let saga = sagas[row.key.key] else { throw bad(row, "it belongs to no saga") }
            let r = try reader(row)
            guard let state = r.string("state").flatMap(SagaState.init(rawValue:)), let compensated = r.list("compensated"),
                  let completions = r.int("completions"), let escalations = r.list("escalations") else { throw bad(row, "a field is malformed") }
            saga.state = state
            saga.reason = r.string("reason")
            saga.completions = completions
            saga.endedAt = r.time("ended_at")
            saga.compensated = try compensated.map { (value: Value) throws(StoreError) -> Int in
                guard case .number(let x) = value, x == x.rounded(), x >= 0, Int(x) < saga.steps.count else { throw bad(row, "a step index is malformed") }
                return Int(x)
            }
            saga.escalations = try escalations.map { (value: Value) throws(StoreError) -> SagaEscalation in
                guard let e = RowReader(value), let step = e.string("step"), let agent = e.string("agent"), let severity = e.number("severity"),
                      let error = e.members["error"].flatMap(StepError.init) else { throw bad(row, "an escalation is malformed") }
                return SagaEscalation(saga: saga.id, session: saga.session, step: step, agent: agent, severity: severity, error: error)
            }
        }
        for row in rows where row.key.collection == stepRows {
            let parts = row.key.key.split(separator: "/")
            guard parts.count == 2, let saga = sagas[String(parts[0])], let index = Int(parts[1]), saga.steps.indices.contains(index) else {
                throw bad(row, "it names no step of a saga")
            }
            let r = try reader(row)
            guard let state = r.string("state").flatMap(StepState.init(rawValue:)), let agent = r.string("agent"),
                  let attempts = r.int("attempts"), let failures = r.int("failures"), let undoAttempts = r.int("undo_attempts"),
                  let undoFailures = r.int("undo_failures") else { throw bad(row, "a field is malformed") }
            var step = StepRecord(agent: agent)
            step.state = state
            step.attempts = attempts
            step.failures = failures
            step.undoAttempts = undoAttempts
            step.undoFailures = undoFailures
            step.completion = r.int("completion")
            step.output = r.members["output"]
            step.error = r.members["error"].flatMap(StepError.init)
            step.undoError = r.members["undo_error"].flatMap(StepError.init)
            step.retryAt = r.time("retry_at")
            step.checkpoint = r.string("checkpoint")
            saga.steps[index] = step
        }
        return sagas
    }

    /// Reads a header row into a saga with every step pending.
    private static func header(_ row: StateRow) throws(StoreError) -> SagaRecord {
        let r = try reader(row)
        guard let id = r.string("saga"), id == row.key.key, let session = r.string("session"), let startedAt = r.time("started_at"),
              let planValue = r.members["plan"] else { throw bad(row, "a field is malformed") }
        let plan: SagaPlan
        do {
            plan = try SagaPlanJSON.plan(planValue)
            try plan.verify()
        } catch let error as Verifier.Failure {
            throw bad(row, "its plan does not verify: \(error.message)")
        } catch {
            throw bad(row, "its plan is malformed")
        }
        return SagaRecord(id: id, session: session, plan: SharedPlan(plan), input: r.members["input"] ?? .null, baseURL: r.string("base_url"),
                          startedAt: startedAt)
    }

    /// A reader over a row's JSON object of the current version.
    private static func reader(_ row: StateRow) throws(StoreError) -> RowReader {
        let value: Value
        do {
            value = try row.value.withUnsafeBufferPointer { bytes throws(JSONParseError) in try JSONParser.parse(bytes) }
        } catch {
            throw bad(row, "not json (\(error.message))")
        }
        guard let r = RowReader(value), r.int("v") == rowVersion else { throw bad(row, "not a version \(rowVersion) row") }
        return r
    }

    /// `foreignSchema` naming the row.
    private static func bad(_ row: StateRow, _ what: String) -> StoreError {
        StoreError(.foreignSchema, "saga row `\(row.key.collection)/\(row.key.key)` cannot be read: \(what)")
    }
}

/// Plans as JSON (for the saga's header row): every field of `SagaPlan`, read back exactly.
enum SagaPlanJSON {
    /// Why a plan does not read.
    struct Malformed: Error {}

    /// The plan as a JSON object (the header row's `plan`).
    static func text(_ p: SagaPlan) -> [UInt8] {
        var w = RowText(capacity: 256 + 320 * p.steps.count)
        write(p, to: &w)
        return w.finish()
    }

    /// The plan's members, written in key order.
    private static func write(_ p: SagaPlan, to w: inout RowText) {
        w.int("attempts", Int(p.compensation.attempts))
        if let base = p.baseURL { w.string("base_url", base) }
        w.objects("fan_outs", p.fanOuts) { g, fanOut in
            g.ints("branches", fanOut.branches)
            g.int("policy", Int(fanOut.policy.rawValue))
        }
        w.string("file", p.file)
        w.int("line", Int(p.line))
        w.int("max_concurrency", Int(p.maxConcurrency))
        w.objects("metadata", p.metadata) { m, item in
            m.string("key", item.key)
            m.string("value", item.value)
        }
        w.string("name", p.name)
        w.ints("order", p.order)
        w.object("retry") { write(p.retry, to: &$0) }
        if let id = p.sagaID { w.string("saga_id", id) }
        w.string("session", p.sessionID)
        w.objects("steps", p.steps) { m, s in
            m.string("action", s.actionID)
            m.string("agent", s.agent)
            if let goal = s.checkpointGoal { m.string("checkpoint_goal", goal) }
            m.ints("depends_on", s.dependsOn)
            if let api = s.executeAPI { m.string("execute_api", api) }
            m.string("id", s.id)
            m.int("line", Int(s.line))
            m.int("retries", Int(s.retries))
            if let retry = s.retry { m.object("retry") { write(retry, to: &$0) } }
            m.int("timeout_ms", Int(s.timeoutMilliseconds))
            if let api = s.undoAPI { m.string("undo_api", api) }
        }
    }

    /// A retry policy's members, in key order.
    private static func write(_ r: SagaPlan.Retry, to w: inout RowText) {
        w.number("initial", r.initial)
        w.number("jitter", r.jitter)
        w.number("max", r.max)
        w.number("multiplier", r.multiplier)
    }

    /// Reads a plan written by `write`.
    static func plan(_ value: Value) throws(Malformed) -> SagaPlan {
        guard let r = RowReader(value), let name = r.string("name"), let session = r.string("session"), let file = r.string("file"),
              let line = r.int("line"), let steps = r.list("steps"), let order = r.list("order"), let fanOuts = r.list("fan_outs"),
              let retryValue = r.object("retry"), let attempts = r.int("attempts"), let metadata = r.list("metadata"),
              let maxConcurrency = r.int("max_concurrency") else { throw Malformed() }
        return SagaPlan(
            name: name, sessionID: session, sagaID: r.string("saga_id"), file: file, line: try u32(line),
            steps: try steps.map(step), order: try order.map(index),
            fanOuts: try fanOuts.map { (v: Value) throws(Malformed) -> SagaPlan.FanOut in
                guard let g = RowReader(v), let raw = g.int("policy"), let policy = SagaPlan.FanOut.Policy(rawValue: UInt8(clamping: raw)),
                      let branches = g.list("branches") else { throw Malformed() }
                return SagaPlan.FanOut(policy: policy, branches: try branches.map(index))
            },
            retry: try retry(retryValue), compensation: SagaPlan.Compensation(attempts: UInt8(clamping: attempts)),
            metadata: try metadata.map { (v: Value) throws(Malformed) -> SagaPlan.Metadata in
                guard let m = RowReader(v), let key = m.string("key"), let value = m.string("value") else { throw Malformed() }
                return SagaPlan.Metadata(key: key, value: value)
            },
            baseURL: r.string("base_url"), maxConcurrency: UInt8(clamping: maxConcurrency))
    }

    /// Reads a step.
    private static func step(_ value: Value) throws(Malformed) -> SagaPlan.Step {
        guard let s = RowReader(value), let id = s.string("id"), let action = s.string("action"), let agent = s.string("agent"),
              let timeout = s.int("timeout_ms"), let retries = s.int("retries"), let dependsOn = s.list("depends_on"),
              let line = s.int("line") else { throw Malformed() }
        return SagaPlan.Step(id: id, actionID: action, agent: agent, executeAPI: s.string("execute_api"), undoAPI: s.string("undo_api"),
                             timeoutMilliseconds: try u32(timeout), retries: UInt8(clamping: retries),
                             retry: try s.object("retry").map(retry), checkpointGoal: s.string("checkpoint_goal"),
                             dependsOn: try dependsOn.map(index), line: try u32(line))
    }

    /// Reads a retry policy.
    private static func retry(_ r: RowReader) throws(Malformed) -> SagaPlan.Retry {
        guard let initial = r.number("initial"), let multiplier = r.number("multiplier"), let max = r.number("max"),
              let jitter = r.number("jitter") else { throw Malformed() }
        return SagaPlan.Retry(initial: initial, multiplier: multiplier, max: max, jitter: jitter)
    }

    /// A step index.
    private static func index(_ value: Value) throws(Malformed) -> UInt32 {
        guard case .number(let x) = value, x == x.rounded(), x >= 0, x <= Double(UInt32.max) else { throw Malformed() }
        return UInt32(x)
    }

    /// A whole number that fits in 32 bits.
    private static func u32(_ n: Int) throws(Malformed) -> UInt32 {
        guard n >= 0, n <= Int(UInt32.max) else { throw Malformed() }
        return UInt32(n)
    }
}
