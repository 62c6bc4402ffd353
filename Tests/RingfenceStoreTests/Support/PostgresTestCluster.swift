import Foundation
import RingfenceTestSupport
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
final class PostgresTestCluster: Sendable {
    /// Why a cluster could not be started or used.
    struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        let description: String
    }

    /// The cluster's directory (its socket lives there).
    let directory: String

    /// The script, in the source checkout.
    static let script = Repository.url("scripts/postgres-test-cluster.sh").path

    /// The cluster of this test process, started on first use.
    static let shared: Result<PostgresTestCluster, Failure> = {
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
    static func require() throws -> PostgresTestCluster {
        try shared.get()
    }

    /// Starts a new cluster owned by this process.
    static func start() throws -> PostgresTestCluster {
        let output = try runScript(["start", "--owner", String(getpid())])
        for line in output.split(separator: "\n") where line.hasPrefix("RINGFENCE_POSTGRES_DIR=") {
            return PostgresTestCluster(directory: String(line.dropFirst("RINGFENCE_POSTGRES_DIR=".count)))
        }
        throw Failure(description: "the cluster script printed no directory: \(output)")
    }

    /// A cluster in `directory`.
    private init(directory: String) { self.directory = directory }

    /// Stops the server and removes the directory.
    func stop() throws {
        _ = try Self.runScript(["stop", directory])
    }

    /// Stops, starts or restarts the server, keeping its data.
    func control(_ verb: String) throws {
        _ = try Self.runScript(["ctl", directory, verb])
    }

    /// The URL of `database` in this cluster, with extra `parameters` (`timeout=2`, …).
    func url(database: String, parameters: [String] = []) -> String {
        "postgres://postgres@/\(database)?" + (["host=\(directory)"] + parameters).joined(separator: "&")
    }

    /// The numbers given to databases made by `createDatabase`, process-wide.
    private static let nextDatabase = Atomic(0)

    /// The databases made for scratch directories, by directory path.
    private let scratchDatabases = Mutex<[String: String]>([:])

    /// The name of `scratch`'s own database, created when first asked for (so a backend
    /// opened and reopened in one scratch sees the same data).
    func database(for scratch: Scratch) throws -> String {
        try scratchDatabases.withLock { (made: inout [String: String]) throws -> String in
            if let name = made[scratch.path] { return name }
            let name = try createDatabase()
            made[scratch.path] = name
            return name
        }
    }

    /// Creates an empty database and returns its name.
    func createDatabase() throws -> String {
        let name = "rf_\(Self.nextDatabase.add(1, ordering: .relaxed).newValue)"
        _ = try psql("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    /// Runs `sql` with psql on `database`; returns what it printed (unaligned, tuples only).
    @discardableResult
    func psql(_ sql: String, database: String) throws -> String {
        try Self.runScript(["psql", directory, database, "-c", sql])
    }

    /// A psql session on `database` that stays open (to hold a lock while a store waits).
    func session(database: String) throws -> PsqlSession {
        try PsqlSession(script: Self.script, directory: directory, database: database)
    }

    /// Runs the script with `arguments`; returns its standard output, or throws with its
    /// standard error when it fails.
    static func runScript(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The standard error is drained beside the output, so neither pipe can fill and stall it.
        let collected = Mutex(Data())
        let drained = DispatchGroup()
        DispatchQueue.global().async(group: drained) { collected.withLock { $0 = errors.fileHandleForReading.readDataToEndOfFile() } }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        drained.wait()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: collected.withLock { $0 }, as: UTF8.self)
            throw Failure(description: "`postgres-test-cluster.sh \(arguments.joined(separator: " "))` failed: \(message)")
        }
        return text
    }
}

/// A psql process fed line by line, which keeps its session (and any transaction) open until
/// it is ended.
final class PsqlSession: @unchecked Sendable {
    // Safety: used from one test thread at a time.
    /// The process.
    private let process = Process()
    /// Its standard input.
    private let input = Pipe()
    /// Its standard output.
    private let output = Pipe()
    /// Output read but not yet consumed.
    private var pending = ""
    /// Numbers the markers that tell where a command's output ends.
    private var marker = 0

    /// Starts psql on `database` of the cluster in `directory`.
    init(script: String, directory: String, database: String) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, "psql", directory, database]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Sends `sql` and waits until psql has run it; returns what it printed.
    @discardableResult
    func run(_ sql: String) throws -> String {
        marker += 1
        let end = "--end-\(marker)--"
        input.fileHandleForWriting.write(Data("\(sql)\n\\echo \(end)\n".utf8))
        while !pending.contains(end) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw PostgresTestCluster.Failure(description: "psql ended: \(pending)") }
            pending += String(decoding: chunk, as: UTF8.self)
        }
        let range = pending.range(of: end)!
        let printed = String(pending[..<range.lowerBound])
        pending = String(pending[range.upperBound...])
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends `sql` without waiting for it (a statement that blocks until something else happens).
    func send(_ sql: String) {
        input.fileHandleForWriting.write(Data("\(sql)\n".utf8))
    }

    /// Ends psql (closing its session).
    func end() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }
}
