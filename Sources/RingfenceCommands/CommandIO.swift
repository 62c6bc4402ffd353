import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The streams a command reads and writes, injected so commands run in-process in tests.
///
/// Commands write whole lines (or batches of lines) through `out` and `err`; `.standard`
/// passes each call to the file descriptor in one `write`, so nothing is buffered twice.
public struct CommandIO: Sendable {
    /// Reads the whole of standard input.
    public var stdin: @Sendable () -> [UInt8]
    /// Writes text to standard output (results).
    public var out: @Sendable (String) -> Void
    /// Writes text to standard error (diagnostics and messages).
    public var err: @Sendable (String) -> Void

    /// Creates streams from three closures.
    public init(stdin: @escaping @Sendable () -> [UInt8],
                out: @escaping @Sendable (String) -> Void,
                err: @escaping @Sendable (String) -> Void) {
        self.stdin = stdin
        self.out = out
        self.err = err
    }

    /// The process's own standard input, output and error.
    public static let standard = CommandIO(
        stdin: { FileAccess.readAll(descriptor: 0) },
        out: { FileAccess.write($0, descriptor: 1) },
        err: { FileAccess.write($0, descriptor: 2) })
}

/// Streams that keep everything written, for tests: give `io` to a command, then read
/// `stdout` and `stderr`.
public final class CommandCapture: @unchecked Sendable {
    /// Guards the two texts (a command may write from any thread).
    private let lock = NSLock()
    /// What was written to standard output.
    private var outText = ""
    /// What was written to standard error.
    private var errText = ""
    /// The standard input the command will read.
    public let input: [UInt8]

    /// Creates a capture whose standard input holds `stdin`.
    public init(stdin: [UInt8] = []) {
        self.input = stdin
    }

    /// Creates a capture whose standard input holds the UTF-8 of `stdin`.
    public convenience init(stdin: String) {
        self.init(stdin: Array(stdin.utf8))
    }

    /// Everything written to standard output so far.
    public var stdout: String { lock.withLock { outText } }
    /// Everything written to standard error so far.
    public var stderr: String { lock.withLock { errText } }

    /// Streams that read `input` and append to `stdout` and `stderr`.
    public var io: CommandIO {
        CommandIO(
            stdin: { [input] in input },
            out: { text in self.lock.withLock { self.outText += text } },
            err: { text in self.lock.withLock { self.errText += text } })
    }
}

/// Collects output text and hands it to a stream in chunks of about 64 KiB, so printing a
/// million decisions costs a few hundred writes rather than a million.
final class OutputBuffer {
    /// The size at which the buffer is flushed.
    static let chunkSize = 64 * 1024
    /// The text not yet written.
    private var text = ""
    /// Where full chunks go.
    private let sink: (String) -> Void

    /// Creates a buffer that flushes into `sink`.
    init(_ sink: @escaping (String) -> Void) {
        self.sink = sink
        text.reserveCapacity(Self.chunkSize + 1024)
    }

    /// Appends a line and its newline, flushing when the buffer is full.
    func line(_ line: String) {
        text += line
        text += "\n"
        if text.utf8.count >= Self.chunkSize { flush() }
    }

    /// Writes out whatever is buffered.
    func flush() {
        guard !text.isEmpty else { return }
        sink(text)
        text.removeAll(keepingCapacity: true)
    }
}

/// Whole-file reads and atomic writes over POSIX calls, with one-line error reasons.
enum FileAccess {
    /// The reason the last POSIX call failed, in lowercase (`no such file or directory`).
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard let first = text.first else { return "error \(code)" }
        return first.lowercased() + text.dropFirst()
    }

    /// Reads everything from an open descriptor until end of file (or a read error).
    static func readAll(descriptor: Int32) -> [UInt8] {
        (try? readAll(descriptor: descriptor, path: "<stdin>").get()) ?? []
    }

    /// Reads everything from an open descriptor; the error names why reading stopped. The
    /// first `expected` bytes (a regular file's size) are read straight into the result.
    private static func readAll(descriptor: Int32, path: String, expected: Int = 0) -> Result<[UInt8], FileAccessError> {
        var failure: Int32?
        var bytes = [UInt8](unsafeUninitializedCapacity: expected) { buffer, filled in
            while filled < expected {
                let count = posixRead(descriptor, buffer.baseAddress! + filled, expected - filled)
                if count > 0 {
                    filled += count
                } else if count == 0 {
                    return
                } else if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        if let failure { return .failure(FileAccessError(path: path, reason: reason(failure))) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return .success(bytes)
            } else if errno != EINTR {
                return .failure(FileAccessError(path: path, reason: reason(errno)))
            }
        }
    }

    /// Reads a whole file.
    static func read(_ path: String) -> Result<[UInt8], FileAccessError> {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return .failure(FileAccessError(path: path, reason: reason(errno))) }
        defer { close(descriptor) }
        var status = stat()
        let size = fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
        return readAll(descriptor: descriptor, path: path, expected: max(0, size))
    }

    /// Writes `bytes` to `path` atomically: to `path.tmp` first, then renamed over `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String) -> FileAccessError? {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { return FileAccessError(path: path, reason: reason(errno)) }
        var failure: Int32?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = posixWrite(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    failure = written < 0 ? errno : EIO
                    return
                }
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            return FileAccessError(path: path, reason: reason(failure))
        }
        return nil
    }

    /// Writes text to a descriptor in full, retrying short writes; a failing stream is dropped.
    static func write(_ text: String, descriptor: Int32) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = posixWrite(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

/// The POSIX `write`, under a name that does not collide with the methods above.
@inline(__always)
private func posixWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// The POSIX `read`, under a name that does not collide with the methods above.
@inline(__always)
private func posixRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// A file that could not be read or written, and why.
struct FileAccessError: Error, Sendable {
    /// The path as given.
    var path: String
    /// The lowercase reason (`no such file or directory`).
    var reason: String
}
