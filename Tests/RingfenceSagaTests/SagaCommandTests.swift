import Foundation
import Ringfence
import RingfenceTestSupport
import Testing

/// `ringfence saga run|status|resume` as a user runs them (the built binary, a SQLite store): the
/// result JSON and the exit statuses of SPEC §10.5 — 0 completed, 4 compensated, 5 escalated,
/// 1 an invalid saga, 2 usage.
@Suite(.serialized) struct SagaCommandTests {
    /// One service for the suite.
    static let service = Result { try SagaService() }

    /// A scratch folder with the policy and a store URL in it.
    struct Setup {
        /// The folder.
        let scratch: Scratch
        /// The policy file.
        let policy: String
        /// `sqlite:<folder>/state.db`.
        let state: String
        /// The service's base URL.
        let base: String

        /// Writes the policy.
        init() throws {
            scratch = try Scratch("saga-command")
            policy = try scratch.write("policy.yaml", SagaFixture.policy)
            state = "sqlite:" + scratch.file("state.db")
            base = try SagaCommandTests.service.get().baseURL
        }

        /// Writes saga `name` (session `s1`, the service as its base URL) with `steps`; returns its path.
        func saga(_ name: String, _ steps: String) throws -> String {
            try scratch.write("\(name).yaml", SagaFixture.saga(name, "saga_id: \(name)\nbase_url: \(base)\n" + steps))
        }

        /// `ringfence saga run FILE` with the policy, the store and every agent joined.
        func run(_ file: String, _ extra: [String] = []) throws -> CommandRun {
            try BuiltBinary.run("ringfence", ["saga", "run", file, "-p", policy, "--state", state,
                                              "--join", "did:a=0.85", "--join", "did:b=0.85", "--join", "did:c=0.85"] + extra)
        }
    }

    /// The one JSON object `run` printed.
    static func result(_ run: CommandRun) throws -> [String: Value] {
        guard case .object(let members) = try JSONParser.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SagaService.ServiceFailure(message: "not a json object: \(run.stdout)")
        }
        return members
    }

    @Test func runPrintsTheResultAndExitsByItsState() throws {
        let setup = try Setup()
        let completed = try setup.run(try setup.saga("cli-ok", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/ua}
            """), ["--input", #"{"order": 7}"#])
        #expect(completed.status == 0, "\(completed.stderr)")
        let ok = try Self.result(completed)
        #expect(ok["saga"] == .string("cli-ok") && ok["state"] == .string("completed") && ok["compensated"] == .list([]))

        let compensated = try setup.run(try setup.saga("cli-undo", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/ua}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /fail/422/b, undo_api: /ok/ub}
            """))
        #expect(compensated.status == 4, "\(compensated.stderr)")
        #expect(try Self.result(compensated)["compensated"] == .list([.string("a")]))

        let escalated = try setup.run(try setup.saga("cli-esc", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /fail/400/b, undo_api: /ok/ub}
            """))
        #expect(escalated.status == 5, "\(escalated.stderr)")
        guard case .object(let escalation)? = try Self.result(escalated)["escalation"] else {
            Issue.record("no escalation in \(escalated.stdout)")
            return
        }
        #expect(escalation["target"] == .string("liability"))

        // `status` reads each back from the store, with the same exit status.
        for (id, status) in [("cli-ok", Int32(0)), ("cli-undo", 4), ("cli-esc", 5)] {
            let shown = try BuiltBinary.run("ringfence", ["saga", "status", id, "--state", setup.state])
            #expect(shown.status == status, "\(shown.stdout)\(shown.stderr)")
            #expect(try Self.result(shown)["saga"] == .string(id))
        }
        // `resume --all` finds nothing unfinished.
        let resumed = try BuiltBinary.run("ringfence", ["saga", "resume", "--all", "-p", setup.policy, "--state", setup.state])
        #expect(resumed.status == 0 && resumed.stdout.isEmpty, "\(resumed.stdout)\(resumed.stderr)")
    }

    @Test func invalidSagasExitOneAndUsageErrorsTwo() throws {
        let setup = try Setup()
        let file = try setup.saga("cli-bad", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /ok/a, undo_api: /ok/ua}
            """)
        // A step agent that is not in the session: nothing runs.
        let outsider = try BuiltBinary.run("ringfence", ["saga", "run", file, "-p", setup.policy, "--state", setup.state,
                                                         "--join", "did:b=0.85"])
        #expect(outsider.status == 1 && outsider.stderr.contains("invalid_saga") && outsider.stderr.contains("`did:a`"), "\(outsider.stderr)")
        // A saga file that does not compile (a cycle).
        let cyclic = try setup.scratch.write("cycle.yaml", SagaFixture.saga("cycle", """
            steps:
              - {id: a, action_id: svc.a, agent: did:a, undo_api: /ua, depends_on: b}
              - {id: b, action_id: svc.b, agent: did:a, undo_api: /ub, depends_on: a}
            """))
        #expect(try setup.run(cyclic).status == 1)
        // No saga of that name.
        let unknown = try BuiltBinary.run("ringfence", ["saga", "run", "nope", "-p", setup.policy, "--state", setup.state])
        #expect(unknown.status == 1 && unknown.stderr.contains("`nope`"), "\(unknown.stderr)")
        #expect(try BuiltBinary.run("ringfence", ["saga", "status", "nope", "--state", setup.state]).status == 1)
        // Usage: a malformed --join or --input, resume with both an id and --all, or without policies.
        #expect(try setup.run(file, ["--join", "did:a"]).status == 2)
        #expect(try setup.run(file, ["--input", "{not json"]).status == 2)
        #expect(try BuiltBinary.run("ringfence", ["saga", "resume", "x", "--all", "-p", setup.policy, "--state", setup.state]).status == 2)
        #expect(try BuiltBinary.run("ringfence", ["saga", "resume", "--all", "--state", setup.state]).status == 2)
    }
}
