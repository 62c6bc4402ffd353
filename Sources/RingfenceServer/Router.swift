import NIOCore
import NIOHTTP1
import RingfenceRuntime
import Synchronization

// What each route of SPEC §14.1 answers. Every runtime call goes through the runtime host's
// gate (so a reload never splits a request) and, for operations, through the one dispatcher
// `ringfence ops` uses, so the checks, results, errors and audit entries are the CLI's.

/// An HTTP answer: status, body and content type.
struct Answer: Sendable {
    /// The status.
    var status: HTTPResponseStatus
    /// The body.
    var body: String
    /// The content type.
    var contentType = "application/json"
    /// Headers beyond the usual ones.
    var headers: [(String, String)] = []

    /// A JSON body with `status` (200 by default).
    static func json(_ body: String, _ status: HTTPResponseStatus = .ok) -> Answer {
        Answer(status: status, body: body)
    }

    /// `{"error": {"code", "message"}}` with `status`; `extra` adds members to the error object.
    static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String, extra: String = "") -> Answer {
        Answer(status: status, body: "{\"error\":{\"code\":" + JSONText.quote(code) + ",\"message\":" + JSONText.quote(message) + extra + "}}")
    }

    /// The answer for a failed operation.
    static func error(_ error: RuntimeError) -> Answer {
        Self.error(HTTPStatusMapping.status(for: error.code.rawValue), error.code.rawValue, error.message)
    }
}

/// An error answer given instead of a parsed body.
struct Refusal: Error {
    /// The answer.
    var answer: Answer

    /// A refusal answering `answer`.
    init(_ answer: Answer) {
        self.answer = answer
    }
}

/// Answers requests for matched routes.
final class Router: Sendable {
    /// The runtime and its policies.
    let host: RuntimeHost
    /// The metrics.
    let metrics: ServerMetrics
    /// The configuration.
    let configuration: ServerConfiguration
    /// Saga counts by state, from the saga executor when one is plugged in.
    let sagaCounts: @Sendable () -> [String: Int]
    /// Set once the server starts draining, before any connection hears of it: every answer
    /// written from then on closes its connection, whichever event loop it is on.
    let draining = Atomic<Bool>(false)

    /// A router.
    init(host: RuntimeHost, metrics: ServerMetrics, configuration: ServerConfiguration, sagaCounts: @escaping @Sendable () -> [String: Int]) {
        self.host = host
        self.metrics = metrics
        self.configuration = configuration
        self.sagaCounts = sagaCounts
    }

    /// The answer for `endpoint`.
    func answer(_ endpoint: Endpoint, query: Substring?, headers: HTTPHeaders, body: ByteBuffer?) -> Answer {
        switch endpoint {
        case .health: return .json("{\"status\":\"ok\"}")
        case .ready: return ready()
        case .metrics: return metricsText()
        case .openapi: return .json(OpenAPIDocument.json)
        case .authzenConfiguration:
            let base = headers.first(name: "host").map { "http://" + $0 } ?? "http://\(configuration.host):\(configuration.port)"
            return .json(AuthZEN.configuration(base: base))
        case .decide: return directDecision(body) ?? operation("decide", body: body, bodyRequired: true)
        case .op(let name): return operation(name, body: body)
        case .batch: return directBatch(body) ?? generalBatch(body)
        case .evaluation: return evaluation(body)
        case .evaluations: return evaluations(body)
        case .reload: return reload()
        case .auditCheckpoint: return operation("audit.checkpoint", body: nil)
        case .auditEntries: return auditEntries(query)
        case .auditProof(let seq): return auditProof(seq)
        }
    }

    // MARK: Operations

