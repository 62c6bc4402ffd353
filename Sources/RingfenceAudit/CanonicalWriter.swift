import RingfenceDiagnostics

/// Writes canonical JSON pieces into memory that the caller has sized with `bound` functions,
/// without per-byte capacity or uniqueness checks — the inner loop of chain verification.
struct CanonicalWriter {
    /// Where the next byte goes.
    private(set) var cursor: UnsafeMutablePointer<UInt8>
    /// The first byte written.
    let start: UnsafeMutablePointer<UInt8>

    /// A writer at the start of `buffer`; the caller guarantees room for everything written.
    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(buffer.baseAddress != nil, "a canonical writer needs memory")
        start = buffer.baseAddress.unsafelyUnwrapped
        cursor = start
    }

    /// The number of bytes written.
    var count: Int { cursor - start }

    /// Appends to `output` what `body` writes, given room for `bound` bytes: written into
    /// temporary memory (on the stack when small) and copied, so `output` never holds a
    /// placeholder to fill and trim.
    static func append(to output: inout [UInt8], bound: Int, _ body: (inout CanonicalWriter) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buffer in
            var writer = CanonicalWriter(buffer)
            body(&writer)
            output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<writer.count]))
        }
    }

    /// The most bytes `writeString` can produce for `text`: every UTF-8 byte escaped to six,
    /// plus the quotes.
    static func bound(ofString text: String) -> Int {
        text.utf8.count * 6 + 2
    }

    /// Writes one byte.
    @inline(__always)
    mutating func write(_ byte: UInt8) {
        cursor.pointee = byte
        cursor += 1
    }

    /// Writes `bytes`.
    @inline(__always)
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        cursor.update(from: base, count: bytes.count)
        cursor += bytes.count
    }

    /// Writes the bytes of a literal.
    @inline(__always)
    mutating func write(_ literal: StaticString) {
        let count = literal.utf8CodeUnitCount
        cursor.update(from: literal.utf8Start, count: count)
        cursor += count
    }

    /// The lowercase hex digit of the nibble `value` (0–15).
    @inline(__always)
    static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") - 10 + value
    }

    /// Writes `text` as an RFC 8785 string (see `CanonicalJSON`), copying runs that need no
    /// escape in one step.
    mutating func writeString(_ text: String) {
        write(UInt8(ascii: "\""))
        JSONText.withUTF8(text) { writeEscaping($0) }
        write(UInt8(ascii: "\""))
    }

    /// Writes `units`, escaping what a JSON string cannot hold raw.
    private mutating func writeEscaping(_ units: UnsafeBufferPointer<UInt8>) {
        var rest = units
        while true {
            let plain = JSONText.plainPrefixCount(rest)
            write(UnsafeBufferPointer(rebasing: rest[..<plain]))
            guard plain < rest.count else { break }
            writeEscape(rest[plain])
            rest = UnsafeBufferPointer(rebasing: rest[(plain + 1)...])
        }
    }

    /// Writes the escape of one byte that JSON strings cannot hold raw.
    mutating func writeEscape(_ unit: UInt8) {
        write(UInt8(ascii: "\\"))
        switch unit {
        case UInt8(ascii: "\""): write(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): write(UInt8(ascii: "\\"))
        case 0x08: write(UInt8(ascii: "b"))
        case 0x09: write(UInt8(ascii: "t"))
        case 0x0A: write(UInt8(ascii: "n"))
        case 0x0C: write(UInt8(ascii: "f"))
        case 0x0D: write(UInt8(ascii: "r"))
        default:
            write(UInt8(ascii: "u"))
            write(UInt8(ascii: "0"))
            write(UInt8(ascii: "0"))
            write(Self.hexDigit(unit >> 4))
            write(Self.hexDigit(unit & 0x0F))
        }
    }

    /// Writes the 32 bytes of `hash` as 64 lowercase hex digits.
    mutating func writeHex(_ hash: AuditHash) {
        hash.withUnsafeBytes { bytes in
            for byte in bytes {
                cursor[0] = Self.hexDigit(byte >> 4)
                cursor[1] = Self.hexDigit(byte & 0x0F)
                cursor += 2
            }
        }
    }

    /// Writes `number` in decimal (at most 20 bytes).
    mutating func writeDecimal(_ number: UInt64) {
        var digits = 1
        var probe = number
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        var remaining = number
        var position = digits
        while position > 0 {
            position -= 1
            cursor[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        cursor += digits
    }

    /// Writes `value` as exactly `count` decimal digits, zero-padded.
    mutating func writeDigits(_ value: Int64, count: Int) {
        var remaining = value
        var position = count
        while position > 0 {
            position -= 1
            cursor[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        cursor += count
    }
}
