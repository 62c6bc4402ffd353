// Literal prefilters for regexes: a byte string every match must contain, found by reading the
// pattern, and looked for with memchr and memcmp before PCRE2 runs.
//
// Soundness: the pattern is read as a sequence of top-level atoms. With no top-level `|`, every
// match is a concatenation of one match of each atom, in order, so adjacent single-character
// literal atoms match adjacent subject scalars. Under PCRE2_UTF an ASCII pattern character matches
// exactly its own byte, so such a run of literals must appear verbatim in every matching subject
// (or up to ASCII case under a leading `(?i)`).
//
// Everything else is read conservatively, and anything outside the understood subset yields no
// prefilter at all:
//   - groups, classes, `.`, `^`, `$` and class/assertion escapes are opaque atoms that end a run;
//     a group is skipped by counting parentheses, so constructs that hide parentheses or change
//     the syntax inside it (`\Q`, `\E`, `\c`, `(?#`, `(?C`, an `x` option) are refused;
//   - a quantifier that allows zero copies drops the literal it follows; any other keeps one
//     copy but ends the run; a `{` that is not a well-formed quantifier is refused;
//   - option settings other than a leading `(?i)`, `(*` verbs (`(*ACCEPT)` ends a match early),
//     backreferences, numeric escapes, comments, non-ASCII and control bytes are refused;
//   - under `(?i)`, Unicode case folding also pairs `k`/`K` with U+212A KELVIN SIGN and `s`/`S`
//     with U+017F LATIN SMALL LETTER LONG S, so those letters end a run; every other ASCII letter
//     folds only to its ASCII partner.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A literal every match of a regex contains, found by a conservative reading of its pattern.
public struct RegexPrefilter: Sendable, Hashable {
    /// The literal's bytes (ASCII; lower-cased when `caseless`).
    public let literal: [UInt8]
    /// True when the pattern matches the literal without regard to ASCII case.
    public let caseless: Bool

    /// Index of the literal byte searched for first: the last byte that is neither an ASCII letter
    /// nor a space, else byte 0. Such a byte needs one `memchr` even when caseless, is rare in
    /// text, and near the end of an identifier tells similar literals apart (`forbidden_table_7`).
    let anchor: Int

    /// Creates a prefilter for `literal`; a caseless literal is stored lower-cased.
    public init(literal: [UInt8], caseless: Bool) {
        self.literal = caseless ? literal.map(Self.asciiLowercased) : literal
        self.caseless = caseless
        anchor = literal.lastIndex { !Self.isASCIILetter($0) && $0 != UInt8(ascii: " ") } ?? 0
    }

    /// The longest literal of at least 2 bytes that every match of `pattern` must contain, or nil when none can be proven.
    public static func extract(from pattern: String) -> RegexPrefilter? {
        var reader = PrefilterReader(Array(pattern.utf8))
        return reader.read()
    }

    /// False only when `subject` lacks the literal, so the regex cannot match it. Allocates nothing.
    public func mayMatch(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        literal.withUnsafeBufferPointer { needle in
            Self.mayMatch(subject, literal: needle, anchor: anchor, caseless: caseless)
        }
    }

    /// `mayMatch` over a literal held elsewhere (a `Regex` keeps its copy in a buffer of its own,
    /// so searching touches no reference count).
    @inline(__always)
    static func mayMatch(_ subject: UnsafeBufferPointer<UInt8>, literal: UnsafeBufferPointer<UInt8>, anchor: Int, caseless: Bool) -> Bool {
        let count = literal.count
        guard count > 0, let needle = literal.baseAddress else { return true }
        guard subject.count >= count, let base = subject.baseAddress else { return false }
        return contains(base, subject.count, needle, count, anchor: anchor, caseless: caseless)
    }

