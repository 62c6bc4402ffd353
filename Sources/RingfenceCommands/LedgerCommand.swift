import ArgumentParser
import Foundation
import Ringfence
import RingfenceStores

/// `ringfence ledger show|vouch|slash` over a store (SPEC §11): the liability ledger from a
/// terminal. `vouch` and `slash` run the `ledger.vouch` and `ledger.slash` operations through
/// the one dispatcher, audited like `ringfence ops`; `show` reads the ledger without writing.
struct LedgerCommand: ParsableCommand {
    /// The command group.
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Show an agent's standing in the liability ledger, vouch for an agent, slash one.",
        subcommands: [LedgerShowCommand.self, LedgerVouchCommand.self, LedgerSlashCommand.self])
}

/// The store and the runtime settings the ledger commands work with.
struct LedgerOptions: ParsableArguments {
    /// The store's URL.
    @Option(name: .customLong("state"), help: ArgumentHelp("The store: sqlite:PATH, memory: or postgres://… (default: $RINGFENCE_STATE, else sqlite:.ringfence/state.db).", valueName: "url"))
    var state: String?

    /// Policy files or directories whose runtime file sets the `liability` settings.
    @Option(name: [.customShort("p"), .customLong("policy")], parsing: .upToNextOption,
            help: ArgumentHelp("Policies whose runtime file sets the ledger's settings (default: the settings of SPEC §7).", valueName: "path"))
    var policies: [String] = []

    /// A compiled bundle, instead of policies.
    @Option(name: [.customShort("b"), .customLong("bundle")], help: ArgumentHelp("A bundle written by `compile`, instead of policies.", valueName: "bundle"))
    var bundle: String?

    /// Refuses `-p` with `-b`.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
    }

    /// The engine whose runtime settings apply: from `-p` or `-b`, else no policies and the defaults.
    func engine(_ io: CommandIO) throws(CommandFailure) -> Engine {
        if policies.isEmpty, bundle == nil {
            do {
                return try Engine(program: Program())
            } catch {
                throw CommandFailure(status: 2, message: "error: \(error.description)")
            }
        }
        switch EngineLoader.load(policies: policies, bundle: bundle, timeSource: .clock, io: io) {
        case .success(let engine): return engine
        case .failure(let status): throw CommandFailure(status: status.code, message: "")
        }
    }

    /// The store named by `--state` (or the environment).
    func store() throws(CommandFailure) -> StateStore {
        let url = Stores.url(given: state, environment: ProcessInfo.processInfo.environment)
        do {
            return try Stores.open(url: url)
        } catch {
            throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotOpenState(url, reason: error.message))")
        }
    }

    /// Runs one operation on a runtime over the store and prints its result line: exit 0 when
    /// it succeeded, 1 when it was refused.
    func run(_ operation: [String: Value], io: CommandIO) throws(CommandFailure) -> Int32 {
        let engine = try engine(io)
        let opened = try store()
        let runtime: Runtime
        do {
            runtime = try Runtime(engine: engine, store: opened)
        } catch {
            throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotOpenState(opened.url, reason: error.message))")
        }
        let outcome = OperationDispatcher(runtime).dispatch(.object(operation))
        runtime.close()
        io.out(outcome.line + "\n")
        return outcome.ok ? 0 : 1
    }
}

/// `ringfence ledger show AGENT [--format text|json]`.
struct LedgerShowCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show an agent as the ledger sees it: trust, bonds, exposure, risk, standing, history.",
        discussion: """
            Reads the store and changes nothing. As JSON, prints what `ledger.get` returns. \
            Exit status: 0, 1 the ledger does not know the agent, 2 a usage error or an unreadable store.
            """)

    @OptionGroup var options: LedgerOptions

    /// The agent.
    @Argument(help: ArgumentHelp("The agent's id.", valueName: "agent"))
    var agent: String

    /// text or json.
    @Option(help: ArgumentHelp("Output format: text or json.", valueName: "format"))
    var format: OutputFormat = .text

    /// Reads the ledger and prints the agent.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let settings = try options.engine(io).program.runtime
            let opened = try options.store()
            let ledger: Ledger
            do throws(StoreError) {
                let rows = try opened.load().rows
                ledger = try Ledger(settings: settings.liability, rows: rows)
            } catch {
                throw CommandFailure(status: 2, message: "error: \(CLIMessages.cannotOpenState(opened.url, reason: error.message))")
            }
            let statement: Value
            do throws(RuntimeError) {
                statement = try ledger.statement(of: agent, at: RuntimeTime.system())
            } catch {
                throw CommandFailure(status: 1, message: "error[\(error.code.rawValue)]: \(error.message)")
            }
            io.out(format == .json ? statement.jsonText + "\n" : LedgerReport.text(statement))
            return 0
        }
    }
}

