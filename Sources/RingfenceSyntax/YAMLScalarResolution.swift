// Text-level helpers of the YAML loader: core-schema scalar resolution, and UTF-8 validation
// with byte-to-location mapping for the bytes libyaml is given.

import RingfenceDiagnostics

/// Resolution of scalar text to values under the YAML 1.2 core schema, and the checks on tags
/// and YAML 1.1 booleans that go with it.
///
/// | form (plain scalars only)                       | value            |
/// |-------------------------------------------------|------------------|
/// | `null` `Null` `NULL` `~` or empty               | `.null`          |
/// | `true` `True` `TRUE` `false` `False` `FALSE`     | `.bool`          |
/// | `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`      | `.integer` (`.float` when it overflows `Int`) |
/// | `[-+]?(\.[0-9]+\|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` | `.float`   |
/// | `[-+]?(.inf\|.Inf\|.INF)`, `.nan` `.NaN` `.NAN`  | `.float`         |
/// | anything else                                    | `.string`        |
enum YAMLScalarResolution {
    /// The tag prefix libyaml expands `!!` to.
    static let coreTagPrefix = "tag:yaml.org,2002:"

    /// The core-schema types a tag can ask a scalar to be.
    enum ScalarTag: Equatable {
        case string, integer, float, bool, null
    }

    /// What a scalar's tag asks for: nothing, one core scalar type, or something unsupported.
    enum TagRequest: Equatable {
        case none
        case scalar(ScalarTag)
        case unsupported(String)
    }

    /// Classifies the tag libyaml reported on a scalar (`nil` when it had none).
    static func scalarTag(_ tag: String?) -> TagRequest {
        guard let tag else { return .none }
        // `!` alone is the non-specific tag: the scalar is a string.
        if tag == "!" { return .scalar(.string) }
        switch tag {
        case coreTagPrefix + "str": return .scalar(.string)
        case coreTagPrefix + "int": return .scalar(.integer)
        case coreTagPrefix + "float": return .scalar(.float)
        case coreTagPrefix + "bool": return .scalar(.bool)
        case coreTagPrefix + "null": return .scalar(.null)
        default: return .unsupported(tag)
        }
    }

    /// True when `tag` (as libyaml reported it on a collection) is acceptable for that collection.
    static func collectionTagIsSupported(_ tag: String?, mapping: Bool) -> Bool {
        guard let tag else { return true }
        if tag == "!" { return true }
        return tag == coreTagPrefix + (mapping ? "map" : "seq")
    }

    /// The tag as a user would write it: `!!int` for core tags, otherwise unchanged.
    static func displayTag(_ tag: String) -> String {
        tag.hasPrefix(coreTagPrefix) ? "!!" + tag.dropFirst(coreTagPrefix.count) : tag
    }

    /// Resolves a plain, untagged scalar's text under the core schema.
    static func resolvePlain(_ text: String) -> YAMLScalar.Value {
        // Cheap byte tests first: most scalars are words that can be neither a keyword nor a number.
        guard let first = text.utf8.first else { return .null }
        if text.utf8.count <= 5, let keyword = null(text) ?? bool(text) { return keyword }
        guard isDigit(first) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
            || first == UInt8(ascii: ".") else { return .string(text) }
        if let number = integer(text) ?? float(text) { return number }
        return .string(text)
    }

    /// Resolves `text` as the type a tag demands, or nil when the text does not fit it.
    static func resolve(_ text: String, as tag: ScalarTag) -> YAMLScalar.Value? {
        switch tag {
        case .string: .string(text)
        case .null: null(text)
        case .bool: bool(text)
        case .integer: integer(text)
        case .float:
            switch integer(text) {
            case .integer(let n)?: .float(Double(n))
            case let other?: other
            case nil: float(text)
            }
        }
    }

    /// The `true`/`false` a YAML 1.1 boolean word stands for, or nil when `text` is not one.
    static func yaml11Boolean(_ text: String) -> Bool? {
        guard text.utf8.count <= 3 else { return nil }
        return switch text {
        case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON": true
        case "n", "N", "no", "No", "NO", "off", "Off", "OFF": false
        default: nil
        }
    }

    /// `.null` when `text` is a core-schema null.
    static func null(_ text: String) -> YAMLScalar.Value? {
        switch text {
        case "", "~", "null", "Null", "NULL": .null
        default: nil
        }
    }

    /// `.bool` when `text` is a core-schema boolean.
    static func bool(_ text: String) -> YAMLScalar.Value? {
        switch text {
        case "true", "True", "TRUE": .bool(true)
        case "false", "False", "FALSE": .bool(false)
        default: nil
        }
    }

