import RingfenceAudit
import RingfenceVM
import Synchronization

/// The sagas of one runtime: every saga read from the store or started since (each record says
/// whether this process is running it), and the environment they run with. Its saga records are
/// touched only under the runtime's lock, like sessions; it is the runtime's `SagaView`, so a kill
/// reaches the in-flight steps of the killed agent (SPEC §8.6).
final class SagaBook: SagaView, @unchecked Sendable {
    // Safety: `sagas` and its records are touched only under the runtime's lock
    // (inside `perform`, or in a change set's `apply`, which runs there too); `environment` has
    // its own lock.
    /// Every saga by id.
    var sagas: [String: SagaRecord] = [:]
    /// Every saga's lease, on a shared store (`SagaLeases.swift`).
    var leases: [String: SagaLease] = [:]
    /// The fencing token this runtime holds for each saga it took the lease of.
    var held: [String: Int64] = [:]
    /// Executors, time, randomness and the escalation handler.
    let environment = Mutex(SagaEnvironment())
    /// The plans sagas started with, shared, and their JSON text, by plan name: a plan is
    /// written into every saga's header row, and the same plan is usually started again and
    /// again. Behind a lock of its own, so a saga takes its shared plan before the runtime's
    /// lock, and the operation under that lock captures the shared plan rather than the plan
    /// (a captured plan is copied, which retains each of its steps' strings and lists).
    private let plans = Mutex<[String: (plan: SharedPlan, text: [UInt8])]>([:])

    /// The plans kept, by name.
    var planTexts: [String: (plan: SharedPlan, text: [UInt8])] { plans.withLock { $0 } }

    /// Plans whose text is kept at most; past that the texts kept are dropped.
    static let planTextsKept = 64

    /// `plan` held once for the sagas started from it, and its JSON text (`SagaPlanJSON.text`),
    /// written once per plan.
    func shared(_ plan: SagaPlan) -> (plan: SharedPlan, text: [UInt8]) {
        if let kept = plans.withLock({ $0[plan.name] }), kept.plan.plan == plan { return kept }
        let made = (plan: SharedPlan(plan), text: SagaPlanJSON.text(plan))
        plans.withLock { kept in
            if kept.count >= Self.planTextsKept { kept.removeAll() }
            kept[plan.name] = made
        }
        return made
    }

    /// Reads the sagas out of the store's rows.
    func load(_ rows: [StateRow]) throws(StoreError) {
        sagas = try SagaRecord.load(rows)
        leases = try Self.leases(rows)
    }

    /// The lease rows among `rows`, by saga.
    static func leases(_ rows: [StateRow]) throws(StoreError) -> [String: SagaLease] {
        var leases: [String: SagaLease] = [:]
        for row in rows where row.key.collection == SagaLease.collection { leases[row.key.key] = try SagaLease(row: row) }
        return leases
    }

    /// Takes up the sagas whose rows these are as another runtime on a shared store left them
    /// (SPEC §15): a saga
    /// already known keeps its record (a runner of this process may hold it), with the stored
    /// progress copied into it; new sagas are added.
    func update(_ rows: [StateRow]) throws(StoreError) {
        for (id, stored) in try SagaRecord.load(rows) {
            guard let saga = sagas[id] else {
                sagas[id] = stored
                continue
            }
            saga.state = stored.state
            saga.reason = stored.reason
            saga.compensated = stored.compensated
            saga.completions = stored.completions
            saga.escalations = stored.escalations
            saga.endedAt = stored.endedAt
            saga.steps = stored.steps
        }
    }

    /// A kill of `agent` in `session` (SPEC §8.6): each unsettled step of the agent in a running
    /// saga of the session goes to `substitute` (its later attempts are decided for it), or,
    /// without one, its saga starts compensating (attempts under way finish; no new one starts).
    func agentKilled(_ agent: String, session: String, substitute: String?, at now: Int64) -> (handoffs: [Handoff], change: ChangeSet) {
        var handoffs: [Handoff] = []
        var rows: [StateRow] = []
        var records: [AuditRecord] = []
        var updates: [(SagaRecord, Int, StepRecord)] = []
        var failing: [SagaRecord] = []
        let time = RuntimeTime.auditTime(now)
        // The book keeps every saga it has seen, ended ones too: pick the session's running
        // sagas first and sort only those (by id, so handoffs and entries come in one order).
        let live = sagas.values.filter { $0.session == session && $0.state == .running }.sorted { $0.id < $1.id }
        for saga in live {
            let indexes = saga.steps.indices.filter { saga.steps[$0].agent == agent && !saga.steps[$0].state.isSettled }
            guard !indexes.isEmpty else { continue }
            if let substitute {
                for i in indexes {
                    var step = saga.steps[i]
                    step.agent = substitute
                    updates.append((saga, i, step))
                    rows.append(saga.stepRow(i, step))
                    records.append(AuditRecord(kind: SagaEntryKind.stepHandedOff.rawValue, session: session, agent: substitute, time: time,
                                               deferred: .object(["saga": .string(saga.id), "step": .string(saga.plan.steps[i].id),
                                                               "from": .string(agent), "to": .string(substitute)])))
                    handoffs.append(Handoff(saga: saga.id, step: saga.plan.steps[i].id, outcome: .handedOff))
                }
            } else if let next = SagaMachine.next(.compensate, from: saga.state) {
                let reason = "agent `\(agent)` was killed"
                failing.append(saga)
                rows.append(saga.stateRowValue(state: next, reason: reason))
                records.append(AuditRecord(kind: SagaEntryKind.compensating.rawValue, session: session, agent: agent, time: time,
                                           deferred: .object(["saga": .string(saga.id), "reason": .string(reason)])))
                for i in indexes { handoffs.append(Handoff(saga: saga.id, step: saga.plan.steps[i].id, outcome: .compensated)) }
            }
        }
        guard !rows.isEmpty else { return ([], .none) }
        let (stepUpdates, failed) = (updates, failing)
        let change = ChangeSet(rows: rows, records: records) {
            for (saga, i, step) in stepUpdates { saga.steps[i] = step }
            for saga in failed {
                saga.state = .compensating
                saga.reason = "agent `\(agent)` was killed"
            }
        }
        return (handoffs, change)
    }
}
