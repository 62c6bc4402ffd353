import Ringfence

/// Builds an engine from `-p` policy paths or a `-b` bundle, reporting problems the way every
/// command does (diagnostics with snippets; bundle errors as one line with their code).
enum EngineLoader {
    /// The engine, or the exit status to stop with after the problems were printed.
    static func load(policies: [String], bundle: String?, timeSource: Engine.TimeSource,
                     clock: @escaping @Sendable () -> Double = Engine.systemClock, io: CommandIO) -> Result<Engine, ExitStatus> {
        if let bundle {
            return loadBundle(bundle, timeSource: timeSource, clock: clock, io: io).map(\.engine)
        }
        let result = Compiler.compile(paths: policies)
        PolicyCompilation.report(result, to: io)
        let status = PolicyCompilation.status(for: result.diagnostics)
        guard status == 0, result.program != nil else { return .failure(ExitStatus(code: status == 0 ? 1 : status)) }
        do {
            return .success(try Engine(compilation: result, timeSource: timeSource, clock: clock))
        } catch {
            io.err(error.description + "\n")
            return .failure(ExitStatus(code: 1))
        }
    }
}

extension EngineLoader {
    /// Reads, decodes and verifies the bundle at `path` and builds its engine — the one way every
    /// command loads a bundle, so `inspect` shows only what `eval` would run. A file that is
    /// refused is reported on stderr with exit status 2.
    static func loadBundle(_ path: String, timeSource: Engine.TimeSource = .clock,
                           clock: @escaping @Sendable () -> Double = Engine.systemClock,
                           io: CommandIO) -> Result<(header: Bundle.Header, size: Int, engine: Engine), ExitStatus> {
        let bytes: [UInt8]
        switch FileAccess.read(path) {
        case .success(let read): bytes = read
        case .failure(let failure):
            let diagnostic = Diagnostic(.fileUnreadable, CLIMessages.cannotRead(failure.path, reason: failure.reason),
                                        at: SourceLocation(file: path, line: 1, column: 1))
            io.err(diagnostic.description + "\n")
            return .failure(ExitStatus(code: 2))
        }
        do {
            let (header, program) = try Bundle.decode(bytes)
            return .success((header, bytes.count, try Engine(verified: program, timeSource: timeSource, clock: clock)))
        } catch let refused as BundleError {
            io.err("\(path): \(refused.description)\n")
        } catch let error as RingfenceError {
            switch error {
            case .bundle(let refused): io.err("\(path): \(refused.description)\n")
            case .load(let message): io.err("\(path): error[\(DiagnosticCode.bundleMalformed.rawValue)]: \(message)\n")
            case .compile(let diagnostics, let sources): io.err(DiagnosticRenderer.text(diagnostics, sources: sources) + "\n")
            }
        } catch {
            io.err("\(path): error[\(DiagnosticCode.bundleMalformed.rawValue)]: \(error)\n")
        }
        return .failure(ExitStatus(code: 2))
    }
}

/// An exit status to stop a command with, after its problems were printed.
struct ExitStatus: Error {
    /// The exit status.
    var code: Int32
}
