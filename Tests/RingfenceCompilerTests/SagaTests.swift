import Foundation
import Testing
import Ringfence
import RingfenceDiagnostics
import RingfenceSyntax
import RingfenceTestSupport

/// Sagas (SPEC §5): the validation corpus (`Tests/Fixtures/sagas/`, each file declaring its exact
/// diagnostics), the seed's own examples compiling unchanged, plans, their bundle round trip,
/// their disassembly, and the verifier refusing broken plans.
@Suite struct SagaTests {
    /// The corpus files, sorted; throws when the folder holds none.
    static func fixtures() throws -> [String] { try Fixtures.names(in: "sagas") }

    /// The plan of the one saga compiled from `text`, or nil with the diagnostics.
    static func compile(_ text: String, file: String = "saga.yaml") -> (plan: SagaPlan?, diagnostics: [Diagnostic]) {
        let result = Compiler.compile(sources: [(file, text)])
        return (result.program?.sagas.first, result.diagnostics)
    }

    /// At least 25 cases, and every RF7xxx code a single file can produce is pinned by one.
    @Test func theCorpusIsLargeEnoughAndCoversEveryCode() throws {
        let fixtures = try Self.fixtures()
        #expect(fixtures.count >= 25, "only \(fixtures.count) saga fixtures")
        var codes: Set<String> = []
        for name in fixtures {
            codes.formUnion(try CheckCorpusTests.expectations(Fixtures.url("sagas").appendingPathComponent(name)).expected.map(\.code))
        }
        let singleFile = DiagnosticCode.catalog.map(\.code.rawValue).filter { $0.hasPrefix("RF7") && $0 != DiagnosticCode.duplicateSagaName.rawValue }
        for code in singleFile { #expect(codes.contains(code), "no saga fixture expects \(code)") }
    }

    /// Each fixture produces exactly its declared diagnostics (code, line, column, severity).
    @Test(arguments: try fixtures())
    func checkReportsExactlyTheDeclaredDiagnostics(_ name: String) throws {
        let url = Fixtures.url("sagas").appendingPathComponent(name)
        let header = try CheckCorpusTests.expectations(url)
        #expect(header.declaredNone == header.expected.isEmpty, "\(name): declare `# expect-none` or at least one `# expect:`")
        let actual = CheckCorpusTests.actual([url.path])
        #expect(actual == header.expected.sorted(), "\(name): expected \(header.expected.sorted()), got \(actual)")
        // A file with errors never yields a plan; one without errors always does.
        let result = Compiler.compile(paths: [url.path])
        #expect((result.program?.sagas.count ?? 0) == (result.hasErrors ? 0 : 1), "\(name)")
    }

    /// The seed README's example compiles unchanged, with no diagnostics, into the plan it describes.
    @Test func theSeedReadmeExampleCompilesUnchanged() throws {
        let url = Fixtures.url("sagas/seed").appendingPathComponent("readme-deploy-pipeline.yaml")
        let result = Compiler.compile(paths: [url.path])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.sagas.first?.dialect == "seed")
        let plan = try #require(result.program?.sagas.first)
        #expect(plan.name == "deploy-pipeline" && plan.sessionID == "ss-a1b2c3d4" && plan.sagaID == nil)
        #expect(plan.steps.map(\.id) == ["provision", "deploy"])
        #expect(plan.steps.map(\.timeoutMilliseconds) == [120_000, 60_000])
        #expect(plan.steps.map(\.retries) == [2, 0])
        #expect(plan.steps.map(\.undoAPI) == ["/infra/deprovision", "/app/undeploy"])
        #expect(plan.order == [0, 1])
        #expect(plan.fanOuts == [SagaPlan.FanOut(policy: .allMustSucceed, branches: [0, 1])])
        // The seed's behaviour where it says nothing: a fixed 1 s delay, one compensation attempt.
        #expect(plan.retry == SagaPlan.Retry(initial: 1, multiplier: 1, max: 1, jitter: 0))
        #expect(plan.compensation == SagaPlan.Compensation(order: .reverseCompletion, escalate: .liability, attempts: 1))
    }

    /// The seed tutorial's example compiles unchanged; its irreversible last step is only a warning.
    @Test func theSeedTutorialExampleCompilesWithAWarning() throws {
        let url = Fixtures.url("sagas/seed").appendingPathComponent("tutorial-deploy-model.yaml")
        let result = Compiler.compile(paths: [url.path])
        #expect(result.diagnostics.map(\.code) == [.noCompensation])
        #expect(result.diagnostics.first?.location.line == 17)
        let plan = try #require(result.program?.sagas.first)
        #expect(plan.steps.map(\.timeoutMilliseconds) == [300_000, 600_000, 300_000])
        #expect(plan.steps[2].undoAPI == nil)
    }

