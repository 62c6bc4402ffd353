import Foundation
import Testing
import Ringfence
import RingfenceCommands
import RingfenceSyntax

/// One file of the evaluation corpus (`Fixtures/eval/*.yaml`): policies compiled together in
/// order, an optional clock, and cases of request → expected decision.
struct EvalCorpus: Sendable {
    /// What the corpus expects of one decision; nil members are not checked, except `rule`.
    struct Expectation: Sendable {
        /// `allow` or `deny`.
        var decision: String
        /// The decision code (`allow`, `deny_rule`, `ring`, …).
        var code: String
        /// The deciding rule; nil means the decision must name no rule.
        var rule: String?
        /// The deciding rule's policy: `.some(nil)` means it must be null, nil means unchecked.
        var policy: String??
        /// The decision's reason, when checked.
        var reason: String?
        /// The agent's effective ring, when checked.
        var ring: Int?
    }

    /// One request and what it must decide.
    struct Case: Sendable {
        /// What the case shows.
        var name: String
        /// The request to decide.
        var request: Request
        /// The engine clock from this case on (seconds since 1970), when the case moves it.
        var clock: Double?
        /// What the decision must be.
        var expect: Expectation
    }

    /// The corpus file's name.
    var file: String
    /// The SPEC clause the file pins.
    var clause: String
    /// The policy sources, compiled together in order.
    var policies: [String]
    /// The starting clock; when the file gives one, every request also carries it as `context.time`.
    var clock: Double?
    /// The cases, run in order on one engine (rate-limit state carries over).
    var cases: [Case]

    /// The clock engines start at when the file gives none.
    static let defaultClock: Double = 1_000_000

    /// Reads and validates a corpus file; a malformed corpus file is a test failure, not a skip.
    static func load(_ name: String) throws -> EvalCorpus {
        let url = CorpusSupport.fixtures("eval").appendingPathComponent(name)
        let text = try CorpusSupport.read(url)
        let loaded = YAMLLoader.load(text: text, file: name)
        guard let root = loaded.document, loaded.diagnostics.isEmpty else {
            throw CorpusError("\(name): not valid YAML: \(loaded.diagnostics.map(\.description))")
        }
        guard let clause = root["clause"]?.stringValue else { throw CorpusError("\(name): missing `clause`") }
        guard let policyNodes = root["policies"]?.sequence, !policyNodes.isEmpty else {
            throw CorpusError("\(name): missing `policies`")
        }
        let policies = try policyNodes.map { node -> String in
            guard let text = node.stringValue else { throw CorpusError("\(name): a policy is not a string") }
            return text
        }
        let fileClock = root["clock"]?.numberValue
        guard let caseNodes = root["cases"]?.sequence, !caseNodes.isEmpty else { throw CorpusError("\(name): missing `cases`") }
        var cases: [Case] = []
        var clock = fileClock
        for node in caseNodes {
            guard let caseName = node["name"]?.stringValue else { throw CorpusError("\(name): a case has no name") }
            guard let requestNode = node["request"], let expectNode = node["expect"] else {
                throw CorpusError("\(name): case `\(caseName)` needs `request` and `expect`")
            }
            let caseClock = node["clock"]?.numberValue
            if let caseClock { clock = caseClock }
            var value = Value(yaml: requestNode)
            if fileClock != nil, let clock, case .object(var object) = value {
                var context: [String: Value] = [:]
                if case .object(let existing)? = object["context"] { context = existing }
                if context["time"] == nil { context["time"] = .string(CorpusSupport.rfc3339(Int(clock))) }
                object["context"] = .object(context)
                value = .object(object)
            }
            let request: Request
            do {
                request = try Request(value: value)
            } catch {
                throw CorpusError("\(name): case `\(caseName)`: bad request: \(error)")
            }
            cases.append(Case(name: caseName, request: request, clock: caseClock, expect: try expectation(expectNode, name, caseName)))
        }
        return EvalCorpus(file: name, clause: clause, policies: policies, clock: fileClock, cases: cases)
    }

