import Foundation
import RingfenceDiagnostics

/// A parsed `kind: tests` document (SPEC §4.4): the policies under test and the cases to run.
public struct TestSuiteDocument: Sendable {
    /// The tests file, as named.
    public var file: String
    /// The policy files or directories the cases run against, compiled together in order.
    public var policies: [TestPolicyReference]
    /// The cases, in file order.
    public var cases: [TestCase]
    /// Where the document starts.
    public var location: SourceLocation

    /// Creates a tests document.
    public init(file: String, policies: [TestPolicyReference], cases: [TestCase], location: SourceLocation) {
        self.file = file
        self.policies = policies
        self.cases = cases
        self.location = location
    }
}

/// One entry of a tests file's `policies:` list.
public struct TestPolicyReference: Sendable, Hashable {
    /// The path as written, relative to the tests file, with its location.
    public var written: Located<String>
    /// The path resolved against the tests file's directory and normalised lexically
    /// (`policies/tests/../workspace.yaml` becomes `policies/workspace.yaml`).
    public var path: String

    /// Creates a reference.
    public init(written: Located<String>, path: String) {
        self.written = written
        self.path = path
    }
}

/// The decision a test case expects.
public enum TestExpectation: String, Sendable, Hashable, CaseIterable {
    /// The request must be allowed.
    case allow
    /// The request must be denied.
    case deny
}

/// One test case: a request and what its decision must be.
public struct TestCase: Sendable {
    /// The case's name, shown in reports and matched by `--run`.
    public var name: Located<String>
    /// The request, as the YAML mapping written (decoded into a request when the case runs).
    public var request: YAMLNode
    /// The decision the case expects.
    public var expect: Located<TestExpectation>
    /// The rule that must decide, when given.
    public var rule: Located<String>?
    /// The decision code that must come out (`allow`, `deny_rule`, `ring`, `rate_limit`,
    /// `default` or `error`), when given.
    public var code: Located<String>?
    /// Where the case starts.
    public var location: SourceLocation

    /// Creates a case.
    public init(name: Located<String>, request: YAMLNode, expect: Located<TestExpectation>, rule: Located<String>?,
                code: Located<String>?, location: SourceLocation) {
        self.name = name
        self.request = request
        self.expect = expect
        self.rule = rule
        self.code = code
        self.location = location
    }
}

/// Turns the YAML tree of a `kind: tests` document into a `TestSuiteDocument` (SPEC §4.4),
/// reporting every structural problem in one pass.
public enum TestsParser {
    /// The keys a tests document may hold.
    static let documentKeys = ["ringfence", "kind", "description", "policies", "cases"]
    /// The keys a case may hold.
    static let caseKeys = ["name", "description", "request", "expect", "rule", "code"]
    /// The decision codes a case may expect (SPEC §1).
    public static let decisionCodes = ["allow", "deny_rule", "ring", "rate_limit", "default", "error"]

    /// Parses a tests document; returns nil when it has any error (a tests file with errors is
    /// never run), plus every diagnostic sorted for output. Each `policies:` entry must name an
    /// existing file or directory, looked up relative to the tests file.
    public static func parse(_ root: YAMLNode, file: String) -> (TestSuiteDocument?, [Diagnostic]) {
        var reader = StructureReader(file: file)
        let document = parseDocument(root, &reader)
        return (reader.hasErrors ? nil : document, reader.diagnostics.sortedForOutput())
    }

