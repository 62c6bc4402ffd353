import Foundation
import Testing
import Ringfence
import RingfenceCommands

/// One script of the operations corpus: `Fixtures/ops/<setup>/<name>.jsonl` (operations, one a
/// line; the first carries `at`) with `<name>.expected.jsonl` beside it (the result lines), run
/// against the policies in `Fixtures/ops/<setup>/policies/` with ids from seed 1.
struct OpsScript: Sendable, CustomStringConvertible {
    /// The folder under `Fixtures/ops`, which holds the policies.
    var setup: String
    /// The script's name, without `.jsonl`.
    var name: String

    /// `setup/name`.
    var description: String { "\(setup)/\(name)" }
    /// The script.
    var script: URL { CorpusSupport.fixtures("ops").appendingPathComponent(setup).appendingPathComponent(name + ".jsonl") }
    /// The expected result lines.
    var expected: URL { CorpusSupport.fixtures("ops").appendingPathComponent(setup).appendingPathComponent(name + ".expected.jsonl") }
    /// The policies folder.
    var policies: URL { CorpusSupport.fixtures("ops").appendingPathComponent(setup).appendingPathComponent("policies") }

    /// The seed every script's ids come from.
    static let seed: UInt64 = 1

    /// Every script of every setup, in name order.
    static let all: [OpsScript] = CorpusSupport.fixtureFolders(in: "ops").flatMap { setup in
        CorpusSupport.fixtureNames(in: "ops/\(setup)", suffixes: [".jsonl"]).filter { !$0.hasSuffix(".expected.jsonl") }.map {
            OpsScript(setup: setup, name: String($0.dropLast(".jsonl".count)))
        }
    }

    /// The script's non-blank lines.
    func lines() throws -> [String] {
        try CorpusSupport.read(script).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            .filter { !$0.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }
    }

    /// The expected output, or a recorded one when `RINGFENCE_RECORD` is set (which fails the run).
    func check(_ output: String) throws {
        if ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] != nil {
            try output.write(to: expected, atomically: true, encoding: .utf8)
            Issue.record("recorded \(description); review the expected lines and rerun without RINGFENCE_RECORD")
            return
        }
        let want = try CorpusSupport.read(expected)
        let got = output.split(separator: "\n", omittingEmptySubsequences: false)
        let lines = want.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, (g, w)) in zip(got, lines).enumerated() where g != w {
            Issue.record("\(description): result line \(i + 1) differs\n  expected: \(w)\n  got:      \(g)")
            return
        }
        #expect(got.count == lines.count, "\(description): \(got.count - 1) result lines, expected \(lines.count - 1)")
    }
}

/// The operations corpus run through the library's dispatcher and through `ringfence ops`
/// in-process: the same result lines both ways, and an intact audit log after every script.
@Suite struct OpsCorpusTests {
    /// The corpus is there: a missing or emptied folder fails instead of passing vacuously.
    @Test func corpusIsPresent() throws {
        #expect(OpsScript.all.count >= 80, "found \(OpsScript.all.count) ops scripts")
        for script in OpsScript.all {
            #expect(FileManager.default.fileExists(atPath: script.expected.path), "\(script) has no expected lines")
            let first = try script.lines().first ?? ""
            #expect(first.contains("\"at\""), "\(script): the first operation must carry `at`, so the run does not read the wall clock")
        }
    }

    @Test(arguments: OpsScript.all)
    func throughTheLibrary(_ script: OpsScript) throws {
        let engine = try Engine(paths: [script.policies.path])
        let store = MemoryStore()
        let runtime = try Runtime(engine: engine, store: store, clock: { 946_684_800_000_000 }, ids: .seeded(OpsScript.seed))
        let dispatcher = OperationDispatcher(runtime)
        var output = ""
        for line in try script.lines() {
            output += dispatcher.dispatch(line: line).line + "\n"
        }
        runtime.close()
        try script.check(output)
        let report = AuditVerification.verify(store, keys: [])
        #expect(report.intact, "\(script): the audit log does not verify: \(String(describing: report.failure))")
    }

    @Test(arguments: OpsScript.all)
    func throughTheCommandLine(_ script: OpsScript) throws {
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["ops", "-p", script.policies.path, "-i", script.script.path, "--seed", String(OpsScript.seed),
                                       "--state", "memory:"],
                                      io: capture.io)
        #expect(capture.stderr.isEmpty, "\(script): \(capture.stderr)")
        guard ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == nil else { return }
        let expected = try CorpusSupport.read(script.expected)
        #expect(capture.stdout == expected, "\(script): `ringfence ops` printed other lines than the library")
        #expect(status == (expected.contains("\"ok\":false") ? 1 : 0))
    }
}
