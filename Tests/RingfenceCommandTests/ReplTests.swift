import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import Testing

#if canImport(Glibc)
import Glibc
import RingfenceTestSupport
#elseif canImport(Darwin)
import Darwin
#endif

/// `ringfence repl` (SPEC §4, docs/repl.md): the `ReplSession` state machine line by line,
/// and scripted sessions through `RingfenceCLI.run` with the script on stdin.
@Suite struct ReplTests {
    /// A directory holding CLITests' three-rule `workspace` policy.
    static func policyDirectory() throws -> Scratch {
        let dir = try Scratch("repl")
        try Data(CLITests.policy.utf8).write(to: dir.url("workspace.yaml"))
        return dir
    }

    /// A session with the workspace policy loaded, and the folder it was loaded from (removed
    /// when the folder value goes away).
    static func loadedSession() throws -> (session: ReplSession, dir: Scratch) {
        let dir = try policyDirectory()
        var session = ReplSession()
        let loaded = session.handle(":load \(dir.path)")
        #expect(loaded == "loaded 1 file: 1 policy, 3 rules, 0 warnings\n")
        return (session, dir)
    }

    /// The decision line for an allowed `read-workspace` request.
    static let allowRead = #"{"decision":"allow","code":"allow","policy":"workspace","rule":"read-workspace","reason":"workspace files are readable","ring":2}"#

    /// What `:eval` prints for that request: the decision line, then every rule's explanation.
    static let allowReadExplained = allowRead + """

          ▶ workspace/read-workspace [allow, line 5] applied: the rule applies and its gates pass
            workspace/block-destructive-sql [deny, line 11] action_mismatch: action `fs.read` matches none of ["database.query"]
            workspace/query [allow, line 16] action_mismatch: action `fs.read` matches none of ["database.query"]

        """

    // MARK: building and deciding a request

    @Test func buildsARequestFieldByFieldAndDecidesIt() throws {
        let loaded = try Self.loadedSession()
        var session = loaded.session
        for line in ["agent.id = a1", "agent.trust = 0.7", "action = fs.read", "resource = /workspace/a.csv"] {
            #expect(session.handle(line) == "", "\(line)")
        }
        #expect(session.handle(":request") == #"{"action":"fs.read","agent":{"id":"a1","trust":0.7},"resource":"/workspace/a.csv"}"# + "\n")
        #expect(session.handle(":eval") == Self.allowReadExplained)
        #expect(session.handle("agent.trust = 0.2") == "")
        #expect(session.handle(":eval").hasPrefix(#"{"decision":"deny","code":"default""#))
    }

    @Test func setsNestedQuotedAndListFields() throws {
        var session = ReplSession()
        #expect(session.handle(#"params["a.b"] = "x y""#) == "")
        #expect(session.handle("params.n = 5") == "")
        #expect(session.handle("agent.attrs.team = data") == "")
        #expect(session.handle(#"agent.roles = ["analyst", "admin"]"#) == "")
        #expect(session.handle("agent.consensus = true") == "")
        #expect(session.handle("context.session = null") == "")
        #expect(session.handle(":request")
            == #"{"agent":{"attrs":{"team":"data"},"consensus":true,"roles":["analyst","admin"]},"context":{"session":null},"params":{"a.b":"x y","n":5}}"# + "\n")
        #expect(session.handle(":clear") == "")
        #expect(session.handle(":request") == "{}\n")
    }

    @Test func pastedJSONReplacesTheRequest() throws {
        let loaded = try Self.loadedSession()
        var session = loaded.session
        #expect(session.handle("params.x = 1") == "")
        #expect(session.handle(#"{"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/b.csv"}"#) == "")
        #expect(session.handle(":request") == #"{"action":"fs.read","agent":{"id":"a","trust":0.7},"resource":"/workspace/b.csv"}"# + "\n")
        #expect(session.handle(":eval") == Self.allowReadExplained)
        #expect(session.handle(#"{"agent": "#).hasPrefix("error[RF6001]: 1:"))
        #expect(session.handle(#"{"agent":{"id":"a"},"action":"x","extra":1}"#).hasPrefix("error[RF6006]: "))
        #expect(session.handle(":request") == #"{"action":"fs.read","agent":{"id":"a","trust":0.7},"resource":"/workspace/b.csv"}"# + "\n")
    }

    // MARK: errors and recovery

