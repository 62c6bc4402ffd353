import RingfenceDiagnostics

/// Turns the YAML tree of a `kind: policy` document into a `PolicyDocument` (SPEC §3),
/// reporting every structural problem in one pass.
public enum PolicyParser {
    /// The keys a policy document may hold.
    static let policyKeys = ["ringfence", "kind", "name", "description", "rings", "rules"]
    /// The keys a rule may hold.
    static let ruleKeys = ["id", "effect", "action", "actions", "resource", "resources", "ring", "when", "limit", "reason", "description"]
    /// The keys `rings:` may hold.
    static let ringKeys = ["privileged", "standard"]
    /// The largest `N` a `limit: N/unit` may give.
    static let maxLimitCount = 1_000_000_000

    /// Parses a policy document; returns nil when no name could be read (the document cannot be
    /// built), plus every diagnostic sorted for output. Rules with errors are left out of the
    /// document, but their errors are reported, so nothing built from them compiles.
    public static func parse(_ root: YAMLNode, file: String) -> (PolicyDocument?, [Diagnostic]) {
        var reader = StructureReader(file: file)
        let document = parsePolicy(root, &reader)
        return (document, reader.diagnostics.sortedForOutput())
    }

    /// policy := { ringfence, kind, name, description?, rings?, rules }
    private static func parsePolicy(_ root: YAMLNode, _ reader: inout StructureReader) -> PolicyDocument? {
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return nil
        }
        reader.checkKeys(pairs, allowed: policyKeys, context: "policy")
        var name: Located<String>?
        var rings: Located<RingThresholds>?
        var rules: [RuleDeclaration] = []
        var sawName = false, sawRules = false
        for pair in pairs {
            switch pair.key {
            case "name":
                sawName = true
                name = parseName(pair, what: "policy name", &reader)
            case "description":
                _ = reader.string(pair)
            case "rings":
                rings = parseRings(pair, &reader)
            case "rules":
                sawRules = true
                rules = parseRules(pair, &reader)
            default:
                break
            }
        }
        if !sawName {
            reader.error(.missingKey, Messages.missingKey("name", in: "policy"), at: root.location)
        }
        if !sawRules {
            reader.error(.missingKey, Messages.missingKey("rules", in: "policy"), at: root.location,
                         help: "a policy with no rules is written `rules: []`")
        }
        guard let name else { return nil }
        return PolicyDocument(file: reader.file, name: name, rings: rings, rules: rules, location: root.location)
    }

    /// name := string of `[A-Za-z0-9_.:-]+` — used for policy names and rule ids.
    private static func parseName(_ pair: YAMLPair, what: String, _ reader: inout StructureReader) -> Located<String>? {
        guard let text = reader.string(pair) else { return nil }
        if text.value.isEmpty {
            reader.error(.emptyString, Messages.emptyString(what), at: pair.value)
            return nil
        }
        if !StructureReader.isValidName(text.value) {
            reader.error(.invalidName, Messages.invalidName(what, Messages.excerpt(text.value)), at: pair.value)
            return nil
        }
        return text
    }

    // MARK: Rings

    /// rings := { privileged?: number in [0,1], standard?: number in [0,1] } with privileged > standard
    private static func parseRings(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<RingThresholds>? {
        guard let pairs = reader.mapping(pair) else { return nil }
        let before = reader.errorCount
        reader.checkKeys(pairs, allowed: ringKeys, context: "rings")
        var privileged: (value: Double, pair: YAMLPair)?
        var standard: (value: Double, pair: YAMLPair)?
        var broken = false
        for entry in pairs {
            guard entry.key == "privileged" || entry.key == "standard" else { continue }
            guard let value = parseThreshold(entry, &reader) else {
                broken = true
                continue
            }
            if entry.key == "privileged" { privileged = (value, entry) } else { standard = (value, entry) }
        }
        guard !broken else { return nil }
        let defaults = RingThresholds.default
        let thresholds = RingThresholds(privileged: privileged?.value ?? defaults.privileged,
                                        standard: standard?.value ?? defaults.standard)
        if !(thresholds.privileged > thresholds.standard), let offending = privileged?.pair ?? standard?.pair {
            let privilegedText = privileged.map { thresholdText($0.pair) } ?? "0.95"
            let standardText = standard.map { thresholdText($0.pair) } ?? "0.60"
            var help: String?
            if privileged == nil { help = Messages.thresholdDefault("privileged", "0.95") }
            if standard == nil { help = Messages.thresholdDefault("standard", "0.60") }
            reader.error(.invalidThresholds, Messages.thresholdsOutOfOrder(privileged: privilegedText, standard: standardText),
                         at: offending.value, help: help)
        }
        guard reader.errorCount == before else { return nil }
        return Located(thresholds, at: pair.keyLocation, length: StructureReader.keyLength(pair))
    }

    /// threshold := number in [0, 1]
    private static func parseThreshold(_ pair: YAMLPair, _ reader: inout StructureReader) -> Double? {
        let number: Double
        switch pair.value.scalar?.value {
        case .integer(let i)?: number = Double(i)
        case .float(let d)?: number = d
        default:
            reader.error(.wrongType, Messages.wrongType(pair.key, expected: "a number", found: pair.value.typeName), at: pair.value)
            return nil
        }
        guard number >= 0, number <= 1 else {
            reader.error(.invalidThresholds, Messages.thresholdOutOfRange(pair.key, thresholdText(pair)), at: pair.value)
            return nil
        }
        return number
    }

    /// The threshold as the user wrote it, for messages.
    private static func thresholdText(_ pair: YAMLPair) -> String {
        Messages.excerpt(pair.value.scalar?.text ?? pair.value.typeName)
    }

    // MARK: Rules

    /// rules := [ rule, … ] — an empty list is a valid policy with no rules.
    private static func parseRules(_ pair: YAMLPair, _ reader: inout StructureReader) -> [RuleDeclaration] {
        guard let items = reader.list(pair) else { return [] }
        var rules: [RuleDeclaration] = []
        var firstLine: [String: Int] = [:]
        for item in items {
            if let rule = parseRule(item, &reader, firstLine: &firstLine) { rules.append(rule) }
        }
        return rules
    }

    /// rule := { id, effect, (action | actions), (resource | resources)?, ring?, when?, limit?,
    /// reason?, description? }
    private static func parseRule(_ item: YAMLNode, _ reader: inout StructureReader, firstLine: inout [String: Int]) -> RuleDeclaration? {
        guard let pairs = item.mapping else {
            reader.error(.wrongType, Messages.ruleNotMapping(found: item.typeName), at: item)
            return nil
        }
        let before = reader.errorCount
        reader.checkKeys(pairs, allowed: ruleKeys, context: "rule")
        var id: Located<String>?
        var idText: String?
        var sawID = false
        var effect: Located<Effect>?
        var sawEffect = false
        var actionsPair: YAMLPair?
        var actions: [Located<String>]?
        var resourcesPair: YAMLPair?
        var resources: [Located<String>]?
        var ringPair: YAMLPair?
        var ring: Located<Int>?
        var when: ExpressionSource?
        var limitPair: YAMLPair?
        var limit: Located<RateLimit>?
        var reason: String?
        for pair in pairs {
            switch pair.key {
            case "id":
                sawID = true
                if case .scalar(let scalar) = pair.value.content, case .string(let text) = scalar.value { idText = text }
                id = parseName(pair, what: "rule id", &reader)
            case "effect":
                sawEffect = true
                effect = parseEffect(pair, &reader)
            case "action", "actions":
                if let first = actionsPair {
                    reader.error(.conflictingKeys, Messages.conflictingKeys(pair.key, first.key), atKey: pair,
                                 help: Messages.keepOneOf(first.key, pair.key))
                    continue
                }
                actionsPair = pair
                actions = parsePatterns(pair, singular: "action", plural: "actions", &reader)
            case "resource", "resources":
                if let first = resourcesPair {
                    reader.error(.conflictingKeys, Messages.conflictingKeys(pair.key, first.key), atKey: pair,
                                 help: Messages.keepOneOf(first.key, pair.key))
                    continue
                }
                resourcesPair = pair
                resources = parsePatterns(pair, singular: "resource", plural: "resources", &reader)
            case "ring":
                ringPair = pair
                ring = parseRing(pair, &reader)
            case "when":
                when = parseWhen(pair, &reader)
            case "limit":
                limitPair = pair
                limit = parseLimit(pair, &reader)
            case "reason":
                reason = reader.string(pair)?.value
            case "description":
                _ = reader.string(pair)
            default:
                break
            }
        }
        let displayID = idText.map(Messages.excerpt)
        let context = displayID.map { "rule `\($0)`" } ?? "rule"
        if !sawID {
            reader.error(.missingKey, Messages.missingKey("id", in: "rule"), at: item.location)
        }
        if !sawEffect {
            reader.error(.missingKey, Messages.missingKey("effect", in: context), at: item.location,
                         help: "add `effect: allow` or `effect: deny`")
        }
        if actionsPair == nil {
            reader.error(.missingKey, Messages.missingAction(ruleID: displayID), at: item.location)
        }
        if effect?.value == .deny {
            if let limitPair {
                reader.error(.limitOnDeny, Messages.limitOnDeny(ruleID: displayID), atKey: limitPair, help: Messages.limitOnDenyHelp)
            }
            if let ringPair {
                reader.error(.ringOnDeny, Messages.ringOnDeny(ruleID: displayID), atKey: ringPair, help: Messages.ringOnDenyHelp)
            }
        }
        if let id {
            if let line = firstLine[id.value] {
                reader.error(.duplicateRuleID, Messages.duplicateRuleID(Messages.excerpt(id.value)),
                             at: id.location, length: id.length, help: Messages.firstDefined(atLine: line))
            } else {
                firstLine[id.value] = id.location.line
            }
        }
        // A rule with structural errors is still returned (marked incomplete) so the checker can
        // report problems in its patterns and `when` in the same run; errors keep it from compiling.
        var rule = RuleDeclaration(
            id: id ?? Located("", at: item.location), effect: effect ?? Located(.deny, at: item.location),
            actions: actions ?? [], resources: resources, ring: ring,
            when: when, limit: limit, reason: reason, location: item.location)
        rule.isComplete = reader.errorCount == before && id != nil && effect != nil && actions != nil
        return rule
    }

    /// effect := `allow` | `deny`
    private static func parseEffect(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<Effect>? {
        guard let text = reader.string(pair) else { return nil }
        guard let effect = Effect(rawValue: text.value) else {
            reader.error(.invalidEffect, Messages.invalidEffect(Messages.excerpt(text.value)), at: pair.value,
                         help: Suggestions.didYouMean(text.value, among: ["allow", "deny"]))
            return nil
        }
        return Located(effect, at: text.location, length: text.length)
    }

    /// patterns := string (for `action`/`resource`) | [ string, … ] (for `actions`/`resources`), none empty
    private static func parsePatterns(_ pair: YAMLPair, singular: String, plural: String, _ reader: inout StructureReader) -> [Located<String>]? {
        if pair.key == singular {
            guard let text = reader.string(pair) else { return nil }
            guard !text.value.isEmpty else {
                reader.error(.emptyString, Messages.emptyString("`\(singular)` pattern"), at: pair.value)
                return nil
            }
            return [text]
        }
        var help: String?
        if case .scalar(let scalar) = pair.value.content, case .string(let text) = scalar.value, !text.isEmpty {
            help = Messages.useSingularOrList(singular: singular, plural: plural, value: Messages.excerpt(text))
        }
        guard let items = reader.list(pair, help: help) else { return nil }
        guard !items.isEmpty else {
            reader.error(.emptyList, Messages.emptyList(plural), at: pair.value, help: "omit `\(plural)` or give at least one pattern")
            return nil
        }
        var patterns: [Located<String>] = []
        var broken = false
        for item in items {
            guard case .scalar(let scalar) = item.content, case .string(let text) = scalar.value else {
                reader.error(.wrongType, Messages.wrongItemType(plural, expected: "a string", found: item.typeName), at: item)
                broken = true
                continue
            }
            guard !text.isEmpty else {
                reader.error(.emptyString, Messages.emptyString("a pattern in `\(plural)`"), at: item)
                broken = true
                continue
            }
            patterns.append(Located(text, at: item.location, length: StructureReader.extent(of: item)))
        }
        return broken ? nil : patterns
    }

    /// ring := integer 0…3
    private static func parseRing(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<Int>? {
        guard let scalar = pair.value.scalar else {
            reader.error(.wrongType, Messages.wrongType("ring", expected: "an integer", found: pair.value.typeName), at: pair.value)
            return nil
        }
        switch scalar.value {
        case .integer(let n) where (0...3).contains(n):
            return Located(n, at: pair.value.location, length: StructureReader.extent(of: pair.value))
        case .integer, .float:
            reader.error(.ringOutOfRange, Messages.ringOutOfRange(Messages.excerpt(scalar.text)), at: pair.value)
        default:
            reader.error(.wrongType, Messages.wrongType("ring", expected: "an integer", found: pair.value.typeName), at: pair.value)
        }
        return nil
    }

    /// when := string holding an expression (parsed later, by the expression parser)
    private static func parseWhen(_ pair: YAMLPair, _ reader: inout StructureReader) -> ExpressionSource? {
        guard case .scalar(let scalar) = pair.value.content else {
            reader.error(.wrongType, Messages.whenNotString(found: pair.value.typeName), at: pair.value)
            return nil
        }
        guard case .string(let text) = scalar.value else {
            reader.error(.wrongType, Messages.whenNotString(found: pair.value.typeName), at: pair.value,
                         help: Messages.quoteWhen(Messages.excerpt(scalar.text)))
            return nil
        }
        return ExpressionSource(text: text, location: pair.value.location, style: scalar.style)
    }

    /// limit := N `/` unit, N in 1…1_000_000_000, unit in second(s) | minute(s) | hour(s) | day(s)
    private static func parseLimit(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<RateLimit>? {
        guard let scalar = pair.value.scalar else {
            reader.error(.wrongType, Messages.wrongType("limit", expected: "a string such as `100/hour`", found: pair.value.typeName),
                         at: pair.value)
            return nil
        }
        guard case .string(let text) = scalar.value, let limit = rateLimit(text) else {
            reader.error(.invalidLimit, Messages.invalidLimit(Messages.excerpt(scalar.text)), at: pair.value)
            return nil
        }
        return Located(limit, at: pair.value.location, length: StructureReader.extent(of: pair.value))
    }

    /// Reads `N/unit` (spaces around either part allowed), or nil when it is not one.
    static func rateLimit(_ text: String) -> RateLimit? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let digits = parts[0].trimmingSpaces()
        let unitText = parts[1].trimmingSpaces()
        guard !digits.isEmpty, digits.count <= 10, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let count = Int(digits), count >= 1, count <= maxLimitCount
        else { return nil }
        let singular = unitText.hasSuffix("s") ? String(unitText.dropLast()) : unitText
        guard let unit = RateUnit(rawValue: singular) else { return nil }
        return RateLimit(count: count, unit: unit)
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
