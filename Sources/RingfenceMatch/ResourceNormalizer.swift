// Resource normalisation, applied to a request's resource before any resource glob sees it.
//
// Rules:
// 1. A URL is `scheme://authority…` with scheme `[A-Za-z][A-Za-z0-9+.-]*`. Its scheme and
//    authority are kept exactly as written (no case folding, no port handling). Its path runs
//    from the first `/` after the authority up to the first `?` or `#`; the query and fragment
//    are kept verbatim after the normalised path. An empty path stays empty (`https://x.com`).
//    Before dot-segment removal, percent-encoded unreserved characters (ALPHA DIGIT `-` `.` `_`
//    `~`, hex digits in either case) in the path are decoded, so `%2e%2e` is `..` and `%41` is
//    `A`; every other escape (`%2F`, `%20`, …) is kept as written.
// 2. Anything else that contains a `/` is a path (no percent-decoding: `%2e` is a file name).
// 3. A path or URL path is normalised: repeated `/` collapse to one, `.` segments are dropped,
//    `..` removes the previous segment; a `..` with nothing left to remove — above the root of an
//    absolute path or above the start of a relative one — makes the resource `climbsAboveRoot`,
//    which matches no resource pattern. A trailing `/` is dropped, except for the root `/` itself.
//    A relative path that resolves to nothing becomes `.`.
// 4. A resource without any `/` (`sales_db`, `users:42`) is returned unchanged.

/// Canonicalises paths and URLs so that resource globs cannot be dodged with `.`, `..` or `//`.
public enum ResourceNormalizer {
    /// Normalises `resource` by the rules at the top of this file.
    public static func normalize(_ resource: String) -> NormalizedResource {
        let utf8 = Array(resource.utf8)
        guard utf8.contains(UInt8(ascii: "/")) else { return .path(resource) }
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        if let authorityEnd = urlAuthorityEnd(utf8) {
            output.append(contentsOf: utf8[..<authorityEnd])
            var pathEnd = authorityEnd
            while pathEnd < utf8.count, utf8[pathEnd] != UInt8(ascii: "?"), utf8[pathEnd] != UInt8(ascii: "#") {
                pathEnd += 1
            }
            if pathEnd > authorityEnd {
                let path = decodeUnreserved(utf8[authorityEnd ..< pathEnd])
                guard appendNormalizedPath(path[...], to: &output) else { return .unplaceable(reason: "the path climbs above its root") }
            }
            output.append(contentsOf: utf8[pathEnd...])
        } else {
            guard appendNormalizedPath(utf8[...], to: &output) else { return .unplaceable(reason: "the path climbs above its root") }
        }
        if output == utf8 { return .path(resource) }
        return .path(String(decoding: output, as: UTF8.self))
    }

    /// The index just past the authority when `bytes` is `scheme://authority…`, else nil.
    static func urlAuthorityEnd(_ bytes: [UInt8]) -> Int? {
        guard let first = bytes.first, isAlpha(first) else { return nil }
        var i = 1
        while i < bytes.count, isAlpha(bytes[i]) || isDigit(bytes[i])
            || bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: ".") {
            i += 1
        }
        guard bytes.count - i >= 3, bytes[i] == UInt8(ascii: ":"),
              bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/") else { return nil }
        i += 3
        while i < bytes.count, bytes[i] != UInt8(ascii: "/"), bytes[i] != UInt8(ascii: "?"), bytes[i] != UInt8(ascii: "#") {
            i += 1
        }
        return i
    }

    /// Decodes `%XX` escapes of unreserved characters, keeping every other byte as written.
    static func decodeUnreserved(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "%"), bytes.endIndex - i >= 3,
               let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                let decoded = high << 4 | low
                if isAlpha(decoded) || isDigit(decoded) || decoded == UInt8(ascii: "-") || decoded == UInt8(ascii: ".")
                    || decoded == UInt8(ascii: "_") || decoded == UInt8(ascii: "~") {
                    result.append(decoded)
                    i += 3
                    continue
                }
            }
            result.append(bytes[i])
            i += 1
        }
        return result
    }

    /// Appends the normalised form of `path` to `output`; false when a `..` climbs above the root.
    static func appendNormalizedPath(_ path: ArraySlice<UInt8>, to output: inout [UInt8]) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let absolute = path.first == slash
        let base = output.count
        var segmentStarts: [Int] = []  // output index where each kept segment (with its leading `/`) begins
        var i = path.startIndex
        while i < path.endIndex {
            var end = i
            while end < path.endIndex, path[end] != slash { end += 1 }
            let length = end - i
            if length == 0 || (length == 1 && path[i] == dot) {
                // empty (from `//` or the leading/trailing `/`) or `.`: dropped
            } else if length == 2 && path[i] == dot && path[i + 1] == dot {
                if let start = segmentStarts.popLast() {
                    output.removeSubrange(start...)
                } else if !absolute {
                    return false  // a relative path cannot climb above its start
                }  // at the root of an absolute path, `..` stays at the root (POSIX, RFC 3986)
            } else {
                segmentStarts.append(output.count)
                if absolute || output.count > base { output.append(slash) }
                output.append(contentsOf: path[i ..< end])
            }
            i = end + 1
        }
        if output.count == base { output.append(absolute ? slash : dot) }
        return true
    }

    /// True for an ASCII letter.
    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    /// True for an ASCII digit.
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The value of an ASCII hex digit, or nil.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        if isDigit(byte) { return byte - UInt8(ascii: "0") }
        let lower = byte | 0x20
        if lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f") { return lower - UInt8(ascii: "a") + 10 }
        return nil
    }
}
