import RingfenceDiagnostics
import RingfenceVM

// The ledger's rows are written straight to bytes: the same text as `Value.jsonText` of the
// row's object (compact JSON, keys sorted, numbers and strings written as it writes them), made
// member by member without building a `Value` dictionary, sorting its keys and converting the
// text. A slash writes a row for every agent and vouch it touches and every event it records, so
// this is most of what a slash costs. Every caller names its members in sorted key order (a
// debug build checks it); the tests compare each row with the `Value` form.

/// One JSON object of a ledger row, written member by member in key order.
struct LedgerRowText {
    /// The text so far.
    private var bytes: [UInt8] = []
    /// True until the first member is written.
    private var empty = true
    #if DEBUG
    /// The last key written, to check the order.
    private var lastKey = ""
    #endif

    /// An object to be filled, with room for `capacity` bytes.
    init(capacity: Int = 192) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Starts the member `key` (after the previous one in sorted order).
    private mutating func key(_ key: StaticString) {
        #if DEBUG
        let text = key.description
        assert(empty || lastKey < text, "ledger row members out of order: `\(lastKey)` before `\(text)`")
        lastKey = text
        #endif
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
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

    /// A number member from micro-units: as `JSONText.number` writes micros / 10^6, the digits
    /// made from the integer when it is 0.0001 or more and below 1 (where a double's shortest
    /// text is the plain decimal); through the double otherwise.
    mutating func micros(_ key: StaticString, _ micros: Int64) {
        guard micros >= 100, micros < LedgerUnits.micro else {
            number(key, LedgerUnits.value(micros: micros))
            return
        }
        self.key(key)
        Self.appendFraction(micros, to: &bytes)
    }

    /// Appends `micros` / 10^6 (100 ≤ `micros` < 10^6) as `0.` and its digits without trailing zeros.
    static func appendFraction(_ micros: Int64, to bytes: inout [UInt8]) {
        var digits = micros, places = 6
        while digits % 10 == 0 {
            digits /= 10
            places -= 1
        }
        bytes.append(UInt8(ascii: "0"))
        bytes.append(UInt8(ascii: "."))
        var text: [UInt8] = []
        while digits > 0 {
            text.append(UInt8(ascii: "0") + UInt8(digits % 10))
            digits /= 10
        }
        for _ in text.count..<places { bytes.append(UInt8(ascii: "0")) }
        bytes.append(contentsOf: text.reversed())
    }

    /// A time member in the audit log's text form.
    mutating func time(_ key: StaticString, _ microseconds: Int64) { string(key, RuntimeTime.text(microseconds)) }

    /// The row format's version (`"v"`).
    mutating func version() {
        key("v")
        bytes.append(contentsOf: String(LedgerRows.version).utf8)
    }

    /// A list of strings.
    mutating func strings(_ key: StaticString, _ list: [String]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (i, text) in list.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendQuoted(text, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A list of objects, each written by `write` on a fresh object.
    mutating func objects<S: Sequence>(_ key: StaticString, _ items: S, _ write: (inout LedgerRowText, S.Element) -> Void) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            var object = LedgerRowText(capacity: 96)
            write(&object, item)
            bytes.append(contentsOf: object.finish())
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The finished object's bytes.
    consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// Appends `text` as a JSON string literal, as `Value.jsonText` writes it: text that needs no
    /// escapes is copied whole, anything else goes through `JSONText.quote`.
    static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        if JSONText.isPlain(text) {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
        } else {
            bytes.append(contentsOf: JSONText.quote(text).utf8)
        }
    }
}
