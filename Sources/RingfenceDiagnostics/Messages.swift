/// The wording of every diagnostic raised while finding, reading and structuring documents
/// (RF0001, RF0003, RF0015 and RF1xxx/RF4xxx structure checks), kept in one place.
///
/// Every message is one lowercase line without a final period, with user input in backticks.
/// Help lines are full phrases and may end in `?` for suggestions.
public enum Messages {
    // MARK: Files

    /// RF0001: a path given on the command line does not exist.
    public static func pathNotFound(_ path: String) -> String {
        "cannot read `\(path)`: no such file or directory"
    }

    /// RF0001: a file or directory exists but cannot be read.
    public static func pathUnreadable(_ path: String, reason: String) -> String {
        "cannot read `\(path)`: \(reason)"
    }

    /// RF0003: a file is larger than a policy file may be.
    public static func fileTooLarge(_ path: String, bytes: Int, limit: Int) -> String {
        "`\(path)` is \(bytes) bytes, more than the \(limit) bytes a policy file may be"
    }

    /// RF0015: a directory argument holds no YAML files.
    public static func noYAMLFiles(in directory: String) -> String {
        "no `*.yaml` or `*.yml` files in directory `\(directory)`"
    }

    // MARK: Envelope

    /// RF1006: the document's root is not a mapping.
    public static func rootNotMapping(found: String) -> String {
        "a ringfence document must be a mapping, found \(found)"
    }

    /// RF1001: the root mapping has no `ringfence:` key and no seed dialect recognised it.
    public static let notRingfenceDocument = "not a ringfence document: add `ringfence: 1` and a `kind`"

    /// RF1002: the `ringfence:` version is not 1.
    public static func unsupportedVersion(_ found: String) -> String {
        "unsupported ringfence version `\(found)`: this build reads version `1`"
    }

    /// RF1003: a known kind that this build cannot parse yet.
    public static func kindNotSupportedYet(_ kind: String) -> String {
        "`kind: \(kind)` files are not supported by this build yet"
    }

    /// RF1003: a kind that does not exist.
    public static func unknownKind(_ kind: String) -> String {
        "unknown kind `\(kind)`"
    }

    /// Help for RF1003 when no kind is close to what was written.
    public static func expectedOneOf(_ names: [String]) -> String {
        "expected " + Messages.list(names, conjunction: "or")
    }

    // MARK: Keys and types

    /// RF1004: a key the format does not define.
    public static func unknownKey(_ key: String, in context: String) -> String {
        "unknown key `\(key)` in \(context)"
    }

    /// Help for RF1004 when nothing is close: the keys that are allowed.
    public static func validKeys(_ keys: [String]) -> String {
        "valid keys are " + Messages.list(keys, conjunction: "and")
    }

    /// RF1005: a required key is absent.
    public static func missingKey(_ key: String, in context: String) -> String {
        "missing key `\(key)` in \(context)"
    }

    /// RF1006: a value has the wrong YAML type, e.g. "`ring` must be an integer, found string".
    public static func wrongType(_ key: String, expected: String, found: String) -> String {
        "`\(key)` must be \(expected), found \(found)"
    }

    /// RF1006: an item of a list has the wrong YAML type.
    public static func wrongItemType(_ key: String, expected: String, found: String) -> String {
        "each item of `\(key)` must be \(expected), found \(found)"
    }

    /// RF1006: a rule in `rules:` is not a mapping.
    public static func ruleNotMapping(found: String) -> String {
        "each rule must be a mapping, found \(found)"
    }

    /// RF1006: `when` is not a string.
    public static func whenNotString(found: String) -> String {
        "`when` must be an expression string, found \(found)"
    }

    /// Help for a `when` that YAML read as another type: quote it.
    public static func quoteWhen(_ text: String) -> String {
        "quote it to make it an expression: `when: \"\(text)\"`"
    }

    /// Help for a single string where a list is expected.
    public static func useSingularOrList(singular: String, plural: String, value: String) -> String {
        "write `\(singular): \(value)` or `\(plural): [\(value)]`"
    }

    /// RF1007: two keys that exclude each other are both given.
    public static func conflictingKeys(_ second: String, _ first: String) -> String {
        "`\(second)` cannot be given together with `\(first)`"
    }