    /// Reads a case's `expect` mapping.
    private static func expectation(_ node: YAMLNode, _ file: String, _ caseName: String) throws -> Expectation {
        guard let decision = node["decision"]?.stringValue, ["allow", "deny"].contains(decision) else {
            throw CorpusError("\(file): case `\(caseName)`: `expect.decision` must be allow or deny")
        }
        guard let code = node["code"]?.stringValue, DecisionCode(rawValue: code) != nil else {
            throw CorpusError("\(file): case `\(caseName)`: `expect.code` is not a decision code")
        }
        var policy: String??
        if let p = node["policy"] { policy = .some(p.isNull ? nil : p.scalarText) }
        return Expectation(decision: decision, code: code, rule: node["rule"].flatMap { $0.isNull ? nil : $0.scalarText },
                           policy: policy, reason: node["reason"]?.scalarText, ring: node["ring"]?.numberValue.map { Int($0) })
    }

    /// Compiles the policies (named `<file>#1`, `<file>#2`, …) into a fresh engine on `clock`.
    func engine(clock: TestClock) throws -> Engine {
        let sources = policies.enumerated().map { (path: "\(file)#\($0.offset + 1)", text: $0.element) }
        let result = Compiler.compile(sources: sources)
        guard let program = result.program else {
            throw CorpusError("\(file): policies do not compile:\n" + DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
        }
        return try Engine(program: program, warnings: result.diagnostics, clock: clock.closure)
    }

    /// A fresh clock at the file's start time.
    func startClock() -> TestClock { TestClock(clock ?? Self.defaultClock) }

    /// Writes `cases`' requests as JSON Lines, runs `ringfence eval -p policyPaths… -i` in-process
    /// and checks the exit status and every decision line against the expectations.
    static func checkThroughCLI(_ name: String, cases: [Case], policyPaths: [String], in dir: URL) {
        let input = dir.appendingPathComponent("requests.jsonl")
        do {
            try cases.map { $0.request.jsonText + "\n" }.joined().write(to: input, atomically: true, encoding: .utf8)
        } catch {
            Issue.record("\(name): cannot write the requests: \(error)")
            return
        }
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["eval", "-p"] + policyPaths + ["-i", input.path], io: capture.io)
        let anyDenied = cases.contains { $0.expect.decision == "deny" }
        #expect(status == (anyDenied ? 3 : 0), "\(name): exit status \(status); stderr: \(capture.stderr)")
        let lines = capture.stdout.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == cases.count, "\(name): \(lines.count) decision lines for \(cases.count) requests; stderr: \(capture.stderr)")
        for (c, line) in zip(cases, lines) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                Issue.record("\(name): \(c.name): output line is not a JSON object: \(line)")
                continue
            }
            let fields = (decision: object["decision"] as? String ?? "?", code: object["code"] as? String ?? "?",
                          policy: object["policy"] as? String, rule: object["rule"] as? String,
                          reason: object["reason"] as? String, ring: object["ring"] as? Int)
            let problems = mismatches(fields, c.expect)
            #expect(problems.isEmpty, "\(name): \(c.name) (CLI): \(problems.joined(separator: "; ")) — got \(line)")
        }
    }

    /// The differences between `decision` and what `expect` demands (empty when it matches).
    static func mismatches(_ decision: (decision: String, code: String, policy: String?, rule: String?, reason: String?, ring: Int?),
                           _ expect: Expectation) -> [String] {
        var out: [String] = []
        if decision.decision != expect.decision { out.append("decision \(decision.decision) ≠ expected \(expect.decision)") }
        if decision.code != expect.code { out.append("code \(decision.code) ≠ expected \(expect.code)") }
        if decision.rule != expect.rule { out.append("rule \(decision.rule ?? "null") ≠ expected \(expect.rule ?? "null")") }
        if let policy = expect.policy, decision.policy != policy {
            out.append("policy \(decision.policy ?? "null") ≠ expected \(policy ?? "null")")
        }
        if let reason = expect.reason, decision.reason != reason { out.append("reason \(decision.reason ?? "nil") ≠ expected \(reason)") }
        if let ring = expect.ring, decision.ring != ring { out.append("ring \(decision.ring.map(String.init) ?? "nil") ≠ expected \(ring)") }
        return out
    }
}

/// A malformed corpus file or an unexpected harness failure.
struct CorpusError: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String
    /// Creates an error with its description.
    init(_ description: String) { self.description = description }
}

extension Decision {
    /// The fields the corpus compares.
    var corpusFields: (decision: String, code: String, policy: String?, rule: String?, reason: String?, ring: Int?) {
        (decision, code.rawValue, policy, rule, reason, ring)
    }
}

