// The generated part of `docs/runtime.md`: the operations, the error codes and the state
// machines, written from the tables the runtime runs on. A test compares the document with
// this text, so the docs cannot drift from the code.

/// Markdown written from the runtime's tables.
public enum RuntimeReference {
    /// The markers around the generated text in `docs/runtime.md`.
    public static let begin = "<!-- generated: RuntimeReference.markdown; edit the tables in the code -->"
    /// The end marker.
    public static let end = "<!-- end generated -->"

    /// The operations, the error codes, and the session and elevation state machines.
    public static var markdown: String {
        var lines: [String] = []
        lines.append("### Operations")
        lines.append("")
        lines.append("Every operation may also carry `at` (an RFC 3339 time, see [Time](#time)).")
        lines.append("")
        lines.append("| op | fields | result |")
        lines.append("|---|---|---|")
        for operation in Operation.all {
            let fields = operation.fields.map { "`\($0.name)\($0.required ? "" : "?")` (\($0.type.summary))" }
            lines.append("| `\(operation.name)` | \(fields.isEmpty ? "—" : fields.joined(separator: ", ")) | \(operation.summary) |")
        }
        lines.append("")
        lines.append("### Error codes")
        lines.append("")
        lines.append("| code | meaning |")
        lines.append("|---|---|")
        for code in RuntimeError.Code.allCases {
            lines.append("| `\(code.rawValue)` | \(code.meaning) |")
        }
        lines.append("")
        lines.append("### Session states")
        lines.append("")
        lines.append("| event | allowed in | leads to |")
        lines.append("|---|---|---|")
        for row in SessionMachine.table {
            let from = row.from.map { "`\($0.rawValue)`" }.joined(separator: ", ")
            let event = row.event == .archive ? "`archive` (the runtime, ending `session.terminate` or an expiry)" : "`\(row.event.rawValue)`"
            lines.append("| \(event) | \(from) | \(row.to.map { "`\($0.rawValue)`" } ?? "(unchanged)") |")
        }
        lines.append("| `session.get` | every state | (unchanged) |")
        lines.append("")
        lines.append("### Elevation states")
        lines.append("")
        lines.append("An elevation is granted `active`.")
        lines.append("")
        lines.append("| event | from | to |")
        lines.append("|---|---|---|")
        for row in ElevationMachine.table {
            lines.append("| \(row.event.rawValue) | \(row.from.map { "`\($0.rawValue)`" }.joined(separator: ", ")) | `\(row.to.rawValue)` |")
        }
        lines.append("")
        lines.append("### Audit entry kinds")
        lines.append("")
        lines.append("The runtime writes: " + EntryKind.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", ")
            + ". `audit.append` refuses these and every kind starting with "
            + EntryKind.reservedPrefixes.map { "`\($0)`" }.joined(separator: ", ") + " (`reserved_kind`).")
        return lines.joined(separator: "\n")
    }
}
