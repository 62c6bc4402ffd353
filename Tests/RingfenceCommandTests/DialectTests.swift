import Foundation
import RingfenceCLITestSupport
import RingfenceCommands
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing

/// Seed dialects (SPEC §6) through the command line: the corpus through `ringfence eval`, the
/// seeds' example files through `check`, and `check --dialect` (the compiler's `DialectTests`
/// decide the corpus and pin the error fixtures).
@Suite struct DialectTests {
    /// `ringfence eval -p seed.yaml -i requests.jsonl` prints the expected decisions.
    @Test(arguments: try DialectCorpus.files())
    func cliEvalDecidesAsExpected(_ name: String) throws {
        let corpus = try DialectCorpus.load(name)
        let dir = try Scratch("dialects")
        let policy = try dir.write(corpus.policyFile, corpus.policy)
        EvalCorpus.checkThroughCLI(name, cases: corpus.cases, policyPaths: [policy], in: dir)
    }

    /// Every seed example checks with no errors and no warnings, and `check` names its dialect.
    @Test(arguments: try Fixtures.names(in: "dialects/seeds"))
    func seedExampleChecksCleanAndIsNamed(_ name: String) throws {
        let path = Fixtures.url("dialects/seeds").appendingPathComponent(name).path
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["check", path], io: capture.io)
        #expect(status == 0, "\(name): \(capture.stderr)")
        #expect(capture.stderr.isEmpty, "\(name): \(capture.stderr)")
        let dialect = name.contains("rules") ? "rule document" : "capability allow-list"
        #expect(capture.stdout.contains("\(path): \(dialect) (seed dialect)\n"), "\(name): \(capture.stdout)")
        #expect(capture.stdout.contains("0 errors, 0 warnings"), "\(name): \(capture.stdout)")
    }

    /// `check --dialect` forces every file; `--dialect native` refuses seed files.
    @Test func checkDialectOption() throws {
        let dir = try Scratch("dialect-option")
        let file = dir.url("caps.yaml")
        try "capabilities:\n  - action: fs.read\n".write(to: file, atomically: true, encoding: .utf8)
        let native = CommandCapture()
        #expect(RingfenceCLI.run(["check", "--dialect", "native", file.path], io: native.io) == 1)
        #expect(native.stderr.contains("error[RF1001]"))
        let forced = CommandCapture()
        #expect(RingfenceCLI.run(["check", "--dialect", "rule-document", file.path], io: forced.io) == 1)
        #expect(forced.stderr.contains("error[RF1005]") && forced.stderr.contains("warning[RF1020]"), "\(forced.stderr)")
        let shape = CommandCapture()
        #expect(RingfenceCLI.run(["check", "--dialect", "capabilities", file.path], io: shape.io) == 0)
        #expect(shape.stdout.hasPrefix("\(file.path): capability allow-list (seed dialect)\n"), "\(shape.stdout)")
        let bad = CommandCapture()
        #expect(RingfenceCLI.run(["check", "--dialect", "cedar", file.path], io: bad.io) == 2)
    }
}
