@_exported import RingfenceAudit
@_exported import RingfenceBytecode
@_exported import RingfenceDiagnostics
@_exported import RingfenceVM
@_exported import RingfenceWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A compiled set of policies ready to decide requests: the embedding API.
///
/// An engine is immutable apart from its rate-limit counters and is shared freely between
/// threads; deciding takes no lock unless the deciding rule declares a `limit`.
///
/// ```swift
/// let engine = try Engine(source: policyYAML)
/// let decision = engine.evaluate(Request(agent: Agent(id: "a", trust: 0.7), action: "fs.read", resource: "/workspace/a.csv"))
/// ```
public final class Engine: Sendable {
    /// The compiled program.
    public let program: Program
    /// The ready-to-run machine.
    public let machine: Machine
    /// Warnings found while compiling (errors prevent an engine from being built).
    public let warnings: [Diagnostic]
    private let limiter = RateLimiter()
    private let clock: @Sendable () -> Double
    private let timeSource: TimeSource

    /// Where rate limits take the time from.
    public enum TimeSource: Sendable {
        /// The engine's clock only (the default for embedding: a request cannot pick its window).
        case clock
        /// The request's `context.time` when it carries a valid RFC 3339 time, else the clock
        /// (what `ringfence eval` uses, so replayed logs are limited by their own timestamps).
        case requestTimeOrClock
    }

    /// The system clock, in seconds since 1970.
    public static let systemClock: @Sendable () -> Double = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Creates an engine around a ready machine; nothing is verified or compiled.
    public init(machine: Machine, warnings: [Diagnostic] = [], timeSource: TimeSource = .clock,
                clock: @escaping @Sendable () -> Double = Engine.systemClock) {
        self.machine = machine
        self.program = machine.program
        self.warnings = warnings
        self.timeSource = timeSource
        self.clock = clock
    }

    /// Creates an engine from a compiled program, verifying it and compiling its patterns.
    public convenience init(program: Program, warnings: [Diagnostic] = [], timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        let machine: Machine
        do {
            machine = try Machine(program: program)
        } catch {
            throw .load(error.message)
        }
        self.init(machine: machine, warnings: warnings, timeSource: timeSource, clock: clock)
    }

    /// Creates an engine from a verified program (a decoded bundle's), compiling its patterns
    /// once and verifying nothing again.
    public convenience init(verified: VerifiedProgram, timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        let machine: Machine
        do {
            machine = try Machine(verified: verified)
        } catch {
            throw .load(error.message)
        }
        self.init(machine: machine, timeSource: timeSource, clock: clock)
    }

    /// Loads a bundle's bytes (SPEC §4.2), refusing anything truncated, corrupted or foreign;
    /// the program is verified once, while decoding.
    public convenience init(bundle bytes: [UInt8], timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        let verified: VerifiedProgram
        do {
            verified = try Bundle.decode(bytes).program
        } catch {
            throw .bundle(error)
        }
        try self.init(verified: verified, timeSource: timeSource, clock: clock)
    }

    /// The program serialised as a bundle.
    public func bundle() -> [UInt8] { Bundle.encode(program) }

    /// Decodes a request into this engine's slot layout (done once per request), with its
    /// `context.time` read for rate limits that follow request time.
    public func prepare(_ request: Request) -> PreparedRequest {
        var prepared = PreparedRequest(request, for: machine)
        if timeSource == .requestTimeOrClock { prepared.time = Timestamp.time(of: request) }
        return prepared
    }

    /// Decides on a request.
    public func evaluate(_ request: Request) -> Decision { evaluate(prepare(request)) }

    /// Decides on a prepared request; allocates nothing unless a rate limit meets a new agent.
    public func evaluate(_ request: borrowing PreparedRequest) -> Decision {
        let now = machine.usesRateLimits ? RuleLimitGate.nanoseconds(currentTime(request)) : 0
        return machine.decide(request, gate: RuleLimitGate(limiter, now: now))
    }

    private func currentTime(_ request: borrowing PreparedRequest) -> Double {
        if timeSource == .requestTimeOrClock, let t = request.time { return t }
        return clock()
    }
}

/// Why an engine could not be built.
public enum RingfenceError: Error, Sendable, CustomStringConvertible {
    /// The sources have errors; the diagnostics say where (sources allow rendering snippets).
    case compile([Diagnostic], sources: [String: SourceFile])
    /// A bundle was refused.
    case bundle(BundleError)
    /// A program failed verification or a pattern failed to compile at load.
    case load(String)

    /// A human-readable account: rendered diagnostics or the one-line error.
    public var description: String {
        switch self {
        case .compile(let diagnostics, let sources):
            DiagnosticRenderer.text(diagnostics.filter(\.isError), sources: sources)
        case .bundle(let e): e.description
        case .load(let message): "error: \(message)"
        }
    }
}