    @Test func mistypedCommandsGetOneLineWithASuggestionAndTheSessionContinues() throws {
        let loaded = try Self.loadedSession()
        var session = loaded.session
        #expect(session.handle(":evl") == "error: unknown command `:evl`; did you mean `:eval`?\n")
        #expect(session.handle(":polices") == "error: unknown command `:polices`; did you mean `:policies`?\n")
        #expect(session.handle(":zzzzzz") == "error: unknown command `:zzzzzz`; `:help` lists the commands\n")
        #expect(session.handle("eval") == "error: cannot read `eval`; did you mean `:eval`?\n")
        #expect(session.handle("agnt.trust = 0.7") == "error: `agnt.trust` is not a request field; did you mean `agent.trust`?\n")
        #expect(session.handle("agent.trsut = 0.7") == "error: `agent.trsut` is not a request field; did you mean `agent.trust`?\n")
        #expect(session.handle("params..x = 1") == "error: `params..x` is not a field path; write e.g. `params.query` or `params[\"a.b\"]`\n")
        #expect(session.handle("agent.trust == 0.7") == "error: `==` compares; set a field with `path = value` or test an expression with `:when EXPR`\n")
        #expect(session.handle("agent.trust = [1,") .hasPrefix("error: `[1,` is not a json value: "))
        #expect(session.handle(":eval") == "error[RF6003]: missing required field `agent`\n")
        // Values the request shape refuses leave the request unchanged.
        #expect(session.handle(#"agent.trust = "high""#).hasPrefix("error[RF6004]: "))
        #expect(session.handle("agent.trust = 2") == "error[RF6005]: `agent.trust` must be between 0 and 1, found `2`\n")
        #expect(session.handle(":request") == "{}\n")
        // After all of that the session still works.
        #expect(session.handle(#"{"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/a.csv"}"#) == "")
        #expect(session.handle(":eval") == Self.allowReadExplained)
        #expect(session.handle(":eval now") == "error: usage: `:eval`\n")
        #expect(!session.isFinished)
    }

    @Test func commandsNeedingPoliciesSaySo() {
        var session = ReplSession()
        for line in [":eval", ":rules", ":policies", ":bytecode x"] {
            #expect(session.handle(line) == "error: no policies are loaded; load some with `:load PATH…`\n", "\(line)")
        }
        #expect(session.handle(":reload") == "error: nothing to reload; load policies with `:load PATH…`\n")
        #expect(session.handle(":load") == "error: usage: `:load PATH…`\n")
    }

    @Test func failedLoadShowsDiagnosticsAndKeepsThePreviousPolicies() throws {
        var (session, dir) = try Self.loadedSession()
        let broken = dir.file("broken.yaml")
        try Data(CLITests.broken.utf8).write(to: URL(fileURLWithPath: broken))
        let output = session.handle(":load \(broken)")
        #expect(output.hasPrefix("\(broken):8:5: error[RF1004]: unknown key `reasn` in rule\n  |\n8 |     reasn: typo\n  |     ^^^^^"))
        #expect(output.hasSuffix("error: 1 error in the policies; the policies loaded before stay in force\n"))
        #expect(session.handle(#"{"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/a.csv"}"#) == "")
        #expect(session.handle(":eval") == Self.allowReadExplained)
        // `:reload` compiles the last paths again (still broken).
        #expect(session.handle(":reload").contains("error[RF1004]"))
        try FileManager.default.removeItem(atPath: broken)
        #expect(session.handle(":reload").contains("error[RF0001]"))
    }

    // MARK: listing and bytecode

    @Test func listsPoliciesAndRules() throws {
        var (session, dir) = try Self.loadedSession()
        let file = dir.file("workspace.yaml")
        #expect(session.handle(":policies") == "  workspace  \(file)  deny-overrides  3 rules\n")
        let rules = session.handle(":rules").split(separator: "\n").map(String.init)
        #expect(rules.count == 3)
        #expect(rules[0] == "  workspace/read-workspace         \(file):5:5   allow  -  -         \"workspace files are readable\"")
        #expect(rules[2].contains("workspace/query") && rules[2].contains(" 2/minute ") && rules[2].hasSuffix("\"queries are allowed\""))
    }

