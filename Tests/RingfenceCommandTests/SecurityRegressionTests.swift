import Foundation
import Ringfence
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// Requests and files shaped by an attacker, each of which once got past a rule or misled a
/// person (the URL, path and canonical-form cases are in `Tests/Fixtures/eval/36-bypasses.yaml`).
@Suite struct SecurityRegressionTests {
    /// An exact-action deny and an allow on every action and resource.
    static let denyDeleteAllowRest = """
        ringfence: 1
        kind: policy
        name: guard
        rules:
          - id: no-delete
            effect: deny
            action: fs.delete
          - id: anything
            effect: allow
            actions: ["**"]
            resources: ["**"]
          - id: no-empty-upload
            effect: deny
            action: fs.upload
            when: len(params.blob) == 0 || len(params.list) == 0
        """

    /// A request over the decoding limits used to be decided with its action and resource
    /// blanked, so the exact-action deny no longer matched and the allow on `**` allowed. The
    /// limits count what the policies read (here `params.blob` and `params.list`).
    @Test func anOversizedRequestIsRefusedNotAllowed() throws {
        let engine = try Engine(source: Self.denyDeleteAllowRest)
        let big = String(repeating: "x", count: PreparedRequest.maxRequestBytes + 1)
        let request = Request(agent: Agent(id: "a"), action: "fs.delete", resource: "/tmp/x", params: ["blob": .string(big)])
        #expect(engine.prepare(request).tooLarge)
        let decision = engine.evaluate(request)
        #expect(!decision.allowed && decision.code == .error && decision.fault == .requestTooLarge)
        #expect(decision.reason == "the request is too large to decide; refused to fail closed")
        let items = Request(agent: Agent(id: "a"), action: "fs.read", resource: "/tmp/x",
                            params: ["list": .list(Array(repeating: .number(1), count: PreparedRequest.maxRequestItems + 1))])
        #expect(engine.evaluate(items).code == .error)
        // Just under the limit, the request is decided as usual.
        let fits = Request(agent: Agent(id: "a"), action: "fs.read", resource: "/tmp/x",
                           params: ["blob": .string(String(repeating: "x", count: 1 << 20))])
        #expect(engine.evaluate(fits).code == .allow)
    }

    @Test func evalRefusesAnOversizedRequestWithAnError() throws {
        let scratch = try Scratch("security")
        let policy = try scratch.write("guard.yaml", Self.denyDeleteAllowRest)
        let big = String(repeating: "x", count: PreparedRequest.maxRequestBytes + 1)
        let lines = #"{"agent":{"id":"a"},"action":"fs.read","resource":"/tmp/a"}"# + "\n"
            + #"{"agent":{"id":"a"},"action":"fs.delete","params":{"blob":""# + big + #""}}"# + "\n"
        let capture = CommandCapture(stdin: lines)
        let status = RingfenceCLI.run(["eval", "-p", policy], io: capture.io)
        #expect(status == 2)
        #expect(capture.stdout.split(separator: "\n").count == 1)
        #expect(capture.stderr.hasPrefix("<stdin>:2:1: error[RF6007]: the request is too large to decide"))
    }

    /// An unreadable `context.time` used to fall back to the wall clock silently.
    @Test func anInvalidContextTimeIsAnError() {
        for bad in [#""yesterday""#, "42", #""2026-13-01T00:00:00Z""#, #""2026-11-21 10:00""#] {
            let json = #"{"agent":{"id":"a"},"action":"x","context":{"time":"# + bad + "}}"
            #expect(throws: RequestError.self) { try Request(json: json) }
            do {
                _ = try Request(json: json)
            } catch {
                #expect(error.code == .requestOutOfRange && error.message.hasPrefix("`context.time` must be an rfc 3339 date-time"))
            }
        }
        #expect((try? Request(json: #"{"agent":{"id":"a"},"action":"x","context":{"time":"2026-11-21T10:00:00Z"}}"#)) != nil)
        #expect((try? Request(json: #"{"agent":{"id":"a"},"action":"x","context":{"time":null}}"#)) != nil)
    }