/// `ringfence ledger vouch VOUCHER VOUCHEE [--bond B] [--session ID] [--vouch ID]`.
struct LedgerVouchCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "vouch",
        abstract: "Vouch for an agent: bond part of the voucher's trust for it.",
        discussion: """
            Runs `ledger.vouch` and prints its result line as `ringfence ops` does. \
            Exit status: 0 vouched, 1 refused (the line gives the code), 2 a usage error or an unreadable store.
            """)

    @OptionGroup var options: LedgerOptions

    /// Who vouches.
    @Argument(help: ArgumentHelp("The voucher's id.", valueName: "voucher"))
    var voucher: String

    /// For whom.
    @Argument(help: ArgumentHelp("The vouchee's id.", valueName: "vouchee"))
    var vouchee: String

    /// The share of the voucher's trust bonded.
    @Option(help: ArgumentHelp("The share of the voucher's trust to bond, 0–1 (default: `liability.bond`).", valueName: "share"))
    var bond: Double?

    /// The session the vouch ends with.
    @Option(help: ArgumentHelp("A live session the vouch ends with.", valueName: "id"))
    var session: String?

    /// The vouch's id.
    @Option(name: .customLong("vouch"), help: ArgumentHelp("The vouch's id (default: a generated `vouch:<hex>`).", valueName: "id"))
    var id: String?

    /// Vouches and prints the result line.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            var operation: [String: Value] = ["op": .string("ledger.vouch"), "voucher": .string(voucher), "vouchee": .string(vouchee)]
            if let bond { operation["bond"] = .number(bond) }
            if let session { operation["session"] = .string(session) }
            if let id { operation["vouch"] = .string(id) }
            return try options.run(operation, io: io)
        }
    }
}

/// `ringfence ledger slash AGENT --severity S --violation ID [--reason TEXT]`.
struct LedgerSlashCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "slash",
        abstract: "Slash an agent: its trust to 0, its vouchers clipped, the cascade as the ledger's settings say.",
        discussion: """
            Runs `ledger.slash` and prints its result line as `ringfence ops` does; repeating a \
            violation id changes nothing and prints the first result. Exit status: 0 slashed, \
            1 refused (the line gives the code), 2 a usage error or an unreadable store.
            """)

    @OptionGroup var options: LedgerOptions

    /// The agent.
    @Argument(help: ArgumentHelp("The agent's id.", valueName: "agent"))
    var agent: String

    /// How severe, in (0, 1].
    @Option(help: ArgumentHelp("The severity, above 0 and at most 1.", valueName: "s"))
    var severity: Double

    /// The violation's id.
    @Option(help: ArgumentHelp("The violation's id (a slash happens once per violation).", valueName: "id"))
    var violation: String

    /// Why.
    @Option(help: ArgumentHelp("Why the agent is slashed.", valueName: "text"))
    var reason: String?

    /// Slashes and prints the result line.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            var operation: [String: Value] = ["op": .string("ledger.slash"), "agent": .string(agent), "severity": .number(severity),
                                              "violation": .string(violation)]
            if let reason { operation["reason"] = .string(reason) }
            return try options.run(operation, io: io)
        }
    }
}

/// `ledger show` as text.
enum LedgerReport {
    /// The statement of `ledger.get` in lines for people.
    static func text(_ statement: Value) -> String {
        guard case .object(let m) = statement else { return statement.jsonText + "\n" }
        func n(_ key: String, in object: [String: Value] = m) -> String {
            if case .number(let x)? = object[key] { return RuntimeSettings.numberText(x) }
            return "—"
        }
        func s(_ key: String, in object: [String: Value] = m) -> String {
            if case .string(let text)? = object[key] { return text }
            return "—"
        }
        var exposure: [String: Value] = [:]
        if case .object(let e)? = m["exposure"] { exposure = e }
        var out = "agent      \(s("agent"))\n"
        out += "trust      \(n("trust")) (effective \(n("trust_eff")))\n"
        out += "bonds      out \(n("bonds_out")), in \(n("bonds_in")); exposure \(n("current", in: exposure)) of \(n("limit", in: exposure))\n"
        out += "risk       \(n("risk")) — \(s("standing"))\n"
        if case .string(let until)? = m["quarantined_until"] {
            var reasons: [String] = []
            if case .list(let list)? = m["quarantine_reasons"] { reasons = list.compactMap { if case .string(let r) = $0 { r } else { nil } } }
            out += "quarantine until \(until)" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))") + "\n"
        }
        if case .list(let events)? = m["history"], !events.isEmpty {
            out += "history\n"
            for event in events {
                guard case .object(var e) = event else { continue }
                let at = s("at", in: e), kind = s("event", in: e)
                e["at"] = nil
                e["event"] = nil
                let details = e.keys.sorted().map { key in "\(key) \(e[key].map(detail) ?? "")" }.joined(separator: ", ")
                out += "  \(at)  \(kind)" + (details.isEmpty ? "" : "  \(details)") + "\n"
            }
        }
        return out
    }

    /// One value of an event as text.
    private static func detail(_ value: Value) -> String {
        switch value {
        case .number(let x): RuntimeSettings.numberText(x)
        case .string(let text): text
        default: value.jsonText
        }
    }
}
