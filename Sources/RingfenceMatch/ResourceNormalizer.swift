// Resource normalisation (SPEC §3.1), applied once to a request's resource before any resource
// glob or `when` reads it. The result is canonical — normalising it again gives it back — and
// whatever two reasonable readers could place differently is refused (`.unplaceable`). A refused
// resource makes every rule that matches on the resource an error (a deny rule denies, an allow
// rule does not apply), so refusing is always safe, while accepting a wrong reading would let a
// request walk around a rule. "Reasonable readers" are RFC 3986 (Python's `urlsplit`, curl, most
// servers) and the WHATWG URL standard (browsers, Node); `URLDifferentialTests` checks every
// accepted URL against both.
//
// Paths and names — any resource that is not a URL (U1):
// P0. A resource that a WHATWG parser would read as a URL with a host is refused: one that starts,
//     after leading C0 controls and spaces and with tabs and newlines removed, with `http:`,
//     `https:`, `ws:`, `wss:`, `ftp:` or `file:` (any case), or with any `scheme://`
//     (` https://evil.com`, `ht\ttps://evil.com`, `https:evil.com`, `https:\\evil.com` are all
//     `https://evil.com/` to a browser). Taken as paths they would dodge every URL rule.
// P1. A resource containing NUL is refused.
// P2. A resource without `/` is an opaque name, kept as written (`sales_db`, `users:42`, `..`).
// P3. A path: repeated `/` collapse, `.` segments drop, `..` removes the segment before it (so
//     `/a//../b` is `/b`, as POSIX resolves it), and at the root of an absolute path `..` stays at
//     the root (POSIX; RFC 3986 `remove_dot_segments`).
//     A relative path that climbs above its start is refused. A trailing `/` drops, except for `/`
//     itself; a relative path that resolves to nothing is `.`. No percent-decoding: `%2e` is a
//     file name, not a dot segment.
//
// URLs:
// U1. A resource is a URL when it starts with `[A-Za-z][A-Za-z0-9+.-]*://`.
// U2. Refused anywhere in a URL: a C0 control, space or DEL (WHATWG parsers silently strip tab and
//     newline, so `/ad\nmin` is `/admin` to them). Refused before the query and fragment: `\`
//     (WHATWG reads it as `/` for http-like schemes, RFC 3986 as data) and non-ASCII text (WHATWG
//     maps a host through IDNA and percent-encodes a path). The query and fragment may hold
//     non-ASCII text.
// U3. Split: the scheme (lower-cased); the authority, up to the first `/`, `?` or `#`; the path, up
//     to the first `?` or `#`; the query, after the first `?` up to the first `#`; the fragment,
//     after the first `#`. Query and fragment are kept verbatim: never normalised, never matched.
// U4. Authority: userinfo (any `@`) is refused. An empty port (`host:`) is no port.
// U5. Host name: lower-cased; one trailing dot dropped; allowed characters `a-z 0-9 . - _` only
//     (`%`, `[`, `:` and the rest are refused — WHATWG percent-decodes a host, RFC 3986 does not);
//     an empty label (`a..b`, `.a`, `a..`) is refused; an empty host is refused except for `file:`.
//     A label starting with `xn--` is refused: whether an A-label is valid depends on the IDNA
//     tables of the reader (WHATWG refuses invalid ones, RFC 3986 readers take any), so its
//     reading is not the same everywhere. This is the one refusal here that costs real URLs
//     (internationalised domain names); accepting them would take a full UTS 46 validator.
// U6. IPv4: when the last label is numeric in WHATWG's sense (decimal digits, or `0x`/`0X` and
//     hex digits, none included), the host must be a canonical dotted quad (four decimal parts
//     0–255 without leading zeros); otherwise it is refused: `0x7f.1`, `127.1`, `0177.0.0.1` and
//     `2130706433` are 127.0.0.1 to a browser and a name to RFC 3986.
// U7. IPv6 in brackets (`[…]`, followed by nothing or `:port`): written the way WHATWG serialises
//     it and RFC 5952 recommends — lower-case hex, no leading zeros, the first longest run of two
//     or more zero groups as `::` — so `[0:0::1]` is `[::1]`. An embedded IPv4 tail (canonical
//     dotted quad, as both readers demand) becomes two hex groups, as WHATWG writes it
//     (`[::ffff:1.2.3.4]` is `[::ffff:102:304]`). Zone ids (`%25`) and IPvFuture (`[v1.x]`) are
//     refused.
// U8. Port: ASCII digits only, at most 65535, leading zeros allowed (`0443` is 443); the scheme's
//     default port is dropped (http 80, https 443, ws 80, wss 443, ftp 21).
// U9. `file:`: an empty host or `localhost` is the empty host (`file:///etc/passwd`). Refused: any
//     `:` in the authority (a port, or a drive letter `file://C:/`, which WHATWG reads as a path),
//     a host ending in a dot (`localhost.` is a remote host to WHATWG), and a path segment that is
//     a drive letter (`C:`), since WHATWG keeps `..` from climbing over it and moves a host away
//     before it.
// U10. Path: only RFC 3986 path characters (unreserved, sub-delims, `:`, `@`, `/`, `%HH`); a `%`
//     not followed by two hex digits is refused, and so is `%00` (a server decoding the path in C
//     would stop there, as P1 refuses a NUL in a path). Escapes of unreserved characters are
//     decoded (`%2e%2e` is `..`, `%41` is `A`); every other escape is kept with its hex upper-cased
//     (`%2f` is `%2F`, never a separator). Then dot segments are removed as RFC 3986 and WHATWG do
//     (at the root `..` stays at the root), repeated `/` collapse, a trailing `/` drops (not the
//     root's) and an empty path is `/`.
// U11. A `..` that would remove an empty segment (`/a//../b`) is refused: RFC 3986 and WHATWG read
//     `/a/b` (the `..` removes the empty segment), while servers that merge slashes first (nginx's
//     default) and POSIX read `/b`. Removing dot segments before collapsing is thereby the same as
//     collapsing first, for every URL that is accepted.
// U12. Canonical text: `scheme://host[:port]path` (`ResourceURL.canonical`); that text followed by
//     `?query` and `#fragment` normalises to the same components again.
//
// Speed: the resource's UTF-8 bytes are read in place, never copied into an array. A URL's bytes
// are scanned once to find the component boundaries, then each component is checked and written
// in one pass straight into its own string's storage (no intermediate buffer, no segment stack:
// `..` finds the segment to drop by the last `/` written). Common schemes are string literals,
// and a component of up to 15 bytes is a small string, so a typical URL allocates nothing. A path
// already in canonical form (the common case) is checked in one pass and returned as the
// caller's own string.

