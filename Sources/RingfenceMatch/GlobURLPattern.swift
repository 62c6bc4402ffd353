// URL resource patterns (SPEC §3.1): a resource glob of the form `scheme://authority/path` is
// matched component by component against a URL resource's canonical form
// (`scheme://host[:port]/path`, see `ResourceURL`), never as one string, so a `*` cannot swallow
// `evil.com#` into a host.
//
//   url-pattern = scheme "://" host [ ":" port ] [ path ]
//   scheme      a glob without separators, compared lower-cased (`https`, `http{,s}`, `*`)
//   host        a glob over `.`-separated labels like an action (`*.example.com` is one label
//               before `example.com`, `**.example.com` any number, none included), compared
//               lower-cased, a trailing dot dropped; or an IPv6 literal in brackets, matched exactly
//   port        digits (the scheme's default port is dropped, so `:443` on https means no port)
//               or `*` (any port, the default included); absent = the default port only
//   path        a glob over `/` segments matched against the normalised path; absent = `/`
//
// A pattern is a URL pattern when `://` occurs outside every `{…}` and `[…]` with a non-empty
// scheme before it that holds no `/`. The split points (`://`, the first `/` after it, the port's
// `:`) must lie outside braces and classes; a pattern with userinfo (`@`) or a fragment (`#`) is
// refused, since neither is ever matched. `URLGlobPattern.canonical` writes a pattern in the
// canonical form above; the compiler stores that form, so the bundle's resource-prefix index (a
// pattern's literal prefix) is a prefix of every resource it matches.

/// A URL resource pattern split into its parts (the parsed form of SPEC §3.1's URL patterns).
struct URLGlobPattern: Sendable {
    /// The scheme glob, lower-cased.
    var scheme: String
    /// The host: a label glob, lower-cased, or an IPv6 literal.
    var host: Host
    /// The port requirement.
    var port: Port
    /// The path glob (starts with `/`).
    var path: String
    /// Scalar offsets of the host and path texts in the original pattern (for error positions).
    var hostOffset: Int
    var pathOffset: Int

    /// A URL pattern's host.
    enum Host: Sendable, Equatable {
        /// A glob over `.`-separated labels.
        case glob(String)
        /// An IPv6 literal with its brackets, matched exactly.
        case ipv6(String)
    }

    /// A URL pattern's port requirement.
    enum Port: Sendable, Equatable {
        /// No port in the resource (the scheme's default).
        case defaultPort
        /// Exactly this (non-default) port.
        case exact(Int)
        /// Any port, the default included.
        case any
    }

