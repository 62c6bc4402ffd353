import ArgumentParser
import Ringfence

/// How `check` prints its findings.
enum CheckFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Diagnostics with snippets on stderr, a summary line on stdout.
    case text
    /// One JSON array of diagnostics on stdout.
    case json
}

/// `ringfence check PATH… [--format text|json]`: reports every problem in the policies.
struct CheckCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check policy files and report every problem.",
        discussion: "Exit status: 0 no errors (warnings allowed), 1 errors, 2 unreadable input.")

    /// The files and directories to check.
    @Argument(help: ArgumentHelp("Policy files, or directories searched for *.yaml and *.yml.", valueName: "path"))
    var paths: [String]

    /// The output format.
    @Option(help: "Output format: text (diagnostics on stderr) or json (an array on stdout).")
    var format: CheckFormat = .text

    /// Refuses a run without paths.
    func validate() throws {
        if paths.isEmpty { throw ValidationError(CLIMessages.missingPaths) }
    }

    /// Compiles the paths and prints the findings; 0 when there are no errors.
    func execute(_ io: CommandIO) -> Int32 {
        let result = Compiler.compile(paths: paths)
        switch format {
        case .json:
            io.out(DiagnosticRenderer.json(result.diagnostics) + "\n")
        case .text:
            PolicyCompilation.report(result, to: io)
            let errors = result.diagnostics.count(where: \.isError)
            let warnings = result.diagnostics.count(where: { $0.severity == .warning })
            io.out(CLIMessages.checkSummary(
                files: result.sources.count, policies: result.documents.count,
                rules: PolicyCompilation.ruleCount(result), errors: errors, warnings: warnings) + "\n")
        }
        return PolicyCompilation.status(for: result.diagnostics)
    }
}
