import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL cluster started by `scripts/postgres-test-cluster.sh` (which installs
/// Debian's server package when it is missing): a socket in a temporary directory, no TCP
/// listener, fsync on. `shared` is started once per test process, on first use, and stopped
/// when the process exits — or, if the process is killed, by the script's watcher, which
/// follows this process's id. Tests that stop the server start a private cluster instead.
public final class PostgresTestCluster: Sendable {
    /// Why a cluster could not be started or used.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    /// The cluster's directory (its socket lives there).
    public let directory: String

    /// The script, in the source checkout.
    public static let script = Repository.url("scripts/postgres-test-cluster.sh").path

    /// The cluster of this test process, started on first use.
    public static let shared: Result<PostgresTestCluster, Failure> = {
        do {
            let cluster = try start()
            sharedDirectory.withLock { $0 = cluster.directory }
            atexit {
                // Runs at exit; the watcher would also stop it, a second later.
                if let directory = sharedDirectory.withLock({ $0 }) {
                    _ = try? PostgresTestCluster.runScript(["stop", directory])
                }
            }
            return .success(cluster)
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
    }()

    /// The shared cluster's directory, for the exit handler.
    private static let sharedDirectory = Mutex<String?>(nil)

    /// The shared cluster, or an error saying why there is none.
    public static func require() throws -> PostgresTestCluster {
        try shared.get()
    }

    /// Starts a new cluster owned by this process.
    public static func start() throws -> PostgresTestCluster {
        let output = try runScript(["start", "--owner", String(getpid())])
        for line in output.split(separator: "\n") where line.hasPrefix("RINGFENCE_POSTGRES_DIR=") {
            return PostgresTestCluster(directory: String(line.dropFirst("RINGFENCE_POSTGRES_DIR=".count)))
        }
        throw Failure(description: "the cluster script printed no directory: \(output)")
    }

    /// A cluster in `directory`.
    private init(directory: String) { self.directory = directory }

    /// Stops the server and removes the directory.
    public func stop() throws {
        _ = try Self.runScript(["stop", directory])
    }

    /// Stops, starts or restarts the server, keeping its data.
    public func control(_ verb: String) throws {
        _ = try Self.runScript(["ctl", directory, verb])
    }

    /// The URL of `database` in this cluster, with extra `parameters` (`timeout=2`, …).
    public func url(database: String, parameters: [String] = []) -> String {
        "postgres://postgres@/\(database)?" + (["host=\(directory)"] + parameters).joined(separator: "&")
    }

    /// The numbers given to databases made by `createDatabase`, process-wide.
    private static let nextDatabase = Atomic(0)

    /// The databases made for scratch directories, by directory path.
    private let scratchDatabases = Mutex<[String: String]>([:])

    /// The name of `scratch`'s own database, created when first asked for (so a backend
    /// opened and reopened in one scratch sees the same data).
    public func database(for scratch: Scratch) throws -> String {
        try scratchDatabases.withLock { (made: inout [String: String]) throws -> String in
            if let name = made[scratch.path] { return name }
            let name = try createDatabase()
            made[scratch.path] = name
            return name
        }
    }

    /// Creates an empty database and returns its name.
    public func createDatabase() throws -> String {
        let name = "rf_\(Self.nextDatabase.add(1, ordering: .relaxed).newValue)"
        _ = try psql("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    /// Runs `sql` with psql on `database`; returns what it printed (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String, database: String) throws -> String {
        try Self.runScript(["psql", directory, database, "-c", sql])
    }

    /// A psql session on `database` that stays open (to hold a lock while a store waits).
    public func session(database: String) throws -> PsqlSession {
        try PsqlSession(script: Self.script, directory: directory, database: database)
    }

    /// Runs the script with `arguments`; returns its standard output, or throws with its
    /// standard error when it fails.
    public static func runScript(_ arguments: [String]) throws -> String {
        let child = try ChildProcess(["/bin/bash", script] + arguments, input: false, mergeErrors: false)
        // The standard error is drained beside the output, so neither pipe can fill and stall it.
        let collected = Mutex([UInt8]())
        let drained = DispatchGroup()
        DispatchQueue.global().async(group: drained) { collected.withLock { $0 = child.readErrorsToEnd() } }
        let text = String(decoding: child.readToEnd(), as: UTF8.self)
        drained.wait()
        let status = child.wait()
        guard status == 0 else {
            let message = String(decoding: collected.withLock { $0 }, as: UTF8.self)
            throw Failure(description: "`postgres-test-cluster.sh \(arguments.joined(separator: " "))` failed (status \(status)): \(message)")
        }
        return text
    }
}

/// A psql process fed line by line, which keeps its session (and any transaction) open until
/// it is ended.
public final class PsqlSession: @unchecked Sendable {
    // Safety: used from one test thread at a time.
    /// The process.
    private let child: ChildProcess
    /// Output read but not yet consumed.
    private var pending = ""
    /// Numbers the markers that tell where a command's output ends.
    private var marker = 0
    /// True once ended.
    private var ended = false

    /// Starts psql on `database` of the cluster in `directory`.
    init(script: String, directory: String, database: String) throws {
        child = try ChildProcess(["/bin/bash", script, "psql", directory, database], input: true, mergeErrors: true)
    }

    /// Sends `sql` and waits until psql has run it; returns what it printed.
    @discardableResult
    public func run(_ sql: String) throws -> String {
        marker += 1
        let end = "--end-\(marker)--"
        child.send("\(sql)\n\\echo \(end)\n")
        while !pending.contains(end) {
            let chunk = child.readSome()
            if chunk.isEmpty { throw PostgresTestCluster.Failure(description: "psql ended: \(pending)") }
            pending += String(decoding: chunk, as: UTF8.self)
        }
        let range = pending.range(of: end)!
        let printed = String(pending[..<range.lowerBound])
        pending = String(pending[range.upperBound...])
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends `sql` without waiting for it (a statement that blocks until something else happens).
    public func send(_ sql: String) {
        child.send("\(sql)\n")
    }

    /// Ends psql (closing its session).
    public func end() {
        guard !ended else { return }
        ended = true
        child.closeInput()
        _ = child.readToEnd()
        _ = child.wait()
    }

    deinit {
        end()
    }
}

/// A child process started with `posix_spawn` and reaped with `waitpid`, without Foundation's
/// `Process`, whose exit notification can be lost in a test process that also runs event loops
/// (its `waitUntilExit` then never returns).
final class ChildProcess: @unchecked Sendable {
    // Safety: the descriptors are used by one reader each (the output by its caller, the
    // errors by one draining thread); `wait` is called once.
    /// The child's pid.
    let pid: pid_t
    /// The write end of its standard input, or -1.
    private var inputFD: Int32
    /// The read end of its standard output (and standard error, when merged).
    private let outputFD: Int32
    /// The read end of its standard error, or -1 when merged or discarded.
    private let errorFD: Int32

    /// Starts `arguments` (the first is the executable's path). Without `input` the child reads
    /// /dev/null; with `mergeErrors` its standard error goes to the output pipe.
    init(_ arguments: [String], input: Bool, mergeErrors: Bool) throws {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0, !input || pipe(&inPipe) == 0, mergeErrors || pipe(&errPipe) == 0 else {
            throw PostgresTestCluster.Failure(description: "cannot make a pipe: errno \(errno)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, mergeErrors ? outPipe[1] : errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe where fd >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var spawned: pid_t = 0
        let result = posix_spawn(&spawned, arguments[0], &actions, nil, argv, environ)
        for fd in [inPipe[0], outPipe[1], errPipe[1]] where fd >= 0 { close(fd) }
        guard result == 0 else {
            for fd in [inPipe[1], outPipe[0], errPipe[0]] where fd >= 0 { close(fd) }
            throw PostgresTestCluster.Failure(description: "cannot start `\(arguments[0])`: errno \(result)")
        }
        pid = spawned
        inputFD = inPipe[1]
        outputFD = outPipe[0]
        errorFD = errPipe[0]
    }

    /// Writes `text` to the child's standard input.
    func send(_ text: String) {
        guard inputFD >= 0 else { return }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(inputFD, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Closes the child's standard input.
    func closeInput() {
        if inputFD >= 0 { close(inputFD) }
        inputFD = -1
    }

    /// The next bytes of output; empty at the end.
    func readSome() -> [UInt8] { Self.readChunk(outputFD) }

    /// The rest of the output.
    func readToEnd() -> [UInt8] { Self.drain(outputFD) }

    /// The rest of the standard error (nothing when it was merged).
    func readErrorsToEnd() -> [UInt8] { errorFD >= 0 ? Self.drain(errorFD) : [] }

    /// Waits for the child and returns its exit status (128 + the signal when killed).
    func wait() -> Int32 {
        closeInput()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        close(outputFD)
        if errorFD >= 0 { close(errorFD) }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Up to 64 KiB from `fd`; empty at the end or on an error.
    private static func readChunk(_ fd: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            return count > 0 ? Array(buffer[..<count]) : []
        }
    }

    /// Everything left in `fd`.
    private static func drain(_ fd: Int32) -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let chunk = readChunk(fd)
            if chunk.isEmpty { return all }
            all += chunk
        }
    }
}
