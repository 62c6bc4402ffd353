import Foundation
import RingfenceSyntax
import RingfenceTestSupport
import RingfenceVM
import RingfenceWire

/// One file of the evaluation corpus (`Tests/Fixtures/eval/*.yaml`): policies compiled together
/// in order, an optional clock, and cases of request → expected decision. The compiler's tests
/// decide it from the sources, the VM's tests from the committed bundle compiled from it
/// (`Tests/Fixtures/bundles/eval/`), the commands' tests through `ringfence eval`.
public struct EvalCorpus: Sendable {
    /// What the corpus expects of one decision; nil members are not checked, except `rule`.
    public struct Expectation: Sendable {
        /// `allow` or `deny`.
        public var decision: String
        /// The decision code (`allow`, `deny_rule`, `ring`, …).
        public var code: String
        /// The deciding rule; nil means the decision must name no rule.
        public var rule: String?
        /// The deciding rule's policy: `.some(nil)` means it must be null, nil means unchecked.
        public var policy: String??
        /// The decision's reason, when checked.
        public var reason: String?
        /// The agent's effective ring, when checked.
        public var ring: Int?
    }

    /// One request and what it must decide.
    public struct Case: Sendable {
        /// What the case shows.
        public var name: String
        /// The request to decide.
        public var request: Request
        /// The engine clock from this case on (seconds since 1970), when the case moves it.
        public var clock: Double?
        /// What the decision must be.
        public var expect: Expectation
    }

    /// The corpus file's name.
    public var file: String
    /// The SPEC clause the file pins.
    public var clause: String
    /// The policy sources, compiled together in order.
    public var policies: [String]
    /// The starting clock; when the file gives one, every request also carries it as `context.time`.
    public var clock: Double?
    /// The cases, run in order on one engine (rate-limit state carries over).
    public var cases: [Case]

    /// The clock engines start at when the file gives none.
    public static let defaultClock: Double = 1_000_000

    /// The keys a corpus file may hold.
    static let fileKeys = ["clause", "policies", "clock", "cases"]
    /// The keys a case may hold.
    static let caseKeys = ["name", "request", "clock", "expect"]
    /// The keys an expectation may hold.
    static let expectationKeys = ["decision", "code", "rule", "policy", "reason", "ring"]

    /// The corpus files, sorted; throws when the folder holds none.
    public static func files() throws -> [String] { try Fixtures.names(in: "eval") }

    /// The policies as compiler sources, named `<file>#1`, `<file>#2`, … (names that are the same
    /// on every machine, so the committed bundles are too).
    public var sources: [(path: String, text: String)] {
        policies.enumerated().map { (path: "\(file)#\($0.offset + 1)", text: $0.element) }
    }

    /// The committed bundle compiled from this file's policies (`Tests/Fixtures/bundles/eval/`).
    public var bundle: URL { Self.bundle(for: file) }

    /// The committed bundle of corpus file `name`.
    public static func bundle(for name: String) -> URL {
        Fixtures.url("bundles/eval").appendingPathComponent((name as NSString).deletingPathExtension + ".rfb")
    }

    /// A fresh clock at the file's start time.
    public func startClock() -> TestClock<Double> { TestClock(clock ?? Self.defaultClock) }

    /// Reads and validates a corpus file: a malformed file, an unknown key or a value of the wrong
    /// type is an error, never a skipped check.
    public static func load(_ name: String) throws -> EvalCorpus {
        let root = try CorpusYAML.document(try Fixtures.text(Fixtures.url("eval").appendingPathComponent(name)), file: name)
        try CorpusYAML.requireKeys(root, known: fileKeys, required: ["clause", "policies", "cases"], name)
        guard let clause = root["clause"]?.stringValue else { throw CorpusError("\(name): `clause` must be a string") }
        guard let policyNodes = root["policies"]?.sequence, !policyNodes.isEmpty else {
            throw CorpusError("\(name): `policies` must be a list of policy texts")
        }
        let policies = try policyNodes.map { node -> String in
            guard let text = node.stringValue else { throw CorpusError("\(name): a policy is not a string") }
            return text
        }
        let fileClock = try number(root["clock"], "\(name): `clock`")
        guard let caseNodes = root["cases"]?.sequence, !caseNodes.isEmpty else { throw CorpusError("\(name): `cases` must be a list of cases") }
        var cases: [Case] = []
        var clock = fileClock
        for (index, node) in caseNodes.enumerated() {
            try CorpusYAML.requireKeys(node, known: caseKeys, required: ["name", "request", "expect"], "\(name): case \(index + 1)")
            guard let caseName = node["name"]?.stringValue else { throw CorpusError("\(name): case \(index + 1): `name` must be a string") }
            let context = "\(name): case `\(caseName)`"
            let caseClock = try number(node["clock"], "\(context): `clock`")
            if let caseClock { clock = caseClock }
            var value = CorpusYAML.value(try required(node["request"], context))
            if fileClock != nil, let clock, case .object(var object) = value {
                var requestContext: [String: Value] = [:]
                if case .object(let existing)? = object["context"] { requestContext = existing }
                if requestContext["time"] == nil { requestContext["time"] = .string(TestTime.rfc3339(Int(clock))) }
                object["context"] = .object(requestContext)
                value = .object(object)
            }
            let request: Request
            do {
                request = try Request(value: value)
            } catch {
                throw CorpusError("\(context): bad request: \(error)")
            }
            cases.append(Case(name: caseName, request: request, clock: caseClock,
                              expect: try expectation(try required(node["expect"], context), context)))
        }
        return EvalCorpus(file: name, clause: clause, policies: policies, clock: fileClock, cases: cases)
    }