    /// Runs one operation whose fields are the body's members; an empty body is `{}` unless
    /// `bodyRequired` (a decision needs its request), when it is refused as `invalid_json`.
    /// (Plain decisions take `directDecision` first.)
    func operation(_ name: String, body: ByteBuffer?, bodyRequired: Bool = false) -> Answer {
        var members: [String: Value] = [:]
        if bodyRequired || (body?.readableBytes ?? 0) > 0 {
            switch Self.parseObject(body) {
            case .success(let parsed): members = parsed
            case .failure(let refusal): return refusal.answer
            }
        }
        if let given = members["op"], given != .string(name) {
            return .error(.badRequest, RuntimeError.Code.unknownField.rawValue,
                          "the body names the operation \(given.jsonText) but the path names `\(name)`; leave `op` out of the body")
        }
        members["op"] = .string(name)
        let outcome = host.withCurrent { $0.dispatcher.dispatch(.object(members)) }
        count(outcome)
        recoverAfter(outcome)
        switch outcome.result {
        case .success: return .json(outcome.resultText ?? "null")
        case .failure(let error): return .error(error)
        }
    }

    /// `{"ops": [...]}` → `{"results": [<ops result lines>]}`, in order, under one policy set,
    /// read the general way: the body parsed whole, every operation run through the dispatcher
    /// (bodies the scanner takes go through `directBatch` first, with the same answers).
    func generalBatch(_ body: ByteBuffer?) -> Answer {
        let members: [String: Value]
        switch Self.parseObject(body) {
        case .success(let parsed): members = parsed
        case .failure(let refusal): return refusal.answer
        }
        if let unknown = members.keys.sorted().first(where: { $0 != "ops" }) {
            return .error(.badRequest, RuntimeError.Code.unknownField.rawValue, "unknown field `\(unknown)` for a batch; expected `ops`")
        }
        guard case .list(let ops)? = members["ops"] else {
            return .error(.badRequest, RuntimeError.Code.missingField.rawValue, "a batch needs `ops`, a list of operations")
        }
        guard ops.count <= configuration.maxBatchItems else {
            return .error(.payloadTooLarge, "batch_too_large", "the batch holds \(ops.count) operations; the limit is \(configuration.maxBatchItems)")
        }
        var failed = false
        let lines = host.withCurrent { current in
            current.runtime.together {
                ops.map { op in
                    let outcome = current.dispatcher.dispatch(op)
                    count(outcome)
                    if case .failure(let error) = outcome.result, error.code == .auditFailed { failed = true }
                    return outcome.line
                }
            }
        }
        if failed { host.recoverIfFailed() }
        return .json("{\"results\":[" + lines.joined(separator: ",") + "]}")
    }

    /// Opens a fresh runtime when `outcome` failed because the audit log did (see
    /// `RuntimeHost.recoverIfFailed`); called outside the gate.
    func recoverAfter(_ outcome: OperationOutcome) {
        if case .failure(let error) = outcome.result, error.code == .auditFailed { host.recoverIfFailed() }
    }

    /// Counts a decision an operation made.
    func count(_ outcome: OperationOutcome) {
        guard outcome.op == "decide", case .success(.object(let members)) = outcome.result,
              case .string(let code)? = members["code"] else { return }
        metrics.decided(codeText: code)
    }

    // MARK: AuthZEN

    /// One AuthZEN evaluation.
    private func evaluation(_ body: ByteBuffer?) -> Answer {
        switch Self.parseObject(body) {
        case .success(let members):
            switch decide(members) {
            case .success(let answer): return .json(answer)
            case .failure(let error):
                if error.code == .auditFailed { host.recoverIfFailed() }
                return .error(error)
            }
        case .failure(let refusal): return refusal.answer
        }
    }

    /// The AuthZEN batch, with its three semantics.
    private func evaluations(_ body: ByteBuffer?) -> Answer {
        let members: [String: Value]
        switch Self.parseObject(body) {
        case .success(let parsed): members = parsed
        case .failure(let refusal): return refusal.answer
        }
        let batch: (items: [[String: Value]], semantic: AuthZEN.Semantic)?
        do {
            batch = try AuthZEN.items(members, limit: configuration.maxBatchItems)
        } catch {
            return .error(error)
        }
        guard let batch else { return evaluation(body) }
        var failed = false
        let answers = host.withCurrent { current in current.runtime.together {
            var answers: [String] = []
            for item in batch.items {
                let allowed: Bool
                switch decide(item, current) {
                case .success(let answer):
                    answers.append(answer)
                    allowed = answer.hasPrefix("{\"decision\":true")
                case .failure(let error):
                    answers.append(AuthZEN.failedItem(error))
                    if error.code == .auditFailed { failed = true }
                    allowed = false
                }
                if batch.semantic == .denyOnFirstDeny && !allowed { break }
                if batch.semantic == .permitOnFirstPermit && allowed { break }
            }
            return answers
        } }
        if failed { host.recoverIfFailed() }
        return .json("{\"evaluations\":[" + answers.joined(separator: ",") + "]}")
    }

