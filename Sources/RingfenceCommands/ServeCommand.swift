import ArgumentParser
import Foundation
import RingfenceHTTPExecutor
import Ringfence
import RingfenceServer
import RingfenceStores

/// `ringfence serve (-p PATH… | -b BUNDLE) [--state URL] [--listen HOST:PORT] [--token-file FILE]
/// [--audit-key FILE] [--insecure]`: the decision server (SPEC §14.1).
struct ServeCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve decisions, runtime operations, AuthZEN evaluations and the audit log over HTTP.",
        discussion: """
            Listens on 127.0.0.1:8787 by default and prints `listening on http://HOST:PORT` once \
            it accepts connections. A non-loopback --listen needs --token-file (bearer tokens, one \
            a line) or --insecure. SIGHUP (or POST /v1/reload) recompiles the policies or re-reads \
            the bundle and swaps them in atomically; a failed reload keeps the old ones. SIGTERM \
            drains the requests in flight and exits 0. Endpoints: GET /openapi.json and \
            docs/server.md. Exit status: 0 after a clean shutdown, 1 policies with errors, 2 a \
            usage error, an unreadable file or a store that cannot be opened.
            """)

    /// Policies, bundle and store.
    @OptionGroup var options: RuntimeSourceOptions

    /// The address to listen on.
    @Option(name: .customLong("listen"), help: ArgumentHelp("HOST:PORT to listen on (port 0 picks a free one).", valueName: "host:port"))
    var listen = ServerConfiguration.defaultListen

    /// Bearer tokens.
    @Option(name: .customLong("token-file"), help: ArgumentHelp("A file of bearer tokens, one a line; every route but health, readiness and the documents then needs one.", valueName: "file"))
    var tokenFile: String?

    /// Serve a public address without tokens.
    @Flag(name: .customLong("insecure"), help: "Allow a non-loopback --listen without --token-file.")
    var insecure = false

    /// Signs checkpoints.
    @Option(name: .customLong("audit-key"), help: ArgumentHelp("A key file from `key generate` to sign checkpoints with (default: $RINGFENCE_AUDIT_KEY).", valueName: "file"))
    var auditKey: String?

    /// The body cap.
    @Option(name: .customLong("max-body"), help: ArgumentHelp("The largest request body accepted, in bytes.", valueName: "bytes"))
    var maxBody = 1 << 20

    /// The request timeout.
    @Option(name: .customLong("request-timeout"), help: ArgumentHelp("Seconds a request may take to arrive.", valueName: "seconds"))
    var requestTimeout = 10.0

    /// Event-loop threads.
    @Option(name: .customLong("threads"), help: ArgumentHelp("Event-loop threads (default: one per core).", valueName: "n"))
    var threads = 0

    @Option(name: .customLong("saga-lease"), help: ArgumentHelp("On a shared store: seconds a saga's lease lasts without a transition; another node resumes the saga after it (every half of it, this node looks for such sagas).", valueName: "seconds"))
    var sagaLease = 10.0

    /// Requires exactly one of `-p` and `-b`, and sane limits.
    func validate() throws {
        try options.requireSource()
        if maxBody < 1 { throw ValidationError("--max-body must be at least 1") }
        if !(requestTimeout > 0 && requestTimeout <= 3600) { throw ValidationError("--request-timeout must be between 0 and 3600 seconds") }
        if threads < 0 || threads > 256 { throw ValidationError("--threads must be from 0 to 256") }
        if !(sagaLease >= 0.1 && sagaLease <= 86_400) { throw ValidationError("--saga-lease must be between 0.1 and 86400 seconds") }
    }

    /// Loads the policies, opens the store, serves until SIGTERM.
    func execute(_ io: CommandIO) -> Int32 {
        let loader = PolicyLoader(policies: options.policies, bundle: options.bundle)
        let first: PolicySet
        switch loader.loadWithStatus() {
        case .success(let set): first = set
        case .failure(let refused):
            let failure = refused.failure
            io.err((failure.diagnostics.isEmpty ? "error: \(failure.message)" : failure.diagnostics.joined(separator: "\n")) + "\n")
            return refused.status
        }
        for warning in first.warnings { io.err(warning + "\n") }
        do throws(CommandFailure) {
            var configuration = ServerConfiguration()
            do {
                (configuration.host, configuration.port) = try ServerConfiguration.parseListen(listen)
            } catch {
                throw CommandFailure(status: 2, message: "error: \(error.message)")
            }
            if let tokenFile {
                configuration.tokens = ServerConfiguration.tokens(fromFile: try KeyFiles.readText(tokenFile))
                if configuration.tokens.isEmpty { throw CommandFailure(status: 2, message: "\(tokenFile): error: the token file holds no token") }
            }
            configuration.insecure = insecure
            configuration.maxBodyBytes = maxBody
            configuration.requestTimeout = Int64(requestTimeout * 1000)
            configuration.threads = threads
            do {
                try configuration.validate()
            } catch {
                throw CommandFailure(status: 2, message: "error: \(error.message)")
            }
            let environment = ProcessInfo.processInfo.environment
            let key = try (auditKey ?? environment["RINGFENCE_AUDIT_KEY"]).map { path throws(CommandFailure) in try KeyFiles.signingKey(path) }
            let url = Stores.url(given: options.state, environment: environment)
            let host: RuntimeHost
            // Saga steps go out through one HTTP executor (SPEC §10.2), whichever runtime a reload opens.
            let http = HTTPStepExecutor()
            defer { http.shutdown() }
            let lease = Int64(sagaLease * 1_000_000)
            do {
                host = try RuntimeHost(policies: first, store: try Stores.open(url: url), signingKey: key, configure: { runtime in
                    runtime.sagaEnvironment = SagaEnvironment(executors: SagaExecutors(fallback: http))
                    runtime.sagaLease = lease
                }, loader: { loader.load() })
            } catch {
                throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotOpenState(url, reason: error.message))")
            }
            host.startSagaSweeper(every: sagaLease / 2)
            let server = DecisionServer(configuration: configuration, host: host, log: { io.err("ringfence serve: \($0)\n") })
            let bound: (host: String, port: Int)
            do {
                bound = try server.start()
            } catch {
                host.close()
                throw CommandFailure(status: 2, message: "error: \(error.message)")
            }
            let shown = bound.host.contains(":") ? "[\(bound.host)]" : bound.host
            io.out("listening on http://\(shown):\(bound.port) (policies \(first.bundleSHA256.prefix(12)), state \(url))\n")
            server.run()
            return 0
        } catch {
            io.err(error.message + "\n")
            return error.status
        }
    }
}

