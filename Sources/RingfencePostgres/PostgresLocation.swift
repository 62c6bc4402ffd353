import RingfenceRuntime

// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?PARAMS]` (also `postgresql://`), read the way libpq
// reads such URLs where the two overlap:
//
//   HOST        a name, an IPv4 address or [IPv6]; empty when `host=` names a socket directory;
//               a percent-encoded absolute path (`%2Fvar%2Frun%2Fpostgresql`) is a socket directory
//   PORT        1–65535, default 5432 (for a socket, it names the file `.s.PGSQL.PORT`)
//   USER, DB    required; percent-decoded
//
//   host=/path          the directory of the server's unix socket (or a host name)
//   port=N              as PORT
//   sslmode=MODE        disable | prefer (the default over TCP) | require | verify-ca | verify-full;
//                       prefer and require encrypt without checking the certificate (as libpq),
//                       verify-ca checks the chain against the system's trust roots, verify-full
//                       the host name too; a unix socket is never encrypted
//   connect_timeout=S   seconds to establish a connection (default 10)
//   timeout=S           seconds any one store call may wait for the database (default 10); also
//                       the server's statement, lock and idle-in-transaction timeouts
//   pool_size=N         connections the store's pool may open (default 10)
//
// Any other parameter is refused, so a misspelt one is not silently ignored.

/// Where a PostgreSQL store lives and how to reach it, read from its URL.
public struct PostgresLocation: Sendable, Hashable {
    /// How the server is reached.
    public enum Endpoint: Sendable, Hashable {
        /// A TCP connection to a host and port.
        case tcp(host: String, port: Int)
        /// The server's unix socket `DIRECTORY/.s.PGSQL.PORT`.
        case socket(directory: String, port: Int)
    }