    /// Decides one evaluation in the runtime in force.
    private func decide(_ members: [String: Value]) -> Result<String, RuntimeError> {
        host.withCurrent { decide(members, $0) }
    }

    /// Decides one evaluation in `current`.
    private func decide(_ members: [String: Value], _ current: RuntimeHost.Current) -> Result<String, RuntimeError> {
        do {
            let (request, session) = try AuthZEN.request(members)
            let outcome = try current.runtime.decide(request, session: session)
            metrics.decided(outcome.decision.code)
            return .success(AuthZEN.answer(outcome))
        } catch {
            return .failure(error)
        }
    }

    // MARK: Reload, health, metrics

    /// `POST /v1/reload`: the new policies' summary, or the diagnostics with the old ones kept.
    func reload() -> Answer {
        switch host.reload() {
        case .success(let set):
            metrics.reloadsOK.add()
            return .json(OperationResultText.text(set.summary))
        case .failure(let failure):
            metrics.reloadsFailed.add()
            let diagnostics = ",\"diagnostics\":" + OperationResultText.text(.list(failure.diagnostics.map(Value.string)))
            return .error(.unprocessableEntity, "reload_failed", failure.message, extra: diagnostics)
        }
    }

    /// Ready when the policies are loaded, the audit log works and the store answers; a
    /// runtime whose audit log failed is replaced first when the store answers again.
    private func ready() -> Answer {
        if host.withCurrent({ $0.runtime.log.failure != nil }) { host.recoverIfFailed() }
        return host.withCurrent { current in
            if let failure = current.runtime.log.failure {
                return .error(.serviceUnavailable, "not_ready", "the audit log has failed: \(failure)")
            }
            do throws(StoreError) {
                _ = try host.store.auditEntries(from: current.runtime.log.size, limit: 1)
            } catch {
                return .error(.serviceUnavailable, "not_ready", "the state store does not answer: \(error.message)")
            }
            return .json("{\"status\":\"ready\",\"bundle_sha256\":" + JSONText.quote(current.policies.bundleSHA256) + "}")
        }
    }

    /// The Prometheus text.
    private func metricsText() -> Answer {
        let (depth, size, sha) = host.withCurrent { ($0.runtime.log.queueDepth, $0.runtime.log.size, $0.policies.bundleSHA256) }
        return Answer(status: .ok, body: metrics.text(auditQueueDepth: depth, auditSize: size, sagas: sagaCounts(), bundleSHA256: sha),
                      contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    // MARK: Audit reads

    /// `GET /v1/audit/entries?from=&limit=`: `{"entries": [...], "next": seq}` as `audit log --format json`.
    private func auditEntries(_ query: Substring?) -> Answer {
        var from: UInt64 = 0
        var limit = 100
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0], value = parts.count > 1 ? parts[1] : ""
            switch key {
            case "from":
                guard let parsed = UInt64(value), parsed < UInt64(Int64.max) else {
                    return .error(.badRequest, "invalid_query", "`from` must be a whole number, found `\(value)`")
                }
                from = parsed
            case "limit":
                guard let parsed = Int(value), (1...1000).contains(parsed) else {
                    return .error(.badRequest, "invalid_query", "`limit` must be a whole number from 1 to 1000, found `\(value)`")
                }
                limit = parsed
            default:
                return .error(.badRequest, "invalid_query", "unknown query parameter `\(key)`; expected `from` and `limit`")
            }
        }
        return host.withCurrent { current in
            do {
                try current.runtime.log.flush()
                let entries = try host.store.auditEntries(from: from, limit: limit)
                var out = "{\"entries\":["
                for (i, stored) in entries.enumerated() {
                    if i > 0 { out += "," }
                    out += String(decoding: try CanonicalJSON.encode(AuditEntryJSON.value(stored)), as: UTF8.self)
                }
                out += "],\"next\":\(from + UInt64(entries.count))}"
                return .json(out)
            } catch {
                return .error(.serviceUnavailable, "store_unavailable", "the audit log cannot be read: \(error)")
            }
        }
    }