/// Canonicalises paths and URLs so that resource globs cannot be dodged with `.`, `..`, `//`, case,
/// default ports or parser differences.
public enum ResourceNormalizer {
    /// Normalises `resource` by the rules at the top of this file.
    public static func normalize(_ resource: String) -> NormalizedResource {
        var text = resource
        return text.withUTF8 { bytes in
            let schemeEnd = schemeScanEnd(bytes)
            if schemeEnd > 0, bytes.count - schemeEnd >= 3, bytes[schemeEnd] == UInt8(ascii: ":"),
               bytes[schemeEnd + 1] == UInt8(ascii: "/"), bytes[schemeEnd + 2] == UInt8(ascii: "/") {
                return ResourceURLParser.parse(bytes, schemeEnd: schemeEnd)
            }
            if isDisguisedURL(bytes, schemeEnd: schemeEnd) { return .unplaceable(reason: Refusal.disguisedURL) }
            return normalizePath(bytes, original: resource)
        }
    }

    /// The end of the run of scheme bytes (`[A-Za-z][A-Za-z0-9+.-]*`) that `bytes` starts with; 0
    /// when it does not start with a letter. A URL (U1) has `://` there.
    static func schemeScanEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let first = bytes.first, ByteClass.isAlpha(first) else { return 0 }
        var i = 1
        while i < bytes.count, ByteClass.isSchemeByte(bytes[i]) { i += 1 }
        return i
    }

    /// The canonical form of a path or name (P1–P3); `original` is returned unchanged when it is
    /// already canonical, so the common case allocates nothing.
    static func normalizePath(_ bytes: UnsafeBufferPointer<UInt8>, original: String) -> NormalizedResource {
        switch pathShape(bytes) {
        case .containsNul: return .unplaceable(reason: Refusal.nul)
        case .canonical: return .path(original)
        case .needsWork: break
        }
        var climbs = false
        let text = String(unsafeUninitializedCapacity: bytes.count + 1) { out in
            guard let length = appendNormalizedPath(bytes, into: out) else {
                climbs = true
                return 0
            }
            return length
        }
        if climbs { return .unplaceable(reason: Refusal.climbsAboveRoot) }
        // Normalising can expose a URL (`./https://evil.com` → `https:/evil.com`, which a browser
        // reads as https://evil.com/): the result must be a normal form too, so refuse it (P0).
        var result = text
        let disguised = result.withUTF8 { out in isDisguisedURL(out, schemeEnd: schemeScanEnd(out)) }
        return disguised ? .unplaceable(reason: Refusal.disguisedURL) : .path(text)
    }

    /// P0 for `bytes`, whose leading scheme-like run ends at `schemeEnd`: the full check runs only
    /// when the resource starts with a control or space, or that run stops at `:`, a tab or a
    /// newline (WHATWG drops tabs and newlines, so `h\r:` is the scheme `h`).
    @inline(__always) static func isDisguisedURL(_ bytes: UnsafeBufferPointer<UInt8>, schemeEnd: Int) -> Bool {
        guard let first = bytes.first else { return false }
        let mayBeURL = first <= 0x20
            || (schemeEnd > 0 && schemeEnd < bytes.count
                && (bytes[schemeEnd] == UInt8(ascii: ":") || ByteClass.isTabOrNewline(bytes[schemeEnd])))
        return mayBeURL && readsAsURLToBrowsers(bytes)
    }

    /// True when a WHATWG parser reads `bytes`, which U1 does not take as a URL, as a URL that
    /// has a host (P0).
    static func readsAsURLToBrowsers(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < bytes.count, bytes[i] <= 0x20 { i += 1 }  // leading C0 controls and spaces are stripped
        guard i < bytes.count, ByteClass.isAlpha(bytes[i]) else { return false }
        var scheme: UInt64 = 0  // the scheme's first eight bytes, lower-cased, packed
        var length = 0
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            if ByteClass.isTabOrNewline(byte) { continue }  // removed anywhere
            if byte == UInt8(ascii: ":") {
                if isSpecialScheme(scheme, length: length) { return true }
                var slashes = 0
                while i < bytes.count, slashes < 2 {
                    if bytes[i] == UInt8(ascii: "/") {
                        slashes += 1
                    } else if !ByteClass.isTabOrNewline(bytes[i]) {
                        break
                    }
                    i += 1
                }
                return slashes == 2
            }
            guard ByteClass.isSchemeByte(byte) else { return false }
            if length < 8 { scheme = scheme << 8 | UInt64(ByteClass.lowercased(byte)) }
            length += 1
        }
        return false
    }

    /// The scheme bytes `bytes[start..<end]` lower-cased and packed into an integer, first byte
    /// highest; nil when there are more than eight. Scheme bytes are never 0, so the value also
    /// fixes the length.
    @inline(__always) static func packedScheme(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> UInt64? {
        guard end - start <= 8 else { return nil }
        var packed: UInt64 = 0
        for i in start ..< end { packed = packed << 8 | UInt64(ByteClass.lowercased(bytes[i])) }
        return packed
    }

    /// True when the packed lower-case scheme of `length` bytes is one WHATWG treats as special.
    static func isSpecialScheme(_ scheme: UInt64, length: Int) -> Bool {
        guard length <= 5 else { return false }
        switch scheme {
        case PackedScheme.http, PackedScheme.https, PackedScheme.ws, PackedScheme.wss, PackedScheme.ftp, PackedScheme.file: return true
        default: return false
        }
    }

    /// What a scan of a path or name found.
    enum PathShape {
        /// It holds a NUL byte (P1).
        case containsNul
        /// It is a name without `/`, or a path already in canonical form.
        case canonical
        /// It has an empty, `.` or `..` segment, or a trailing `/`.
        case needsWork
    }

    /// Scans `bytes` once: NUL, already canonical, or in need of normalising.
    static func pathShape(_ bytes: UnsafeBufferPointer<UInt8>) -> PathShape {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var sawSlash = false
        var needsWork = false
        var segmentStart = 0
        var i = 0
        while i <= bytes.count {
            let byte = i < bytes.count ? bytes[i] : slash
            if byte == 0 { return .containsNul }
            if byte == slash {
                if i < bytes.count { sawSlash = true }
                let length = i - segmentStart
                let isDot = length == 1 && bytes[segmentStart] == dot
                let isDotDot = length == 2 && bytes[segmentStart] == dot && bytes[segmentStart + 1] == dot
                // An empty segment is allowed only as the leading `/` of an absolute path, or as
                // the whole of `/`; `.` and `..` never.
                if isDot || isDotDot || (length == 0 && segmentStart != 0) { needsWork = true }
                segmentStart = i + 1
            }
            i += 1
        }
        if !sawSlash { return .canonical }
        if bytes.count == 1 { return .canonical }  // `/`
        return needsWork ? .needsWork : .canonical
    }

    /// Writes the normal form of the path `bytes` into `out` (P3) and returns its length; nil when
    /// a relative path climbs above its start. `out` holds at least `bytes.count + 1` bytes: the
    /// result is never longer than the input, except that nothing becomes `/` or `.`.
    static func appendNormalizedPath(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let absolute = bytes.first == slash
        var w = 0  // output length; kept segments are written `seg/seg/seg` or `/seg/seg`
        var i = 0
        while i < bytes.count {
            var end = i
            while end < bytes.count, bytes[end] != slash { end += 1 }
            let length = end - i
            if length == 0 || (length == 1 && bytes[i] == dot) {
                // empty (from `//`, or the leading or trailing `/`) or `.`: dropped
            } else if length == 2 && bytes[i] == dot && bytes[i + 1] == dot {
                if w == 0 {
                    if !absolute { return nil }  // a relative path cannot climb above its start
                    // at the root of an absolute path, `..` stays at the root
                } else {
                    var k = w - 1
                    while k > 0, out[k] != slash { k -= 1 }
                    w = k  // for a relative path's first segment, k reaches 0: nothing is left
                }
            } else {
                if absolute || w > 0 {
                    out[w] = slash
                    w += 1
                }
                for j in i ..< end {
                    out[w] = bytes[j]
                    w += 1
                }
            }
            i = end + 1
        }
        if w == 0 {
            out[0] = absolute ? slash : dot
            w = 1
        }
        return w
    }
}

