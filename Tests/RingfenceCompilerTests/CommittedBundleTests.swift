import Foundation
import Ringfence
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing

/// Bundles committed as fixtures for tests that link no compiler stay equal to a fresh compile
/// of their sources: the runtime's `workspace.rfb` and one bundle per evaluation corpus file
/// (decided by the VM's `EvalBundleTests`). With `RINGFENCE_RECORD=1` they are rewritten and the
/// test fails, so a recording is always reviewed.
@Suite struct CommittedBundleTests {
    /// True when the run should rewrite the committed bundles.
    static var recording: Bool { ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == "1" }

    /// Bundles of repository files: the fixture and the policy sources it is compiled from.
    static let bundles: [(fixture: String, sources: String)] = [
        ("Tests/RingfenceRuntimeTests/Fixtures/workspace.rfb", "policies/workspace.yaml"),
    ]

    /// Compares `fresh` with the committed bundle at `url` (`name` in messages), or records it.
    static func check(_ fresh: [UInt8], at url: URL, _ name: String) throws {
        if recording {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(fresh).write(to: url)
            Issue.record("recorded \(name); review it and rerun without RINGFENCE_RECORD")
        }
        guard let data = try? Data(contentsOf: url) else {
            Issue.record("\(name) is missing: rerun with RINGFENCE_RECORD=1 and review")
            return
        }
        let committed = Array(data)
        #expect(committed.count == fresh.count && committed == fresh,
                "\(name) is stale (\(committed.count) vs \(fresh.count) bytes): rerun with RINGFENCE_RECORD=1 and review")
    }

    @Test func committedBundlesMatchTheirSources() throws {
        for (fixture, sources) in Self.bundles {
            // Compiled under its repository-relative name, so the bundle is the same on every machine.
            let compiled = Compiler.compile(sources: [(path: sources, text: try Repository.text(sources))])
            try Self.check(Bundle.encode(try #require(compiled.program)), at: Repository.url(fixture), fixture)
        }
    }

    /// Each evaluation corpus file's bundle equals a fresh compile of its policies.
    @Test(arguments: try EvalCorpus.files())
    func committedEvalBundleMatchesTheCorpus(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let compiled = Compiler.compile(sources: corpus.sources)
        let program = try #require(compiled.program, "\(name): the policies do not compile: \(compiled.diagnostics)")
        let url = corpus.bundle
        try Self.check(Bundle.encode(program), at: url, "Tests/Fixtures/bundles/eval/\(url.lastPathComponent)")
    }
}
