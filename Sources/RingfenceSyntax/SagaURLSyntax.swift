/// What a saga file may write as an endpoint (SPEC §10.2): `base_url` is an absolute `http` or
/// `https` URL; `execute_api` and `undo_api` are such a URL or a path starting with `/` (resolved
/// against the base URL when the saga runs).
///
/// ```
/// url       := ("http" | "https") "://" authority path?     scheme case-insensitive
/// authority := host (":" port)?                             no user information; port 1–65535
/// host      := name | "[" ipv6 "]"
/// path      := "/" …                                        no spaces, controls or `#`
/// ```
public enum SagaURLSyntax {
    /// Why `text` is not an absolute http(s) URL, or nil when it is one.
    public static func problem(url text: String) -> String? {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            rest = text.dropFirst(8)
        } else if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") {
            return "the scheme `\(text[..<colon])` is not `http` or `https`"
        } else {
            return "it has no `http://` or `https://` scheme"
        }
        if let problem = characterProblem(text) { return problem }
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        if authority.contains("@") { return "user information (`user@`) is not allowed in a url" }
        var host = Substring(authority)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "the ipv6 host has no closing `]`" }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "unexpected text after the ipv6 host" }
                port = after.dropFirst()
            }
            host = host[...close]
            guard host.count > 2 else { return "the host is empty" }
        } else if let colon = host.lastIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { return "the host is empty" }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let n = Int(port), (1...65_535).contains(n) else {
                return "the port `\(port)` is not a number from 1 to 65535"
            }
        }
        return nil
    }

    /// Why `text` is neither an absolute http(s) URL nor a path starting with `/`, or nil.
    public static func problem(endpoint text: String) -> String? {
        if text.hasPrefix("/") { return characterProblem(text) }
        if text.contains("://") { return problem(url: text) }
        return "it is neither a url nor a path starting with `/`"
    }

    /// Why `text` holds a character a URL may not (a space, a control, a fragment), or nil.
    static func characterProblem(_ text: String) -> String? {
        for scalar in text.unicodeScalars {
            if scalar.value <= 0x20 || scalar.value == 0x7F { return "it holds a space or a control character" }
            if scalar == "#" { return "a fragment (`#`) is not sent to a server" }
        }
        return nil
    }
}

extension Character {
    /// True for `0`–`9`.
    var isASCIIDigit: Bool { isASCII && isNumber }
}
