import Foundation
import RingfenceCLITestSupport
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing

/// The evaluation corpus through `ringfence eval` in-process (the compiler's `EvalCorpusTests`
/// decide it from the sources and a bundle round trip, the VM's `EvalBundleTests` from the
/// committed bundles).
@Suite struct EvalCorpusTests {
    /// (c) `ringfence eval -p … -i requests.jsonl`, run in-process, prints the expected decisions.
    @Test(arguments: try EvalCorpus.files())
    func cliEvalDecidesAsExpected(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let dir = try Scratch("eval")
        var paths: [String] = []
        for (i, text) in corpus.policies.enumerated() {
            paths.append(try dir.write("policy-\(i + 1).yaml", text))
        }
        EvalCorpus.checkThroughCLI(name, cases: corpus.cases, policyPaths: paths, in: dir)
    }
}
