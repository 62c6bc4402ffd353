/// How serious a diagnostic is: errors stop compilation, warnings do not.
public enum Severity: String, Sendable, Hashable, Comparable {
    case error
    case warning
    case note

    private var rank: Int {
        switch self {
        case .error: 0
        case .warning: 1
        case .note: 2
        }
    }

    /// Orders errors before warnings before notes.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// One problem found in a source file: a stable code, a one-line message and where it is.
public struct Diagnostic: Sendable, Hashable, Error, CustomStringConvertible {
    /// Whether this stops compilation.
    public var severity: Severity
    /// The stable code, e.g. `RF1003`.
    public var code: DiagnosticCode
    /// One lowercase line without a final period; user input in backticks.
    public var message: String
    /// Where the problem starts.
    public var location: SourceLocation
    /// How many columns the caret underline spans (at least 1).
    public var length: Int
    /// An optional `help:` line, e.g. a "did you mean" suggestion.
    public var help: String?

    /// Creates a diagnostic; `severity` defaults to the code's own severity.
    public init(
        _ code: DiagnosticCode, _ message: String, at location: SourceLocation,
        length: Int = 1, help: String? = nil, severity: Severity? = nil
    ) {
        self.code = code
        self.message = message
        self.location = location
        self.length = max(1, length)
        self.help = help
        self.severity = severity ?? code.defaultSeverity
    }

    /// True when this diagnostic is an error.
    public var isError: Bool { severity == .error }

    /// The one-line `file:line:col: error[CODE]: message` form.
    public var description: String {
        TerminalText.escape("\(location): \(severity.rawValue)[\(code.rawValue)]: \(message)")
    }
}

extension Array where Element == Diagnostic {
    /// Sorts diagnostics by file, line, column, then code, so output is deterministic.
    public func sortedForOutput() -> [Diagnostic] {
        sorted { a, b in
            if a.location != b.location { return a.location < b.location }
            if a.severity != b.severity { return a.severity < b.severity }
            if a.code != b.code { return a.code.rawValue < b.code.rawValue }
            return a.message < b.message
        }
    }

    /// True when any diagnostic is an error.
    public var containsErrors: Bool { contains { $0.isError } }
}
