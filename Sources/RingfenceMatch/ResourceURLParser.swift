// The URL side of resource normalisation: rules U1–U12 in ResourceNormalizer.swift.
//
//   url       = scheme "://" authority path [ "?" query ] [ "#" fragment ]
//   authority = host [ ":" port ]          (no userinfo)
//   host      = "[" ipv6 "]" | name        (name: `a-z A-Z 0-9 . - _`, possibly empty for `file:`)
//   path      = { "/" segment }            (segment: RFC 3986 pchar, `%HH`)

/// Reads a `scheme://…` resource into its canonical components, or refuses it.
enum ResourceURLParser {
    /// Parses `bytes`, whose scheme ends (at a `:` followed by `//`) at `schemeEnd`.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, schemeEnd: Int) -> NormalizedResource {
        let packed = ResourceNormalizer.packedScheme(bytes, from: 0, to: schemeEnd)
        let scheme: String
        let defaultPort: Int?
        switch packed {  // the common schemes as literals, which cost nothing to make
        case PackedScheme.https: (scheme, defaultPort) = ("https", 443)
        case PackedScheme.http: (scheme, defaultPort) = ("http", 80)
        case PackedScheme.file: (scheme, defaultPort) = ("file", nil)
        case PackedScheme.wss: (scheme, defaultPort) = ("wss", 443)
        case PackedScheme.ws: (scheme, defaultPort) = ("ws", 80)
        case PackedScheme.ftp: (scheme, defaultPort) = ("ftp", 21)
        default: (scheme, defaultPort) = (lowercasedString(bytes, from: 0, to: schemeEnd), nil)
        }
        let isFile = packed == PackedScheme.file

        // Authority: up to the first `/`, `?` or `#` (U3), with U2's byte checks on the way.
        let authorityStart = schemeEnd + 3
        var authorityEnd = authorityStart
        var colon: Int?
        while authorityEnd < bytes.count {
            let byte = bytes[authorityEnd]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { break }
            if let refusal = refusalBeforeQuery(byte) { return .unplaceable(reason: refusal) }
            if byte == UInt8(ascii: "@") { return .unplaceable(reason: Refusal.userinfo) }
            if byte == UInt8(ascii: ":"), colon == nil { colon = authorityEnd }
            authorityEnd += 1
        }

        // Path: up to the first `?` or `#`; query and fragment after them.
        var pathEnd = authorityEnd
        while pathEnd < bytes.count, bytes[pathEnd] != UInt8(ascii: "?"), bytes[pathEnd] != UInt8(ascii: "#") { pathEnd += 1 }
        var queryRange: Range<Int>?
        var fragmentRange: Range<Int>?
        var i = pathEnd
        if i < bytes.count, bytes[i] == UInt8(ascii: "?") {
            let start = i + 1
            i = start
            while i < bytes.count, bytes[i] != UInt8(ascii: "#") {
                if ByteClass.isControlOrSpace(bytes[i]) { return .unplaceable(reason: Refusal.controlOrSpace) }
                i += 1
            }
            queryRange = start ..< i
        }
        if i < bytes.count {  // bytes[i] is `#`
            let start = i + 1
            i = start
            while i < bytes.count {
                if ByteClass.isControlOrSpace(bytes[i]) { return .unplaceable(reason: Refusal.controlOrSpace) }
                i += 1
            }
            fragmentRange = start ..< i
        }

        // Host and port (U4–U9).
        var hostEnd = authorityEnd
        var port: Int?
        if authorityStart < authorityEnd, bytes[authorityStart] == UInt8(ascii: "[") {
            // An IPv6 literal: `]` then nothing or `:port`.
            var close = authorityStart + 1
            while close < authorityEnd, bytes[close] != UInt8(ascii: "]") { close += 1 }
            guard close < authorityEnd else { return .unplaceable(reason: Refusal.invalidIPv6) }
            hostEnd = close + 1
            if hostEnd < authorityEnd, bytes[hostEnd] != UInt8(ascii: ":") { return .unplaceable(reason: Refusal.hostNotPlain) }
            colon = hostEnd < authorityEnd ? hostEnd : nil
        } else if let colon {
            hostEnd = colon
        }
        if let colon {
            if isFile { return .unplaceable(reason: Refusal.filePort) }
            switch parsePort(bytes, from: colon + 1, to: authorityEnd) {
            case .invalid: return .unplaceable(reason: Refusal.invalidPort)
            case .none: port = nil
            case .number(let value): port = value == defaultPort ? nil : value
            }
        }
        let host: String
        switch ResourceURLHost.parse(bytes, from: authorityStart, to: hostEnd, isFile: isFile) {
        case .refused(let reason): return .unplaceable(reason: reason)
        case .host(let text): host = text
        }

        // Path (U10, U11).
        var pathRefusal: String?
        let path = String(unsafeUninitializedCapacity: max(pathEnd - authorityEnd, 1)) { out in
            switch normalizeURLPath(bytes, from: authorityEnd, to: pathEnd, isFile: isFile, into: out) {
            case .success(let length): return length
            case .failure(let refusal):
                pathRefusal = refusal.reason
                return 0
            }
        }
        if let pathRefusal { return .unplaceable(reason: pathRefusal) }

