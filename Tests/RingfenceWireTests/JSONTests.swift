import RingfenceWire
import Testing
@testable import RingfenceVM

/// Parses raw bytes (which need not be UTF-8) with the byte-level entry point.
private func parseBytes(_ bytes: [UInt8]) throws(JSONParseError) -> Value {
    let result = bytes.withUnsafeBufferPointer { buffer in
        Result { () throws(JSONParseError) -> Value in try JSONParser.parse(buffer) }
    }
    return try result.get()
}

/// Returns the parse error for `text`, or nil when it parses.
private func parseError(_ text: String) -> JSONParseError? {
    do {
        _ = try JSONParser.parse(text)
        return nil
    } catch {
        return error
    }
}

/// Returns the parse error for raw `bytes`, or nil when they parse.
private func parseError(bytes: [UInt8]) -> JSONParseError? {
    do {
        _ = try parseBytes(bytes)
        return nil
    } catch {
        return error
    }
}

/// One valid document and the value it must parse to.
struct JSONValidCase: Sendable, CustomStringConvertible {
    /// The JSON text.
    let text: String
    /// The expected value.
    let value: Value
    /// The text, for test names.
    var description: String { text }
}

/// One invalid document and the error it must produce.
struct JSONInvalidCase: Sendable, CustomStringConvertible {
    /// The JSON text.
    let text: String
    /// The expected message.
    let message: String
    /// The expected 1-based line.
    let line: Int
    /// The expected 1-based column.
    let column: Int
    /// The text, for test names.
    var description: String { text }
}

