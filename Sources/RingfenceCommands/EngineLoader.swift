import Ringfence

/// Builds an engine from `-p` policy paths or a `-b` bundle, reporting problems the way every
/// command does (diagnostics with snippets; bundle errors as one line with their code).
enum EngineLoader {
    /// The engine, or the exit status to stop with after the problems were printed.
    static func load(policies: [String], bundle: String?, timeSource: Engine.TimeSource,
                     clock: @escaping @Sendable () -> Double = Engine.systemClock, io: CommandIO) -> Result<Engine, ExitStatus> {
        if let bundle {
            let bytes: [UInt8]
            switch FileAccess.read(bundle) {
            case .success(let read): bytes = read
            case .failure(let failure):
                let diagnostic = Diagnostic(.fileUnreadable, CLIMessages.cannotRead(failure.path, reason: failure.reason),
                                            at: SourceLocation(file: bundle, line: 1, column: 1))
                io.err(diagnostic.description + "\n")
                return .failure(ExitStatus(code: 2))
            }
            do {
                return .success(try Engine(bundle: bytes, timeSource: timeSource, clock: clock))
            } catch {
                switch error {
                case .bundle(let refused): io.err("\(bundle): \(refused.description)\n")
                case .load(let message): io.err("\(bundle): error[\(DiagnosticCode.bundleMalformed.rawValue)]: \(message)\n")
                case .compile(let diagnostics, let sources): io.err(DiagnosticRenderer.text(diagnostics, sources: sources) + "\n")
                }
                return .failure(ExitStatus(code: 2))
            }
        }
        let result = Compiler.compile(paths: policies)
        PolicyCompilation.report(result, to: io)
        let status = PolicyCompilation.status(for: result.diagnostics)
        guard status == 0, let program = result.program else { return .failure(ExitStatus(code: status == 0 ? 1 : status)) }
        do {
            return .success(try Engine(program: program, warnings: result.diagnostics, timeSource: timeSource, clock: clock))
        } catch {
            io.err(error.description + "\n")
            return .failure(ExitStatus(code: 1))
        }
    }
}

/// An exit status to stop a command with, after its problems were printed.
struct ExitStatus: Error {
    /// The exit status.
    var code: Int32
}
