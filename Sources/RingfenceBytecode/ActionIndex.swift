/// The rule index compiled into every program: which rules a request's action can reach.
///
/// Rules of deny-overrides policies whose action patterns are all literal (no `* ? [ ] { } \`)
/// are filed under each exact action name; every other such rule is a wildcard, a candidate
/// for every action. Lists hold rule indexes in file order, so merging a bucket with the
/// wildcards keeps the order decisions report by. First-match policies are not indexed (they
/// are evaluated rule by rule). Rule bodies still test their own action, so the index narrows
/// the candidates and never decides anything itself.
///
/// Second level: for every indexed rule whose body tests the resource right after the action
/// (`MRES` failing to the rule's `NO`), the literal prefixes of its resource patterns — bytes
/// every matching resource starts with. A machine lays them out as prefix tries, so a decision
/// examines only the rules with a prefix of the request's resource (and those without a
/// resource test).
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
    /// Per rule: the literal prefixes of its resource patterns, or nil when the rule is not indexed
    /// or does not start with a resource test (it is then a candidate for every resource).
    public var resourcePrefixes: [[[UInt8]]?]

    /// Creates an index.
    public init(buckets: [Bucket] = [], wildcards: [UInt32] = [], resourcePrefixes: [[[UInt8]]?] = []) {
        self.buckets = buckets
        self.wildcards = wildcards
        self.resourcePrefixes = resourcePrefixes
    }

    /// Bytes every subject matching glob `g` starts with: the pattern up to its first
    /// metacharacter, less a separator ending that run (`a/**` also matches `a`); the whole
    /// pattern when it has no metacharacter. A shorter prefix is always safe, so this errs short.
    public static func literalPrefix(of g: GlobEntry) -> [UInt8] {
        let bytes = Array(g.pattern.utf8)
        guard let meta = bytes.firstIndex(where: { isMeta($0) }) else { return bytes }
        var prefix = Array(bytes[..<meta])
        if prefix.last == g.separator { prefix.removeLast() }
        return prefix
    }

    /// `* ? [ ] { } \`.
    private static func isMeta(_ byte: UInt8) -> Bool {
        byte == 0x2A || byte == 0x3F || byte == 0x5B || byte == 0x5D || byte == 0x7B || byte == 0x7D || byte == 0x5C
    }

    /// True when `pattern` has no glob metacharacter, so it matches exactly itself.
    public static func isLiteral(_ pattern: String) -> Bool {
        !pattern.utf8.contains { isMeta($0) }
    }

    /// Builds the index of `program` from its rules' action glob sets (the first instruction of
    /// every rule body is its `MACT`).
    public static func build(_ program: Program) -> ActionIndex {
        var byAction: [String: [UInt32]] = [:]
        var wildcards: [UInt32] = []
        var prefixes: [[[UInt8]]?] = Array(repeating: nil, count: program.rules.count)
        for (index, rule) in program.rules.enumerated() {
            guard Int(rule.policy) < program.policies.count, program.policies[Int(rule.policy)].combining == .denyOverrides else { continue }
            prefixes[index] = resourcePrefixes(of: rule, in: program)
            guard let patterns = actionPatterns(of: rule, in: program), patterns.allSatisfy(isLiteral) else {
                wildcards.append(UInt32(index))
                continue
            }
            for name in Set(patterns) { byAction[name, default: []].append(UInt32(index)) }
        }
        let buckets = byAction.map { Bucket(action: $0.key, rules: $0.value) }
            .sorted { Array($0.action.utf8).lexicographicallyPrecedes(Array($1.action.utf8)) }
        return ActionIndex(buckets: buckets, wildcards: wildcards, resourcePrefixes: prefixes)
    }

    /// True when instruction `pc` is a conditional match whose failure target is a `NO`, so failing
    /// it means the rule does not apply.
    private static func failsToNo(_ pc: Int, in program: Program) -> Bool {
        guard pc < program.code.count else { return false }
        let target = Int(program.code[pc].c)
        return target < program.code.count && program.code[target].op == .no
    }

    /// The literal prefixes of the resource patterns of a rule whose body starts with `MRES`, or
    /// `MACT` then `MRES`, each failing to a `NO`; nil otherwise.
    private static func resourcePrefixes(of rule: RuleEntry, in program: Program) -> [[UInt8]]? {
        var pc = Int(rule.entry)
        guard pc < program.code.count, pc < Int(rule.end) else { return nil }
        if program.code[pc].op == .matchAction {
            guard failsToNo(pc, in: program) else { return nil }
            pc += 1
        }
        guard pc < program.code.count, pc < Int(rule.end), program.code[pc].op == .matchResource, failsToNo(pc, in: program),
              program.code[pc].globSet < program.globSets.count else { return nil }
        var prefixes: [[UInt8]] = []
        for g in program.globSets[program.code[pc].globSet] {
            guard Int(g) < program.globs.count else { return nil }
            prefixes.append(literalPrefix(of: program.globs[Int(g)]))
        }
        return prefixes
    }

    /// The action patterns a rule's body tests first, or nil when its body does not start with `MACT`.
    private static func actionPatterns(of rule: RuleEntry, in program: Program) -> [String]? {
        guard Int(rule.entry) < program.code.count else { return nil }
        let first = program.code[Int(rule.entry)]
        guard first.op == .matchAction, failsToNo(Int(rule.entry), in: program), first.globSet < program.globSets.count else { return nil }
        var patterns: [String] = []
        for g in program.globSets[first.globSet] {
            guard Int(g) < program.globs.count else { return nil }
            patterns.append(program.globs[Int(g)].pattern)
        }
        return patterns
    }
}