/// A set of ASCII bytes as two 64-bit masks: a membership test is one shift, not a chain of
/// compares.
struct ASCIISet {
    /// Bit `b` set for each byte `b` below 64.
    var low: UInt64
    /// Bit `b - 64` set for each byte `b` from 64 to 127.
    var high: UInt64

    /// True when `byte` is in the set (never for a byte of 128 or above).
    @inline(__always) func contains(_ byte: UInt8) -> Bool {
        byte < 64 ? (low >> UInt64(byte)) & 1 != 0 : byte < 128 && (high >> UInt64(byte & 63)) & 1 != 0
    }
}

/// Common schemes packed as `ResourceNormalizer.packedScheme` packs them.
enum PackedScheme {
    /// `http`.
    static let http: UInt64 = 0x6874_7470
    /// `https`.
    static let https: UInt64 = 0x68_7474_7073
    /// `ws`.
    static let ws: UInt64 = 0x7773
    /// `wss`.
    static let wss: UInt64 = 0x77_7373
    /// `ftp`.
    static let ftp: UInt64 = 0x66_7470
    /// `file`.
    static let file: UInt64 = 0x6669_6C65
}

/// The reasons a resource cannot be placed: short lowercase phrases, as SPEC §3.1's errors show them.
enum Refusal {
    /// P0: a resource a browser reads as a URL, not written `scheme://`.
    static let disguisedURL = "the resource reads as a url but is not written `scheme://host`"
    /// P1: a NUL byte in a path or name.
    static let nul = "the path contains a nul byte"
    /// P3: a relative path climbing above its start.
    static let climbsAboveRoot = "the path climbs above its root"
    /// U2: a C0 control, space or DEL anywhere in a URL.
    static let controlOrSpace = "the url contains a control character or space"
    /// U2: a `\` before the query.
    static let backslash = "the url has a backslash before its query"
    /// U2: non-ASCII text before the query.
    static let nonASCII = "the url has non-ascii text before its query"
    /// U4: an `@` in the authority.
    static let userinfo = "the url has userinfo"
    /// U5, U7: a host byte outside `a-z 0-9 . - _`, a zone id, IPvFuture, or text after `]`.
    static let hostNotPlain = "the url's host is not a plain name or address"
    /// U5: an empty host outside `file:`.
    static let emptyHost = "the url's host is empty"
    /// U5: an empty label in the host.
    static let emptyLabel = "the url's host has an empty label"
    /// U5: an `xn--` label in the host.
    static let idnaLabel = "the url's host has an `xn--` label"
    /// U6: a numeric last label in a host that is not a canonical dotted quad.
    static let ambiguousIPv4 = "the url's host is an ipv4 address not written as a dotted quad"
    /// U7: brackets that hold no IPv6 address.
    static let invalidIPv6 = "the url's ipv6 address is invalid"
    /// U8: a port that is not digits up to 65535.
    static let invalidPort = "the url's port is invalid"
    /// U9: a `:` in a `file:` URL's authority.
    static let filePort = "the file url has a port or a drive letter in its authority"
    /// U9: a `file:` URL's host ending in a dot.
    static let fileHostDot = "the file url's host ends with a dot"
    /// U9: a drive letter as a segment of a `file:` URL's path.
    static let fileDriveLetter = "the file url's path names a drive letter"
    /// U10: `%00` in the path.
    static let escapedNul = "the url's path has an escaped nul byte"
    /// U10: a byte outside RFC 3986's path characters.
    static let pathCharacter = "the url's path has a character outside rfc 3986"
    /// U10: a `%` not followed by two hex digits.
    static let percentEscape = "the url's path has an invalid percent escape"
    /// U11: a `..` that would remove an empty segment.
    static let emptySegmentDotDot = "the url's path has `..` after an empty segment"
}

