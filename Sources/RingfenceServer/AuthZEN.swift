import RingfenceRuntime

// OpenID AuthZEN 1.0 over the runtime (SPEC §14.1). An evaluation
//
//   {"subject": {"type", "id", "properties"}, "action": {"name", "properties"},
//    "resource": {"type", "id", "properties"}, "context": {…}}
//
// becomes the request (SPEC §1)
//
//   subject.id → agent.id; subject.properties → the other agent fields (`trust`, `ring`,
//   `consensus`, `roles`, `attrs`; any other property joins `agent.attrs`); action.name →
//   action; action.properties → params; resource.id → resource; context → context, and
//   context.session (a string) → the session it is decided in.
//
// `subject.type` and `resource.type` are read but do not take part (Ringfence's agents are
// one type and its resources are strings); `resource.properties` does not take part either.
// A denial is `{"decision": false}` with HTTP 200; the context carries the decision's code,
// policy, rule, reason and ring.

/// The AuthZEN evaluation API.
enum AuthZEN {
    /// `evaluations_semantic` values of the batch API.
    enum Semantic: String, CaseIterable {
        /// Evaluate every item.
        case executeAll = "execute_all"
        /// Stop after the first denial.
        case denyOnFirstDeny = "deny_on_first_deny"
        /// Stop after the first permit.
        case permitOnFirstPermit = "permit_on_first_permit"
    }

    /// The keys an evaluation (or a batch item) may override.
    static let evaluationKeys = ["subject", "action", "resource", "context"]

    /// The request and session an evaluation names.
    static func request(_ members: [String: Value]) throws(RuntimeError) -> (request: Request, session: String?) {
        guard case .object(let subject)? = members["subject"] else {
            throw RuntimeError(.invalidRequest, "an evaluation needs a `subject` object with an `id`")
        }
        guard case .string(let id)? = subject["id"] else {
            throw RuntimeError(.invalidRequest, "`subject.id` must be a string naming the agent")
        }
        var agent: [String: Value] = ["id": .string(id)]
        if let properties = subject["properties"], properties != .null {
            guard case .object(let fields) = properties else {
                throw RuntimeError(.invalidRequest, "`subject.properties` must be an object")
            }
            var extra: [String: Value] = [:]
            for (key, value) in fields {
                if key == "id" { continue }
                if Request.agentFieldNames.contains(key) { agent[key] = value } else { extra[key] = value }
            }
            if !extra.isEmpty {
                var attrs: [String: Value] = [:]
                if case .object(let given)? = agent["attrs"] { attrs = given } else if let given = agent["attrs"], given != .null {
                    throw RuntimeError(.invalidRequest, "`subject.properties.attrs` must be an object")
                }
                for (key, value) in extra where attrs[key] == nil { attrs[key] = value }
                agent["attrs"] = .object(attrs)
            }
        }
        guard case .object(let action)? = members["action"] else {
            throw RuntimeError(.invalidRequest, "an evaluation needs an `action` object with a `name`")
        }
        guard case .string(let name)? = action["name"] else {
            throw RuntimeError(.invalidRequest, "`action.name` must be a string naming the action")
        }
        var request: [String: Value] = ["agent": .object(agent), "action": .string(name)]
        if let properties = action["properties"], properties != .null { request["params"] = properties }
        if let resource = members["resource"], resource != .null {
            guard case .object(let fields) = resource else { throw RuntimeError(.invalidRequest, "`resource` must be an object") }
            if let id = fields["id"], id != .null {
                guard case .string = id else { throw RuntimeError(.invalidRequest, "`resource.id` must be a string") }
                request["resource"] = id
            }
        }
        var session: String?
        if let context = members["context"], context != .null {
            guard case .object(let fields) = context else { throw RuntimeError(.invalidRequest, "`context` must be an object") }
            request["context"] = context
            if let given = fields["session"], given != .null {
                guard case .string(let text) = given else { throw RuntimeError(.invalidRequest, "`context.session` must be a string") }
                session = text
            }
        }
        do {
            return (try Request(value: .object(request)), session)
        } catch {
            throw RuntimeError(.invalidRequest, error.message)
        }
    }

    /// The evaluation answer for a decision: `{"decision": bool, "context": {…}}`.
    static func answer(_ outcome: RuntimeDecision) -> String {
        let d = outcome.decision
        var out = "{\"decision\":" + (d.allowed ? "true" : "false") + ",\"context\":{\"code\":" + JSONText.quote(d.code.rawValue)
        out += ",\"policy\":" + (d.policy.map(JSONText.quote) ?? "null")
        out += ",\"rule\":" + (d.rule.map(JSONText.quote) ?? "null")
        out += ",\"reason\":" + JSONText.quote(d.reason)
        out += ",\"ring\":\(d.ring)"
        if let retryAfter = outcome.retryAfter { out += ",\"retry_after\":" + OperationResultText.text(.number(retryAfter)) }
        return out + "}}"
    }

    /// The answer for an item of a batch that could not be decided: a denial naming the error.
    static func failedItem(_ error: RuntimeError) -> String {
        "{\"decision\":false,\"context\":{\"error\":{\"code\":" + JSONText.quote(error.code.rawValue)
            + ",\"message\":" + JSONText.quote(error.message) + "}}}"
    }

    /// The batch's items: each item's keys over the defaults at the top level.
    static func items(_ members: [String: Value], limit: Int) throws(RuntimeError) -> (items: [[String: Value]], semantic: Semantic)? {
        var semantic = Semantic.executeAll
        if let options = members["options"], options != .null {
            guard case .object(let fields) = options else { throw RuntimeError(.invalidField, "`options` must be an object") }
            if let given = fields["evaluations_semantic"], given != .null {
                guard case .string(let text) = given, let parsed = Semantic(rawValue: text) else {
                    throw RuntimeError(.invalidField, "`options.evaluations_semantic` must be one of "
                        + Semantic.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "))
                }
                semantic = parsed
            }
        }
        guard let list = members["evaluations"], list != .null else { return nil }
        guard case .list(let entries) = list else { throw RuntimeError(.invalidField, "`evaluations` must be a list of objects") }
        if entries.isEmpty { return nil }
        guard entries.count <= limit else {
            throw RuntimeError(.invalidField, "`evaluations` holds \(entries.count) items; the limit is \(limit)")
        }
        var items: [[String: Value]] = []
        items.reserveCapacity(entries.count)
        for entry in entries {
            var item: [String: Value] = [:]
            for key in evaluationKeys { if let value = members[key] { item[key] = value } }
            if case .object(let overrides) = entry {
                for key in evaluationKeys { if let value = overrides[key] { item[key] = value } }
                items.append(item)
            } else {
                // Not an object: an item that fails on its own (marked so `request` refuses it).
                items.append(["subject": entry, "action": .null])
            }
        }
        return (items, semantic)
    }

    /// `GET /.well-known/authzen-configuration` for a server reached at `base`.
    static func configuration(base: String) -> String {
        "{\"policy_decision_point\":" + JSONText.quote(base)
            + ",\"access_evaluation_endpoint\":" + JSONText.quote(base + "/access/v1/evaluation")
            + ",\"access_evaluations_endpoint\":" + JSONText.quote(base + "/access/v1/evaluations") + "}"
    }
}
