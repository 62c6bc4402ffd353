import RingfenceDiagnostics
import RingfenceWire
import RingfenceVM

/// RFC 8785 JSON Canonicalization Scheme (JCS) for `Value`, as UTF-8 bytes.
///
/// - no whitespace anywhere;
/// - `null`, `true`, `false` as literals;
/// - numbers as ECMAScript's `Number::toString` (`ECMAScriptNumber`); NaN and infinities are an
///   error, and -0 is written `0`;
/// - strings between `"`: `\b \t \n \f \r \" \\` as two-character escapes, every other control
///   character below U+0020 as `\u00xx` with lowercase hex, and everything else — `/`, DEL,
///   U+2028, all non-ASCII — as its raw UTF-8 bytes, unnormalised;
/// - object members sorted by the UTF-16 code units of their names (so U+1F600, stored as the
///   surrogates D83D DE00, sorts before U+FB33), arrays in their own order.
///
/// Nesting deeper than `JSONParser.maximumDepth` is an error, so whatever this writes the strict
/// parser reads back, and recursion is bounded.
public enum CanonicalJSON {
    /// The canonical bytes of `value`.
    public static func encode(_ value: Value) throws(AuditError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        try append(value, to: &output)
        return output
    }

    /// The SHA-256 of the canonical bytes of `value` (an entry's `data_hash`).
    public static func hash(_ value: Value) throws(AuditError) -> AuditHash {
        AuditHash.sha256(try encode(value))
    }

    /// Appends `null`.
    public static func appendNull(to output: inout [UInt8]) {
        output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
    }

    /// Appends `true` or `false`.
    public static func appendBool(_ flag: Bool, to output: inout [UInt8]) {
        if flag {
            output.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        } else {
            output.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        }
    }

    /// Appends the canonical bytes of `value` to `output`.
    public static func append(_ value: Value, to output: inout [UInt8]) throws(AuditError) {
        try append(value, depth: 0, to: &output)
    }

    /// Appends `value`, which sits inside `depth` arrays and objects (for writers that lay out
    /// the outer objects themselves, their members in canonical order).
    public static func append(_ value: Value, depth: Int, to output: inout [UInt8]) throws(AuditError) {
        switch value {
        case .null:
            appendNull(to: &output)
        case .bool(let flag):
            appendBool(flag, to: &output)
        case .number(let number):
            try appendNumber(number, to: &output)
        case .string(let text):
            appendString(text, to: &output)
        case .list(let items):
            guard depth < JSONParser.maximumDepth else { throw tooDeep() }
            output.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                try append(item, depth: depth + 1, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            guard depth < JSONParser.maximumDepth else { throw tooDeep() }
            output.append(UInt8(ascii: "{"))
            // The members' positions in the table, sorted, in temporary memory: no member is
            // copied out to be sorted, and none is looked up by name again.
            let count = members.count
            try withUnsafeTemporaryAllocation(of: Dictionary<String, Value>.Index.self, capacity: count) { (order) throws(AuditError) in
                _ = order.initialize(fromContentsOf: members.indices)
                defer { order.deinitialize() }
                sortByName(order, in: members)
                for position in 0..<count {
                    if position > 0 { output.append(UInt8(ascii: ",")) }
                    let index = order[position]
                    appendString(members[index].key, to: &output)
                    output.append(UInt8(ascii: ":"))
                    try append(members[index].value, depth: depth + 1, to: &output)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Checks that `value`, sitting inside `depth` arrays and objects, can be written: every
    /// number finite and no nesting past the limit — what `append` would throw for, found
    /// without writing.
    public static func check(_ value: Value, depth: Int) throws(AuditError) {
        switch value {
        case .null, .bool, .string:
            return
        case .number(let number):
            guard number.isFinite else { throw AuditError(.canonicalJSON, AuditMessages.nonFiniteNumber(number)) }
        case .list(let items):
            guard depth < JSONParser.maximumDepth else { throw tooDeep() }
            for item in items { try check(item, depth: depth + 1) }
        case .object(let members):
            guard depth < JSONParser.maximumDepth else { throw tooDeep() }
            for member in members.values { try check(member, depth: depth + 1) }
        }
    }

    /// Appends `number` in its ECMAScript form; NaN and infinities are an error.
    public static func appendNumber(_ number: Double, to output: inout [UInt8]) throws(AuditError) {
        guard number.isFinite else {
            throw AuditError(.canonicalJSON, AuditMessages.nonFiniteNumber(number))
        }
        ECMAScriptNumber.append(number, to: &output)
    }

    /// The error for nesting deeper than the parser accepts.
    static func tooDeep() -> AuditError {
        AuditError(.canonicalJSON, AuditMessages.nestingTooDeep(limit: JSONParser.maximumDepth))
    }

    /// Sorts `order`, positions in `members`, by the UTF-16 code units of the members' names, as
    /// RFC 8785 §3.2.3 requires.
    ///
    /// UTF-8 bytes order text as its scalars do; UTF-16 units do too, except that scalars from
    /// U+10000 (surrogates, D800–DFFF) sort below U+E000–U+FFFF. Names without a scalar from
    /// U+E000 — no UTF-8 byte from 0xEE — are therefore compared by their bytes in place; only
    /// other names are compared by their UTF-16 units.
    ///
    /// Names all in ASCII (nearly every name) are compared with `<`, which for ASCII text compares
    /// the bytes. The names are read through `keys`, so sorting copies no member's value.
    static func sortByName(_ order: UnsafeMutableBufferPointer<Dictionary<String, Value>.Index>, in members: [String: Value]) {
        guard order.count > 1 else { return }
        var order = order
        let names = members.keys
        // One pass over the names finds their highest byte, which answers both questions.
        var highest: UInt8 = 0
        for name in names {
            for byte in name.utf8 { highest = max(highest, byte) }
        }
        if highest < 0x80 {
            order.sort { names[$0] < names[$1] }
        } else if highest < 0xEE {
            order.sort { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
        } else {
            order.sort { names[$0].utf16.lexicographicallyPrecedes(names[$1].utf16) }
        }
    }

    /// Appends `text` as a canonical JSON string.
    public static func appendString(_ text: String, to output: inout [UInt8]) {
        // A string that needs no escape (nearly all) is copied between its quotes as it is; the
        // rest go through the writer.
        if JSONText.appendIfPlain(text, to: &output) { return }
        CanonicalWriter.append(to: &output, bound: CanonicalWriter.bound(ofString: text)) { $0.writeString(text) }
    }
}
