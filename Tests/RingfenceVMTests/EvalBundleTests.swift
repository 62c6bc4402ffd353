import Foundation
import RingfenceCorpusSupport
import RingfenceRuntime
import RingfenceTestSupport
import RingfenceWire
import Testing

/// The evaluation corpus decided from the bundles compiled from it and committed
/// (`Tests/Fixtures/bundles/eval/`), by a target that links no compiler: what a deployment that
/// ships bundles decides. The compiler's `CommittedBundleTests` keep the bundles equal to a fresh
/// compile of the corpus.
@Suite struct EvalBundleTests {
    /// Every corpus file has its committed bundle, and every committed bundle its corpus file.
    @Test func everyCorpusFileHasItsBundle() throws {
        let files = try EvalCorpus.files()
        let bundles = try Fixtures.names(in: "bundles/eval", suffixes: [".rfb"])
        #expect(bundles == files.map { EvalCorpus.bundle(for: $0).lastPathComponent },
                "the committed bundles do not match Tests/Fixtures/eval: run the compiler's CommittedBundleTests with RINGFENCE_RECORD=1")
    }

    /// An engine loaded from the committed bundle decides every case as the corpus expects.
    @Test(arguments: try EvalCorpus.files())
    func committedBundleDecidesAsExpected(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let clock = corpus.startClock()
        let engine = try Engine(bundle: Array(try Data(contentsOf: corpus.bundle)), clock: clock.closure)
        #expect(engine.program.policies.map(\.file) == corpus.sources.map(\.path), "\(name): the bundle holds other policy files")
        for c in corpus.cases {
            if let t = c.clock { clock.now = t }
            let decision = engine.evaluate(c.request)
            let problems = EvalCorpus.mismatches(decision.corpusFields, c.expect)
            #expect(problems.isEmpty, "\(name): \(c.name): \(problems.joined(separator: "; ")) — got \(decision.jsonLine)")
        }
    }
}
