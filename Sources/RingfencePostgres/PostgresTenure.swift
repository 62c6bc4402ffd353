import PostgresNIO
import RingfenceAudit
import RingfenceRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The tenure of a PostgreSQL store (SPEC §15): one runtime at a time, in any process, holds it.
//
// Two guards, taken in order:
//
//   1. An in-process gate (a flag under a pthread mutex and condition), because several runtimes
//      of one process may share one store object, and a PostgreSQL advisory lock is re-entrant
//      within the session that holds it. The gate is released by whichever thread calls
//      `release`, not necessarily the one that acquired.
//   2. A session-level `pg_advisory_lock(rftenure)` on a connection of its own, kept open from
//      one tenure to the next (one connection per store beside its pool; commits run on the
//      pool while the tenure is held). The server releases the lock when that session ends.
//
// Each wait lasts at most the store's `timeout` (the gate's by a timed wait, the lock's by the
// session's `lock_timeout` and `statement_timeout`), and a wait that runs out throws
// `unavailable` holding nothing. Once the lock is granted, one statement — one snapshot — reads
// the rows and tombstones stamped after the caller's version, the audit head, the store's
// version, the newest checkpoint and `clock_timestamp()`.
//
// A tenure whose connection closes while held (the server restarted, the backend was
// terminated, the network broke) is lost: the server released the lock, so another node may
// hold it. The holder must then commit nothing: the store refuses commits once it has seen the
// connection close, and `release` throws. Any failure after the lock may have been granted
// closes the connection, so the server gives the lock up; nothing is ever left held.

/// The tenure of a `PostgresStore`.
final class PostgresTenure: StoreTenure, @unchecked Sendable {
    // Safety: everything is immutable, a `Mutex` or thread-safe.

    /// The advisory lock key that is the tenure (the bytes of `rftenure`); advisory locks are
    /// per database, so stores in different databases never meet.
    static let lockKey: Int64 = 0x7266_7465_6E75_7265

    /// The tenure's connection and what it holds.
    private struct Session {
        /// The connection kept for the tenure, nil before the first acquire and after a failure.
        var connection: PostgresConnection?
        /// The server process behind `connection`.
        var backendPID: Int64?
        /// True between a successful `acquire` and its `release`.
        var holding = false
    }

    /// Where the database is.
    private let location: PostgresLocation
    /// The loop the tenure's calls run on (the store's).
    private let bridge: PostgresBridge
    /// The store's URL for messages.
    private let url: String
    /// The tenure's connection and what it holds.
    private let session = Mutex(Session())
    /// One runtime of this process at a time.
    private let gate = TenureGate()

    /// The tenure of the store at `location`, run on `bridge`.
    init(location: PostgresLocation, bridge: PostgresBridge) {
        self.location = location
        self.bridge = bridge
        url = location.redactedURL
    }

    deinit {
        close()
    }

    // MARK: StoreTenure

    /// Waits for the gate and the advisory lock (each at most the store's timeout), then reads
    /// every change since `version` in one statement.
    func acquire(since version: UInt64) throws(StoreError) -> StoreChanges {
        try enterGate()
        do throws(StoreError) {
            let changes = try lockAndRead(since: version)
            session.withLock { $0.holding = true }
            return changes
        } catch {
            leaveGate()
            throw error
        }
    }

