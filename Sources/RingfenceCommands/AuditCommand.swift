import ArgumentParser
import Foundation
import Ringfence
import RingfenceStores

/// `ringfence audit verify|prove|verify-proof|log|checkpoint` (SPEC §9.3).
struct AuditCommand: ParsableCommand {
    /// The command group.
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, prove, read and checkpoint a store's audit log.",
        subcommands: [AuditVerifyCommand.self, AuditProveCommand.self, AuditVerifyProofCommand.self,
                      AuditLogCommand.self, AuditCheckpointCommand.self, AuditPurgeCommand.self])
}

/// `--state URL` for the audit commands (default: `RINGFENCE_STATE`, else `sqlite:.ringfence/state.db`).
struct StateOption: ParsableArguments {
    /// The store's URL.
    @Option(name: .customLong("state"), help: ArgumentHelp("The store: sqlite:PATH, memory: or postgres://… (default: $RINGFENCE_STATE, else sqlite:.ringfence/state.db).", valueName: "url"))
    var state: String?

    /// The store's URL: `--state`, else `RINGFENCE_STATE`, else the default.
    var url: String { Stores.url(given: state, environment: ProcessInfo.processInfo.environment) }

    /// Opens the store, reporting a failure on stderr (exit 2).
    func open(_ io: CommandIO) throws(CommandFailure) -> StateStore {
        let url = self.url
        do {
            return try Stores.open(url: url)
        } catch {
            throw CommandFailure(status: 2, message: "\(url): error: \(error.message)")
        }
    }
}

/// Runs `body`, printing a `CommandFailure`'s message (an empty one: already reported) and returning its status.
func runReporting(_ io: CommandIO, _ body: () throws(CommandFailure) -> Int32) -> Int32 {
    do {
        return try body()
    } catch {
        if !error.message.isEmpty { io.err(error.message + "\n") }
        return error.status
    }
}

/// `ringfence audit verify [--key VERIFIER] [--since CHECKPOINT_FILE] [--format text|json]`.
struct AuditVerifyCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-derive the whole audit log and name the first thing that does not hold.",
        discussion: """
            Checks every entry's data hash, entry hash and prev link, every stored Merkle node, \
            and every checkpoint's root and (with --key) signature; with --since, proves the log \
            extends a checkpoint kept elsewhere. A log cut short at its tail together with its \
            later checkpoints verifies: only a checkpoint kept elsewhere (--since) exposes that. \
            Exit status: 0 intact, 1 tampered, 2 unreadable.
            """)

    /// The store.
    @OptionGroup var store: StateOption

    /// Verifier keys (text or files) that checkpoint signatures must verify with.
    @Option(name: .customLong("key"), help: ArgumentHelp("A verifier key, or a file holding one (repeatable).", valueName: "verifier"))
    var keys: [String] = []

    /// A checkpoint note kept elsewhere that the log must extend.
    @Option(name: .customLong("since"), help: ArgumentHelp("A checkpoint note file the log must extend.", valueName: "checkpoint"))
    var since: String?

    /// text or json.
    @Option(help: ArgumentHelp("Output format: text or json.", valueName: "format"))
    var format: OutputFormat = .text

    /// Verifies and reports.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let verifiers = try keys.map { (k: String) throws(CommandFailure) -> NoteVerifierKey in try KeyFiles.verifierKey(k) }
            var sinceNote: SignedNote?
            if let since {
                let text = try KeyFiles.readText(since)
                do {
                    sinceNote = try SignedNote(parsing: text)
                } catch {
                    throw CommandFailure(status: 2, message: "\(since): error: not a checkpoint note: \(error)")
                }
            }
            let opened = try store.open(io)
            let report = AuditVerification.verify(opened, keys: verifiers, since: sinceNote)
            if let failure = report.failure, failure.entry == nil, failure.message.hasPrefix("the store cannot be read") {
                io.err("\(opened.url): error: \(failure.message)\n")
                return 2
            }
            io.out(format == .json ? AuditReports.json(report, keysGiven: !verifiers.isEmpty) + "\n"
                                   : AuditReports.text(report, keysGiven: !verifiers.isEmpty))
            return report.intact ? 0 : 1
        }
    }
}

/// `ringfence audit prove SEQ [--key FILE]`.
struct AuditProveCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print a self-contained proof that one entry is in the log.",
        discussion: """
            Prints {"entry": …, "proof": […], "checkpoint": "<note>"}: the entry, its RFC 9162 \
            inclusion proof and the newest checkpoint covering it; with --key a checkpoint is \
            signed now when none covers the entry yet. `audit verify-proof` checks the output. \
            Exit status: 0, 1 no such entry or no checkpoint, 2 unreadable.
            """)

    /// The store.
    @OptionGroup var store: StateOption

    /// The entry's sequence number.
    @Argument(help: ArgumentHelp("The entry's seq.", valueName: "seq"))
    var seq: UInt64

    /// A signing key file, used when no checkpoint covers the entry yet.
    @Option(name: .customLong("key"), help: ArgumentHelp("A signing key file (from `key generate`).", valueName: "file"))
    var key: String?

    /// Proves and prints.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let signingKey = try key.map { (k: String) throws(CommandFailure) -> NoteSigningKey in try KeyFiles.signingKey(k) }
            let opened = try store.open(io)
            let make: (() throws -> StoredCheckpoint)? = signingKey.map { signingKey in
                { try AuditCheckpointCommand.sign(opened, key: signingKey) }
            }
            do {
                let proof = try AuditInclusionProof.prove(seq, in: opened, makeCheckpoint: make)
                io.out(JSONOutput.text(proof.json) + "\n")
                return 0
            } catch let error as AuditLogError {
                throw CommandFailure(status: 1, message: "error: \(error.message)")
            } catch {
                throw CommandFailure(status: 2, message: "\(opened.url): error: \(error)")
            }
        }
    }
}

