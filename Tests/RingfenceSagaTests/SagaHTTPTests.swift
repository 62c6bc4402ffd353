import Foundation
import Ringfence
import RingfenceHTTPExecutor
import Testing

/// Sagas against a real HTTP service on loopback (`examples/sagas/service.py`): the seed's own
/// cases, retries with their exact waits, a denied step, timeouts, a DAG whose independent steps
/// must overlap to succeed, and servers that misbehave. Every case checks the service saw
/// well-formed requests keyed `<saga>/<step>/<phase>` and at most one effect per key.
@Suite(.serialized) struct SagaHTTPTests {
    /// One service for the suite.
    static let service = Result { try SagaService() }
    /// One HTTP executor for the suite.
    static let http = HTTPStepExecutor()

    /// Runs `yaml`'s saga `name` as saga id `id` against the service; returns the result, the timer and the runtime.
    func run(_ name: String, _ yaml: String, id: String) async throws -> (SagaResult, RecordingTimer, Runtime) {
        let service = try Self.service.get()
        let engine = try SagaFixture.engine([yaml.replacingOccurrences(of: "BASE", with: service.baseURL)])
        let timer = RecordingTimer()
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(fallback: Self.http),
                                                                                    timer: timer, random: SeededSagaRandom(seed: 1)))
        let result = try await runtime.runSaga(try SagaFixture.plan(engine, name), session: "s1", id: id)
        return (result, timer, runtime)
    }

    /// The service's view, checked for well-formed requests and at most one effect per key.
    func checkedStats() async throws -> SagaService.Stats {
        let stats = try await Self.service.get().stats()
        #expect(stats.violations.isEmpty, "\(stats.violations)")
        for (key, entry) in stats.keys { #expect(entry.effects <= 1, "\(key) took effect \(entry.effects) times") }
        return stats
    }

    @Test func completedSagaRunsEveryStepOnce() async throws {
        let (result, _, _) = try await run("happy", SagaFixture.saga("happy", """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/undo-a}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /ok/b, undo_api: /ok/undo-b, checkpoint_goal: b is done}
            """), id: "t-happy")
        #expect(result.state == .completed && result.exitStatus == 0)
        #expect(result.steps.map(\.attempts) == [1, 1])
        guard case .object(let output)? = result.steps[1].output else { Issue.record("no output"); return }
        #expect(output["key"] == .string("t-happy/b/execute"))
        let stats = try await checkedStats()
        #expect(stats.keys["t-happy/a/execute"] == .init(requests: 1, effects: 1))
        #expect(stats.keys["t-happy/a/undo"] == nil)
    }

    @Test func compensationRunsInReverseCompletionOrder() async throws {
        let (result, _, _) = try await run("reverse", SagaFixture.saga("reverse", """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/undo-a}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /ok/b, undo_api: /ok/undo-b}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /ok/c, undo_api: /ok/undo-c}
              - {id: d, action_id: svc.d, agent: did:a, execute_api: /fail/422/d, undo_api: /ok/undo-d}
            """), id: "t-reverse")
        #expect(result.state == .compensated && result.exitStatus == 4)
        #expect(result.compensated == ["c", "b", "a"])
        #expect(result.states == ["a": .compensated, "b": .compensated, "c": .compensated, "d": .failed])
        #expect(result.steps[3].error?.code == "http_status" && result.steps[3].error?.status == 422)
        let stats = try await checkedStats()
        #expect(stats.effects.filter { $0.hasPrefix("t-reverse/") && $0.hasSuffix("/undo") } == ["t-reverse/c/undo", "t-reverse/b/undo", "t-reverse/a/undo"])
        #expect(stats.keys["t-reverse/d/undo"] == nil, "a failed step is not compensated")
    }

    @Test func stepWithoutUndoIsRecordedAndEscalates() async throws {
        let (result, _, runtime) = try await run("noundo", SagaFixture.saga("noundo", """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /ok/b, undo_api: /ok/undo-b}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /fail/400/c, undo_api: /ok/undo-c}
            """), id: "t-noundo")
        #expect(result.state == .escalated && result.exitStatus == 5)
        #expect(result.compensated == ["b"])
        #expect(result.states["a"] == .compensationFailed)
        #expect(result.steps[0].error == StepError(code: "no_undo_api", message: "no undo_api"))
        #expect(result.escalations.map(\.key) == ["t-noundo/a"])
        #expect(result.escalations.first?.agent == "did:a" && result.escalations.first?.severity == 0.5)
        // The escalation is audited once, with the saga's other transitions.
        try runtime.log.flush()
        let kinds = try runtime.store.auditEntries(from: 0, limit: 1_000).map(\.entry.kind)
        #expect(kinds.filter { $0 == "saga.escalation" }.count == 1)
        #expect(kinds.contains("saga.started") && kinds.contains("saga.ended") && kinds.contains("saga.step.compensation_failed"))
    }

    @Test func failingCompensationRetriesThenEscalates() async throws {
        let (result, timer, _) = try await run("undo-fails", SagaFixture.saga("undo-fails", """
            base_url: BASE
            retry: {initial: 2, multiplier: 3, max: 100}
            on_compensation_failure: {escalate: liability, attempts: 3}
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /fail/503/undo-a}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /fail/409/b, undo_api: /ok/undo-b}
            """), id: "t-undofails")
        #expect(result.state == .escalated)
        #expect(result.states == ["a": .compensationFailed, "b": .failed])
        #expect(result.steps[0].error?.status == 503)
        #expect(timer.seconds == [2, 6], "the saga's retry waits come between undo attempts")
        let stats = try await checkedStats()
        #expect(stats.keys["t-undofails/a/undo"] == .init(requests: 3, effects: 0))
    }

    @Test func majorityTwoOfThreeCompletes() async throws {
        let (result, _, _) = try await run("maj3", SagaFixture.saga("maj3", """
            base_url: BASE
            steps:
              - {id: x, action_id: svc.x, agent: did:a, execute_api: /ok/x, undo_api: /ok/ux}
              - {id: "y", action_id: svc.y, agent: did:b, execute_api: /ok/y, undo_api: /ok/uy}
              - {id: z, action_id: svc.z, agent: did:c, execute_api: /fail/500/z, undo_api: /ok/uz}
              - {id: after, action_id: svc.after, agent: did:a, execute_api: /ok/after, undo_api: /ok/uafter}
            fan_out:
              - {policy: majority_must_succeed, branches: [x, "y", z]}
            """), id: "t-maj3")
        #expect(result.state == .completed)
        #expect(result.states == ["x": .committed, "y": .committed, "z": .failed, "after": .committed])
    }

    @Test func majorityTwoOfFourCompensatesTheCommittedBranches() async throws {
        let (result, _, _) = try await run("maj4", SagaFixture.saga("maj4", """
            base_url: BASE
            steps:
              - {id: w, action_id: svc.w, agent: did:a, execute_api: /ok/w, undo_api: /ok/uw}
              - {id: x, action_id: svc.x, agent: did:b, execute_api: /ok/x, undo_api: /ok/ux}
              - {id: "y", action_id: svc.y, agent: did:c, execute_api: /fail/422/y, undo_api: /ok/uy}
              - {id: z, action_id: svc.z, agent: did:a, execute_api: /fail/422/z, undo_api: /ok/uz}
              - {id: never, action_id: svc.never, agent: did:a, execute_api: /ok/never, undo_api: /ok/unever}
            fan_outs:
              - {policy: majority_must_succeed, branch_step_ids: [w, x, "y", z]}
            """), id: "t-maj4")
        #expect(result.state == .compensated)
        #expect(Set(result.compensated) == ["w", "x"])
        #expect(result.states == ["w": .compensated, "x": .compensated, "y": .failed, "z": .failed, "never": .pending])
        let stats = try await checkedStats()
        #expect(stats.keys["t-maj4/y/undo"] == nil && stats.keys["t-maj4/z/undo"] == nil, "failed branches are not compensated")
        #expect(stats.keys["t-maj4/never/execute"] == nil)
    }

    @Test func anyOneOfThreeCompletes() async throws {
        let (result, _, _) = try await run("any", SagaFixture.saga("any", """
            base_url: BASE
            steps:
              - {id: x, action_id: svc.x, agent: did:a, execute_api: /fail/500/x, undo_api: /ok/ux}
              - {id: "y", action_id: svc.y, agent: did:b, execute_api: /ok/y, undo_api: /ok/uy}
              - {id: z, action_id: svc.z, agent: did:c, execute_api: /fail/404/z, undo_api: /ok/uz}
            fan_out:
              - {policy: any_must_succeed, branches: [x, "y", z]}
            """), id: "t-any")
        #expect(result.state == .completed)
        #expect(result.states == ["x": .failed, "y": .committed, "z": .failed])
    }

    @Test func allWithOneFailureCompensatesTheOthers() async throws {
        let (result, _, _) = try await run("all", SagaFixture.saga("all", """
            base_url: BASE
            steps:
              - {id: first, action_id: svc.first, agent: did:a, execute_api: /ok/first, undo_api: /ok/ufirst}
              - {id: x, action_id: svc.x, agent: did:a, execute_api: /ok/x, undo_api: /ok/ux}
              - {id: "y", action_id: svc.y, agent: did:b, execute_api: /fail/400/y, undo_api: /ok/uy}
              - {id: z, action_id: svc.z, agent: did:c, execute_api: /ok/z, undo_api: /ok/uz}
            fan_out:
              - {policy: all_must_succeed, branches: [x, "y", z]}
            """), id: "t-all")
        #expect(result.state == .compensated)
        #expect(result.states == ["first": .compensated, "x": .compensated, "y": .failed, "z": .compensated])
        #expect(result.compensated.last == "first", "the step before the group completed first, so it is undone last")
    }

    @Test func retriesWaitExactlyAsTheBackoffSays() async throws {
        let (result, timer, _) = try await run("retry", SagaFixture.saga("retry", """
            base_url: BASE
            steps:
              - id: a
                action_id: svc.a
                agent: did:a
                execute_api: /flaky/3/503/a
                undo_api: /ok/ua
                retries: 3
                retry: {initial: 500ms, multiplier: 2, max: 1.5, jitter: 0}
            """), id: "t-retry")
        #expect(result.state == .completed && result.steps[0].attempts == 4)
        #expect(timer.seconds == [0.5, 1, 1.5])
        let stats = try await checkedStats()
        #expect(stats.keys["t-retry/a/execute"] == .init(requests: 4, effects: 1), "one key for every retry")
    }

    @Test func withoutRetryBlockTheSeedWaitsOneSecond() async throws {
        let (result, timer, _) = try await run("seedretry", """
            name: seedretry
            session_id: s1
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: BASE/flaky/2/429/a, undo_api: BASE/ok/ua, retries: 2}
            """, id: "t-seedretry")
        #expect(result.state == .completed && result.steps[0].attempts == 3)
        #expect(timer.seconds == [1, 1])
    }

    @Test func retriesStopAtTheirNumber() async throws {
        let (result, timer, _) = try await run("spent", SagaFixture.saga("spent", """
            base_url: BASE
            retry: {initial: 1, multiplier: 10, max: 30}
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /fail/502/a, undo_api: /ok/ua, retries: 2}
            """), id: "t-spent")
        #expect(result.state == .compensated && result.steps[0].attempts == 3 && result.states["a"] == .failed)
        #expect(timer.seconds == [1, 10])
    }

    @Test func deniedStepFailsAtOnceWithItsDecision() async throws {
        let (result, timer, _) = try await run("denied", SagaFixture.saga("denied", """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/ua}
              - {id: b, action_id: svc.forbidden, agent: did:b, execute_api: /ok/b, undo_api: /ok/ub, retries: 5}
            """), id: "t-denied")
        #expect(result.state == .compensated && result.compensated == ["a"])
        let error = try #require(result.steps[1].error)
        #expect(error.code == "policy_denied" && result.steps[1].attempts == 0)
        guard case .object(let decision)? = error.decision else { Issue.record("no decision attached"); return }
        #expect(decision["decision"] == .string("deny") && decision["rule"] == .string("forbidden"))
        #expect(timer.seconds.isEmpty, "a denial is not retried")
        let stats = try await checkedStats()
        #expect(stats.keys["t-denied/b/execute"] == nil, "a denied step never reaches the service")
    }

    @Test func hangingServerTimesOut() async throws {
        let (result, timer, _) = try await run("hang", SagaFixture.saga("hang", """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /hang/a, undo_api: /ok/ua, timeout: 300ms, retries: 1}
            """), id: "t-hang")
        #expect(result.state == .compensated)
        #expect(result.steps[0].error?.code == "timeout" && result.steps[0].attempts == 2)
        #expect(timer.seconds == [1])
    }

    @Test func independentStepsOfADAGOverlap() async throws {
        // `b` and `c` each wait at the service until both have arrived (503 after 5 s): they
        // succeed only if they run at the same time.
        let (result, _, _) = try await run("dag", SagaFixture.saga("dag", """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/ua}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /rendezvous/t-dag/2/5000/b, undo_api: /ok/ub, depends_on: a}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /rendezvous/t-dag/2/5000/c, undo_api: /ok/uc, depends_on: [a]}
              - {id: d, action_id: svc.d, agent: did:a, execute_api: /ok/d, undo_api: /ok/ud, depends_on: [b, c]}
            """), id: "t-dag")
        #expect(result.state == .completed, "\(result.value.jsonText)")
        let stats = try await checkedStats()
        let order = stats.effects.filter { $0.hasPrefix("t-dag/") }
        #expect(order.first == "t-dag/a/execute" && order.last == "t-dag/d/execute")
    }

    @Test func concurrencyBoundOfOneSerialisesTheDAG() async throws {
        // With one step at a time the rendezvous never fills: each branch waits its 300 ms there
        // alone and gets 503, so the group's policy fails.
        let (result, _, _) = try await run("serial", SagaFixture.saga("serial", """
            base_url: BASE
            max_concurrency: 1
            steps:
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /rendezvous/t-serial/2/300/b, undo_api: /ok/ub, timeout: 1s}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /rendezvous/t-serial/2/300/c, undo_api: /ok/uc, timeout: 1s}
              - {id: d, action_id: svc.d, agent: did:a, execute_api: /ok/d, undo_api: /ok/ud, depends_on: [b, c]}
            fan_out:
              - {policy: any_must_succeed, branches: [b, c]}
            """), id: "t-serial")
        #expect(result.state == .compensated)
        #expect(result.steps[0].error?.status == 503 && result.steps[1].error?.status == 503, "\(result.value.jsonText)")
        #expect(result.states["d"] == .pending)
    }

    @Test(arguments: [
        ("garbage", "/garbage/a", "invalid_response"),
        ("redirect", "/redirect/a", "redirect"),
        ("huge", "/huge/a", "response_too_large"),
    ])
    func misbehavingServersFailTheAttempt(name: String, path: String, code: String) async throws {
        let (result, _, _) = try await run(name, SagaFixture.saga(name, """
            base_url: BASE
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: \(path), undo_api: /ok/ua, timeout: 20s}
            """), id: "t-bad-\(name)")
        #expect(result.state == .compensated)
        #expect(result.steps[0].error?.code == code, "\(result.value.jsonText)")
    }

    @Test func pathsWithoutABaseURLAreRefusedBeforeAnythingRuns() async throws {
        let engine = try SagaFixture.engine([SagaFixture.saga("nobase", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/ua}
            """)])
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: SagaExecutors(fallback: Self.http)))
        let plan = try SagaFixture.plan(engine, "nobase")
        let error = await #expect(throws: RuntimeError.self) { try await runtime.runSaga(plan, session: "s1") }
        #expect(error?.code == .invalidSaga && error?.message.contains("no base url") == true, "\(String(describing: error))")
        #expect(try runtime.unfinishedSagas().isEmpty)
        // `--base-url` (here the run's base URL) fixes it.
        let result = try await runtime.runSaga(plan, session: "s1", id: "t-nobase",
                                               baseURL: try Self.service.get().baseURL)
        #expect(result.state == .completed)
    }
}
