import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// `check --format sarif` (SPEC §4): the log validates against the official SARIF 2.1.0 schema
/// (shipped in Tests/Fixtures/sarif) and carries the codes, levels, messages and regions it should.
@Suite struct SarifTests {
    /// A policy with errors (an unknown key, a bad effect) and a warning (a shadowed allow).
    static let policy = """
        ringfence: 1
        kind: policy
        name: mixed
        rules:
          - id: no-deletes
            effect: deny
            action: fs.delete
          - id: delete-tmp
            effect: allow
            action: fs.delete
          - id: typo
            efect: allow
            action: fs.read
          - id: bad-effect
            effect: permit
            action: fs.write

        """

    /// The official schema, as shipped in the fixtures.
    static let schemaPath = Fixtures.url("sarif").appendingPathComponent("sarif-schema-2.1.0.json").path

    /// Validates `document` against the SARIF 2.1.0 schema with python3's `jsonschema`; returns
    /// nil when valid, else the validator's message. Records a failure (never skips) when
    /// python3 or jsonschema is missing.
    static func schemaErrors(_ document: String) throws -> String? {
        let dir = try Scratch("sarif")
        let file = dir.url("log.sarif")
        try Data(document.utf8).write(to: file)
        let script = """
            import json, sys
            try:
                import jsonschema
            except ImportError:
                print("MISSING-JSONSCHEMA"); sys.exit(3)
            schema = json.load(open(sys.argv[1]))
            document = json.load(open(sys.argv[2]))
            validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
            for e in errors:
                print("/".join(map(str, e.absolute_path)) + ": " + e.message)
            sys.exit(1 if errors else 0)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, schemaPath, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: return nil
        case 1: return output
        case 3:
            Issue.record("SARIF schema validation needs python3's jsonschema package: pip install jsonschema")
            return "jsonschema missing"
        default:
            Issue.record("SARIF schema validation needs python3 on PATH with the jsonschema package (exit \(process.terminationStatus)): \(output)")
            return "python3 unavailable"
        }
    }

    /// The diagnostics `policy` produces, compiled from a file named `file`.
    static func diagnostics(file: String = "policies/mixed.yaml") -> [Diagnostic] {
        Compiler.compile(source: policy, file: file).diagnostics
    }

    /// The members of a JSON object value.
    static func object(_ value: Value?) -> [String: Value] {
        if case .object(let members)? = value { return members }
        return [:]
    }

    /// The items of a JSON array value.
    static func array(_ value: Value?) -> [Value] {
        if case .list(let items)? = value { return items }
        return []
    }

    @Test func logWithErrorsAndWarningsValidatesAgainstTheSchema() throws {
        let d = Self.diagnostics()
        #expect(d.contains { $0.isError } && d.contains { $0.severity == .warning })
        let log = DiagnosticRenderer.sarif(d, toolVersion: "1.2.3")
        #expect(try Self.schemaErrors(log) == nil)
    }

    @Test func emptyLogValidatesAgainstTheSchema() throws {
        let log = DiagnosticRenderer.sarif([], toolVersion: "0.1.0")
        #expect(try Self.schemaErrors(log) == nil)
        let runs = Self.array(Self.object(try JSONParser.parse(log))["runs"])
        #expect(Self.array(Self.object(runs.first)["results"]).isEmpty)
    }

    @Test func validatorRejectsAnInvalidLog() throws {
        // The validation must be able to fail: a level SARIF does not define is refused.
        let log = DiagnosticRenderer.sarif(Self.diagnostics(), toolVersion: "1").replacingOccurrences(of: "\"warning\"", with: "\"fatal\"")
        let errors = try Self.schemaErrors(log)
        #expect(errors?.contains("fatal") == true)
    }

    @Test func unusualPathsStillValidate() throws {
        let located = [
            Diagnostic(.unknownKey, "unknown key `x` in rule", at: SourceLocation(file: "<stdin>", line: 3, column: 2)),
            Diagnostic(.fileUnreadable, "cannot read", at: SourceLocation(file: "dir with space/a:b#c.yaml", line: 1, column: 1)),
            Diagnostic(.unknownKey, "unknown key", at: SourceLocation(file: "/abs/é.yaml", line: 0, column: 0)),
        ]
        #expect(try Self.schemaErrors(DiagnosticRenderer.sarif(located, toolVersion: "1")) == nil)
    }

    @Test func driverListsOneRulePerCodeUsedWithCatalogueText() throws {
        let d = Self.diagnostics()
        let log = try JSONParser.parse(DiagnosticRenderer.sarif(d, toolVersion: "1.2.3"))
        #expect(Self.object(log)["version"] == .string("2.1.0"))
        let run = Self.object(Self.array(Self.object(log)["runs"]).first)
        let driver = Self.object(Self.object(run["tool"])["driver"])
        #expect(driver["name"] == .string("ringfence"))
        #expect(driver["version"] == .string("1.2.3"))
        let rules = Self.array(driver["rules"]).map(Self.object)
        let codes = Array(Set(d.map(\.code.rawValue))).sorted()
        #expect(rules.map { $0["id"] } == codes.map { Optional(Value.string($0)) })
        for rule in rules {
            guard case .string(let id)? = rule["id"], let entry = DiagnosticCode(rawValue: id).entry else {
                Issue.record("rule without a catalogued id: \(rule)")
                continue
            }
            #expect(rule["name"] == .string(entry.name))
            #expect(Self.object(rule["shortDescription"])["text"] == .string(entry.meaning))
            #expect(Self.object(rule["fullDescription"])["text"] == .string(entry.meaning))
            #expect(Self.object(rule["defaultConfiguration"])["level"] == .string(entry.severity.rawValue))
        }
    }

    @Test func resultsCarryCodeLevelMessageAndRegion() throws {
        let d = Self.diagnostics().sortedForOutput()
        let log = try JSONParser.parse(DiagnosticRenderer.sarif(d, toolVersion: "1"))
        let run = Self.object(Self.array(Self.object(log)["runs"]).first)
        #expect(run["columnKind"] == .string("unicodeCodePoints"))
        let rules = Self.array(Self.object(Self.object(run["tool"])["driver"])["rules"]).map { Self.object($0)["id"] }
        let results = Self.array(run["results"]).map(Self.object)
        #expect(results.count == d.count)
        for (result, diagnostic) in zip(results, d) {
            #expect(result["ruleId"] == .string(diagnostic.code.rawValue))
            if case .number(let index)? = result["ruleIndex"] {
                #expect(rules[Int(index)] == .string(diagnostic.code.rawValue))
            } else {
                Issue.record("result without ruleIndex")
            }
            #expect(result["level"] == .string(diagnostic.severity.rawValue))
            let text = diagnostic.message + (diagnostic.help.map { "\nhelp: \($0)" } ?? "")
            #expect(Self.object(result["message"])["text"] == .string(text))
            let physical = Self.object(Self.object(Self.array(result["locations"]).first)["physicalLocation"])
            #expect(Self.object(physical["artifactLocation"])["uri"] == .string("policies/mixed.yaml"))
            let region = Self.object(physical["region"])
            #expect(region["startLine"] == .number(Double(diagnostic.location.line)))
            #expect(region["startColumn"] == .number(Double(diagnostic.location.column)))
            #expect(region["endColumn"] == .number(Double(diagnostic.location.column + diagnostic.length)))
        }
        // The misspelled key: error RF1004 at 12:5 spanning `efect`, with its did-you-mean.
        let typo = try #require(results.first { $0["ruleId"] == .string("RF1004") })
        #expect(Self.object(typo["message"])["text"] == .string("unknown key `efect` in rule\nhelp: did you mean `effect`?"))
        let region = Self.object(Self.object(Self.object(Self.array(typo["locations"]).first)["physicalLocation"])["region"])
        #expect(region["startLine"] == .number(12) && region["startColumn"] == .number(5) && region["endColumn"] == .number(10))
        #expect(results.contains { $0["level"] == .string("warning") })
    }

    @Test func uriIsPercentEncodedRelativeReference() {
        #expect(DiagnosticRenderer.sarifURI("policies/workspace.yaml") == "policies/workspace.yaml")
        #expect(DiagnosticRenderer.sarifURI("a b/c:d.yaml") == "a%20b/c%3Ad.yaml")
        #expect(DiagnosticRenderer.sarifURI("<stdin>") == "%3Cstdin%3E")
        #expect(DiagnosticRenderer.sarifURI("é.yaml") == "%C3%A9.yaml")
    }

    @Test func checkFormatSarifWritesTheLogToStdout() throws {
        let dir = try Scratch("sarif-cli")
        let file = dir.url("mixed.yaml").path
        try Data(Self.policy.utf8).write(to: URL(fileURLWithPath: file))
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["check", "--format", "sarif", file], io: capture.io)
        #expect(status == 1)
        #expect(capture.stderr == "")
        #expect(try Self.schemaErrors(capture.stdout) == nil)
        let log = try JSONParser.parse(capture.stdout)
        let run = Self.object(Self.array(Self.object(log)["runs"]).first)
        let uris = Self.array(run["results"]).map {
            Self.object(Self.object(Self.object(Self.array(Self.object($0)["locations"]).first)["physicalLocation"])["artifactLocation"])["uri"]
        }
        #expect(!uris.isEmpty && uris.allSatisfy { $0 == .string(DiagnosticRenderer.sarifURI(file)) })

        // Unreadable input: the log still goes to stdout, the message also to stderr, exit 2.
        let missing = dir.url("absent.yaml").path
        let unreadable = CommandCapture()
        #expect(RingfenceCLI.run(["check", "--format", "sarif", missing], io: unreadable.io) == 2)
        #expect(unreadable.stderr == "\(missing):1:1: error[RF0001]: cannot read `\(missing)`: no such file or directory\n")
        #expect(unreadable.stdout.contains("\"ruleId\": \"RF0001\""))
        #expect(try Self.schemaErrors(unreadable.stdout) == nil)

        let clean = CommandCapture()
        #expect(RingfenceCLI.run(["check", "--format", "sarif", Repository.url("policies").path], io: clean.io) == 0)
        #expect(try Self.schemaErrors(clean.stdout) == nil)
    }
}