    /// True when `haystack` contains `needle` (lower-case ASCII when `caseless`, then matched up to
    /// ASCII case); `count` is at least 1 and at most `length`. Candidates are the places where the
    /// anchor byte occurs, in either case (the nearer of the two next occurrences, each found by
    /// `memchr` and remembered until passed), and each is verified with `memcmp` or an ASCII
    /// case-insensitive compare. (glibc's `memmem` is a GNU extension that the Swift Glibc module
    /// does not export.)
    @inline(__always)
    private static func contains(_ haystack: UnsafePointer<UInt8>, _ length: Int, _ needle: UnsafePointer<UInt8>,
                                 _ count: Int, anchor: Int, caseless: Bool) -> Bool {
        let byte = needle[anchor]
        let other = caseless && byte &- 97 < 26 ? byte &- 32 : byte
        // The anchor of a candidate starting at `s` is at `s + anchor`, for `s` in `0 ... length - count`.
        let lastAnchor = length - count + anchor
        let raw = UnsafeRawPointer(haystack)
        var nextByte = -1
        var nextOther = other == byte ? Int.max : -1
        var position = anchor
        while position <= lastAnchor {
            let span = lastAnchor + 1 - position
            if nextByte < position {
                if let found = memchr(raw + position, Int32(byte), span) {
                    nextByte = UnsafeRawPointer(found) - raw
                } else {
                    nextByte = Int.max
                }
            }
            if nextOther < position {
                if let found = memchr(raw + position, Int32(other), span) {
                    nextOther = UnsafeRawPointer(found) - raw
                } else {
                    nextOther = Int.max
                }
            }
            let found = min(nextByte, nextOther)
            if found == Int.max { return false }
            let start = found - anchor
            if caseless {
                var index = 0
                while index < count, Self.asciiLowercased(haystack[start + index]) == needle[index] { index += 1 }
                if index == count { return true }
            } else if memcmp(raw + start, needle, count) == 0 {
                return true
            }
            position = found + 1
        }
        return false
    }

    /// True when `subject` may contain a match (convenience for tests and tools).
    public func mayMatch(_ subject: String) -> Bool {
        var copy = subject
        return copy.withUTF8 { mayMatch($0) }
    }

    /// True for `A`–`Z` and `a`–`z`.
    @inline(__always)
    fileprivate static func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 97 < 26
    }

    /// `byte` with `A`–`Z` mapped to `a`–`z`.
    @inline(__always)
    fileprivate static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte &- 65 < 26 ? byte | 0x20 : byte
    }
}

/// One left-to-right reading of a pattern's top-level atoms, collecting literal runs.
private struct PrefilterReader {
    /// The pattern's UTF-8 bytes.
    let s: [UInt8]
    /// True after a leading `(?i)`.
    var caseless = false
    /// The literal run being built.
    var run: [UInt8] = []
    /// The longest finished run so far (the first of equal length).
    var best: [UInt8] = []
    /// What the previous top-level atom was, for the quantifier that may follow it.
    var previous = Previous.nothing

    /// The kind of the last top-level atom read.
    enum Previous {
        /// No atom yet (pattern start, or just after the leading `(?i)`).
        case nothing
        /// A literal character, the last byte of `run`.
        case literal
        /// A non-literal atom: group, class, `.`, assertion or class escape.
        case opaque
        /// A quantifier (another quantifier may not follow it).
        case quantifier
    }

    /// A top-level or in-group escape: a literal byte, or an opaque atom; `end` is just past it.
    enum Escape {
        case literal(UInt8, end: Int)
        case opaque(end: Int)
    }

    init(_ bytes: [UInt8]) {
        s = bytes
    }

