import RingfenceRuntime
import Synchronization

// `GET /metrics` in the Prometheus text format (0.0.4), written directly: a handful of counters
// and one histogram need no metrics framework, and atomics keep the hot path free of locks and
// allocations (swift-metrics with a Prometheus backend would take a lock and a dictionary
// lookup per update).

/// A counter or gauge cell, updated atomically.
final class MetricCell: Sendable {
    /// The value.
    let value = Atomic<UInt64>(0)

    /// Adds `n`.
    @inline(__always)
    func add(_ n: UInt64 = 1) { value.wrappingAdd(n, ordering: .relaxed) }

    /// Subtracts `n`.
    @inline(__always)
    func subtract(_ n: UInt64 = 1) { value.wrappingSubtract(n, ordering: .relaxed) }

    /// The value now.
    var current: UInt64 { value.load(ordering: .relaxed) }
}

/// The server's metrics.
final class ServerMetrics: Sendable {
    /// The routes latency is recorded for (the histogram's `route` label).
    enum Route: Int, CaseIterable, Sendable {
        case decide, ops, batch, evaluation, evaluations, audit, reload, other

        /// The label value.
        var label: String {
            switch self {
            case .decide: "decide"
            case .ops: "ops"
            case .batch: "batch"
            case .evaluation: "evaluation"
            case .evaluations: "evaluations"
            case .audit: "audit"
            case .reload: "reload"
            case .other: "other"
            }
        }
    }

    /// The histogram's upper bounds, in seconds.
    static let bounds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
    /// The bounds in nanoseconds, for bucketing without floating point.
    private static let boundsNanoseconds: [UInt64] = bounds.map { UInt64($0 * 1e9) }

    /// Decisions by code, in `DecisionCode.allCases` order.
    private let decisions = DecisionCode.allCases.map { _ in MetricCell() }
    /// Per route: one cell per bucket plus +Inf, then the sum in nanoseconds.
    private let latency = Route.allCases.map { _ in (ServerMetrics.bounds.map { _ in MetricCell() } + [MetricCell()], MetricCell()) }
    /// Responses by status class (1xx … 5xx).
    private let responses = (0..<5).map { _ in MetricCell() }
    /// Requests being handled now.
    let inFlight = MetricCell()
    /// Reloads that swapped the policies.
    let reloadsOK = MetricCell()
    /// Reloads that kept the old policies.
    let reloadsFailed = MetricCell()

    /// Counts one decision.
    @inline(__always)
    func decided(_ code: DecisionCode) {
        decisions[DecisionCode.allCases.firstIndex(of: code) ?? 0].add()
    }

    /// Counts one decision named by its code's text (from an operation's result).
    func decided(codeText: String) {
        if let code = DecisionCode(rawValue: codeText) { decided(code) }
    }

    /// Records one answered request.
    func answered(route: Route, status: Int, nanoseconds: UInt64) {
        let (buckets, sum) = latency[route.rawValue]
        var index = Self.boundsNanoseconds.count
        for (i, bound) in Self.boundsNanoseconds.enumerated() where nanoseconds <= bound {
            index = i
            break
        }
        buckets[index].add()
        sum.add(nanoseconds)
        let statusClass = status / 100 - 1
        if (0..<5).contains(statusClass) { responses[statusClass].add() }
    }

    /// The Prometheus text: the server's own metrics and the runtime's gauges.
    func text(auditQueueDepth: UInt64, auditSize: UInt64, sagas: [String: Int], bundleSHA256: String) -> String {
        var out = ""
        out += "# HELP ringfence_decisions_total Decisions made, by decision code.\n# TYPE ringfence_decisions_total counter\n"
        for (i, code) in DecisionCode.allCases.enumerated() {
            out += "ringfence_decisions_total{code=\"\(code.rawValue)\"} \(decisions[i].current)\n"
        }
        out += "# HELP ringfence_request_duration_seconds Time from a request's head to its answer, by route.\n"
        out += "# TYPE ringfence_request_duration_seconds histogram\n"
        for route in Route.allCases {
            let (buckets, sum) = latency[route.rawValue]
            var cumulative: UInt64 = 0
            for (i, bound) in Self.bounds.enumerated() {
                cumulative += buckets[i].current
                out += "ringfence_request_duration_seconds_bucket{route=\"\(route.label)\",le=\"\(bound)\"} \(cumulative)\n"
            }
            cumulative += buckets[Self.bounds.count].current
            out += "ringfence_request_duration_seconds_bucket{route=\"\(route.label)\",le=\"+Inf\"} \(cumulative)\n"
            out += "ringfence_request_duration_seconds_sum{route=\"\(route.label)\"} \(Double(sum.current) / 1e9)\n"
            out += "ringfence_request_duration_seconds_count{route=\"\(route.label)\"} \(cumulative)\n"
        }
        out += "# HELP ringfence_http_responses_total Responses sent, by status class.\n# TYPE ringfence_http_responses_total counter\n"
        for (i, cell) in responses.enumerated() {
            out += "ringfence_http_responses_total{class=\"\(i + 1)xx\"} \(cell.current)\n"
        }
        out += "# HELP ringfence_requests_in_flight Requests being handled now.\n# TYPE ringfence_requests_in_flight gauge\n"
        out += "ringfence_requests_in_flight \(inFlight.current)\n"
        out += "# HELP ringfence_audit_queue_depth Audit records queued and not yet committed.\n# TYPE ringfence_audit_queue_depth gauge\n"
        out += "ringfence_audit_queue_depth \(auditQueueDepth)\n"
        out += "# HELP ringfence_audit_entries Entries committed to the audit log.\n# TYPE ringfence_audit_entries gauge\n"
        out += "ringfence_audit_entries \(auditSize)\n"
        out += "# HELP ringfence_sagas Sagas known to the runtime, by state.\n# TYPE ringfence_sagas gauge\n"
        for state in ServerMetrics.sagaStates {
            out += "ringfence_sagas{state=\"\(state)\"} \(sagas[state] ?? 0)\n"
        }
        out += "# HELP ringfence_reloads_total Policy reloads, by result.\n# TYPE ringfence_reloads_total counter\n"
        out += "ringfence_reloads_total{result=\"ok\"} \(reloadsOK.current)\n"
        out += "ringfence_reloads_total{result=\"failed\"} \(reloadsFailed.current)\n"
        out += "# HELP ringfence_policy_info The policies in force.\n# TYPE ringfence_policy_info gauge\n"
        out += "ringfence_policy_info{bundle_sha256=\"\(bundleSHA256)\"} 1\n"
        return out
    }

    /// The saga states of SPEC §10.5.
    static let sagaStates = ["running", "completed", "compensating", "compensated", "escalated"]
}