    /// Whether and how the connection is encrypted (libpq's `sslmode`).
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Never encrypted.
        case disable
        /// Encrypted when the server offers it; the certificate is not checked.
        case prefer
        /// Always encrypted; the certificate is not checked.
        case require
        /// Always encrypted; the certificate chain is checked.
        case verifyCA = "verify-ca"
        /// Always encrypted; the certificate chain and the host name are checked.
        case verifyFull = "verify-full"
    }

    /// The server.
    public var endpoint: Endpoint
    /// The role to log in as.
    public var user: String
    /// The password, when the URL gives one.
    public var password: String?
    /// The database.
    public var database: String
    /// Encryption.
    public var tls: TLSMode
    /// Seconds to establish a connection.
    public var connectTimeout: Int
    /// Seconds a store call may wait for the database.
    public var timeout: Int
    /// The most connections the store opens.
    public var poolSize: Int
    /// The URL for messages: as given, with any password replaced by `***`.
    public var redactedURL: String

    /// The default port.
    public static let defaultPort = 5432
    /// The default `connect_timeout` and `timeout`, in seconds.
    public static let defaultTimeout = 10
    /// The default `pool_size`.
    public static let defaultPoolSize = 10
    /// The query parameters the URL may carry.
    public static let parameters = ["host", "port", "sslmode", "connect_timeout", "timeout", "pool_size"]

    /// The path of the unix socket, for a socket endpoint.
    public var socketPath: String? {
        guard case .socket(let directory, let port) = endpoint else { return nil }
        let base = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        return "\(base)/.s.PGSQL.\(port)"
    }

    /// True for the schemes this store answers to (`postgres://`, `postgresql://`, any case).
    public static func names(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Reads a `postgres://` URL; anything missing, malformed or unknown is a `badURL` error.
    public init(url given: String) throws(StoreError) {
        // Messages show the URL with its password replaced.
        let url = Self.redact(given)
        guard Self.names(given) else { throw StoreError(.badURL, PostgresMessages.notPostgresURL(url)) }
        guard !given.utf8.contains(0) else { throw StoreError(.badURL, PostgresMessages.badURL(url, "it holds a nul character")) }
        guard let scheme = given.range(of: "://") else { throw StoreError(.badURL, PostgresMessages.notPostgresURL(url)) }
        let afterScheme = given[scheme.upperBound...]
        guard !afterScheme.contains("#") else { throw StoreError(.badURL, PostgresMessages.badURL(url, "a fragment (`#…`) means nothing here")) }
        let (beforeQuery, query) = Self.split(afterScheme, at: "?")
        guard let (authority, path) = Self.splitOnce(beforeQuery, at: "/") else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "it names no database: write `postgres://USER@HOST:PORT/DB`"))
        }
        guard let database = Self.decode(path) else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "the database `\(path)` is not percent-encoded text"))
        }
        guard !database.isEmpty else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "it names no database: write `postgres://USER@HOST:PORT/DB`"))
        }
        guard !database.contains("/") || path.contains("%") else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "the database `\(database)` holds a `/`"))
        }
        guard let at = authority.lastIndex(of: "@") else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "it names no user: write `postgres://USER@HOST:PORT/DB`"))
        }
        let userInfo = authority[..<at], hostPort = authority[authority.index(after: at)...]
        let (userPart, passwordPart) = Self.split(userInfo, at: ":")
        guard let user = Self.decode(userPart), !user.isEmpty else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "it names no user: write `postgres://USER@HOST:PORT/DB`"))
        }
        var password: String?
        if let passwordPart {
            guard let decoded = Self.decode(passwordPart) else { throw StoreError(.badURL, PostgresMessages.badURL(url, "its password is not percent-encoded text")) }
            password = decoded
        }

        var host: String?
        var port: Int?
        if !hostPort.isEmpty {
            let (name, portText) = try Self.hostAndPort(hostPort, url: url)
            host = name
            if let portText { port = try Self.port(portText, url: url) }
        }
        var parameters: [String: String] = [:]
        if let query, !query.isEmpty {
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let (rawName, rawValue) = Self.split(pair, at: "=")
                guard let name = Self.decode(rawName), let rawValue, let value = Self.decode(rawValue) else {
                    throw StoreError(.badURL, PostgresMessages.badURL(url, "the parameter `\(pair)` is not `NAME=VALUE`"))
                }
                guard Self.parameters.contains(name) else {
                    throw StoreError(.badURL, PostgresMessages.unknownParameter(url, name, known: Self.parameters))
                }
                guard parameters.updateValue(value, forKey: name) == nil else {
                    throw StoreError(.badURL, PostgresMessages.badURL(url, "the parameter `\(name)` is given twice"))
                }
            }
        }
        if let named = parameters["host"] {
            guard !named.isEmpty else { throw StoreError(.badURL, PostgresMessages.badURL(url, "`host=` is empty")) }
            host = named
        }
        if let text = parameters["port"] { port = try Self.port(Substring(text), url: url) }
        guard let host, !host.isEmpty else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "it names no host: write `postgres://USER@HOST:PORT/DB`, or `host=/DIRECTORY` for a unix socket"))
        }
        let resolvedPort = port ?? Self.defaultPort
        if host.hasPrefix("/") {
            endpoint = .socket(directory: host, port: resolvedPort)
        } else {
            endpoint = .tcp(host: host, port: resolvedPort)
        }
        switch endpoint {
        case .socket:
            let mode = parameters["sslmode"] ?? "disable"
            guard mode == "disable" || mode == "prefer" else {
                throw StoreError(.badURL, PostgresMessages.badURL(url, "`sslmode=\(mode)` cannot hold over a unix socket, which is never encrypted"))
            }
            tls = .disable
        case .tcp:
            let mode = parameters["sslmode"] ?? TLSMode.prefer.rawValue
            guard let parsed = TLSMode(rawValue: mode) else {
                throw StoreError(.badURL, PostgresMessages.badURL(url, "`sslmode=\(mode)` is not one of \(TLSMode.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "))"))
            }
            tls = parsed
        }
        self.user = user
        self.password = password
        self.database = database
        connectTimeout = try Self.count(parameters["connect_timeout"], name: "connect_timeout", range: 1...3600, default: Self.defaultTimeout, url: url)
        timeout = try Self.count(parameters["timeout"], name: "timeout", range: 1...86_400, default: Self.defaultTimeout, url: url)
        poolSize = try Self.count(parameters["pool_size"], name: "pool_size", range: 1...1000, default: Self.defaultPoolSize, url: url)
        redactedURL = url
        if let path = socketPath, path.utf8.count > 107 {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "the socket path `\(path)` is longer than the 107 bytes a unix socket address holds"))
        }
    }

    // MARK: Pieces

    /// Splits at the first `separator`: the part before and, when present, the part after.
    static func split(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }

    /// Splits at the first `separator`, or nil when there is none.
    static func splitOnce(_ text: Substring, at separator: Character) -> (Substring, Substring)? {
        guard let index = text.firstIndex(of: separator) else { return nil }
        return (text[..<index], text[text.index(after: index)...])
    }

    /// The host and the port text of `HOST[:PORT]` or `[IPV6][:PORT]`.
    static func hostAndPort(_ text: Substring, url: String) throws(StoreError) -> (String, Substring?) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw StoreError(.badURL, PostgresMessages.badURL(url, "the IPv6 address has no closing `]`"))
            }
            let address = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard !address.isEmpty else { throw StoreError(.badURL, PostgresMessages.badURL(url, "the IPv6 address is empty")) }
            if rest.isEmpty { return (address, nil) }
            guard rest.hasPrefix(":") else {
                throw StoreError(.badURL, PostgresMessages.badURL(url, "`\(rest)` follows the IPv6 address"))
            }
            return (address, rest.dropFirst())
        }
        let (name, port) = split(text, at: ":")
        guard let decoded = decode(name) else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "the host `\(name)` is not percent-encoded text"))
        }
        return (decoded, port)
    }

    /// A port number, 1–65535.
    static func port(_ text: Substring, url: String) throws(StoreError) -> Int {
        guard let port = Int(text), (1...65_535).contains(port), text.allSatisfy(\.isASCII) else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "the port `\(text)` is not a number from 1 to 65535"))
        }
        return port
    }

    /// A whole number parameter within `range`, or `fallback` when absent.
    static func count(_ text: String?, name: String, range: ClosedRange<Int>, default fallback: Int, url: String) throws(StoreError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), range.contains(value), text.allSatisfy(\.isASCII) else {
            throw StoreError(.badURL, PostgresMessages.badURL(url, "`\(name)=\(text)` is not a whole number from \(range.lowerBound) to \(range.upperBound)"))
        }
        return value
    }

    /// Percent-decodes `text` (`+` stays a plus); nil when an escape is malformed or the bytes are not UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self), !decoded.utf8.contains(0) else { return nil }
        return decoded
    }

    /// The value of one hex digit.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `url` with the password of its user part, if any, replaced by `***`.
    static func redact(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
        return String(url[...colon]) + "***" + String(url[at...])
    }
}
