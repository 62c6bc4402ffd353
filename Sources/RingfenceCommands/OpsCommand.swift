import ArgumentParser
import Foundation
import Ringfence
import RingfenceHTTPExecutor
import RingfenceStores

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

    /// Policy files or directories to compile.
    @Option(name: [.customShort("p"), .customLong("policy")], parsing: .upToNextOption,
            help: ArgumentHelp("Policy files or directories (repeatable); a runtime file among them sets the runtime.", valueName: "path"))
    var policies: [String] = []

    /// A compiled bundle.
    @Option(name: [.customShort("b"), .customLong("bundle")], help: ArgumentHelp("A bundle written by `compile`.", valueName: "bundle"))
    var bundle: String?

    /// The state store.
    @Option(name: .customLong("state"), help: ArgumentHelp("The state store (default: $RINGFENCE_STATE, else `sqlite:.ringfence/state.db`).", valueName: "url"))
    var state: String?

    /// The operations file (`-` or absent: stdin).
    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("The operations file; `-` or absent reads stdin.", valueName: "file"))
    var input: String?

    /// Seeds the id generator.
    @Option(name: .customLong("seed"), help: ArgumentHelp("Generate ids from this seed, so runs repeat exactly.", valueName: "n"))
    var seed: UInt64?

    /// Signs checkpoints.
    @Option(name: .customLong("audit-key"), help: ArgumentHelp("A key file from `key generate` to sign checkpoints with.", valueName: "file"))
    var auditKey: String?

    /// Requires exactly one of `-p` and `-b`.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
    }

    /// Opens the runtime, runs every operation in order, prints the results.
    func execute(_ io: CommandIO) -> Int32 {
        let engine: Engine
        switch EngineLoader.load(policies: policies, bundle: bundle, timeSource: .clock, io: io) {
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
        let runtime: Runtime
        do throws(CommandFailure) {
            let key = try auditKey.map { path throws(CommandFailure) in try KeyFiles.signingKey(path) }
            let url = Stores.url(given: state, environment: ProcessInfo.processInfo.environment)
            let store: StateStore
            do {
                store = try Stores.open(url: url)
            } catch {
                throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotOpenState(url, reason: error.message))")
            }
            do {
                runtime = try Runtime(engine: engine, store: store, audit: AuditSettings(engine.program.runtime.audit, signingKey: key),
                                      ids: seed.map(IDGenerator.seeded) ?? .system)
            } catch {
                throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotOpenState(url, reason: error.message))")
            }
        } catch {
            io.err(error.message + "\n")
            return 2
        }
        // `saga.start` and `saga.resume` send steps over HTTP (SPEC §10.2).
        let http = HTTPStepExecutor()
        runtime.sagaEnvironment = SagaEnvironment(executors: SagaExecutors(fallback: http))
        defer {
            runtime.close()
            http.shutdown()
        }
        let dispatcher = OperationDispatcher(runtime)
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
