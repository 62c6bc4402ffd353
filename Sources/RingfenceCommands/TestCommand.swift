import ArgumentParser
import Foundation
import Ringfence

/// How `test` prints its results.
enum TestFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Failing cases, the coverage listing and the `N passed, N failed` line.
    case text
    /// One JSON object with every case, the counts and the coverage.
    case json
    /// JUnit XML, as CI test reporters read it.
    case junit
}

/// `ringfence test PATH… [--coverage] [--coverage-min P] [--format text|json|junit] [--run RE]`:
/// runs the cases of `kind: tests` files against their policies (SPEC §4.4).
///
/// Every tests file, its policies and its requests are read and checked before any case runs;
/// a problem in any of them is a usage error (exit 2). Each tests file gets a fresh engine on a
/// fixed clock (0, or the request's `context.time`), so rate limits carry over between the cases
/// of one file, in file order, and runs are reproducible.
struct TestCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run policy test cases (kind: tests files).",
        discussion: """
            Runs every case of the `kind: tests` files found in the paths and ends with the line \
            `N passed, N failed`. Exit status: 0 all passed, 1 any failed (or coverage below \
            --coverage-min), 2 a usage error or an unreadable or invalid tests or policy file.
            """)

    /// The tests files and directories to run.
    @Argument(help: ArgumentHelp("Tests files, or directories searched for *.yaml and *.yml.", valueName: "path"))
    var paths: [String]

    /// Lists rule coverage.
    @Flag(help: "List every rule with the cases it decided, and the rules no case reached.")
    var coverage = false

    /// The least coverage, in percent, that passes.
    @Option(name: .customLong("coverage-min"),
            help: ArgumentHelp("Fail (exit 1) when fewer than this percentage of rules decided a case.", valueName: "percent"))
    var coverageMin: Double?

    /// The output format.
    @Option(help: "Output format: text, json (one object) or junit (JUnit XML).")
    var format: TestFormat = .text

    /// A regex over case names: only matching cases run.
    @Option(name: .customLong("run"), help: ArgumentHelp("Run only the cases whose name matches this regex.", valueName: "pattern"))
    var run: String?

    /// Also lists passing cases.
    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Also list the cases that pass.")
    var verbose = false

    /// Refuses a run without paths and a minimum outside 0…100.
    func validate() throws {
        if paths.isEmpty { throw ValidationError(CLIMessages.missingTestPaths) }
        if let coverageMin, !(0...100).contains(coverageMin) {
            throw ValidationError(CLIMessages.coverageMinOutOfRange(coverageMin))
        }
    }

    /// Loads and checks everything, runs the cases, prints the report; 0 all passed.
    func execute(_ io: CommandIO) -> Int32 {
        var filter: Regex?
        if let run {
            do {
                filter = try Regex.compile(run)
            } catch {
                io.err(CLIMessages.invalidRunPattern(run, error.message) + "\n")
                return 2
            }
        }
        let suites: [LoadedSuite]
        switch TestLoader.load(paths) {
        case .success(let loaded): suites = loaded
        case .failure(let failure):
            io.err(DiagnosticRenderer.text(failure.diagnostics, sources: failure.sources) + "\n")
            return 2
        }
        var outcomes: [SuiteOutcome] = []
        for suite in suites {
            let engine: Engine
            do {
                engine = try Engine(program: suite.program, timeSource: .requestTimeOrClock, clock: { 0 })
            } catch {
                io.err(error.description + "\n")
                return 2
            }
            var results: [CaseResult] = []
            for (testCase, request) in zip(suite.document.cases, suite.requests) {
                if let filter, filter.search(testCase.name.value) != .match { continue }
                results.append(CaseResult(file: suite.document.file, testCase: testCase, decision: engine.evaluate(request)))
            }
            outcomes.append(SuiteOutcome(suite: suite, results: results))
        }
        let wantsCoverage = coverage || coverageMin != nil
        let report = TestReport(suites: outcomes, coverage: wantsCoverage ? Coverage(outcomes) : nil, coverageMin: coverageMin)
        switch format {
        case .text: io.out(report.text(verbose: verbose))
        case .json: io.out(report.json() + "\n")
        case .junit: io.out(report.junit())
        }
        if let coverageMin, let measured = report.coverage, !measured.meets(coverageMin) {
            io.err(CLIMessages.coverageBelowMinimum(measured.percentText, minimum: coverageMin) + "\n")
            return 1
        }
        return report.failed == 0 ? 0 : 1
    }
}

