import ArgumentParser
import Foundation
import Ringfence
import RingfenceHTTPExecutor
import RingfenceStores

/// The options of every command that runs the runtime (`ops`, `serve`, `saga run|resume`): the
/// policies or a bundle, and the state store.
struct RuntimeSourceOptions: ParsableArguments {
    /// Policy files or directories (and saga files) to compile.
    @Option(name: [.customShort("p"), .customLong("policy")], parsing: .upToNextOption,
            help: ArgumentHelp("Policy files or directories (repeatable); a runtime file among them sets the runtime.", valueName: "path"))
    var policies: [String] = []

    /// A compiled bundle.
    @Option(name: [.customShort("b"), .customLong("bundle")], help: ArgumentHelp("A bundle written by `compile`.", valueName: "bundle"))
    var bundle: String?

    /// The state store.
    @Option(name: .customLong("state"), help: ArgumentHelp("The state store (default: $RINGFENCE_STATE, else `sqlite:.ringfence/state.db`).", valueName: "url"))
    var state: String?

    /// Refuses `-p` with `-b`.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
    }

    /// Refuses neither `-p` nor `-b`, for commands that cannot run without policies.
    func requireSource() throws {
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
    }
}

/// A runtime opened by a command over its store, with the HTTP executor that saga steps are
/// sent through (SPEC §10.2); close it when done.
struct CommandRuntime {
    /// The runtime.
    let runtime: Runtime
    /// The HTTP executor (its connections are closed by `close`).
    let http: HTTPStepExecutor

    /// Opens the store `state` names (else `RINGFENCE_STATE`, else the default) and the runtime
    /// over `engine`; nil after printing why it cannot (exit 2).
    static func open(_ engine: Engine, state: String?, signingKey: NoteSigningKey? = nil, ids: IDGenerator = .system,
                     io: CommandIO) -> CommandRuntime? {
        let url = Stores.url(given: state, environment: ProcessInfo.processInfo.environment)
        do {
            let store = try Stores.open(url: url)
            let runtime = try Runtime(engine: engine, store: store, audit: AuditSettings(engine.program.runtime.audit, signingKey: signingKey),
                                      ids: ids)
            let http = HTTPStepExecutor()
            runtime.sagaEnvironment = SagaEnvironment(executors: SagaExecutors(fallback: http))
            return CommandRuntime(runtime: runtime, http: http)
        } catch {
            io.err("error: \(CLIMessages.cannotOpenState(url, reason: error.message))\n")
            return nil
        }
    }

    /// Commits what is queued and closes the connections.
    func close() {
        runtime.close()
        http.shutdown()
    }
}
