import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `examples/sagas/service.py` — the saga steps' fake service — running on a loopback port it
/// picks when it starts; killed when this object goes. Its standard input ends when the test
/// process does, so a service never outlives its tests.
public final class StepServiceProcess: @unchecked Sendable {
    // Safety: set once in `init`, read afterwards.
    /// The child process.
    public let process = Process()
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String
    /// The port.
    public let port: UInt16

    /// Why the service could not be started.
    public struct Failure: Error, CustomStringConvertible {
        /// What happened.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Starts the service and waits for its `listening on` line.
    public init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repository.url("examples/sagas/service.py").path, "--port", "0", "--stop-on-eof"]
        process.standardInput = Pipe()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "http://127.0.0.1:"), let port = UInt16(text[range.upperBound...].prefix { $0.isNumber }) else {
            process.terminate()
            throw Failure(message: "the saga service did not start: \(text)")
        }
        self.port = port
        baseURL = "http://127.0.0.1:\(port)"
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
