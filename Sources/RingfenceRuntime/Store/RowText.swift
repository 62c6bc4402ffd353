import RingfenceAudit
import RingfenceDiagnostics
import RingfenceVM
import RingfenceWire

// State rows (the ledger's, sessions', sagas') are written straight to bytes: the same text as
// `Value.jsonText` of the row's object (compact JSON, keys sorted, numbers and strings written as
// it writes them), made member by member without building a `Value` dictionary, sorting its keys
// and converting the text. A slash writes a row for every agent and vouch it touches and every
// event it records, and every session operation rewrites its session's row, so this is much of
// what they cost. Every caller names its members in sorted key order (a debug build checks it);
// the tests compare each row with the `Value` form.

/// One JSON object of a state row, written member by member in key order.
struct RowText {
    /// The text so far.
    private var bytes: [UInt8] = []
    /// The member names written so far.
    private var names = MemberNames()

    /// An object to be filled, with room for `capacity` bytes.
    init(capacity: Int = 192) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Starts the member `key` (after the previous one in sorted order).
    private mutating func key(_ key: StaticString) {
        names.start(key, in: &bytes)
    }

    /// A string member.
    mutating func string(_ key: StaticString, _ text: String) {
        self.key(key)
        Self.appendQuoted(text, to: &bytes)
    }

    /// A number member, written as `JSONText.number` writes it.
    mutating func number(_ key: StaticString, _ x: Double) {
        self.key(key)
        bytes.append(contentsOf: JSONText.number(x).utf8)
    }

    /// A time member in the audit log's text form.
    mutating func time(_ key: StaticString, _ microseconds: Int64) {
        // Written in place, quoted (the text form needs no escaping): no string is made.
        self.key(key)
        bytes.append(UInt8(ascii: "\""))
        RuntimeTime.auditTime(microseconds).append(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The row format's version (`"v"`).
    mutating func version(_ version: Int) { int("v", version) }

    /// A member whose value `write` appends as JSON text itself.
    mutating func raw(_ key: StaticString, _ write: (inout [UInt8]) -> Void) {
        self.key(key)
        write(&bytes)
    }

    /// A whole-number member.
    mutating func int(_ key: StaticString, _ n: Int) {
        self.key(key)
        Self.appendWhole(n, to: &bytes)
    }

    /// Appends a whole number as `JSONText.number` writes it: below 10^15 in magnitude its
    /// decimal digits, straight into the text.
    static func appendWhole<N: BinaryInteger>(_ n: N, to bytes: inout [UInt8]) {
        guard let small = Int(exactly: n), small.magnitude < 1_000_000_000_000_000 else {
            return bytes.append(contentsOf: JSONText.number(Double(n)).utf8)
        }
        if small < 0 { bytes.append(UInt8(ascii: "-")) }
        ECMAScriptNumber.appendDecimal(UInt64(small.magnitude), to: &bytes)
    }

    /// A `true` or `false` member.
    mutating func bool(_ key: StaticString, _ flag: Bool) {
        self.key(key)
        bytes.append(contentsOf: (flag ? "true" : "false").utf8)
    }

    /// An object member, written by `write` on an object that continues this one's text.
    mutating func object(_ key: StaticString, _ write: (inout RowText) -> Void) {
        self.key(key)
        Self.nested(in: &bytes, write)
    }

    /// Writes an object, filled by `write`, at the end of `bytes`: the nested object takes the
    /// bytes and hands them back finished (moved, never copied), so it costs no buffer of its own.
    private static func nested(in bytes: inout [UInt8], _ write: (inout RowText) -> Void) {
        var object = RowText(continuing: &bytes)
        write(&object)
        bytes = object.finish()
    }

    /// An object that starts at the end of `bytes`, which it takes (leaving `bytes` empty).
    private init(continuing bytes: inout [UInt8]) {
        swap(&self.bytes, &bytes)
        self.bytes.append(UInt8(ascii: "{"))
    }

    /// A member holding any value, written as `Value.jsonText` writes it (saga inputs and
    /// outputs, a denial's decision).
    mutating func value(_ key: StaticString, _ value: Value) {
        self.key(key)
        bytes.append(contentsOf: value.jsonText.utf8)
    }

    /// A list of whole numbers.
    mutating func ints<S: Sequence>(_ key: StaticString, _ list: S) where S.Element: BinaryInteger {
        self.list(key, list) { bytes, n in Self.appendWhole(n, to: &bytes) }
    }

    /// A list of strings.
    mutating func strings(_ key: StaticString, _ list: [String]) {
        self.list(key, list) { bytes, text in Self.appendQuoted(text, to: &bytes) }
    }

    /// A list of objects, each written by `write` on a fresh object.
    mutating func objects<S: Sequence>(_ key: StaticString, _ items: S, _ write: (inout RowText, S.Element) -> Void) {
        list(key, items) { bytes, item in
            Self.nested(in: &bytes) { write(&$0, item) }
        }
    }

    /// A list member: `element` appends each item's JSON text.
    private mutating func list<S: Sequence>(_ key: StaticString, _ items: S, _ element: (inout [UInt8], S.Element) -> Void) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&bytes, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The finished object's bytes, moved out (the object is left empty). Not `consuming`: the
    /// compiler may pass a consumed object as a copy, and the closing brace then copies the
    /// whole text into a new buffer.
    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        var text: [UInt8] = []
        swap(&text, &bytes)
        return text
    }

    /// Appends `text` as a JSON string literal, as `Value.jsonText` writes it: text that needs no
    /// escapes is copied whole, anything else goes through `JSONText.quote`.
    static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        if !JSONText.appendIfPlain(text, to: &bytes) { bytes.append(contentsOf: JSONText.quote(text).utf8) }
    }
}
