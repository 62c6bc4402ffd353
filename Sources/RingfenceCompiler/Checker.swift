import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// Checks one `when` expression: resolves paths to slots, validates functions, regexes and
/// globs, and infers static types (SPEC §3.4, §3.5). Every problem becomes a diagnostic; the
/// checker keeps going so one run reports them all.
struct ExpressionChecker {
    /// Where the expression text sits in its file.
    let source: ExpressionSource
    /// The raw source line the expression starts on, for exact columns in quoted scalars.
    var rawLine: Substring?
    /// The compilation's patterns: each regex and glob is compiled there once, for every stage.
    let patterns: PatternCache
    /// Problems found so far.
    var diagnostics: [Diagnostic] = []

    /// The fields `agent` has, and their types.
    static let agentFields: [(String, StaticType)] = [
        ("id", .string), ("trust", .number), ("ring", .number), ("consensus", .bool), ("roles", .list), ("attrs", .dynamic),
    ]
    /// The roots a path can start with.
    static let roots = ["agent", "action", "resource", "resource_query", "resource_fragment", "params", "context"]
    /// Every function and its arity.
    static let functions: [String: Int] = [
        "has": 1, "glob": 2, "startsWith": 2, "endsWith": 2, "contains": 2, "lower": 1, "upper": 1, "len": 1,
    ]

    mutating func report(_ code: DiagnosticCode, _ message: String, _ span: Span, help: String? = nil) {
        diagnostics.append(Diagnostic(code, message, at: source.location(at: span.start, rawLine: rawLine), length: span.length, help: help))
    }

    /// Checks the whole `when`, which must be boolean.
    mutating func checkCondition(_ e: Expression) -> TypedExpression? {
        guard let (typed, type) = check(e) else { return nil }
        guard type.admits(.bool) else {
            report(.notBoolean, Messages.whenNotBoolean(type.description), e.span)
            return nil
        }
        return typed
    }

    /// Checks `e`, returning its typed form and static type, or nil after reporting problems.
    mutating func check(_ e: Expression) -> (TypedExpression, StaticType)? {
        switch e.kind {
        case .literal(let lit):
            switch lit {
            case .string(let s): return (.constant(.string(s)), .string)
            case .number(let x): return (.constant(.number(x)), .number)
            case .bool(let b): return (.constant(.bool(b)), .bool)
            case .null: return (.constant(.null), .null)
            }
        case .list(let items):
            var constants: [Constant] = []
            var ok = true
            for item in items {
                guard case .literal(let lit) = item.kind else {
                    report(.listNotLiteral, Messages.listItemNotLiteral, item.span)
                    ok = false
                    continue
                }
                switch lit {
                case .string(let s): constants.append(.string(s))
                case .number(let x): constants.append(.number(x))
                case .bool(let b): constants.append(.bool(b))
                case .null: constants.append(.null)
                }
            }
            return ok ? (.constant(.list(constants)), .list) : nil
        case .path(let path):
            guard let (slot, type) = resolve(path, span: e.span) else { return nil }
            return (.slot(slot), type)
        case .not(let inner):
            guard let (t, type) = check(inner) else { return nil }
            guard requireBool(type, inner.span, operator: "!") else { return nil }
            return (.not(t), .bool)
        case .and(let a, let b), .or(let a, let b):
            let isAnd: Bool
            if case .and = e.kind { isAnd = true } else { isAnd = false }
            let left = check(a), right = check(b)
            guard let (ta, typeA) = left, let (tb, typeB) = right else { return nil }
            let okA = requireBool(typeA, a.span, operator: isAnd ? "&&" : "||")
            let okB = requireBool(typeB, b.span, operator: isAnd ? "&&" : "||")
            guard okA, okB else { return nil }
            return (isAnd ? .and(ta, tb) : .or(ta, tb), .bool)
        case .compare(let op, let a, let b):
            return checkComparison(op, a, b, span: e.span)
        case .call(let name, let nameSpan, let arguments):
            return checkCall(name, nameSpan: nameSpan, arguments, span: e.span)
        }
    }

    private mutating func requireBool(_ type: StaticType, _ span: Span, operator op: String) -> Bool {
        if type.admits(.bool) { return true }
        report(.notBoolean, Messages.operandNotBoolean(op, type.description), span)
        return false
    }