    /// Help for RF1007: keep one of the two keys.
    public static func keepOneOf(_ first: String, _ second: String) -> String {
        "keep either `\(first)` or `\(second)`"
    }

    /// RF1005: a rule has neither `action` nor `actions`.
    public static func missingAction(ruleID: String?) -> String {
        if let ruleID { return "rule `\(ruleID)` needs `action` or `actions`" }
        return "rule needs `action` or `actions`"
    }

    /// RF1008: a list that must hold at least one item is empty.
    public static func emptyList(_ key: String) -> String {
        "`\(key)` must list at least one pattern"
    }

    /// RF1013: a string that must not be empty is empty.
    public static func emptyString(_ what: String) -> String {
        "\(what) must not be empty"
    }

    /// RF1009: a name or id has characters outside `[A-Za-z0-9_.:-]`.
    public static func invalidName(_ what: String, _ value: String) -> String {
        "\(what) `\(value)` may only hold letters, digits, `_`, `.`, `:` and `-`"
    }

    /// RF1010: an effect that is neither `allow` nor `deny`.
    public static func invalidEffect(_ found: String) -> String {
        "effect must be `allow` or `deny`, found `\(found)`"
    }

    /// RF1011: a rule id used twice in one policy.
    public static func duplicateRuleID(_ id: String) -> String {
        "duplicate rule id `\(id)`"
    }

    /// Help for RF1011 and other duplicates: where the first one is.
    public static func firstDefined(atLine line: Int) -> String {
        "first defined at line \(line)"
    }

    // MARK: Rings and limits

    /// RF4001: a ring outside 0–3 or not whole.
    public static func ringOutOfRange(_ found: String) -> String {
        "ring must be a whole number from 0 to 3, found `\(found)`"
    }

    /// RF4002: a ring threshold outside [0, 1].
    public static func thresholdOutOfRange(_ key: String, _ found: String) -> String {
        "`\(key)` threshold must be a number from 0 to 1, found `\(found)`"
    }

    /// RF4002: `privileged` is not above `standard`.
    public static func thresholdsOutOfOrder(privileged: String, standard: String) -> String {
        "`privileged` threshold `\(privileged)` must be above `standard` threshold `\(standard)`"
    }

    /// Help for RF4002 when one threshold was left at its default.
    public static func thresholdDefault(_ key: String, _ value: String) -> String {
        "`\(key)` is not given and defaults to `\(value)`"
    }

    /// RF4004: a `limit` that is not `N/unit`.
    public static func invalidLimit(_ found: String) -> String {
        "invalid limit `\(found)`: expected `N/second`, `N/minute`, `N/hour` or `N/day` with N from 1 to 1000000000"
    }

    /// RF4005: a `limit` on a deny rule.
    public static func limitOnDeny(ruleID: String?) -> String {
        "`limit` on deny rule\(ruleID.map { " `\($0)`" } ?? "") could never apply"
    }

    /// Help for RF4005.
    public static let limitOnDenyHelp = "rate limits only restrict allow rules; remove `limit`"

    /// RF4007: a `ring` gate on a deny rule.
    public static func ringOnDeny(ruleID: String?) -> String {
        "`ring` on deny rule\(ruleID.map { " `\($0)`" } ?? "") could never apply"
    }

    /// Help for RF4007.
    public static let ringOnDenyHelp = "ring gates only restrict allow rules; remove `ring` or use `when` on `agent.ring`"

    // MARK: Helpers

    /// Joins names as "`a`, `b` or `c`".
    public static func list(_ names: [String], conjunction: String) -> String {
        let quoted = names.map { "`\($0)`" }
        guard let last = quoted.last else { return "" }
        if quoted.count == 1 { return last }
        return quoted.dropLast().joined(separator: ", ") + " \(conjunction) " + last
    }
}

extension Messages {
    /// User text made safe for a one-line message: at most 60 characters (then `…`), `\n`, `\r`
    /// and `\t` written as escapes, other control characters as `\u{XXXX}`, and backticks turned
    /// into `'` so they cannot end the message's own quoting.
    public static func excerpt(_ text: String) -> String {
        var result = ""
        var taken = 0
        for scalar in text.unicodeScalars {
            if taken == 60 {
                result += "…"
                break
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "`": result += "'"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let digits = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
            taken += 1
        }
        return result
    }
}
