/// Hexadecimal text: lowercase when written; readers say which cases they accept.
public enum Hex {
    /// The lowercase digits.
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The lowercase hex form of `bytes`.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            var offset = 0
            for byte in bytes {
                buffer[offset] = digits[Int(byte >> 4)]
                buffer[offset + 1] = digits[Int(byte & 0x0F)]
                offset += 2
            }
            return offset
        }
    }

    /// The lowercase hex form of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// Decodes an even number of lowercase hex digits, or returns nil.
    public static func decodeLowercase(_ text: String) -> [UInt8]? {
        decode(text, allowUppercase: false)
    }

    /// Decodes an even number of hex digits of either case, or returns nil.
    public static func decodeAnyCase(_ text: String) -> [UInt8]? {
        decode(text, allowUppercase: true)
    }

    /// Decodes hex digits, accepting uppercase ones only when `allowUppercase` is set.
    static func decode(_ text: String, allowUppercase: Bool) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count / 2)
        var high: UInt8? = nil
        for unit in utf8 {
            guard let value = digitValue(unit, allowUppercase: allowUppercase) else { return nil }
            if let first = high {
                result.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return result
    }

    /// The value of one hex digit, or nil.
    @inline(__always)
    static func digitValue(_ unit: UInt8, allowUppercase: Bool) -> UInt8? {
        switch unit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return unit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return unit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F") where allowUppercase: return unit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Standard base64 (RFC 4648 §4) with padding, read strictly.
///
/// The reader accepts only the canonical encoding: a length that is a multiple of four, only the
/// standard alphabet, `=` only as the final one or two characters, and zero bits in the unused
/// low bits of the last character. Anything else (whitespace, URL-safe letters, missing padding)
/// is refused rather than repaired.
public enum Base64 {
    /// The standard alphabet.
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The standard padded base64 form of `bytes`.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let length = (bytes.count + 2) / 3 * 4
        return String(unsafeUninitializedCapacity: length) { buffer in
            var input = 0
            var output = 0
            while input + 3 <= bytes.count {
                let chunk = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
                buffer[output] = alphabet[Int(chunk >> 18 & 0x3F)]
                buffer[output + 1] = alphabet[Int(chunk >> 12 & 0x3F)]
                buffer[output + 2] = alphabet[Int(chunk >> 6 & 0x3F)]
                buffer[output + 3] = alphabet[Int(chunk & 0x3F)]
                input += 3
                output += 4
            }
            let rest = bytes.count - input
            if rest > 0 {
                var chunk = UInt32(bytes[input]) << 16
                if rest == 2 { chunk |= UInt32(bytes[input + 1]) << 8 }
                buffer[output] = alphabet[Int(chunk >> 18 & 0x3F)]
                buffer[output + 1] = alphabet[Int(chunk >> 12 & 0x3F)]
                buffer[output + 2] = rest == 2 ? alphabet[Int(chunk >> 6 & 0x3F)] : UInt8(ascii: "=")
                buffer[output + 3] = UInt8(ascii: "=")
                output += 4
            }
            return output
        }
    }

    /// The standard padded base64 form of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// Decodes canonical standard padded base64, or returns nil.
    public static func decode(_ text: String) -> [UInt8]? {
        let units = Array(text.utf8)
        guard units.count % 4 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(units.count / 4 * 3)
        var index = 0
        while index < units.count {
            let isLast = index + 4 == units.count
            var padding = 0
            if isLast {
                if units[index + 3] == UInt8(ascii: "=") { padding = 1 }
                if padding == 1, units[index + 2] == UInt8(ascii: "=") { padding = 2 }
            }
            var chunk: UInt32 = 0
            for offset in 0..<4 {
                let value: UInt32
                if offset >= 4 - padding {
                    value = 0
                } else {
                    guard let digit = digitValue(units[index + offset]) else { return nil }
                    value = UInt32(digit)
                }
                chunk = chunk << 6 | value
            }
            switch padding {
            case 0:
                result.append(UInt8(chunk >> 16 & 0xFF))
                result.append(UInt8(chunk >> 8 & 0xFF))
                result.append(UInt8(chunk & 0xFF))
            case 1:
                guard chunk & 0xFF == 0 else { return nil }
                result.append(UInt8(chunk >> 16 & 0xFF))
                result.append(UInt8(chunk >> 8 & 0xFF))
            default:
                guard chunk & 0xFFFF == 0 else { return nil }
                result.append(UInt8(chunk >> 16 & 0xFF))
            }
            index += 4
        }
        return result
    }

    /// The value of one alphabet character, or nil (including for `=`).
    @inline(__always)
    static func digitValue(_ unit: UInt8) -> UInt8? {
        switch unit {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return unit - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return unit - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return unit - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