@Suite struct JSONTests {
    static let valid: [JSONValidCase] = [
        JSONValidCase(text: "{}", value: .object([:])),
        JSONValidCase(text: " [ ] ", value: .list([])),
        JSONValidCase(text: "\t[1, 2 ,3]\r\n", value: .list([.number(1), .number(2), .number(3)])),
        JSONValidCase(text: "true", value: .bool(true)),
        JSONValidCase(text: "false", value: .bool(false)),
        JSONValidCase(text: "null", value: .null),
        JSONValidCase(text: #"{"a":{"b":[null,{"c":"d"}]},"e":false}"#,
                  value: .object(["a": .object(["b": .list([.null, .object(["c": .string("d")])])]), "e": .bool(false)])),
        JSONValidCase(text: #""a\"b\\c\/d\b\f\n\r\t""#, value: .string("a\"b\\c/d\u{8}\u{C}\n\r\t")),
        JSONValidCase(text: #""\u00e9\u00E9""#, value: .string("éé")),
        JSONValidCase(text: #""\uD83D\uDE00""#, value: .string("😀")),
        JSONValidCase(text: #""\u0000x""#, value: .string("\u{0}x")),
        JSONValidCase(text: "\"é😀 raw\"", value: .string("é😀 raw")),
        JSONValidCase(text: #""""#, value: .string("")),
        JSONValidCase(text: #"{"":1}"#, value: .object(["": .number(1)])),
        JSONValidCase(text: "0", value: .number(0)),
        JSONValidCase(text: "1.5", value: .number(1.5)),
        JSONValidCase(text: "0.85", value: .number(0.85)),
        JSONValidCase(text: "0.1", value: .number(0.1)),
        JSONValidCase(text: "-12.25e2", value: .number(-1225)),
        JSONValidCase(text: "1E+2", value: .number(100)),
        JSONValidCase(text: "25e-1", value: .number(2.5)),
        JSONValidCase(text: "1e308", value: .number(1e308)),
        JSONValidCase(text: "1e-400", value: .number(0)),
        JSONValidCase(text: "123456789012345678", value: .number(123_456_789_012_345_680)),
        JSONValidCase(text: "2.2250738585072014e-308", value: .number(2.2250738585072014e-308)),
        JSONValidCase(text: "0.30000000000000004", value: .number(0.30000000000000004)),
        JSONValidCase(text: "9007199254740993", value: .number(9_007_199_254_740_992)),
    ]

    static let invalid: [JSONInvalidCase] = [
        JSONInvalidCase(text: "", message: "unexpected end of input", line: 1, column: 1),
        JSONInvalidCase(text: "   ", message: "unexpected end of input", line: 1, column: 4),
        JSONInvalidCase(text: #"{"a":1,}"#, message: "trailing comma in object", line: 1, column: 8),
        JSONInvalidCase(text: "[1,]", message: "trailing comma in list", line: 1, column: 4),
        JSONInvalidCase(text: #"{"a" 1}"#, message: "expected `:` after object key", line: 1, column: 6),
        JSONInvalidCase(text: #"{"a":1 "b":2}"#, message: "expected `,` or `}` after object member", line: 1, column: 8),
        JSONInvalidCase(text: "[1 2]", message: "expected `,` or `]` after list element", line: 1, column: 4),
        JSONInvalidCase(text: "{a:1}", message: "expected a string key in object, found `a`", line: 1, column: 2),
        JSONInvalidCase(text: "{", message: "unexpected end of input", line: 1, column: 2),
        JSONInvalidCase(text: "[1", message: "unexpected end of input", line: 1, column: 3),
        JSONInvalidCase(text: "NaN", message: "expected a json value, found `NaN`", line: 1, column: 1),
        JSONInvalidCase(text: "[Infinity]", message: "expected a json value, found `Infinity`", line: 1, column: 2),
        JSONInvalidCase(text: "-Infinity", message: "expected a digit after `-`, found `I`", line: 1, column: 2),
        JSONInvalidCase(text: "nul", message: "unexpected end of input", line: 1, column: 4),
        JSONInvalidCase(text: "trUe", message: "expected a json value, found `trUe`", line: 1, column: 1),
        JSONInvalidCase(text: "'a'", message: "expected a json value, found `'`", line: 1, column: 1),
        JSONInvalidCase(text: "01", message: "leading zeros are not allowed in numbers", line: 1, column: 1),
        JSONInvalidCase(text: "-01", message: "leading zeros are not allowed in numbers", line: 1, column: 1),
        JSONInvalidCase(text: "+1", message: "expected a json value, found `+`", line: 1, column: 1),
        JSONInvalidCase(text: ".5", message: "expected a json value, found `.`", line: 1, column: 1),
        JSONInvalidCase(text: "1.", message: "unexpected end of input", line: 1, column: 3),
        JSONInvalidCase(text: "1.e3", message: "expected a digit after the decimal point, found `e`", line: 1, column: 3),
        JSONInvalidCase(text: "-", message: "unexpected end of input", line: 1, column: 2),
        JSONInvalidCase(text: "1e+x", message: "expected a digit in the exponent, found `x`", line: 1, column: 4),
        JSONInvalidCase(text: "1e309", message: "number `1e309` is out of range", line: 1, column: 1),
        JSONInvalidCase(text: "[0, -1e309]", message: "number `-1e309` is out of range", line: 1, column: 5),
        JSONInvalidCase(text: "// c\n1", message: "expected a json value, found `/`", line: 1, column: 1),
        JSONInvalidCase(text: "[1] /* c */", message: "unexpected `/` after the json value", line: 1, column: 5),
        JSONInvalidCase(text: "1 2", message: "unexpected `2` after the json value", line: 1, column: 3),
        JSONInvalidCase(text: "{} {}", message: "unexpected `{` after the json value", line: 1, column: 4),
        JSONInvalidCase(text: #""abc"#, message: "unterminated string", line: 1, column: 1),
        JSONInvalidCase(text: #"["a\qb"]"#, message: #"invalid escape `\q` in string"#, line: 1, column: 4),
        JSONInvalidCase(text: #""\u12""#, message: #"invalid unicode escape, expected four hex digits after `\u`"#, line: 1, column: 2),
        JSONInvalidCase(text: #""\uD800""#, message: #"lone surrogate `\ud800` in string"#, line: 1, column: 2),
        JSONInvalidCase(text: #""\uDC00x""#, message: #"lone surrogate `\udc00` in string"#, line: 1, column: 2),
        JSONInvalidCase(text: #""ab\uD800\u0041""#, message: #"lone surrogate `\ud800` in string"#, line: 1, column: 4),
        JSONInvalidCase(text: "\"a\tb\"", message: "control character U+0009 must be escaped in string", line: 1, column: 3),
        JSONInvalidCase(text: "\"a\nb\"", message: "control character U+000A must be escaped in string", line: 1, column: 3),
        JSONInvalidCase(text: #"{"a":1,"a":2}"#, message: "duplicate key `a`", line: 1, column: 8),
        JSONInvalidCase(text: #"{"x":{"k":1,"k":[2]}}"#, message: "duplicate key `k`", line: 1, column: 13),
        JSONInvalidCase(text: #"{"\u0061":1,"a":2}"#, message: "duplicate key `a`", line: 1, column: 13),
        JSONInvalidCase(text: "{\n  \"é\": 1,\n  \"b\" 2\n}", message: "expected `:` after object key", line: 3, column: 7),
        JSONInvalidCase(text: "[\"é😀\", x]", message: "expected a json value, found `x`", line: 1, column: 8),
        JSONInvalidCase(text: "[\"a\",\r\n ?]", message: "expected a json value, found `?`", line: 2, column: 2),
    ]

    @Test(arguments: JSONTests.valid)
    func parsesValidDocument(_ example: JSONValidCase) throws {
        let value = try JSONParser.parse(example.text)
        #expect(value == example.value)
        let fromBytes = try parseBytes(Array(example.text.utf8))
        #expect(fromBytes == example.value)
    }

    @Test(arguments: JSONTests.invalid)
    func refusesInvalidDocument(_ example: JSONInvalidCase) {
        let error = parseError(example.text)
        #expect(error == JSONParseError(message: example.message, line: example.line, column: example.column))
    }

    @Test func keepsTheSignOfNegativeZero() throws {
        guard case .number(let zero) = try JSONParser.parse("-0") else {
            Issue.record("-0 is not a number")
            return
        }
        #expect(zero == 0)
        #expect(zero.sign == .minus)
    }

    @Test func parsesLongNumbersExactly() throws {
        let texts = ["3.141592653589793", "1.7976931348623157e308", "4.9e-324", "123.456e-7", "0.000001", "-98765.4321"]
        for text in texts {
            #expect(try JSONParser.parse(text) == .number(Double(text)!), "\(text)")
        }
    }

    @Test func refusesInvalidUTF8() {
        let quote = UInt8(ascii: "\"")
        let cases: [([UInt8], String, Int)] = [
            ([quote, 0xFF, quote], "invalid utf-8 byte 0xFF in string", 2),
            ([quote, 0xC0, 0x80, quote], "invalid utf-8 byte 0xC0 in string", 2),
            ([quote, 0xE0, 0x80, 0x80, quote], "invalid utf-8 byte 0xE0 in string", 2),
            ([quote, 0xED, 0xA0, 0x80, quote], "invalid utf-8 byte 0xED in string", 2),
            ([quote, 0xF4, 0x90, 0x80, 0x80, quote], "invalid utf-8 byte 0xF4 in string", 2),
            ([quote, 0x61, 0xC3, 0x28, quote], "invalid utf-8 byte 0xC3 in string", 3),
            ([quote, 0x80, quote], "invalid utf-8 byte 0x80 in string", 2),
            ([quote, 0xE2, 0x82], "unterminated string", 2),
            ([0xFF], "expected a json value, found byte 0xFF", 1),
            ([0x5B, 0xC3, 0xA9, 0x5D], "expected a json value, found `é`", 2),
        ]
        for (bytes, message, column) in cases {
            #expect(parseError(bytes: bytes) == JSONParseError(message: message, line: 1, column: column), "\(bytes)")
        }
    }

    @Test func skipsALeadingByteOrderMark() throws {
        #expect(try parseBytes([0xEF, 0xBB, 0xBF, UInt8(ascii: "7")]) == .number(7))
    }

    @Test func limitsNesting() throws {
        let limit = JSONParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        var expected = Value.list([])
        for _ in 1..<limit { expected = .list([expected]) }
        #expect(try JSONParser.parse(deepest) == expected)

        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(parseError(tooDeep) == JSONParseError(message: "nesting deeper than 64 levels", line: 1, column: 65))

        let hostile = String(repeating: "[", count: 10_000)
        #expect(parseError(hostile) == JSONParseError(message: "nesting deeper than 64 levels", line: 1, column: 65))
        let objects = String(repeating: #"{"a":"#, count: 10_000)
        #expect(parseError(objects) == JSONParseError(message: "nesting deeper than 64 levels", line: 1, column: 321))
    }

    @Test func reportsPositionsFromByteOffsets() {
        let text = "ab\néé😀x"
        let bytes = Array(text.utf8)
        let positions = bytes.withUnsafeBufferPointer { buffer in
            [0, 3, 7, 11, 999].map { offset in
                let (line, column) = JSONParser.position(ofOffset: offset, in: buffer)
                return "\(line):\(column)"
            }
        }
        #expect(positions == ["1:1", "2:1", "2:3", "2:4", "2:5"])
    }

    @Test func writesCompactJSONWithSortedKeys() {
        let value = Value.object([
            "b": .list([.number(1), .bool(true), .null, .number(-2.5)]),
            "a": .string("x\ny\"z"),
            "c": .object(["z": .number(1e20), "y": .object([:])]),
        ])
        #expect(value.jsonText == #"{"a":"x\ny\"z","b":[1,true,null,-2.5],"c":{"y":{},"z":1e+20}}"#)
        #expect(Value.number(.nan).jsonText == "null")
        #expect(Value.string("tab\there\u{1}").jsonText == #""tab\there\u0001""#)
    }

    @Test func roundTripsValuesThroughText() throws {
        let values: [Value] = [
            .object(["k": .list([.string("é😀"), .number(0.1), .number(-3), .number(1.5e-7), .number(123_456_789.25)])]),
            .string("\u{0}\u{1F}\\\"/"),
            .list([.object([:]), .list([]), .null, .bool(false)]),
            .number(1.7976931348623157e308),
        ]
        for value in values {
            #expect(try JSONParser.parse(value.jsonText) == value, "\(value.jsonText)")
        }
    }

    @Test func describesErrorsAsLineColumnMessage() {
        let error = JSONParseError(message: "unexpected end of input", line: 2, column: 5)
        #expect(error.description == "2:5: unexpected end of input")
    }
}
