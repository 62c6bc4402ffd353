import ArgumentParser
import Foundation
import Ringfence
import RingfenceStores

/// `ringfence saga run|status|resume`: runs sagas from compiled plans against HTTP services,
/// and reads and continues them from the store (SPEC §10.5).
struct SagaCommand: ParsableCommand {
    /// The command's name, summary and subcommands.
    static let configuration = CommandConfiguration(
        commandName: "saga",
        abstract: "Run sagas, show them, and resume them after a crash.",
        discussion: """
            Exit status: 0 completed, 4 compensated, 5 escalated, 1 an invalid saga (or one that \
            could not run), 2 a usage error or a store that cannot be opened. Results are JSON, \
            one line per saga. See docs/sagas.md.
            """,
        subcommands: [SagaRunCommand.self, SagaStatusCommand.self, SagaResumeCommand.self])
}

/// `ringfence saga run NAME|FILE [-p PATHS] [-b BUNDLE] [--state URL] [--session ID]
/// [--join AGENT=TRUST]… [--base-url URL] [--input JSON]`.
struct SagaRunCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one saga to its end and print its result.",
        discussion: """
            NAME names a saga in the policies or bundle; FILE is a saga file, compiled with the \
            policies. Steps are decided by the policies, then sent to their execute_api over HTTP. \
            Exit status: 0 completed, 4 compensated, 5 escalated, 1 an invalid saga, 2 usage.
            """)

    /// The saga's name, or a saga file.
    @Argument(help: ArgumentHelp("A saga's name, or a saga file.", valueName: "name-or-file"))
    var saga: String

    /// Policies, bundle and store.
    @OptionGroup var options: RuntimeSourceOptions

    /// The session to run in.
    @Option(name: .customLong("session"), help: ArgumentHelp("The session to run in (default: the saga's `session_id`).", valueName: "id"))
    var session: String?

    /// Agents to join the session with.
    @Option(name: .customLong("join"), help: ArgumentHelp("Create the session if needed, join AGENT with TRUST, activate it (repeatable).",
                                                           valueName: "agent=trust"))
    var joins: [String] = []

    /// The base URL for relative endpoints.
    @Option(name: .customLong("base-url"), help: ArgumentHelp("Resolve endpoint paths against this URL (overrides the file's `base_url`).",
                                                              valueName: "url"))
    var baseURL: String?

    /// The saga's input.
    @Option(name: .customLong("input"), help: ArgumentHelp("JSON given to every step as `input`.", valueName: "json"))
    var input: String?

    /// Compiles, opens the store, prepares the session, runs the saga, prints its result.
    func execute(_ io: CommandIO) -> Int32 {
        let isFile = FileManager.default.fileExists(atPath: saga)
        var input = Value.null
        if let text = self.input {
            do {
                input = try JSONParser.parse(text)
            } catch {
                io.err("error: --input is not json: \(error.message)\n")
                return 2
            }
        }
        var agents: [(agent: String, trust: Double)] = []
        for join in joins {
            let parts = join.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let trust = Double(parts[1]), (0...1).contains(trust) else {
                io.err("error: --join takes AGENT=TRUST with a trust from 0 to 1, found `\(join)`\n")
                return 2
            }
            agents.append((parts[0], trust))
        }
        if isFile, options.bundle != nil {
            io.err("error: a saga file is compiled with policies (-p), not run against a bundle; compile it into the bundle instead\n")
            return 2
        }
        let engine: Engine
        switch EngineLoader.load(policies: options.policies + (isFile ? [saga] : []), bundle: options.bundle, timeSource: .clock, io: io) {
        case .success(let built): engine = built
        case .failure(let status): return status.code
        }
        let plans = engine.program.sagas
        let found = isFile ? plans.filter { $0.file == saga } : plans.filter { $0.name == saga }
        guard found.count == 1, let plan = found.first else {
            let what = isFile ? "the file `\(saga)` defines \(found.count) sagas; expected one" : "no saga is named `\(saga)`"
            let names = plans.map { "`\($0.name)`" }.joined(separator: ", ")
            io.err("error: \(what)\(names.isEmpty ? "" : " (known: \(names))")\n")
            return 1
        }
        guard let host = CommandRuntime.open(engine, state: options.state, io: io) else { return 2 }
        defer { host.close() }
        let sid = session ?? plan.sessionID
        do throws(RuntimeError) {
            if !agents.isEmpty { try Self.prepare(host.runtime, session: sid, agents: agents) }
            let (given, base) = (input, baseURL)
            let result = try SagaBridge.wait { () async throws(RuntimeError) -> SagaResult in
                try await host.runtime.runSaga(plan, session: sid, input: given, baseURL: base)
            }
            io.out(result.value.jsonText + "\n")
            return result.exitStatus
        } catch {
            io.err("error[\(error.code.rawValue)]: \(error.message)\n")
            return 1
        }
    }

    /// Creates the session when it does not exist, joins every agent not yet in it, and
    /// activates it when it is still handshaking.
    static func prepare(_ runtime: Runtime, session sid: String, agents: [(agent: String, trust: Double)]) throws(RuntimeError) {
        do {
            _ = try runtime.session(sid)
        } catch let error where error.code == .sessionNotFound {
            _ = try runtime.createSession(id: sid)
        }
        for (agent, trust) in agents {
            do {
                _ = try runtime.join(session: sid, agent: agent, trust: trust)
            } catch let error where error.code == .alreadyJoined {
                continue
            }
        }
        if try runtime.session(sid).state == "handshaking" {
            _ = try runtime.activate(session: sid)
        }
    }
}

