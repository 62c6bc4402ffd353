import Ringfence

/// `:when EXPR`: evaluates a bare `when` expression against the REPL's request by compiling
/// a one-rule policy around it, so the expression goes through the real checker, compiler and
/// VM (there is no second interpreter).
///
/// The rule is a deny rule matching every action (`action: "**"`): it denies with code
/// `deny_rule` when the expression is true, falls through to `default` when it is false, and
/// denies with code `error` when it cannot be evaluated on the request.
enum ReplWhen {
    /// The file name diagnostics about the expression carry.
    static let file = "<when>"
    /// The text before the expression on its line of the synthetic policy.
    static let linePrefix = "    when: '"

    /// The result of evaluating `expression`: `true`, `false`, `error: …`, or its diagnostics.
    static func evaluate(_ expression: String, request: ReplRequest, engine: Engine?) -> String {
        let (source, line) = policy(around: expression, thresholds: engine?.program.thresholds ?? Thresholds())
        let result = Compiler.compile(source: source, file: file)
        var out: [String] = []
        if !result.diagnostics.isEmpty {
            let mapped = result.diagnostics.map { locate($0, expression: expression, line: line) }
            out.append(DiagnosticRenderer.text(mapped, sources: [file: SourceFile(path: file, text: expression)]))
        }
        guard result.program != nil else { return out.joined(separator: "\n") }
        let probe: Engine
        do {
            probe = try Engine(compilation: result)
        } catch {
            out.append(error.description)
            return out.joined(separator: "\n")
        }
        let (decoded, filled) = request.decodedWithPlaceholders()
        let explanation: Explanation
        switch decoded {
        case .failure(let error):
            out.append(ReplMessages.requestRefused(error))
            return out.joined(separator: "\n")
        case .success(let r):
            explanation = probe.explain(r)
        }
        switch explanation.decision.code {
        case .denyRule:
            out.append("true")
        case .error:
            out.append("error: \(explanation.rules.first?.detail ?? "a value has the wrong type")")
        default:
            out.append("false")
        }
        if !filled.isEmpty { out.append(ReplMessages.placeholders(filled)) }
        return out.joined(separator: "\n")
    }

    /// The synthetic policy holding `expression` as a single-quoted `when`, and the line it is on.
    static func policy(around expression: String, thresholds: Thresholds) -> (source: String, line: Int) {
        var quoted = ""
        for c in expression.unicodeScalars {
            quoted.unicodeScalars.append(c)
            if c == "'" { quoted.unicodeScalars.append("'") }
        }
        let lines = [
            "ringfence: 1",
            "kind: policy",
            "name: repl",
            "rings:",
            "  privileged: \(thresholds.privileged)",
            "  standard: \(thresholds.standard)",
            "rules:",
            "  - id: when",
            "    effect: deny",
            "    action: \"**\"",
            linePrefix + quoted + "'",
        ]
        return (lines.joined(separator: "\n") + "\n", lines.count)
    }

    /// A diagnostic on the synthetic policy moved onto the expression itself (line 1 of
    /// `<when>`), undoing the doubling of `'` in the quoted scalar.
    static func locate(_ d: Diagnostic, expression: String, line: Int) -> Diagnostic {
        var moved = d
        moved.location = SourceLocation(file: file, line: 1, column: 1)
        guard d.location.line == line else { return moved }
        let start = column(ofSynthetic: d.location.column, in: expression)
        let end = column(ofSynthetic: d.location.column + d.length, in: expression)
        moved.location.column = start
        moved.length = max(1, end - start)
        return moved
    }

    /// The expression column that synthetic column `synthetic` falls on.
    private static func column(ofSynthetic synthetic: Int, in expression: String) -> Int {
        var at = linePrefix.unicodeScalars.count + 1
        var column = 1
        for c in expression.unicodeScalars {
            let width = c == "'" ? 2 : 1
            if synthetic < at + width { return column }
            at += width
            column += 1
        }
        return column
    }
}
