import RingfenceDiagnostics

/// The formats a policy file can be read in (SPEC §2, §6): the native format or one of the seed
/// dialects that compile unchanged.
public enum DocumentDialect: String, Sendable, Hashable, CaseIterable {
    /// A native document with `ringfence: 1` and a `kind`.
    case native
    /// A capability allow-list: `capabilities: [{action, resource, constraint}]`.
    case capabilities
    /// A rule document: `version`, `name`, `rules: [{name, condition, action, priority, message}]`, `defaults`.
    case ruleDocument = "rule-document"

    /// The dialect of a parsed policy (its `PolicyDocument.dialect` string), or nil for a native one.
    public init?(policyDialect: String?) {
        guard let policyDialect, let dialect = DocumentDialect(rawValue: policyDialect), dialect != .native else { return nil }
        self = dialect
    }

    /// The dialect's name as `check` prints it, e.g. `capability allow-list`.
    public var displayName: String {
        switch self {
        case .native: "native ringfence document"
        case .capabilities: "capability allow-list"
        case .ruleDocument: "rule document"
        }
    }
}

/// What a document without a `ringfence:` key looks like, judged by its keys alone.
enum SeedShape: Equatable {
    /// A `capabilities:` key: a capability allow-list.
    case capabilities
    /// `rules:` whose items have a `condition`, or `version` beside `rules`: a rule document.
    case ruleDocument
    /// `steps:` beside `session_id`: a seed saga (parsed by the saga front end, not here).
    case saga
    /// None of the seed shapes.
    case unknown
}

/// Recognises seed dialects by shape (SPEC §6).
enum DialectDetection {
    /// The shape of a root mapping that has no `ringfence:` key; checked in the order
    /// capabilities, rule document, saga, so a file is never claimed by two dialects.
    static func shape(of pairs: [YAMLPair]) -> SeedShape {
        func value(_ key: String) -> YAMLNode? { pairs.first { $0.key == key }?.value }
        if value("capabilities") != nil { return .capabilities }
        if let rules = value("rules") {
            if value("version") != nil { return .ruleDocument }
            if let items = rules.sequence, items.contains(where: { $0["condition"] != nil }) { return .ruleDocument }
        }
        if value("steps") != nil, value("session_id") != nil { return .saga }
        return .unknown
    }
}
