/// A stable diagnostic code (`RF` + four digits), grouped by phase:
///
/// | range  | phase                                   |
/// |--------|-----------------------------------------|
/// | RF0xxx | reading files and YAML                  |
/// | RF1xxx | document structure (keys, types)        |
/// | RF2xxx | expression syntax (`when`)              |
/// | RF3xxx | expression meaning (paths, types, regex, globs) |
/// | RF4xxx | rules, rings, limits, policy relations, runtime settings |
/// | RF5xxx | bundles                                 |
/// | RF6xxx | requests                                |
/// | RF7xxx | sagas (steps, fan-outs, dependencies, retries) |
///
/// Every code is listed once in `DiagnosticCode.catalog`; `docs/diagnostics.md` is checked
/// against it by a test.
public struct DiagnosticCode: RawRepresentable, Hashable, Sendable, Comparable {
    /// The code as written, e.g. `RF1003`.
    public let rawValue: String
    /// Creates a code from its written form.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Orders codes by their written form.
    public static func < (lhs: DiagnosticCode, rhs: DiagnosticCode) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The catalogue entry for this code.
    public var entry: CatalogEntry? { Self.catalogByCode[rawValue] }
    /// The severity a diagnostic with this code has unless told otherwise.
    public var defaultSeverity: Severity { entry?.severity ?? .error }

    /// One row of the catalogue: code, severity, short name and meaning.
    public struct CatalogEntry: Sendable {
        /// The code.
        public let code: DiagnosticCode
        /// Its default severity.
        public let severity: Severity
        /// A short kebab-case name (used as the SARIF rule name).
        public let name: String
        /// One sentence on what it means.
        public let meaning: String
    }

    private static let catalogByCode: [String: CatalogEntry] =
        Dictionary(uniqueKeysWithValues: catalog.map { ($0.code.rawValue, $0) })

    private static func e(_ c: DiagnosticCode, _ s: Severity, _ n: String, _ m: String) -> CatalogEntry {
        CatalogEntry(code: c, severity: s, name: n, meaning: m)
    }

    // MARK: RF0xxx — files and YAML
    public static let fileUnreadable = DiagnosticCode(rawValue: "RF0001")
    public static let invalidUTF8 = DiagnosticCode(rawValue: "RF0002")
    public static let fileTooLarge = DiagnosticCode(rawValue: "RF0003")
    public static let yamlSyntax = DiagnosticCode(rawValue: "RF0004")
    public static let duplicateKey = DiagnosticCode(rawValue: "RF0005")
    public static let yaml11Boolean = DiagnosticCode(rawValue: "RF0006")
    public static let nestingTooDeep = DiagnosticCode(rawValue: "RF0007")
    public static let aliasLimit = DiagnosticCode(rawValue: "RF0008")
    public static let unknownAlias = DiagnosticCode(rawValue: "RF0009")
    public static let multipleDocuments = DiagnosticCode(rawValue: "RF0010")
    public static let emptyDocument = DiagnosticCode(rawValue: "RF0011")
    public static let complexKey = DiagnosticCode(rawValue: "RF0012")
    public static let unsupportedTag = DiagnosticCode(rawValue: "RF0013")
    public static let mergeKey = DiagnosticCode(rawValue: "RF0014")
    public static let noInputFiles = DiagnosticCode(rawValue: "RF0015")

