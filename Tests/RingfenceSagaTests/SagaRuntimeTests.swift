import Foundation
import Ringfence
import RingfenceTestSupport
import Synchronization
import Testing

/// Sagas with in-process executors: state tables, jitter, timeouts of closures that hang, the
/// kill switch's handoffs, escalations through the ledger's seam, resuming from the store, and
/// the `saga.*` operations.
@Suite struct SagaRuntimeTests {
    /// The calls closures saw, in order.
    final class CallLog: Sendable {
        /// The entries.
        private let mutex = Mutex<[String]>([])
        /// Adds an entry.
        func append(_ entry: String) { mutex.withLock { $0.append(entry) } }
        /// The entries so far.
        var entries: [String] { mutex.withLock { $0 } }
    }

    /// Closures that succeed, returning `{step, phase, attempt}`, for every action named.
    static func succeeding(_ actions: [String], isolation: InProcessStep.Isolation = .inline,
                           log: CallLog? = nil) -> [String: InProcessStep] {
        Dictionary(uniqueKeysWithValues: actions.map { action in
            (action, InProcessStep(isolation: isolation) { call in
                log?.append("\(call.step)/\(call.phase.rawValue)/\(call.agent)")
                return .object(["step": .string(call.step), "phase": .string(call.phase.rawValue), "attempt": .number(Double(call.attempt))])
            })
        })
    }

    /// A saga of steps `a`, `b`, `c` on actions `svc.a`, `svc.b`, `svc.c`.
    static let threeSteps = SagaFixture.saga("three", """
        steps:
          - {id: a, action_id: svc.a, agent: did:a, execute_api: /a, undo_api: /ua}
          - {id: b, action_id: svc.b, agent: did:b, execute_api: /b, undo_api: /ub}
          - {id: c, action_id: svc.c, agent: did:c, execute_api: /c, undo_api: /uc}
        """)

    @Test func theTablesHoldTheTransitionsOfTheSpec() {
        #expect(StepMachine.next(.attempt, from: .pending) == .executing)
        #expect(StepMachine.next(.commit, from: .executing) == .committed)
        #expect(StepMachine.next(.fail, from: .executing) == .failed)
        #expect(StepMachine.next(.compensate, from: .committed) == .compensating)
        #expect(StepMachine.next(.undone, from: .compensating) == .compensated)
        #expect(StepMachine.next(.undoFailed, from: .compensating) == .compensationFailed)
        #expect(StepMachine.next(.commit, from: .pending) == nil && StepMachine.next(.compensate, from: .failed) == nil)
        #expect(SagaMachine.next(.complete, from: .running) == .completed)
        #expect(SagaMachine.next(.undone, from: .compensating) == .compensated)
        #expect(SagaMachine.next(.escalate, from: .compensating) == .escalated)
        #expect(SagaMachine.next(.complete, from: .compensating) == nil)
        for state in SagaState.allCases where state.isFinal { #expect(SagaMachine.table.allSatisfy { !$0.from.contains(state) }) }
    }

    @Test func docsDrawTheTablesTheRuntimeRunsOn() throws {
        let url = Repository.url("docs/sagas.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let start = text.range(of: SagaReference.begin), let end = text.range(of: SagaReference.end) else {
            Issue.record("docs/sagas.md has no generated section")
            return
        }
        if ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == "1" {
            try text.replacingCharacters(in: start.upperBound..<end.lowerBound, with: "\n" + SagaReference.markdown + "\n")
                .write(to: url, atomically: true, encoding: .utf8)
            Issue.record("recorded the generated section of docs/sagas.md; review it and rerun without RINGFENCE_RECORD")
        }
        #expect(String(text[start.upperBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
                == SagaReference.markdown.trimmingCharacters(in: .whitespacesAndNewlines),
                "docs/sagas.md is stale: paste SagaReference.markdown between its markers")
    }

    /// An executor that refuses every step, counting how often it was asked.
    struct Refusing: StepExecutor {
        /// Whether it says it checks steps.
        let checksSteps: Bool
        /// The steps it was asked about.
        let asked: CallLog

        func problem(with step: SagaPlan.Step, phase: StepPhase, baseURL: String?) -> String? {
            asked.append("\(step.id)/\(phase.rawValue)")
            return "refused by the test"
        }

        func run(_ call: StepCall) async -> Result<Value?, StepFailure> {
            .success(.object(["step": .string(call.step)]))
        }

