import RingfenceVM

/// One JSON object in canonical form (RFC 8785), written member by member without building a
/// `Value` dictionary: for entry data whose member names are fixed (the runtime's saga
/// transitions), the bytes `CanonicalJSON.encode` would make of the same object, at the cost of
/// appending them. The caller names members in canonical order; for the ASCII names used here
/// that is byte order (a debug build checks it). Strings and numbers are written as
/// `CanonicalJSON` writes them; a member holding any value goes through `CanonicalJSON.append`.
public struct CanonicalObject {
    /// The text so far.
    private var bytes: [UInt8] = []
    /// The member names written so far.
    private var names = MemberNames()
    /// How deep this object sits in the data (0 for the data itself).
    private let depth: Int

    /// An object to be filled, with room for `capacity` bytes, `depth` objects and arrays deep.
    public init(capacity: Int = 128, depth: Int = 0) {
        self.depth = depth
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// An object `depth` deep that starts at the end of `bytes`, which it takes (leaving
    /// `bytes` empty) and hands back when finished.
    private init(continuing bytes: inout [UInt8], depth: Int) {
        self.depth = depth
        swap(&self.bytes, &bytes)
        self.bytes.append(UInt8(ascii: "{"))
    }

    /// Starts the member `name` (after the previous one in canonical order).
    private mutating func name(_ name: StaticString) {
        names.start(name, in: &bytes)
    }

    /// A string member.
    public mutating func string(_ name: StaticString, _ text: String) {
        self.name(name)
        CanonicalJSON.appendString(text, to: &bytes)
    }

    /// A time member in its text form (which holds nothing to escape), written in place.
    public mutating func time(_ name: StaticString, _ time: AuditTime) {
        self.name(name)
        bytes.append(UInt8(ascii: "\""))
        time.append(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A whole-number member.
    public mutating func int(_ name: StaticString, _ n: Int) {
        self.name(name)
        // Every Int converts to a finite double, which is what `Value.number` would hold.
        ECMAScriptNumber.append(Double(n), to: &bytes)
    }

    /// A number member; NaN and infinities are an error, as in `CanonicalJSON`.
    public mutating func number(_ name: StaticString, _ x: Double) throws(AuditError) {
        self.name(name)
        try CanonicalJSON.appendNumber(x, to: &bytes)
    }

    /// A `true` or `false` member.
    public mutating func bool(_ name: StaticString, _ flag: Bool) {
        self.name(name)
        CanonicalJSON.appendBool(flag, to: &bytes)
    }

    /// A string member, or `null` for nil.
    public mutating func optional(_ name: StaticString, _ text: String?) {
        self.name(name)
        if let text {
            CanonicalJSON.appendString(text, to: &bytes)
        } else {
            CanonicalJSON.appendNull(to: &bytes)
        }
    }

    /// An object member, written by `write` one level down, at the end of this object's bytes
    /// (the inner object takes them and hands them back: no buffer of its own). When `write`
    /// throws, the object is left unfinished, as a throwing member always leaves it.
    public mutating func object(_ name: StaticString, _ write: (inout CanonicalObject) throws(AuditError) -> Void) throws(AuditError) {
        self.name(name)
        var inner = CanonicalObject(continuing: &bytes, depth: depth + 1)
        defer { bytes = inner.finish() }
        try write(&inner)
    }

    /// A list of strings. An array, not any sequence: a generic method is not specialized for
    /// a caller in another module, which then walks the list through protocol witnesses.
    public mutating func strings(_ name: StaticString, _ list: [String]) {
        self.name(name)
        bytes.append(UInt8(ascii: "["))
        var first = true
        for text in list {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            CanonicalJSON.appendString(text, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A member holding any value, written by `CanonicalJSON` one level below this object.
    public mutating func value(_ name: StaticString, _ value: Value) throws(AuditError) {
        self.name(name)
        try CanonicalJSON.append(value, depth: depth + 1, to: &bytes)
    }

    /// The finished object's bytes, moved out (the object is left empty). Not `consuming`: the
    /// compiler may pass a consumed object as a copy, and the closing brace then copies the
    /// whole text into a new buffer.
    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        var text: [UInt8] = []
        swap(&text, &bytes)
        return text
    }
}

/// The names of a JSON object's members as a writer that knows them in advance writes them, in
/// order: `"name":`, with a comma before every member but the first. The names are ASCII and
/// come in byte order, which for ASCII is also the UTF-16 order RFC 8785 sorts by and the order
/// `Value.jsonText` sorts by (a debug build checks both).
package struct MemberNames {
    /// True until the first member is written.
    private var empty = true
    #if DEBUG
    /// The last name written, to check the order.
    private var last = ""
    #endif

    /// No member written yet.
    package init() {}

    /// Appends the start of the member `name` to `bytes`.
    package mutating func start(_ name: StaticString, in bytes: inout [UInt8]) {
        #if DEBUG
        let text = name.description
        assert(text.utf8.allSatisfy { $0 < 0x80 }, "member names written here are ASCII")
        assert(empty || last < text, "members out of order: `\(last)` before `\(text)`")
        last = text
        #endif
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }
}
