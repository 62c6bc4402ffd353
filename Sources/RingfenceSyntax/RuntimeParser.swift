import RingfenceDiagnostics

/// Turns the YAML tree of a `kind: runtime` file into a `RuntimeDocument` (SPEC §7), reporting
/// every structural problem in one pass: unknown keys (with a suggestion), wrong types,
/// malformed durations and unknown words. Every key is optional.
///
/// Ranges and relations (`0 < low < medium < …`) are checked by the compiler against the
/// settings with their defaults filled in, by the same rules the bundle verifier runs.
public enum RuntimeParser {
    /// The sections of a runtime file, in the order SPEC §7 writes them.
    public static let sections = ["rings", "limits", "elevation", "sessions", "breach", "liability", "audit"]
    /// The keys a runtime file may hold at its top level.
    static let documentKeys = ["ringfence", "kind", "name", "description"] + sections
    /// The keys of `limits`, ring 0 first.
    static let ringKeys = ["ring0", "ring1", "ring2", "ring3"]
    /// The keys of one ring's bucket.
    static let bucketKeys = ["rate", "burst"]

    /// How one setting is read and where it is stored.
    enum Field {
        /// A number (integer or float).
        case number(WritableKeyPath<RuntimeDocument, Double?>)
        /// A whole number.
        case whole(WritableKeyPath<RuntimeDocument, Int?>)
        /// A duration, in milliseconds.
        case duration(WritableKeyPath<RuntimeDocument, Int64?>)
        /// `trip` or `kill`.
        case breachResponse
        /// `strict`, `group` or `relaxed`.
        case durability
        /// A string.
        case text(WritableKeyPath<RuntimeDocument, String?>)
    }

    /// The settings of each section other than `limits`, in the order SPEC §7 writes them.
    static func fields(of section: String) -> [(key: String, field: Field)] {
        switch section {
        case "rings":
            return [("privileged", .number(\.rings.privileged)), ("standard", .number(\.rings.standard))]
        case "elevation":
            return [("ring1", .number(\.elevation.ring1)), ("ring2", .number(\.elevation.ring2)),
                    ("default_ttl", .duration(\.elevation.defaultTTL)), ("max_ttl", .duration(\.elevation.maxTTL))]
        case "sessions":
            return [("max_participants", .whole(\.sessions.maxParticipants)), ("ttl", .duration(\.sessions.ttl)),
                    ("min_trust", .number(\.sessions.minTrust))]
        case "breach":
            return [("window", .duration(\.breach.window)), ("min_calls", .whole(\.breach.minCalls)),
                    ("low", .number(\.breach.low)), ("medium", .number(\.breach.medium)), ("high", .number(\.breach.high)),
                    ("critical", .number(\.breach.critical)), ("cooldown", .duration(\.breach.cooldown)),
                    ("on_critical", .breachResponse)]
        case "liability":
            return [("min_voucher_trust", .number(\.liability.minVoucherTrust)), ("bond", .number(\.liability.bond)),
                    ("max_exposure", .number(\.liability.maxExposure)), ("vouch_weight", .number(\.liability.vouchWeight)),
                    ("slash_floor", .number(\.liability.slashFloor)), ("cascade_below", .number(\.liability.cascadeBelow)),
                    ("max_cascade_depth", .whole(\.liability.maxCascadeDepth)), ("quarantine", .duration(\.liability.quarantine)),
                    ("deny_risk", .number(\.liability.denyRisk)), ("probation_risk", .number(\.liability.probationRisk)),
                    ("escalation_severity", .number(\.liability.escalationSeverity))]
        case "audit":
            return [("durability", .durability), ("checkpoint_every", .whole(\.audit.checkpointEvery)),
                    ("checkpoint_interval", .duration(\.audit.checkpointInterval)), ("origin", .text(\.audit.origin))]
        default:
            return []
        }
    }

