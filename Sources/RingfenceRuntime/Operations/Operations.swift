import RingfenceAudit
import RingfenceVM

// The operations of SPEC §13, defined once: name, fields and handler. The dispatcher, the docs'
// reference and every transport (`ringfence ops`, the library, later the server) read this
// table; sagas and the ledger add their rows here.

/// One operation: its name, what it does, its fields, and the handler that runs it.
public struct Operation: Sendable {
    /// The `op` name.
    public var name: String
    /// What it does and returns, in one line (for the docs).
    public var summary: String
    /// Its fields, in the order they are checked.
    public var fields: [OperationField]
    /// Runs it with checked fields and returns its result.
    let handler: @Sendable (Runtime, OperationArguments) throws(RuntimeError) -> Value
}

extension Operation {
    /// Every operation, in the order SPEC §13 lists them.
    public static let all: [Operation] = [
        Operation(name: "session.create", summary: "a session in state `handshaking` → `{session, state}`",
                  fields: [.optional("session", .id), .optional("config", .sessionConfig)]) { runtime, a throws(RuntimeError) in
            try runtime.createSession(id: a.string("session"), overrides: a.overrides("config") ?? SessionOverrides())
        },
        Operation(name: "session.join", summary: "admits an agent and gives it its ring → `{ring, trust_eff, standing}`",
                  fields: [.required("session", .id), .required("agent", .id), .required("trust", .trust),
                           .optional("consensus", .bool), .optional("parent", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.join(session: a.requiredString("session"), agent: a.requiredString("agent"), trust: a.number("trust") ?? 0,
                             consensus: a.bool("consensus") ?? false, parent: a.string("parent")).value
        },
        Operation(name: "session.activate", summary: "`handshaking` → `active` → the session",
                  fields: [.required("session", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.activate(session: a.requiredString("session")).value
        },
        Operation(name: "session.terminate", summary: "terminates and archives the session → the session with `audit_root`",
                  fields: [.required("session", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.terminate(session: a.requiredString("session")).value
        },
        Operation(name: "session.get", summary: "→ the session", fields: [.required("session", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.session(a.requiredString("session")).value
        },
        Operation(name: "decide", summary: "decides a request, in a session or outside one → a decision (with `retry_after` when rate-limited)",
                  fields: [.optional("session", .id), .required("request", .request)]) { runtime, a throws(RuntimeError) in
            guard let request = a.request("request") else { throw RuntimeError(.missingField, OperationMessages.missingField("request")) }
            return try runtime.decide(request, session: a.string("session")).value
        },
        Operation(name: "elevate", summary: "a temporary ring → `{elevation, ring, expires_at}`",
                  fields: [.required("session", .id), .required("agent", .id), .required("ring", .ring), .optional("ttl", .duration),
                           .optional("attestation", .text), .optional("reason", .text), .optional("elevation", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.elevate(session: a.requiredString("session"), agent: a.requiredString("agent"), ring: a.integer("ring") ?? 3,
                                ttl: a.milliseconds("ttl"), attestation: a.string("attestation"), reason: a.string("reason"),
                                id: a.string("elevation")).value
        },
        Operation(name: "elevation.revoke", summary: "ends an active elevation → `{elevation, state: \"revoked\"}`",
                  fields: [.required("elevation", .id)]) { runtime, a throws(RuntimeError) in
            let id = try a.requiredString("elevation")
            try runtime.revokeElevation(id)
            return .object(["elevation": .string(id), "state": .string(ElevationPhase.revoked.rawValue)])
        },
        Operation(name: "kill", summary: "the kill switch → `{kill, handoffs, terminated: true}`",
                  fields: [.required("session", .id), .required("agent", .id), .required("reason", .choice(Runtime.killReasons)),
                           .optional("substitute", .id), .optional("kill", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.kill(session: a.requiredString("session"), agent: a.requiredString("agent"), reason: a.requiredString("reason"),
                             substitute: a.string("substitute"), id: a.string("kill")).value
        },
        Operation(name: "breaker.reset", summary: "closes an agent's breaker and clears its breach window → `{}`",
                  fields: [.required("session", .id), .required("agent", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.resetBreaker(session: a.requiredString("session"), agent: a.requiredString("agent"))
            return .object([:])
        },
        Operation(name: "audit.append", summary: "a host's own entry (`delta`, …) → `{seq, hash}` once committed",
                  fields: [.optional("session", .id), .optional("agent", .id), .required("kind", .text),
                           .required("data", .json)]) { runtime, a throws(RuntimeError) in
            let receipt = try runtime.append(kind: a.requiredString("kind"), session: a.string("session"), agent: a.string("agent"),
                                             data: a.json("data") ?? .null)
            return .object(["seq": .number(Double(receipt.seq)), "hash": .string(receipt.hash.hex)])
        },
        Operation(name: "audit.checkpoint", summary: "a checkpoint of the whole log now → `{size, root, note}`",
                  fields: []) { runtime, _ throws(RuntimeError) in
            let checkpoint = try runtime.checkpoint()
            return .object(["size": .number(Double(checkpoint.size)), "root": .string(checkpoint.root.hex), "note": .string(checkpoint.note)])
        },
    ] + ledgerOperations + sagaOperations

    /// The operations by name.
    static let byName: [String: Operation] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// The field every operation may carry: the runtime clock from this operation on (RFC 3339).
    public static let atField = "at"
}

/// The messages the dispatcher writes itself.
enum OperationMessages {
    /// A required field is absent.
    static func missingField(_ name: String) -> String { "missing field `\(name)`" }

    /// A field the operation does not take.
    static func unknownField(_ name: String, op: String, known: [String]) -> String {
        let list = known.isEmpty ? "it takes none but `at`" : "expected " + known.map { "`\($0)`" }.joined(separator: ", ")
        return "unknown field \(RuntimeMessages.quote(name)) for `\(op)`; \(list)"
    }

    /// `op` names no operation.
    static func unknownOp(_ name: String) -> String {
        "unknown operation \(RuntimeMessages.quote(name)); expected one of " + Operation.all.map { "`\($0.name)`" }.joined(separator: ", ")
    }

    /// `op` is absent or not a string.
    static let missingOp = "the line has no `op` string naming an operation"

    /// `at` is not an RFC 3339 time.
    static func badTime(_ text: String) -> String {
        "field `at` must be an rfc 3339 date-time such as `2026-11-21T10:00:00Z`, found \(RuntimeMessages.quote(text))"
    }
}
