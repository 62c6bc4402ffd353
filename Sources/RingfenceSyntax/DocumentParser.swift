import RingfenceDiagnostics

/// What a file turned out to be.
public enum ParsedDocument: Sendable {
    /// A `kind: policy` document (SPEC §3).
    case policy(PolicyDocument)
    /// A `kind: tests` document (SPEC §4.4).
    case tests(TestSuiteDocument)
    /// A saga definition: `kind: saga`, or a seed saga recognised by shape (SPEC §5).
    case saga(SagaDocument)
    /// A `kind: runtime` document (SPEC §7).
    case runtime(RuntimeDocument)

    /// The policy, when this document is one.
    public var policy: PolicyDocument? {
        switch self {
        case .policy(let policy): policy
        case .tests, .saga, .runtime: nil
        }
    }

    /// The runtime settings, when this document is a runtime file.
    public var runtime: RuntimeDocument? {
        if case .runtime(let runtime) = self { return runtime }
        return nil
    }

    /// The saga, when this document is one.
    public var saga: SagaDocument? {
        if case .saga(let saga) = self { return saga }
        return nil
    }
}

/// Reads a document's envelope (`ringfence: 1`, `kind`) and hands the document to the parser
/// for its kind (SPEC §2).
public enum DocumentParser {
    /// The kinds a native document may declare, in the order they are suggested.
    public static let kinds = ["policy", "saga", "tests", "runtime"]

    /// Reads the envelope (`ringfence: 1`, `kind`) and dispatches; returns nil document when
    /// errors prevent building one, plus all diagnostics sorted for output. `dialect` forces
    /// how the file is read (nil: recognised by shape, SPEC §6).
    public static func parse(_ root: YAMLNode, file: String, dialect: DocumentDialect? = nil) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        let (document, diagnostics) = parseUnsorted(root, file: file, dialect: dialect)
        return (document, diagnostics.sortedForOutput())
    }

    /// Loads YAML text and parses it (convenience used by tests, REPL and the compiler).
    public static func parse(text: String, file: String, dialect: DocumentDialect? = nil) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        finish(YAMLLoader.load(text: text, file: file), file: file, dialect: dialect)
    }

    /// Loads YAML bytes (as read by `SourceLoader.read`) and parses them.
    public static func parse(bytes: [UInt8], file: String, dialect: DocumentDialect? = nil) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        finish(YAMLLoader.load(bytes: bytes, file: file), file: file, dialect: dialect)
    }

    /// Parses a loaded YAML tree, if there is one, and merges the loader's diagnostics in.
    private static func finish(_ loaded: YAMLLoadResult, file: String, dialect: DocumentDialect?) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        guard let root = loaded.document else { return (nil, loaded.diagnostics.sortedForOutput()) }
        let (document, diagnostics) = parseUnsorted(root, file: file, dialect: dialect)
        return (document, (loaded.diagnostics + diagnostics).sortedForOutput())
    }

    /// document := mapping with `ringfence: 1` and `kind: policy|saga|tests|runtime`, or a seed dialect.
    private static func parseUnsorted(_ root: YAMLNode, file: String, dialect: DocumentDialect?) -> (ParsedDocument?, [Diagnostic]) {
        if let dialect, dialect != .native { return parseSeedDialect(root, file: file, as: dialect) }
        var reader = StructureReader(file: file)
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return (nil, reader.diagnostics)
        }
        guard let version = pairs.first(where: { $0.key == "ringfence" }) else {
            if dialect == nil, let seed = parseSeedDialect(root, file: file) { return seed }
            reader.error(.unknownDocument, Messages.notRingfenceDocument, at: root.location)
            return (nil, reader.diagnostics)
        }
        if case .scalar(let scalar) = version.value.content, case .integer(1) = scalar.value {
            // The one version this build reads.
        } else {
            let message: String
            if case .scalar(let scalar) = version.value.content, case .integer = scalar.value {
                message = Messages.unsupportedVersion(Messages.excerpt(scalar.text))
            } else {
                message = Messages.wrongType("ringfence", expected: "the integer `1`", found: version.value.typeName)
            }
            reader.error(.unsupportedVersion, message, at: version.value)
        }
        guard let kindPair = pairs.first(where: { $0.key == "kind" }) else {
            reader.error(.missingKey, Messages.missingKey("kind", in: "ringfence document"), at: root.location,
                         help: Messages.expectedOneOf(kinds.map { "kind: \($0)" }))
            return (nil, reader.diagnostics)
        }
        guard let kind = reader.string(kindPair) else { return (nil, reader.diagnostics) }
        switch kind.value {
        case "policy":
            let (policy, diagnostics) = PolicyParser.parse(root, file: file)
            return (policy.map(ParsedDocument.policy), reader.diagnostics + diagnostics)
        case "tests":
            let (tests, diagnostics) = TestsParser.parse(root, file: file)
            return (tests.map(ParsedDocument.tests), reader.diagnostics + diagnostics)
        case "saga":
            let (saga, diagnostics) = SagaParser.parse(root, file: file)
            return (saga.map(ParsedDocument.saga), reader.diagnostics + diagnostics)
        case "runtime":
            let (runtime, diagnostics) = RuntimeParser.parse(root, file: file)
            return (runtime.map(ParsedDocument.runtime), reader.diagnostics + diagnostics)
        default:
            reader.error(.unknownKind, Messages.unknownKind(Messages.excerpt(kind.value)), at: kindPair.value,
                         help: Suggestions.didYouMean(kind.value, among: kinds) ?? Messages.expectedOneOf(kinds))
        }
        return (nil, reader.diagnostics)
    }

    /// The extension point for seed dialects (SPEC §6): a document without a `ringfence:` key
    /// is offered here, recognised by shape, before it is rejected as unknown (RF1001).
    ///
    /// Returns nil when no dialect recognises the document. Seed sagas (`steps` + `session_id`)
    /// go to `SagaParser.parseSeed`.
    private static func parseSeedDialect(_ root: YAMLNode, file: String) -> (ParsedDocument?, [Diagnostic])? {
        guard let pairs = root.mapping else { return nil }
        switch DialectDetection.shape(of: pairs) {
        case .capabilities: return parseSeedDialect(root, file: file, as: .capabilities)
        case .ruleDocument: return parseSeedDialect(root, file: file, as: .ruleDocument)
        case .saga:
            let (saga, diagnostics) = SagaParser.parseSeed(root, file: file)
            return (saga.map(ParsedDocument.saga), diagnostics)
        case .unknown: return nil
        }
    }

    /// Parses `root` as the seed dialect `dialect` (recognised or forced).
    private static func parseSeedDialect(_ root: YAMLNode, file: String, as dialect: DocumentDialect) -> (ParsedDocument?, [Diagnostic]) {
        let (policy, diagnostics) = dialect == .capabilities
            ? CapabilityDialect.parse(root, file: file)
            : RuleDocumentDialect.parse(root, file: file)
        return (policy.map(ParsedDocument.policy), diagnostics)
    }
}

