/// A decision with, for every rule in file order, why it did or did not decide.
public struct Explanation: Sendable, Hashable {
    /// The decision, exactly as `Engine.evaluate` makes it.
    public var decision: Decision
    /// One entry per rule of the program, in file order.
    public var rules: [RuleExplanation]

    /// One JSON object: `{"decision":{…},"rules":[{"policy","rule","effect","result","detail","decided","line"}…]}`.
    public var jsonText: String {
        let items = rules.map { r in
            "{\"policy\":\(JSONText.quote(r.policy)),\"rule\":\(JSONText.quote(r.rule)),\"effect\":\(JSONText.quote(r.effect))," +
                "\"result\":\(JSONText.quote(r.result.rawValue)),\"detail\":\(JSONText.quote(r.detail))," +
                "\"decided\":\(r.decided),\"line\":\(r.line)}"
        }
        return "{\"decision\":\(decision.jsonLine),\"rules\":[\(items.joined(separator: ","))]}"
    }

    /// The explanation as indented text for people, one rule per line.
    public var text: String {
        var lines = ["\(decision.decision) (\(decision.code.rawValue))\(decision.rule.map { " by \(decision.policy ?? "")/\($0)" } ?? ""): \(decision.reason)"]
        for r in rules {
            lines.append("  \(r.decided ? "▶" : " ") \(r.policy)/\(r.rule) [\(r.effect), line \(r.line)] \(r.result.rawValue): \(r.detail)")
        }
        return lines.joined(separator: "\n")
    }
}

extension Engine {
    /// Decides on `request` exactly as `evaluate` does (taking a rate-limit token when a limited
    /// rule allows) and explains every rule: action or resource mismatch, which comparison made
    /// `when` false, how it errored, ring gate or rate limit. Slower than `evaluate`; for
    /// debugging, tests and `eval --explain`.
    public func explain(_ request: Request) -> Explanation {
        explain(prepare(request))
    }

    /// Decides on and explains a request already prepared for this engine's machine (by
    /// `prepare`, or decoded straight into its slots by a `PreparedRequestDecoder`).
    public func explain(_ prepared: PreparedRequest) -> Explanation {
        let decision = evaluate(prepared)
        return Explanation(decision: decision, rules: machine.explain(prepared, decision: decision))
    }
}
