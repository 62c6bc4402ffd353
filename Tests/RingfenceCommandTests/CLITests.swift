import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import RingfenceCorpusSupport
import Testing
import RingfenceTestSupport

/// The `ringfence` command line (SPEC §4): `check`, `compile` and `eval`, run in-process
/// through `RingfenceCLI.run`, plus a few runs of the built binary (which `swift test` builds;
/// a missing binary fails those tests).
@Suite struct CLITests {
    /// A policy with an allow, a conditional deny and a rate-limited allow (SPEC §3).
    static let policy = Samples.workspacePolicy

    /// A policy whose allow rule is shadowed by an unconditional deny (a warning, RF4006).
    static let shadowed = Samples.shadowedPolicy

    /// A policy with an unknown key on line 8 (its only error, RF1004).
    static let broken = Samples.brokenPolicy

    /// Requests in JSON Lines: allow, deny by rule, allow, default deny.
    static let requests = Samples.requests

    /// Requests that are all allowed.
    static let allowedRequests = Samples.allowedRequests

    // MARK: check

    @Test func checkCleanPolicyExitsZeroWithSummary() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let run = ringfence(["check", file])
        #expect(run.status == 0)
        #expect(run.stdout == "checked 1 file: 1 policy, 3 rules, 0 errors, 0 warnings\n")
        #expect(run.stderr == "")
    }

    @Test func checkWarningsStillExitZero() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("deletes.yaml", Self.shadowed)
        let run = ringfence(["check", file])
        #expect(run.status == 0)
        #expect(run.stderr.hasPrefix("\(file):9:9: warning[RF4006]: "))
        #expect(run.stdout == "checked 1 file: 1 policy, 2 rules, 0 errors, 1 warning\n")
    }

    @Test func checkErrorsExitOneWithLocatedSnippet() throws {
        let scratch = try Scratch("cli")
        let good = try scratch.write("a.yaml", Self.policy)
        let bad = try scratch.write("b.yaml", Self.broken)
        let run = ringfence(["check", good, bad])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("\(bad):8:5: error[RF1004]: unknown key `reasn`"))
        #expect(run.stderr.contains("8 |     reasn: typo"))
        #expect(run.stderr.contains("  |     ^^^^^\n"))
        #expect(run.stdout.hasPrefix("checked 2 files: "))
        #expect(run.stdout == "checked 2 files: 2 policies, 3 rules, 1 error, 0 warnings\n")
    }

    @Test func checkDirectoryArgument() throws {
        let scratch = try Scratch("cli")
        try scratch.write("workspace.yaml", Self.policy)
        try scratch.write("deletes.yml", Self.shadowed)
        try scratch.write("notes.txt", "not a policy")
        let run = ringfence(["check", scratch.path])
        #expect(run.status == 0)
        #expect(run.stdout == "checked 2 files: 2 policies, 5 rules, 0 errors, 1 warning\n")
    }

    @Test func checkJSONFormatPrintsAnArray() throws {
        let scratch = try Scratch("cli")
        let bad = try scratch.write("b.yaml", Self.broken)
        let run = ringfence(["check", "--format", "json", bad])
        #expect(run.status == 1)
        #expect(run.stderr == "")
        let parsed = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        let first = try #require(parsed?.first)
        #expect(first["code"] as? String == "RF1004")
        #expect(first["severity"] as? String == "error")
        #expect(first["file"] as? String == bad)
        #expect(first["line"] as? Int == 8)
        #expect(first["column"] as? Int == 5)

        let clean = try scratch.write("a.yaml", Self.policy)
        let ok = ringfence(["check", clean, "--format", "json"])
        #expect(ok.status == 0)
        #expect(ok.stdout == "[]\n")
    }

    @Test func checkMissingPathIsUnreadableInput() throws {
        let scratch = try Scratch("cli")
        let missing = scratch.path + "/nope.yaml"
        let run = ringfence(["check", missing])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(missing):1:1: error[RF0001]: cannot read"))
    }

    @Test(arguments: [
        ["check", "--frobnicate", "x.yaml"],
        ["check"],
        ["check", "--format", "xml", "x.yaml"],
        ["compile", "x.yaml"],
        ["eval"],
        ["eval", "-p", "x.yaml", "-b", "x.rfb"],
        ["frobnicate"],
        [],
    ])
    func usageErrorsExitTwo(arguments: [String]) {
        let run = ringfence(arguments)
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(!run.stderr.isEmpty)
    }

    @Test func helpGoesToStdout() {
        let run = ringfence(["--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("check"))
        #expect(run.stdout.contains("compile"))
        #expect(run.stdout.contains("eval"))
        #expect(run.stderr == "")
        let sub = ringfence(["eval", "--help"])
        #expect(sub.status == 0)
        #expect(sub.stdout.contains("--bundle"))
    }

    // MARK: compile

    @Test func compiledBundleDecidesLikeItsSources() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let bundle = scratch.path + "/workspace.rfb"
        let compiled = ringfence(["compile", file, "-o", bundle])
        #expect(compiled.status == 0)
        let bytes = try scratch.read("workspace.rfb")
        #expect(compiled.stdout.hasPrefix("wrote \(bundle) (\(bytes.count) bytes, 3 rules, sha256 "))
        #expect(!FileManager.default.fileExists(atPath: bundle + ".tmp"))
        #expect(bytes.prefix(4) == [0x89, 0x52, 0x46, 0x42])

        let fromSources = ringfence(["eval", "-p", file], stdin: Self.requests)
        let fromBundle = ringfence(["eval", "-b", bundle], stdin: Self.requests)
        #expect(fromSources.status == 3)
        #expect(fromBundle.status == 3)
        #expect(fromSources.lines.count == 4)
        #expect(fromBundle.stdout == fromSources.stdout)
    }

    @Test func compileErrorsWriteNothing() throws {
        let scratch = try Scratch("cli")
        let bad = try scratch.write("b.yaml", Self.broken)
        let bundle = scratch.path + "/out.rfb"
        let run = ringfence(["compile", bad, "-o", bundle])
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.stderr.contains("error[RF1004]"))
        #expect(!FileManager.default.fileExists(atPath: bundle))
    }

    @Test func compileToUnwritablePathExitsTwo() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let run = ringfence(["compile", file, "-o", scratch.path + "/no/such/dir/out.rfb"])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("error: cannot write `"))
        #expect(run.stdout == "")
    }

    // MARK: eval

    @Test func evalDecidesInInputOrder() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let run = ringfence(["eval", "-p", file], stdin: Self.requests)
        #expect(run.status == 3)
        #expect(run.stderr == "")
        #expect(run.lines == [
            #"{"decision":"allow","code":"allow","policy":"workspace","rule":"read-workspace","reason":"workspace files are readable","ring":2}"#,
            #"{"decision":"deny","code":"deny_rule","policy":"workspace","rule":"block-destructive-sql","reason":"destructive SQL","ring":2}"#,
            #"{"decision":"allow","code":"allow","policy":"workspace","rule":"query","reason":"queries are allowed","ring":2}"#,
        ] + [run.lines.last ?? ""])
        #expect(run.lines.last?.hasPrefix(#"{"decision":"deny","code":"default","policy":null,"rule":null,"#) == true)
    }

    @Test func evalAllAllowedExitsZero() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let input = try scratch.write("requests.jsonl", Self.allowedRequests)
        for arguments in [["eval", "-p", file, "-i", input], ["eval", "-i", input, "-p", file], ["eval", "--policy", file, "--input", input]] {
            let run = ringfence(arguments)
            #expect(run.status == 0)
            #expect(run.lines.count == 2)
            #expect(run.lines.allSatisfy { $0.hasPrefix(#"{"decision":"allow""#) })
        }
        let dash = ringfence(["eval", "-p", file, "-i", "-"], stdin: Self.allowedRequests)
        #expect(dash.status == 0)
        #expect(dash.lines.count == 2)
    }

    @Test func evalTakesSeveralPolicyPaths() throws {
        let scratch = try Scratch("cli")
        let a = try scratch.write("a.yaml", Self.policy)
        let b = try scratch.write("b.yaml", Self.shadowed)
        let request = #"{"agent":{"id":"a","trust":0.7},"action":"fs.delete","resource":"/tmp/x"}"#
        for arguments in [["eval", "-p", a, b], ["eval", "-p", a, "-p", b]] {
            let run = ringfence(arguments, stdin: request)
            #expect(run.status == 3)
            #expect(run.lines.count == 1)
            #expect(run.lines.first?.contains(#""rule":"no-deletes""#) == true)
            #expect(run.stderr.contains("warning[RF4006]"))
        }
    }

    @Test func evalReadsOnePrettyPrintedRequest() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let request = """
            {
              "agent": { "id": "a", "trust": 0.7 },
              "action": "fs.read",
              "resource": "/workspace/a.csv"
            }
            """
        let run = ringfence(["eval", "-p", file], stdin: request)
        #expect(run.status == 0)
        #expect(run.lines.count == 1)
        #expect(run.lines.first?.contains(#""rule":"read-workspace""#) == true)
    }

    @Test func evalRateLimitsAcrossTheRunWithRequestTime() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let query = #"{"agent":{"id":"a","trust":0.7},"action":"database.query","params":{"query":"select 1"},"context":{"time":"2026-11-21T10:00:0SZ"}}"#
        let input = ["0", "1", "2", "3"].map { query.replacingOccurrences(of: "0SZ", with: "0\($0)Z") }
            + [query.replacingOccurrences(of: "10:00:0SZ", with: "10:05:00Z")]
        let run = ringfence(["eval", "-p", file], stdin: input.joined(separator: "\n"))
        #expect(run.status == 3)
        #expect(run.lines.map { $0.contains(#""code":"allow""#) } == [true, true, false, false, true])
        #expect(run.lines[2].contains(#""code":"rate_limit""#))
    }

    @Test func malformedRequestsGetErrorsAndNoDecision() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let input = """
            {"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/a.csv"}
            {"agent":{"id":"a","trust":0.7},"action":
            {"agent":{"id":"a","trust":0.7}}

            {"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/b.csv"}
            """
        let run = ringfence(["eval", "-p", file], stdin: input)
        #expect(run.status == 2)
        #expect(run.lines.count == 2)
        #expect(run.lines.allSatisfy { $0.contains(#""rule":"read-workspace""#) })
        let errors = run.stderr.split(separator: "\n").map(String.init)
        #expect(errors.count == 2)
        #expect(errors.first?.hasPrefix("<stdin>:2:") == true)
        #expect(errors.first?.contains(": error[RF6001]: ") == true)
        #expect(errors.last?.hasPrefix("<stdin>:3:1: error[RF6003]: missing required field `action`") == true)

        let named = try scratch.write("requests.jsonl", input)
        let fromFile = ringfence(["eval", "-p", file, "-i", named])
        #expect(fromFile.status == 2)
        #expect(fromFile.stderr.hasPrefix("\(named):2:"))
        #expect(fromFile.stdout == run.stdout)
    }

    @Test func evalEmptyOrMissingInputExitsTwo() throws {
        let scratch = try Scratch("cli")
        let file = try scratch.write("workspace.yaml", Self.policy)
        let empty = ringfence(["eval", "-p", file], stdin: "\n  \n")
        #expect(empty.status == 2)
        #expect(empty.stdout == "")
        #expect(empty.stderr.hasPrefix("<stdin>:1:1: error[RF6001]: "))

        let missing = scratch.path + "/none.jsonl"
        let run = ringfence(["eval", "-p", file, "-i", missing])
        #expect(run.status == 2)
        #expect(run.stderr == "\(missing):1:1: error[RF0001]: cannot read `\(missing)`: no such file or directory\n")
    }

    @Test func evalWithPolicyErrorsExitsOne() throws {
        let scratch = try Scratch("cli")
        let bad = try scratch.write("b.yaml", Self.broken)
        let run = ringfence(["eval", "-p", bad], stdin: Self.allowedRequests)
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.stderr.hasPrefix("\(bad):8:5: error[RF1004]"))
    }

    // MARK: bundles

    /// Compiles the test policy and returns the bundle's bytes.
    func compiledBundle(in scratch: Scratch) throws -> [UInt8] {
        let file = try scratch.write("workspace.yaml", Self.policy)
        let run = ringfence(["compile", file, "-o", scratch.path + "/good.rfb"])
        try #require(run.status == 0)
        return try scratch.read("good.rfb")
    }

    @Test func corruptedBundleIsRefused() throws {
        let scratch = try Scratch("cli")
        var bytes = try compiledBundle(in: scratch)
        bytes[bytes.count / 2] ^= 0x40
        let path = try scratch.write("corrupt.rfb", bytes)
        let run = ringfence(["eval", "-b", path], stdin: Self.allowedRequests)
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(run.stderr.hasPrefix("\(path): error[RF5005]: "))
    }

    @Test func truncatedEmptyAndForeignBundlesAreRefused() throws {
        let scratch = try Scratch("cli")
        let bytes = try compiledBundle(in: scratch)
        var generator = SeededGenerator(seed: 0x5EED_0B0B)
        let cases: [(String, [UInt8], String)] = [
            ("truncated.rfb", Array(bytes.prefix(bytes.count - 10)), "RF5001"),
            ("short.rfb", Array(bytes.prefix(20)), "RF5001"),
            ("empty.rfb", [], "RF5001"),
            ("random.rfb", (0..<512).map { _ in UInt8.random(in: 0...0x7F, using: &generator) }, "RF5002"),
            ("policy.rfb", Array(Self.policy.utf8), "RF5002"),
        ]
        for (name, content, code) in cases {
            let path = try scratch.write(name, content)
            let run = ringfence(["eval", "-b", path], stdin: Self.allowedRequests)
            #expect(run.status == 2, "\(name)")
            #expect(run.stdout == "", "\(name)")
            #expect(run.stderr.hasPrefix("\(path): error[\(code)]: "), "\(name): \(run.stderr)")
            #expect(!run.stderr.contains("\n") || run.stderr.split(separator: "\n").count == 1, "\(name)")
        }
        let missing = ringfence(["eval", "-b", scratch.path + "/none.rfb"], stdin: Self.allowedRequests)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("error[RF0001]"))
    }

    // MARK: the built binary

    /// Runs the built `ringfence` binary with `arguments` and `stdin`; a missing binary fails the test.
    func runBinary(_ arguments: [String], stdin: String = "") throws -> CommandRun {
        try BuiltBinary.run("ringfence", arguments, stdin: stdin)
    }

    @Test func binaryCheckExitStatuses() throws {
        let scratch = try Scratch("cli")
        let good = try scratch.write("workspace.yaml", Self.policy)
        let bad = try scratch.write("b.yaml", Self.broken)
        let ok = try runBinary(["check", good])
        #expect(ok.status == 0)
        #expect(ok.stdout == "checked 1 file: 1 policy, 3 rules, 0 errors, 0 warnings\n")
        let failing = try runBinary(["check", bad])
        #expect(failing.status == 1)
        #expect(failing.stderr.hasPrefix("\(bad):8:5: error[RF1004]"))
        let usage = try runBinary(["check", "--bogus"])
        #expect(usage.status == 2)
    }

    @Test func binaryEvalReadsStdinAndExitsThreeOnDeny() throws {
        let scratch = try Scratch("cli")
        let good = try scratch.write("workspace.yaml", Self.policy)
        let run = try runBinary(["eval", "-p", good], stdin: Self.requests)
        #expect(run.status == 3)
        #expect(run.lines.count == 4)
        let allowed = try runBinary(["eval", "-p", good], stdin: Self.allowedRequests)
        #expect(allowed.status == 0)
    }

    @Test func binaryRefusesCorruptedBundle() throws {
        let scratch = try Scratch("cli")
        let good = try scratch.write("workspace.yaml", Self.policy)
        let bundle = scratch.path + "/w.rfb"
        let compiled = try runBinary(["compile", good, "-o", bundle])
        #expect(compiled.status == 0)
        var bytes = try scratch.read("w.rfb")
        bytes[bytes.count / 2] ^= 0xFF
        let corrupt = try scratch.write("corrupt.rfb", bytes)
        let run = try runBinary(["eval", "-b", corrupt], stdin: Self.allowedRequests)
        #expect(run.status == 2)
        #expect(run.stderr.contains("error[RF5005]"))
        #expect(run.stdout == "")
    }
}
