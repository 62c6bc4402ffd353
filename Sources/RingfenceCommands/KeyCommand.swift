import ArgumentParser
import Foundation
import Ringfence

/// `ringfence key generate NAME -o FILE`: an Ed25519 signing key for checkpoints (SPEC §9.2).
struct KeyCommand: ParsableCommand {
    /// The command group.
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Make signing keys for audit checkpoints.",
        subcommands: [KeyGenerateCommand.self])
}

/// `ringfence key generate NAME -o FILE`.
struct KeyGenerateCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new Ed25519 signing key and print its verifier key.",
        discussion: """
            The key file holds `PRIVATE+KEY+<name>+<key id>+<base64>` (the signed-note format of \
            Go's note package) and is created readable by its owner only; an existing file is \
            never overwritten. The verifier key printed — `<name>+<key id>+<base64>` — is what \
            `audit verify --key` and `audit verify-proof --key` take. Exit status: 0, or 2.
            """)

    /// The key's name (the checkpoint signature line names it).
    @Argument(help: ArgumentHelp("The key's name, e.g. ringfence.example.com/audit.", valueName: "name"))
    var name: String

    /// Where to write the signing key.
    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The key file to create.", valueName: "file"))
    var output: String

    /// Refuses a name the signed-note format cannot carry.
    func validate() throws {
        if !NoteKey.isValidName(name) { throw ValidationError(CLIMessages.badKeyName(name)) }
    }

    /// Generates the key, writes it, prints the verifier key.
    func execute(_ io: CommandIO) -> Int32 {
        let key: NoteSigningKey
        do {
            key = try NoteSigningKey.generate(name: name)
        } catch {
            io.err("error: \(error)\n")
            return 2
        }
        if let problem = KeyFiles.createPrivate(output, text: key.text + "\n") {
            io.err("\(output): error: \(problem)\n")
            return 2
        }
        io.out(key.verifierKey.text + "\n")
        return 0
    }
}

/// Reading and writing key files.
enum KeyFiles {
    /// Creates `path` with `text`, readable by its owner only; the problem, or nil when written.
    static func createPrivate(_ path: String, text: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 { return errno == EEXIST ? CLIMessages.keyFileExists : String(cString: strerror(errno)) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return written == bytes.count ? nil : String(cString: strerror(errno))
    }

    /// The signing key in the file `path`.
    static func signingKey(_ path: String) throws(CommandFailure) -> NoteSigningKey {
        let text = try readText(path)
        do {
            return try NoteSigningKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw CommandFailure(status: 2, message: "\(path): error: \(error)")
        }
    }

    /// A verifier key given as text, or as the path of a file holding it.
    static func verifierKey(_ argument: String) throws(CommandFailure) -> NoteVerifierKey {
        var text = argument
        if FileManager.default.fileExists(atPath: argument) { text = try readText(argument) }
        do {
            return try NoteVerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw CommandFailure(status: 2, message: "error: the verifier key cannot be read: \(error)")
        }
    }

    /// The UTF-8 text of `path`.
    static func readText(_ path: String) throws(CommandFailure) -> String {
        switch FileAccess.read(path) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(let failure): throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotRead(failure.path, reason: failure.reason))")
        }
    }
}

/// A command stopping with a status after a message for stderr.
struct CommandFailure: Error {
    /// The exit status.
    var status: Int32
    /// What to print on stderr.
    var message: String
}
