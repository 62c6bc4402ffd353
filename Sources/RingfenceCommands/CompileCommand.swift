import ArgumentParser
import Ringfence

/// `ringfence compile PATH… -o FILE`: checks the policies and writes a bundle (SPEC §4.2).
struct CompileCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile policy files into a verified bundle.",
        discussion: "Exit status: 0 written, 1 errors in the policies, 2 unreadable input or unwritable output.")

    /// The files and directories to compile.
    @Argument(help: ArgumentHelp("Policy files, or directories searched for *.yaml and *.yml.", valueName: "path"))
    var paths: [String]

    /// Where the bundle goes.
    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The bundle file to write.", valueName: "file"))
    var output: String

    /// Refuses a run without paths.
    func validate() throws {
        if paths.isEmpty { throw ValidationError(CLIMessages.missingPaths) }
    }

    /// Compiles and, when there are no errors, writes the bundle atomically.
    func execute(_ io: CommandIO) -> Int32 {
        let result = Compiler.compile(paths: paths)
        PolicyCompilation.report(result, to: io)
        let status = PolicyCompilation.status(for: result.diagnostics)
        guard status == 0, let program = result.program else { return status == 0 ? 1 : status }
        // The emit stage encoded the bundle already; a program set in its place is encoded here.
        let bytes = result.bundle ?? Bundle.encode(program)
        if let failure = FileAccess.writeAtomically(bytes, to: output) {
            io.err(CLIMessages.cannotWrite(failure.path, reason: failure.reason) + "\n")
            return 2
        }
        let digest = Bundle.hex(Bundle.sha256(bytes))
        io.out(CLIMessages.wroteBundle(output, bytes: bytes.count, rules: program.rules.count,
                                       sha256: String(digest.prefix(16))) + "\n")
        return 0
    }
}
