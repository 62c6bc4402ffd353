/// How `ringfence serve` listens and whom it answers (SPEC §14.1).
public struct ServerConfiguration: Sendable {
    /// The address to listen on (default loopback).
    public var host = "127.0.0.1"
    /// The port (default 8787; 0 picks a free one).
    public var port = 8787
    /// Bearer tokens accepted; empty means no authentication.
    public var tokens: [String] = []
    /// Allows a non-loopback address without tokens.
    public var insecure = false
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes = 1 << 20
    /// How long a request may take to arrive, from its first byte to its last (ms).
    public var requestTimeout: Int64 = 10_000
    /// How long an idle keep-alive connection is kept (ms).
    public var idleTimeout: Int64 = 60_000
    /// How long `SIGTERM` waits for in-flight requests before closing connections (ms).
    public var drainTimeout: Int64 = 30_000
    /// Event-loop threads (default: one per core).
    public var threads = 0
    /// The most operations one `/v1/batch` or evaluations one `/access/v1/evaluations` may hold.
    public var maxBatchItems = 10_000

    /// The default configuration.
    public init() {}

    /// The default `--listen`.
    public static let defaultListen = "127.0.0.1:8787"

    /// Reads `HOST:PORT` (`[v6]:PORT` for IPv6) into host and port.
    public static func parseListen(_ text: String) throws(ServerSetupError) -> (host: String, port: Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ServerSetupError(ServerMessages.badListen(text))
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw ServerSetupError(ServerMessages.badListen(text))
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65_535).contains(port) else {
            throw ServerSetupError(ServerMessages.badListen(text))
        }
        return (String(host), port)
    }

    /// True when `host` is a loopback address or `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        let parts = lowered.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Refuses a non-loopback address without tokens, unless `insecure`.
    public func validate() throws(ServerSetupError) {
        if !Self.isLoopback(host), tokens.isEmpty, !insecure {
            throw ServerSetupError(ServerMessages.exposedWithoutTokens(host))
        }
        guard maxBodyBytes > 0 else { throw ServerSetupError("the body limit must be at least 1 byte") }
    }

    /// The tokens in a token file: one a line, surrounding blanks trimmed; blank lines and lines
    /// starting with `#` are skipped.
    public static func tokens(fromFile text: String) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).compactMap { line in
            let trimmed = line.trimmingCharacters(in: " \t\r")
            return trimmed.isEmpty || trimmed.hasPrefix("#") ? nil : trimmed
        }
    }
}

/// The server could not be set up: a lowercase line for stderr.
public struct ServerSetupError: Error, Sendable, CustomStringConvertible {
    /// The message.
    public var message: String

    /// An error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension Substring {
    /// The text without leading and trailing characters in `set`.
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// The server's own messages (lowercase, user input in backticks).
enum ServerMessages {
    /// A `--listen` that is not `HOST:PORT`.
    static func badListen(_ text: String) -> String {
        "`\(text)` is not an address to listen on; expected HOST:PORT such as `\(ServerConfiguration.defaultListen)` or `[::1]:8787`"
    }

    /// A public address without authentication.
    static func exposedWithoutTokens(_ host: String) -> String {
        "refusing to listen on `\(host)`, which is not a loopback address, without --token-file; give bearer tokens, or --insecure to serve it unauthenticated"
    }
}
