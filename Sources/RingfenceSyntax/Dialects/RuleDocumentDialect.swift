import RingfenceDiagnostics

/// Reads a seed rule document (SPEC §6) into a first-match policy: rules sorted by descending
/// `priority` (ties keep file order), each rule's `condition` turned into a generated `when`
/// expression that the ordinary checker and compiler give its meaning.
///
/// ```yaml
/// version: "1.0"
/// name: payments
/// rules:
///   - name: block-large
///     condition: { field: amount, operator: gt, value: 1000 }
///     action: block
///     priority: 100
///     message: payment too large
/// defaults: { action: allow }
/// ```
public enum RuleDocumentDialect {
    /// The name recorded in `PolicyDocument.dialect`.
    public static let dialectName = DocumentDialect.ruleDocument.rawValue
    /// The top-level keys the dialect reads (the rest are warned about and ignored).
    static let documentKeys = ["version", "name", "description", "rules", "defaults"]
    /// The keys a rule reads.
    static let ruleKeys = ["name", "condition", "action", "priority", "message", "description"]
    /// The keys a condition reads.
    static let conditionKeys = ["field", "operator", "value"]
    /// The keys `defaults` reads.
    static let defaultsKeys = ["action"]
    /// The operators, in the order they are suggested.
    static let operators = ["eq", "ne", "gt", "lt", "gte", "lte", "in", "not_in", "contains", "matches"]
    /// The rule actions and whether each allows.
    static let actions: [(name: String, allows: Bool)] = [("allow", true), ("deny", false), ("audit", true), ("block", false)]

    /// Parses a rule document; returns nil when no document could be built, plus every
    /// diagnostic sorted for output.
    public static func parse(_ root: YAMLNode, file: String) -> (PolicyDocument?, [Diagnostic]) {
        var reader = StructureReader(file: file)
        let document = parseDocument(root, &reader)
        return (document, reader.diagnostics.sortedForOutput())
    }

    /// One rule as read, before sorting by priority.
    private struct ReadRule {
        var declaration: RuleDeclaration
        var priority: Double
    }