    // MARK: RF1xxx — document structure
    public static let unknownDocument = DiagnosticCode(rawValue: "RF1001")
    public static let unsupportedVersion = DiagnosticCode(rawValue: "RF1002")
    public static let unknownKind = DiagnosticCode(rawValue: "RF1003")
    public static let unknownKey = DiagnosticCode(rawValue: "RF1004")
    public static let missingKey = DiagnosticCode(rawValue: "RF1005")
    public static let wrongType = DiagnosticCode(rawValue: "RF1006")
    public static let conflictingKeys = DiagnosticCode(rawValue: "RF1007")
    public static let emptyList = DiagnosticCode(rawValue: "RF1008")
    public static let invalidName = DiagnosticCode(rawValue: "RF1009")
    public static let invalidEffect = DiagnosticCode(rawValue: "RF1010")
    public static let duplicateRuleID = DiagnosticCode(rawValue: "RF1011")
    public static let duplicatePolicyName = DiagnosticCode(rawValue: "RF1012")
    public static let emptyString = DiagnosticCode(rawValue: "RF1013")
    public static let missingPolicyFile = DiagnosticCode(rawValue: "RF1014")
    public static let invalidTestExpectation = DiagnosticCode(rawValue: "RF1015")
    public static let ignoredKey = DiagnosticCode(rawValue: "RF1020")
    public static let invalidOperator = DiagnosticCode(rawValue: "RF1021")
    public static let invalidRuleAction = DiagnosticCode(rawValue: "RF1022")
    public static let invalidDuration = DiagnosticCode(rawValue: "RF1023")
    public static let invalidChoice = DiagnosticCode(rawValue: "RF1024")
    public static let multipleRuntimeFiles = DiagnosticCode(rawValue: "RF1025")

    // MARK: RF2xxx — expression syntax
    public static let unexpectedCharacter = DiagnosticCode(rawValue: "RF2001")
    public static let unterminatedString = DiagnosticCode(rawValue: "RF2002")
    public static let invalidEscape = DiagnosticCode(rawValue: "RF2003")
    public static let invalidNumber = DiagnosticCode(rawValue: "RF2004")
    public static let unexpectedToken = DiagnosticCode(rawValue: "RF2005")
    public static let expressionTooDeep = DiagnosticCode(rawValue: "RF2006")
    public static let emptyExpression = DiagnosticCode(rawValue: "RF2007")
    public static let chainedComparison = DiagnosticCode(rawValue: "RF2008")

    // MARK: RF3xxx — expression meaning
    public static let unknownPath = DiagnosticCode(rawValue: "RF3001")
    public static let unknownField = DiagnosticCode(rawValue: "RF3002")
    public static let unknownFunction = DiagnosticCode(rawValue: "RF3003")
    public static let argumentCount = DiagnosticCode(rawValue: "RF3004")
    public static let typeMismatch = DiagnosticCode(rawValue: "RF3005")
    public static let notBoolean = DiagnosticCode(rawValue: "RF3006")
    public static let patternNotLiteral = DiagnosticCode(rawValue: "RF3007")
    public static let invalidRegex = DiagnosticCode(rawValue: "RF3008")
    public static let invalidGlob = DiagnosticCode(rawValue: "RF3009")
    public static let hasNeedsPath = DiagnosticCode(rawValue: "RF3010")
    public static let regexAlternation = DiagnosticCode(rawValue: "RF3011")
    public static let notAPath = DiagnosticCode(rawValue: "RF3012")
    public static let expressionTooLarge = DiagnosticCode(rawValue: "RF3013")
    public static let listNotLiteral = DiagnosticCode(rawValue: "RF3014")
    public static let absentComparison = DiagnosticCode(rawValue: "RF3015")
    public static let regexNestedQuantifier = DiagnosticCode(rawValue: "RF3016")

    // MARK: RF4xxx — rules, rings, limits, runtime settings
    public static let ringOutOfRange = DiagnosticCode(rawValue: "RF4001")
    public static let invalidThresholds = DiagnosticCode(rawValue: "RF4002")
    public static let conflictingThresholds = DiagnosticCode(rawValue: "RF4003")
    public static let invalidLimit = DiagnosticCode(rawValue: "RF4004")
    public static let limitOnDeny = DiagnosticCode(rawValue: "RF4005")
    public static let shadowedRule = DiagnosticCode(rawValue: "RF4006")
    public static let ringOnDeny = DiagnosticCode(rawValue: "RF4007")
    public static let programTooLarge = DiagnosticCode(rawValue: "RF4008")
    public static let runtimeOutOfRange = DiagnosticCode(rawValue: "RF4009")
    public static let runtimeConflict = DiagnosticCode(rawValue: "RF4010")

