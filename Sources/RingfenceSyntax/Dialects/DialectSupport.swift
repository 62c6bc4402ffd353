import RingfenceDiagnostics

/// Writes Ringfence `when` expression text for values read from seed-dialect files, so that the
/// one checker and compiler give them their meaning (grammar/when.ebnf).
enum ExpressionText {
    /// A double-quoted string literal holding exactly `text`: `\` and `"` are escaped, and
    /// control characters are written as `\n`, `\r`, `\t` or `\u{…}`.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The literal for a YAML scalar value: `null`, `true`/`false`, an integer without `.0`, a
    /// finite float in its shortest round-trip form, or a string; nil for a non-finite float.
    static func literal(_ value: YAMLScalar.Value) -> String? {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let n): return String(n)
        case .float(let x): return x.isFinite ? x.description : nil
        case .string(let s): return string(s)
        }
    }

    /// The path reading `key` of the request's `params` (`params["key"]`).
    static func param(_ key: String) -> String {
        "params[" + string(key) + "]"
    }
}

/// The wording of diagnostics that only seed-dialect files raise, kept beside their parsers.
enum DialectMessages {
    /// RF1020: a key the original system never read.
    static func ignoredKey(_ key: String, in context: String) -> String {
        "key `\(key)` in \(context) is ignored"
    }

    /// Help for RF1020 when nothing is close: what the dialect reads.
    static func readKeys(_ keys: [String]) -> String {
        "the dialect reads only " + Messages.list(keys, conjunction: "and")
    }

    /// RF1006: a scalar value that cannot be a literal (a list, mapping or non-finite number).
    static func notAScalar(_ what: String, found: String) -> String {
        "\(what) must be a string, number, boolean or null, found \(found)"
    }

    /// RF1006: `.inf` or `.nan` where a number is compared.
    static func notFinite(_ what: String) -> String {
        "\(what) must be a finite number"
    }

    /// RF1021: an operator that does not exist.
    static func invalidOperator(_ found: String) -> String {
        "unknown operator `\(found)`"
    }

    /// RF1022: a rule action that does not exist.
    static func invalidRuleAction(_ found: String) -> String {
        "unknown action `\(found)`: expected `allow`, `deny`, `audit` or `block`"
    }

    /// RF1006: an operator whose value has the wrong type.
    static func operatorValue(_ op: String, expected: String, found: String) -> String {
        "operator `\(op)` needs \(expected) as its `value`, found \(found)"
    }
}

extension StructureReader {
    /// Warns (RF1020) about every key of `pairs` not in `read`, which the original system would
    /// have ignored silently; suggests a near-miss when there is one.
    mutating func warnIgnoredKeys(_ pairs: [YAMLPair], read: [String], context: String) {
        for pair in pairs where !read.contains(pair.key) {
            let help = Suggestions.didYouMean(pair.key, among: read) ?? DialectMessages.readKeys(read)
            error(.ignoredKey, DialectMessages.ignoredKey(Messages.excerpt(pair.key), in: context), atKey: pair, help: help)
        }
    }

    /// The value of a pair that must be a non-empty string; reports RF1006 or RF1013 otherwise.
    mutating func nonEmptyString(_ pair: YAMLPair, what: String) -> Located<String>? {
        guard let text = string(pair) else { return nil }
        if text.value.isEmpty {
            error(.emptyString, Messages.emptyString(what), at: pair.value)
            return nil
        }
        return text
    }

    /// The literal text of a scalar value for generated expressions; reports RF1006 for lists,
    /// mappings and non-finite numbers.
    mutating func literal(_ node: YAMLNode, what: String) -> String? {
        guard let scalar = node.scalar else {
            error(.wrongType, DialectMessages.notAScalar(what, found: node.typeName), at: node)
            return nil
        }
        guard let text = ExpressionText.literal(scalar.value) else {
            error(.wrongType, DialectMessages.notFinite(what), at: node)
            return nil
        }
        return text
    }
}