    /// A native saga: dependencies become indexes, the order respects them, settings are kept.
    @Test func aNativeSagaCompilesIntoAPlan() throws {
        let url = Fixtures.url("sagas").appendingPathComponent("native-full.yaml")
        let result = Compiler.compile(paths: [url.path])
        let plan = try #require(result.program?.sagas.first, "\(result.diagnostics)")
        #expect(plan.sagaID == "saga:release-1")
        #expect(plan.steps.map(\.dependsOn) == [[], [0], [0], [1, 2]])
        #expect(plan.order == [0, 1, 2, 3])
        #expect(plan.fanOuts == [SagaPlan.FanOut(policy: .majorityMustSucceed, branches: [1, 2])])
        #expect(plan.retry == SagaPlan.Retry(initial: 2, multiplier: 2, max: 120, jitter: 0.2))
        #expect(plan.steps[2].retry == SagaPlan.Retry(initial: 1, multiplier: 2, max: 5, jitter: 0))
        #expect(plan.steps[3].timeoutMilliseconds == 900_000 && plan.steps[3].retries == 3)
        #expect(plan.steps[3].checkpointGoal == "package is on the registry")
        #expect(plan.compensation.attempts == 3)
        // Scalar metadata is kept; the nested list is accepted but not carried.
        #expect(plan.metadata == [SagaPlan.Metadata(key: "owner", value: "platform"), SagaPlan.Metadata(key: "tier", value: "1")])
    }

