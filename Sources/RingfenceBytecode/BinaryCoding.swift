/// Appends little-endian primitives to a byte buffer.
struct BinaryWriter {
    /// The bytes written so far.
    var bytes: [UInt8] = []

    /// Appends an unsigned integer of any width, little-endian.
    mutating func int<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    /// Appends a 32-bit count.
    mutating func count(_ n: Int) { int(UInt32(n)) }

    /// Appends an unsigned value in LEB128: seven bits a byte, low bits first, the high bit set on
    /// every byte but the last (1 byte below 128, at most 10).
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a Double's bit pattern.
    mutating func double(_ value: Double) { int(value.bitPattern) }

    /// Appends a boolean as one byte.
    mutating func bool(_ value: Bool) { int(UInt8(value ? 1 : 0)) }

    /// Appends a length-prefixed UTF-8 string.
    mutating func string(_ s: String) {
        count(s.utf8.count)
        bytes.append(contentsOf: s.utf8)
    }

    /// Appends a presence byte and, when present, the value.
    mutating func optional<T>(_ value: T?, _ write: (inout BinaryWriter, T) -> Void) {
        bool(value != nil)
        if let value { write(&self, value) }
    }
}

/// Reads little-endian primitives from a byte buffer, refusing to read past its end.
struct BinaryReader {
    /// Raised when the content is shorter or stranger than declared.
    struct Malformed: Error {
        /// What was wrong.
        let message: String
    }

    private let bytes: [UInt8]
    private(set) var offset: Int

    /// Creates a reader over `bytes[range]`.
    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// True when every byte has been read.
    var atEnd: Bool { offset == bytes.count }

    /// Reads an unsigned integer of any width, little-endian.
    mutating func int<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) throws(Malformed) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw Malformed(message: "content ends inside a number at byte \(offset)") }
        var v: T = 0
        for i in 0..<size { v |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return v
    }

    /// Reads a LEB128 value written by `BinaryWriter.varint`: at most 10 bytes, no bits past 64,
    /// and no redundant trailing zero byte (so every value has exactly one encoding).
    mutating func varint() throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<10 {
            guard offset < bytes.count else { throw Malformed(message: "content ends inside a number at byte \(offset)") }
            let byte = bytes[offset]
            offset += 1
            guard i < 9 || byte < 0x02 else { throw Malformed(message: "a number wider than 64 bits at byte \(offset - 1)") }
            value |= UInt64(byte & 0x7F) << (7 * i)
            if byte < 0x80 {
                guard byte != 0 || i == 0 else { throw Malformed(message: "a number with a redundant byte at byte \(offset - 1)") }
                return value
            }
        }
        throw Malformed(message: "a number wider than 64 bits at byte \(offset - 1)")
    }

    /// Reads a 32-bit count and checks that at least `count * minimumItemSize` bytes remain.
    mutating func count(minimumItemSize: Int = 1) throws(Malformed) -> Int {
        let n = Int(try int(UInt32.self))
        guard n <= (bytes.count - offset) / max(1, minimumItemSize) else {
            throw Malformed(message: "a count of \(n) exceeds the remaining content at byte \(offset)")
        }
        return n
    }

    /// Reads a Double's bit pattern.
    mutating func double() throws(Malformed) -> Double { Double(bitPattern: try int(UInt64.self)) }

    /// Reads a boolean byte (0 or 1 only).
    mutating func bool() throws(Malformed) -> Bool {
        switch try int(UInt8.self) {
        case 0: return false
        case 1: return true
        default: throw Malformed(message: "invalid boolean byte at \(offset - 1)")
        }
    }

    /// Reads a length-prefixed string, which must be valid UTF-8.
    mutating func string() throws(Malformed) -> String {
        let n = try count()
        let slice = bytes[offset..<offset + n]
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw Malformed(message: "invalid UTF-8 in a string at byte \(offset)")
        }
        offset += n
        return s
    }

    /// Reads a presence byte and, when present, a value.
    mutating func optional<T>(_ read: (inout BinaryReader) throws(Malformed) -> T) throws(Malformed) -> T? {
        try bool() ? try read(&self) : nil
    }
}

/// A signed value as an unsigned one for `varint`, small magnitudes small: 0, −1, 1, −2 … → 0, 1, 2, 3 …
func zigzag(_ value: Int64) -> UInt64 {
    UInt64(bitPattern: (value << 1) ^ (value >> 63))
}

/// The signed value `zigzag` coded.
func unzigzag(_ value: UInt64) -> Int64 {
    Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
}
