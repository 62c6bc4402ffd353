import Foundation
import Ringfence
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing

extension EvalCorpus {
    /// Compiles the policies (named `<file>#1`, `<file>#2`, …) into a fresh engine on `clock`.
    func engine(clock: TestClock<Double>) throws -> Engine {
        let result = Compiler.compile(sources: sources)
        guard let program = result.program else {
            throw CorpusError("\(file): policies do not compile:\n" + DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
        }
        return try Engine(program: program, warnings: result.diagnostics, clock: clock.closure)
    }
}

/// Runs the evaluation corpus through an engine compiled from its sources and through a bundle
/// round trip, and checks every case's decision, code and rule (the commands' `EvalCorpusTests`
/// run it through `ringfence eval`, the VM's `EvalBundleTests` from the committed bundles).
@Suite struct EvalCorpusTests {
    /// At least 100 cases, unique names, and every clause of SPEC §3.1–§3.4 covered.
    @Test func theCorpusIsLargeEnoughAndCoversEveryClause() throws {
        let files = try EvalCorpus.files()
        #expect(files.count >= 12)
        var total = 0
        var clauses: Set<String> = []
        for name in files {
            let corpus = try EvalCorpus.load(name)
            total += corpus.cases.count
            clauses.insert(corpus.clause)
            let names = corpus.cases.map(\.name)
            #expect(Set(names).count == names.count, "\(name): case names must be unique")
        }
        #expect(total >= 100, "only \(total) evaluation cases")
        for clause in ["§3.1", "§3.2", "§3.3", "§3.4"] {
            #expect(clauses.contains { $0.contains(clause) }, "no corpus file covers SPEC \(clause)")
        }
    }

    /// (a) The engine compiled from the sources decides every case as expected.
    @Test(arguments: try EvalCorpus.files())
    func engineDecidesAsExpected(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let clock = corpus.startClock()
        let engine = try corpus.engine(clock: clock)
        for c in corpus.cases {
            if let t = c.clock { clock.now = t }
            let decision = engine.evaluate(c.request)
            let problems = EvalCorpus.mismatches(decision.corpusFields, c.expect)
            #expect(problems.isEmpty, "\(name): \(c.name): \(problems.joined(separator: "; ")) — got \(decision.jsonLine)")
        }
    }

    /// (b) An engine loaded from the bundle decides every case exactly like one built from the sources.
    @Test(arguments: try EvalCorpus.files())
    func bundleDecidesExactlyLikeItsSources(_ name: String) throws {
        let corpus = try EvalCorpus.load(name)
        let sourceClock = corpus.startClock(), bundleClock = corpus.startClock()
        let fromSources = try corpus.engine(clock: sourceClock)
        let bytes = fromSources.bundle()
        let fromBundle = try Engine(bundle: bytes, clock: bundleClock.closure)
        #expect(fromBundle.program == fromSources.program, "\(name): the bundle's program differs from the compiled one")
        #expect(fromBundle.bundle() == bytes, "\(name): re-encoding a loaded bundle changes its bytes")
        for c in corpus.cases {
            if let t = c.clock {
                sourceClock.now = t
                bundleClock.now = t
            }
            let expected = fromSources.evaluate(c.request)
            let actual = fromBundle.evaluate(c.request)
            #expect(actual == expected, "\(name): \(c.name): bundle gave \(actual.jsonLine), sources gave \(expected.jsonLine)")
        }
    }

    /// docs/language.md: the library's default time source is the clock alone, so a request
    /// cannot pick its own rate-limit window through `context.time`.
    @Test func libraryRateLimitsIgnoreContextTimeByDefault() throws {
        let policy = """
        ringfence: 1
        kind: policy
        name: p
        rules:
          - id: once
            effect: allow
            action: x
            limit: 1/hour
        """
        let engine = try Engine(source: policy, clock: { 1_080_000 })
        func request(_ seconds: Int) -> Request {
            Request(agent: Agent(id: "a"), action: "x", context: ["time": .string(TestTime.rfc3339(seconds))])
        }
        #expect(engine.evaluate(request(1_080_000)).code == .allow)
        // A different hour in context.time must not open a new window: the clock still says the same hour.
        #expect(engine.evaluate(request(1_090_000)).code == .rateLimit)
        let replay = try Engine(source: policy, timeSource: .requestTimeOrClock, clock: { 1_080_000 })
        #expect(replay.evaluate(request(1_080_000)).code == .allow)
        #expect(replay.evaluate(request(1_080_001)).code == .rateLimit)
        #expect(replay.evaluate(request(1_090_000)).code == .allow)
    }
}
