import Foundation
import Testing
import Ringfence
import RingfenceCommands
import RingfenceCorpusSupport
import RingfenceTestSupport

/// One script of the operations corpus: `Tests/Fixtures/ops/<setup>/<name>.jsonl` (operations, one a
/// line; the first carries `at`) with `<name>.expected.jsonl` beside it (the result lines), run
/// against the policies in `Tests/Fixtures/ops/<setup>/policies/` with ids from seed 1.
struct OpsScript: Sendable, CustomStringConvertible {
    /// The folder under `Tests/Fixtures/ops`, which holds the policies.
    var setup: String
    /// The script's name, without `.jsonl`.
    var name: String

    /// `setup/name`.
    var description: String { "\(setup)/\(name)" }
    /// The script.
    var script: URL { Fixtures.url("ops").appendingPathComponent(setup).appendingPathComponent(name + ".jsonl") }
    /// The expected result lines.
    var expected: URL { Fixtures.url("ops").appendingPathComponent(setup).appendingPathComponent(name + ".expected.jsonl") }
    /// The policies folder.
    var policies: URL { Fixtures.url("ops").appendingPathComponent(setup).appendingPathComponent("policies") }

    /// The seed every script's ids come from.
    static let seed: UInt64 = 1

    /// Every script of every setup, in name order. Each setup folder may hold only `policies/`
    /// and pairs of `<name>.jsonl` and `<name>.expected.jsonl`: any other file, a script without
    /// expected lines or expected lines without a script is an error, never a script skipped.
    static func all() throws -> [OpsScript] {
        try Fixtures.folders(in: "ops").flatMap { setup -> [OpsScript] in
            let folder = "ops/\(setup)"
            let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url(folder).path).filter { !$0.hasPrefix(".") }
            let expected = Set(files.filter { $0.hasSuffix(".expected.jsonl") }.map { String($0.dropLast(".expected.jsonl".count)) })
            let scripts = Set(files.filter { $0.hasSuffix(".jsonl") && !$0.hasSuffix(".expected.jsonl") }.map { String($0.dropLast(".jsonl".count)) })
            guard files.contains("policies") else { throw CorpusError("Tests/Fixtures/\(folder) has no `policies` folder") }
            for file in files where file != "policies" && !file.hasSuffix(".jsonl") {
                throw CorpusError("Tests/Fixtures/\(folder)/\(file) is neither a script (`.jsonl`) nor expected lines (`.expected.jsonl`)")
            }
            if let orphan = expected.subtracting(scripts).sorted().first {
                throw CorpusError("Tests/Fixtures/\(folder)/\(orphan).expected.jsonl has no script `\(orphan).jsonl`")
            }
            if let missing = scripts.subtracting(expected).sorted().first {
                throw CorpusError("Tests/Fixtures/\(folder)/\(missing).jsonl has no expected lines `\(missing).expected.jsonl`")
            }
            guard !scripts.isEmpty else { throw CorpusError("Tests/Fixtures/\(folder) holds no script") }
            return scripts.sorted().map { OpsScript(setup: setup, name: $0) }
        }
    }

    /// The script's non-blank lines.
    func lines() throws -> [String] {
        try Fixtures.text(script).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            .filter { !$0.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }
    }

    /// The expected output, or a recorded one when `RINGFENCE_RECORD` is set (which fails the run).
    func check(_ output: String) throws {
        if ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] != nil {
            try output.write(to: expected, atomically: true, encoding: .utf8)
            Issue.record("recorded \(description); review the expected lines and rerun without RINGFENCE_RECORD")
            return
        }
        let want = try Fixtures.text(expected)
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
        let all = try OpsScript.all()
        #expect(all.count >= 80, "found \(all.count) ops scripts")
        for script in all {
            let first = try script.lines().first ?? ""
            #expect(first.contains("\"at\""), "\(script): the first operation must carry `at`, so the run does not read the wall clock")
        }
    }

    @Test(arguments: try OpsScript.all())
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

    @Test(arguments: try OpsScript.all())
    func throughTheCommandLine(_ script: OpsScript) throws {
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["ops", "-p", script.policies.path, "-i", script.script.path, "--seed", String(OpsScript.seed),
                                       "--state", "memory:"],
                                      io: capture.io)
        #expect(capture.stderr.isEmpty, "\(script): \(capture.stderr)")
        guard ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == nil else { return }
        let expected = try Fixtures.text(script.expected)
        #expect(capture.stdout == expected, "\(script): `ringfence ops` printed other lines than the library")
        #expect(status == (expected.contains("\"ok\":false") ? 1 : 0))
    }
}