    /// The default port of the schemes that have one (SPEC §3.1 drops it from URLs).
    static func defaultPort(of scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": 80
        case "https", "wss": 443
        case "ftp": 21
        default: nil
        }
    }

    /// The canonical text of a URL pattern, or `pattern` unchanged when it is not one.
    static func canonical(_ pattern: String) throws(GlobSyntaxError) -> String {
        guard let parsed = try parse(pattern) else { return pattern }
        return parsed.text
    }

    /// The pattern written canonically: `scheme://host[:port]path`.
    var text: String {
        var out = scheme + "://"
        switch host {
        case .glob(let g): out += g
        case .ipv6(let literal): out += literal
        }
        switch port {
        case .defaultPort: break
        case .exact(let p): out += ":" + String(p)
        case .any: out += ":*"
        }
        return out + path
    }

    /// Splits `pattern` into URL parts; nil when it is not a URL pattern.
    static func parse(_ pattern: String) throws(GlobSyntaxError) -> URLGlobPattern? {
        let s = Array(pattern.unicodeScalars)
        let top = topLevelPositions(s)
        // `://` at the top level, with a scheme before it.
        guard let colon = top.first(where: { $0 + 2 < s.count && s[$0] == ":" && s[$0 + 1] == "/" && s[$0 + 2] == "/" }),
              colon > 0, top.contains(colon + 1), top.contains(colon + 2),
              !s[..<colon].contains("/") else { return nil }
        let schemeText = String(String.UnicodeScalarView(s[..<colon]))
        for (i, c) in s[..<colon].enumerated() where !(isSchemeScalar(c) || "*?[]{},!^-\\".unicodeScalars.contains(c)) {
            throw GlobSyntaxError(message: "`\(c)` cannot appear in a url scheme", offset: i)
        }
        if let hash = s.firstIndex(of: "#") {
            throw GlobSyntaxError(message: "a url pattern cannot match a fragment (`#…` is never part of a resource match)", offset: hash)
        }
        let authorityStart = colon + 3
        let authorityEnd = top.first(where: { $0 >= authorityStart && s[$0] == "/" }) ?? s.count
        let authority = Array(s[authorityStart..<authorityEnd])
        if let at = authority.firstIndex(of: "@") {
            throw GlobSyntaxError(message: "a url pattern cannot have userinfo (`…@`); resources with userinfo are refused",
                                  offset: authorityStart + at)
        }
        var hostScalars = authority
        var portText: [Unicode.Scalar]?
        var host: Host
        if authority.first == "[", let close = authority.firstIndex(of: "]"),
           authority[1..<close].allSatisfy({ $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." }) {
            hostScalars = Array(authority[...close])
            if close + 1 < authority.count {
                guard authority[close + 1] == ":" else {
                    throw GlobSyntaxError(message: "expected `:` and a port after the ipv6 address", offset: authorityStart + close + 1)
                }
                portText = Array(authority[(close + 2)...])
            }
            // Written the way resources are (RFC 5952 via the resource parser), so `[0:0::1]` matches `[::1]`.
            var literal = Array(String(String.UnicodeScalarView(hostScalars)).utf8)
            let reading = literal.withUnsafeMutableBufferPointer { bytes in
                ResourceURLHost.parseIPv6(UnsafeBufferPointer(bytes), from: 1, to: bytes.count - 1)
            }
            guard case .host(let canonical) = reading else {
                throw GlobSyntaxError(message: "`\(String(decoding: literal, as: UTF8.self))` is not an ipv6 address a resource can have",
                                      offset: authorityStart)
            }
            literal = Array(canonical.utf8)
            host = .ipv6(canonical)
        } else {
            let topInAuthority = top.filter { $0 >= authorityStart && $0 < authorityEnd }
            if let portColon = topInAuthority.last(where: { s[$0] == ":" }) {
                hostScalars = Array(s[authorityStart..<portColon])
                portText = Array(s[(portColon + 1)..<authorityEnd])
            }
            var text = String(String.UnicodeScalarView(hostScalars)).lowercased()
            if text.hasSuffix("."), !text.hasSuffix("\\.") { text.removeLast() }
            if !text.isEmpty, !text.unicodeScalars.contains(where: { "*?[]{}\\".unicodeScalars.contains($0) }) {
                // A literal host must be one a resource can have, or the pattern never matches.
                let reading = Array(text.utf8).withUnsafeBufferPointer {
                    ResourceURLHost.parse($0, from: 0, to: $0.count, isFile: schemeText.lowercased() == "file")
                }
                if case .refused(let reason) = reading {
                    throw GlobSyntaxError(message: "the host `\(text)` can never match a resource: \(reason)", offset: authorityStart)
                }
            }
            host = .glob(text)
        }
        let scheme = schemeText.lowercased()
        if case .glob(let text) = host, text.isEmpty, scheme != "file" {
            throw GlobSyntaxError(message: "a url pattern needs a host", offset: authorityStart)
        }
        var port = Port.defaultPort
        if let portText {
            let portOffset = authorityStart + hostScalars.count + 1
            if portText == ["*"] {
                port = .any
            } else if !portText.isEmpty {
                guard portText.allSatisfy({ $0.properties.numericType == .decimal && $0.isASCII }), portText.count <= 5,
                      let value = Int(String(String.UnicodeScalarView(portText))), value <= 65535 else {
                    throw GlobSyntaxError(message: "a url pattern's port must be a number up to 65535 or `*`", offset: portOffset)
                }
                port = value == defaultPort(of: scheme) ? .defaultPort : .exact(value)
            }
        }
        let path = authorityEnd < s.count ? String(String.UnicodeScalarView(s[authorityEnd...])) : "/"
        return URLGlobPattern(scheme: scheme, host: host, port: port, path: path,
                              hostOffset: authorityStart, pathOffset: authorityEnd)
    }

    /// The scalar positions that lie outside every `{…}`, `[…]` and escape.
    private static func topLevelPositions(_ s: [Unicode.Scalar]) -> [Int] {
        var result: [Int] = []
        var depth = 0
        var i = 0
        while i < s.count {
            switch s[i] {
            case "\\":
                i += 2
                continue
            case "[":
                // Skip the class: `]` right after `[`, `[!` or `[^` is a member.
                var j = i + 1
                if j < s.count, s[j] == "!" || s[j] == "^" { j += 1 }
                if j < s.count, s[j] == "]" { j += 1 }
                while j < s.count, s[j] != "]" { j += s[j] == "\\" ? 2 : 1 }
                i = j + 1
                continue
            case "{": depth += 1
            case "}": depth = max(0, depth - 1)
            default: if depth == 0 { result.append(i) }
            }
            i += 1
        }
        return result
    }

    /// True for a scalar RFC 3986 allows in a scheme.
    private static func isSchemeScalar(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c.properties.isAlphabetic || c.properties.numericType == .decimal || c == "+" || c == "." || c == "-")
    }
}