    // MARK: RF5xxx — bundles
    public static let bundleTruncated = DiagnosticCode(rawValue: "RF5001")
    public static let bundleForeign = DiagnosticCode(rawValue: "RF5002")
    public static let bundleVersion = DiagnosticCode(rawValue: "RF5003")
    public static let bundleFingerprint = DiagnosticCode(rawValue: "RF5004")
    public static let bundleChecksum = DiagnosticCode(rawValue: "RF5005")
    public static let bundleMalformed = DiagnosticCode(rawValue: "RF5006")

    // MARK: RF6xxx — requests
    public static let requestJSON = DiagnosticCode(rawValue: "RF6001")
    public static let requestNotObject = DiagnosticCode(rawValue: "RF6002")
    public static let requestMissingField = DiagnosticCode(rawValue: "RF6003")
    public static let requestWrongType = DiagnosticCode(rawValue: "RF6004")
    public static let requestOutOfRange = DiagnosticCode(rawValue: "RF6005")
    public static let requestUnknownField = DiagnosticCode(rawValue: "RF6006")
    public static let requestTooLarge = DiagnosticCode(rawValue: "RF6007")

    // MARK: RF7xxx — sagas
    public static let sagaMissingKey = DiagnosticCode(rawValue: "RF7001")
    public static let duplicateStepID = DiagnosticCode(rawValue: "RF7002")
    public static let unknownFanOutPolicy = DiagnosticCode(rawValue: "RF7003")
    public static let tooFewBranches = DiagnosticCode(rawValue: "RF7004")
    public static let unknownStep = DiagnosticCode(rawValue: "RF7005")
    public static let dependencyCycle = DiagnosticCode(rawValue: "RF7006")
    public static let timeoutOutOfRange = DiagnosticCode(rawValue: "RF7007")
    public static let retriesOutOfRange = DiagnosticCode(rawValue: "RF7008")
    public static let noCompensation = DiagnosticCode(rawValue: "RF7009")
    public static let invalidRetryPolicy = DiagnosticCode(rawValue: "RF7010")
    public static let invalidEscalation = DiagnosticCode(rawValue: "RF7011")
    public static let duplicateBranch = DiagnosticCode(rawValue: "RF7012")
    public static let duplicateSagaName = DiagnosticCode(rawValue: "RF7013")
    public static let invalidSagaURL = DiagnosticCode(rawValue: "RF7014")
    public static let concurrencyOutOfRange = DiagnosticCode(rawValue: "RF7015")