/// Loads the server's policies from sources or a bundle, at start and on every reload.
struct PolicyLoader: Sendable {
    /// Policy paths to compile (empty when a bundle is given).
    var policies: [String]
    /// The bundle to read.
    var bundle: String?

    /// A failure to load, with the exit status it means at start: 2 for input that cannot be
    /// read (a bundle, a missing file), 1 for policies with errors.
    struct Refusal: Error {
        /// What the server reports.
        var failure: PolicyLoadFailure
        /// The exit status at start.
        var status: Int32
    }

    /// The policies, or why they cannot be loaded (what a reload reports).
    func load() -> Result<PolicySet, PolicyLoadFailure> {
        loadWithStatus().mapError(\.failure)
    }

    /// The policies, or why they cannot be loaded with the exit status that means at start.
    func loadWithStatus() -> Result<PolicySet, Refusal> {
        if let bundle { return loadBundle(bundle).mapError { Refusal(failure: $0, status: 2) } }
        let result = Compiler.compile(paths: policies)
        let errors = result.diagnostics.filter(\.isError)
        guard errors.isEmpty, result.program != nil else {
            let count = errors.count
            let failure = PolicyLoadFailure(message: "the policies have \(count) \(count == 1 ? "error" : "errors"); the old policies stay in force",
                                            diagnostics: result.diagnostics.map(\.description))
            return .failure(Refusal(failure: failure, status: max(PolicyCompilation.status(for: result.diagnostics), 1)))
        }
        do {
            // The compilation's verified program and patterns: nothing is verified or compiled again.
            let engine = try Engine(compilation: result)
            return .success(Self.policySet(engine, warnings: result.diagnostics.filter { !$0.isError }.map(\.description)))
        } catch {
            return .failure(Refusal(failure: PolicyLoadFailure(message: "the policies cannot be loaded: \(error.description)", diagnostics: []),
                                    status: 1))
        }
    }

    /// Reads and verifies a bundle.
    private func loadBundle(_ path: String) -> Result<PolicySet, PolicyLoadFailure> {
        switch FileAccess.read(path) {
        case .failure(let failure):
            return .failure(PolicyLoadFailure(message: CLIMessages.cannotRead(failure.path, reason: failure.reason), diagnostics: []))
        case .success(let bytes):
            do {
                return .success(Self.policySet(try Engine(bundle: bytes), warnings: []))
            } catch {
                return .failure(PolicyLoadFailure(message: "\(path): \(error.description)", diagnostics: []))
            }
        }
    }

    /// The set the server runs: the engine, its bundle's SHA-256 and its policies' names.
    private static func policySet(_ engine: Engine, warnings: [String]) -> PolicySet {
        PolicySet(engine: engine, bundleSHA256: AuditHash.sha256(engine.bundle()).hex,
                  policies: engine.program.policies.map(\.name), warnings: warnings)
    }
}