    /// Reads the whole pattern; nil when it is outside the understood subset or no run is long enough.
    mutating func read() -> RegexPrefilter? {
        for (index, byte) in s.enumerated() {
            if byte < 0x20 || byte >= 0x7F { return nil }
            if byte == UInt8(ascii: "("), index + 1 < s.count, s[index + 1] == UInt8(ascii: "*") { return nil }
        }
        var i = 0
        if s.starts(with: Array("(?i)".utf8)) {
            caseless = true
            i = 4
        }
        while i < s.count {
            let byte = s[i]
            switch byte {
            case UInt8(ascii: "|"), UInt8(ascii: ")"):
                return nil
            case UInt8(ascii: "("):
                if isOptionSetting(at: i) { return nil }
                guard let end = endOfGroup(from: i) else { return nil }
                opaque()
                i = end
            case UInt8(ascii: "["):
                guard let end = endOfClass(from: i) else { return nil }
                opaque()
                i = end
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                opaque()
                i += 1
            case UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "{"):
                guard let (optional, end) = quantifier(at: i) else { return nil }
                switch previous {
                case .nothing, .quantifier:
                    return nil
                case .literal:
                    if optional { run.removeLast() }
                    finishRun()
                case .opaque:
                    break
                }
                previous = .quantifier
                i = end
            case UInt8(ascii: "\\"):
                switch escape(at: i) {
                case nil:
                    return nil
                case .literal(let value, let end)?:
                    literal(value)
                    i = end
                case .opaque(let end)?:
                    opaque()
                    i = end
                }
            default:
                literal(byte)
                i += 1
            }
        }
        finishRun()
        guard best.count >= 2 else { return nil }
        return RegexPrefilter(literal: best, caseless: caseless)
    }

    /// Appends a literal character atom (under `(?i)`, `k` and `s` are opaque: they also match
    /// non-ASCII scalars).
    mutating func literal(_ byte: UInt8) {
        let lower = RegexPrefilter.asciiLowercased(byte)
        if caseless, lower == UInt8(ascii: "k") || lower == UInt8(ascii: "s") {
            opaque()
            return
        }
        run.append(caseless ? lower : byte)
        previous = .literal
    }

    /// Records an opaque atom, ending the current run.
    mutating func opaque() {
        finishRun()
        previous = .opaque
    }

    /// Keeps the current run if it is the longest so far, and starts a new one.
    mutating func finishRun() {
        if run.count > best.count { best = run }
        run.removeAll(keepingCapacity: true)
    }

    /// True when `(` at `i` opens an option setting such as `(?i)` or `(?-s)` (or `(?R)`, which has
    /// the same shape), as opposed to a group.
    func isOptionSetting(at i: Int) -> Bool {
        guard i + 1 < s.count, s[i + 1] == UInt8(ascii: "?") else { return false }
        var j = i + 2
        while j < s.count, isOptionLetter(s[j]) { j += 1 }
        return j < s.count && s[j] == UInt8(ascii: ")")
    }

    /// True for bytes that may appear in an option list: letters, `^` and `-`.
    func isOptionLetter(_ byte: UInt8) -> Bool {
        RegexPrefilter.isASCIILetter(byte) || byte == UInt8(ascii: "^") || byte == UInt8(ascii: "-")
    }

    /// False when the `(` at `i` starts something a parenthesis count cannot skip safely: a
    /// comment, a callout (whose string may hold parentheses) or an `x` option (whose `#` comments
    /// may hold parentheses).
    func isSkippableOpening(at i: Int) -> Bool {
        guard i + 2 < s.count, s[i + 1] == UInt8(ascii: "?") else { return true }
        let next = s[i + 2]
        if next == UInt8(ascii: "#") || next == UInt8(ascii: "C") { return false }
        var j = i + 2
        var extended = false
        while j < s.count, isOptionLetter(s[j]) {
            if s[j] == UInt8(ascii: "x") { extended = true }
            j += 1
        }
        if extended, j < s.count, s[j] == UInt8(ascii: ")") || s[j] == UInt8(ascii: ":") { return false }
        return true
    }

    /// Index just past the group opened at `start`, or nil when it cannot be skipped with certainty.
    func endOfGroup(from start: Int) -> Int? {
        var depth = 0
        var i = start
        while i < s.count {
            switch s[i] {
            case UInt8(ascii: "\\"):
                switch escape(at: i) {
                case nil: return nil
                case .literal(_, let end)?, .opaque(let end)?: i = end
                }
            case UInt8(ascii: "["):
                guard let end = endOfClass(from: i) else { return nil }
                i = end
            case UInt8(ascii: "("):
                guard isSkippableOpening(at: i) else { return nil }
                depth += 1
                i += 1
            case UInt8(ascii: ")"):
                depth -= 1
                i += 1
                if depth == 0 { return i }
            default:
                i += 1
            }
        }
        return nil
    }

    /// Index just past the class opened at `start` (`]` right after `[` or `[^` is literal), or nil
    /// when an escape or `[:`…`:]` inside it is not plainly understood.
    func endOfClass(from start: Int) -> Int? {
        var i = start + 1
        if i < s.count, s[i] == UInt8(ascii: "^") { i += 1 }
        if i < s.count, s[i] == UInt8(ascii: "]") { i += 1 }
        while i < s.count {
            switch s[i] {
            case UInt8(ascii: "\\"):
                guard i + 1 < s.count else { return nil }
                let next = s[i + 1]
                if !isASCIIAlphanumeric(next) || Array("dDwWsShHvVntrfeab".utf8).contains(next) {
                    i += 2
                } else if next == UInt8(ascii: "p") || next == UInt8(ascii: "P") {
                    guard let end = endOfProperty(at: i) else { return nil }
                    i = end
                } else {
                    return nil
                }
            case UInt8(ascii: "["):
                guard i + 1 < s.count else { return nil }
                let next = s[i + 1]
                if next == UInt8(ascii: ".") || next == UInt8(ascii: "=") { return nil }
                if next == UInt8(ascii: ":") {
                    // Only the plain shape `[:name:]` or `[:^name:]`, which PCRE2 surely reads as a POSIX class.
                    var j = i + 2
                    if j < s.count, s[j] == UInt8(ascii: "^") { j += 1 }
                    let nameStart = j
                    while j < s.count, s[j] &- 97 < 26 { j += 1 }
                    guard j > nameStart, j + 1 < s.count, s[j] == UInt8(ascii: ":"),
                          s[j + 1] == UInt8(ascii: "]") else { return nil }
                    i = j + 2
                } else {
                    i += 1
                }
            case UInt8(ascii: "]"):
                return i + 1
            default:
                i += 1
            }
        }
        return nil
    }

    /// Index just past `\p{…}`, `\P{…}` or `\pL` at `i`, or nil when malformed.
    func endOfProperty(at i: Int) -> Int? {
        guard i + 2 < s.count else { return nil }
        if s[i + 2] != UInt8(ascii: "{") {
            return RegexPrefilter.isASCIILetter(s[i + 2]) ? i + 3 : nil
        }
        var j = i + 3
        while j < s.count, s[j] != UInt8(ascii: "}") {
            guard isASCIIAlphanumeric(s[j]) || Array("_^&:= -".utf8).contains(s[j]) else { return nil }
            j += 1
        }
        return j < s.count ? j + 1 : nil
    }

    /// The escape outside a class at `i` (a backslash), or nil when it is not plainly understood
    /// (backreferences, numeric and control escapes, `\Q`, `\E`, `\K`, `\N{…}`, …).
    func escape(at i: Int) -> Escape? {
        guard i + 1 < s.count else { return nil }
        let next = s[i + 1]
        if !isASCIIAlphanumeric(next) { return .literal(next, end: i + 2) }
        switch next {
        case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "A"), UInt8(ascii: "z"), UInt8(ascii: "Z"),
             UInt8(ascii: "G"), UInt8(ascii: "d"), UInt8(ascii: "D"), UInt8(ascii: "w"), UInt8(ascii: "W"),
             UInt8(ascii: "s"), UInt8(ascii: "S"), UInt8(ascii: "h"), UInt8(ascii: "H"), UInt8(ascii: "v"),
             UInt8(ascii: "V"), UInt8(ascii: "R"), UInt8(ascii: "X"):
            return .opaque(end: i + 2)
        case UInt8(ascii: "N"):
            if i + 2 < s.count, s[i + 2] == UInt8(ascii: "{") { return nil }
            return .opaque(end: i + 2)
        case UInt8(ascii: "p"), UInt8(ascii: "P"):
            return endOfProperty(at: i).map { .opaque(end: $0) }
        case UInt8(ascii: "n"): return .literal(0x0A, end: i + 2)
        case UInt8(ascii: "t"): return .literal(0x09, end: i + 2)
        case UInt8(ascii: "r"): return .literal(0x0D, end: i + 2)
        case UInt8(ascii: "f"): return .literal(0x0C, end: i + 2)
        case UInt8(ascii: "e"): return .literal(0x1B, end: i + 2)
        case UInt8(ascii: "a"): return .literal(0x07, end: i + 2)
        default:
            return nil
        }
    }

    /// The quantifier at `i`: whether it allows zero copies, and the index just past it (with a
    /// lazy `?` or possessive `+`). Nil for a malformed `{…}` or a quantifier followed by another.
    func quantifier(at i: Int) -> (optional: Bool, end: Int)? {
        let optional: Bool
        var j = i + 1
        switch s[i] {
        case UInt8(ascii: "?"), UInt8(ascii: "*"):
            optional = true
        case UInt8(ascii: "+"):
            optional = false
        default:
            guard let (minimum, end) = number(at: j) else { return nil }
            j = end
            guard j < s.count else { return nil }
            if s[j] == UInt8(ascii: ",") {
                j += 1
                if let (_, end) = number(at: j) { j = end }
            }
            guard j < s.count, s[j] == UInt8(ascii: "}") else { return nil }
            j += 1
            optional = minimum == 0
        }
        if j < s.count, s[j] == UInt8(ascii: "?") || s[j] == UInt8(ascii: "+") { j += 1 }
        if j < s.count, Array("?*+{".utf8).contains(s[j]) { return nil }
        return (optional, j)
    }

    /// A decimal number of 1 to 5 digits at `i` and the index just past it.
    func number(at i: Int) -> (value: Int, end: Int)? {
        var j = i
        var value = 0
        while j < s.count, s[j] &- 48 < 10, j - i < 5 {
            value = value * 10 + Int(s[j] &- 48)
            j += 1
        }
        guard j > i, j >= s.count || s[j] &- 48 >= 10 else { return nil }
        return (value, j)
    }

    /// True for ASCII letters and digits.
    func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        RegexPrefilter.isASCIILetter(byte) || byte &- 48 < 10
    }
}
