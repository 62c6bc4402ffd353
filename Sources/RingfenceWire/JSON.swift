import RingfenceDiagnostics
import RingfenceVM

/// A strict RFC 8259 JSON parser written over raw bytes.
///
/// The parser is the front door of `ringfence eval`, so it is built for throughput: it reads an
/// `UnsafeBufferPointer<UInt8>`, builds each `String` from a UTF-8 slice in one step, and
/// converts ordinary numbers without allocating. It is strict because an ambiguous request must
/// be refused rather than guessed at:
///
/// - exactly one value, with only whitespace (space, tab, line feed, carriage return) around it;
///   a leading UTF-8 byte order mark is skipped, as RFC 8259 §8.1 allows;
/// - no comments, trailing commas, `NaN`, `Infinity`, leading zeros or leading `+`;
/// - an object with the same key twice is an error (`duplicate key `k``);
/// - strings must be valid UTF-8 (no overlong forms, no encoded surrogates, nothing above
///   U+10FFFF), control characters must be escaped, and `\u` escapes must pair surrogates;
/// - numbers become `Double`; a number too large for a `Double` is an error, one too small
///   underflows to zero;
/// - nesting deeper than `JSONParser.maximumDepth` arrays and objects is an error, so recursion
///   is bounded whatever the input.
///
/// Error positions are 1-based; lines are separated by line feeds and columns count Unicode
/// scalars, like `SourceLocation` everywhere else in Ringfence.

/// A JSON syntax error with the 1-based line and column (in Unicode scalars) where it was found.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The one-line lowercase message, e.g. "expected `:` after object key".
    public var message: String
    /// The 1-based line of the offending byte.
    public var line: Int
    /// The 1-based column of the offending byte, counted in Unicode scalars.
    public var column: Int

    /// Creates an error from its message and position.
    public init(message: String, line: Int, column: Int) {
        self.message = message
        self.line = line
        self.column = column
    }

    /// The `line:column: message` form.
    public var description: String { "\(line):\(column): \(message)" }
}

/// Entry points of the strict JSON parser.
public enum JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    /// Parses `bytes` as exactly one JSON value.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> Value {
        var reader = JSONReader(bytes)
        do {
            return try reader.parseDocument()
        } catch {
            throw error.located(in: bytes)
        }
    }

    /// Parses the UTF-8 form of `text` as exactly one JSON value.
    public static func parse(_ text: String) throws(JSONParseError) -> Value {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(JSONParseError) -> Value in try parse(bytes) }
        }
        return try result.get()
    }

    /// Returns the 1-based line and column (in Unicode scalars) of byte `offset` in `bytes`.
    public static func position(ofOffset offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        let limit = min(max(offset, 0), bytes.count)
        var line = 1
        var column = 1
        var index = 0
        while index < limit {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return (line, column)
    }
}

/// A syntax error found by `JSONReader`, positioned by byte offset until it is reported.
struct JSONScanError: Error {
    /// The one-line message.
    var message: String
    /// The byte offset of the offending input.
    var offset: Int
    /// True when the input ended before the value was complete.
    var isEndOfInput: Bool = false

    /// Converts the byte offset into a line and column of `bytes`.
    func located(in bytes: UnsafeBufferPointer<UInt8>) -> JSONParseError {
        let (line, column) = JSONParser.position(ofOffset: offset, in: bytes)
        return JSONParseError(message: message, line: line, column: column)
    }
}

/// The byte-level recursive-descent reader behind `JSONParser`; recursion depth is bounded by
/// `JSONParser.maximumDepth`.
struct JSONReader {
    /// The input.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The number of input bytes.
    let end: Int
    /// The offset of the next unread byte.
    var index = 0
    /// The number of arrays and objects currently open.
    var depth = 0
    /// A reusable buffer for strings that contain escapes.
    var scratch: [UInt8] = []