    /// 40,000 unknown keys in one request line took 15 s to reject (each key was compared with
    /// every other); the first unknown key in sorted order is still the one reported.
    @Test func manyUnknownKeysAreReportedInOnePass() {
        var json = #"{"agent":{"id":"a"},"action":"x""#
        for i in (0..<40_000).reversed() { json += #","k\#(i)":1"# }
        json += "}"
        do {
            _ = try Request(json: json)
            Issue.record("a request with unknown keys was accepted")
        } catch {
            #expect(error.code == .requestUnknownField && error.message == "unknown field `k0` in request")
        }
        #expect(throws: RequestError.self) { try Request(json: #"{"agent":{"id":"a"},"action":"x","k1":1,"k2":2,"k1":3}"#) }
    }

    /// `inspect` used to show bundles that `eval` refuses (it decoded without loading).
    @Test func inspectRefusesWhatEvalRefuses() throws {
        let engine = try Engine(source: Self.denyDeleteAllowRest)
        var program = engine.program
        // Verifies (the index is rebuilt to match) but is not canonical: refused when loaded.
        let resourceGlob = try #require(program.globs.firstIndex { $0.separator == 0x2F })
        program.globs[resourceGlob].pattern = "HTTPS://Example.com/**"
        program.actionIndex = ActionIndex.build(program)
        let scratch = try Scratch("security")
        let path = try scratch.write("forged.rfb", Bundle.encode(program))
        let eval = CommandCapture(stdin: #"{"agent":{"id":"a"},"action":"fs.read"}"#)
        #expect(RingfenceCLI.run(["eval", "-b", path], io: eval.io) == 2)
        let inspect = CommandCapture()
        #expect(RingfenceCLI.run(["inspect", path], io: inspect.io) == 2)
        #expect(inspect.stdout.isEmpty)
        #expect(inspect.stderr == eval.stderr && inspect.stderr.contains("error[RF5006]"))
    }

    /// Diagnostics used to echo raw control bytes (terminal escapes) from policy files.
    @Test func diagnosticsEscapeControlCharacters() {
        let source = "ringfence: 1\nkind: policy\nname: x\nrules:\n  - id: a\n    effect: allow\n    action: x\n    \u{1B}]0;owned\u{07}: 1\n"
        let result = Compiler.compile(source: source, file: "evil\u{1B}[2J.yaml")
        let text = DiagnosticRenderer.text(result.diagnostics, sources: result.sources)
        #expect(!result.diagnostics.isEmpty)
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        #expect(text.contains("evil\\u{001B}[2J.yaml"))
        #expect(text.contains("\\u{001B}]0;owned\\u{0007}: 1"))
        // The caret still sits under the key, counting each escape's width.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if let source = lines.firstIndex(where: { $0.contains("owned") }), source + 1 < lines.count {
            let sourceLine = lines[source], caretLine = lines[source + 1]
            let keyColumn = sourceLine.distance(from: sourceLine.startIndex, to: sourceLine.range(of: "\\u{001B}")!.lowerBound)
            let caretColumn = caretLine.distance(from: caretLine.startIndex, to: caretLine.firstIndex(of: "^")!)
            #expect(keyColumn == caretColumn)
        } else {
            Issue.record("no snippet in \(text)")
        }
        #expect(TerminalText.escape("a\u{202E}b\tc", keepingTabs: true) == "a\\u{202E}b\tc")
    }

    /// `!=` is false when its operand is absent, so such a deny silently skips requests that
    /// leave the value out; `check` warns, unless the rule tests the value with `has`.
    @Test func denyRulesComparingPossiblyAbsentValuesWithNotEqualAreFlagged() {
        func warnings(_ when: String, effect: String = "deny") -> [Diagnostic] {
            let source = "ringfence: 1\nkind: policy\nname: p\nrules:\n  - id: r\n    effect: \(effect)\n    action: x\n    when: '\(when)'\n"
            return Compiler.compile(source: source, file: "p.yaml").diagnostics.filter { $0.code == .absentComparison }
        }
        let flagged = warnings("params.env != \"prod\"")
        #expect(flagged.count == 1)
        #expect(flagged.first?.message == "`!=` is false when `params.env` is absent, so this deny rule does not apply to requests without it")
        #expect(flagged.first?.help?.contains("!has(params.env) ||") == true)
        #expect(flagged.first?.location.line == 8)
        #expect(warnings("lower(context.region) != \"eu\" && action == \"x\"").count == 1)
        #expect(warnings("agent.attrs.team != \"data\"").count == 1)
        #expect(warnings("resource != \"/tmp\"").count == 1)
        #expect(warnings("!has(params.env) || params.env != \"prod\"").isEmpty)
        #expect(warnings("params.env != \"prod\"", effect: "allow").isEmpty)
        #expect(warnings("agent.id != \"root\"").isEmpty, "agent.id is always present")
        #expect(warnings("not params.env in [\"prod\"]").isEmpty, "`!` of a false membership test is true")
        // And the semantics the warning describes.
        let engine = try? Engine(source: "ringfence: 1\nkind: policy\nname: p\nrules:\n  - id: r\n    effect: deny\n    action: x\n    when: 'params.env != \"prod\"'\n  - id: a\n    effect: allow\n    action: x\n")
        #expect(engine?.evaluate(Request(agent: Agent(id: "a"), action: "x")).code == .allow)
        #expect(engine?.evaluate(Request(agent: Agent(id: "a"), action: "x", params: ["env": .string("dev")])).code == .denyRule)
    }
}
