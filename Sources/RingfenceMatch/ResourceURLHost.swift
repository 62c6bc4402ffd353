// The host of a URL resource: rules U5–U7 and U9 in ResourceNormalizer.swift.
//
//   host     = "[" ipv6 "]" | name
//   name     = label { "." label } [ "." ]        label: `a-z A-Z 0-9 - _`, not empty
//   ipv6     = [ h16 { ":" h16 } ] [ "::" [ h16 { ":" h16 } ] ] [ ":" ipv4 ]   (8 groups in all,
//              `::` standing for one or more zero groups; ipv4 counts as two)
//   h16      = 1*4 HEXDIG
//   ipv4     = dec "." dec "." dec "." dec          dec: 0–255, no leading zero

/// Reads and canonicalises the host of a URL resource.
enum ResourceURLHost {
    /// A host as read: its canonical text, or why it is refused.
    enum Reading: Equatable {
        /// The canonical host (`api.example.com`, `[::1]`, empty for a local `file:` URL).
        case host(String)
        /// The host cannot be placed; the reason phrase.
        case refused(String)
    }

    /// Reads the host in `bytes[start..<end]` (the authority without its port). The bytes are
    /// already known to be printable ASCII other than `\` and `@`.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, isFile: Bool) -> Reading {
        if start < end, bytes[start] == UInt8(ascii: "[") {
            return parseIPv6(bytes, from: start + 1, to: end - 1)  // bytes[end - 1] is `]`
        }
        guard start < end else { return isFile ? .host("") : .refused(Refusal.emptyHost) }
        var end = end
        if bytes[end - 1] == UInt8(ascii: ".") {
            if isFile { return .refused(Refusal.fileHostDot) }
            end -= 1  // one trailing dot drops
        }
        // One pass: check each byte and label, writing the lower-cased host as it goes.
        var refusal: String?
        let text = String(unsafeUninitializedCapacity: end - start) { out in
            let count = end - start
            var labelStart = 0
            for k in 0 ..< count {
                let raw = bytes[start + k]
                guard ByteClass.hostBytes.contains(raw) else {
                    refusal = Refusal.hostNotPlain
                    return 0
                }
                let byte = ByteClass.lowercased(raw)
                if byte == UInt8(ascii: ".") {
                    guard k > labelStart else {
                        refusal = Refusal.emptyLabel
                        return 0
                    }
                    labelStart = k + 1
                } else if k == labelStart + 3, byte == UInt8(ascii: "-"), out[k - 1] == UInt8(ascii: "-"),
                          out[k - 2] == UInt8(ascii: "n"), out[k - 3] == UInt8(ascii: "x") {
                    refusal = Refusal.idnaLabel
                    return 0
                }
                out[k] = byte
            }
            guard count > labelStart else {
                refusal = Refusal.emptyLabel
                return 0
            }
            let written = UnsafeBufferPointer(out)
            if isNumericLabel(written, from: labelStart, to: count), !isDottedQuad(written, from: 0, to: count) {
                refusal = Refusal.ambiguousIPv4
                return 0
            }
            return count
        }
        if let refusal { return .refused(refusal) }
        if isFile && text == "localhost" { return .host("") }
        return .host(text)
    }

    /// True when `bytes[start..<end]` is a number to WHATWG's IPv4 parser: decimal digits, or
    /// `0x`/`0X` followed by hex digits (none included).
    static func isNumericLabel(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        var i = start
        if end - start >= 2, bytes[start] == UInt8(ascii: "0"), bytes[start + 1] | 0x20 == UInt8(ascii: "x") {
            i += 2
            while i < end {
                guard ByteClass.hexValue(bytes[i]) != nil else { return false }
                i += 1
            }
            return true
        }
        while i < end {
            guard ByteClass.isDigit(bytes[i]) else { return false }
            i += 1
        }
        return end > start
    }

    /// True when `bytes[start..<end]` is exactly four decimal parts 0–255 without leading zeros.
    static func isDottedQuad(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        parseDottedQuad(bytes, from: start, to: end) != nil
    }

    /// The 32-bit value of the canonical dotted quad `bytes[start..<end]`, or nil.
    static func parseDottedQuad(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        var i = start
        while parts < 4 {
            let partStart = i
            var part: UInt32 = 0
            while i < end, ByteClass.isDigit(bytes[i]), i - partStart < 3 {
                part = part * 10 + UInt32(bytes[i] - UInt8(ascii: "0"))
                i += 1
            }
            let length = i - partStart
            guard length > 0, part <= 255, length == 1 || bytes[partStart] != UInt8(ascii: "0") else { return nil }
            value = value << 8 | part
            parts += 1
            if parts < 4 {
                guard i < end, bytes[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
        }
        return i == end ? value : nil
    }

    /// Reads the IPv6 literal `bytes[start..<end]` (between the brackets) into its canonical
    /// bracketed text (U7).
    static func parseIPv6(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Reading {
        guard start < end else { return .refused(Refusal.invalidIPv6) }
        if bytes[start] | 0x20 == UInt8(ascii: "v") { return .refused(Refusal.hostNotPlain) }  // IPvFuture
        if bytes[start ..< end].contains(UInt8(ascii: "%")) { return .refused(Refusal.hostNotPlain) }  // a zone id
        guard let groups = parseIPv6Groups(bytes, from: start, to: end) else { return .refused(Refusal.invalidIPv6) }
        return .host(serializeIPv6(groups))
    }

    /// The eight 16-bit groups of the IPv6 address `bytes[start..<end]`, or nil when it is not one.
    static func parseIPv6Groups(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> SIMD8<UInt16>? {
        var groups = SIMD8<UInt16>()
        var count = 0
        var compress: Int?
        var i = start
        if bytes[i] == UInt8(ascii: ":") {
            guard end - i >= 2, bytes[i + 1] == UInt8(ascii: ":") else { return nil }
            i += 2
            compress = 0
        }
        while i < end {
            guard count < 8 else { return nil }
            let groupStart = i
            var value: UInt16 = 0
            while i < end, i - groupStart < 4, let digit = ByteClass.hexValue(bytes[i]) {
                value = value << 4 | UInt16(digit)
                i += 1
            }
            if i < end, bytes[i] == UInt8(ascii: ".") {
                // An IPv4 tail: the last two groups.
                guard count <= 6, let quad = parseDottedQuad(bytes, from: groupStart, to: end) else { return nil }
                groups[count] = UInt16(quad >> 16)
                groups[count + 1] = UInt16(quad & 0xFFFF)
                count += 2
                i = end
                break
            }
            guard i > groupStart else { return nil }
            groups[count] = value
            count += 1
            if i == end { break }
            guard bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            if i < end, bytes[i] == UInt8(ascii: ":") {
                guard compress == nil else { return nil }
                compress = count
                i += 1
            } else if i == end {
                return nil  // a lone trailing `:`
            }
        }
        if let compress {
            guard count < 8 else { return nil }  // `::` stands for at least one zero group
            let moved = count - compress
            var expanded = SIMD8<UInt16>()
            for k in 0 ..< compress { expanded[k] = groups[k] }
            for k in 0 ..< moved { expanded[8 - moved + k] = groups[compress + k] }
            return expanded
        }
        return count == 8 ? groups : nil
    }

    /// `[…]` for `groups` the way WHATWG serialises an IPv6 address (and RFC 5952 recommends):
    /// lower-case hex without leading zeros, the first longest run of two or more zero groups
    /// written `::`.
    static func serializeIPv6(_ groups: SIMD8<UInt16>) -> String {
        var runStart = -1, runLength = 0
        var k = 0
        while k < 8 {
            if groups[k] == 0 {
                var j = k
                while j < 8, groups[j] == 0 { j += 1 }
                if j - k > runLength, j - k >= 2 {
                    runStart = k
                    runLength = j - k
                }
                k = j
            } else {
                k += 1
            }
        }
        return String(unsafeUninitializedCapacity: 41) { out in
            var w = 0
            out[w] = UInt8(ascii: "[")
            w += 1
            var k = 0
            while k < 8 {
                if k == runStart {
                    out[w] = UInt8(ascii: ":")
                    w += 1
                    if k == 0 {
                        out[w] = UInt8(ascii: ":")
                        w += 1
                    }
                    k += runLength
                    continue
                }
                let group = groups[k]
                var started = false
                for shift in stride(from: 12, through: 0, by: -4) {
                    let digit = UInt8((group >> UInt16(shift)) & 0xF)
                    if digit != 0 || started || shift == 0 {
                        out[w] = ByteClass.lowerHexDigit(digit)
                        w += 1
                        started = true
                    }
                }
                k += 1
                if k < 8 {
                    out[w] = UInt8(ascii: ":")
                    w += 1
                }
            }
            out[w] = UInt8(ascii: "]")
            return w + 1
        }
    }
}
