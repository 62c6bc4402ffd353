import Foundation
import Testing
@testable import RingfenceDiagnostics
@testable import RingfenceSyntax

/// Ringfence's source location (Swift Testing has a type of the same name).
private typealias SourceLocation = RingfenceDiagnostics.SourceLocation

/// One malformed document and the diagnostics (code, line, column) it must produce, in order.
struct PolicyErrorCase: Sendable, CustomTestStringConvertible {
    /// What the case shows.
    let name: String
    /// The YAML text.
    let yaml: String
    /// The expected diagnostics, sorted as output sorts them.
    let expected: [(code: String, line: Int, column: Int)]
    /// Text the first diagnostic's message must contain, when given.
    let message: String?
    /// The first diagnostic's exact help line, when given.
    let help: String?

    /// Creates a case.
    init(_ name: String, _ yaml: String, _ expected: [(String, Int, Int)], message: String? = nil, help: String? = nil) {
        self.name = name
        self.yaml = yaml
        self.expected = expected.map { (code: $0.0, line: $0.1, column: $0.2) }
        self.message = message
        self.help = help
    }

    /// The name shown in test output.
    var testDescription: String { name }
}

/// The head of a valid policy; a rule body follows at line 5 (`  - id: r`).
private let head = """
ringfence: 1
kind: policy
name: p
rules:

"""

/// A valid policy whose single rule starts on line 5 and continues with `extra` from line 8.
private func rule(_ extra: String = "", effect: String = "allow") -> String {
    head + "  - id: r\n    effect: \(effect)\n    action: fs.read\n" + extra
}

