import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif
import RingfenceTestSupport

/// `ringfence test` (SPEC §4.4): tests files, pass/fail reporting, `--run`, coverage, the JSON
/// and JUnit formats, and the errors that stop a run — all run in-process.
@Suite struct TestCommandTests {
    /// A policy with two allows (one ring-gated) and a deny.
    static let policy = """
        ringfence: 1
        kind: policy
        name: files
        rules:
          - id: read
            effect: allow
            action: fs.read
            resources: ["/data/**"]
            reason: data is readable
          - id: no-secrets
            effect: deny
            action: fs.read
            resources: ["/data/secret/**"]
            reason: secrets stay secret
          - id: write
            effect: allow
            action: fs.write
            ring: 2
            reason: trusted writes

        """

    /// Three cases that pass against `policy`, reaching every rule (lines 5, 10 and 15).
    static let passing = """
        ringfence: 1
        kind: tests
        policies: [files.yaml]
        cases:
          - name: reads data
            request: { agent: { id: a, trust: 0.5 }, action: fs.read, resource: /data/a.csv }
            expect: allow
            rule: read
            code: allow
          - name: secret files are denied
            request: { agent: { id: a, trust: 0.9 }, action: fs.read, resource: /data/secret/key }
            expect: deny
            rule: no-secrets
            code: deny_rule
          - name: sandboxed agents do not write
            request: { agent: { id: a, trust: 0.5 }, action: fs.write, resource: /data/out.csv }
            expect: deny
            rule: write
            code: ring

        """

    /// One passing case and one failing case (line 8), which never reach `write`.
    static let failing = """
        ringfence: 1
        kind: tests
        policies: [files.yaml]
        cases:
          - name: reads data
            request: { agent: { id: a, trust: 0.5 }, action: fs.read, resource: /data/a.csv }
            expect: allow
          - name: csv files are secret
            request: { agent: { id: a, trust: 0.5 }, action: fs.read, resource: /data/b.csv }
            expect: deny
            rule: no-secrets

        """

    /// A scratch directory holding `files.yaml` and the given tests files (removed when the
    /// workspace goes away).
    struct Workspace {
        /// The directory.
        let scratch: Scratch

        /// The directory's path.
        var path: String { scratch.path }

        /// Writes the policy and each `(name, text)` file into a fresh directory.
        init(_ files: [(String, String)], policy: String = TestCommandTests.policy) throws {
            scratch = try Scratch("test-command")
            try write("files.yaml", policy)
            for (name, text) in files { try write(name, text) }
        }

        /// Writes `text` to `name` inside the directory (creating folders) and returns its path.
        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            try scratch.write(name, text)
        }