    private mutating func checkComparison(_ op: ComparisonOperator, _ a: Expression, _ b: Expression, span: Span) -> (TypedExpression, StaticType)? {
        if op == .matches {
            let left = check(a)
            guard case .literal(.string(let pattern)) = b.kind else {
                report(.patternNotLiteral, Messages.regexNotLiteral, b.span)
                return nil
            }
            guard let (ta, typeA) = left else { return nil }
            guard typeA.admits(.string) else {
                report(.typeMismatch, Messages.operatorNeeds("=~", "a string", typeA.description), a.span)
                return nil
            }
            guard validateRegex(pattern, span: b.span) else { return nil }
            return (.regex(ta, pattern: pattern), .bool)
        }
        let left = check(a), right = check(b)
        guard let (ta, typeA) = left, let (tb, typeB) = right else { return nil }
        switch op {
        case .equal, .notEqual:
            if typeA != .dynamic, typeB != .dynamic, typeA != typeB {
                report(.typeMismatch, Messages.cannotCompare(typeA.description, typeB.description), span)
                return nil
            }
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let orderable: (StaticType) -> Bool = { $0 == .number || $0 == .string || $0 == .dynamic }
            if !orderable(typeA) || !orderable(typeB) || (typeA != .dynamic && typeB != .dynamic && typeA != typeB) {
                report(.typeMismatch, Messages.cannotOrder(op.rawValue, typeA.description, typeB.description), span)
                return nil
            }
        case .in:
            switch typeB {
            case .list, .dynamic: break
            case .string where typeA.admits(.string): break
            default:
                report(.typeMismatch, Messages.cannotTestMembership(typeA.description, typeB.description), span)
                return nil
            }
        case .matches: break
        }
        return (.compare(op, ta, tb), .bool)
    }

    private mutating func checkCall(_ name: String, nameSpan: Span, _ args: [Expression], span: Span) -> (TypedExpression, StaticType)? {
        guard let arity = Self.functions[name] else {
            report(.unknownFunction, Messages.unknownFunction(name), nameSpan,
                   help: Suggestions.didYouMean(name, among: Self.functions.keys.sorted()))
            return nil
        }
        guard args.count == arity else {
            report(.argumentCount, Messages.argumentCount(name, expected: arity, found: args.count), span)
            return nil
        }
        switch name {
        case "has":
            guard case .path(let path) = args[0].kind else {
                report(.hasNeedsPath, Messages.hasNeedsPath, args[0].span)
                return nil
            }
            guard let (slot, _) = resolve(path, span: args[0].span) else { return nil }
            return (.has(slot), .bool)
        case "glob":
            let subject = check(args[0])
            guard case .literal(.string(let pattern)) = args[1].kind else {
                report(.patternNotLiteral, Messages.globNotLiteral, args[1].span)
                return nil
            }
            guard let (ts, type) = subject else { return nil }
            guard requireType(type, .string, of: name, args[0].span) else { return nil }
            do {
                _ = try patterns.glob(pattern, separator: 0x2F)
            } catch {
                report(.invalidGlob, Messages.invalidGlob(pattern, error.message), args[1].span)
                return nil
            }
            return (.glob(ts, pattern: pattern), .bool)
        case "lower", "upper":
            let transform: StringTransform = name == "lower" ? .lower : .upper
            switch args[0].kind {
            case .literal(.string(let s)):
                return (.constant(.string(transform == .lower ? s.lowercased() : s.uppercased())), .string)
            default:
                guard let (t, type) = check(args[0]) else { return nil }
                guard requireType(type, .string, of: name, args[0].span) else { return nil }
                guard case .slot(var slot) = t else {
                    report(.typeMismatch, Messages.transformNeedsPath(name), args[0].span)
                    return nil
                }
                slot.transforms.append(transform)
                return (.slot(slot), .string)
            }
        case "len":
            guard let (t, type) = check(args[0]) else { return nil }
            guard type == .string || type == .list || type == .dynamic else {
                report(.typeMismatch, Messages.functionArgument(name, "a string or list", type.description), args[0].span)
                return nil
            }
            return (.builtin(.length, [t]), .number)
        default:
            // startsWith, endsWith, contains
            let first = check(args[0]), second = check(args[1])
            guard let (ta, typeA) = first, let (tb, typeB) = second else { return nil }
            if name == "contains" {
                guard typeA == .string || typeA == .list || typeA == .dynamic else {
                    report(.typeMismatch, Messages.functionArgument(name, "a string or list", typeA.description), args[0].span)
                    return nil
                }
                if typeA == .string, !typeB.admits(.string) {
                    report(.typeMismatch, Messages.functionArgument(name, "a string", typeB.description), args[1].span)
                    return nil
                }
                return (.builtin(.contains, [ta, tb]), .bool)
            }
            guard requireType(typeA, .string, of: name, args[0].span), requireType(typeB, .string, of: name, args[1].span) else {
                return nil
            }
            return (.builtin(name == "startsWith" ? .startsWith : .endsWith, [ta, tb]), .bool)
        }
    }