/// Runs the evaluation corpus through the VM, through a bundle round-trip and through
/// `ringfence eval` in-process, and checks every case's decision, code and rule.
@Suite struct EvalCorpusTests {
    /// The corpus files, sorted.
    static let files = CorpusSupport.fixtureNames(in: "eval")

    /// At least 100 cases, unique names, and every clause of SPEC §3.1–§3.4 covered.
    @Test func theCorpusIsLargeEnoughAndCoversEveryClause() throws {
        #expect(Self.files.count >= 12)
        var total = 0
        var clauses: Set<String> = []
        for name in Self.files {
            let corpus = try EvalCorpus.load(name)
            total += corpus.cases.count
            clauses.insert(corpus.clause)
            let names = corpus.cases.map(\.name)
            #expect(Set(names).count == names.count, "\(name): case names must be unique")
        }
        #expect(total >= 100, "only \(total) evaluation cases")
        for clause in ["§3.1", "§3.2", "§3.3", "§3.4"] {
            #expect(clauses.contains { $0.contains(clause) }, "no corpus file covers SPEC \(clause)")
        }
    }

    /// (a) The engine compiled from the sources decides every case as expected.
    @Test(arguments: files)
    func engineDecidesAsExpected(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let clock = corpus.startClock()
        let engine = try corpus.engine(clock: clock)
        for c in corpus.cases {
            if let t = c.clock { clock.now = t }
            let decision = engine.evaluate(c.request)
            let problems = EvalCorpus.mismatches(decision.corpusFields, c.expect)
            #expect(problems.isEmpty, "\(name): \(c.name): \(problems.joined(separator: "; ")) — got \(decision.jsonLine)")
        }
    }

    /// (b) An engine loaded from the bundle decides every case exactly like one built from the sources.
    @Test(arguments: files)
    func bundleDecidesExactlyLikeItsSources(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let sourceClock = corpus.startClock(), bundleClock = corpus.startClock()
        let fromSources = try corpus.engine(clock: sourceClock)
        let bytes = fromSources.bundle()
        let fromBundle = try Engine(bundle: bytes, clock: bundleClock.closure)
        #expect(fromBundle.program == fromSources.program, "\(name): the bundle's program differs from the compiled one")
        #expect(fromBundle.bundle() == bytes, "\(name): re-encoding a loaded bundle changes its bytes")
        for c in corpus.cases {
            if let t = c.clock {
                sourceClock.now = t
                bundleClock.now = t
            }
            let expected = fromSources.evaluate(c.request)
            let actual = fromBundle.evaluate(c.request)
            #expect(actual == expected, "\(name): \(c.name): bundle gave \(actual.jsonLine), sources gave \(expected.jsonLine)")
        }
    }

    /// (c) `ringfence eval -p … -i requests.jsonl`, run in-process, prints the expected decisions.
    @Test(arguments: files)
    func cliEvalDecidesAsExpected(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let dir = try CorpusSupport.temporaryDirectory("eval")
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (i, text) in corpus.policies.enumerated() {
            let url = dir.appendingPathComponent("policy-\(i + 1).yaml")
            try text.write(to: url, atomically: true, encoding: .utf8)
            paths.append(url.path)
        }
        EvalCorpus.checkThroughCLI(name, cases: corpus.cases, policyPaths: paths, in: dir)
    }

    /// docs/language.md: the library's default time source is the clock alone, so a request
    /// cannot pick its own rate-limit window through `context.time`.
    @Test func libraryRateLimitsIgnoreContextTimeByDefault() throws {
        let policy = """
        ringfence: 1
        kind: policy
        name: p
        rules:
          - id: once
            effect: allow
            action: x
            limit: 1/hour
        """
        let engine = try Engine(source: policy, clock: { 1_080_000 })
        func request(_ seconds: Int) -> Request {
            Request(agent: Agent(id: "a"), action: "x", context: ["time": .string(CorpusSupport.rfc3339(seconds))])
        }
        #expect(engine.evaluate(request(1_080_000)).code == .allow)
        // A different hour in context.time must not open a new window: the clock still says the same hour.
        #expect(engine.evaluate(request(1_090_000)).code == .rateLimit)
        let replay = try Engine(source: policy, timeSource: .requestTimeOrClock, clock: { 1_080_000 })
        #expect(replay.evaluate(request(1_080_000)).code == .allow)
        #expect(replay.evaluate(request(1_080_001)).code == .rateLimit)
        #expect(replay.evaluate(request(1_090_000)).code == .allow)
    }
}
