import Foundation
import Testing
import Ringfence
import RingfenceSyntax
import RingfenceCorpusSupport
import RingfenceTestSupport

/// The policy library in `policies/`: it compiles as one bundle without a diagnostic, adding the
/// library's newer policies changes no decision of the demo requests, and every case of the
/// newer policies' tests files holds when evaluated directly through `Engine` — a second check,
/// independent of `ringfence test`, that reads the tests files with nothing but the YAML loader.
@Suite struct PolicyLibraryTests {
    /// The policies whose tests files this suite checks.
    static let policies = ["read-only", "no-pii", "strict", "secrets", "mcp-tools"]

    /// `policies/` in the source tree.
    static let folder = Repository.url("policies")

    /// One case of a tests file, read straight from its YAML.
    struct Case: CustomStringConvertible {
        /// The case's name.
        let name: String
        /// Where the case starts.
        let line: Int
        /// The request as written.
        let request: YAMLNode
        /// `allow` or `deny`.
        let expect: String
        /// The rule that must decide, if given.
        let rule: String?
        /// The decision code required, if given.
        let code: String?
        /// The name and line, for messages.
        var description: String { "\(name) (line \(line))" }
    }

    /// The cases of `policies/tests/<name>.tests.yaml`, and the policy files it names. The file
    /// is read strictly: a key this reader does not check, a missing name, request or
    /// expectation, or an unknown decision or code is an error, never a check silently dropped.
    static func load(_ name: String) throws -> (policies: [String], cases: [Case]) {
        let url = folder.appendingPathComponent("tests/\(name).tests.yaml")
        let root = try CorpusYAML.document(try Fixtures.text(url), file: url.path)
        try CorpusYAML.requireKeys(root, known: ["ringfence", "kind", "description", "policies", "cases"],
                                   required: ["policies", "cases"], "\(name).tests.yaml")
        let policies = try (root["policies"]?.sequence ?? []).map { node -> String in
            guard let file = node.stringValue else { throw CorpusError("\(name).tests.yaml: a policy entry is not a string") }
            return url.deletingLastPathComponent().appendingPathComponent(file).standardizedFileURL.path
        }
        let cases = try (root["cases"]?.sequence ?? []).map { node -> Case in
            let at = "\(name).tests.yaml: case at line \(node.location.line)"
            try CorpusYAML.requireKeys(node, known: ["name", "description", "request", "expect", "rule", "code"],
                                       required: ["name", "request", "expect"], at)
            guard let caseName = node["name"]?.stringValue, let request = node["request"],
                  let expect = node["expect"]?.stringValue, ["allow", "deny"].contains(expect) else {
                throw CorpusError("\(at): needs a `name`, a `request` and `expect: allow` or `expect: deny`")
            }
            var rule: String?
            if let node = node["rule"] {
                guard let text = node.stringValue else { throw CorpusError("\(at): `rule` must be a rule id") }
                rule = text
            }
            var code: String?
            if let node = node["code"] {
                guard let text = node.stringValue, DecisionCode(rawValue: text) != nil else {
                    throw CorpusError("\(at): `code` must be a decision code")
                }
                code = text
            }
            return Case(name: caseName, line: node.location.line, request: request, expect: expect, rule: rule, code: code)
        }
        return (policies, cases)
    }

    /// Every file of `policies/` (tests files included) checks together with no diagnostic at all.
    @Test func theWholeLibraryCompilesTogetherCleanly() throws {
        let result = Compiler.compile(paths: [Self.folder.path])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let names = try #require(result.program).policies.map(\.name)
        for name in Self.policies { #expect(names.contains(name)) }
        #expect(Set(names).count == names.count)
    }

    /// The demo requests are decided exactly as by the four original policies alone.
    @Test func theNewPoliciesChangeNoDemoDecision() throws {
        let originals = ["workspace", "http-egress", "sql-safety", "shell-safety"].map { Self.folder.appendingPathComponent("\($0).yaml").path }
        let before = try Engine(paths: originals, clock: { 0 })
        let after = try Engine(paths: [Self.folder.path], clock: { 0 })
        let lines = try Fixtures.text(Repository.url("examples/requests/mixed.jsonl"))
            .split(separator: "\n")
        #expect(lines.count >= 10)
        var denied = 0
        for line in lines {
            let request = try Request(json: String(line))
            let decision = after.evaluate(request)
            #expect(decision == before.evaluate(request), "\(line)")
            if !decision.allowed { denied += 1 }
        }
        #expect(denied > 0, "the demo expects exit status 3: some request must be denied")
    }

    /// Each case of each newer policy's tests file holds through `Engine`, and every rule of the
    /// policy is named by at least one case.
    @Test(arguments: policies)
    func theTestsFileHolds(_ name: String) throws {
        let (policies, cases) = try Self.load(name)
        #expect(policies == [Self.folder.appendingPathComponent("\(name).yaml").path])
        #expect(cases.count >= 8, "\(name): only \(cases.count) cases")
        let engine = try Engine(paths: policies, clock: { 0 })
        for c in cases {
            let decision = engine.evaluate(try Request(value: Value(yaml: c.request)))
            #expect(decision.decision == c.expect, "\(name): \(c): \(decision)")
            if let rule = c.rule { #expect(decision.rule == rule, "\(name): \(c): \(decision)") }
            if let code = c.code { #expect(decision.code.rawValue == code, "\(name): \(c): \(decision)") }
        }
        let named = Set(cases.compactMap(\.rule))
        for rule in engine.program.rules { #expect(named.contains(rule.id), "\(name): no case names rule \(rule.id)") }
    }
}