    @Test func bytecodeShowsOneRuleFromTheDisassembly() throws {
        let loaded = try Self.loadedSession()
        var session = loaded.session
        let output = session.handle(":bytecode block-destructive-sql")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("rule workspace/block-destructive-sql deny line 11") == true)
        #expect(lines.count > 2 && lines.dropFirst().allSatisfy { $0.hasPrefix("  ") })
        #expect(lines.contains { $0.contains("MRX") || $0.contains("X0") })
        #expect(session.handle(":bytecode workspace/query").hasPrefix("rule workspace/query allow line 16"))
        #expect(session.handle(":bytecode read-workspce") == "error: no rule `read-workspce` is loaded; did you mean `read-workspace`?\n")
        #expect(session.handle(":bytecode") == "error: usage: `:bytecode RULE`\n")
    }

    // MARK: :when

    @Test func whenEvaluatesAnExpressionAgainstTheRequest() throws {
        let loaded = try Self.loadedSession()
        var session = loaded.session
        #expect(session.handle(#"{"agent":{"id":"a","trust":0.7},"action":"database.query","params":{"query":"DROP TABLE x","n":5}}"#) == "")
        #expect(session.handle(#":when params.query =~ "(?i)\bdrop\b""#) == "true\n")
        #expect(session.handle(":when agent.trust > 0.9") == "false\n")
        #expect(session.handle(#":when params.query == 'it\'s' || action == "database.query""#) == "true\n")
        #expect(session.handle(":when has(params.missing)") == "false\n")
        let failure = session.handle(":when lower(params.n) == \"x\"")
        #expect(failure.hasPrefix("error: "), "\(failure)")
    }

    @Test func whenUsesPlaceholdersForAMissingAgentOrAction() {
        var session = ReplSession()
        #expect(session.handle(":when 1 < 2") == "true\nnote: the request has no `agent.id` or `action`; evaluated with the placeholder `repl`\n")
        #expect(session.handle("params.x = 3") == "")
        #expect(session.handle(":when params.x >= 3") == "true\nnote: the request has no `agent.id` or `action`; evaluated with the placeholder `repl`\n")
    }

    @Test func whenDiagnosticsPointIntoTheExpression() {
        var session = ReplSession()
        let output = session.handle(":when params.q == 'a' && nosuch.x")
        #expect(output.hasPrefix("<when>:1:20: error[RF3001]: "), "\(output)")
        #expect(output.contains("1 | params.q == 'a' && nosuch.x\n  |                    ^"))
        let typed = session.handle(#":when agent.trust == "high""#)
        #expect(typed.hasPrefix("<when>:1:"), "\(typed)")
        #expect(typed.contains("error[RF3005]"))
        #expect(session.handle(":when") == "error: usage: `:when EXPR`\n")
    }

    // MARK: help and quit

    @Test func helpListsEveryCommand() {
        var session = ReplSession()
        let help = session.handle(":help")
        for name in [":load", ":reload", ":policies", ":rules", ":request", ":clear", ":eval", ":bytecode", ":when", ":help", ":quit"] {
            #expect(help.contains("  \(name)"), "\(name)")
        }
        #expect(help.contains("agent.trust = 0.8"))
        #expect(session.handle("# a comment") == "")
        #expect(session.handle("   ") == "")
        #expect(session.handle(":quit") == "")
        #expect(session.isFinished)
    }

    @Test func randomLinesNeverCrashOrEndTheSession() throws {
        let loaded = try Self.loadedSession()
        var session = loaded.session
        let fragments = [":when", ":eval", ":load", ":bytecode", ":rules", ":request", ":clear", "agent", ".", "trust", "=", "==",
                         "params", "[\"", "\"]", "{", "}", "[", "]", "'", "\"", "\\", " ", "0.7", "-1", "1e999", "null", "true",
                         "&&", "||", "!", "=~", "(", ")", "len", "lower", "action", "fs.read", "\u{0}", "\t", "é", "#", ":", "/"]
        var random = SeededGenerator(seed: 0x5EED_4E91)
        for _ in 0..<3000 {
            var line = ""
            for _ in 0..<random.below(12) { line += fragments[random.below(fragments.count)] }
            if line.replacingOccurrences(of: " ", with: "").hasPrefix(":load") { continue }
            let output = session.handle(line)
            #expect(output.isEmpty || output.hasSuffix("\n"), "\(line)")
        }
        #expect(!session.isFinished)
        #expect(session.handle(#"{"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/a.csv"}"#) == "")
        #expect(session.handle(":eval").hasPrefix(Self.allowRead + "\n"))
    }

    // MARK: scripted sessions through the command line

    /// Makes sure fd 0 is not a terminal, so `repl` reads the injected stdin (as under CI).
    static let stdinIsNotATerminal: Bool = {
        if isatty(0) != 0 {
            let null = open("/dev/null", O_RDONLY)
            if null >= 0 {
                dup2(null, 0)
                close(null)
            }
        }
        return isatty(0) == 0
    }()

    @Test func scriptedSessionReadsStdinLineByLine() throws {
        #expect(Self.stdinIsNotATerminal)
        let dir = try Self.policyDirectory()
        let script = """
            agent.id = a1
            agent.trust = 0.7
            :evl
            action = fs.read
            resource = /workspace/a.csv
            :eval
            :quit
            :eval

            """
        let capture = CommandCapture(stdin: script)
        let status = RingfenceCLI.run(["repl", dir.path], io: capture.io)
        #expect(status == 0)
        #expect(capture.stderr == "")
        #expect(capture.stdout == """
            loaded 1 file: 1 policy, 3 rules, 0 warnings
            error: unknown command `:evl`; did you mean `:eval`?

            """ + Self.allowReadExplained)
    }

    @Test func scriptedSessionEndsAtEndOfInputWithoutPolicies() {
        #expect(Self.stdinIsNotATerminal)
        let capture = CommandCapture(stdin: ":polcies\n:when 2 > 1\n")
        #expect(RingfenceCLI.run(["repl"], io: capture.io) == 0)
        #expect(capture.stdout == """
            error: unknown command `:polcies`; did you mean `:policies`?
            true
            note: the request has no `agent.id` or `action`; evaluated with the placeholder `repl`

            """)
    }
}