/// Shared helpers for reading YAML trees into typed structures while collecting diagnostics;
/// used by every document parser so locations, lengths and wording stay consistent.
struct StructureReader {
    /// The file being read, for locations.
    let file: String
    /// Every problem found so far, in the order found.
    var diagnostics: [Diagnostic] = []

    /// Creates a reader for `file`.
    init(file: String) {
        self.file = file
    }

    /// True when any error has been reported.
    var hasErrors: Bool { diagnostics.containsErrors }

    /// The number of errors reported so far (used to tell whether one part added errors).
    var errorCount: Int { diagnostics.lazy.filter(\.isError).count }

    /// Reports a problem at an explicit location.
    mutating func error(_ code: DiagnosticCode, _ message: String, at location: SourceLocation, length: Int = 1, help: String? = nil) {
        diagnostics.append(Diagnostic(code, message, at: location, length: length, help: help))
    }

    /// Reports a problem with a value, underlining the whole value when it is a one-line scalar.
    mutating func error(_ code: DiagnosticCode, _ message: String, at node: YAMLNode, help: String? = nil) {
        error(code, message, at: node.location, length: Self.extent(of: node), help: help)
    }

    /// Reports a problem with a key, underlining the key.
    mutating func error(_ code: DiagnosticCode, _ message: String, atKey pair: YAMLPair, help: String? = nil) {
        error(code, message, at: pair.keyLocation, length: Self.keyLength(pair), help: help)
    }

    /// Reports every key of `pairs` that is not in `allowed` (RF1004), with a suggestion.
    mutating func checkKeys(_ pairs: [YAMLPair], allowed: [String], context: String) {
        for pair in pairs where !allowed.contains(pair.key) {
            let help = Suggestions.didYouMean(pair.key, among: allowed) ?? Messages.validKeys(allowed)
            error(.unknownKey, Messages.unknownKey(Messages.excerpt(pair.key), in: context), atKey: pair, help: help)
        }
    }

    /// The value of a pair that must be a string; reports RF1006 otherwise.
    mutating func string(_ pair: YAMLPair) -> Located<String>? {
        if case .scalar(let scalar) = pair.value.content, case .string(let text) = scalar.value {
            return Located(text, at: pair.value.location, length: Self.extent(of: pair.value))
        }
        error(.wrongType, Messages.wrongType(pair.key, expected: "a string", found: pair.value.typeName), at: pair.value)
        return nil
    }

    /// The value of a pair that must be a mapping; reports RF1006 otherwise.
    mutating func mapping(_ pair: YAMLPair) -> [YAMLPair]? {
        if let pairs = pair.value.mapping { return pairs }
        error(.wrongType, Messages.wrongType(pair.key, expected: "a mapping", found: pair.value.typeName), at: pair.value)
        return nil
    }

    /// The value of a pair that must be a list; reports RF1006 otherwise.
    mutating func list(_ pair: YAMLPair, help: String? = nil) -> [YAMLNode]? {
        if let items = pair.value.sequence { return items }
        error(.wrongType, Messages.wrongType(pair.key, expected: "a list", found: pair.value.typeName), at: pair.value, help: help)
        return nil
    }

    /// The underline length of a key: its text length in Unicode scalars.
    static func keyLength(_ pair: YAMLPair) -> Int {
        max(1, pair.key.unicodeScalars.count)
    }

    /// The underline length of a value: the source width of a one-line scalar (quotes
    /// included), else 1.
    static func extent(of node: YAMLNode) -> Int {
        guard let scalar = node.scalar, !scalar.text.contains("\n") else { return 1 }
        let count = scalar.text.unicodeScalars.count
        switch scalar.style {
        case .plain: return max(1, count)
        case .singleQuoted, .doubleQuoted: return count + 2
        case .literal, .folded: return 1
        }
    }

    /// True when `text` is a non-empty name made only of `[A-Za-z0-9_.:-]`.
    static func isValidName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}