    /// tests := { ringfence, kind, description?, policies, cases }
    private static func parseDocument(_ root: YAMLNode, _ reader: inout StructureReader) -> TestSuiteDocument? {
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return nil
        }
        reader.checkKeys(pairs, allowed: documentKeys, context: "tests file")
        var policies: [TestPolicyReference]?
        var cases: [TestCase]?
        for pair in pairs {
            switch pair.key {
            case "description": _ = reader.string(pair)
            case "policies": policies = parsePolicies(pair, &reader)
            case "cases": cases = parseCases(pair, &reader)
            default: break
            }
        }
        if !pairs.contains(where: { $0.key == "policies" }) {
            reader.error(.missingKey, Messages.missingKey("policies", in: "tests file"), at: root.location,
                         help: Messages.testsPoliciesHelp)
        }
        if !pairs.contains(where: { $0.key == "cases" }) {
            reader.error(.missingKey, Messages.missingKey("cases", in: "tests file"), at: root.location)
        }
        guard let policies, let cases else { return nil }
        return TestSuiteDocument(file: reader.file, policies: policies, cases: cases, location: root.location)
    }

    /// policies := [ path, … ] — each path relative to the tests file, naming a file or directory that exists.
    private static func parsePolicies(_ pair: YAMLPair, _ reader: inout StructureReader) -> [TestPolicyReference]? {
        var help: String?
        if case .scalar(let scalar) = pair.value.content, case .string(let text) = scalar.value, !text.isEmpty {
            help = Messages.testsPolicyList(Messages.excerpt(text))
        }
        guard let items = reader.list(pair, help: help) else { return nil }
        guard !items.isEmpty else {
            reader.error(.emptyList, Messages.emptyTestsList("policies", of: "policy file"), at: pair.value, help: Messages.testsPoliciesHelp)
            return nil
        }
        var references: [TestPolicyReference] = []
        let before = reader.errorCount
        for item in items {
            guard case .scalar(let scalar) = item.content, case .string(let text) = scalar.value else {
                reader.error(.wrongType, Messages.wrongItemType("policies", expected: "a path", found: item.typeName), at: item)
                continue
            }
            guard !text.isEmpty else {
                reader.error(.emptyString, Messages.emptyString("a path in `policies`"), at: item)
                continue
            }
            let resolved = resolve(text, relativeTo: reader.file)
            guard FileManager.default.fileExists(atPath: resolved) else {
                reader.error(.missingPolicyFile, Messages.missingPolicyFile(Messages.excerpt(text), resolved: Messages.excerpt(resolved)),
                             at: item, help: Messages.missingPolicyFileHelp)
                continue
            }
            references.append(TestPolicyReference(written: Located(text, at: item.location, length: StructureReader.extent(of: item)),
                                                  path: resolved))
        }
        return reader.errorCount == before ? references : nil
    }

    /// cases := [ case, … ] with at least one case
    private static func parseCases(_ pair: YAMLPair, _ reader: inout StructureReader) -> [TestCase]? {
        guard let items = reader.list(pair) else { return nil }
        guard !items.isEmpty else {
            reader.error(.emptyList, Messages.emptyTestsList("cases", of: "case"), at: pair.value, help: Messages.testsCasesHelp)
            return nil
        }
        var cases: [TestCase] = []
        for item in items {
            if let testCase = parseCase(item, &reader) { cases.append(testCase) }
        }
        return cases
    }

    /// case := { name, description?, request, expect, rule?, code? }
    private static func parseCase(_ item: YAMLNode, _ reader: inout StructureReader) -> TestCase? {
        guard let pairs = item.mapping else {
            reader.error(.wrongType, Messages.testCaseNotMapping(found: item.typeName), at: item)
            return nil
        }
        reader.checkKeys(pairs, allowed: caseKeys, context: "test case")
        var name: Located<String>?
        var request: YAMLNode?
        var expect: Located<TestExpectation>?
        var rule: Located<String>?
        var code: Located<String>?
        var broken = false
        for pair in pairs {
            switch pair.key {
            case "name":
                name = reader.string(pair)
                if let text = name, text.value.isEmpty {
                    reader.error(.emptyString, Messages.emptyString("test case name"), at: pair.value)
                    name = nil
                }
                if name == nil { broken = true }
            case "description":
                if reader.string(pair) == nil { broken = true }
            case "request":
                request = reader.mapping(pair) != nil ? pair.value : nil
                if request == nil { broken = true }
            case "expect":
                expect = parseExpect(pair, &reader)
                if expect == nil { broken = true }
            case "rule":
                rule = reader.string(pair)
                if let text = rule, text.value.isEmpty {
                    reader.error(.emptyString, Messages.emptyString("`rule`"), at: pair.value)
                    rule = nil
                }
                if rule == nil { broken = true }
            case "code":
                code = parseCode(pair, &reader)
                if code == nil { broken = true }
            default:
                broken = true
            }
        }
        let context = name.map { "test case `\(Messages.excerpt($0.value))`" } ?? "test case"
        for key in ["name", "request", "expect"] where !pairs.contains(where: { $0.key == key }) {
            reader.error(.missingKey, Messages.missingKey(key, in: context), at: item.location,
                         help: key == "expect" ? "add `expect: allow` or `expect: deny`" : nil)
            broken = true
        }
        guard !broken, let name, let request, let expect else { return nil }
        return TestCase(name: name, request: request, expect: expect, rule: rule, code: code, location: item.location)
    }

    /// expect := `allow` | `deny`
    private static func parseExpect(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<TestExpectation>? {
        guard let text = reader.string(pair) else { return nil }
        guard let expectation = TestExpectation(rawValue: text.value) else {
            let options = TestExpectation.allCases.map(\.rawValue)
            reader.error(.invalidTestExpectation, Messages.invalidTestValue("expect", Messages.excerpt(text.value)), at: pair.value,
                         help: Suggestions.didYouMean(text.value, among: options) ?? Messages.expectedOneOf(options))
            return nil
        }
        return Located(expectation, at: text.location, length: text.length)
    }

    /// code := `allow` | `deny_rule` | `ring` | `rate_limit` | `default` | `error`
    private static func parseCode(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<String>? {
        guard let text = reader.string(pair) else { return nil }
        guard decisionCodes.contains(text.value) else {
            reader.error(.invalidTestExpectation, Messages.invalidTestValue("code", Messages.excerpt(text.value)), at: pair.value,
                         help: Suggestions.didYouMean(text.value, among: decisionCodes) ?? Messages.expectedOneOf(decisionCodes))
            return nil
        }
        return text
    }

    /// `path` resolved against the directory of `file` (absolute paths stay as they are), then
    /// normalised lexically: `.` segments and repeated `/` go, `..` removes the segment before it.
    public static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        guard let slash = file.lastIndex(of: "/") else { return normalize(path) }
        let directory = file[..<slash]
        return normalize(directory.isEmpty ? "/" + path : directory + "/" + path)
    }

    /// A path with `.` segments and repeated `/` removed and `..` applied lexically (a leading
    /// `..` that cannot be applied is kept).
    public static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".":
                continue
            case "..":
                if let last = segments.last, last != ".." {
                    segments.removeLast()
                } else if !absolute {
                    segments.append(segment)
                }
            default:
                segments.append(segment)
            }
        }
        let joined = segments.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
