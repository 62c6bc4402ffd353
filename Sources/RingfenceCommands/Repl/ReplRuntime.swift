import Ringfence

/// The runtime behind the REPL's session commands (`:session`, `:join`, `:decide`, …): a
/// `Runtime` on a memory store over the loaded policies, driven through the same operation
/// dispatcher as `ringfence ops`, so a policy author tries sessions exactly as a deployment runs
/// them. Created on first use, replaced (its state forgotten) when the policies are reloaded.
final class ReplRuntime: @unchecked Sendable {
    // Safety: used by one REPL session, on one thread.
    private let runtime: Runtime
    private let dispatcher: OperationDispatcher
    /// The session the shorthand commands act on (the last one created or named).
    var session: String?
    /// The time (RFC 3339) the next operations run at, when set with `:at`.
    var at: String?

    /// A runtime over `engine` with a memory store and ids from a fixed seed (so a scripted
    /// REPL session prints the same ids every run).
    init(engine: Engine) throws {
        runtime = try Runtime(engine: engine, store: MemoryStore(), ids: .seeded(1))
        dispatcher = OperationDispatcher(runtime)
    }

    deinit {
        runtime.close()
    }

    /// Runs one operation (its fields; `op` and the current `at` added) and returns the result line.
    func run(_ op: String, _ fields: [String: Value]) -> String {
        var members = fields
        members["op"] = .string(op)
        if let at, members["at"] == nil { members["at"] = .string(at) }
        let outcome = dispatcher.dispatch(.object(members))
        if outcome.ok, op == "session.create", case .success(.object(let result)) = outcome.result,
           case .string(let id)? = result["session"] {
            session = id
        }
        return outcome.line
    }

    /// Runs an operation given as a JSON object text.
    func run(json text: String) -> String {
        dispatcher.dispatch(line: text).line
    }
}

extension ReplSession {
    /// The session commands, each a shorthand for one operation of SPEC §13.
    static let runtimeCommands: [Command] = [
        Command(name: ":session", usage: ":session [ID]", summary: "create a runtime session (the current one from then on)"),
        Command(name: ":join", usage: ":join AGENT TRUST [consensus] [parent=AGENT]", summary: "join an agent to the current session"),
        Command(name: ":activate", usage: ":activate", summary: "activate the current session"),
        Command(name: ":decide", usage: ":decide", summary: "decide the current request in the current session (the runtime supplies trust and ring)"),
        Command(name: ":elevate", usage: ":elevate AGENT RING [TTL] [ATTESTATION]", summary: "grant an agent a temporary ring"),
        Command(name: ":kill", usage: ":kill AGENT [REASON]", summary: "kill an agent in the current session"),
        Command(name: ":terminate", usage: ":terminate", summary: "terminate the current session (prints its audit root)"),
        Command(name: ":at", usage: ":at TIME", summary: "run the following operations at an RFC 3339 time (`:at now` to clear)"),
        Command(name: ":op", usage: ":op {JSON}", summary: "run any runtime operation, e.g. :op {\"op\":\"session.get\",\"session\":\"s1\"}"),
    ]

    /// Runs a session command against the runtime (made on first use); nil when `name` is not one.
    mutating func runtimeCommand(_ name: String, _ words: [String], _ argument: String) -> String? {
        guard Self.runtimeCommands.contains(where: { $0.name == name }) else { return nil }
        guard let runtime = replRuntime() else { return ReplMessages.noPolicies }
        func inSession(_ op: String, _ fields: [String: Value]) -> String {
            guard let session = runtime.session else { return ReplMessages.noSession }
            var fields = fields
            fields["session"] = .string(session)
            return runtime.run(op, fields)
        }
        switch name {
        case ":session":
            guard words.count <= 1 else { return ReplMessages.usage(":session [ID]") }
            return runtime.run("session.create", words.first.map { ["session": .string($0)] } ?? [:])
        case ":join":
            guard words.count >= 2, let trust = Double(words[1]) else { return ReplMessages.usage(":join AGENT TRUST [consensus] [parent=AGENT]") }
            var fields: [String: Value] = ["agent": .string(words[0]), "trust": .number(trust)]
            for word in words.dropFirst(2) {
                if word == "consensus" {
                    fields["consensus"] = .bool(true)
                } else if word.hasPrefix("parent=") {
                    fields["parent"] = .string(String(word.dropFirst(7)))
                } else {
                    return ReplMessages.usage(":join AGENT TRUST [consensus] [parent=AGENT]")
                }
            }
            return inSession("session.join", fields)
        case ":activate": return words.isEmpty ? inSession("session.activate", [:]) : ReplMessages.usage(":activate")
        case ":terminate": return words.isEmpty ? inSession("session.terminate", [:]) : ReplMessages.usage(":terminate")
        case ":decide":
            guard words.isEmpty else { return ReplMessages.usage(":decide") }
            return inSession("decide", ["request": .object(request.members)])
        case ":elevate":
            guard (2...4).contains(words.count), let ring = Int(words[1]) else { return ReplMessages.usage(":elevate AGENT RING [TTL] [ATTESTATION]") }
            var fields: [String: Value] = ["agent": .string(words[0]), "ring": .number(Double(ring))]
            if words.count > 2 { fields["ttl"] = Double(words[2]).map(Value.number) ?? .string(words[2]) }
            if words.count > 3 { fields["attestation"] = .string(words[3]) }
            return inSession("elevate", fields)
        case ":kill":
            guard (1...2).contains(words.count) else { return ReplMessages.usage(":kill AGENT [REASON]") }
            return inSession("kill", ["agent": .string(words[0]), "reason": .string(words.count > 1 ? words[1] : "manual")])
        case ":at":
            guard words.count == 1 else { return ReplMessages.usage(":at TIME") }
            runtime.at = words[0] == "now" ? nil : words[0]
            return runtime.at.map { "operations now run at \($0)" } ?? "operations now run at the system clock"
        default:
            return argument.isEmpty ? ReplMessages.usage(":op {JSON}") : runtime.run(json: argument)
        }
    }
}
