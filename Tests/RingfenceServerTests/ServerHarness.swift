import Foundation
import RingfenceTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `ringfence serve` process on a free loopback port, started from the built binary, and a
/// raw HTTP/1.1 client for it (so tests can also send what no well-behaved client would).
final class ServerProcess: @unchecked Sendable {
    // Safety: `process`, `port` and `banner` are set once in `init`; stderr is read after the process ended.
    /// The process.
    let process = Process()
    /// The port it listens on.
    let port: UInt16
    /// The first line it printed.
    let banner: String
    private let errorPipe = Pipe()

    /// Starts `ringfence serve` with `arguments` (after `serve`), listening on a free port.
    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try BuiltBinary.path("ringfence"))
        process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line: [UInt8] = []
        let handle = output.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte.first == UInt8(ascii: "\n") { break }
            line.append(byte.first!)
        }
        banner = String(decoding: line, as: UTF8.self)
        guard let range = banner.range(of: "http://127.0.0.1:"),
              let port = UInt16(banner[range.upperBound...].prefix { $0.isNumber }) else {
            process.waitUntilExit()
            let stderr = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw HarnessError("the server did not start (exit \(process.terminationStatus)): \(banner) \(stderr)")
        }
        self.port = port
    }

    /// Sends `signal` to the server.
    func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Stops the server with SIGTERM; returns its exit status and stderr.
    @discardableResult
    func stop() -> (status: Int32, stderr: String) {
        if process.isRunning { send(SIGTERM) }
        let stderr = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A new connection to the server.
    func connect() throws -> HTTPConnection { try HTTPConnection(port: port) }

    /// One request on a new connection.
    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        let connection = try connect()
        return try connection.request(method, path, body: body, headers: headers)
    }

    /// `POST` of a JSON body.
    func post(_ path: String, _ body: String, headers: [String: String] = [:]) throws -> HTTPReply {
        try request("POST", path, body: body, headers: ["content-type": "application/json"].merging(headers) { $1 })
    }
}

/// A test-harness failure.
struct HarnessError: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String

    /// An error.
    init(_ description: String) {
        self.description = description
    }
}

/// An HTTP answer.
struct HTTPReply {
    /// The status code.
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    /// The body.
    var body: String

    /// The body parsed as JSON.
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }

    /// The error code of an error answer.
    var errorCode: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String }
}

/// A blocking keep-alive HTTP/1.1 connection over a raw socket, with a 10 s receive timeout.
final class HTTPConnection {
    /// The socket.
    let socket: Int32
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`.
    init(port: UInt16) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HarnessError("socket() failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(socket)
            throw HarnessError("cannot connect to port \(port)")
        }
    }

    deinit { Glibc.close(socket) }

    /// Sends raw bytes.
    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HarnessError("send failed") }
            sent += n
        }
    }

    /// Sends a request and reads its answer.
    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        var text = "\(method) \(path) HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "content-length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        try write(text)
        return try readReply()
    }

    /// Reads one answer (content-length framed); throws when the connection closes first.
    func readReply() throws -> HTTPReply {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw HarnessError("bad status line in \(head)") }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while pending.count < end + 4 + length { try fill() }
                let body = String(decoding: pending[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                pending.removeFirst(end + 4 + length)
                return HTTPReply(status: status, headers: headers, body: body)
            }
            try fill()
        }
    }

    /// True when the server closed the connection (reads end of file within the timeout).
    func isClosedByServer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw HarnessError(n == 0 ? "the server closed the connection" : "recv failed (errno \(errno))") }
        pending += buffer[..<n]
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard pending.count >= needle.count else { return nil }
        for i in 0...(pending.count - needle.count) where pending[i] == needle[0] && Array(pending[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}

/// Policies for the server tests.
enum TestPolicies {
    /// Ring buckets wide enough that continuous deciding is never rate-limited.
    static let runtime = """
        ringfence: 1
        kind: runtime
        name: test
        limits:
          ring0: { rate: 1000000, burst: 1000000 }
          ring1: { rate: 1000000, burst: 1000000 }
          ring2: { rate: 1000000, burst: 1000000 }
          ring3: { rate: 1000000, burst: 1000000 }

        """

    /// A workspace policy; `version` names its allow rule, so two versions decide differently.
    static func workspace(version: String = "a", readEffect: String = "allow") -> String {
        """
        ringfence: 1
        kind: policy
        name: workspace
        rules:
          - id: read-\(version)
            effect: \(readEffect)
            action: fs.read
            resources: ["/workspace/**"]
            reason: workspace reads, version \(version)
          - id: block-destructive-sql
            effect: deny
            action: database.query
            when: params.query =~ "(?i)\\\\b(DROP|TRUNCATE)\\\\b"
            reason: destructive SQL

        """
    }

    /// A policy directory with the runtime file and the workspace policy.
    static func directory(_ scratch: Scratch, version: String = "a", readEffect: String = "allow") throws -> String {
        try scratch.write("policies/runtime.yaml", runtime)
        try scratch.write("policies/workspace.yaml", workspace(version: version, readEffect: readEffect))
        return scratch.path + "/policies"
    }

    /// A decide body for `action` on `resource` by a trusted agent.
    static func decide(_ action: String = "fs.read", resource: String = "/workspace/a.csv", params: String = "{}") -> String {
        #"{"request":{"agent":{"id":"agent-1","trust":0.8},"action":"\#(action)","resource":"\#(resource)","params":\#(params)}}"#
    }
}
