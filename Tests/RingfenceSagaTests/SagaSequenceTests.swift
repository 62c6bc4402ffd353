import Foundation
import Ringfence
import RingfenceTestSupport
import Synchronization
import Testing

/// A plain sequence runs forward on the saga's own task (`forwardInSequence`), a plan with
/// `depends_on` on the general loop. The same three steps, once as a sequence and once chained
/// by `depends_on` (each step on the one before it), must run identically: the same result, the
/// same calls in the same order, and the same `saga.*` and `decision` entries with the same
/// data — whether every step commits, one fails and the others compensate, one is retried, one
/// is denied by the policies, or an undo fails and escalates.
@Suite struct SagaSequenceTests {
    /// How a scenario's closures behave.
    enum Scenario: String, CaseIterable, Sendable {
        case allCommit, secondFails, secondRetried, secondDenied, undoFailsAndEscalates
    }

    /// The saga `name` with steps `a`, `b`, `c`, chained by `depends_on` when `chained`; step
    /// `b` runs `svc.forbidden` when `denied`.
    static func saga(_ name: String, chained: Bool, denied: Bool) -> String {
        let b = denied ? "svc.forbidden" : "svc.b"
        return SagaFixture.saga(name, """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, undo_api: /ua}
              - {id: b, action_id: \(b), agent: did:b, undo_api: /ub, retries: 2\(chained ? ", depends_on: [a]" : "")}
              - {id: c, action_id: svc.c, agent: did:c, undo_api: /uc\(chained ? ", depends_on: [b]" : "")}
            """)
    }

    /// What one run gave: the result, the calls the closures saw, and the entries after the start.
    struct Run: Equatable {
        var result: SagaResult
        var calls: [String]
        var entries: [String]
    }

    /// Runs the saga `name` of `engine` in `scenario` on a fresh runtime.
    static func run(_ engine: Engine, _ name: String, _ scenario: Scenario) async throws -> Run {
        let calls = SagaRuntimeTests.CallLog()
        let attemptsOfB = Atomic<Int>(0)
        func step(_ action: String) -> InProcessStep {
            InProcessStep(isolation: .inline) { call throws(StepFailure) -> Value? in
                calls.append("\(call.step)/\(call.phase.rawValue)/\(call.attempt)")
                switch (scenario, action, call.phase) {
                case (.secondFails, "svc.b", .execute):
                    throw StepFailure("http_status", "the server answered 422", retryable: false, status: 422)
                case (.secondRetried, "svc.b", .execute) where attemptsOfB.add(1, ordering: .relaxed).newValue < 3:
                    throw StepFailure("http_status", "the server answered 503", retryable: true, status: 503)
                case (.undoFailsAndEscalates, "svc.c", .execute):
                    throw StepFailure("http_status", "the server answered 400", retryable: false, status: 400)
                case (.undoFailsAndEscalates, "svc.a", .undo):
                    throw StepFailure("http_status", "the server answered 500", retryable: false, status: 500)
                default:
                    return .object(["step": .string(call.step), "attempt": .number(Double(call.attempt))])
                }
            }
        }
        let executors = SagaExecutors(inProcess: ["svc.a": step("svc.a"), "svc.b": step("svc.b"), "svc.c": step("svc.c"),
                                                  "svc.forbidden": step("svc.forbidden")])
        let runtime = try SagaFixture.runtime(engine, environment: SagaEnvironment(executors: executors, timer: RecordingTimer()))
        var result = try await runtime.runSaga(try SagaFixture.plan(engine, name), session: "s1")
        result.name = ""
        try runtime.log.flush()
        let stored = try runtime.store.auditEntries(from: 0, limit: 1_000)
        // From the saga's start on (its `saga.started` entry names the saga, which differs).
        let start = try #require(stored.firstIndex { $0.entry.kind == "saga.started" })
        let entries = stored[(start + 1)...].map { "\($0.entry.kind) \($0.entry.agent ?? "-") \(String(decoding: $0.data ?? [], as: UTF8.self))" }
        return Run(result: result, calls: calls.entries, entries: entries)
    }

    @Test(arguments: Scenario.allCases)
    func aSequenceRunsAsTheSameStepsChainedByDependsOn(_ scenario: Scenario) async throws {
        let denied = scenario == .secondDenied
        let engine = try SagaFixture.engine([Self.saga("plain", chained: false, denied: denied),
                                             Self.saga("chained", chained: true, denied: denied)])
        #expect(try !SagaFixture.plan(engine, "plain").isGraph && SagaFixture.plan(engine, "chained").isGraph)
        let plain = try await Self.run(engine, "plain", scenario)
        let chained = try await Self.run(engine, "chained", scenario)
        #expect(plain == chained)
        let expected: SagaState = switch scenario {
        case .allCommit, .secondRetried: .completed
        case .secondFails, .secondDenied: .compensated
        case .undoFailsAndEscalates: .escalated
        }
        #expect(plain.result.state == expected, "\(plain.result)")
        #expect(plain.entries.count >= 6, "\(plain.entries)")
    }
}
