/// Renders diagnostics for people (text with a source snippet) and for tools (JSON).
public enum DiagnosticRenderer {
    /// Renders one diagnostic in the Cedar/rustc style:
    ///
    /// ```
    /// policies/x.yaml:12:7: error[RF1004]: unknown key `retrys` in rule
    ///    |
    /// 12 |       retrys: 3
    ///    |       ^^^^^^
    ///    = help: did you mean `retries`?
    /// ```
    /// The snippet is omitted when the source line is not known.
    public static func text(_ d: Diagnostic, source: SourceFile?) -> String {
        var out = d.description
        if let source, let line = source.line(d.location.line) {
            let number = String(d.location.line)
            let gutter = String(repeating: " ", count: number.count)
            let scalars = Array(line.unicodeScalars)
            let start = max(0, min(d.location.column - 1, scalars.count))
            // Keep tabs in the padding so the caret lines up under the source.
            let padding = String(String.UnicodeScalarView(scalars[0..<start].map { $0 == "\t" ? "\t" : " " }))
            let width = max(1, min(d.length, max(1, scalars.count - start)))
            out += "\n\(gutter) |\n\(number) | \(line)\n\(gutter) | \(padding)\(String(repeating: "^", count: width))"
            if let help = d.help { out += "\n\(gutter) = help: \(help)" }
        } else if let help = d.help {
            out += "\n  = help: \(help)"
        }
        return out
    }

    /// Renders diagnostics as text, sorted, with snippets from `sources` (keyed by path).
    public static func text(_ diagnostics: [Diagnostic], sources: [String: SourceFile]) -> String {
        diagnostics.sortedForOutput().map { text($0, source: sources[$0.location.file]) }.joined(separator: "\n")
    }

    /// Renders diagnostics as a JSON array of objects with `file`, `line`, `column`, `severity`,
    /// `code`, `message` and (when present) `help`.
    public static func json(_ diagnostics: [Diagnostic]) -> String {
        let items = diagnostics.sortedForOutput().map { d -> String in
            var fields = [
                "\"file\":\(JSONText.quote(d.location.file))",
                "\"line\":\(d.location.line)",
                "\"column\":\(d.location.column)",
                "\"length\":\(d.length)",
                "\"severity\":\(JSONText.quote(d.severity.rawValue))",
                "\"code\":\(JSONText.quote(d.code.rawValue))",
                "\"message\":\(JSONText.quote(d.message))",
            ]
            if let help = d.help { fields.append("\"help\":\(JSONText.quote(help))") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}

/// Minimal JSON text helpers shared by every renderer.
public enum JSONText {
    /// Returns `s` as a JSON string literal with the required escapes.
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    /// Formats a number the way JSON expects: integers without a fraction, others shortest.
    public static func number(_ x: Double) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return x.isFinite ? String(x) : "null"
    }
}
