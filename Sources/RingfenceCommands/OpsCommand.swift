import ArgumentParser
import Foundation
import Ringfence

/// `ringfence ops (-p PATH… | -b BUNDLE) [--state URL] [-i FILE|-] [--seed N] [--audit-key FILE]`:
/// runs runtime operations (SPEC §13), one JSON object a line, printing one result line each.
struct OpsCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Run runtime operations: sessions, decisions, elevations, kills, the audit log.",
        discussion: """
            Reads JSON Lines, one operation a line ({"op": "session.create", …}), and prints one \
            result line each, in order: {"op":…,"ok":true,"result":{…}} or \
            {"op":…,"ok":false,"error":{"code":…,"message":…}}. An operation may carry "at" \
            (RFC 3339) to set the runtime clock from it on. With --seed N, generated ids are \
            reproducible. Exit status: 0 every operation ok, 1 any failed, 2 a usage error or \
            unreadable input. Operations and error codes: docs/runtime.md.
            """)

    /// Policies, bundle and store.
    @OptionGroup var options: RuntimeSourceOptions

    /// The operations file (`-` or absent: stdin).
    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("The operations file; `-` or absent reads stdin.", valueName: "file"))
    var input: String?

    /// Seeds the id generator.
    @Option(name: .customLong("seed"), help: ArgumentHelp("Generate ids from this seed, so runs repeat exactly.", valueName: "n"))
    var seed: UInt64?

    /// Signs checkpoints.
    @Option(name: .customLong("audit-key"), help: ArgumentHelp("A key file from `key generate` to sign checkpoints with.", valueName: "file"))
    var auditKey: String?

    /// Requires `-p` or `-b` (the group refuses both).
    func validate() throws {
        try options.requireSource()
    }

    /// Opens the runtime, runs every operation in order, prints the results.
    func execute(_ io: CommandIO) -> Int32 {
        let engine: Engine
        switch EngineLoader.load(policies: options.policies, bundle: options.bundle, timeSource: .clock, io: io) {
        case .success(let built): engine = built
        case .failure(let status): return status.code
        }
        let bytes: [UInt8]
        if let input, input != "-" {
            switch FileAccess.read(input) {
            case .success(let read): bytes = read
            case .failure(let failure):
                io.err("error: \(CLIMessages.cannotRead(failure.path, reason: failure.reason))\n")
                return 2
            }
        } else {
            bytes = io.stdin()
        }
        let key: NoteSigningKey?
        do throws(CommandFailure) {
            key = try auditKey.map { path throws(CommandFailure) in try KeyFiles.signingKey(path) }
        } catch {
            io.err(error.message + "\n")
            return 2
        }
        guard let host = CommandRuntime.open(engine, state: options.state, signingKey: key, ids: seed.map(IDGenerator.seeded) ?? .system,
                                             io: io) else { return 2 }
        defer { host.close() }
        let dispatcher = OperationDispatcher(host.runtime)
        let output = OutputBuffer(io.out)
        var count = 0
        var failed = false
        for line in Self.lines(bytes) {
            let outcome = line.withUnsafeBufferPointer { dispatcher.dispatch(line: $0) }
            output.line(outcome.line)
            count += 1
            if !outcome.ok { failed = true }
        }
        output.flush()
        if count == 0 {
            io.err("error: \(CLIMessages.noOperations)\n")
            return 2
        }
        return failed ? 1 : 0
    }

    /// The non-blank lines of `bytes` (a trailing `\r` dropped).
    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).compactMap { line in
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            return trimmed.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } ? nil : trimmed
        }
    }
}

extension CLIMessages {
    /// An `ops` input without a single operation.
    static let noOperations = "the input holds no operation; expected json lines of operations"

    /// A state store that cannot be opened.
    static func cannotOpenState(_ url: String, reason: String) -> String {
        "cannot open the state store `\(url)`: \(reason)"
    }
}
