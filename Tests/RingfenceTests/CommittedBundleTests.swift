import Foundation
import Ringfence
import Testing

/// Bundles committed as fixtures for tests that link no compiler stay equal to a fresh compile
/// of their sources. With `RINGFENCE_RECORD=1` they are rewritten and the test fails, so a
/// recording is always reviewed.
@Suite struct CommittedBundleTests {
    static let bundles: [(fixture: String, sources: String)] = [
        ("Tests/RingfenceRuntimeTests/Fixtures/workspace.rfb", "policies/workspace.yaml"),
    ]

    @Test func committedBundlesMatchTheirSources() throws {
        for (fixture, sources) in Self.bundles {
            let root = CorpusSupport.repoRoot
            // Compiled under its repository-relative name, so the bundle is the same on every machine.
            let text = try String(contentsOf: root.appendingPathComponent(sources), encoding: .utf8)
            let compiled = Compiler.compile(sources: [(path: sources, text: text)])
            let fresh = Bundle.encode(try #require(compiled.program))
            let url = root.appendingPathComponent(fixture)
            if ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == "1" {
                try Data(fresh).write(to: url)
                Issue.record("recorded \(fixture); review it and rerun without RINGFENCE_RECORD")
            }
            let committed = Array(try Data(contentsOf: url))
            #expect(committed.count == fresh.count && committed == fresh,
                    "\(fixture) is stale (\(committed.count) vs \(fresh.count) bytes): rerun with RINGFENCE_RECORD=1 and review")
        }
    }
}
