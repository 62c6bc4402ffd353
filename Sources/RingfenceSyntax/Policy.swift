import RingfenceDiagnostics

/// A value together with where it was written.
public struct Located<Value: Sendable>: Sendable {
    /// The value.
    public var value: Value
    /// Where it starts.
    public var location: SourceLocation
    /// How many columns it spans on its first line (for carets).
    public var length: Int
    /// Creates a located value.
    public init(_ value: Value, at location: SourceLocation, length: Int = 1) {
        self.value = value
        self.location = location
        self.length = max(1, length)
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

/// A parsed `kind: policy` document (SPEC §3), before any semantic checks.
public struct PolicyDocument: Sendable {
    /// The file it came from.
    public var file: String
    /// The policy's name.
    public var name: Located<String>
    /// Ring thresholds, when the file gives them.
    public var rings: Located<RingThresholds>?
    /// The rules in file order.
    public var rules: [RuleDeclaration]
    /// Where the document starts.
    public var location: SourceLocation
    /// How the rules combine; native policies are deny-overrides, rule documents first-match
    /// (with their rules already in evaluation order).
    public var combining: PolicyCombining = .denyOverrides
    /// The seed dialect the document was written in, or nil for a native policy.
    public var dialect: String?

    /// Creates a policy document.
    public init(file: String, name: Located<String>, rings: Located<RingThresholds>?, rules: [RuleDeclaration], location: SourceLocation) {
        self.file = file
        self.name = name
        self.rings = rings
        self.rules = rules
        self.location = location
    }
}

/// The trust thresholds that turn trust scores into rings (SPEC §3.3).
public struct RingThresholds: Sendable, Hashable {
    /// trust > privileged and consensus → ring 1.
    public var privileged: Double
    /// trust > standard → ring 2; otherwise ring 3.
    public var standard: Double
    /// The defaults, 0.95 and 0.60.
    public static let `default` = RingThresholds(privileged: 0.95, standard: 0.60)
    /// Creates thresholds.
    public init(privileged: Double, standard: Double) {
        self.privileged = privileged
        self.standard = standard
    }
}

/// How a policy's rules combine into a decision.
public enum PolicyCombining: Sendable, Hashable {
    /// Any applying deny denies; otherwise the first applying allow allows (SPEC §3.2).
    case denyOverrides
    /// The first applying rule, in the document's evaluation order, decides; `defaultAllow`
    /// says what happens when none applies.
    case firstMatch(defaultAllow: Bool)
}

/// Whether a rule allows or denies.
public enum Effect: String, Sendable, Hashable {
    case allow, deny
}

/// A time window for rate limits.
public enum RateUnit: String, Sendable, Hashable, CaseIterable {
    case second, minute, hour, day

    /// The window's length in seconds.
    public var seconds: Int {
        switch self {
        case .second: 1
        case .minute: 60
        case .hour: 3600
        case .day: 86400
        }
    }
}

/// `limit: N/unit` — at most `count` decisions per window, per agent, for one rule.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// How many allows a window holds.
    public var count: Int
    /// The window.
    public var unit: RateUnit
    /// Creates a limit.
    public init(count: Int, unit: RateUnit) {
        self.count = count
        self.unit = unit
    }
    /// The `N/unit` spelling.
    public var description: String { "\(count)/\(unit.rawValue)" }
}

/// The source text of a `when` expression and how to map its offsets back to the file.
public struct ExpressionSource: Sendable {
    /// The expression text.
    public var text: String
    /// Where the scalar holding it starts.
    public var location: SourceLocation
    /// How the scalar was written (offsets map exactly for plain and one-line quoted scalars).
    public var style: YAMLScalar.Style

    /// Creates an expression source.
    public init(text: String, location: SourceLocation, style: YAMLScalar.Style) {
        self.text = text
        self.location = location
        self.style = style
    }

    /// The file location of the scalar at `offset` in `text`, reading the scalar's raw source
    /// line when given so that offsets inside one-line quoted scalars with escapes (`\"`, `''`)
    /// map exactly; otherwise as `location(at:)`.
    public func location(at offset: Int, rawLine: Substring?) -> SourceLocation {
        guard let rawLine, !text.contains("\n"), style == .doubleQuoted || style == .singleQuoted else {
            return location(at: offset)
        }
        let raw = Array(rawLine.unicodeScalars)
        var i = location.column - 1
        guard i >= 0, i < raw.count, raw[i] == (style == .doubleQuoted ? "\"" : "'") else { return location(at: offset) }
        i += 1
        var decoded = 0
        while decoded < offset, i < raw.count {
            if style == .singleQuoted {
                i += raw[i] == "'" ? 2 : 1
            } else if raw[i] == "\\", i + 1 < raw.count {
                switch raw[i + 1] {
                case "x": i += 4
                case "u": i += 6
                case "U": i += 10
                default: i += 2
                }
            } else {
                i += 1
            }
            decoded += 1
        }
        return SourceLocation(file: location.file, line: location.line, column: min(i, raw.count) + 1)
    }

    /// The file location of the scalar at `offset` in `text`. Exact for plain and one-line
    /// quoted scalars without escapes; otherwise the start of the scalar.
    public func location(at offset: Int) -> SourceLocation {
        switch style {
        case .plain where !text.contains("\n"):
            return location.advanced(by: offset)
        case .singleQuoted where !text.contains("\n") && !text.contains("'"):
            return location.advanced(by: offset + 1)
        case .doubleQuoted where !text.contains("\n") && !text.contains("\\") && !text.contains("\""):
            return location.advanced(by: offset + 1)
        default:
            return location
        }
    }
}

/// One rule as written (SPEC §3), before semantic checks.
public struct RuleDeclaration: Sendable {
    /// The rule's id, unique within its policy.
    public var id: Located<String>
    /// allow or deny.
    public var effect: Located<Effect>
    /// Action globs (from `action:` or `actions:`); at least one.
    public var actions: [Located<String>]
    /// Resource globs, or nil when the rule applies to any resource.
    public var resources: [Located<String>]?
    /// The least-privileged ring allowed, when given.
    public var ring: Located<Int>?
    /// The `when` condition, when given.
    public var when: ExpressionSource?
    /// The rate limit, when given.
    public var limit: Located<RateLimit>?
    /// The reason reported with decisions.
    public var reason: String?
    /// Where the rule's mapping starts.
    public var location: SourceLocation
    /// False when the rule had structural errors; it is kept only so its patterns and `when`
    /// can still be checked, and a document holding it never compiles.
    public var isComplete = true
    /// True when `*` in the resource globs also crosses `/` (the capability dialect's meaning).
    public var starCrossesSeparator = false

    /// Creates a rule declaration.
    public init(
        id: Located<String>, effect: Located<Effect>, actions: [Located<String>], resources: [Located<String>]?,
        ring: Located<Int>?, when: ExpressionSource?, limit: Located<RateLimit>?, reason: String?, location: SourceLocation
    ) {
        self.id = id
        self.effect = effect
        self.actions = actions
        self.resources = resources
        self.ring = ring
        self.when = when
        self.limit = limit
        self.reason = reason
        self.location = location
    }
}