@Suite struct PolicyParserTests {
    /// Parses text as `p.yaml`.
    private func parse(_ yaml: String) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        DocumentParser.parse(text: yaml, file: "p.yaml")
    }

    @Test func specExampleParsesToExpectedAST() throws {
        let yaml = #"""
        ringfence: 1
        kind: policy
        name: workspace
        rings:                      # optional; these are the defaults
          privileged: 0.95          # trust > 0.95 and agent.consensus → ring 1
          standard: 0.60            # trust > 0.60 → ring 2; otherwise ring 3
        rules:
          - id: read-workspace
            effect: allow           # allow | deny
            actions: [fs.read]      # or `action: fs.read`; glob over '.'-separated segments
            resources: ["/workspace/**"]   # optional (absent = any); glob over '/' segments
            ring: 3                 # optional: least-privileged ring allowed (agent ring ≤ 3)
            when: params.method == "GET" && agent.trust >= 0.7   # optional expression
            limit: 100/hour         # optional: N/second|minute|hour|day per agent for this rule
            reason: workspace files are readable
          - id: block-destructive-sql
            effect: deny
            action: database.query
            when: params.query =~ "(?i)\\b(DROP|TRUNCATE)\\b"
            reason: destructive SQL
        """#
        let (document, diagnostics) = parse(yaml)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let policy = try #require(document?.policy)
        #expect(policy.file == "p.yaml")
        #expect(policy.name == Located("workspace", at: SourceLocation(file: "p.yaml", line: 3, column: 7), length: 9))
        #expect(policy.rings?.value == RingThresholds(privileged: 0.95, standard: 0.60))
        #expect(policy.rings?.location == SourceLocation(file: "p.yaml", line: 4, column: 1))
        #expect(policy.location == SourceLocation(file: "p.yaml", line: 1, column: 1))
        #expect(policy.rules.count == 2)

        let read = policy.rules[0]
        #expect(read.id.value == "read-workspace")
        #expect(read.id.location == SourceLocation(file: "p.yaml", line: 8, column: 9))
        #expect(read.id.length == 14)
        #expect(read.effect.value == .allow)
        #expect(read.actions.map(\.value) == ["fs.read"])
        #expect(read.actions.first?.location == SourceLocation(file: "p.yaml", line: 10, column: 15))
        #expect(read.resources?.map(\.value) == ["/workspace/**"])
        #expect(read.resources?.first?.location == SourceLocation(file: "p.yaml", line: 11, column: 17))
        #expect(read.resources?.first?.length == 15)
        #expect(read.ring?.value == 3)
        #expect(read.when?.text == #"params.method == "GET" && agent.trust >= 0.7"#)
        #expect(read.when?.location == SourceLocation(file: "p.yaml", line: 13, column: 11))
        #expect(read.when?.style == .plain)
        #expect(read.when?.location(at: 7) == SourceLocation(file: "p.yaml", line: 13, column: 18))
        #expect(read.limit?.value == RateLimit(count: 100, unit: .hour))
        #expect(read.reason == "workspace files are readable")
        #expect(read.location == SourceLocation(file: "p.yaml", line: 8, column: 5))

        let block = policy.rules[1]
        #expect(block.id.value == "block-destructive-sql")
        #expect(block.effect.value == .deny)
        #expect(block.actions.map(\.value) == ["database.query"])
        #expect(block.resources == nil)
        #expect(block.ring == nil)
        #expect(block.limit == nil)
        #expect(block.when?.text == #"params.query =~ "(?i)\\b(DROP|TRUNCATE)\\b""#)
        #expect(block.reason == "destructive SQL")
    }

    @Test func minimalPolicyUsesDefaultsAndAcceptsSynonyms() throws {
        let yaml = head + """
          - id: r
            effect: allow
            action: "fs.*"
            resource: /tmp/**
            limit: 5/seconds
            when: 'action == "fs.read"'
          - id: s
            effect: deny
            actions: [a, b.c]
            description: ignored

        """
        let (document, diagnostics) = parse(yaml)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let policy = try #require(document?.policy)
        #expect(policy.rings == nil)
        #expect(policy.rules.count == 2)
        #expect(policy.rules[0].actions.map(\.value) == ["fs.*"])
        #expect(policy.rules[0].actions.first?.length == 6)
        #expect(policy.rules[0].resources?.map(\.value) == ["/tmp/**"])
        #expect(policy.rules[0].limit?.value == RateLimit(count: 5, unit: .second))
        #expect(policy.rules[0].when?.style == .singleQuoted)
        #expect(policy.rules[0].when?.location(at: 0) == SourceLocation(file: "p.yaml", line: 10, column: 12))
        #expect(policy.rules[1].actions.map(\.value) == ["a", "b.c"])
        #expect(policy.rules[1].reason == nil)
    }

    @Test func emptyRuleListIsAValidPolicy() throws {
        let (document, diagnostics) = parse("ringfence: 1\nkind: policy\nname: empty\nrules: []\n")
        #expect(diagnostics.isEmpty)
        let policy = try #require(document?.policy)
        #expect(policy.name.value == "empty")
        #expect(policy.rules.isEmpty)
    }

    @Test func rateLimitSpellings() {
        #expect(PolicyParser.rateLimit("1/second") == RateLimit(count: 1, unit: .second))
        #expect(PolicyParser.rateLimit("60/minutes") == RateLimit(count: 60, unit: .minute))
        #expect(PolicyParser.rateLimit(" 7 / days ") == RateLimit(count: 7, unit: .day))
        #expect(PolicyParser.rateLimit("1000000000/hour") == RateLimit(count: 1_000_000_000, unit: .hour))
        #expect(PolicyParser.rateLimit("1000000001/hour") == nil)
        #expect(PolicyParser.rateLimit("99999999999999999999999/hour") == nil)
        #expect(PolicyParser.rateLimit("0/hour") == nil)
        #expect(PolicyParser.rateLimit("-5/hour") == nil)
        #expect(PolicyParser.rateLimit("5/h") == nil)
        #expect(PolicyParser.rateLimit("5/week") == nil)
        #expect(PolicyParser.rateLimit("5/hour/day") == nil)
        #expect(PolicyParser.rateLimit("/hour") == nil)
        #expect(PolicyParser.rateLimit("5") == nil)
        #expect(PolicyParser.rateLimit("+5/hour") == nil)
    }

    static let errorCases: [PolicyErrorCase] = [
        PolicyErrorCase("root is a list", "- a\n- b\n", [("RF1006", 1, 1)],
                        message: "a ringfence document must be a mapping, found list"),
        PolicyErrorCase("no ringfence key", "kind: policy\nname: x\nrules: []\n", [("RF1001", 1, 1)],
                        message: "not a ringfence document: add `ringfence: 1` and a `kind`"),
        PolicyErrorCase("version 2", "ringfence: 2\nkind: policy\nname: x\nrules: []\n", [("RF1002", 1, 12)],
                        message: "unsupported ringfence version `2`: this build reads version `1`"),
        PolicyErrorCase("version as string", "ringfence: \"1\"\nkind: policy\nname: x\nrules: []\n", [("RF1002", 1, 12)],
                        message: "`ringfence` must be the integer `1`, found string"),
        PolicyErrorCase("missing kind", "ringfence: 1\nname: x\nrules: []\n", [("RF1005", 1, 1)],
                        message: "missing key `kind` in ringfence document"),
        PolicyErrorCase("kind saga goes to the saga parser", "ringfence: 1\nkind: saga\nname: x\n", [("RF7001", 1, 1), ("RF7001", 1, 1)]),
        PolicyErrorCase("kind tests goes to the tests parser", "ringfence: 1\nkind: tests\n", [("RF1005", 1, 1), ("RF1005", 1, 1)]),
        PolicyErrorCase("misspelled kind", "ringfence: 1\nkind: polcy\nname: x\nrules: []\n", [("RF1003", 2, 7)],
                        message: "unknown kind `polcy`", help: "did you mean `policy`?"),
        PolicyErrorCase("unrelated kind", "ringfence: 1\nkind: zebra\n", [("RF1003", 2, 7)],
                        help: "expected `policy`, `saga`, `tests` or `runtime`"),
        PolicyErrorCase("kind not a string", "ringfence: 1\nkind: [policy]\n", [("RF1006", 2, 7)],
                        message: "`kind` must be a string, found list"),
        PolicyErrorCase("misspelled name key", "ringfence: 1\nkind: policy\nnmae: x\nrules: []\n",
                        [("RF1005", 1, 1), ("RF1004", 3, 1)], message: "missing key `name` in policy"),
        PolicyErrorCase("invalid policy name", "ringfence: 1\nkind: policy\nname: my policy\nrules: []\n", [("RF1009", 3, 7)],
                        message: "policy name `my policy` may only hold letters, digits, `_`, `.`, `:` and `-`"),
        PolicyErrorCase("missing rules", "ringfence: 1\nkind: policy\nname: x\n", [("RF1005", 1, 1)],
                        message: "missing key `rules` in policy"),
        PolicyErrorCase("rules not a list", "ringfence: 1\nkind: policy\nname: x\nrules: {}\n", [("RF1006", 4, 8)],
                        message: "`rules` must be a list, found mapping"),
        PolicyErrorCase("rule not a mapping", head + "  - just-a-string\n", [("RF1006", 5, 5)],
                        message: "each rule must be a mapping, found string"),
        PolicyErrorCase("misspelled effect key", head + "  - id: r\n    efect: allow\n    action: a\n",
                        [("RF1005", 5, 5), ("RF1004", 6, 5)], message: "missing key `effect` in rule `r`"),
        PolicyErrorCase("misspelled resources key", rule("    resouces: [\"/x\"]\n"), [("RF1004", 8, 5)],
                        message: "unknown key `resouces` in rule", help: "did you mean `resources`?"),
        PolicyErrorCase("missing id", head + "  - effect: allow\n    action: a\n", [("RF1005", 5, 5)],
                        message: "missing key `id` in rule"),
        PolicyErrorCase("empty id", head + "  - id: \"\"\n    effect: allow\n    action: a\n", [("RF1013", 5, 9)],
                        message: "rule id must not be empty"),
        PolicyErrorCase("id with spaces", head + "  - id: read all\n    effect: allow\n    action: a\n", [("RF1009", 5, 9)]),
        PolicyErrorCase("misspelled effect", rule(effect: "alow"), [("RF1010", 6, 13)],
                        message: "effect must be `allow` or `deny`, found `alow`", help: "did you mean `allow`?"),
        PolicyErrorCase("effect of wrong type", rule(effect: "[allow]"), [("RF1006", 6, 13)],
                        message: "`effect` must be a string, found list"),
        PolicyErrorCase("action and actions", rule("    actions: [b]\n"), [("RF1007", 8, 5)],
                        message: "`actions` cannot be given together with `action`", help: "keep either `action` or `actions`"),
        PolicyErrorCase("resource and resources", rule("    resources: [\"/a\"]\n    resource: /b\n"), [("RF1007", 9, 5)]),
        PolicyErrorCase("no action", head + "  - id: r\n    effect: allow\n", [("RF1005", 5, 5)],
                        message: "rule `r` needs `action` or `actions`"),
        PolicyErrorCase("empty actions", head + "  - id: r\n    effect: allow\n    actions: []\n", [("RF1008", 7, 14)],
                        message: "`actions` must list at least one pattern"),
        PolicyErrorCase("empty pattern in list", head + "  - id: r\n    effect: allow\n    actions: [fs.read, \"\"]\n",
                        [("RF1013", 7, 24)]),
        PolicyErrorCase("empty action", head + "  - id: r\n    effect: allow\n    action: ''\n", [("RF1013", 7, 13)]),
        PolicyErrorCase("actions as a string", head + "  - id: r\n    effect: allow\n    actions: fs.read\n", [("RF1006", 7, 14)],
                        message: "`actions` must be a list, found string", help: "write `action: fs.read` or `actions: [fs.read]`"),
        PolicyErrorCase("number in actions", head + "  - id: r\n    effect: allow\n    actions: [1]\n", [("RF1006", 7, 15)],
                        message: "each item of `actions` must be a string, found number"),
        PolicyErrorCase("ring too large", rule("    ring: 5\n"), [("RF4001", 8, 11)],
                        message: "ring must be a whole number from 0 to 3, found `5`"),
        PolicyErrorCase("negative ring", rule("    ring: -1\n"), [("RF4001", 8, 11)]),
        PolicyErrorCase("fractional ring", rule("    ring: 1.5\n"), [("RF4001", 8, 11)]),
        PolicyErrorCase("ring as a string", rule("    ring: \"2\"\n"), [("RF1006", 8, 11)],
                        message: "`ring` must be an integer, found string"),
        PolicyErrorCase("when is a boolean", rule("    when: true\n"), [("RF1006", 8, 11)],
                        message: "`when` must be an expression string, found boolean",
                        help: "quote it to make it an expression: `when: \"true\"`"),
        PolicyErrorCase("limit with a bad unit", rule("    limit: 100/week\n"), [("RF4004", 8, 12)],
                        message: "invalid limit `100/week`: expected `N/second`, `N/minute`, `N/hour` or `N/day` with N from 1 to 1000000000"),
        PolicyErrorCase("limit of zero", rule("    limit: 0/hour\n"), [("RF4004", 8, 12)]),
        PolicyErrorCase("limit too large", rule("    limit: 2000000000/day\n"), [("RF4004", 8, 12)]),
        PolicyErrorCase("limit as a number", rule("    limit: 100\n"), [("RF4004", 8, 12)]),
        PolicyErrorCase("limit as a list", rule("    limit: [1]\n"), [("RF1006", 8, 12)]),
        PolicyErrorCase("limit on deny", rule("    limit: 10/minute\n", effect: "deny"), [("RF4005", 8, 5)],
                        message: "`limit` on deny rule `r` could never apply"),
        PolicyErrorCase("ring on deny", rule("    ring: 2\n", effect: "deny"), [("RF4007", 8, 5)],
                        message: "`ring` on deny rule `r` could never apply"),
        PolicyErrorCase("reason of wrong type", rule("    reason: 5\n"), [("RF1006", 8, 13)],
                        message: "`reason` must be a string, found number"),
        PolicyErrorCase("duplicate rule id", rule("  - id: r\n    effect: deny\n    action: x\n"), [("RF1011", 8, 9)],
                        message: "duplicate rule id `r`", help: "first defined at line 5"),
        PolicyErrorCase("threshold above one", "ringfence: 1\nkind: policy\nname: x\nrings:\n  privileged: 1.5\nrules: []\n",
                        [("RF4002", 5, 15)], message: "`privileged` threshold must be a number from 0 to 1, found `1.5`"),
        PolicyErrorCase("thresholds out of order",
                        "ringfence: 1\nkind: policy\nname: x\nrings:\n  privileged: 0.5\n  standard: 0.6\nrules: []\n",
                        [("RF4002", 5, 15)], message: "`privileged` threshold `0.5` must be above `standard` threshold `0.6`"),
        PolicyErrorCase("standard above default privileged",
                        "ringfence: 1\nkind: policy\nname: x\nrings:\n  standard: 0.97\nrules: []\n",
                        [("RF4002", 5, 13)], help: "`privileged` is not given and defaults to `0.95`"),
        PolicyErrorCase("threshold as a string", "ringfence: 1\nkind: policy\nname: x\nrings:\n  standard: high\nrules: []\n",
                        [("RF1006", 5, 13)], message: "`standard` must be a number, found string"),
        PolicyErrorCase("misspelled threshold key", "ringfence: 1\nkind: policy\nname: x\nrings:\n  standart: 0.5\nrules: []\n",
                        [("RF1004", 5, 3)], message: "unknown key `standart` in rings", help: "did you mean `standard`?"),
        PolicyErrorCase("unknown key far from any", "ringfence: 1\nkind: policy\nname: x\nrules: []\nzzzzzzzz: 1\n",
                        [("RF1004", 5, 1)],
                        help: "valid keys are `ringfence`, `kind`, `name`, `description`, `rings` and `rules`"),
    ]

    @Test(arguments: errorCases)
    func reportsStructuralError(_ c: PolicyErrorCase) {
        let diagnostics = parse(c.yaml).diagnostics
        let got = diagnostics.map { "\($0.code.rawValue)@\($0.location.line):\($0.location.column)" }
        let want = c.expected.map { "\($0.code)@\($0.line):\($0.column)" }
        #expect(got == want, "\(diagnostics)")
        #expect(diagnostics.allSatisfy { $0.location.file == "p.yaml" && $0.isError })
        if let message = c.message {
            #expect(diagnostics.first?.message == message)
        }
        if let help = c.help {
            #expect(diagnostics.first?.help == help)
        }
    }

    @Test func keyProblemsUnderlineTheKeyAndValueProblemsTheValue() {
        let unknown = parse(rule("    resouces: [\"/x\"]\n")).diagnostics
        #expect(unknown.first?.length == 8)
        let ring = parse(rule("    ring: 12\n")).diagnostics
        #expect(ring.first?.length == 2)
        let quoted = parse(rule("    ring: \"2\"\n")).diagnostics
        #expect(quoted.first?.length == 3)
        let duplicate = parse(rule("  - id: r\n    effect: deny\n    action: x\n")).diagnostics
        #expect(duplicate.first?.length == 1)
    }

    @Test func everyErrorInOneFileIsReportedSorted() {
        let yaml = """
        ringfence: 1
        kind: policy
        name: multi
        descripton: typo
        rings:
          privileged: 2
        rules:
          - id: a
            effect: permit
            action: x
            ring: 9
          - id: b
            effect: allow
            action: b.y
            actions: [z]
            limit: lots
          - id: a
            effect: deny
            action: w
            ring: 1
          - id: fine
            effect: allow
            action: ok

        """
        let (document, diagnostics) = parse(yaml)
        let got = diagnostics.map { "\($0.code.rawValue)@\($0.location.line):\($0.location.column)" }
        #expect(got == [
            "RF1004@4:1", "RF4002@6:15", "RF1010@9:13", "RF4001@11:11", "RF1007@15:5", "RF4004@16:12",
            "RF1011@17:9", "RF4007@20:5",
        ], "\(diagnostics)")
        #expect(diagnostics.first?.help == "did you mean `description`?")
        // The structure allowed a document; rules with errors stay in it, marked incomplete, so the
        // checker can still look at their patterns and `when`. Only the rule without errors is complete.
        let policy = document?.policy
        #expect(policy?.name.value == "multi")
        #expect(policy?.rings == nil)
        #expect(policy?.rules.map(\.id.value) == ["a", "b", "a", "fine"])
        #expect(policy?.rules.filter(\.isComplete).map(\.id.value) == ["fine"])
    }

    @Test func brokenRuleDoesNotStopLaterRules() throws {
        let yaml = head + "  - 42\n  - id: ok\n    effect: allow\n    action: a\n"
        let (document, diagnostics) = parse(yaml)
        #expect(diagnostics.map(\.code) == [.wrongType])
        let policy = try #require(document?.policy)
        #expect(policy.rules.map(\.id.value) == ["ok"])
    }

    @Test func missingNameMeansNoDocument() {
        let (document, diagnostics) = parse("ringfence: 1\nkind: policy\nrules: []\n")
        #expect(document == nil)
        #expect(diagnostics.map(\.code) == [.missingKey])
    }

    @Test func yamlErrorsPassThrough() {
        let (document, diagnostics) = parse("ringfence: 1\nkind: [policy\n")
        #expect(document == nil)
        #expect(diagnostics.first?.code == .yamlSyntax)
    }

    @Test func policyParserWorksOnHandBuiltTrees() throws {
        func at(_ line: Int, _ column: Int) -> SourceLocation { SourceLocation(file: "h.yaml", line: line, column: column) }
        func string(_ text: String, _ line: Int, _ column: Int) -> YAMLNode {
            YAMLNode(location: at(line, column), content: .scalar(YAMLScalar(text: text, style: .plain, value: .string(text))))
        }
        let ruleNode = YAMLNode(location: at(3, 5), content: .mapping([
            YAMLPair(key: "id", keyLocation: at(3, 5), value: string("r", 3, 9)),
            YAMLPair(key: "effect", keyLocation: at(4, 5), value: string("allow", 4, 13)),
            YAMLPair(key: "action", keyLocation: at(5, 5), value: string("x.y", 5, 13)),
        ]))
        let root = YAMLNode(location: at(1, 1), content: .mapping([
            YAMLPair(key: "name", keyLocation: at(1, 1), value: string("hand", 1, 7)),
            YAMLPair(key: "rules", keyLocation: at(2, 1), value: YAMLNode(location: at(3, 3), content: .sequence([ruleNode]))),
        ]))
        let (policy, diagnostics) = PolicyParser.parse(root, file: "h.yaml")
        #expect(diagnostics.isEmpty)
        let document = try #require(policy)
        #expect(document.rules.first?.actions.first == Located("x.y", at: at(5, 13), length: 3))
    }

    // MARK: Files

    /// Makes a fresh temporary directory holding `files` (relative path → contents).
    private func makeTree(_ files: [String: String]) throws -> String {
        let root = NSTemporaryDirectory() + "rf-front-\(UUID().uuidString)"
        for (path, contents) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    @Test func expandFindsYAMLFilesSortedAndSkipsHiddenOnes() throws {
        let root = try makeTree([
            "b.yaml": "x", "a/z.yml": "x", "a/c.yaml": "x", ".hidden/h.yaml": "x", ".dot.yaml": "x",
            "notes.txt": "x", "c.YAMLX": "x",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (files, diagnostics) = SourceLoader.expand([root + "/"])
        #expect(diagnostics.isEmpty)
        #expect(files == [root + "/a/c.yaml", root + "/a/z.yml", root + "/b.yaml"])
        // A file argument stays as is, whatever its extension, and is listed once.
        let (explicit, none) = SourceLoader.expand([root + "/notes.txt", root + "/b.yaml", root])
        #expect(none.isEmpty)
        #expect(explicit == [root + "/notes.txt", root + "/b.yaml", root + "/a/c.yaml", root + "/a/z.yml"])
    }

    @Test func expandReportsMissingPathsAndEmptyDirectories() throws {
        let root = try makeTree(["only.txt": "x"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let missing = root + "/nope.yaml"
        let (files, diagnostics) = SourceLoader.expand([missing, root])
        #expect(files.isEmpty)
        #expect(diagnostics.map(\.code) == [.fileUnreadable, .noInputFiles])
        #expect(diagnostics.first?.location == SourceLocation(file: missing, line: 1, column: 1))
        #expect(diagnostics.first?.message == "cannot read `\(missing)`: no such file or directory")
        #expect(diagnostics.last?.location == SourceLocation(file: root, line: 1, column: 1))
    }

    @Test func readReturnsBytesOrDiagnostic() throws {
        let root = try makeTree(["p.yaml": "ringfence: 1\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect((try? SourceLoader.read(root + "/p.yaml").get()) == Array("ringfence: 1\n".utf8))
        guard case .failure(let missing) = SourceLoader.read(root + "/gone.yaml") else {
            Issue.record("reading a missing file succeeded")
            return
        }
        #expect(missing.code == .fileUnreadable)
        #expect(missing.location.line == 1 && missing.location.column == 1)
        guard case .failure(let directory) = SourceLoader.read(root) else {
            Issue.record("reading a directory succeeded")
            return
        }
        #expect(directory.code == .fileUnreadable)
    }
}