        var enforcesTimeout: Bool { true }
    }

    /// Before a saga starts, an executor that checks steps (the default) is asked about each
    /// step's execute and undo, and its refusal refuses the saga before anything is written;
    /// one that says it runs every step it is given is not asked, and the saga runs.
    @Test func onlyExecutorsThatCheckStepsAreAskedBeforeASagaStarts() async throws {
        let engine = try SagaFixture.engine([Self.threeSteps])
        let plan = try SagaFixture.plan(engine, "three")
        let checking = Refusing(checksSteps: true, asked: CallLog())
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(fallback: checking)))
        try runtime.log.flush()
        let size = runtime.log.size
        await #expect { try await runtime.runSaga(plan, session: "s1") } throws: {
            ($0 as? RuntimeError)?.code == .invalidSaga && "\($0)".contains("refused by the test") && "\($0)".contains("step `a` cannot execute")
        }
        try runtime.log.flush()
        #expect(runtime.log.size == size, "a refused saga wrote an entry")
        #expect(checking.asked.entries == ["a/execute"])
        #expect(Refusing(checksSteps: true, asked: CallLog()).checksSteps)

        let trusting = Refusing(checksSteps: false, asked: CallLog())
        let other = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(fallback: trusting)))
        let result = try await other.runSaga(plan, session: "s1")
        #expect(result.state == .completed)
        #expect(trusting.asked.entries.isEmpty)
    }

    /// A saga whose step agents are not all live participants is refused before anything is
    /// written, naming the first such agent in agent order, whatever the steps' order.
    @Test func aSagaRefusesTheFirstAgentThatCannotActInAgentOrder() async throws {
        let engine = try SagaFixture.engine([SagaFixture.saga("mixed", """
            steps:
              - {id: z, action_id: svc.a, agent: did:z, execute_api: /z}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /c}
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /a}
            """)])
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(
            inProcess: Self.succeeding(["svc.a", "svc.c"]))))
        let plan = try SagaFixture.plan(engine, "mixed")
        try runtime.log.flush()
        var size = runtime.log.size
        await #expect { try await runtime.runSaga(plan, session: "s1") } throws: {
            ($0 as? RuntimeError)?.code == .invalidSaga && "\($0)".contains("did:z")
        }
        try runtime.log.flush()
        #expect(runtime.log.size == size, "a refused saga wrote an entry")
        _ = try runtime.kill(session: "s1", agent: "did:c", reason: "manual")
        try runtime.log.flush()
        size = runtime.log.size
        await #expect { try await runtime.runSaga(plan, session: "s1") } throws: {
            ($0 as? RuntimeError)?.code == .agentKilled && "\($0)".contains("did:c")
        }
        try runtime.log.flush()
        #expect(runtime.log.size == size, "a refused saga wrote an entry")
        runtime.close()
    }

    @Test func aSequentialSagaRunsInOrderAndRecordsEveryTransition() async throws {
        let engine = try SagaFixture.engine([Self.threeSteps])
        let log = CallLog()
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(
            inProcess: Self.succeeding(["svc.a", "svc.b", "svc.c"], log: log))))
        let result = try await runtime.runSaga(try SagaFixture.plan(engine, "three"), session: "s1", input: .object(["n": .number(1)]))
        #expect(result.state == .completed && result.saga.hasPrefix("saga:"))
        #expect(log.entries == ["a/execute/did:a", "b/execute/did:b", "c/execute/did:c"])
        try runtime.log.flush()
        let kinds = try runtime.store.auditEntries(from: 0, limit: 1_000).map(\.entry.kind).filter { $0.hasPrefix("saga.") || $0 == "decision" }
        let perStep: [String] = ["decision", "saga.step.executing", "saga.step.committed"]
        let expected: [String] = ["saga.started"] + perStep + perStep + perStep + ["saga.ended"]
        #expect(kinds == expected)
    }

    /// A saga this runtime runs is its own until the run ends: a resume here is refused with
    /// `saga_running` and it is not listed unfinished; once the run has ended (its end written,
    /// the saga released and its result read in one operation), a resume returns its result.
    @Test func aSagaRunningHereIsClaimedOnceAndFreedWhenItsRunStops() async throws {
        let engine = try SagaFixture.engine([Self.threeSteps])
        let plan = try SagaFixture.plan(engine, "three")
        let started = SagaLeaseTests.Gate(), proceed = SagaLeaseTests.Gate()
        var steps = Self.succeeding(["svc.a", "svc.c"])
        steps["svc.b"] = InProcessStep { _ in
            await started.open()
            await proceed.wait()
            return .null
        }
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(inProcess: steps)))
        let run = Task { try await runtime.runSaga(plan, session: "s1", id: "held") }
        await started.wait()
        #expect(try runtime.unfinishedSagas() == [])
        do {
            _ = try await runtime.resumeSaga("held")
            Issue.record("a saga running here was claimed a second time")
        } catch {
            #expect(error.code == .sagaRunning)
        }
        await proceed.open()
        #expect(try await run.value.state == .completed)
        #expect(try await runtime.resumeSaga("held").state == .completed)
        #expect(try runtime.unfinishedSagas() == [])
    }

    @Test func jitterStaysWithinItsBandAndRepeatsFromItsSeed() async throws {
        let yaml = SagaFixture.saga("jitter", """
            retry: {initial: 1, multiplier: 2, max: 8, jitter: 0.5}
            steps:
              - {id: a, action_id: svc.a, agent: did:a, undo_api: /ua, retries: 5}
            """)
        let engine = try SagaFixture.engine([yaml])
        var runs: [[Double]] = []
        for _ in 0..<2 {
            let timer = RecordingTimer()
            let failing = InProcessStep(isolation: .inline) { _ throws(StepFailure) -> Value? in
                throw StepFailure("http_status", "the server answered 503", retryable: true, status: 503)
            }
            let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(
                executors: SagaExecutors(inProcess: ["svc.a": failing]), timer: timer, random: SeededSagaRandom(seed: 42)))
            let result = try await runtime.runSaga(try SagaFixture.plan(engine, "jitter"), session: "s1")
            #expect(result.state == .compensated && result.steps[0].attempts == 6)
            runs.append(timer.seconds)
        }
        #expect(runs[0] == runs[1], "the same seed gives the same waits")
        for (n, wait) in runs[0].enumerated() {
            let base = min(8, pow(2, Double(n)))
            #expect(wait <= base && wait >= base * 0.5, "retry \(n + 1) waited \(wait), outside [\(base * 0.5), \(base)]")
        }
    }

    @Test(arguments: [InProcessStep.Isolation.task, .inline])
    func closuresThatRunPastTheirTimeoutTimeOut(isolation: InProcessStep.Isolation) async throws {
        let yaml = SagaFixture.saga("slowclosure", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, undo_api: /ua, timeout: 50ms}
            """)
        let engine = try SagaFixture.engine([yaml])
        let timer = RecordingTimer(timeoutTakes: 50_000)
        // `.task`: the closure never returns (an unresumed continuation) and is abandoned at its
        // timeout; `.inline`: it returns, but only after moving the clock past its timeout.
        let step = InProcessStep(isolation: isolation) { _ in
            if isolation == .task {
                await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            }
            timer.clock.add(60_000, ordering: .relaxed)
            return nil
        }
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(inProcess: ["svc.a": step]),
                                                                                   timer: timer))
        let result = try await runtime.runSaga(try SagaFixture.plan(engine, "slowclosure"), session: "s1")
        #expect(result.state == .compensated && result.steps[0].error?.code == "timeout")
    }

    @Test func aKillWithASubstituteHandsTheStepOver() async throws {
        let yaml = SagaFixture.saga("handoff", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, undo_api: /ua, retries: 1}
              - {id: b, action_id: svc.b, agent: did:a, undo_api: /ub}
            """)
        let engine = try SagaFixture.engine([yaml])
        let log = CallLog()
        let holder = Mutex<Runtime?>(nil)
        // The first attempt of `a` kills its own agent, handing its steps to `did:sub`, and fails.
        let stepA = InProcessStep(isolation: .inline) { (call: StepCall) throws(StepFailure) -> Value? in
            log.append("a/\(call.attempt)/\(call.agent)")
            if call.attempt == 1 {
                let kill = try? holder.withLock { $0 }?.kill(session: "s1", agent: "did:a", reason: "manual", substitute: "did:sub")
                log.append("handoffs \(kill?.handoffs.map { "\($0.step):\($0.outcome.rawValue)" } ?? [])")
                throw StepFailure("connection", "reset", retryable: true)
            }
            return nil
        }
        var executors = Self.succeeding(["svc.b"], log: log)
        executors["svc.a"] = stepA
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(inProcess: executors),
                                                                                   timer: RecordingTimer()))
        holder.withLock { $0 = runtime }
        let result = try await runtime.runSaga(try SagaFixture.plan(engine, "handoff"), session: "s1")
        #expect(result.state == .completed)
        #expect(log.entries == ["a/1/did:a", "handoffs [\"a:handed_off\", \"b:handed_off\"]", "a/2/did:sub", "b/execute/did:sub"])
    }

    @Test func aKillWithoutASubstituteCompensatesTheSaga() async throws {
        let yaml = SagaFixture.saga("killed", """
            steps:
              - {id: a, action_id: svc.a, agent: did:b, undo_api: /ua}
              - {id: b, action_id: svc.b, agent: did:a, undo_api: /ub}
              - {id: c, action_id: svc.c, agent: did:a, undo_api: /uc}
            """)
        let engine = try SagaFixture.engine([yaml])
        let holder = Mutex<Runtime?>(nil)
        let handoffs = Mutex<[Handoff]>([])
        var executors = Self.succeeding(["svc.a", "svc.c"])
        // `b`'s attempt is under way when its agent is killed: it finishes (and commits), no
        // later step starts, and every committed step is undone.
        executors["svc.b"] = InProcessStep(isolation: .inline) { call in
            if call.phase == .execute, let kill = try? holder.withLock({ $0 })?.kill(session: "s1", agent: "did:a", reason: "behavioral_drift") {
                handoffs.withLock { $0 = kill.handoffs }
            }
            return nil
        }
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(inProcess: executors)))
        holder.withLock { $0 = runtime }
        let result = try await runtime.runSaga(try SagaFixture.plan(engine, "killed"), session: "s1", id: "t-killed")
        #expect(handoffs.withLock { $0 } == [Handoff(saga: "t-killed", step: "b", outcome: .compensated),
                                             Handoff(saga: "t-killed", step: "c", outcome: .compensated)])
        #expect(result.state == .compensated && result.compensated == ["b", "a"] && result.states["c"] == .pending)
    }

    /// A ledger stand-in that counts escalations and writes a row for each.
    final class CountingLedger: SagaEscalationHandler {
        /// The escalations seen.
        let seen = Mutex<[String]>([])
        /// Records the escalation and adds a row to its transaction.
        func escalated(_ escalation: SagaEscalation, at now: Int64) -> ChangeSet {
            seen.withLock { $0.append(escalation.key) }
            return ChangeSet(rows: [StateRow(StateKey("test_slashes", escalation.key), Array("\(escalation.severity)".utf8))])
        }
    }

    @Test func escalationsReachTheLedgerOncePerStep() async throws {
        let yaml = SagaFixture.saga("esc", """
            on_compensation_failure: {attempts: 2}
            steps:
              - {id: a, action_id: svc.a, agent: did:a, undo_api: /ua}
              - {id: b, action_id: svc.b, agent: did:b, undo_api: /ub}
              - {id: c, action_id: svc.c, agent: did:c, undo_api: /uc}
            """)
        let engine = try SagaFixture.engine([yaml])
        let ledger = CountingLedger()
        let undoFails = InProcessStep(isolation: .inline) { (call: StepCall) throws(StepFailure) -> Value? in
            if call.phase == .undo { throw StepFailure("http_status", "the server answered 500", retryable: true, status: 500) }
            return nil
        }
        let cFails = InProcessStep(isolation: .inline) { (_: StepCall) throws(StepFailure) -> Value? in
            throw StepFailure("http_status", "the server answered 400", retryable: false, status: 400)
        }
        let store = MemoryStore()
        let runtime = try SagaFixture.runtime(engine, store: store, environment: SagaEnvironment(
            executors: SagaExecutors(inProcess: ["svc.a": undoFails, "svc.b": undoFails, "svc.c": cFails]), timer: RecordingTimer(),
            escalations: ledger))
        let result = try await runtime.runSaga(try SagaFixture.plan(engine, "esc"), session: "s1", id: "t-esc")
        #expect(result.state == .escalated && result.escalations.map(\.key) == ["t-esc/b", "t-esc/a"])
        #expect(ledger.seen.withLock { $0 } == ["t-esc/b", "t-esc/a"])
        // The runtime's liability ledger slashed and quarantined both agents, and not `did:c`.
        for agent in ["did:a", "did:b"] {
            guard case .object(let statement) = try runtime.ledgerStatement(agent: agent) else { Issue.record("no statement"); continue }
            #expect(statement["quarantined_until"] != nil && statement["trust"] != .number(0.85), "\(agent): \(Value.object(statement).jsonText)")
        }
        guard case .object(let clean) = try runtime.ledgerStatement(agent: "did:c") else { Issue.record("no statement"); return }
        #expect(clean["quarantined_until"] == nil || clean["quarantined_until"] == .null)
        // Resuming an ended saga changes nothing and raises nothing again.
        #expect(try await runtime.resumeSaga("t-esc") == result)
        try runtime.log.flush()
        #expect(try store.load().rows.filter { $0.key.collection == "test_slashes" }.count == 2)
        #expect(ledger.seen.withLock { $0.count } == 2)
    }

    @Test func aStepLeftInDoubtRunsAgainUnderItsKeyAndCommittedStepsDoNot() async throws {
        let engine = try SagaFixture.engine([Self.threeSteps])
        let store = MemoryStore()
        let reached = Mutex<Bool>(false)
        // The first runtime stops inside `b`'s attempt for good, as a crash would leave it.
        var stuck = Self.succeeding(["svc.a", "svc.c"])
        stuck["svc.b"] = InProcessStep(isolation: .inline) { _ in
            reached.withLock { $0 = true }
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            return nil
        }
        let first = try SagaFixture.runtime(engine, store: store, environment: SagaEnvironment(executors: SagaExecutors(inProcess: stuck)))
        let plan = try SagaFixture.plan(engine, "three")
        Task { _ = try? await first.runSaga(plan, session: "s1", id: "t-doubt") }
        while !reached.withLock({ $0 }) { try await Task.sleep(nanoseconds: 1_000_000) }
        try first.log.flush()
        // A second runtime reads the store: `a` committed, `b` executing with its attempt in doubt.
        let calls = CallLog()
        let second = try SagaFixture.runtime(engine, store: store, environment: SagaEnvironment(executors: SagaExecutors(
            inProcess: Self.succeeding(["svc.a", "svc.b", "svc.c"], log: calls))), session: false)
        #expect(try second.unfinishedSagas() == ["t-doubt"])
        #expect(try second.sagaResult("t-doubt").states == ["a": .committed, "b": .executing, "c": .pending])
        let result = try await second.resumeSaga("t-doubt")
        #expect(result.state == .completed && result.steps.map(\.attempts) == [1, 1, 1], "the attempt in doubt ran again as attempt 1")
        #expect(calls.entries == ["b/execute/did:b", "c/execute/did:c"])
        await #expect(throws: RuntimeError.self) { try await second.resumeSaga("t-nope") }
    }

    @Test func sagaOperationsRunThroughTheDispatcher() async throws {
        let engine = try SagaFixture.engine([Self.threeSteps])
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(
            inProcess: Self.succeeding(["svc.a", "svc.b", "svc.c"]))))
        let dispatcher = OperationDispatcher(runtime)
        let lines = await onThread {
            [
                dispatcher.dispatch(line: #"{"op":"saga.start","saga":"three","session":"s1","saga_id":"op-1","input":{"k":1}}"#).line,
                dispatcher.dispatch(line: #"{"op":"saga.get","saga_id":"op-1"}"#).line,
                dispatcher.dispatch(line: #"{"op":"saga.resume","saga_id":"op-1"}"#).line,
                dispatcher.dispatch(line: #"{"op":"saga.start","saga":"nope","session":"s1"}"#).line,
                dispatcher.dispatch(line: #"{"op":"saga.get","saga_id":"op-2"}"#).line,
                dispatcher.dispatch(line: #"{"op":"saga.start","saga":"three","session":"s1","saga_id":"op-1"}"#).line,
            ]
        }
        #expect(lines[0].hasPrefix(#"{"op":"saga.start","ok":true,"result":{"compensated":[],"saga":"op-1","state":"completed","steps":[{"attempts":1,"#))
        #expect(lines[1] == lines[0].replacingOccurrences(of: "saga.start", with: "saga.get"))
        #expect(lines[2] == lines[0].replacingOccurrences(of: "saga.start", with: "saga.resume"))
        #expect(lines[3].contains(#""code":"saga_not_found""#) && lines[3].contains("`three`"))
        #expect(lines[4].contains(#""code":"saga_not_found""#))
        #expect(lines[5].contains(#""code":"id_taken""#))
    }
}

/// Runs `body` on a thread of its own and returns its result, so a test that blocks (the
/// synchronous dispatcher, the command line) never holds a thread of the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
