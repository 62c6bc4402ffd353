import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// `ringfence eval --explain` (SPEC §1, §4): each decision line is followed by one
/// `{"explain": …}` line, so the output stays JSON Lines.
@Suite struct EvalExplainTests {
    /// The members of a JSON object value.
    static func object(_ value: Value?) -> [String: Value] {
        if case .object(let members)? = value { return members }
        return [:]
    }

    @Test func everyDecisionIsFollowedByOneExplainLine() throws {
        let dir = try Scratch("explain")
        let file = dir.url("workspace.yaml").path
        try Data(CLITests.policy.utf8).write(to: URL(fileURLWithPath: file))
        let capture = CommandCapture(stdin: CLITests.requests)
        let status = RingfenceCLI.run(["eval", "-p", file, "--explain"], io: capture.io)
        #expect(status == 3)
        #expect(capture.stderr == "")
        let lines = capture.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 8)

        // The decisions are exactly those of a run without --explain.
        let plain = CommandCapture(stdin: CLITests.requests)
        #expect(RingfenceCLI.run(["eval", "-p", file], io: plain.io) == 3)
        let decisions = plain.stdout.split(separator: "\n").map(String.init)
        #expect(stride(from: 0, to: lines.count, by: 2).map { lines[$0] } == decisions)

        for pair in stride(from: 0, to: lines.count, by: 2) {
            let decision = try JSONParser.parse(lines[pair])
            let explain = try JSONParser.parse(lines[pair + 1])
            #expect(Self.object(explain).keys.sorted() == ["explain"])
            let body = Self.object(Self.object(explain)["explain"])
            #expect(body["decision"] == decision)
            guard case .list(let rules)? = body["rules"] else {
                Issue.record("no rules in \(lines[pair + 1])")
                continue
            }
            #expect(rules.count == 3)
            let decided = rules.map(Self.object).filter { $0["decided"] == .bool(true) }
            let rule = Self.object(decision)["rule"]
            let expected: [Value?] = rule == Value.null ? [] : [rule]
            #expect(decided.map { $0["rule"] } == expected)
        }
        // The destructive query: the deny rule applied and decided; the rate-limited allow applied too.
        let second = Self.object(try JSONParser.parse(lines[3]))["explain"]
        guard case .list(let rules)? = Self.object(second)["rules"] else {
            Issue.record("no rules in \(lines[3])")
            return
        }
        let deny = Self.object(rules[1])
        #expect(deny["rule"] == .string("block-destructive-sql"))
        #expect(deny["result"] == .string("applied"))
        #expect(deny["decided"] == .bool(true))
        let read = Self.object(rules[0])
        #expect(read["result"] == .string("action_mismatch"))
        #expect(read["detail"] == .string("action `database.query` matches none of [\"fs.read\"]"))
    }

    @Test func explainWorksWithBundles() throws {
        let dir = try Scratch("explain-bundle")
        let bundle = dir.url("w.rfb").path
        let program = try #require(Compiler.compile(source: CLITests.policy, file: "workspace.yaml").program)
        try Data(Bundle.encode(program)).write(to: URL(fileURLWithPath: bundle))
        let capture = CommandCapture(stdin: CLITests.allowedRequests)
        #expect(RingfenceCLI.run(["eval", "-b", bundle, "--explain"], io: capture.io) == 0)
        let lines = capture.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix(#"{"explain":{"decision":{"decision":"allow""#))
    }

    /// `--explain` reads requests exactly as `eval` does without it: the same decisions, the same
    /// errors for bad lines (code, line, column) and the same status; and each explanation is the
    /// one the library gives for the request read in full.
    @Test func explainReadsRequestsAsEvalDoes() throws {
        let dir = try Scratch("explain-reading")
        let file = dir.url("workspace.yaml").path
        try Data(CLITests.policy.utf8).write(to: URL(fileURLWithPath: file))
        let good = CLITests.requests.split(separator: "\n").map(String.init)
        let bad = [
            #"{"agent":{"id":"a1"},"action":"fs.read","resource":"/workspace/a.csv","#,
            #"{"agent":{"id":"a1","trust":"high"},"action":"fs.read"}"#,
            #"{"action":"fs.read","resource":"/workspace/a.csv"}"#,
            #"[1,2,3]"#,
            #"{"agent":{"id":"a1"},"action":"fs.read","resource":"/workspace/a.csv","action":"fs.write"}"#,
        ]
        var mixed: [String] = []
        for (i, line) in good.enumerated() {
            mixed.append(line)
            if i < bad.count { mixed.append(bad[i]) }
        }
        let input = mixed.joined(separator: "\n") + "\n"
        let explained = CommandCapture(stdin: input)
        let plain = CommandCapture(stdin: input)
        let explainedStatus = RingfenceCLI.run(["eval", "-p", file, "--explain"], io: explained.io)
        #expect(explainedStatus == RingfenceCLI.run(["eval", "-p", file], io: plain.io))
        #expect(explained.stderr == plain.stderr)
        #expect(explained.stderr.split(separator: "\n").count == min(bad.count, good.count))
        let lines = explained.stdout.split(separator: "\n").map(String.init)
        #expect(stride(from: 0, to: lines.count, by: 2).map { lines[$0] } == plain.stdout.split(separator: "\n").map(String.init))

        let program = try #require(Compiler.compile(source: CLITests.policy, file: "workspace.yaml").program)
        for (pair, line) in zip(stride(from: 0, to: lines.count, by: 2), good) {
            // A fresh engine per request, as limits would otherwise differ from the CLI's run.
            let engine = try Engine(program: program)
            let expected = engine.explain(try Request(json: line))
            #expect(lines[pair + 1] == "{\"explain\":" + expected.jsonText + "}", "\(line)")
        }
    }
}