/// ASCII byte classes shared by the path and URL readers.
enum ByteClass {
    /// True for an ASCII letter.
    @inline(__always) static func isAlpha(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    /// True for an ASCII digit.
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// True for a byte that may follow a scheme's first letter (`A-Za-z0-9+.-`).
    @inline(__always) static func isSchemeByte(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    /// True for a tab, line feed or carriage return (what WHATWG parsers remove from a URL).
    @inline(__always) static func isTabOrNewline(_ byte: UInt8) -> Bool {
        byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// True for a C0 control, space or DEL (U2).
    @inline(__always) static func isControlOrSpace(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F
    }

    /// RFC 3986 unreserved characters: `A-Za-z0-9-._~`.
    @inline(__always) static var unreserved: ASCIISet { ASCIISet(low: 0x03FF_6000_0000_0000, high: 0x47FF_FFFE_87FF_FFFE) }

    /// The bytes an RFC 3986 path may hold as written, besides `/` and `%`: unreserved, sub-delims
    /// (`!$&'()*+,;=`), `:` and `@`.
    @inline(__always) static var pathBytes: ASCIISet { ASCIISet(low: 0x2FFF_7FD2_0000_0000, high: 0x47FF_FFFE_87FF_FFFF) }

    /// The bytes a host name may hold (U5): `A-Za-z0-9-._`.
    @inline(__always) static var hostBytes: ASCIISet { ASCIISet(low: 0x03FF_6000_0000_0000, high: 0x07FF_FFFE_87FF_FFFE) }

    /// True for an RFC 3986 unreserved character.
    @inline(__always) static func isUnreserved(_ byte: UInt8) -> Bool { unreserved.contains(byte) }

    /// The value of an ASCII hex digit, or nil.
    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt8? {
        if isDigit(byte) { return byte - UInt8(ascii: "0") }
        let lower = byte | 0x20
        if lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f") { return lower - UInt8(ascii: "a") + 10 }
        return nil
    }

    /// The upper-case ASCII hex digit for `value` (0–15).
    @inline(__always) static func upperHexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }

    /// The lower-case ASCII hex digit for `value` (0–15).
    @inline(__always) static func lowerHexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// `byte` with an ASCII capital letter lower-cased.
    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }
}