    /// Creates a reader positioned at the first byte of `bytes`.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.end = bytes.count
    }

    // MARK: Documents and values

    /// JSON-text = ws value ws   (after an optional UTF-8 byte order mark)
    mutating func parseDocument() throws(JSONScanError) -> Value {
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < end {
            throw JSONScanError(message: "unexpected \(describe(at: index)) after the json value", offset: index)
        }
        return value
    }

    /// value = object / array / string / number / `true` / `false` / `null`
    mutating func parseValue() throws(JSONScanError) -> Value {
        guard index < end else { throw endOfInput() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseList()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default:
            throw JSONScanError(message: "expected a json value, found \(describeWord(at: index))", offset: index)
        }
    }

    /// object = `{` [ member *( `,` member ) ] `}` ; member = string ws `:` ws value
    mutating func parseObject() throws(JSONScanError) -> Value {
        var members = [String: Value](minimumCapacity: 4)
        try parseMembers { (reader, key, keyStart) throws(JSONScanError) in
            let value = try reader.parseValue()
            if members.updateValue(value, forKey: key) != nil {
                throw JSONScanError(message: "duplicate key `\(Messages.excerpt(key))`", offset: keyStart)
            }
        }
        return .object(members)
    }

    /// The syntax of an object (its opening brace at the reader's position): hands each key, and
    /// its offset, to `member`, which must read the value. `parseObject` keeps the members; the
    /// request decoder reads them straight into request fields.
    @inline(__always)
    mutating func parseMembers(_ member: (inout JSONReader, String, Int) throws(JSONScanError) -> Void) throws(JSONScanError) {
        try enterContainer(at: index)
        index += 1
        skipWhitespace()
        guard index < end else { throw endOfInput() }
        if bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        while true {
            guard index < end else { throw endOfInput() }
            guard bytes[index] == UInt8(ascii: "\"") else {
                if bytes[index] == UInt8(ascii: "}") {
                    throw JSONScanError(message: "trailing comma in object", offset: index)
                }
                throw JSONScanError(message: "expected a string key in object, found \(describe(at: index))", offset: index)
            }
            let keyStart = index
            let key = try parseString()
            skipWhitespace()
            guard index < end else { throw endOfInput() }
            guard bytes[index] == UInt8(ascii: ":") else {
                throw JSONScanError(message: "expected `:` after object key", offset: index)
            }
            index += 1
            skipWhitespace()
            try member(&self, key, keyStart)
            skipWhitespace()
            guard index < end else { throw endOfInput() }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return
            default:
                throw JSONScanError(message: "expected `,` or `}` after object member", offset: index)
            }
        }
    }

    /// array = `[` [ value *( `,` value ) ] `]`
    mutating func parseList() throws(JSONScanError) -> Value {
        try enterContainer(at: index)
        index += 1
        skipWhitespace()
        guard index < end else { throw endOfInput() }
        if bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .list([])
        }
        var elements: [Value] = []
        while true {
            guard index < end else { throw endOfInput() }
            if bytes[index] == UInt8(ascii: "]") {
                throw JSONScanError(message: "trailing comma in list", offset: index)
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard index < end else { throw endOfInput() }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .list(elements)
            default:
                throw JSONScanError(message: "expected `,` or `]` after list element", offset: index)
            }
        }
    }

    /// Counts one more open container, refusing to go deeper than the limit.
    private mutating func enterContainer(at offset: Int) throws(JSONScanError) {
        depth += 1
        if depth > JSONParser.maximumDepth {
            throw JSONScanError(message: "nesting deeper than \(JSONParser.maximumDepth) levels", offset: offset)
        }
    }

    /// Consumes the literal `word` (`true`, `false` or `null`).
    private mutating func expectLiteral(_ word: StaticString) throws(JSONScanError) {
        let start = index
        let count = word.utf8CodeUnitCount
        let text = word.utf8Start
        var offset = 0
        while offset < count {
            guard index + offset < end else { throw endOfInput() }
            guard bytes[index + offset] == text[offset] else {
                throw JSONScanError(message: "expected a json value, found \(describeWord(at: start))", offset: start)
            }
            offset += 1
        }
        index += count
    }

    // MARK: Strings

    /// string = `"` *char `"` ; char = unescaped / `\` ( `"` / `\` / `/` / `b` / `f` / `n` / `r` / `t` / `u` 4HEXDIG )
    mutating func parseString() throws(JSONScanError) -> String {
        let quote = index
        index += 1
        let start = index
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            } else if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(from: start, quote: quote)
            } else if byte < 0x20 {
                throw controlCharacter(byte)
            } else if byte < 0x80 {
                index += 1
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
        throw JSONScanError(message: "unterminated string", offset: quote, isEndOfInput: true)
    }

    /// Finishes a string that contains escapes, decoding it into `scratch`.
    private mutating func parseEscapedString(from start: Int, quote: Int) throws(JSONScanError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                try parseEscape()
            } else if byte < 0x20 {
                throw controlCharacter(byte)
            } else if byte < 0x80 {
                scratch.append(byte)
                index += 1
            } else {
                let length = try utf8SequenceLength(at: index)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + length]))
                index += length
            }
        }
        throw JSONScanError(message: "unterminated string", offset: quote, isEndOfInput: true)
    }

    /// Decodes one escape sequence at `index` (which holds the backslash) into `scratch`.
    private mutating func parseEscape() throws(JSONScanError) {
        let escapeStart = index
        guard index + 1 < end else {
            throw JSONScanError(message: "unterminated string", offset: index, isEndOfInput: true)
        }
        let letter = bytes[index + 1]
        index += 2
        switch letter {
        case UInt8(ascii: "\""): scratch.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): scratch.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4(escapeStart: escapeStart)
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 1 < end, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw loneSurrogate(unit, at: escapeStart)
                }
                let lowStart = index
                index += 2
                let low = try parseHex4(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else { throw loneSurrogate(unit, at: escapeStart) }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw loneSurrogate(unit, at: escapeStart)
            }
            appendUTF8(scalarValue)
        default:
            let shown = letter >= 0x21 && letter < 0x7F ? "`\\\(Character(Unicode.Scalar(letter)))`" : "`\\` followed by \(describeByte(letter))"
            throw JSONScanError(message: "invalid escape \(shown) in string", offset: escapeStart)
        }
    }

    /// Reads the four hex digits after `\u` at `index`.
    private mutating func parseHex4(escapeStart: Int) throws(JSONScanError) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard index < end else {
                throw JSONScanError(message: "unterminated string", offset: index, isEndOfInput: true)
            }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw JSONScanError(message: "invalid unicode escape, expected four hex digits after `\\u`", offset: escapeStart)
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }

    /// Appends the UTF-8 encoding of a valid scalar value to `scratch`.
    private mutating func appendUTF8(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            scratch.append(UInt8(value))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (value >> 6)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (value >> 12)))
            scratch.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (value >> 18)))
            scratch.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    /// Returns the length of the well-formed UTF-8 sequence starting at `offset` (a byte ≥ 0x80),
    /// or throws when it is ill-formed (Unicode Table 3-7).
    func utf8SequenceLength(at offset: Int) throws(JSONScanError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw invalidUTF8(at: offset)
        }
        guard offset + length <= end else {
            // A truncated sequence at the very end is only "end of input" if what is there fits.
            var probe = offset + 1
            while probe < end {
                let ok = probe == offset + 1 ? secondRange.contains(bytes[probe]) : bytes[probe] & 0xC0 == 0x80
                if !ok { throw invalidUTF8(at: offset) }
                probe += 1
            }
            throw JSONScanError(message: "unterminated string", offset: offset, isEndOfInput: true)
        }
        guard secondRange.contains(bytes[offset + 1]) else { throw invalidUTF8(at: offset) }
        var probe = offset + 2
        while probe < offset + length {
            guard bytes[probe] & 0xC0 == 0x80 else { throw invalidUTF8(at: offset) }
            probe += 1
        }
        return length
    }

    // MARK: Numbers

    /// Powers of ten that a `Double` holds exactly.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// number = [ `-` ] int [ frac ] [ exp ] ; int = `0` / digit1-9 *DIGIT ; frac = `.` 1*DIGIT ;
    /// exp = ( `e` / `E` ) [ `-` / `+` ] 1*DIGIT
    mutating func parseNumber() throws(JSONScanError) -> Double {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < end else { throw endOfInput() }
        var mantissa: UInt64 = 0
        var digitCount = 0
        var fractionDigits = 0
        var hasExponent = false
        let first = bytes[index]
        if first == UInt8(ascii: "0") {
            index += 1
            if index < end, isDigit(bytes[index]) {
                throw JSONScanError(message: "leading zeros are not allowed in numbers", offset: start)
            }
        } else if isDigit(first) {
            while index < end, isDigit(bytes[index]) {
                if digitCount < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0")) }
                digitCount += 1
                index += 1
            }
        } else {
            throw JSONScanError(message: "expected a digit after `-`, found \(describe(at: index))", offset: index)
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < end else { throw endOfInput() }
            guard isDigit(bytes[index]) else {
                throw JSONScanError(message: "expected a digit after the decimal point, found \(describe(at: index))", offset: index)
            }
            while index < end, isDigit(bytes[index]) {
                if digitCount < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0")) }
                digitCount += 1
                fractionDigits += 1
                index += 1
            }
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            hasExponent = true
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < end else { throw endOfInput() }
            guard isDigit(bytes[index]) else {
                throw JSONScanError(message: "expected a digit in the exponent, found \(describe(at: index))", offset: index)
            }
            while index < end, isDigit(bytes[index]) { index += 1 }
        }
        // Fast path (Clinger): an exact integer mantissa below 2^53 divided by an exact power of
        // ten is one correctly rounded IEEE operation.
        if !hasExponent, digitCount <= 15, fractionDigits <= 22 {
            var value = Double(mantissa)
            if fractionDigits > 0 { value /= Self.exactPowersOfTen[fractionDigits] }
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw JSONScanError(message: "number `\(shown)` is out of range", offset: start)
        }
        return value
    }

    // MARK: Helpers

    /// Skips JSON whitespace: space, tab, line feed and carriage return.
    mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// True for the ASCII digits.
    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// The error for input that ends too soon.
    private func endOfInput() -> JSONScanError {
        JSONScanError(message: "unexpected end of input", offset: end, isEndOfInput: true)
    }

    /// The error for an unescaped control character at `index`.
    private func controlCharacter(_ byte: UInt8) -> JSONScanError {
        let hex = String(byte, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        return JSONScanError(message: "control character \(code) must be escaped in string", offset: index)
    }

    /// The error for a `\u` escape that leaves a surrogate unpaired.
    private func loneSurrogate(_ unit: UInt16, at offset: Int) -> JSONScanError {
        let hex = String(unit, radix: 16)
        return JSONScanError(message: "lone surrogate `\\u\(hex)` in string", offset: offset)
    }

    /// The error for an ill-formed UTF-8 sequence at `offset`.
    private func invalidUTF8(at offset: Int) -> JSONScanError {
        JSONScanError(message: "invalid utf-8 byte \(hexByte(bytes[offset])) in string", offset: offset)
    }

    /// Describes the character at `offset` for a message: "`x`", "`é`" or "byte 0xFF".
    func describe(at offset: Int) -> String {
        guard offset < end else { return "end of input" }
        let byte = bytes[offset]
        if byte < 0x80 { return describeByte(byte) }
        if let length = try? utf8SequenceLength(at: offset) {
            return "`" + String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self) + "`"
        }
        return "byte \(hexByte(byte))"
    }

    /// Describes the run of letters at `offset` (e.g. "`NaN`"), for misspelled literals.
    private func describeWord(at offset: Int) -> String {
        var stop = offset
        while stop < end, stop - offset < 20 {
            let byte = bytes[stop]
            let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            if !isLetter { break }
            stop += 1
        }
        if stop == offset { return describe(at: offset) }
        return "`" + String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<stop]), as: UTF8.self) + "`"
    }

    /// Describes one ASCII byte: printable ones in backticks, others by code.
    private func describeByte(_ byte: UInt8) -> String {
        if byte == UInt8(ascii: "`") { return "a backtick" }
        if byte > 0x20, byte < 0x7F { return "`\(Character(Unicode.Scalar(byte)))`" }
        return "byte \(hexByte(byte))"
    }

    /// Formats a byte as `0xNN`.
    private func hexByte(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}