        var query: String?
        if let queryRange { query = substring(bytes, queryRange) }
        var fragment: String?
        if let fragmentRange { fragment = substring(bytes, fragmentRange) }
        return .url(ResourceURL(scheme: scheme, host: host, port: port, path: path, query: query, fragment: fragment))
    }

    /// U2's refusal for `byte` in the authority or path, or nil when the byte may stand there.
    @inline(__always) static func refusalBeforeQuery(_ byte: UInt8) -> String? {
        if ByteClass.isControlOrSpace(byte) { return Refusal.controlOrSpace }
        if byte >= 0x80 { return Refusal.nonASCII }
        if byte == UInt8(ascii: "\\") { return Refusal.backslash }
        return nil
    }

    /// A port as written after the authority's `:`.
    enum PortReading: Equatable {
        /// Nothing after the `:`.
        case none
        /// Digits with this value (at most 65535).
        case number(Int)
        /// Anything else: a non-digit or a value above 65535.
        case invalid
    }

    /// Reads the port in `bytes[start..<end]` (U8).
    static func parsePort(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> PortReading {
        guard start < end else { return .none }
        var value = 0
        for i in start ..< end {
            let byte = bytes[i]
            guard ByteClass.isDigit(byte) else { return .invalid }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            if value > 65535 { return .invalid }
        }
        return .number(value)
    }

    /// Why a URL path was refused.
    struct PathRefusal: Error {
        /// The short reason phrase.
        var reason: String
    }

    /// Writes the normal form of the URL path `bytes[start..<end]` into `out` (U10, U11) and returns
    /// its length. `out` holds at least `max(end - start, 1)` bytes: decoding only shortens, and an
    /// empty path becomes `/`.
    ///
    /// The first pass removes dot segments the RFC 3986 way, keeping empty segments (`//`) as bare
    /// `/` so that a `..` meeting one can be refused (U11); the second collapses repeated `/` and
    /// drops a trailing one. Kept segments never hold a raw `/` (`%2F` stays encoded), so the last
    /// `/` in the output always starts the last segment.
    static func normalizeURLPath(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, isFile: Bool,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Result<Int, PathRefusal> {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var w = 0
        var i = start  // bytes[start] is `/` whenever the path is not empty
        while i < end {
            i += 1  // past the `/`
            let segmentStart = w
            out[w] = slash
            w += 1
            while i < end, bytes[i] != slash {
                let byte = bytes[i]
                if byte == UInt8(ascii: "%") {
                    guard end - i >= 3, let high = ByteClass.hexValue(bytes[i + 1]), let low = ByteClass.hexValue(bytes[i + 2]) else {
                        return .failure(PathRefusal(reason: Refusal.percentEscape))
                    }
                    let decoded = high << 4 | low
                    guard decoded != 0 else { return .failure(PathRefusal(reason: Refusal.escapedNul)) }
                    if ByteClass.isUnreserved(decoded) {
                        out[w] = decoded
                        w += 1
                    } else {
                        out[w] = UInt8(ascii: "%")
                        out[w + 1] = ByteClass.upperHexDigit(high)
                        out[w + 2] = ByteClass.upperHexDigit(low)
                        w += 3
                    }
                    i += 3
                } else if ByteClass.pathBytes.contains(byte) {
                    out[w] = byte
                    w += 1
                    i += 1
                } else {
                    return .failure(PathRefusal(reason: refusalBeforeQuery(byte) ?? Refusal.pathCharacter))
                }
            }
            let length = w - segmentStart - 1
            if length == 1 && out[segmentStart + 1] == dot {
                w = segmentStart  // `.` drops
            } else if length == 2 && out[segmentStart + 1] == dot && out[segmentStart + 2] == dot {
                w = segmentStart
                guard w > 0 else { continue }  // at the root, `..` stays at the root
                if out[w - 1] == slash {
                    // The segment before is empty. When every segment before is, both readings
                    // stay at the root; otherwise they part (U11).
                    guard (0 ..< w).allSatisfy({ out[$0] == slash }) else {
                        return .failure(PathRefusal(reason: Refusal.emptySegmentDotDot))
                    }
                    w -= 1
                } else {
                    var k = w - 1
                    while out[k] != slash { k -= 1 }
                    w = k
                }
            } else if isFile, length == 2, ByteClass.isAlpha(out[segmentStart + 1]), out[segmentStart + 2] == UInt8(ascii: ":") {
                return .failure(PathRefusal(reason: Refusal.fileDriveLetter))
            }
        }
        // Collapse repeated `/` and drop a trailing one; an empty path is `/`.
        var kept = 0
        for r in 0 ..< w where !(out[r] == slash && kept > 0 && out[kept - 1] == slash) {
            out[kept] = out[r]
            kept += 1
        }
        if kept > 1 && out[kept - 1] == slash { kept -= 1 }
        if kept == 0 {
            out[0] = slash
            kept = 1
        }
        return .success(kept)
    }

    /// `bytes[start..<end]` as a string with ASCII capitals lower-cased.
    static func lowercasedString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> String {
        String(unsafeUninitializedCapacity: end - start) { out in
            for i in start ..< end { out[i - start] = ByteClass.lowercased(bytes[i]) }
            return end - start
        }
    }

    /// `bytes[range]` as a string (the range lies between ASCII delimiters, so it is valid UTF-8).
    static func substring(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
