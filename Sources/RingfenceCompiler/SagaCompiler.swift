import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceSyntax

/// Compiles parsed saga definitions into `SagaPlan`s (SPEC §5): resolves step names to indexes,
/// fixes the execution order and fills in the seed's defaults. The parser has already proven
/// the names and the absence of cycles; this stage adds the checks that span files.
public enum SagaCompiler {
    /// Compiles `sagas` in order; reports sagas that share a name (RF7013), whose plans are left out.
    public static func compile(_ sagas: [SagaDocument]) -> (plans: [SagaPlan], diagnostics: [Diagnostic]) {
        var plans: [SagaPlan] = []
        var diagnostics: [Diagnostic] = []
        var firstLine: [String: SagaDocument] = [:]
        for saga in sagas {
            if let first = firstLine[saga.name.value] {
                diagnostics.append(Diagnostic(.duplicateSagaName, Messages.duplicateSagaName(saga.name.value),
                                              at: saga.name.location, length: saga.name.length,
                                              help: "first defined in `\(first.file)` at line \(first.name.location.line)"))
                continue
            }
            firstLine[saga.name.value] = saga
            plans.append(plan(saga))
        }
        return (plans, diagnostics)
    }

    /// The plan for one saga whose names and dependencies are already known to be sound.
    public static func plan(_ saga: SagaDocument) -> SagaPlan {
        var index: [String: UInt32] = [:]
        for (i, step) in saga.steps.enumerated() { index[step.id.value] = UInt32(i) }
        let steps = saga.steps.map { step in
            SagaPlan.Step(
                id: step.id.value, actionID: step.actionID.value, agent: step.agent.value,
                executeAPI: step.executeAPI, undoAPI: step.undoAPI,
                timeoutMilliseconds: UInt32(clamping: step.timeoutMilliseconds), retries: UInt8(clamping: step.retries),
                retry: step.retry.map(Self.retry), checkpointGoal: step.checkpointGoal,
                dependsOn: uniqued(step.dependsOn.compactMap { index[$0.value] }),
                line: UInt32(clamping: step.location.line))
        }
        let fanOuts = saga.fanOuts.map { group in
            SagaPlan.FanOut(policy: Self.policy(group.policy.value), branches: group.branches.compactMap { index[$0.value] })
        }
        let escalation = saga.onCompensationFailure ?? .seed
        return SagaPlan(
            name: saga.name.value, sessionID: saga.sessionID.value, sagaID: saga.sagaID?.value, file: saga.file,
            line: UInt32(clamping: saga.location.line), steps: steps, order: order(steps), fanOuts: fanOuts,
            retry: Self.retry(saga.retry ?? .seed),
            compensation: SagaPlan.Compensation(order: .reverseCompletion, escalate: .liability, attempts: UInt8(clamping: escalation.attempts)),
            metadata: saga.metadata.map { SagaPlan.Metadata(key: $0.key, value: $0.value) },
            baseURL: saga.baseURL?.value, maxConcurrency: UInt8(clamping: saga.maxConcurrency ?? Int(SagaPlan.defaultMaxConcurrency)))
    }

    /// The execution order: a topological order of the dependencies that takes, at each point,
    /// the earliest-declared step whose dependencies are done (Kahn's algorithm with a min-heap,
    /// so it is O((n + e) log n) on any input). Steps on a cycle would be left out; the parser
    /// rejects cycles and the verifier refuses an order of the wrong length.
    static func order(_ steps: [SagaPlan.Step]) -> [UInt32] {
        var waiting = steps.map(\.dependsOn.count)
        var dependents = [[Int]](repeating: [], count: steps.count)
        for (s, step) in steps.enumerated() {
            for d in step.dependsOn where Int(d) < steps.count { dependents[Int(d)].append(s) }
        }
        var ready = MinHeap()
        for s in steps.indices where waiting[s] == 0 { ready.push(s) }
        var order: [UInt32] = []
        while let s = ready.pop() {
            order.append(UInt32(s))
            for t in dependents[s] {
                waiting[t] -= 1
                if waiting[t] == 0 { ready.push(t) }
            }
        }
        return order
    }

    /// The indexes without repeats, first occurrence kept.
    private static func uniqued(_ indexes: [UInt32]) -> [UInt32] {
        var seen = Set<UInt32>()
        return indexes.filter { seen.insert($0).inserted }
    }

    /// The plan form of a retry policy.
    private static func retry(_ policy: RetryPolicy) -> SagaPlan.Retry {
        SagaPlan.Retry(initial: policy.initial, multiplier: policy.multiplier, max: policy.max, jitter: policy.jitter)
    }

    /// The plan form of a fan-out policy.
    private static func policy(_ policy: FanOutPolicy) -> SagaPlan.FanOut.Policy {
        switch policy {
        case .allMustSucceed: .allMustSucceed
        case .majorityMustSucceed: .majorityMustSucceed
        case .anyMustSucceed: .anyMustSucceed
        }
    }
}

/// A binary min-heap of integers (the ready steps of the topological sort).
private struct MinHeap {
    /// The heap-ordered values.
    private var items: [Int] = []

    /// Adds `value`.
    mutating func push(_ value: Int) {
        items.append(value)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[parent] > items[i] else { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    /// Removes and returns the smallest value, or nil when empty.
    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count, items[l] < items[smallest] { smallest = l }
            if r < items.count, items[r] < items[smallest] { smallest = r }
            guard smallest != i else { return top }
            items.swapAt(i, smallest)
            i = smallest
        }
    }
}
