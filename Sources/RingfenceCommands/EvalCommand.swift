import ArgumentParser
import Ringfence

/// `ringfence eval (-p PATH… | -b BUNDLE) [-i FILE|-] [--explain]`: decides requests (SPEC §4.1).
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

    /// Asks for an explanation line after each decision.
    @Flag(help: "After each decision, print one line {\"explain\": …}: every rule and why it did or did not decide.")
    var explain = false

    /// Requires exactly one of `-p` and `-b`.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
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
                if explain {
                    // Explaining decides exactly as `evaluate` does; each decision is followed by
                    // one `{"explain": …}` line so the output stays JSON Lines.
                    let explanation = engine.explain(try element.request())
                    output.line(explanation.decision.jsonLine)
                    output.line("{\"explain\":" + explanation.jsonText + "}")
                    decided += 1
                    if !explanation.decision.allowed { denied = true }
                    continue
                }
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
    typealias Status = ExitStatus

    /// Compiles the policies or loads the bundle, reporting problems; rate limits take their
    /// clock from each request's `context.time` when present.
    private func makeEngine(_ io: CommandIO) -> Result<Engine, Status> {
        EngineLoader.load(policies: policies, bundle: bundle, timeSource: .requestTimeOrClock, io: io)
    }
}
