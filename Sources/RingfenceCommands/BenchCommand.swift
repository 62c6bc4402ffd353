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
/// decisions. With `--threads N` (N > 1) the same batches then run on N threads sharing the one
/// engine, and the aggregate rate is reported against the single thread's. ordo-one/malloc-interposer was tried first and dropped: linked into the
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

    /// Threads sharing the engine for the scaling measurement.
    @Option(help: ArgumentHelp("Also run the batches on this many threads sharing one engine and report the scaling.", valueName: "n"))
    var threads = 1

    /// Requires exactly one of `-p` and `-b` and a sensible iteration count.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
        guard (21...1_000_000_000).contains(iterations) else { throw ValidationError("--iterations must be from 21 to 1000000000") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be from 1 to 64") }
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
        let prepared = engine.prepare(request)
        let result = Self.measure(engine, prepared, iterations: iterations)
        let shared = threads > 1 ? Self.measureShared(engine, request, iterations: iterations, threads: threads) : nil
        switch format {
        case .json:
            var fields = "\"ns_per_decision\": \(Self.decimal(result.nanoseconds)), \"decisions_per_second\": \(result.perSecond), " +
                "\"allocations_per_decision\": \(Self.decimal(result.allocations))"
            if let shared {
                fields += ", \"threads\": \(threads), \"threads_decisions_per_second\": \(shared.perSecond), " +
                    "\"threads_scaling\": \(Self.hundredths(shared.perSecond, over: result.perSecond))"
            }
            io.out("{\(fields)}\n")
        case .text:
            let d = result.decision
            var text = """
                \(Self.decimal(result.nanoseconds)) ns per decision (median of 21 batches), \(result.perSecond) decisions per second
                \(Self.decimal(result.allocations)) heap allocations per decision
                \(iterations) decisions after a warm-up of \(iterations / 10); each decided \(d.decision) (\(d.code.rawValue))\
                \(d.rule.map { " by \(d.policy ?? "")/\($0)" } ?? "")

                """
            if let shared {
                text += "\(threads) threads sharing the engine: \(shared.perSecond) decisions per second " +
                    "(\(Self.hundredths(shared.perSecond, over: result.perSecond))× one thread, median of 21 rounds)\n"
            }
            io.out(text)
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

    /// The shared-engine figures: aggregate decisions per second over `threads` threads.
    struct SharedMeasurement {
        /// Decisions per second, all threads together, at the median round.
        var perSecond: Int
    }

    /// Runs 21 rounds in which each of `threads` threads makes a batch of decisions on the one
    /// engine (the same batch size as `measure`), after a warm-up round; the median round's
    /// wall-clock time gives the aggregate rate. Each thread prepares its own copy of the
    /// request, as concurrent callers do.
    static func measureShared(_ engine: Engine, _ request: Request, iterations: Int, threads: Int) -> SharedMeasurement {
        let batch = max(1, iterations / 21)
        let round = { (count: Int) in
            Threads.run(threads) { _ in
                let prepared = engine.prepare(request)
                var sink = 0
                for _ in 0..<count where engine.evaluate(prepared).allowed { sink &+= 1 }
                if sink == Int.min { print(sink) }  // keeps the loop observable to the optimiser
            }
        }
        round(max(1, batch / 10))
        var seconds: [Double] = []
        for _ in 0..<21 {
            let start = now()
            round(batch)
            seconds.append(Double(now() - start) / 1e9)
        }
        seconds.sort()
        let median = seconds[10]
        return SharedMeasurement(perSecond: median > 0 ? Int(Double(batch * threads) / median) : 0)
    }

    /// `a / b` to two decimal places, as text.
    static func hundredths(_ a: Int, over b: Int) -> String {
        guard b > 0 else { return "0" }
        let h = (Double(a) / Double(b) * 100).rounded() / 100
        var text = String(h)
        if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) == 2 { text += "0" }
        return text
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
