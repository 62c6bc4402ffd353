import Foundation
import Testing
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import RingfenceTestSupport

/// `ringfence ops` beyond the corpus: exit statuses, bundles, stdin, signed checkpoints and the
/// store locator.
@Suite struct OpsCommandTests {
    /// The corpus's standard policies.
    static let policies = Fixtures.url("ops/standard/policies").path

    /// Runs `ringfence` in-process.
    static func run(_ arguments: [String], stdin: String = "") -> CommandRun {
        // The default store is sqlite:.ringfence/state.db (SPEC §12): tests keep state in memory.
        let state = arguments.first == "ops" && arguments.count > 1 && !arguments.contains("--state") ? ["--state", "memory:"] : []
        return ringfence(arguments + state, stdin: stdin)
    }

    static let script = """
        {"op":"session.create","at":"2026-11-21T10:00:00Z","session":"s1"}
        {"op":"session.join","session":"s1","agent":"a1","trust":0.7}

        {"op":"session.activate","session":"s1"}
        {"op":"decide","session":"s1","request":{"agent":{"id":"a1"},"action":"fs.write","resource":"/workspace/a"}}
        """

    @Test func readsStdinAndSkipsBlankLines() {
        let run = Self.run(["ops", "-p", Self.policies, "--seed", "1"], stdin: Self.script)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.last?.hasPrefix(#"{"op":"decide","ok":true,"result":{"decision":"allow","code":"allow""#) == true)
    }

    @Test func aFailedOperationExitsOne() {
        let run = Self.run(["ops", "-p", Self.policies], stdin: Self.script + "\n{\"op\":\"session.get\",\"session\":\"nope\"}\n")
        #expect(run.status == 1)
        #expect(run.stdout.hasSuffix("\"code\":\"session_not_found\",\"message\":\"no session `nope`\"}}\n"))
        #expect(run.stderr.isEmpty)
    }

    @Test func aLineThatIsNotJSONIsAFailedOperation() {
        let run = Self.run(["ops", "-p", Self.policies], stdin: "{\"op\":\"audit.checkpoint\",\"at\":\"2026-11-21T10:00:00Z\"}\nnot json\n")
        #expect(run.status == 1)
        #expect(run.stdout.split(separator: "\n").last?.hasPrefix(#"{"op":null,"ok":false,"error":{"code":"invalid_json""#) == true)
    }

    @Test(arguments: [
        (["ops"], ""),
        (["ops", "-p", policies, "-b", "x.rfb"], "{}"),
        (["ops", "-p", policies, "--state", "nonsense://x"], "{}"),
        (["ops", "-p", policies], ""),
        (["ops", "-p", policies, "-i", "/nonexistent/ops.jsonl"], ""),
        (["ops", "-p", policies, "--seed", "-1"], "{}"),
        (["ops", "-p", policies, "--audit-key", "/nonexistent/key"], "{}"),
    ])
    func usageAndUnreadableInputExitTwo(_ arguments: [String], _ stdin: String) {
        let run = Self.run(arguments, stdin: stdin)
        #expect(run.status == 2)
        #expect(!run.stderr.isEmpty)
        #expect(run.stdout.isEmpty)
    }

    @Test func runsFromABundle() throws {
        let dir = try Scratch("ops-bundle")
        let bundle = dir.url("p.rfb").path
        #expect(Self.run(["compile", Self.policies, "-o", bundle]).status == 0)
        let fromBundle = Self.run(["ops", "-b", bundle, "--seed", "1"], stdin: Self.script)
        let fromSources = Self.run(["ops", "-p", Self.policies, "--seed", "1"], stdin: Self.script)
        #expect(fromBundle.status == 0 && fromBundle.stdout == fromSources.stdout)
    }

    @Test func signsCheckpointsWithTheAuditKey() throws {
        let dir = try Scratch("ops-key")
        let keyFile = dir.url("audit.key").path
        let generated = Self.run(["key", "generate", "ringfence.test/audit", "-o", keyFile])
        #expect(generated.status == 0)
        let run = Self.run(["ops", "-p", Self.policies, "--audit-key", keyFile],
                           stdin: Self.script + "\n{\"op\":\"audit.checkpoint\"}\n")
        #expect(run.status == 0, "\(run.stderr)")
        guard let last = run.stdout.split(separator: "\n").last,
              case .object(let line) = try JSONParser.parse(String(last)), case .object(let result)? = line["result"],
              case .string(let note)? = result["note"] else {
            Issue.record("no checkpoint note in \(run.stdout)")
            return
        }
        #expect(note.hasPrefix("ringfence.local/audit\n4\n"))
        #expect(note.contains("\n\n— ringfence.test/audit "))
    }
}