/// `ringfence audit verify-proof FILE --key VERIFIER`.
struct AuditVerifyProofCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check a proof printed by `audit prove` with nothing but the file and a key.",
        discussion: "Exit status: 0 valid, 1 invalid, 2 unreadable.")

    /// The proof file.
    @Argument(help: ArgumentHelp("A proof printed by `audit prove`.", valueName: "file"))
    var file: String

    /// The verifier key the checkpoint must be signed with.
    @Option(name: .customLong("key"), help: ArgumentHelp("A verifier key, or a file holding one.", valueName: "verifier"))
    var key: String

    /// Checks and reports.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let verifier = try KeyFiles.verifierKey(key)
            let text = try KeyFiles.readText(file)
            switch AuditProofCheck.check(text, keys: [verifier]) {
            case .valid(let seq, let size):
                io.out("valid: entry \(seq) is in the log of \(size) entries signed by \(verifier.name)\n")
                return 0
            case .invalid(let reason):
                io.out("invalid: \(reason)\n")
                return 1
            case .unreadable(let reason):
                throw CommandFailure(status: 2, message: "\(file): error: \(reason)")
            }
        }
    }
}

/// `ringfence audit log [--from SEQ] [--limit N] [--format text|json]`.
struct AuditLogCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print audit entries.",
        discussion: """
            As JSON, one object a line: the envelope's fields plus `hash` and `data` (null once \
            purged). Exit status: 0, or 2 for an unreadable store.
            """)

    /// The store.
    @OptionGroup var store: StateOption

    /// The first entry.
    @Option(help: ArgumentHelp("The first entry's seq.", valueName: "seq"))
    var from: UInt64 = 0

    /// How many entries at most.
    @Option(help: ArgumentHelp("The most entries to print.", valueName: "n"))
    var limit: Int = 100

    /// text or json.
    @Option(help: ArgumentHelp("Output format: text or json.", valueName: "format"))
    var format: OutputFormat = .text

    /// Reads and prints.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let opened = try store.open(io)
            var next = from
            var left = max(0, limit)
            while left > 0 {
                let entries: [StoredAuditEntry]
                do throws(StoreError) {
                    entries = try opened.auditEntries(from: next, limit: min(left, 4096))
                } catch {
                    throw CommandFailure(status: 2, message: "\(opened.url): error: \(error.message)")
                }
                if entries.isEmpty { break }
                var out = ""
                for stored in entries {
                    out += format == .json ? JSONOutput.text(AuditEntryJSON.value(stored)) + "\n" : AuditReports.line(stored) + "\n"
                }
                io.out(out)
                next += UInt64(entries.count)
                left -= entries.count
            }
            return 0
        }
    }
}

/// `ringfence audit checkpoint [--key FILE]`.
struct AuditCheckpointCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint of the whole log now and print its note.",
        discussion: "Without --key the checkpoint is unsigned. Exit status: 0, or 2.")

    /// The store.
    @OptionGroup var store: StateOption

    /// The signing key file.
    @Option(name: .customLong("key"), help: ArgumentHelp("A signing key file (from `key generate`).", valueName: "file"))
    var key: String?

    /// Signs and prints.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let signingKey = try key.map { (k: String) throws(CommandFailure) -> NoteSigningKey in try KeyFiles.signingKey(k) }
            let opened = try store.open(io)
            do {
                io.out(try Self.sign(opened, key: signingKey).note)
                return 0
            } catch {
                throw CommandFailure(status: 2, message: "\(opened.url): error: \(error)")
            }
        }
    }

    /// Writes a checkpoint of the whole log (with the origin of the last one, or the default).
    static func sign(_ store: StateStore, key: NoteSigningKey?) throws -> StoredCheckpoint {
        let origin = try store.checkpoints().last.flatMap { stored in
            (try? SignedNote(parsing: stored.note)).flatMap { try? Checkpoint(parsing: $0.text).origin }
        } ?? AuditSettings().origin
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, origin: origin, signingKey: key),
                               clock: AuditClock.system)
        defer { log.close() }
        return try log.checkpoint()
    }
}

/// `ringfence audit purge --before SEQ`: retention (SPEC §9.1).
struct AuditPurgeCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Drop the stored data of entries below SEQ, keeping their envelopes.",
        discussion: """
            Appends an `audit.purged` entry recording the purge, then drops the data rows; the log \
            still verifies (by each entry's data_hash), and `verify` reports a data row missing \
            above every recorded purge as tampering. Exit status: 0, 1 when SEQ is past the log, 2.
            """)

    /// The store.
    @OptionGroup var store: StateOption

    /// Entries below this seq lose their data.
    @Option(help: ArgumentHelp("Purge the data of entries below this seq.", valueName: "seq"))
    var before: UInt64

    /// Purges and reports.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let opened = try store.open(io)
            let log: AuditLog
            do throws(StoreError) {
                log = try AuditLog(store: opened, settings: AuditSettings(durability: .strict), clock: AuditClock.system)
            } catch {
                throw CommandFailure(status: 2, message: "\(opened.url): error: \(error.message)")
            }
            defer { log.close() }
            do throws(AuditLogError) {
                let dropped = try log.purge(before: before, time: AuditClock.system())
                io.out("purged the data of \(dropped) \(dropped == 1 ? "entry" : "entries") below \(before)\n")
                return 0
            } catch {
                throw CommandFailure(status: 1, message: "error: \(error.message)")
            }
        }
    }
}

/// The output formats of the audit commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