    /// document := { version?, name?: string, description?, rules: [rule], defaults?: { action } }
    private static func parseDocument(_ root: YAMLNode, _ reader: inout StructureReader) -> PolicyDocument? {
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return nil
        }
        reader.warnIgnoredKeys(pairs, read: documentKeys, context: "rule document")
        var name = Located(CapabilityDialect.baseName(of: reader.file), at: root.location)
        var read: [ReadRule] = []
        var defaultAllow = false
        var sawRules = false
        var firstLine: [String: Int] = [:]
        for pair in pairs {
            switch pair.key {
            case "name":
                guard let text = reader.nonEmptyString(pair, what: "document name") else { return nil }
                name = text
            case "description":
                _ = reader.string(pair)
            case "rules":
                sawRules = true
                guard let items = reader.list(pair) else { continue }
                for item in items {
                    guard let rule = parseRule(item, &reader) else { continue }
                    let id = rule.declaration.id
                    if id.value.isEmpty {
                        // A rule without a name was reported already.
                    } else if let line = firstLine[id.value] {
                        reader.error(.duplicateRuleID, Messages.duplicateRuleID(Messages.excerpt(id.value)),
                                     at: id.location, length: id.length, help: Messages.firstDefined(atLine: line))
                    } else {
                        firstLine[id.value] = id.location.line
                    }
                    read.append(rule)
                }
            case "defaults":
                guard let entries = reader.mapping(pair) else { continue }
                reader.warnIgnoredKeys(entries, read: defaultsKeys, context: "`defaults`")
                if let actionPair = entries.first(where: { $0.key == "action" }), let allows = ruleAction(actionPair, &reader) {
                    defaultAllow = allows.value
                }
            default:
                break
            }
        }
        if !sawRules {
            reader.error(.missingKey, Messages.missingKey("rules", in: "rule document"), at: root.location)
        }
        // Highest priority first; a stable sort keeps file order among equal priorities.
        let ordered = read.enumerated().sorted { a, b in
            a.element.priority != b.element.priority ? a.element.priority > b.element.priority : a.offset < b.offset
        }
        var document = PolicyDocument(file: reader.file, name: name, rings: nil, rules: ordered.map(\.element.declaration), location: root.location)
        document.combining = .firstMatch(defaultAllow: defaultAllow)
        document.dialect = dialectName
        return document
    }

    /// rule := { name: string, condition: condition, action: allow|deny|audit|block,
    ///           priority?: number (default 0), message?: string, description? }
    private static func parseRule(_ node: YAMLNode, _ reader: inout StructureReader) -> ReadRule? {
        guard let pairs = node.mapping else {
            reader.error(.wrongType, Messages.ruleNotMapping(found: node.typeName), at: node)
            return nil
        }
        reader.warnIgnoredKeys(pairs, read: ruleKeys, context: "rule")
        let errorsBefore = reader.errorCount
        var id: Located<String>?
        var allows: Located<Bool>?
        var priority = 0.0
        var message: String?
        var when: ExpressionSource?
        for pair in pairs {
            switch pair.key {
            case "name":
                id = reader.nonEmptyString(pair, what: "rule name")
            case "condition":
                when = parseCondition(pair, &reader)
            case "action":
                allows = ruleAction(pair, &reader)
            case "priority":
                switch pair.value.scalar?.value {
                case .integer(let n)?: priority = Double(n)
                case .float(let x)? where x.isFinite: priority = x
                default:
                    reader.error(.wrongType, Messages.wrongType("priority", expected: "a finite number", found: pair.value.typeName), at: pair.value)
                }
            case "message":
                message = reader.string(pair)?.value
            case "description":
                _ = reader.string(pair)
            default:
                break
            }
        }
        for key in ["name", "condition", "action"] where !pairs.contains(where: { $0.key == key }) {
            reader.error(.missingKey, Messages.missingKey(key, in: "rule"), at: node.location)
        }
        var rule = RuleDeclaration(
            id: id ?? Located("", at: node.location), effect: Located(allows?.value == false ? .deny : .allow, at: allows?.location ?? node.location),
            actions: [Located("**", at: node.location)], resources: nil, ring: nil, when: when, limit: nil,
            reason: message, location: node.location)
        rule.isComplete = reader.errorCount == errorsBefore && id != nil && allows != nil && when != nil
        return ReadRule(declaration: rule, priority: priority)
    }

    /// action := allow | deny | audit | block — located true when it allows.
    private static func ruleAction(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<Bool>? {
        guard let text = reader.string(pair) else { return nil }
        guard let action = actions.first(where: { $0.name == text.value }) else {
            reader.error(.invalidRuleAction, DialectMessages.invalidRuleAction(Messages.excerpt(text.value)), at: pair.value,
                         help: Suggestions.didYouMean(text.value, among: actions.map(\.name)))
            return nil
        }
        return Located(action.allows, at: text.location, length: text.length)
    }

    /// condition := { field: string, operator: eq|ne|gt|lt|gte|lte|in|not_in|contains|matches, value }
    ///
    /// Returns the generated expression, located at the condition so the checker's findings in it
    /// (a bad regex, a type that can never match) point there.
    private static func parseCondition(_ pair: YAMLPair, _ reader: inout StructureReader) -> ExpressionSource? {
        guard let entries = reader.mapping(pair) else { return nil }
        reader.warnIgnoredKeys(entries, read: conditionKeys, context: "condition")
        let errorsBefore = reader.errorCount
        var field: String?
        var op: Located<String>?
        var valueNode: YAMLNode?
        for entry in entries {
            switch entry.key {
            case "field":
                field = reader.nonEmptyString(entry, what: "`field`").map { path(forField: $0.value) }
            case "operator":
                guard let text = reader.string(entry) else { continue }
                if operators.contains(text.value) {
                    op = text
                } else {
                    reader.error(.invalidOperator, DialectMessages.invalidOperator(Messages.excerpt(text.value)), at: entry.value,
                                 help: Suggestions.didYouMean(text.value, among: operators) ?? Messages.expectedOneOf(operators))
                }
            case "value":
                valueNode = entry.value
            default:
                break
            }
        }
        for key in conditionKeys where !entries.contains(where: { $0.key == key }) {
            reader.error(.missingKey, Messages.missingKey(key, in: "condition"), at: pair.value.location)
        }
        guard let field, let op, let valueNode, reader.errorCount == errorsBefore else { return nil }
        guard let text = expression(field: field, op: op.value, value: valueNode, &reader) else { return nil }
        return ExpressionSource(text: text, location: pair.value.location, style: .literal)
    }

    /// The `when` text for one condition: `field <op> value` in Ringfence's expression language.
    private static func expression(field: String, op: String, value: YAMLNode, _ reader: inout StructureReader) -> String? {
        switch op {
        case "eq", "ne":
            guard let literal = reader.literal(value, what: "`value`") else { return nil }
            return "\(field) \(op == "eq" ? "==" : "!=") \(literal)"
        case "gt", "lt", "gte", "lte":
            guard let scalar = value.scalar, isNumberOrString(scalar.value) else {
                reader.error(.wrongType, DialectMessages.operatorValue(op, expected: "a number or string", found: value.typeName), at: value)
                return nil
            }
            guard let literal = reader.literal(value, what: "`value`") else { return nil }
            let symbol = ["gt": ">", "lt": "<", "gte": ">=", "lte": "<="][op] ?? ">"
            return "\(field) \(symbol) \(literal)"
        case "in", "not_in":
            guard let items = value.sequence else {
                reader.error(.wrongType, DialectMessages.operatorValue(op, expected: "a list", found: value.typeName), at: value)
                return nil
            }
            var literals: [String] = []
            for item in items {
                guard let literal = reader.literal(item, what: "an item of `value`") else { return nil }
                literals.append(literal)
            }
            let list = "[" + literals.joined(separator: ", ") + "]"
            return op == "in" ? "\(field) in \(list)" : "has(\(field)) && !(\(field) in \(list))"
        case "contains":
            guard let literal = reader.literal(value, what: "`value`") else { return nil }
            return "contains(\(field), \(literal))"
        default:
            guard case .string(let pattern)? = value.scalar?.value else {
                reader.error(.wrongType, DialectMessages.operatorValue(op, expected: "a string (a regex)", found: value.typeName), at: value)
                return nil
            }
            return "\(field) =~ \(ExpressionText.string(pattern))"
        }
    }

    /// True for numbers and strings, the values `gt`, `lt`, `gte` and `lte` can order.
    private static func isNumberOrString(_ value: YAMLScalar.Value) -> Bool {
        switch value {
        case .integer, .float, .string: true
        case .null, .bool: false
        }
    }

    /// The path a `field` names: `action`, `resource` and `agent_id` name the request's own
    /// fields; anything else is a key of `params`, dotted for nested keys.
    static func path(forField field: String) -> String {
        switch field {
        case "action": return "action"
        case "resource": return "resource"
        case "agent_id": return "agent.id"
        default:
            return "params" + field.split(separator: ".", omittingEmptySubsequences: false)
                .map { "[" + ExpressionText.string(String($0)) + "]" }.joined()
        }
    }
}
