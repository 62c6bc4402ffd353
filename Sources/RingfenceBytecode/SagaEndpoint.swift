/// An absolute `http` or `https` URL a saga step is sent to (SPEC §10.2), and how a step's
/// `execute_api` or `undo_api` resolves against a base URL.
///
/// ```
/// url       := ("http" | "https") "://" authority path?     scheme case-insensitive, kept lowercase
/// authority := host (":" port)?                             no user information; port 1–65535
/// path      := "/" …                                        no spaces, controls or `#`; may hold `?query`
/// ```
/// Resolution joins paths: base `http://h/api` and endpoint `/orders` give `http://h/api/orders`
/// (one `/` between them), as OpenAPI's server URLs do — not RFC 3986's reference resolution,
/// under which `/orders` would drop the base's `/api`. An endpoint that is a URL stands alone.
public struct SagaEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public var scheme: String
    /// The authority as written (`host` or `host:port`, IPv6 hosts in brackets).
    public var authority: String
    /// The path and query, starting with `/` (just `/` when the URL has none).
    public var path: String

    /// Parses an absolute http(s) URL; nil when `text` is not one.
    public init?(_ text: String) {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            scheme = "http"
            rest = text.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            scheme = "https"
            rest = text.dropFirst(8)
        } else {
            return nil
        }
        guard Self.plain(text) else { return nil }
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard !authority.isEmpty, !authority.contains("@"), Self.validAuthority(authority) else { return nil }
        self.authority = String(authority)
        let tail = rest.dropFirst(authority.count)
        path = tail.isEmpty ? "/" : (tail.hasPrefix("?") ? "/" + tail : String(tail))
    }

    /// The URL as text.
    public var description: String { "\(scheme)://\(authority)\(path)" }

    /// Where `endpoint` (a URL, or a path starting with `/`) goes with `base`; nil when the
    /// endpoint is malformed, or a path with no base to resolve it against.
    public static func resolve(_ endpoint: String, base: SagaEndpoint?) -> SagaEndpoint? {
        if endpoint.hasPrefix("/") {
            guard var base, plain(endpoint) else { return nil }
            let prefix = base.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            base.path = (prefix.hasSuffix("/") ? String(prefix.dropLast()) : String(prefix)) + endpoint
            return base
        }
        return SagaEndpoint(endpoint)
    }

    /// True when `text` holds no space, control character or `#`.
    static func plain(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "#") }
    }

    /// True for `host`, `host:port` or `[v6]:port` with a port from 1 to 65535.
    static func validAuthority(_ authority: Substring) -> Bool {
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
            host = authority[...close]
            guard host.count > 2 else { return false }
        } else if let colon = authority.lastIndex(of: ":") {
            port = authority[authority.index(after: colon)...]
            host = authority[..<colon]
        }
        guard !host.isEmpty else { return false }
        if let port {
            guard (1...5).contains(port.count), port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(port), (1...65_535).contains(n) else {
                return false
            }
        }
        return true
    }
}
