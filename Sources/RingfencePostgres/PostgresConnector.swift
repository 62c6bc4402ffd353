import PostgresNIO
import RingfenceRuntime
import Synchronization

// One store's way to the server: a `PostgresClient` (postgres-nio's connection pool) running on
// the store's loop, and the machinery every call goes through.
//
// A call leases a connection, runs its statements and returns the connection, within the
// store's `timeout` (the bridge's deadline; the server enforces the same value as its
// statement, lock and idle-in-transaction timeouts, so a session whose client vanished cannot
// hold the audit head). Inside that deadline a call retries, on a fresh connection:
//
//   - a serialization failure or deadlock (SQLSTATE 40001, 40P01): the server rolled back, and
//     the new attempt re-runs its checks (the head check) inside its own transaction;
//   - a connection that broke before COMMIT was sent (a server restart, pg_terminate_backend):
//     the server rolled back;
//   - a connection that broke during COMMIT, only for a batch with audit entries: the new
//     attempt finds the entries already stored when the first one committed, and then writes
//     nothing twice (`PostgresRecords.alreadyStored`). Only such a retry looks for its entries
//     among the stored ones: a first attempt whose entries match stored ones byte for byte is
//     another writer's stale batch, refused like any other.
//
// When no connection can be had before the deadline, the store connects once directly to find
// out why (connection refused, no socket, the database system is starting up …), and when the
// server is unreachable it replaces the pool with a fresh one: postgres-nio's pool backs off
// (up to a minute) after failed connects, and a fresh pool connects at once when the server is
// back.

/// A store's connection pool and the way its calls are run.
final class PostgresConnector: Sendable {
    /// Where the server is.
    let location: PostgresLocation
    /// The loop the pool and the calls run on.
    let bridge: PostgresBridge
    /// The current pool and the task running it; nil once closed.
    private let pool: Mutex<(client: PostgresClient, runner: Task<Void, Never>)?>

    /// The most attempts one call makes.
    static let attempts = 4

    /// A connector for `location` with a pool of its own (nothing is connected yet).
    init(location: PostgresLocation) {
        self.location = location
        bridge = PostgresBridge()
        pool = Mutex(Self.startPool(location: location, bridge: bridge))
    }

    /// Starts a client and the task that runs it.
    private static func startPool(location: PostgresLocation, bridge: PostgresBridge) -> (client: PostgresClient, runner: Task<Void, Never>) {
        let client = PostgresClient(configuration: clientConfiguration(location), eventLoopGroup: bridge.loop)
        let runner = Task(executorPreference: bridge.executor) { await client.run() }
        return (client, runner)
    }

    /// The settings every session starts with: durable commits unless a transaction says
    /// otherwise, and the store's timeout as the server's statement, lock and
    /// idle-in-transaction timeouts.
    static func startupParameters(_ location: PostgresLocation) -> [(String, String)] {
        let milliseconds = String(location.timeout * 1000)
        return [
            ("application_name", "ringfence"),
            ("synchronous_commit", "on"),
            ("statement_timeout", milliseconds),
            ("lock_timeout", milliseconds),
            ("idle_in_transaction_session_timeout", milliseconds),
        ]
    }

