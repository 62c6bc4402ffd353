/// The rule index compiled into every program: which rules a request's action can reach.
///
/// Rules of deny-overrides policies whose action patterns are all literal (no `* ? [ ] { } \`)
/// are filed under each exact action name; every other such rule is a wildcard, a candidate
/// for every action. Lists hold rule indexes in file order, so merging a bucket with the
/// wildcards keeps the order decisions report by. First-match policies are not indexed (they
/// are evaluated rule by rule). Rule bodies still test their own action, so the index narrows
/// the candidates and never decides anything itself.
///
/// The index is part of the bundle, and the verifier rebuilds it from the rules and refuses a
/// bundle whose index differs.
public struct ActionIndex: Sendable, Hashable {
    /// One exact action name and the rules filed under it.
    public struct Bucket: Sendable, Hashable {
        /// The action name.
        public var action: String
        /// Rule indexes, ascending.
        public var rules: [UInt32]
        /// Creates a bucket.
        public init(action: String, rules: [UInt32]) {
            self.action = action
            self.rules = rules
        }
    }

    /// Buckets sorted by action name (byte order).
    public var buckets: [Bucket]
    /// Rules with a wildcard action pattern, ascending.
    public var wildcards: [UInt32]

    /// Creates an index.
    public init(buckets: [Bucket] = [], wildcards: [UInt32] = []) {
        self.buckets = buckets
        self.wildcards = wildcards
    }

    /// True when `pattern` has no glob metacharacter, so it matches exactly itself.
    public static func isLiteral(_ pattern: String) -> Bool {
        !pattern.utf8.contains { $0 == 0x2A || $0 == 0x3F || $0 == 0x5B || $0 == 0x5D || $0 == 0x7B || $0 == 0x7D || $0 == 0x5C }
    }

    /// Builds the index of `program` from its rules' action glob sets (the first instruction of
    /// every rule body is its `MACT`).
    public static func build(_ program: Program) -> ActionIndex {
        var byAction: [String: [UInt32]] = [:]
        var wildcards: [UInt32] = []
        for (index, rule) in program.rules.enumerated() {
            guard Int(rule.policy) < program.policies.count, program.policies[Int(rule.policy)].combining == .denyOverrides else { continue }
            guard let patterns = actionPatterns(of: rule, in: program), patterns.allSatisfy(isLiteral) else {
                wildcards.append(UInt32(index))
                continue
            }
            for name in Set(patterns) { byAction[name, default: []].append(UInt32(index)) }
        }
        let buckets = byAction.map { Bucket(action: $0.key, rules: $0.value) }
            .sorted { Array($0.action.utf8).lexicographicallyPrecedes(Array($1.action.utf8)) }
        return ActionIndex(buckets: buckets, wildcards: wildcards)
    }

    /// The action patterns a rule's body tests first, or nil when its body does not start with `MACT`.
    private static func actionPatterns(of rule: RuleEntry, in program: Program) -> [String]? {
        guard Int(rule.entry) < program.code.count else { return nil }
        let first = program.code[Int(rule.entry)]
        guard first.op == .matchAction, Int(first.b) < program.globSets.count else { return nil }
        var patterns: [String] = []
        for g in program.globSets[Int(first.b)] {
            guard Int(g) < program.globs.count else { return nil }
            patterns.append(program.globs[Int(g)].pattern)
        }
        return patterns
    }
}