        /// The path of `name` inside the directory.
        func file(_ name: String) -> String { scratch.file(name) }
    }

    // MARK: Passing and failing

    @Test func allCasesPassingExitsZeroQuietly() throws {
        let dir = try Workspace([("files.tests.yaml", Self.passing)])
        let run = ringfence(["test", dir.file("files.tests.yaml")])
        #expect(run.status == 0)
        #expect(run.stdout == "3 passed, 0 failed\n")
        #expect(run.stderr == "")
    }

    @Test func aFailingCaseShowsExpectedAndGot() throws {
        let dir = try Workspace([("files.tests.yaml", Self.failing)])
        let file = dir.file("files.tests.yaml")
        let run = ringfence(["test", file])
        #expect(run.status == 1)
        #expect(run.lines == [
            "FAIL \(file):8 csv files are secret: expected deny (rule no-secrets), got allow by rule read (code allow)",
            "    reason: data is readable",
            "1 passed, 1 failed",
        ])
    }

    @Test func aDefaultDecisionNamesNoRule() throws {
        let tests = """
            ringfence: 1
            kind: tests
            policies: [files.yaml]
            cases:
              - name: deletes are allowed
                request: { agent: { id: a }, action: fs.delete, resource: /data/a.csv }
                expect: allow
                code: allow

            """
        let dir = try Workspace([("t.yaml", tests)])
        let run = ringfence(["test", dir.path])
        #expect(run.status == 1)
        #expect(run.lines.first == "FAIL \(dir.file("t.yaml")):5 deletes are allowed: expected allow (code allow), got deny by no rule (code default)")
        #expect(run.lines.last == "0 passed, 1 failed")
    }

    @Test func verboseListsPassingCases() throws {
        let dir = try Workspace([("files.tests.yaml", Self.failing)])
        let file = dir.file("files.tests.yaml")
        let run = ringfence(["test", "-v", file])
        #expect(run.status == 1)
        #expect(run.lines.first == "PASS \(file):5 reads data")
        #expect(run.lines[1].hasPrefix("FAIL \(file):8 csv files are secret: "))
    }

    @Test func directoriesRunEveryTestsFileAndSkipPolicies() throws {
        let dir = try Workspace([("a.tests.yaml", Self.passing), ("nested/b.tests.yaml", Self.passing.replacingOccurrences(of: "[files.yaml]", with: "[../files.yaml]"))])
        let run = ringfence(["test", dir.path])
        #expect(run.status == 0)
        #expect(run.stdout == "6 passed, 0 failed\n")
    }

    @Test func rateLimitsCarryOverWithinAFileOnly() throws {
        let policy = """
            ringfence: 1
            kind: policy
            name: files
            rules:
              - id: read-once
                effect: allow
                action: fs.read
                limit: 1/minute

            """
        let tests = """
            ringfence: 1
            kind: tests
            policies: [files.yaml]
            cases:
              - name: first read
                request: { agent: { id: a }, action: fs.read }
                expect: allow
              - name: second read in the same minute
                request: { agent: { id: a }, action: fs.read }
                expect: deny
                code: rate_limit
              - name: a minute later
                request: { agent: { id: a }, action: fs.read, context: { time: "1970-01-01T00:01:00Z" } }
                expect: allow

            """
        let dir = try Workspace([("a.tests.yaml", tests), ("b.tests.yaml", tests)], policy: policy)
        let run = ringfence(["test", dir.path])
        #expect(run.stdout == "6 passed, 0 failed\n")
        #expect(run.status == 0)
    }

    // MARK: --run

    @Test func runSelectsCasesByRegex() throws {
        let dir = try Workspace([("files.tests.yaml", Self.failing)])
        let run = ringfence(["test", dir.path, "--run", "^reads"])
        #expect(run.status == 0)
        #expect(run.stdout == "1 passed, 0 failed\n")

        let none = ringfence(["test", dir.path, "--run", "nothing matches this"])
        #expect(none.stdout == "0 passed, 0 failed\n")
    }

    @Test func anInvalidRunPatternIsAUsageError() throws {
        let dir = try Workspace([("files.tests.yaml", Self.passing)])
        let run = ringfence(["test", dir.path, "--run", "(unclosed"])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("error: invalid --run pattern `(unclosed`: "))
        #expect(run.stdout == "")
    }

    // MARK: Coverage

    @Test func coverageListsRulesCasesAndUncoveredRules() throws {
        let dir = try Workspace([("files.tests.yaml", Self.failing)])
        let file = dir.file("files.tests.yaml")
        let policy = dir.file("files.yaml")
        let run = ringfence(["test", "--coverage", file])
        #expect(run.status == 1)
        #expect(run.lines == [
            "FAIL \(file):8 csv files are secret: expected deny (rule no-secrets), got allow by rule read (code allow)",
            "    reason: data is readable",
            "",
            "coverage: 1 of 3 rules (33.3%)",
            "  files/read (\(policy):5)",
            "    reads data (\(file):5)",
            "    csv files are secret (\(file):8)",
            "  UNCOVERED files/no-secrets (\(policy):10)",
            "  UNCOVERED files/write (\(policy):15)",
            "1 passed, 1 failed",
        ])
    }

    @Test func fullCoverageMeetsAHundredPercent() throws {
        let dir = try Workspace([("files.tests.yaml", Self.passing)])
        let run = ringfence(["test", dir.path, "--coverage", "--coverage-min", "100"])
        #expect(run.status == 0)
        #expect(run.lines.first == "coverage: 3 of 3 rules (100.0%)")
        #expect(!run.stdout.contains("UNCOVERED"))
        #expect(run.lines.last == "3 passed, 0 failed")
    }

    @Test func coverageBelowTheMinimumFails() throws {
        let passingTwo = """
            ringfence: 1
            kind: tests
            policies: [files.yaml]
            cases:
              - name: reads data
                request: { agent: { id: a }, action: fs.read, resource: /data/a.csv }
                expect: allow
              - name: secret files are denied
                request: { agent: { id: a }, action: fs.read, resource: /data/secret/k }
                expect: deny

            """
        let dir = try Workspace([("t.yaml", passingTwo)])
        let low = ringfence(["test", dir.path, "--coverage-min", "60"])
        #expect(low.status == 0)
        #expect(low.lines.first == "coverage: 2 of 3 rules (66.7%)")
        let high = ringfence(["test", dir.path, "--coverage-min", "66.7"])
        #expect(high.status == 1)
        #expect(high.stderr == "error: rule coverage 66.7% is below --coverage-min 66.7%\n")
        #expect(high.lines.last == "2 passed, 0 failed")
        let invalid = ringfence(["test", dir.path, "--coverage-min", "101"])
        #expect(invalid.status == 2)
    }

    // MARK: Formats

    @Test func jsonFormatIsOneObject() throws {
        let dir = try Workspace([("files.tests.yaml", Self.failing)])
        let file = dir.file("files.tests.yaml")
        let run = ringfence(["test", "--format", "json", "--coverage", file])
        #expect(run.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["passed"] as? Int == 1)
        #expect(object["failed"] as? Int == 1)
        let cases = try #require(object["cases"] as? [[String: Any]])
        #expect(cases.count == 2)
        let failed = cases[1]
        #expect(failed["file"] as? String == file)
        #expect(failed["line"] as? Int == 8)
        #expect(failed["name"] as? String == "csv files are secret")
        #expect(failed["passed"] as? Bool == false)
        let expected = try #require(failed["expected"] as? [String: Any])
        #expect(expected["decision"] as? String == "deny")
        #expect(expected["rule"] as? String == "no-secrets")
        #expect(expected["code"] is NSNull)
        let got = try #require(failed["got"] as? [String: Any])
        #expect(got["decision"] as? String == "allow")
        #expect(got["code"] as? String == "allow")
        #expect(got["policy"] as? String == "files")
        #expect(got["rule"] as? String == "read")
        #expect(got["reason"] as? String == "data is readable")
        let coverage = try #require(object["coverage"] as? [String: Any])
        #expect(coverage["covered"] as? Int == 1)
        #expect(coverage["total"] as? Int == 3)
        let rules = try #require(coverage["rules"] as? [[String: Any]])
        #expect(rules.map { $0["rule"] as? String } == ["read", "no-secrets", "write"])
        #expect(rules.map { ($0["cases"] as? [Any])?.count } == [2, 0, 0])
        #expect(!run.stdout.contains("passed, "))

        let plain = ringfence(["test", "--format", "json", file])
        let plainObject = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        #expect(plainObject["coverage"] == nil)
    }

    @Test func junitFormatParsesBack() throws {
        let tricky = Self.failing.replacingOccurrences(of: "csv files are secret", with: "\"csv <files> & \\\"quotes\\\" are secret\"")
        let dir = try Workspace([("a.tests.yaml", Self.passing), ("b.tests.yaml", tricky)])
        let run = ringfence(["test", "--format", "junit", dir.path])
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"))
        let parser = XMLParser(data: Data(run.stdout.utf8))
        let reader = JUnitReader()
        parser.delegate = reader
        #expect(parser.parse(), "the JUnit output is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        #expect(reader.root["tests"] == "5")
        #expect(reader.root["failures"] == "1")
        #expect(reader.suites.map { $0["name"] } == [dir.file("a.tests.yaml"), dir.file("b.tests.yaml")])
        #expect(reader.suites.map { $0["tests"] } == ["3", "2"])
        #expect(reader.suites.map { $0["failures"] } == ["0", "1"])
        #expect(reader.cases.map { $0["name"] } == [
            "reads data", "secret files are denied", "sandboxed agents do not write", "reads data", "csv <files> & \"quotes\" are secret",
        ])
        #expect(reader.cases.map { $0["classname"] } == [String](repeating: dir.file("a.tests.yaml"), count: 3) + [String](repeating: dir.file("b.tests.yaml"), count: 2))
        #expect(reader.failures.count == 1)
        #expect(reader.failures.first?.case == "csv <files> & \"quotes\" are secret")
        #expect(reader.failures.first?.message == "expected deny (rule no-secrets), got allow by rule read (code allow)")
        #expect(reader.failureText.contains("reason: data is readable"))
        #expect(!run.stdout.contains("passed, "))
    }

    // MARK: Invalid input

    @Test func aMalformedRequestIsLocatedAndStopsTheRun() throws {
        let tests = """
            ringfence: 1
            kind: tests
            policies: [files.yaml]
            cases:
              - name: fine
                request: { agent: { id: a }, action: fs.read }
                expect: deny
              - name: no agent
                request: { action: fs.read }
                expect: deny

            """
        let dir = try Workspace([("t.yaml", tests)])
        let file = dir.file("t.yaml")
        let run = ringfence(["test", file])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(file):9:14: error[RF6003]: the request of test case `no agent` is malformed: missing required field `agent`"))
        #expect(run.stdout == "")
    }

    @Test func aMissingPolicyFileIsRF1014() throws {
        let tests = """
            ringfence: 1
            kind: tests
            policies: [files.yaml, ../nowhere/missing.yaml]
            cases:
              - name: reads data
                request: { agent: { id: a }, action: fs.read, resource: /data/a.csv }
                expect: allow

            """
        let dir = try Workspace([("t.tests.yaml", tests)])
        let file = dir.file("t.tests.yaml")
        let run = ringfence(["test", file])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(file):3:24: error[RF1014]: policy file `../nowhere/missing.yaml` does not exist"))
        #expect(run.stderr.contains("help: paths in `policies` are relative to the directory of the tests file"))

        let check = ringfence(["check", dir.path])
        #expect(check.status == 1)
        #expect(check.stderr.hasPrefix("\(file):3:24: error[RF1014]: "))
    }

    @Test func structureErrorsAreLocatedWithSuggestions() throws {
        let tests = """
            ringfence: 1
            kind: tests
            polices: [files.yaml]
            cases:
              - name: typo
                request: { agent: { id: a }, action: fs.read }
                expcet: allow
              - name: 3
                request: fs.read
                expect: alow
                code: deny-rule
              - request: { agent: { id: a }, action: fs.read }
                expect: deny

            """
        let dir = try Workspace([("t.yaml", tests)])
        let file = dir.file("t.yaml")
        let run = ringfence(["check", "--format", "json", file])
        #expect(run.status == 1)
        let diagnostics = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        let found = diagnostics.map { "\($0["code"] as? String ?? "?")@\($0["line"] as? Int ?? 0):\($0["column"] as? Int ?? 0)" }
        #expect(found == [
            "RF1005@1:1", "RF1004@3:1", "RF1005@5:5", "RF1004@7:5", "RF1006@8:11", "RF1006@9:14", "RF1015@10:13", "RF1015@11:11", "RF1005@12:5",
        ])
        let helps = diagnostics.compactMap { $0["help"] as? String }
        #expect(helps.contains("did you mean `policies`?"))
        #expect(helps.contains("did you mean `expect`?"))
        #expect(helps.contains("did you mean `allow`?"))
        #expect(helps.contains("did you mean `deny_rule`?"))

        let test = ringfence(["test", file])
        #expect(test.status == 2)
        #expect(test.stderr.contains("\(file):7:5: error[RF1004]: unknown key `expcet` in test case"))
    }

    @Test func checkAcceptsTestsFilesBesidePolicies() throws {
        let dir = try Workspace([("tests/files.tests.yaml", Self.passing.replacingOccurrences(of: "[files.yaml]", with: "[../files.yaml]"))])
        let run = ringfence(["check", dir.path])
        #expect(run.status == 0)
        #expect(run.stdout == "checked 2 files: 1 policy, 3 rules, 0 errors, 0 warnings\n")
        let compile = ringfence(["compile", dir.path, "-o", dir.file("out.rfb")])
        #expect(compile.status == 0)
    }

    @Test func policyErrorsAreReportedAndStopTheRun() throws {
        let dir = try Workspace([("t.tests.yaml", Self.passing)], policy: CLITests.broken)
        let run = ringfence(["test", dir.path])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(dir.file("files.yaml")):8:5: error[RF1004]: unknown key `reasn`"))
        #expect(run.stdout == "")
    }

    @Test func pathsWithoutTestsFilesAreAUsageError() throws {
        let dir = try Workspace([])
        let run = ringfence(["test", dir.path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("error[RF0015]: no `kind: tests` files in `\(dir.path)`"))
        let missing = ringfence(["test", dir.file("nope")])
        #expect(missing.status == 2)
        #expect(ringfence(["test"]).status == 2)
    }

    // MARK: The bundled policies

    @Test func bundledPoliciesPassWithFullCoverage() throws {
        let root = Repository.root.path
        let run = ringfence(["test", root + "/policies/tests", "--coverage", "--coverage-min", "100"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(!run.stdout.contains("UNCOVERED"))
        #expect(run.lines.last?.hasSuffix(" passed, 0 failed") == true)
    }

    @Test func everyBundledPolicyHasATestsFile() throws {
        let root = Repository.root.path
        let (files, _) = SourceLoader.expand([root + "/policies"])
        var policies: Set<String> = []
        var tested: Set<String> = []
        for file in files {
            guard case .success(let bytes) = SourceLoader.read(file) else { continue }
            switch DocumentParser.parse(bytes: bytes, file: file).document {
            case .tests(let suite)?: tested.formUnion(suite.policies.map(\.path))
            case .policy?: policies.insert(TestsParser.normalize(file))
            default: break
            }
        }
        #expect(!policies.isEmpty)
        #expect(policies.subtracting(tested).sorted() == [], "these policies have no tests file in policies/tests")
    }

    @Test func pathsResolveLexically() {
        #expect(TestsParser.resolve("../workspace.yaml", relativeTo: "policies/tests/w.tests.yaml") == "policies/workspace.yaml")
        #expect(TestsParser.resolve("./a//b.yaml", relativeTo: "t.yaml") == "a/b.yaml")
        #expect(TestsParser.resolve("/etc/p.yaml", relativeTo: "x/t.yaml") == "/etc/p.yaml")
        #expect(TestsParser.resolve("../../p.yaml", relativeTo: "t.yaml") == "../../p.yaml")
        #expect(TestsParser.resolve("../p.yaml", relativeTo: "/t.yaml") == "/p.yaml")
    }
}

/// Collects the elements of a JUnit document as `XMLParser` reports them.
final class JUnitReader: NSObject, XMLParserDelegate {
    /// The `<testsuites>` attributes.
    var root: [String: String] = [:]
    /// Each `<testsuite>`'s attributes.
    var suites: [[String: String]] = []
    /// Each `<testcase>`'s attributes.
    var cases: [[String: String]] = []
    /// Each `<failure>`: the case's name and the failure's message.
    var failures: [(case: String, message: String)] = []
    /// The text inside every `<failure>`.
    var failureText = ""
    /// True while inside a `<failure>`.
    private var inFailure = false

    /// Records an element's attributes.
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        switch elementName {
        case "testsuites": root = attributeDict
        case "testsuite": suites.append(attributeDict)
        case "testcase": cases.append(attributeDict)
        case "failure":
            failures.append((cases.last?["name"] ?? "", attributeDict["message"] ?? ""))
            inFailure = true
        default: break
        }
    }

    /// Leaves a `<failure>`.
    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if elementName == "failure" { inFailure = false }
    }

    /// Keeps the text of failures.
    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inFailure { failureText += string }
    }
}