/// A tests file ready to run: its document, its compiled policies and its decoded requests.
struct LoadedSuite {
    /// The tests document.
    var document: TestSuiteDocument
    /// The program compiled from the document's policies (shared by files naming the same set).
    var program: Program
    /// Each case's request, in case order.
    var requests: [Request]
}

/// Everything that kept the tests from running, with the sources to render snippets.
struct TestLoadFailure: Error {
    /// Every error found, sorted for output.
    var diagnostics: [Diagnostic]
    /// The text of every file read, for snippets.
    var sources: [String: SourceFile]
}

/// Finds the `kind: tests` documents among the paths and prepares them: parse, compile each
/// distinct set of policies once, decode every request.
enum TestLoader {
    /// Loads every tests file below `paths`; any error in a tests file, in the policies it names
    /// or in one of its requests fails the whole load.
    static func load(_ paths: [String]) -> Result<[LoadedSuite], TestLoadFailure> {
        let (files, expandDiagnostics) = SourceLoader.expand(paths)
        var diagnostics = expandDiagnostics
        var sources: [String: SourceFile] = [:]
        var documents: [TestSuiteDocument] = []
        for file in files {
            let bytes: [UInt8]
            switch SourceLoader.read(file) {
            case .failure(let problem):
                diagnostics.append(problem)
                continue
            case .success(let read): bytes = read
            }
            let loaded = YAMLLoader.load(bytes: bytes, file: file)
            sources[file] = SourceFile(path: file, text: String(decoding: bytes, as: UTF8.self))
            guard let root = loaded.document else {
                diagnostics += loaded.diagnostics
                continue
            }
            // Only tests documents matter here; policies and sagas beside them are someone else's job.
            guard case .string("tests")? = root["kind"]?.scalar?.value else { continue }
            diagnostics += loaded.diagnostics
            let (document, parseDiagnostics) = DocumentParser.parse(root, file: file)
            diagnostics += parseDiagnostics.filter(\.isError)
            if case .tests(let tests)? = document { documents.append(tests) }
        }
        if documents.isEmpty, !diagnostics.containsErrors {
            let at = SourceLocation(file: paths.first ?? ".", line: 1, column: 1)
            diagnostics.append(Diagnostic(.noInputFiles, CLIMessages.noTestsFiles(paths), at: at))
        }
        var programs: [[String]: Program] = [:]
        var failedSets: Set<[String]> = []
        var suites: [LoadedSuite] = []
        for document in documents {
            let set = document.policies.map(\.path)
            if programs[set] == nil, !failedSets.contains(set) {
                let compiled = Compiler.compile(paths: set)
                sources.merge(compiled.sources) { first, _ in first }
                if let program = compiled.program {
                    programs[set] = program
                } else {
                    failedSets.insert(set)
                    diagnostics += compiled.diagnostics.filter(\.isError)
                }
            }
            var requests: [Request] = []
            for testCase in document.cases {
                do {
                    requests.append(try Request(value: Value(yaml: testCase.request)))
                } catch {
                    let located = Diagnostic(error.code, CLIMessages.malformedTestRequest(TestReport.oneLine(testCase.name.value), error.message),
                                             at: testCase.request.location)
                    diagnostics.append(located)
                }
            }
            if let program = programs[set], requests.count == document.cases.count {
                suites.append(LoadedSuite(document: document, program: program, requests: requests))
            }
        }
        var seen: Set<Diagnostic> = []
        let unique = diagnostics.filter { seen.insert($0).inserted }
        if unique.containsErrors { return .failure(TestLoadFailure(diagnostics: unique.sortedForOutput(), sources: sources)) }
        return .success(suites)
    }
}