/// `ringfence saga status ID [--state URL]`.
struct SagaStatusCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Print a saga's result as the store has it.")

    /// The saga's id.
    @Argument(help: ArgumentHelp("The saga's id.", valueName: "id"))
    var id: String

    /// The state store.
    @Option(name: .customLong("state"), help: ArgumentHelp("The state store (default: $RINGFENCE_STATE, else `sqlite:.ringfence/state.db`).", valueName: "url"))
    var state: String?

    /// Reads the store and prints the result; the exit status is the saga's (1 while it has not ended).
    func execute(_ io: CommandIO) -> Int32 {
        let url = Stores.url(given: state, environment: ProcessInfo.processInfo.environment)
        let results: [SagaResult]
        do {
            results = try SagaResult.stored(in: try Stores.open(url: url))
        } catch {
            io.err("error: \(CLIMessages.cannotOpenState(url, reason: error.message))\n")
            return 2
        }
        guard let result = results.first(where: { $0.saga == id }) else {
            io.err("error[saga_not_found]: no saga has id `\(id)` in `\(url)`\n")
            return 1
        }
        io.out(result.value.jsonText + "\n")
        return result.exitStatus
    }
}

/// `ringfence saga resume ID|--all [-p PATHS | -b BUNDLE] [--state URL]`.
struct SagaResumeCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue sagas that stopped before their end (after a crash).",
        discussion: """
            Committed steps are not run again; a step found executing is run again under the same \
            idempotency key; compensation continues where it stopped. Give the policies the \
            steps are decided by (-p or -b). One result line per saga; the exit status is the \
            worst: 5 if any escalated, else 4 if any compensated, else 0.
            """)

    /// The saga's id.
    @Argument(help: ArgumentHelp("The saga's id (or --all).", valueName: "id"))
    var id: String?

    /// Every unfinished saga.
    @Flag(name: .customLong("all"), help: "Resume every saga in the store that has not ended.")
    var all = false

    /// Policies, bundle and store.
    @OptionGroup var options: RuntimeSourceOptions

    /// Needs exactly one of an id and `--all`, and the policies.
    func validate() throws {
        if (id == nil) == !all { throw ValidationError("give a saga id or --all, not both") }
        try options.requireSource()
    }

    /// Resumes and prints each saga's result.
    func execute(_ io: CommandIO) -> Int32 {
        let engine: Engine
        switch EngineLoader.load(policies: options.policies, bundle: options.bundle, timeSource: .clock, io: io) {
        case .success(let built): engine = built
        case .failure(let status): return status.code
        }
        guard let host = CommandRuntime.open(engine, state: options.state, io: io) else { return 2 }
        defer { host.close() }
        do throws(RuntimeError) {
            let ids: [String]
            if let id { ids = [id] } else { ids = try host.runtime.unfinishedSagas() }
            var status: Int32 = 0
            for sagaID in ids {
                let result = try SagaBridge.wait { () async throws(RuntimeError) -> SagaResult in try await host.runtime.resumeSaga(sagaID) }
                io.out(result.value.jsonText + "\n")
                status = max(status, result.exitStatus == 1 ? 1 : result.exitStatus)
            }
            return status
        } catch {
            io.err("error[\(error.code.rawValue)]: \(error.message)\n")
            return 1
        }
    }
}