    private mutating func requireType(_ type: StaticType, _ wanted: StaticType, of function: String, _ span: Span) -> Bool {
        if type.admits(wanted) { return true }
        report(.typeMismatch, Messages.functionArgument(function, "a \(wanted.description)", type.description), span)
        return false
    }

    /// Resolves a path to a slot and its static type.
    mutating func resolve(_ path: Path, span: Span) -> (SlotEntry, StaticType)? {
        let segments = path.segments
        let root = segments[0]
        switch root.name {
        case "action", "resource", "resource_query", "resource_fragment":
            if segments.count > 1 {
                report(.unknownField, Messages.noFields(root.name), segments[1].span)
                return nil
            }
            let roots: [String: SlotRoot] = ["action": .action, "resource": .resource,
                                             "resource_query": .resourceQuery, "resource_fragment": .resourceFragment]
            return (SlotEntry(root: roots[root.name]!), .string)
        case "params", "context":
            guard segments.count > 1 else {
                report(.unknownField, Messages.needsField(root.name), root.span)
                return nil
            }
            return (SlotEntry(root: root.name == "params" ? .params : .context, path: segments.dropFirst().map(\.name)), .dynamic)
        case "agent":
            guard segments.count > 1 else {
                report(.unknownField, Messages.needsField("agent"), root.span)
                return nil
            }
            let field = segments[1]
            guard let (_, type) = Self.agentFields.first(where: { $0.0 == field.name }) else {
                report(.unknownField, Messages.unknownAgentField(field.name), field.span,
                       help: Suggestions.didYouMean(field.name, among: Self.agentFields.map(\.0)))
                return nil
            }
            if field.name == "attrs" {
                guard segments.count > 2 else {
                    report(.unknownField, Messages.needsField("agent.attrs"), field.span)
                    return nil
                }
                return (SlotEntry(root: .agentAttrs, path: segments.dropFirst(2).map(\.name)), .dynamic)
            }
            if segments.count > 2 {
                report(.unknownField, Messages.noFields("agent.\(field.name)"), segments[2].span)
                return nil
            }
            let roots: [String: SlotRoot] = ["id": .agentID, "trust": .agentTrust, "ring": .agentRing, "consensus": .agentConsensus, "roles": .agentRoles]
            return (SlotEntry(root: roots[field.name]!), type)
        default:
            report(.unknownPath, Messages.unknownRoot(root.name), root.span,
                   help: Suggestions.didYouMean(root.name, among: Self.roots))
            return nil
        }
    }

    private mutating func validateRegex(_ pattern: String, span: Span) -> Bool {
        do {
            _ = try patterns.regex(pattern)
        } catch {
            report(.invalidRegex, Messages.invalidRegex(pattern, error.message, offset: error.offset), span)
            return false
        }
        if let group = RegexLint.nestedUnboundedQuantifier(pattern) {
            let scalars = Array(pattern.unicodeScalars)
            let text = String(String.UnicodeScalarView(scalars[max(0, group.lowerBound)..<min(scalars.count, group.upperBound)]))
            report(.regexNestedQuantifier, Messages.regexNestedQuantifier(text), span,
                   help: "make the inner repeat possessive or atomic, e.g. `(?>a+)+` or `(a++)+`, or bound it")
        }
        if RegexLint.hasTopLevelAlternation(pattern) {
            report(.regexAlternation, Messages.regexAlternation(pattern), span,
                   help: "wrap the alternatives in a group, e.g. `(?:a|b)`, if they should share the rest of the pattern")
        }
        return true
    }
}
