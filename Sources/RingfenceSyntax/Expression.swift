import RingfenceDiagnostics

/// A `when` expression: its syntax tree with spans (offsets counted in Unicode scalars from the
/// start of the expression text). See `grammar/when.ebnf`.
public indirect enum ExpressionKind: Sendable, Hashable {
    /// A string, number, boolean or null literal.
    case literal(Literal)
    /// A list literal `[a, b, …]`.
    case list([Expression])
    /// A path such as `params.query` or `agent.attrs["team"]`.
    case path(Path)
    /// `!x` / `not x`.
    case not(Expression)
    /// `a && b` / `a and b`.
    case and(Expression, Expression)
    /// `a || b` / `a or b`.
    case or(Expression, Expression)
    /// A comparison, `in` or `=~`.
    case compare(ComparisonOperator, Expression, Expression)
    /// A function call `name(args…)`.
    case call(name: String, nameSpan: Span, arguments: [Expression])
}

/// An expression node and the span of source it came from.
public struct Expression: Sendable, Hashable {
    /// What the node is.
    public var kind: ExpressionKind
    /// The source range it covers.
    public var span: Span

    /// Creates a node.
    public init(_ kind: ExpressionKind, span: Span) {
        self.kind = kind
        self.span = span
    }
}

/// A half-open range of Unicode-scalar offsets into the expression text.
public struct Span: Sendable, Hashable {
    /// The first scalar's offset.
    public var start: Int
    /// How many scalars it covers.
    public var length: Int
    /// Creates a span.
    public init(start: Int, length: Int) {
        self.start = start
        self.length = length
    }
    /// The offset just past the end.
    public var end: Int { start + length }
    /// The smallest span covering both.
    public func merged(with other: Span) -> Span {
        let s = min(start, other.start)
        return Span(start: s, length: max(end, other.end) - s)
    }
}

/// A literal value.
public enum Literal: Sendable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
}

/// The binary operators that compare two values.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case `in` = "in"
    case matches = "=~"
}

/// A path: a root name and the field names that follow, each with its span.
public struct Path: Sendable, Hashable, CustomStringConvertible {
    /// One step of a path.
    public struct Segment: Sendable, Hashable {
        /// The field name (for `["k"]`, the key `k`).
        public var name: String
        /// Where it was written.
        public var span: Span
        /// True when written as `["name"]` rather than `.name`.
        public var bracketed: Bool
        /// Creates a segment.
        public init(name: String, span: Span, bracketed: Bool = false) {
            self.name = name
            self.span = span
            self.bracketed = bracketed
        }
    }
    /// The root (`agent`, `action`, …) followed by its fields.
    public var segments: [Segment]
    /// Creates a path from its segments (at least one).
    public init(segments: [Segment]) { self.segments = segments }
    /// The names alone.
    public var names: [String] { segments.map(\.name) }
    /// The canonical spelling, e.g. `params.query` or `params["content-type"]`.
    public var description: String {
        var out = ""
        for (i, s) in segments.enumerated() {
            if i == 0 {
                out = s.name
            } else if Path.isIdentifier(s.name) {
                out += "." + s.name
            } else {
                var escaped = ""
                for c in s.name.unicodeScalars {
                    if c == "\\" || c == "\"" { escaped.unicodeScalars.append("\\") }
                    escaped.unicodeScalars.append(c)
                }
                out += "[\"" + escaped + "\"]"
            }
        }
        return out
    }

    /// True when `name` can be written after a dot: `[A-Za-z_][A-Za-z0-9_]*` and not a keyword.
    public static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        guard letter(first) else { return false }
        guard name.unicodeScalars.allSatisfy({ letter($0) || ("0"..."9").contains($0) }) else { return false }
        return !keywords.contains(name)
    }

    /// Words that cannot be used as identifiers.
    public static let keywords: Set<String> = ["and", "or", "not", "in", "true", "false", "null"]
}

/// A syntax error in an expression: a code, a message and the offending span.
public struct ExpressionSyntaxError: Error, Sendable, Hashable {
    /// The diagnostic code (one of the RF2xxx codes).
    public var code: DiagnosticCode
    /// The message, one lowercase line.
    public var message: String
    /// Where in the expression text.
    public var span: Span
    /// Creates an error.
    public init(code: DiagnosticCode, message: String, span: Span) {
        self.code = code
        self.message = message
        self.span = span
    }
}