    /// `.integer` (or `.float` on overflow) when `text` is a core-schema integer.
    static func integer(_ text: String) -> YAMLScalar.Value? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.count > 2, bytes[0] == UInt8(ascii: "0"),
           bytes[1] == UInt8(ascii: "o") || bytes[1] == UInt8(ascii: "x") {
            let radix = bytes[1] == UInt8(ascii: "o") ? 8 : 16
            return radixInteger(bytes[2...], radix: radix)
        }
        var digits = bytes[...]
        if let first = digits.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
        if let value = Int(text) { return .integer(value) }
        if let value = Double(text), value.isFinite { return .float(value) }
        return nil
    }

    /// Reads `digits` in base 8 or 16; overflow falls back to an approximate `.float`.
    private static func radixInteger(_ digits: ArraySlice<UInt8>, radix: Int) -> YAMLScalar.Value? {
        var exact: Int? = 0
        var approximate = 0.0
        for byte in digits {
            guard let digit = digitValue(byte), digit < radix else { return nil }
            approximate = approximate * Double(radix) + Double(digit)
            if let current = exact {
                let (product, overflowA) = current.multipliedReportingOverflow(by: radix)
                let (sum, overflowB) = product.addingReportingOverflow(digit)
                exact = overflowA || overflowB ? nil : sum
            }
        }
        if let exact { return .integer(exact) }
        return approximate.isFinite ? .float(approximate) : nil
    }

    /// `.float` when `text` is a core-schema float (`.inf` and `.nan` forms included).
    static func float(_ text: String) -> YAMLScalar.Value? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        guard isDecimalFloat(Array(text.utf8)[...]) else { return nil }
        // A literal too large for a `Double` is not read as infinity: it stays a string.
        guard let value = Double(text), value.isFinite else { return nil }
        return .float(value)
    }

    /// Matches `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
    private static func isDecimalFloat(_ input: ArraySlice<UInt8>) -> Bool {
        var rest = input
        if let first = rest.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            rest = rest.dropFirst()
        }
        let integerDigits = rest.prefix(while: isDigit).count
        rest = rest.dropFirst(integerDigits)
        var fractionDigits = 0
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fractionDigits = rest.prefix(while: isDigit).count
            rest = rest.dropFirst(fractionDigits)
            if integerDigits == 0 && fractionDigits == 0 { return false }
        } else if integerDigits == 0 {
            return false
        }
        if let e = rest.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                rest = rest.dropFirst()
            }
            let exponentDigits = rest.prefix(while: isDigit).count
            if exponentDigits == 0 { return false }
            rest = rest.dropFirst(exponentDigits)
        }
        return rest.isEmpty
    }

    /// True for an ASCII decimal digit.
    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The value of an ASCII hexadecimal digit, or nil.
    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

// MARK: - Raw text

/// Finding invalid UTF-8 and locating a byte offset as a 1-based line and column.
enum UTF8Validation {
    /// The offset of the first byte that starts an invalid UTF-8 sequence, or nil when all is valid.
    static func firstInvalidByte(in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { b -> Int? in
            let count = b.count
            var i = 0
            while i < count {
                let lead = b[i]
                if lead < 0x80 {
                    i += 1
                    continue
                }
                let need: Int
                var lower: UInt8 = 0x80
                var upper: UInt8 = 0xBF
                switch lead {
                case 0xC2...0xDF: need = 1
                case 0xE0: need = 2; lower = 0xA0
                case 0xE1...0xEC, 0xEE, 0xEF: need = 2
                case 0xED: need = 2; upper = 0x9F
                case 0xF0: need = 3; lower = 0x90
                case 0xF1...0xF3: need = 3
                case 0xF4: need = 3; upper = 0x8F
                default: return i
                }
                guard count - i > need else { return i }
                guard b[i + 1] >= lower, b[i + 1] <= upper else { return i }
                var k = 2
                while k <= need {
                    guard b[i + k] & 0xC0 == 0x80 else { return i }
                    k += 1
                }
                i += need + 1
            }
            return nil
        }
    }

    /// The line and column of byte `offset` (lines split at `\n`, columns count scalars; a
    /// leading byte-order mark takes no column, as in libyaml).
    static func location(ofByte offset: Int, in bytes: UnsafeBufferPointer<UInt8>, file: String) -> SourceLocation {
        var line = 1
        var column = 1
        let end = min(max(offset, 0), bytes.count)
        var i = 0
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < end {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    /// The byte at a 1-based line and column (lines split at `\n`), or nil past the end of the text.
    static func byte(at location: SourceLocation, in bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        var line = 1
        var column = 1
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count {
            let byte = bytes[i]
            if byte & 0xC0 != 0x80 {
                if line == location.line && column == location.column { return byte }
                if line > location.line { return nil }
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            }
            i += 1
        }
        return nil
    }

    /// The line and column of byte `offset` in `bytes`.
    static func location(ofByte offset: Int, in bytes: [UInt8], file: String) -> SourceLocation {
        bytes.withUnsafeBufferPointer { location(ofByte: offset, in: $0, file: file) }
    }
}