    /// The TLS settings for `mode` (libpq's meanings of `sslmode`).
    static func tlsConfiguration(_ mode: PostgresLocation.TLSMode) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable, .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        return configuration
    }

    /// The pool's configuration.
    static func clientConfiguration(_ location: PostgresLocation) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch location.endpoint {
        case .socket:
            configuration = .init(unixSocketPath: location.socketPath!, username: location.user, password: location.password, database: location.database)
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS
            switch location.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(tlsConfiguration(location.tls))
            case .require, .verifyCA, .verifyFull: tls = .require(tlsConfiguration(location.tls))
            }
            configuration = .init(host: host, port: port, username: location.user, password: location.password, database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(location.connectTimeout)
        configuration.options.maximumConnections = location.poolSize
        configuration.options.minimumConnections = 0
        configuration.options.connectionIdleTimeout = .seconds(60)
        configuration.options.additionalStartupParameters = startupParameters(location)
        return configuration
    }

    /// Makes one connection outside the pool (opening the store, diagnosing a failure).
    static func connect(_ location: PostgresLocation, on loop: any EventLoop, connectTimeout: Int) async throws -> PostgresConnection {
        var configuration: PostgresConnection.Configuration
        switch location.endpoint {
        case .socket:
            configuration = .init(unixSocketPath: location.socketPath!, username: location.user, password: location.password, database: location.database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            if location.tls == .disable {
                tls = .disable
            } else {
                let context = try NIOSSLContext(configuration: tlsConfiguration(location.tls))
                tls = location.tls == .prefer ? .prefer(context) : .require(context)
            }
            configuration = .init(host: host, port: port, username: location.user, password: location.password, database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(Int64(connectTimeout))
        configuration.options.additionalStartupParameters = startupParameters(location)
        return try await PostgresConnection.connect(on: loop, configuration: configuration, id: 0, logger: PostgresRecords.logger)
    }

    /// Closes the pool; later calls fail with "the store is closed".
    func close() {
        let current = pool.withLock { current in
            defer { current = nil }
            return current
        }
        current?.runner.cancel()
    }

    /// The current client, or nil once closed.
    private var client: PostgresClient? { pool.withLock { $0?.client } }

    /// Replaces the pool when `stale` is still the current one.
    private func replacePool(_ stale: PostgresClient) {
        let old = pool.withLock { current -> Task<Void, Never>? in
            guard let running = current, running.client === stale else { return nil }
            current = Self.startPool(location: location, bridge: bridge)
            return running.runner
        }
        old?.cancel()
    }

    /// Runs `body` with a pooled connection, retrying as the header says, within the store's
    /// timeout. `committing` gives a call whose COMMIT is under way at the deadline time to learn
    /// its outcome; `retryInDoubt` allows a retry after a COMMIT whose outcome is unknown (for
    /// batches that a retry recognises).
    func call<T: Sendable>(_ action: String, committing: Bool = false, retryInDoubt: Bool = false,
                           _ body: @escaping @Sendable (PostgresConnection, CallControl) async throws -> T) throws(StoreError) -> T {
        guard let client else {
            throw StoreError(.unavailable, PostgresMessages.unavailable(location.redactedURL, action, "the store is closed"))
        }
        let timeout = Duration.seconds(location.timeout)
        let control = CallControl()
        let outcome = bridge.run(timeout: timeout, grace: committing ? timeout : .zero, control: control) { control in
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try await client.withConnection { connection in
                        control.markLeased()
                        return try await body(connection, control)
                    }
                } catch let error as PostgresRecords.CommitInDoubt {
                    control.markCommitInDoubt()
                    guard retryInDoubt, attempt < Self.attempts, !control.isAbandoned else { throw error }
                    try? await Task.sleep(for: .milliseconds(10 << (attempt - 1)))
                } catch {
                    let retry = PostgresErrors.retry(error)
                    guard retry != .never, attempt < Self.attempts, !control.isAbandoned, !Task.isCancelled else { throw error }
                    // Contention: step aside a little longer each time (1, 2, 4 ms). A lost
                    // connection: give the pool time to learn that it is gone (10, 20, 40 ms).
                    try? await Task.sleep(for: .milliseconds((retry == .rolledBack ? 1 : 10) << (attempt - 1)))
                }
            }
        }
        let url = location.redactedURL
        switch outcome {
        case .finished(.success(let value)):
            return value
        case .finished(.failure(let error as PostgresRecords.CommitInDoubt)):
            let why = PostgresErrors.reason(error.underlying, location: location)
            throw StoreError(.unavailable, retryInDoubt
                ? PostgresMessages.unavailable(url, action, "\(why) while committing, and every retry failed")
                : PostgresMessages.outcomeUnknown(url, why))
        case .finished(.failure(let error)):
            if !control.hasLeased && !(error is StoreError) || PostgresErrors.isConnectFailure(error) {
                // The pool had no connection to give (it failed to connect, or gave up trying).
                let why = diagnose(client) ?? PostgresErrors.reason(error, location: location)
                throw StoreError(.unavailable, PostgresMessages.unavailable(url, action, why))
            }
            throw PostgresErrors.storeError(error, location: location, action: action)
        case .abandoned(leased: false):
            let why = diagnose(client)
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, action, seconds: location.timeout,
                                                                      why ?? "no pooled connection became free; pool_size is \(location.poolSize)"))
        case .abandoned(leased: true):
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, action, seconds: location.timeout,
                                                                      committing ? "nothing was committed" : nil))
        case .unresolved:
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, action, seconds: 2 * location.timeout,
                                                                      "the commit was sent and its outcome is unknown"))
        }
    }

    /// Connects once outside the pool to learn why the pool has no connection. Returns the
    /// reason when the server cannot be reached — and then starts a fresh pool, so the next call
    /// connects as soon as the server is back — or nil when a connection can be made (the
    /// pool was only busy).
    private func diagnose(_ client: PostgresClient) -> String? {
        let location = location, loop = bridge.loop
        let seconds = min(location.connectTimeout, 2)
        let outcome = bridge.run(timeout: .seconds(seconds + 1)) { _ in
            let connection = try await Self.connect(location, on: loop, connectTimeout: seconds)
            try? await connection.close()
        }
        let why: String
        switch outcome {
        case .finished(.success):
            return nil
        case .finished(.failure(let error)):
            why = PostgresErrors.reason(error, location: location)
        case .abandoned, .unresolved:
            why = "no connection within \(seconds) s"
        }
        replacePool(client)
        return why
    }
}
