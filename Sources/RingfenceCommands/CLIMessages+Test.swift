import Foundation
import Ringfence

/// The messages `ringfence test` writes itself.
extension CLIMessages {
    /// `test` without paths.
    static let missingTestPaths = "missing tests paths: give at least one tests file or directory"

    /// `--coverage-min` outside 0…100.
    static func coverageMinOutOfRange(_ value: Double) -> String {
        "--coverage-min must be a percentage from 0 to 100, found `\(percent(value))`"
    }

    /// `--run` with a pattern PCRE2 refuses.
    static func invalidRunPattern(_ pattern: String, _ reason: String) -> String {
        "error: invalid --run pattern `\(pattern)`: \(reason)"
    }

    /// Paths that hold no `kind: tests` document.
    static func noTestsFiles(_ paths: [String]) -> String {
        "no `kind: tests` files in " + paths.map { "`\($0)`" }.joined(separator: ", ")
    }

    /// A case whose request does not have the request shape (SPEC §1).
    static func malformedTestRequest(_ name: String, _ reason: String) -> String {
        "the request of test case `\(name)` is malformed: \(reason)"
    }

    /// Coverage under `--coverage-min`.
    static func coverageBelowMinimum(_ measured: String, minimum: Double) -> String {
        "error: rule coverage \(measured) is below --coverage-min \(percent(minimum))%"
    }

    /// A percentage as the user would write it: `100`, `92.5`.
    static func percent(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }
}

/// The messages `ringfence schema` writes itself.
extension CLIMessages {
    /// `schema` with a kind that has no schema.
    static func unknownSchemaKind(_ kind: String) -> String {
        let help = Suggestions.didYouMean(kind, among: JSONSchemas.kinds).map { "; \($0)" } ?? ""
        return "no schema for kind `\(kind)`: expected " + JSONSchemas.kinds.map { "`\($0)`" }.joined(separator: ", ") + help
    }
}