    /// Unlocks and returns the store's version; frees the gate whatever happens.
    func release() throws(StoreError) -> UInt64 {
        let (connection, holding) = session.withLock { ($0.connection, $0.holding) }
        guard holding else { throw StoreError(.database, PostgresMessages.tenureNotHeld(url)) }
        defer {
            session.withLock { $0.holding = false }
            leaveGate()
        }
        guard let connection, !connection.isClosed else {
            dropConnection()
            throw StoreError(.unavailable, PostgresMessages.tenureLost(url))
        }
        let url = url
        let outcome = bridge.run(timeout: .seconds(location.timeout)) { _ in
            var binds = PostgresBindings(capacity: 1)
            binds.append(Self.lockKey)
            let rows = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: Self.unlockSQL, binds: binds),
                                                                   logger: PostgresRecords.logger))
            guard let row = rows.first else {
                throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "the `ringfence.audit_head` row is missing"))
            }
            let unlocked: Bool
            do throws(ColumnProblem) { unlocked = try PostgresRows.bool(row[0]) } catch {
                throw StoreError(.database, StoreMessages.failed(url, "give up the tenure", error.detail))
            }
            guard unlocked else { throw StoreError(.unavailable, PostgresMessages.tenureLost(url)) }
            return try PostgresRecords.decodeVersion(row[1], url: url)
        }
        switch outcome {
        case .finished(.success(let version)):
            return version
        case .finished(.failure(let error)):
            dropConnection()
            if connection.isClosed || PostgresErrors.retry(error) == .connectionLost {
                throw StoreError(.unavailable, PostgresMessages.tenureLost(url))
            }
            throw PostgresErrors.storeError(error, location: location, action: "give up the tenure")
        case .abandoned, .unresolved:
            dropConnection()
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, "give up the tenure", seconds: location.timeout,
                                                                      "its connection was closed, which gives the lock up"))
        }
    }

    // MARK: The store's side

    /// True when the tenure is held here but its connection has closed: the lock is gone, and
    /// the holder must not commit.
    var lostWhileHeld: Bool {
        session.withLock { $0.holding && ($0.connection?.isClosed ?? true) }
    }

    /// The server process holding the tenure for this store, while this store holds it (nil
    /// otherwise): commits check inside their transaction that it still holds the lock.
    var heldPID: Int64? { session.withLock { $0.holding ? $0.backendPID : nil } }

    /// The server process of the tenure's connection (nil before the first acquire).
    var backendPID: Int64? { session.withLock { $0.connection == nil ? nil : $0.backendPID } }

    /// Closes the tenure's connection (the server then gives up the lock, if held).
    func close() {
        dropConnection()
    }

    // MARK: Statements

    /// Takes the lock (waiting at most the session's `lock_timeout`) and names the backend.
    static let lockSQL = "SELECT pg_backend_pid()::bigint, pg_advisory_lock($1)"

    /// Gives the lock up and reads the store's version.
    static let unlockSQL = "SELECT pg_advisory_unlock($1), (SELECT version FROM ringfence.audit_head WHERE id = 1)"

    /// Everything the tenure reads, in one statement (one snapshot): part 0 a row written after
    /// `$1` (collection, key, value, version), part 1 a tombstone (collection, key, version),
    /// part 2 the head (last hash as `value`, size as `number`, version as `extra`), part 3 the
    /// newest checkpoint (note as `key`, root as `value`, size, time), part 4 the clock in µs.
    static let changesSQL = """
        SELECT 0::bigint AS part, collection, key, value, version AS number, NULL::bigint AS extra
            FROM ringfence.state_rows WHERE version > $1
        UNION ALL
        SELECT 1, collection, key, NULL, version, NULL FROM ringfence.state_deletes WHERE version > $1
        UNION ALL
        SELECT 2, NULL, NULL, last_hash, size, version FROM ringfence.audit_head WHERE id = 1
        UNION ALL
        (SELECT 3, NULL, convert_to(note, 'UTF8'), root, size, time FROM ringfence.audit_checkpoints ORDER BY size DESC LIMIT 1)
        UNION ALL
        SELECT 4, NULL, NULL, NULL, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, NULL
        ORDER BY part, collection, key
        """

    // MARK: Inside

    /// Waits at most the store's timeout for no other runtime of this process to hold the
    /// tenure, then marks it held.
    private func enterGate() throws(StoreError) {
        guard gate.enter(within: location.timeout) else {
            throw StoreError(.unavailable, PostgresMessages.tenureBusy(url, seconds: location.timeout, holder: "another runtime of this process"))
        }
    }

    /// Opens the gate for the next runtime.
    private func leaveGate() {
        gate.leave()
    }

    /// Forgets the tenure's connection and closes it.
    private func dropConnection() {
        let connection = session.withLock { current -> PostgresConnection? in
            defer { current.connection = nil; current.backendPID = nil }
            return current.connection
        }
        guard let connection else { return }
        // postgres-nio requires a connection to be closed before it goes: keep it until then.
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Takes the advisory lock on the tenure's connection (connecting first when it has none,
    /// or when the one kept was closed while idle) and reads the changes since `version`.
    private func lockAndRead(since version: UInt64) throws(StoreError) -> StoreChanges {
        let location = location, loop = bridge.loop, url = url
        let kept = session.withLock { $0.connection }
        let seconds = location.connectTimeout + 2 * location.timeout
        let outcome = bridge.run(timeout: .seconds(seconds)) { [self] control in
            var connection = kept
            var attempt = 0
            while true {
                attempt += 1
                if connection == nil || connection!.isClosed {
                    let made = try await PostgresConnector.connect(location, on: loop, connectTimeout: location.connectTimeout)
                    // Recorded only while the caller still waits: a caller that gave up has
                    // closed what was recorded, and a later acquire may have recorded its own.
                    let recorded = session.withLock { current -> Bool in
                        guard !control.isAbandoned else { return false }
                        current.connection = made
                        return true
                    }
                    guard recorded else {
                        try? await made.close()
                        throw BridgeError.abandoned
                    }
                    connection = made
                }
                do {
                    let pid = try await Self.lock(on: connection!, url: url, seconds: location.timeout)
                    session.withLock { $0.backendPID = pid }
                    break
                } catch {
                    // A kept connection the server closed while it sat idle: connect once more.
                    guard attempt == 1, kept != nil, PostgresErrors.retry(error) == .connectionLost else { throw error }
                    try? await connection!.close()
                    connection = nil
                }
            }
            return try await Self.changes(since: version, on: connection!, url: url)
        }
        switch outcome {
        case .finished(.success(let changes)):
            return changes
        case .finished(.failure(let error)):
            dropConnection()
            throw PostgresErrors.storeError(error, location: location, action: "take the tenure")
        case .abandoned, .unresolved:
            dropConnection()
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, "take the tenure", seconds: seconds, nil))
        }
    }

    /// Takes the advisory lock; a wait that outlasts the session's timeouts becomes `unavailable`.
    private static func lock(on connection: PostgresConnection, url: String, seconds: Int) async throws -> Int64 {
        var binds = PostgresBindings(capacity: 1)
        binds.append(lockKey)
        let rows: [PostgresRandomAccessRow]
        do {
            rows = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: lockSQL, binds: binds), logger: PostgresRecords.logger))
        } catch {
            if let state = PostgresErrors.sqlState(error), state == "55P03" || state == "57014" {
                throw StoreError(.unavailable, PostgresMessages.tenureBusy(url, seconds: seconds, holder: "another node"))
            }
            throw error
        }
        guard let row = rows.first else { throw StoreError(.database, StoreMessages.failed(url, "take the tenure", "the lock returned no row")) }
        do throws(ColumnProblem) {
            return try PostgresRows.int64(row[0])
        } catch {
            throw StoreError(.database, StoreMessages.failed(url, "take the tenure", error.detail))
        }
    }

    /// Reads the changes since `version`, the head, the newest checkpoint and the clock.
    static func changes(since version: UInt64, on connection: PostgresConnection, url: String) async throws -> StoreChanges {
        var binds = PostgresBindings(capacity: 1)
        binds.append(Int64(clamping: version))
        let result = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: changesSQL, binds: binds), logger: PostgresRecords.logger))
        var rows: [StateRow] = [], deletes: [StateKey] = []
        var head: (size: UInt64, lastHash: AuditHash, version: UInt64)?
        var checkpoint: StoredCheckpoint?
        var clock: Int64?
        for row in result {
            let part: Int64
            do throws(ColumnProblem) { part = try PostgresRows.int64(row[0]) } catch {
                throw StoreError(.database, StoreMessages.failed(url, "take the tenure", error.detail))
            }
            switch part {
            case 0, 1:
                do throws(ColumnProblem) {
                    let key = StateKey(try PostgresRows.name(row[1]), try PostgresRows.name(row[2]))
                    if part == 0 { rows.append(StateRow(key, try PostgresRows.bytes(row[3]))) } else { deletes.append(key) }
                } catch {
                    throw StoreError(.foreignSchema, StoreMessages.badRow(url, error.detail))
                }
            case 2:
                let lastHash: AuditHash, size: Int64
                do throws(ColumnProblem) {
                    lastHash = try PostgresRows.hash(row[3])
                    size = try PostgresRows.int64(row[4])
                    guard size >= 0, UInt64(size) <= AuditEntry.maximumSeq + 1 else { throw ColumnProblem("`size` \(size) is out of range") }
                } catch {
                    throw StoreError(.foreignSchema, PostgresMessages.badHead(url, error.detail))
                }
                head = (UInt64(size), lastHash, try PostgresRecords.decodeVersion(row[5], url: url))
            case 3:
                var size: Int64 = -1
                do throws(ColumnProblem) {
                    size = try PostgresRows.int64(row[4])
                    guard size >= 0 else { throw ColumnProblem("`size` is negative") }
                    let microseconds = try PostgresRows.int64(row[5])
                    guard let time = try? AuditTime(microseconds: microseconds) else {
                        throw ColumnProblem("`time` \(microseconds) is outside years 0001 to 9999")
                    }
                    checkpoint = StoredCheckpoint(size: UInt64(size), root: try PostgresRows.hash(row[3]), note: try PostgresRows.name(row[2]), time: time)
                } catch {
                    throw StoreError(.foreignSchema, StoreMessages.badCheckpoint(url, size: size, error.detail))
                }
            default:
                do throws(ColumnProblem) { clock = try PostgresRows.int64(row[4]) } catch {
                    throw StoreError(.database, StoreMessages.failed(url, "read the store's clock", error.detail))
                }
            }
        }
        guard let head else { throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "the `ringfence.audit_head` row is missing")) }
        guard let clock else { throw StoreError(.database, StoreMessages.failed(url, "read the store's clock", "the query returned no time")) }
        return StoreChanges(version: head.version, rows: rows, deletes: deletes, auditSize: head.size, lastHash: head.lastHash,
                            lastCheckpoint: checkpoint, clock: clock)
    }
}