    /// Parses a runtime document (its envelope already read); returns nil only when the root is
    /// not a mapping. A document with errors is still returned, so the compiler can tell two
    /// runtime files apart; its errors keep anything from being compiled.
    public static func parse(_ root: YAMLNode, file: String) -> (RuntimeDocument?, [Diagnostic]) {
        var reader = StructureReader(file: file)
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return (nil, reader.diagnostics)
        }
        var document = RuntimeDocument(file: file, location: root.location)
        parseDocument(pairs, into: &document, &reader)
        return (document, reader.diagnostics.sortedForOutput())
    }

    /// runtime := { ringfence, kind, name?, description?, rings?, limits?, elevation?, sessions?,
    /// breach?, liability?, audit? }
    private static func parseDocument(_ pairs: [YAMLPair], into document: inout RuntimeDocument, _ reader: inout StructureReader) {
        reader.checkKeys(pairs, allowed: documentKeys, context: "runtime file")
        for pair in pairs {
            switch pair.key {
            case "kind":
                document.spans["kind"] = span(of: pair.value)
            case "name":
                document.spans["name"] = span(of: pair.value)
                if let name = reader.string(pair) { document.name = name } else { document.unreadable.insert("name") }
            case "description":
                _ = reader.string(pair)
            case "limits":
                document.spans["limits"] = keySpan(pair)
                guard let entries = reader.mapping(pair) else {
                    document.unreadable.insert("limits")
                    continue
                }
                parseLimits(entries, into: &document, &reader)
            case let section where sections.contains(section):
                document.spans[section] = keySpan(pair)
                guard let entries = reader.mapping(pair) else {
                    document.unreadable.insert(section)
                    continue
                }
                parseSection(section, entries, fields: fields(of: section), into: &document, &reader)
            default:
                break
            }
        }
    }

    /// limits := { ring0?: bucket, ring1?: bucket, ring2?: bucket, ring3?: bucket }
    /// bucket := { rate?: number, burst?: whole number }
    private static func parseLimits(_ pairs: [YAMLPair], into document: inout RuntimeDocument, _ reader: inout StructureReader) {
        reader.checkKeys(pairs, allowed: ringKeys, context: "limits")
        for pair in pairs {
            guard let ring = ringKeys.firstIndex(of: pair.key) else { continue }
            let path = "limits.\(pair.key)"
            document.spans[path] = keySpan(pair)
            guard let entries = reader.mapping(pair) else {
                document.unreadable.insert(path)
                continue
            }
            parseSection(path, entries, fields: [("rate", .number(\.limits[ring].rate)), ("burst", .whole(\.limits[ring].burst))],
                         into: &document, &reader)
        }
    }

    /// section := { key?: value, … } with the keys and value types of `fields`.
    private static func parseSection(_ section: String, _ pairs: [YAMLPair], fields: [(key: String, field: Field)],
                                     into document: inout RuntimeDocument, _ reader: inout StructureReader) {
        reader.checkKeys(pairs, allowed: fields.map(\.key), context: section)
        for pair in pairs {
            guard let field = fields.first(where: { $0.key == pair.key })?.field else { continue }
            let path = "\(section).\(pair.key)"
            document.spans[path] = span(of: pair.value)
            if !read(pair, as: field, path: path, into: &document, &reader) { document.unreadable.insert(path) }
        }
    }

    /// Reads one setting into `document`; false (with the problem reported) when it cannot.
    private static func read(_ pair: YAMLPair, as field: Field, path: String, into document: inout RuntimeDocument,
                             _ reader: inout StructureReader) -> Bool {
        let value = pair.value
        switch field {
        case .number(let keyPath):
            switch value.scalar?.value {
            case .integer(let n)?: document[keyPath: keyPath] = Double(n)
            case .float(let x)?: document[keyPath: keyPath] = x
            default:
                reader.error(.wrongType, Messages.wrongType(path, expected: "a number", found: value.typeName), at: value)
                return false
            }
        case .whole(let keyPath):
            switch value.scalar?.value {
            case .integer(let n)?: document[keyPath: keyPath] = n
            case .float?:
                reader.error(.wrongType, Messages.notWholeNumber(path, Messages.excerpt(value.scalar?.text ?? "")), at: value)
                return false
            default:
                reader.error(.wrongType, Messages.wrongType(path, expected: "a whole number", found: value.typeName), at: value)
                return false
            }
        case .duration(let keyPath):
            guard let milliseconds = reader.duration(pair, path: path) else { return false }
            document[keyPath: keyPath] = milliseconds
        case .breachResponse:
            guard let word = choice(pair, path: path, among: RuntimeDocument.BreachResponse.allCases.map(\.rawValue), &reader),
                  let response = RuntimeDocument.BreachResponse(rawValue: word) else { return false }
            document.breach.onCritical = response
        case .durability:
            guard let word = choice(pair, path: path, among: RuntimeDocument.Durability.allCases.map(\.rawValue), &reader),
                  let durability = RuntimeDocument.Durability(rawValue: word) else { return false }
            document.audit.durability = durability
        case .text(let keyPath):
            guard case .string(let text)? = value.scalar?.value else {
                reader.error(.wrongType, Messages.wrongType(path, expected: "a string", found: value.typeName), at: value)
                return false
            }
            document[keyPath: keyPath] = text
        }
        return true
    }

    /// A string that must be one of `words` (RF1024, with a suggestion), or RF1006 for another type.
    private static func choice(_ pair: YAMLPair, path: String, among words: [String], _ reader: inout StructureReader) -> String? {
        guard case .string(let text)? = pair.value.scalar?.value else {
            reader.error(.wrongType, Messages.wrongType(path, expected: Messages.list(words, conjunction: "or"), found: pair.value.typeName),
                         at: pair.value)
            return nil
        }
        guard words.contains(text) else {
            reader.error(.invalidChoice, Messages.invalidChoice(path, Messages.excerpt(text), expected: words), at: pair.value,
                         help: Suggestions.didYouMean(text, among: words))
            return nil
        }
        return text
    }

    /// The span of a value: the whole value when it is a one-line scalar.
    private static func span(of node: YAMLNode) -> SourceSpan {
        SourceSpan(node.location, length: StructureReader.extent(of: node))
    }

    /// The span of a key.
    private static func keySpan(_ pair: YAMLPair) -> SourceSpan {
        SourceSpan(pair.keyLocation, length: StructureReader.keyLength(pair))
    }
}