    /// The order moves a step only as far as its dependencies need, and ties keep file order.
    @Test func theOrderIsTheEarliestDeclaredReadyStep() throws {
        let text = """
        ringfence: 1
        kind: saga
        name: s
        session_id: s1
        steps:
          - {id: c, action_id: x, agent: a, undo_api: /u, depends_on: [b]}
          - {id: a, action_id: x, agent: a, undo_api: /u}
          - {id: b, action_id: x, agent: a, undo_api: /u, depends_on: [a]}
          - {id: d, action_id: x, agent: a, undo_api: /u}
        """
        let (plan, diagnostics) = Self.compile(text)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(try #require(plan).order == [1, 2, 0, 3])
    }

    /// A long dependency chain and a long cycle are handled without deep recursion.
    @Test func longChainsAndCyclesAreHandledIteratively() throws {
        let n = 5000
        var lines = ["ringfence: 1", "kind: saga", "name: chain", "session_id: s1", "steps:"]
        for i in 0..<n {
            let dependency = i == 0 ? "" : ", depends_on: [s\(i - 1)]"
            lines.append("  - {id: s\(i), action_id: x, agent: a, undo_api: /u\(dependency)}")
        }
        let (plan, diagnostics) = Self.compile(lines.joined(separator: "\n"))
        #expect(diagnostics.isEmpty)
        #expect(try #require(plan).order == (0..<n).map(UInt32.init))
        lines[5] = "  - {id: s0, action_id: x, agent: a, undo_api: /u, depends_on: [s\(n - 1)]}"
        let (cyclic, cycleDiagnostics) = Self.compile(lines.joined(separator: "\n"))
        #expect(cyclic == nil)
        #expect(cycleDiagnostics.map(\.code) == [.dependencyCycle])
    }

    /// Two sagas compiled together may not share a name (RF7013), at the second one's name.
    @Test func sagaNamesAreUniqueAcrossFiles() {
        let saga = "ringfence: 1\nkind: saga\nname: same\nsession_id: s1\nsteps:\n  - {id: a, action_id: x, agent: a, undo_api: /u}\n"
        let result = Compiler.compile(sources: [("one.yaml", saga), ("two.yaml", saga)])
        #expect(result.diagnostics.map(\.code) == [.duplicateSagaName])
        #expect(result.diagnostics.first?.location == RingfenceDiagnostics.SourceLocation(file: "two.yaml", line: 3, column: 7))
        #expect(result.program == nil)
    }

    /// Policies and sagas compile into one program; the sagas do not change any decision.
    @Test func policiesAndSagasCompileTogether() throws {
        let policy = "ringfence: 1\nkind: policy\nname: p\nrules:\n  - {id: r, effect: allow, action: fs.read}\n"
        let saga = try Fixtures.text(Fixtures.url("sagas/seed").appendingPathComponent("readme-deploy-pipeline.yaml"))
        let result = Compiler.compile(sources: [("p.yaml", policy), ("s.yaml", saga)])
        let program = try #require(result.program, "\(result.diagnostics)")
        #expect(program.rules.count == 1 && program.sagas.count == 1)
        let engine = try Engine(program: program)
        #expect(engine.evaluate(Request(agent: Agent(id: "a"), action: "fs.read")).allowed)
    }

    /// A plan survives a bundle round trip unchanged, and the loaded bundle disassembles the same.
    @Test func plansRoundTripThroughABundle() throws {
        for name in ["native-full.yaml", "no-undo-warning.yaml"] {
            let result = Compiler.compile(paths: [Fixtures.url("sagas").appendingPathComponent(name).path])
            let program = try #require(result.program, "\(name): \(result.diagnostics)")
            let decoded = try RingfenceBytecode.Bundle.decode(RingfenceBytecode.Bundle.encode(program)).program.program
            #expect(decoded == program, "\(name)")
            #expect(Disassembler.render(decoded) == Disassembler.render(program))
        }
    }

    /// The disassembly of the README example, line for line.
    @Test func theDisassemblyShowsThePlan() throws {
        let url = Fixtures.url("sagas/seed").appendingPathComponent("readme-deploy-pipeline.yaml")
        let program = try #require(Compiler.compile(paths: [url.path]).program)
        let expected = """
        saga deploy-pipeline session "ss-a1b2c3d4" line 2
          retry exponential initial=1s multiplier=1 max=1s jitter=0
          compensate reverse-completion, escalate liability after 1 failed attempt
          step T0 provision action provision-vm agent did:mesh:agent-1 timeout 120s retries 2 execute "/infra/provision" undo "/infra/deprovision" line 5
          step T1 deploy action deploy-app agent did:mesh:agent-2 timeout 60s retries 0 execute "/app/deploy" undo "/app/undeploy" line 12
          order T0 T1
          fanout F0 all_must_succeed [T0 provision, T1 deploy]
        """
        #expect(Disassembler.renderSagas(program).joined(separator: "\n") == expected)
        #expect(Disassembler.render(program).hasSuffix(expected))
    }

    /// The verifier refuses plans that break what the runtime will assume.
    @Test func theVerifierRefusesBrokenPlans() throws {
        let url = Fixtures.url("sagas").appendingPathComponent("native-full.yaml")
        let program = try #require(Compiler.compile(paths: [url.path]).program)
        let breakages: [(String, (inout SagaPlan) -> Void)] = [
            ("dependency out of range", { $0.steps[1].dependsOn = [9] }),
            ("self dependency", { $0.steps[1].dependsOn = [1] }),
            ("order before a dependency", { $0.order = [1, 0, 2, 3] }),
            ("order too short", { $0.order = [0, 1, 2] }),
            ("order repeats a step", { $0.order = [0, 1, 1, 3] }),
            ("cycle", { $0.steps[0].dependsOn = [3] }),
            ("one-branch fan-out", { $0.fanOuts[0].branches = [1] }),
            ("fan-out branch out of range", { $0.fanOuts[0].branches = [1, 7] }),
            ("timeout zero", { $0.steps[0].timeoutMilliseconds = 0 }),
            ("too many retries", { $0.steps[0].retries = 11 }),
            ("retry cap below start", { $0.retry.max = 0.5 }),
            ("jitter above one", { $0.retry.jitter = 2 }),
            ("no compensation attempts", { $0.compensation.attempts = 0 }),
            ("duplicate step id", { $0.steps[1].id = "build" }),
            ("no steps", { $0.steps = []; $0.order = []; $0.fanOuts = [] }),
        ]
        #expect(throws: Never.self) { try Verifier.verify(program) }
        for (label, breakage) in breakages {
            var broken = program
            breakage(&broken.sagas[0])
            #expect(throws: Verifier.Failure.self, "\(label)") { try Verifier.verify(broken) }
            // A bundle carrying the broken plan is refused on load, never run.
            #expect(throws: (any Error).self, "\(label)") { try Engine(bundle: RingfenceBytecode.Bundle.encode(broken)) }
        }
        var twice = program
        twice.sagas.append(program.sagas[0])
        #expect(throws: Verifier.Failure.self) { try Verifier.verify(twice) }
    }

    /// Every truncation of a saga bundle's content (with a valid checksum) is refused cleanly.
    @Test func truncatedSagaSectionsAreRefused() throws {
        let url = Fixtures.url("sagas").appendingPathComponent("native-full.yaml")
        let program = try #require(Compiler.compile(paths: [url.path]).program)
        let bundle = RingfenceBytecode.Bundle.encode(program)
        let content = Array(bundle[RingfenceBytecode.Bundle.headerSize ..< bundle.count - 32])
        let sagaStart = content.count - 400
        for cut in stride(from: max(0, sagaStart), to: content.count, by: 3) {
            #expect(throws: (any Error).self) { try Engine(bundle: RobustnessTests.wrap(Array(content[..<cut]))) }
        }
    }
}
