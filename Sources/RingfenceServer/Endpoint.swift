import NIOHTTP1

/// The routes of SPEC §14.1, matched from a request's method and path.
enum Endpoint: Sendable, Equatable {
    case health, ready, metrics, openapi, authzenConfiguration
    case decide, op(String), batch, evaluation, evaluations, reload
    case auditCheckpoint, auditEntries, auditProof(String)

    /// The one method the route answers.
    var method: HTTPMethod {
        switch self {
        case .health, .ready, .metrics, .openapi, .authzenConfiguration, .auditCheckpoint, .auditEntries, .auditProof: .GET
        case .decide, .op, .batch, .evaluation, .evaluations, .reload: .POST
        }
    }

    /// Routes answered without a bearer token: liveness, readiness and the two documents
    /// (they show no decision, policy or audit data).
    var isPublic: Bool {
        switch self {
        case .health, .ready, .openapi, .authzenConfiguration: true
        default: false
        }
    }

    /// Routes that may wait on the store or a compiler, so they run off the event loop.
    var mayBlock: Bool {
        switch self {
        case .ready, .reload, .auditCheckpoint, .auditEntries, .auditProof, .batch: true
        default: false
        }
    }

    /// The latency histogram's route.
    var metricsRoute: ServerMetrics.Route {
        switch self {
        case .decide: .decide
        case .op: .ops
        case .batch: .batch
        case .evaluation: .evaluation
        case .evaluations: .evaluations
        case .auditCheckpoint, .auditEntries, .auditProof: .audit
        case .reload: .reload
        default: .other
        }
    }

    /// The route at `path` (without the query), nil when none is.
    static func match(_ path: Substring) -> Endpoint? {
        switch path {
        case "/health": return .health
        case "/health/ready": return .ready
        case "/metrics": return .metrics
        case "/openapi.json": return .openapi
        case "/.well-known/authzen-configuration": return .authzenConfiguration
        case "/v1/decide": return .decide
        case "/v1/batch": return .batch
        case "/v1/reload": return .reload
        case "/access/v1/evaluation": return .evaluation
        case "/access/v1/evaluations": return .evaluations
        case "/v1/audit/checkpoint": return .auditCheckpoint
        case "/v1/audit/entries": return .auditEntries
        default: break
        }
        if let name = path.dropPrefix("/v1/ops/"), !name.isEmpty, !name.contains("/") { return .op(String(name)) }
        if let seq = path.dropPrefix("/v1/audit/proof/"), !seq.isEmpty, !seq.contains("/") { return .auditProof(String(seq)) }
        return nil
    }
}

extension Substring {
    /// The rest after `prefix`, nil when the text does not start with it.
    func dropPrefix(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? dropFirst(prefix.count) : nil
    }
}
