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
            // Keep tabs in the padding so the caret lines up under the source; a control byte
            // is shown escaped, so it is padded (and underlined) by its escape's width.
            var padding = ""
            for scalar in scalars[0..<start] {
                padding += scalar == "\t" ? "\t" : String(repeating: " ", count: TerminalText.width(scalar))
            }
            let end = min(scalars.count, start + max(1, d.length))
            let width = max(1, scalars[start..<end].reduce(0) { $0 + TerminalText.width($1) })
            out += "\n\(gutter) |\n\(number) | \(TerminalText.escape(String(line), keepingTabs: true))"
            out += "\n\(gutter) | \(padding)\(String(repeating: "^", count: width))"
            if let help = d.help { out += "\n\(gutter) = help: \(TerminalText.escape(help))" }
        } else if let help = d.help {
            out += "\n  = help: \(TerminalText.escape(help))"
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
    /// True when `s` needs no escape in a JSON string literal (no control character, quote or
    /// backslash), so its bytes can be copied whole between the quotes.
    public static func isPlain(_ s: String) -> Bool {
        withUTF8(s) { plainPrefixCount($0) == $0.count }
    }

    /// Calls `body` with the UTF-8 bytes of `s` where the string keeps them; only a string not
    /// stored as contiguous UTF-8 is copied first (`String.withUTF8` needs a mutable string, and
    /// so a copy — a retain and a release — of every string).
    @inlinable
    public static func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = s.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = s
        return copy.withUTF8(body)
    }

    /// Appends `s` between quotes and returns true when it needs no escape; otherwise appends
    /// nothing and returns false (the caller escapes it its own way).
    public static func appendIfPlain(_ s: String, to bytes: inout [UInt8]) -> Bool {
        withUTF8(s) { units in
            guard plainPrefixCount(units) == units.count else { return false }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: units)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
    }

    /// The number of leading bytes of `units` that a JSON string literal holds as they are (up
    /// to the first control character, quote or backslash). Reads eight bytes at a time and tests
    /// each word for such a byte at once, so the text of ids, names and paths is scanned in a
    /// few steps; a word that holds one is then read byte by byte.
    public static func plainPrefixCount(_ units: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = units.baseAddress else { return 0 }
        let count = units.count
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= count, !needsEscape(word: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
            index += 8
        }
        while index < count, !needsEscape(base[index]) { index += 1 }
        return index
    }

    /// True for a byte a JSON string literal cannot hold as it is.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// True when one of the eight bytes of `word` needs an escape. The classic byte-parallel
    /// tests: `(x - 0x01…01 × n) & ~x & 0x80…80` is nonzero exactly when some byte of `x` is below
    /// `n` (for n ≤ 128), and with `n` = 1 on `word ^ c` it finds a byte equal to `c`. A borrow
    /// can mark a wrong byte, but only in a word that holds a true one, and only "whether" is
    /// asked here. Bytes from 0x80 up (UTF-8 beyond ASCII) never match.
    @inline(__always)
    static func needsEscape(word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        func anyBelow(_ n: UInt64, _ x: UInt64) -> UInt64 { (x &- ones &* n) & ~x & high }
        let control = anyBelow(0x20, word)
        let quote = anyBelow(1, word ^ (ones &* UInt64(UInt8(ascii: "\""))))
        let backslash = anyBelow(1, word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
        return control | quote | backslash != 0
    }

    /// Returns `s` as a JSON string literal with the required escapes; plain text is copied whole.
    public static func quote(_ s: String) -> String {
        if isPlain(s) { return "\"" + s + "\"" }
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

/// Text from files and requests made safe to print on a terminal: control characters (C0 but
/// tab where asked, DEL, C1) and the Unicode bidirectional overrides, which a terminal or editor
/// would act on instead of showing, are written as `\u{1B}`.
public enum TerminalText {
    /// True for a scalar shown escaped.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// The columns `scalar` takes once escaped (1 for a scalar shown as is).
    static func width(_ scalar: Unicode.Scalar) -> Int {
        needsEscape(scalar) && scalar != "\t" ? escaped(scalar).count : 1
    }

    /// `\u{…}` for one scalar (at least four hex digits).
    static func escaped(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
    }

    /// `text` with every scalar that `needsEscape` written as `\u{…}` (tabs kept when asked).
    public static func escape(_ text: String, keepingTabs: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0) && !(keepingTabs && $0 == "\t") }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar), !(keepingTabs && scalar == "\t") {
                out += escaped(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