/// A compiled URL pattern: one matcher per part.
final class URLGlobMatcher: Sendable {
    /// The scheme glob.
    let scheme: Glob
    /// The host: a label glob, or the exact bytes of an IPv6 literal.
    let host: Glob?
    let ipv6: [UInt8]
    /// The port requirement.
    let port: URLGlobPattern.Port
    /// The path glob.
    let path: Glob

    /// Compiles the parts of `pattern`; `starCrossesSeparator` applies to the path only.
    init(_ pattern: URLGlobPattern, starCrossesSeparator: Bool) throws(GlobSyntaxError) {
        scheme = try Glob.compile(pattern.scheme, separator: 0x2F)
        switch pattern.host {
        case .glob(let text):
            if text.isEmpty {
                host = nil
                ipv6 = []
            } else {
                do {
                    host = try Glob.compileParts(text, separator: 0x2E, starCrossesSeparator: false)
                } catch {
                    throw GlobSyntaxError(message: error.message, offset: error.offset + pattern.hostOffset)
                }
                ipv6 = []
            }
        case .ipv6(let literal):
            host = nil
            ipv6 = Array(literal.utf8)
        }
        port = pattern.port
        do {
            path = try Glob.compileParts(pattern.path, separator: 0x2F, starCrossesSeparator: starCrossesSeparator)
        } catch {
            throw GlobSyntaxError(message: error.message, offset: error.offset + pattern.pathOffset)
        }
    }

    /// True when the canonical URL `subject` (`scheme://host[:port]/path`) matches every part.
    func matches(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let parts = URLGlobMatcher.split(subject) else { return false }
        guard scheme.matcher.matches(UnsafeBufferPointer(rebasing: subject[parts.scheme])) else { return false }
        let hostBytes = UnsafeBufferPointer(rebasing: subject[parts.host])
        if let host {
            guard host.matcher.matches(hostBytes) else { return false }
        } else if !ipv6.isEmpty {
            guard hostBytes.elementsEqual(ipv6) else { return false }
        } else if !hostBytes.isEmpty {
            return false
        }
        switch port {
        case .any: break
        case .defaultPort: if parts.port != nil { return false }
        case .exact(let p): if parts.port != p { return false }
        }
        return path.matcher.matches(UnsafeBufferPointer(rebasing: subject[parts.path]))
    }

    /// The parts of a canonical URL: byte ranges of scheme, host and path, and the port; nil
    /// when `subject` is not a URL.
    static func split(_ subject: UnsafeBufferPointer<UInt8>) -> (scheme: Range<Int>, host: Range<Int>, port: Int?, path: Range<Int>)? {
        let n = subject.count
        var i = 0
        while i < n, subject[i] != UInt8(ascii: ":"), subject[i] != UInt8(ascii: "/") { i += 1 }
        guard i > 0, i + 2 < n, subject[i] == UInt8(ascii: ":"), subject[i + 1] == UInt8(ascii: "/"),
              subject[i + 2] == UInt8(ascii: "/") else { return nil }
        let scheme = 0..<i
        let authorityStart = i + 3
        var authorityEnd = authorityStart
        while authorityEnd < n, subject[authorityEnd] != UInt8(ascii: "/") { authorityEnd += 1 }
        var hostEnd = authorityEnd
        var port: Int?
        // The port follows the last `:` after the host (after `]` for an IPv6 literal).
        var c = authorityEnd
        while c > authorityStart, subject[c - 1] != UInt8(ascii: ":"), subject[c - 1] != UInt8(ascii: "]") { c -= 1 }
        if c > authorityStart, subject[c - 1] == UInt8(ascii: ":") {
            var value = 0
            for k in c..<authorityEnd {
                let d = subject[k] &- UInt8(ascii: "0")
                guard d < 10, value < 100_000 else { return nil }
                value = value * 10 + Int(d)
            }
            guard c < authorityEnd else { return nil }
            port = value
            hostEnd = c - 1
        }
        return (scheme, authorityStart..<hostEnd, port, authorityEnd..<n)
    }
}
