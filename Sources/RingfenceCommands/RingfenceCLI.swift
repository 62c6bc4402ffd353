import ArgumentParser
import Ringfence

/// The `ringfence` command line, runnable in-process: parse the arguments, run the command,
/// return the exit status (SPEC §4).
///
/// Exit statuses: 0 success, 1 policy errors, 2 a usage error or unreadable input, 3 (`eval`)
/// a request was denied. No path prints a stack trace.
public enum RingfenceCLI {
    /// Runs `ringfence` with `arguments` (without the program name) over `io`.
    public static func run(_ arguments: [String], io: CommandIO) -> Int32 {
        do {
            var command = try RingfenceCommand.parseAsRoot(arguments)
            if let runnable = command as? any RingfenceSubcommand {
                return runnable.execute(io)
            }
            // ArgumentParser's own commands (`help`) report through an error, handled below.
            try command.run()
            return 0
        } catch {
            let message = RingfenceCommand.fullMessage(for: error, columns: 100)
            let code = RingfenceCommand.exitCode(for: error)
            if code == .success {
                if !message.isEmpty { io.out(message + "\n") }
                return 0
            }
            if !message.isEmpty { io.err(message + "\n") }
            return 2
        }
    }
}

/// A command that runs against injected streams and returns its exit status.
protocol RingfenceSubcommand: ParsableCommand {
    /// Runs the command, writing results to `io.out` and messages to `io.err`.
    func execute(_ io: CommandIO) -> Int32
}

extension RingfenceSubcommand {
    /// Runs the command on the process's own streams (for `main()`-style use).
    mutating func run() throws {
        let status = execute(.standard)
        if status != 0 { throw ExitCode(status) }
    }
}

/// The root command: lists the subcommands and nothing else.
struct RingfenceCommand: RingfenceSubcommand {
    /// The command's name, summary and subcommands.
    static let configuration = CommandConfiguration(
        commandName: "ringfence",
        abstract: "Check, compile and evaluate Ringfence policies for AI agents.",
        discussion: """
            Exit status: 0 success, 1 errors in policies, 2 a usage error or unreadable input, \
            3 (eval) at least one request was denied.
            """,
        subcommands: [CheckCommand.self, CompileCommand.self, EvalCommand.self, TestCommand.self, SchemaCommand.self,
                      InspectCommand.self, ReplCommand.self, BenchCommand.self, KeyCommand.self,
                      AuditCommand.self, OpsCommand.self, ServeCommand.self, LedgerCommand.self, SagaCommand.self,
                      StoreCommand.self])

    /// Without a command, prints the usage to stderr: a usage error.
    func execute(_ io: CommandIO) -> Int32 {
        io.err(CLIMessages.missingCommand + "\n\n" + Self.helpMessage(columns: 100) + "\n")
        return 2
    }
}

/// Compiling policy paths and reporting the diagnostics, shared by `check`, `compile` and `eval`.
enum PolicyCompilation {
    /// Codes that mean the input itself could not be read (exit 2 rather than 1).
    static let unreadableInputCodes: Set<DiagnosticCode> = [.fileUnreadable, .fileTooLarge, .noInputFiles]

    /// The exit status the diagnostics call for: 2 unreadable input, 1 errors, 0 otherwise.
    static func status(for diagnostics: [Diagnostic]) -> Int32 {
        if diagnostics.contains(where: { $0.isError && unreadableInputCodes.contains($0.code) }) { return 2 }
        return diagnostics.containsErrors ? 1 : 0
    }

    /// Writes every diagnostic (errors and warnings) to stderr with source snippets.
    static func report(_ result: CompilationResult, to io: CommandIO) {
        guard !result.diagnostics.isEmpty else { return }
        io.err(DiagnosticRenderer.text(result.diagnostics, sources: result.sources) + "\n")
    }

    /// The number of rules in the documents that parsed.
    static func ruleCount(_ result: CompilationResult) -> Int {
        result.documents.reduce(0) { $0 + $1.rules.filter(\.isComplete).count }
    }
}