/// One case's run: the case, where it is, and the decision it got.
struct CaseResult {
    /// The tests file.
    var file: String
    /// The case.
    var testCase: TestCase
    /// The decision the engine made.
    var decision: Decision

    /// True when the decision matches everything the case expects.
    var passed: Bool {
        decision.decision == testCase.expect.value.rawValue
            && testCase.rule.map { $0.value == decision.rule } ?? true
            && testCase.code.map { $0.value == decision.code.rawValue } ?? true
    }

    /// What the case expects, e.g. `deny (rule no-secrets, code deny_rule)`.
    var expectedText: String {
        var details: [String] = []
        if let rule = testCase.rule { details.append("rule \(rule.value)") }
        if let code = testCase.code { details.append("code \(code.value)") }
        let decision = testCase.expect.value.rawValue
        return details.isEmpty ? decision : "\(decision) (\(details.joined(separator: ", ")))"
    }

    /// What came out, e.g. `allow by rule read-workspace (code allow)`.
    var gotText: String {
        let by = decision.rule.map { " by rule \($0)" } ?? " by no rule"
        return "\(decision.decision)\(by) (code \(decision.code.rawValue))"
    }

    /// The one-line account of a failure: `expected …, got …`.
    var failureMessage: String { "expected \(expectedText), got \(gotText)" }
}

/// One tests file's run.
struct SuiteOutcome {
    /// The tests file as loaded.
    var suite: LoadedSuite
    /// The cases that ran (those `--run` selected), in file order.
    var results: [CaseResult]
}

/// Which rules decided which cases, over every policy under test.
struct Coverage {
    /// One rule of a policy under test and the cases it decided.
    struct RuleCoverage {
        /// The rule's policy.
        var policy: String
        /// The rule's id.
        var rule: String
        /// The policy file.
        var file: String
        /// The rule's line in that file.
        var line: Int
        /// The cases this rule decided, in run order.
        var cases: [CaseResult]
    }

    /// Every rule under test, sorted by file and line.
    var rules: [RuleCoverage]

    /// Gathers the rules of every program that ran and credits each to the cases it decided.
    init(_ outcomes: [SuiteOutcome]) {
        var byKey: [String: RuleCoverage] = [:]
        func key(_ file: String, _ policy: String, _ rule: String) -> String { "\(file)\u{0}\(policy)\u{0}\(rule)" }
        for outcome in outcomes {
            let program = outcome.suite.program
            var keyOf: [String: String] = [:]
            for rule in program.rules {
                let entry = program.policies[Int(rule.policy)]
                let k = key(entry.file, entry.name, rule.id)
                keyOf["\(entry.name)\u{0}\(rule.id)"] = k
                if byKey[k] == nil {
                    byKey[k] = RuleCoverage(policy: entry.name, rule: rule.id, file: entry.file, line: Int(rule.line), cases: [])
                }
            }
            for result in outcome.results {
                guard let policy = result.decision.policy, let rule = result.decision.rule,
                      let k = keyOf["\(policy)\u{0}\(rule)"] else { continue }
                byKey[k]?.cases.append(result)
            }
        }
        rules = byKey.values.sorted { ($0.file, $0.line, $0.policy, $0.rule) < ($1.file, $1.line, $1.policy, $1.rule) }
    }

    /// The number of rules that decided at least one case.
    var covered: Int { rules.count { !$0.cases.isEmpty } }

    /// The share of rules covered, in percent (100 when there are no rules).
    var percent: Double { rules.isEmpty ? 100 : Double(covered) * 100 / Double(rules.count) }

    /// The percentage with one decimal, e.g. `94.1%`.
    var percentText: String { String(format: "%.1f%%", percent) }

    /// True when coverage reaches `minimum` percent (compared exactly, not after rounding).
    func meets(_ minimum: Double) -> Bool {
        rules.isEmpty || Double(covered) * 100 >= minimum * Double(rules.count)
    }
}