    /// `GET /v1/audit/proof/{seq}`: the proof `audit prove` prints, signing a checkpoint when none covers the entry.
    private func auditProof(_ text: String) -> Answer {
        guard let seq = UInt64(text), seq < UInt64(Int64.max) else {
            return .error(.badRequest, "invalid_query", "the entry's seq must be a whole number, found `\(text)`")
        }
        return host.withCurrent { current in
            do {
                try current.runtime.log.flush()
                guard seq < current.runtime.log.size else {
                    return .error(.notFound, "entry_not_found", "the log has no entry \(seq); it holds \(current.runtime.log.size)")
                }
                let proof = try AuditInclusionProof.prove(seq, in: host.store) { () throws -> StoredCheckpoint in
                    try current.runtime.checkpoint()
                }
                return .json(String(decoding: try CanonicalJSON.encode(proof.json), as: UTF8.self))
            } catch {
                return .error(.serviceUnavailable, "store_unavailable", "the proof cannot be built: \(error)")
            }
        }
    }

    // MARK: Bodies

    /// The body parsed as a JSON object, or the error answer.
    static func parseObject(_ body: ByteBuffer?) -> Result<[String: Value], Refusal> {
        guard let body, body.readableBytes > 0 else {
            return .failure(Refusal(.error(.badRequest, RuntimeError.Code.invalidJSON.rawValue, "the body is empty; expected a json object")))
        }
        let parsed = body.withUnsafeReadableBytes { raw in
            Result { () throws(JSONParseError) -> Value in try JSONParser.parse(raw.bindMemory(to: UInt8.self)) }
        }
        switch parsed {
        case .success(.object(let members)): return .success(members)
        case .success(let other):
            return .failure(Refusal(.error(.badRequest, RuntimeError.Code.invalidJSON.rawValue, "the body is a json \(other.typeName), not an object")))
        case .failure(let error):
            return .failure(Refusal(.error(.badRequest, RuntimeError.Code.invalidJSON.rawValue, "the body is not json: \(error.description)")))
        }
    }
}

/// The HTTP status for each stable error code (SPEC §13); codes added later by other
/// operations follow their name (`…_not_found` 404) or get 422.
enum HTTPStatusMapping {
    /// Codes that mean the request itself is malformed.
    static let badRequest: Set<String> = ["invalid_json", "unknown_field", "missing_field", "invalid_field", "invalid_id",
                                          "invalid_request", "clock_backwards"]
    /// Codes that conflict with the state of what they name.
    static let conflict: Set<String> = ["id_taken", "session_state", "session_empty", "already_joined", "session_full",
                                        "duplicate_elevation", "elevation_ended", "agent_killed", "invalid_target"]
    /// Codes that are refusals of the runtime's rules.
    static let forbidden: Set<String> = ["quarantined", "admission_denied", "ring_0_forbidden", "insufficient_trust",
                                         "no_sponsorship", "reserved_kind", "self_vouch", "voucher_trust", "vouch_cycle", "exposure"]

    /// The status for `code`.
    static func status(for code: String) -> HTTPResponseStatus {
        if badRequest.contains(code) { return .badRequest }
        if code == "unknown_op" || code.hasSuffix("_not_found") || code == "unknown_agent" { return .notFound }
        if conflict.contains(code) { return .conflict }
        if forbidden.contains(code) { return .forbidden }
        if code == "audit_failed" || code == "store_unavailable" { return .serviceUnavailable }
        return .unprocessableEntity
    }
}
