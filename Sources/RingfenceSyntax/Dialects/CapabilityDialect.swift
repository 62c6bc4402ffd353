import RingfenceDiagnostics

/// Reads a seed capability allow-list (SPEC §6) into a policy of allow rules: each capability
/// allows one exact action, on resources matching its glob (where `*` crosses `/`), when every
/// `constraint` entry equals the request's `params` entry. Anything else is denied by default.
///
/// ```yaml
/// name: coder                      # optional: defaults to the file's base name
/// capabilities:
///   - action: fs.read
///     resource: /workspace/**
///   - action: net.http
///     constraint: { method: GET }
/// ```
public enum CapabilityDialect {
    /// The name recorded in `PolicyDocument.dialect`.
    public static let dialectName = DocumentDialect.capabilities.rawValue
    /// The top-level keys the dialect reads (the rest are warned about and ignored).
    static let documentKeys = ["name", "description", "version", "capabilities"]
    /// The keys a capability reads.
    static let capabilityKeys = ["action", "resource", "constraint"]

    /// Parses a capability allow-list; returns nil when no document could be built, plus every
    /// diagnostic sorted for output.
    public static func parse(_ root: YAMLNode, file: String) -> (PolicyDocument?, [Diagnostic]) {
        var reader = StructureReader(file: file)
        let document = parseDocument(root, &reader)
        return (document, reader.diagnostics.sortedForOutput())
    }

    /// document := { name?: string, description?, version?, capabilities: [capability] }
    private static func parseDocument(_ root: YAMLNode, _ reader: inout StructureReader) -> PolicyDocument? {
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return nil
        }
        reader.warnIgnoredKeys(pairs, read: documentKeys, context: "capability allow-list")
        var name = Located(baseName(of: reader.file), at: root.location)
        var rules: [RuleDeclaration] = []
        var sawCapabilities = false
        for pair in pairs {
            switch pair.key {
            case "name":
                guard let text = reader.nonEmptyString(pair, what: "policy name") else { return nil }
                name = text
            case "capabilities":
                sawCapabilities = true
                guard let items = reader.list(pair) else { continue }
                for (index, item) in items.enumerated() {
                    if let rule = parseCapability(item, number: index + 1, &reader) { rules.append(rule) }
                }
            default:
                break
            }
        }
        if !sawCapabilities {
            reader.error(.missingKey, Messages.missingKey("capabilities", in: "capability allow-list"), at: root.location)
        }
        var document = PolicyDocument(file: reader.file, name: name, rings: nil, rules: rules, location: root.location)
        document.dialect = dialectName
        return document
    }

    /// capability := { action: string, resource?: string, constraint?: { key: scalar, … } }
    ///
    /// The rule is `capability-N` (N counts from 1 in file order). A capability with errors is
    /// kept but marked incomplete, so nothing built from the file compiles.
    private static func parseCapability(_ node: YAMLNode, number: Int, _ reader: inout StructureReader) -> RuleDeclaration? {
        guard let pairs = node.mapping else {
            reader.error(.wrongType, Messages.wrongType("capabilities", expected: "a list of mappings", found: "a list holding a \(node.typeName)"), at: node)
            return nil
        }
        reader.warnIgnoredKeys(pairs, read: capabilityKeys, context: "capability")
        let errorsBefore = reader.errorCount
        var action: Located<String>?
        var resource: Located<String>?
        var conditions: [String] = []
        var conditionLocation: SourceLocation?
        for pair in pairs {
            switch pair.key {
            case "action":
                action = reader.nonEmptyString(pair, what: "`action`")
            case "resource":
                resource = reader.nonEmptyString(pair, what: "`resource`")
            case "constraint":
                conditionLocation = pair.value.location
                guard let entries = reader.mapping(pair) else { continue }
                for entry in entries {
                    guard let literal = reader.literal(entry.value, what: "constraint `\(Messages.excerpt(entry.key))`") else { continue }
                    conditions.append(ExpressionText.param(entry.key) + " == " + literal)
                }
            default:
                break
            }
        }
        if action == nil, !pairs.contains(where: { $0.key == "action" }) {
            reader.error(.missingKey, Messages.missingKey("action", in: "capability"), at: node.location)
        }
        let id = Located("capability-\(number)", at: node.location)
        var rule = RuleDeclaration(
            id: id, effect: Located(.allow, at: node.location),
            actions: action.map { [Located(escapeGlob($0.value, keeping: ""), at: $0.location, length: $0.length)] } ?? [],
            resources: resource.map { [Located(fnmatchGlob($0.value), at: $0.location, length: $0.length)] },
            ring: nil,
            when: conditions.isEmpty ? nil : ExpressionSource(text: conditions.joined(separator: " && "),
                                                               location: conditionLocation ?? node.location, style: .literal),
            limit: nil, reason: reason(action: action?.value, resource: resource?.value), location: node.location)
        rule.starCrossesSeparator = true
        rule.isComplete = reader.errorCount == errorsBefore && action != nil
        return rule
    }

    /// The reason reported when a capability allows a request.
    private static func reason(action: String?, resource: String?) -> String {
        var text = "allowed by capability `\(action ?? "")`"
        if let resource { text += " on `\(resource)`" }
        return text
    }

    /// `text` with every glob metacharacter not in `keeping` escaped by `\`, so it matches literally.
    static func escapeGlob(_ text: String, keeping: String) -> String {
        var out = ""
        for c in text {
            if "*?[]{}\\".contains(c), !keeping.contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// A seed resource pattern (Python `fnmatch`: `*`, `?`, `[…]`) as a Ringfence glob: braces and
    /// backslashes are literal, and a run of `*` is one `*` (which crosses `/` in this dialect).
    static func fnmatchGlob(_ pattern: String) -> String {
        var out = ""
        var previousStar = false
        for c in pattern {
            if c == "*" {
                if !previousStar { out.append(c) }
                previousStar = true
                continue
            }
            previousStar = false
            if c == "{" || c == "}" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// The file's name without folders and its `.yaml`/`.yml` extension (the default policy name).
    static func baseName(of file: String) -> String {
        var name = Substring(file)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        for suffix in [".yaml", ".yml"] where name.hasSuffix(suffix) && name.count > suffix.count {
            name = name.dropLast(suffix.count)
            break
        }
        return name.isEmpty ? file : String(name)
    }
}
