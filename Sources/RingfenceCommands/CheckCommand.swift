import ArgumentParser
import Ringfence

/// How `check` prints its findings.
enum CheckFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Diagnostics with snippets on stderr, a summary line on stdout.
    case text
    /// One JSON array of diagnostics on stdout.
    case json
    /// A SARIF 2.1.0 log on stdout (GitHub code scanning).
    case sarif
}

/// `ringfence check PATH… [--format text|json|sarif]`: reports every problem in the policies.
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
    @Option(help: "Output format: text (diagnostics on stderr), json (an array on stdout) or sarif (SARIF 2.1.0 on stdout).")
    var format: CheckFormat = .text

    /// Reads every file as this dialect instead of recognising it by shape (SPEC §6).
    @Option(help: "Read every file as this dialect: capabilities, rule-document or native (default: recognised by shape).")
    var dialect: CheckDialect?

    /// Refuses a run without paths.
    func validate() throws {
        if paths.isEmpty { throw ValidationError(CLIMessages.missingPaths) }
    }

    /// Compiles the paths and prints the findings; 0 when there are no errors.
    func execute(_ io: CommandIO) -> Int32 {
        let result = Compiler.compile(paths: paths, dialect: dialect?.documentDialect)
        switch format {
        case .json:
            io.out(DiagnosticRenderer.json(result.diagnostics) + "\n")
        case .sarif:
            io.out(DiagnosticRenderer.sarif(result.diagnostics, toolVersion: ToolVersion.current) + "\n")
            // Unreadable input (exit 2) is also reported on stderr, as SPEC §4 requires.
            for d in result.diagnostics where d.isError && PolicyCompilation.unreadableInputCodes.contains(d.code) {
                io.err(d.description + "\n")
            }
        case .text:
            PolicyCompilation.report(result, to: io)
            for line in Self.dialectLines(result) { io.out(line + "\n") }
            let errors = result.diagnostics.count(where: \.isError)
            let warnings = result.diagnostics.count(where: { $0.severity == .warning })
            io.out(CLIMessages.checkSummary(
                files: result.sources.count, policies: result.documents.count, rules: PolicyCompilation.ruleCount(result),
                sagas: result.sagas.count, runtimes: result.runtimes.count, errors: errors, warnings: warnings) + "\n")
        }
        return PolicyCompilation.status(for: result.diagnostics)
    }
}

/// The values of `check --dialect`.
enum CheckDialect: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Capability allow-lists.
    case capabilities
    /// Rule documents.
    case ruleDocument = "rule-document"
    /// Native `ringfence: 1` documents only.
    case native

    /// The parser's name for the dialect.
    var documentDialect: DocumentDialect {
        switch self {
        case .capabilities: .capabilities
        case .ruleDocument: .ruleDocument
        case .native: .native
        }
    }
}

extension CheckCommand {
    /// One line per file read as a seed dialect, e.g. `policies/x.yaml: capability allow-list (seed dialect)`.
    static func dialectLines(_ result: CompilationResult) -> [String] {
        result.documents.compactMap { document in
            DocumentDialect(policyDialect: document.dialect).map { "\(document.file): \($0.displayName) (seed dialect)" }
        }
    }
}
