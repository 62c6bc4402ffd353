/// A resource after normalisation (SPEC §3.1): a canonical path or name, a URL parsed into its
/// components, or a resource that cannot be placed.
public enum NormalizedResource: Sendable, Hashable {
    /// A path or an opaque name in canonical form (what resource patterns match).
    case path(String)
    /// A URL parsed into its components.
    case url(ResourceURL)
    /// A resource that cannot be placed (a relative path climbing above its start, a URL with
    /// userinfo, an unparseable or ambiguous URL); `reason` is a short lowercase phrase.
    case unplaceable(reason: String)

    /// The text resource patterns match: the canonical path, or the URL's canonical form
    /// without query and fragment; nil when unplaceable.
    public var matchText: String? {
        switch self {
        case .path(let text): text
        case .url(let url): url.canonical
        case .unplaceable: nil
        }
    }
}

/// A URL resource's components after canonicalisation (SPEC §3.1).
public struct ResourceURL: Sendable, Hashable {
    /// The scheme, lower-cased (`https`).
    public var scheme: String
    /// The host, lower-cased, without a trailing dot (`api.example.com`; `[::1]` for IPv6; empty
    /// for `file:` URLs without a host).
    public var host: String
    /// The port when one is given and it is not the scheme's default.
    public var port: Int?
    /// The normalised path, always starting with `/`.
    public var path: String
    /// The text after the first `?` (up to `#`), when the URL has a query.
    public var query: String?
    /// The text after the first `#`, when the URL has a fragment.
    public var fragment: String?

    /// Creates a URL from components that are already canonical.
    public init(scheme: String, host: String, port: Int?, path: String, query: String?, fragment: String?) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.fragment = fragment
    }

    /// `scheme://host[:port]path`: the form URL resource patterns are matched against.
    public var canonical: String {
        var text = scheme + "://" + host
        if let port { text += ":" + String(port) }
        return text + path
    }
}