    /// Every code, in order, with its severity and meaning.
    public static let catalog: [CatalogEntry] = [
        e(.fileUnreadable, .error, "file-unreadable", "A file or directory could not be read."),
        e(.invalidUTF8, .error, "invalid-utf8", "A file is not valid UTF-8 text."),
        e(.fileTooLarge, .error, "file-too-large", "A file is larger than the 16 MiB a policy file may be."),
        e(.yamlSyntax, .error, "yaml-syntax", "The file is not well-formed YAML (libyaml's message)."),
        e(.duplicateKey, .error, "duplicate-key", "A mapping names the same key twice."),
        e(.yaml11Boolean, .error, "yaml11-boolean", "A YAML 1.1 boolean such as `yes` or `off`; write `true`/`false` or quote it."),
        e(.nestingTooDeep, .error, "nesting-too-deep", "Collections are nested deeper than the 64 levels allowed."),
        e(.aliasLimit, .error, "alias-limit", "Alias expansion would exceed the node budget (billion-laughs guard)."),
        e(.unknownAlias, .error, "unknown-alias", "An alias names an anchor that was not defined before it."),
        e(.multipleDocuments, .error, "multiple-documents", "A file holds more than one YAML document."),
        e(.emptyDocument, .error, "empty-document", "A file holds no YAML document."),
        e(.complexKey, .error, "complex-key", "A mapping key is not a scalar."),
        e(.unsupportedTag, .error, "unsupported-tag", "A node carries a YAML tag other than the core schema's."),
        e(.mergeKey, .error, "merge-key", "The YAML merge key `<<` is not supported; write the keys out."),
        e(.noInputFiles, .error, "no-input-files", "A directory argument holds no `*.yaml` or `*.yml` files."),

        e(.unknownDocument, .error, "unknown-document", "A file is neither a Ringfence document nor a recognised seed dialect."),
        e(.unsupportedVersion, .error, "unsupported-version", "The `ringfence:` version is not one this build understands."),
        e(.unknownKind, .error, "unknown-kind", "The `kind:` is not `policy`, `saga`, `tests` or `runtime`."),
        e(.unknownKey, .error, "unknown-key", "A mapping has a key the format does not define (often a misspelling)."),
        e(.missingKey, .error, "missing-key", "A required key is absent."),
        e(.wrongType, .error, "wrong-type", "A value has the wrong YAML type."),
        e(.conflictingKeys, .error, "conflicting-keys", "Two keys that exclude each other are both given (e.g. `action` and `actions`)."),
        e(.emptyList, .error, "empty-list", "A list that must hold at least one item is empty."),
        e(.invalidName, .error, "invalid-name", "A policy name, rule id or runtime name has characters outside `[A-Za-z0-9_.:-]`."),
        e(.invalidEffect, .error, "invalid-effect", "A rule's `effect` is not `allow` or `deny`."),
        e(.duplicateRuleID, .error, "duplicate-rule-id", "Two rules in one policy share an id."),
        e(.duplicatePolicyName, .error, "duplicate-policy-name", "Two policies compiled together share a name."),
        e(.emptyString, .error, "empty-string", "A string that must not be empty is empty."),
        e(.missingPolicyFile, .error, "missing-policy-file", "A tests file's `policies:` names a file or directory that does not exist."),
        e(.invalidTestExpectation, .error, "invalid-test-expectation", "A test case's `expect` is not `allow` or `deny`, or its `code` is not a decision code."),
        e(.ignoredKey, .warning, "ignored-key", "A seed-dialect file has a key its original system ignored silently; Ringfence ignores it too."),
        e(.invalidOperator, .error, "invalid-operator", "A rule document's `condition.operator` is not one of `eq ne gt lt gte lte in not_in contains matches`."),
        e(.invalidRuleAction, .error, "invalid-rule-action", "A rule document's `action` (or `defaults.action`) is not `allow`, `deny`, `audit` or `block`."),
        e(.invalidDuration, .error, "invalid-duration",
          "A duration is not a number and a unit (`500ms`, `30s`, `5m`, `1h`, `7d`) or a plain number of seconds, or is not a whole number of milliseconds."),
        e(.invalidChoice, .error, "invalid-choice", "A setting that takes one of a few words has another (`breach.on_critical`: `trip` or `kill`; `audit.durability`: `strict`, `group` or `relaxed`)."),
        e(.multipleRuntimeFiles, .error, "multiple-runtime-files", "More than one `kind: runtime` file is compiled together; a deployment has one."),

        e(.unexpectedCharacter, .error, "unexpected-character", "A character that cannot start any token."),
        e(.unterminatedString, .error, "unterminated-string", "A string literal has no closing quote."),
        e(.invalidEscape, .error, "invalid-escape", "A `\\u{…}` escape is not a valid Unicode scalar."),
        e(.invalidNumber, .error, "invalid-number", "A number literal is malformed or out of range."),
        e(.unexpectedToken, .error, "unexpected-token", "The parser expected something else here."),
        e(.expressionTooDeep, .error, "expression-too-deep", "An expression nests deeper than 64 levels."),
        e(.emptyExpression, .error, "empty-expression", "A `when` holds no expression."),
        e(.chainedComparison, .error, "chained-comparison", "Comparisons do not chain; join them with `&&`."),

        e(.unknownPath, .error, "unknown-path", "A path does not start with `agent`, `action`, `resource`, `params` or `context`."),
        e(.unknownField, .error, "unknown-field", "A path names a field its root does not have (e.g. `agent.trsut`)."),
        e(.unknownFunction, .error, "unknown-function", "A call names a function that does not exist."),
        e(.argumentCount, .error, "argument-count", "A function is called with the wrong number of arguments."),
        e(.typeMismatch, .error, "type-mismatch", "Operand types can never fit the operator or function (e.g. `agent.trust == \"x\"`)."),
        e(.notBoolean, .error, "not-boolean", "`when`, or an operand of `&&`, `||` or `!`, is not a boolean."),
        e(.patternNotLiteral, .error, "pattern-not-literal", "A regex or glob pattern is not a string literal."),
        e(.invalidRegex, .error, "invalid-regex", "PCRE2 rejects the pattern (its message and offset are given)."),
        e(.invalidGlob, .error, "invalid-glob", "A glob pattern is malformed (unclosed class or brace, misplaced `**`)."),
        e(.hasNeedsPath, .error, "has-needs-path", "`has` takes a path such as `params.query`."),
        e(.regexAlternation, .warning, "regex-alternation", "A top-level `|` in a regex splits the whole pattern, which is often not what was meant."),
        e(.notAPath, .error, "not-a-path", "A field access (`.x` or `[\"x\"]`) follows something that is not a path."),
        e(.expressionTooLarge, .error, "expression-too-large", "An expression needs more registers or code than a rule may use."),
        e(.listNotLiteral, .error, "list-not-literal", "A list literal holds something other than string, number, boolean or null literals."),
        e(.regexNestedQuantifier, .warning, "regex-nested-quantifier",
          "A regex repeats a group that holds an unbounded repeat (`(a+)+`): it can backtrack without end and will hit the work budget."),
        e(.absentComparison, .warning, "absent-comparison",
          "A deny rule compares a value that may be absent with `!=`; absent makes it false, so the rule does not apply to requests without the value."),

        e(.ringOutOfRange, .error, "ring-out-of-range", "A ring is not a whole number from 0 to 3."),
        e(.invalidThresholds, .error, "invalid-thresholds", "Ring thresholds (a policy's or the runtime file's `rings`) are outside [0, 1] or `privileged` is not above `standard`."),
        e(.conflictingThresholds, .error, "conflicting-thresholds", "Policies compiled together declare different ring thresholds."),
        e(.invalidLimit, .error, "invalid-limit", "A `limit` is not `N/second|minute|hour|day` with N from 1 to 1000000000."),
        e(.limitOnDeny, .error, "limit-on-deny", "A `limit` is given on a deny rule, where it could never apply."),
        e(.shadowedRule, .warning, "shadowed-rule", "An allow rule can never decide: a deny rule always applies where it does."),
        e(.ringOnDeny, .error, "ring-on-deny", "A `ring` gate is given on a deny rule, where it could never apply."),
        e(.programTooLarge, .error, "program-too-large",
          "The policies compiled together need more than a bundle can hold: more distinct pattern sets (16,777,216) than it can address, or more than 256 MiB."),
        e(.runtimeOutOfRange, .error, "runtime-out-of-range", "A runtime file's setting is outside its range (see docs/runtime-file.md), or `audit.origin` is not one line of text."),
        e(.runtimeConflict, .error, "runtime-conflict",
          "Runtime settings contradict each other: a default TTL above its cap, ring 1 needing less trust than ring 2, breach thresholds or risks out of order, a cascade that can never happen, a bond above the exposure cap."),

        e(.bundleTruncated, .error, "bundle-truncated", "A bundle file ends before its declared content does."),
        e(.bundleForeign, .error, "bundle-foreign", "A file is not a Ringfence bundle (wrong magic number)."),
        e(.bundleVersion, .error, "bundle-version", "A bundle's format version is not one this build reads."),
        e(.bundleFingerprint, .error, "bundle-fingerprint", "A bundle was built for a different instruction set."),
        e(.bundleChecksum, .error, "bundle-checksum", "A bundle's SHA-256 does not match its content (corrupted)."),
        e(.bundleMalformed, .error, "bundle-malformed", "A bundle's content fails verification (bad index, register or jump)."),

        e(.requestJSON, .error, "request-json", "A request is not valid JSON."),
        e(.requestNotObject, .error, "request-not-object", "A request is not a JSON object."),
        e(.requestMissingField, .error, "request-missing-field", "A request lacks `agent.id` or `action`."),
        e(.requestWrongType, .error, "request-wrong-type", "A request field has the wrong JSON type."),
        e(.requestOutOfRange, .error, "request-out-of-range", "`agent.trust` is outside [0, 1], `agent.ring` outside 0–3, or `context.time` is not an RFC 3339 date-time."),
        e(.requestUnknownField, .error, "request-unknown-field", "A request has a field the request shape does not define."),
        e(.requestTooLarge, .error, "request-too-large",
          "A request holds more than 16 MiB of text or 1,048,576 list items once decoded: it is refused, never decided."),

        e(.sagaMissingKey, .error, "saga-missing-key", "A saga lacks `name`, `session_id` or `steps`, or a step lacks `id`, `action_id` or `agent`."),
        e(.duplicateStepID, .error, "duplicate-step-id", "Two steps of one saga share an id."),
        e(.unknownFanOutPolicy, .error, "unknown-fan-out-policy", "A fan-out `policy` is not `all_must_succeed`, `majority_must_succeed` or `any_must_succeed`."),
        e(.tooFewBranches, .error, "too-few-branches", "A fan-out group lists fewer than two branches."),
        e(.unknownStep, .error, "unknown-step", "A fan-out branch or a `depends_on` entry names a step the saga does not define."),
        e(.dependencyCycle, .error, "dependency-cycle", "Steps depend on each other in a circle (the cycle is shown)."),
        e(.timeoutOutOfRange, .error, "timeout-out-of-range", "A step `timeout` is not a duration from 1 ms to 1 day (a number counts seconds)."),
        e(.retriesOutOfRange, .error, "retries-out-of-range", "A step `retries` is not a whole number from 0 to 10."),
        e(.noCompensation, .warning, "no-compensation", "A step has no `undo_api`, so it cannot be compensated if a later step fails."),
        e(.invalidRetryPolicy, .error, "invalid-retry-policy", "A `retry` block has a value outside its range (see docs/sagas.md)."),
        e(.invalidEscalation, .error, "invalid-escalation", "An `on_compensation_failure` block has a value outside its range (see docs/sagas.md)."),
        e(.duplicateBranch, .error, "duplicate-branch", "A step is listed twice among the branches of the saga's fan-out groups."),
        e(.duplicateSagaName, .error, "duplicate-saga-name", "Two sagas compiled together share a name."),
        e(.invalidSagaURL, .error, "invalid-saga-url",
          "`base_url` is not an absolute `http` or `https` URL, or an `execute_api`/`undo_api` is neither such a URL nor a path."),
        e(.concurrencyOutOfRange, .error, "concurrency-out-of-range", "`max_concurrency` is not a whole number from 1 to 64."),
    ]
}

extension DiagnosticCode {
    /// The catalogue as a Markdown table (kept in `docs/diagnostics.md`; a test compares them).
    public static var markdownTable: String {
        var lines = ["| code | severity | name | meaning |", "|---|---|---|---|"]
        for e in catalog {
            lines.append("| \(e.code.rawValue) | \(e.severity.rawValue) | `\(e.name)` | \(e.meaning.replacingPipes()) |")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        var out = ""
        for c in self { out += c == "|" ? "\\|" : String(c) }
        return out
    }
}
