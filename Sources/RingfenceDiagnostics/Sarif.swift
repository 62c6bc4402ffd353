extension DiagnosticRenderer {
    /// The URI of the SARIF 2.1.0 schema (OASIS errata 01), written as the log's `$schema`.
    public static let sarifSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

    /// Renders diagnostics as a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers.
    ///
    /// One run whose `tool.driver` names `ringfence` and lists one reporting descriptor per
    /// diagnostic code used (`id` the code, `name` the catalogue name, descriptions the
    /// catalogue meaning, `defaultConfiguration.level` its default severity); one result per
    /// diagnostic, sorted as for text output, located by the path as given (percent-encoded
    /// into a relative URI reference) and a region whose columns count Unicode scalars
    /// (`columnKind: unicodeCodePoints`), `endColumn` being the column after the underline.
    public static func sarif(_ diagnostics: [Diagnostic], toolVersion: String) -> String {
        let sorted = diagnostics.sortedForOutput()
        let codes = Array(Set(sorted.map(\.code))).sorted()
        var ruleIndex: [DiagnosticCode: Int] = [:]
        for (i, code) in codes.enumerated() { ruleIndex[code] = i }
        let rules = codes.map(SarifValue.rule(for:))
        let results = sorted.map { SarifValue.result(for: $0, ruleIndex: ruleIndex[$0.code] ?? 0) }
        let driver: SarifValue = .object([
            ("name", .string("ringfence")),
            ("version", .string(toolVersion)),
            ("rules", .array(rules)),
        ])
        let run: SarifValue = .object([
            ("tool", .object([("driver", driver)])),
            ("columnKind", .string("unicodeCodePoints")),
            ("results", .array(results)),
        ])
        let log: SarifValue = .object([
            ("$schema", .string(sarifSchemaURI)),
            ("version", .string("2.1.0")),
            ("runs", .array([run])),
        ])
        var out = ""
        log.write(into: &out, indent: 0)
        return out
    }

    /// `path` as a URI reference: unreserved characters and `/` kept, every other byte of its
    /// UTF-8 percent-encoded (so `:` can never be read as a scheme, nor `<stdin>` be invalid).
    public static func sarifURI(_ path: String) -> String {
        var out = ""
        let hex = Array("0123456789ABCDEF")
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return out
    }
}

/// A JSON value with members kept in the order written, so SARIF output is deterministic.
private indirect enum SarifValue {
    /// A string.
    case string(String)
    /// A whole number.
    case int(Int)
    /// An array.
    case array([SarifValue])
    /// An object whose members keep their order.
    case object([(String, SarifValue)])

    /// The SARIF `level` for a severity.
    static func level(_ severity: Severity) -> SarifValue {
        switch severity {
        case .error: .string("error")
        case .warning: .string("warning")
        case .note: .string("note")
        }
    }

    /// The reporting descriptor (rule) for a diagnostic code, from the catalogue.
    static func rule(for code: DiagnosticCode) -> SarifValue {
        let entry = code.entry
        let meaning = entry?.meaning ?? "A diagnostic reported by ringfence."
        return .object([
            ("id", .string(code.rawValue)),
            ("name", .string(entry?.name ?? code.rawValue)),
            ("shortDescription", .object([("text", .string(meaning))])),
            ("fullDescription", .object([("text", .string(meaning))])),
            ("defaultConfiguration", .object([("level", level(code.defaultSeverity))])),
        ])
    }

    /// The result for one diagnostic; the `help:` line, when present, follows the message.
    static func result(for d: Diagnostic, ruleIndex: Int) -> SarifValue {
        var text = d.message
        if let help = d.help { text += "\nhelp: \(help)" }
        var members: [(String, SarifValue)] = [
            ("ruleId", .string(d.code.rawValue)),
            ("ruleIndex", .int(ruleIndex)),
            ("level", level(d.severity)),
            ("message", .object([("text", .string(text))])),
        ]
        if !d.location.file.isEmpty {
            var physical: [(String, SarifValue)] = [
                ("artifactLocation", .object([("uri", .string(DiagnosticRenderer.sarifURI(d.location.file)))])),
            ]
            if d.location.line >= 1 {
                var region: [(String, SarifValue)] = [("startLine", .int(d.location.line))]
                if d.location.column >= 1 {
                    region.append(("startColumn", .int(d.location.column)))
                    region.append(("endColumn", .int(d.location.column + d.length)))
                }
                physical.append(("region", .object(region)))
            }
            members.append(("locations", .array([.object([("physicalLocation", .object(physical))])])))
        }
        return .object(members)
    }

    /// Appends this value as indented JSON (two spaces a level) to `out`.
    func write(into out: inout String, indent: Int) {
        switch self {
        case .string(let s): out += JSONText.quote(s)
        case .int(let n): out += String(n)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                item.write(into: &out, indent: indent + 2)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in members.enumerated() {
                out += String(repeating: " ", count: indent + 2) + JSONText.quote(key) + ": "
                value.write(into: &out, indent: indent + 2)
                out += i == members.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        }
    }
}