    /// Reads a case's `expect` mapping strictly; `context` names the case in messages.
    public static func expectation(_ node: YAMLNode, _ context: String) throws -> Expectation {
        try CorpusYAML.requireKeys(node, known: expectationKeys, required: ["decision", "code"], "\(context): `expect`")
        guard let decision = node["decision"]?.stringValue, ["allow", "deny"].contains(decision) else {
            throw CorpusError("\(context): `expect.decision` must be allow or deny")
        }
        guard let code = node["code"]?.stringValue, DecisionCode(rawValue: code) != nil else {
            throw CorpusError("\(context): `expect.code` is not a decision code")
        }
        var rule: String?
        if let r = node["rule"], !r.isNull {
            guard let text = r.scalarText else { throw CorpusError("\(context): `expect.rule` must be a rule id or null") }
            rule = text
        }
        var policy: String??
        if let p = node["policy"] {
            guard p.isNull || p.scalarText != nil else { throw CorpusError("\(context): `expect.policy` must be a policy name or null") }
            policy = .some(p.isNull ? nil : p.scalarText)
        }
        var reason: String?
        if let r = node["reason"] {
            guard let text = r.stringValue else { throw CorpusError("\(context): `expect.reason` must be a string") }
            reason = text
        }
        var ring: Int?
        if let r = node["ring"] {
            guard let number = r.numberValue, let whole = Int(exactly: number), (0...3).contains(whole) else {
                throw CorpusError("\(context): `expect.ring` must be a ring from 0 to 3")
            }
            ring = whole
        }
        return Expectation(decision: decision, code: code, rule: rule, policy: policy, reason: reason, ring: ring)
    }

    /// `node`, or an error naming the missing value.
    private static func required(_ node: YAMLNode?, _ context: String) throws -> YAMLNode {
        guard let node else { throw CorpusError("\(context): a required key is missing") }
        return node
    }

    /// The number `node` holds, nil when it is absent; an error when it holds anything else.
    private static func number(_ node: YAMLNode?, _ context: String) throws -> Double? {
        guard let node else { return nil }
        guard let number = node.numberValue else { throw CorpusError("\(context) must be a number") }
        return number
    }

    /// The differences between `decision` and what `expect` demands (empty when it matches).
    public static func mismatches(_ decision: (decision: String, code: String, policy: String?, rule: String?, reason: String?, ring: Int?),
                                  _ expect: Expectation) -> [String] {
        var out: [String] = []
        if decision.decision != expect.decision { out.append("decision \(decision.decision) ≠ expected \(expect.decision)") }
        if decision.code != expect.code { out.append("code \(decision.code) ≠ expected \(expect.code)") }
        if decision.rule != expect.rule { out.append("rule \(decision.rule ?? "null") ≠ expected \(expect.rule ?? "null")") }
        if let policy = expect.policy, decision.policy != policy {
            out.append("policy \(decision.policy ?? "null") ≠ expected \(policy ?? "null")")
        }
        if let reason = expect.reason, decision.reason != reason { out.append("reason \(decision.reason ?? "nil") ≠ expected \(reason)") }
        if let ring = expect.ring, decision.ring != ring { out.append("ring \(decision.ring.map(String.init) ?? "nil") ≠ expected \(ring)") }
        return out
    }
}

extension Decision {
    /// The fields the corpora compare.
    public var corpusFields: (decision: String, code: String, policy: String?, rule: String?, reason: String?, ring: Int?) {
        (decision, code.rawValue, policy, rule, reason, ring)
    }
}
