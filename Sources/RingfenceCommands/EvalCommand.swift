import ArgumentParser
import Ringfence

/// `ringfence eval (-p PATH… | -b BUNDLE) [-i FILE|-]`: decides requests (SPEC §4.1).
///
/// The input is one JSON request or JSON Lines; each request gets one decision line on
/// stdout, in input order. A request that cannot be read gets an error on stderr and no
/// decision; the others are still decided, and the run then exits 2.
struct EvalCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Decide requests against policies or a bundle.",
        discussion: """
            Reads one JSON request or JSON Lines (one request per line) and prints one decision \
            per request, in order. Exit status: 0 all allowed, 3 any denied, 1 errors in the \
            policies, 2 a usage error or unreadable input (a bad bundle or a malformed request).
            """)

    /// Policy files or directories to compile.
    @Option(name: [.customShort("p"), .customLong("policy")], parsing: .upToNextOption,
            help: ArgumentHelp("Policy files or directories (repeatable).", valueName: "path"))
    var policies: [String] = []

    /// A compiled bundle.
    @Option(name: [.customShort("b"), .customLong("bundle")], help: ArgumentHelp("A bundle written by `compile`.", valueName: "bundle"))
    var bundle: String?

    /// The request file (`-` or absent: stdin).
    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("The request file; `-` or absent reads stdin.", valueName: "file"))
    var input: String?

    /// Asks for explanations (not yet available).
    @Flag(help: "List every rule that applied and why the others did not (not available yet).")
    var explain = false

    /// Requires exactly one of `-p` and `-b`; refuses `--explain` rather than ignore it.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
        if explain { throw ValidationError(CLIMessages.explainUnavailable) }
    }

    /// Builds the engine once, then decides every request in order.
    func execute(_ io: CommandIO) -> Int32 {
        let engine: Engine
        switch makeEngine(io) {
        case .success(let built): engine = built
        case .failure(let status): return status.code
        }
        let name: String
        let bytes: [UInt8]
        if let input, input != "-" {
            switch FileAccess.read(input) {
            case .success(let read): bytes = read
            case .failure(let failure):
                let diagnostic = Diagnostic(.fileUnreadable, CLIMessages.cannotRead(failure.path, reason: failure.reason),
                                            at: SourceLocation(file: input, line: 1, column: 1))
                io.err(diagnostic.description + "\n")
                return 2
            }
            name = input
        } else {
            bytes = io.stdin()
            name = "<stdin>"
        }
        return decide(JSONLinesReader(bytes), inputName: name, engine: engine, io: io)
    }

    /// Decides each request of `requests`, printing decisions in chunks.
    private func decide(_ requests: JSONLinesReader, inputName: String, engine: Engine, io: CommandIO) -> Int32 {
        let output = OutputBuffer(io.out)
        var decided = 0
        var malformed = false
        var denied = false
        // Runs of requests often get the same decision: its JSON line is rendered once per run.
        var lastDecision: Decision?
        var lastLine = ""
        for element in requests {
            do {
                let decision = engine.evaluate(try element.request())
                if decision != lastDecision {
                    lastLine = decision.jsonLine
                    lastDecision = decision
                }
                output.line(lastLine)
                decided += 1
                if !decision.allowed { denied = true }
            } catch {
                output.flush()
                io.err(error.diagnostic(file: inputName).description + "\n")
                malformed = true
            }
        }
        output.flush()
        if decided == 0, !malformed {
            let diagnostic = Diagnostic(.requestJSON, CLIMessages.noRequests, at: SourceLocation(file: inputName, line: 1, column: 1))
            io.err(diagnostic.description + "\n")
            return 2
        }
        if malformed { return 2 }
        return denied ? 3 : 0
    }

    /// An exit status carried through a `Result`.
    struct Status: Error {
        /// The exit status.
        var code: Int32
    }

    /// Compiles the policies or loads the bundle, reporting problems; rate limits take their
    /// clock from each request's `context.time` when present.
    private func makeEngine(_ io: CommandIO) -> Result<Engine, Status> {
        if let bundle {
            let bytes: [UInt8]
            switch FileAccess.read(bundle) {
            case .success(let read): bytes = read
            case .failure(let failure):
                let diagnostic = Diagnostic(.fileUnreadable, CLIMessages.cannotRead(failure.path, reason: failure.reason),
                                            at: SourceLocation(file: bundle, line: 1, column: 1))
                io.err(diagnostic.description + "\n")
                return .failure(Status(code: 2))
            }
            do {
                return .success(try Engine(bundle: bytes, timeSource: .requestTimeOrClock))
            } catch {
                switch error {
                case .bundle(let refused): io.err("\(bundle): \(refused.description)\n")
                case .load(let message): io.err("\(bundle): error[\(DiagnosticCode.bundleMalformed.rawValue)]: \(message)\n")
                case .compile(let diagnostics, let sources): io.err(DiagnosticRenderer.text(diagnostics, sources: sources) + "\n")
                }
                return .failure(Status(code: 2))
            }
        }
        let result = Compiler.compile(paths: policies)
        PolicyCompilation.report(result, to: io)
        let status = PolicyCompilation.status(for: result.diagnostics)
        guard status == 0, let program = result.program else { return .failure(Status(code: status == 0 ? 1 : status)) }
        do {
            return .success(try Engine(program: program, warnings: result.diagnostics, timeSource: .requestTimeOrClock))
        } catch {
            io.err(error.description + "\n")
            return .failure(Status(code: 1))
        }
    }
}
