import ArgumentParser
import CAllocationCounter
import Ringfence

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ringfence bench (-p PATH… | -b BUNDLE) -i REQUEST [--iterations N] [--format text|json]`:
/// times in-process decisions on one request (SPEC §4.3).
///
/// The request is decoded once, as an embedding application does, and then decided
/// `--iterations` times after a warm-up of a tenth as many, in 21 equal batches; the figure is
/// the median batch's nanoseconds per decision. Heap allocations (calls to malloc, calloc and
/// realloc) are counted by the `CAllocationCounter` target over a separate run of 10,000
/// decisions. ordo-one/malloc-interposer was tried first and dropped: linked into the
/// executable, its 16-byte block headers corrupted the heap (see docs/performance.md). Rate limits use a clock
/// fixed for the run, so a limited rule stops allowing once its window is used up.
struct BenchCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time in-process decisions for one request.",
        discussion: "Prints the median nanoseconds per decision, decisions per second and heap allocations per decision.")

    /// Policy files or directories to compile.
    @Option(name: [.customShort("p"), .customLong("policy")], parsing: .upToNextOption,
            help: ArgumentHelp("Policy files or directories (repeatable).", valueName: "path"))
    var policies: [String] = []

    /// A compiled bundle.
    @Option(name: [.customShort("b"), .customLong("bundle")], help: ArgumentHelp("A bundle written by `compile`.", valueName: "bundle"))
    var bundle: String?

    /// The request file.
    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("A file holding one JSON request.", valueName: "file"))
    var input: String

    /// How many timed decisions.
    @Option(help: ArgumentHelp("Timed decisions (the warm-up runs a tenth as many).", valueName: "n"))
    var iterations = 1_000_000

    /// Output format.
    @Option(help: ArgumentHelp("Output format: text or json.", valueName: "format"))
    var format: BenchFormat = .text

    /// Requires exactly one of `-p` and `-b` and a sensible iteration count.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
        guard (21...1_000_000_000).contains(iterations) else { throw ValidationError("--iterations must be from 21 to 1000000000") }
    }

    /// Loads, warms up, times and reports.
    func execute(_ io: CommandIO) -> Int32 {
        let engine: Engine
        switch EngineLoader.load(policies: policies, bundle: bundle, timeSource: .clock, clock: { 1_000_000 }, io: io) {
        case .success(let built): engine = built
        case .failure(let status): return status.code
        }
        let request: Request
        switch FileAccess.read(input) {
        case .failure(let failure):
            io.err(Diagnostic(.fileUnreadable, CLIMessages.cannotRead(failure.path, reason: failure.reason),
                              at: SourceLocation(file: input, line: 1, column: 1)).description + "\n")
            return 2
        case .success(let bytes):
            do {
                request = try bytes.withUnsafeBufferPointer { buffer throws(RequestError) in try Request(jsonBytes: buffer) }
            } catch {
                io.err(error.diagnostic(file: input).description + "\n")
                return 2
            }
        }
        let result = Self.measure(engine, engine.prepare(request), iterations: iterations)
        switch format {
        case .json:
            io.out("{\"ns_per_decision\": \(Self.decimal(result.nanoseconds)), \"decisions_per_second\": \(result.perSecond), " +
                   "\"allocations_per_decision\": \(Self.decimal(result.allocations))}\n")
        case .text:
            let d = result.decision
            io.out("""
                \(Self.decimal(result.nanoseconds)) ns per decision (median of 21 batches), \(result.perSecond) decisions per second
                \(Self.decimal(result.allocations)) heap allocations per decision
                \(iterations) decisions after a warm-up of \(iterations / 10); each decided \(d.decision) (\(d.code.rawValue))\
                \(d.rule.map { " by \(d.policy ?? "")/\($0)" } ?? "")

                """)
        }
        return 0
    }

    /// The measured figures.
    struct Measurement {
        /// Median nanoseconds per decision.
        var nanoseconds: Double
        /// Decisions per second at that median.
        var perSecond: Int
        /// Heap allocations per decision.
        var allocations: Double
        /// The decision made.
        var decision: Decision
    }

    /// Warms up, times 21 batches and counts allocations.
    static func measure(_ engine: Engine, _ prepared: PreparedRequest, iterations: Int) -> Measurement {
        var sink = 0
        for _ in 0..<max(1, iterations / 10) where engine.evaluate(prepared).allowed { sink &+= 1 }
        let batch = max(1, iterations / 21)
        var perDecision: [Double] = []
        for _ in 0..<21 {
            let start = now()
            for _ in 0..<batch where engine.evaluate(prepared).allowed { sink &+= 1 }
            perDecision.append(Double(now() - start) / Double(batch))
        }
        perDecision.sort()
        let median = perDecision[10]
        let counted = 10_000
        rf_allocation_counter_start()
        for _ in 0..<counted where engine.evaluate(prepared).allowed { sink &+= 1 }
        let mallocs = Int(rf_allocation_counter_stop())
        let decision = engine.evaluate(prepared)
        if sink == Int.min { print(sink) }  // keeps the loops observable to the optimiser
        return Measurement(nanoseconds: median, perSecond: median > 0 ? Int(1e9 / median) : 0,
                           allocations: Double(mallocs) / Double(counted), decision: decision)
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// One decimal place, without a trailing `.0` for whole numbers.
    static func decimal(_ x: Double) -> String {
        let rounded = (x * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

/// `bench` output formats.
enum BenchFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
