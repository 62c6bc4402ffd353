import Foundation
import GRDB
import RingfenceAudit
import RingfenceRuntime
import Synchronization

// `sqlite:PATH` (SPEC §12): one file in WAL mode behind one GRDB `DatabasePool` — a single
// writer connection that every commit goes through, and reader connections that see committed
// snapshots while a commit is under way.
//
// Durability is set per commit (SPEC §9.4) with `PRAGMA synchronous` on the writer:
//
//   strict, group   FULL     the WAL is fsync'd at every commit: an acknowledged batch survives
//                            power loss (the runtime's writer puts many entries in one commit)
//   relaxed         NORMAL   no fsync at commit (only at WAL checkpoints): survives a crash of
//                            the process, may lose the last commits on power loss
//
// SQLite refuses to change the level inside a transaction ("Safety level may not be changed
// inside a transaction": GRDB surfaces it as a `DatabaseError`, so it cannot ride inside the
// batch's own transaction), and the level in force when COMMIT runs is the one that counts. So
// the pragma is issued on the writer between transactions — only when the level differs from
// the previous commit's — and the batch then runs in its own `BEGIN IMMEDIATE` transaction.
// Counted with strace over 100 one-entry commits: strict 100 fdatasync calls, relaxed none,
// strict and relaxed alternating 50 (beyond the 8 that opening a new file makes).
//
// Several processes may open one file: `busy_timeout` makes a writer wait for another's lock
// instead of failing at once, and every append checks the stored head inside its transaction,
// so the loser of a race gets `auditConflict` and nothing is forked or skipped.

/// A state store in one SQLite file (`sqlite:PATH`).
public final class SQLiteStore: StateStore {
    /// The URL the store was opened with.
    public let url: String
    /// The database file.
    public let path: String
    /// The connections: one writer, several readers.
    private let pool: DatabasePool
    /// The writer's `PRAGMA synchronous` level, nil until the first commit sets it (only the
    /// writer's serial queue touches it; the mutex makes that visible to the compiler).
    private let writerLevel = Mutex<SynchronousLevel?>(nil)

    /// How long a connection waits for another process's lock before it gives up, in seconds.
    public static let busyTimeout = 10

    /// The size (bytes) the WAL file is cut back to after a checkpoint.
    static let walSizeLimit = 64 << 20

    /// The SQLite `synchronous` levels the store uses.
    enum SynchronousLevel: String, Sendable {
        /// An fsync of the WAL at every commit.
        case full = "FULL"
        /// No fsync at commit; the WAL is synced at checkpoints.
        case normal = "NORMAL"
    }

    /// Opens the store at `path`, creating the file (and its directory) when missing and
    /// migrating an older schema; `url` is how messages name it. A newer schema, a database of
    /// something else or a file that is not SQLite is refused without being changed.
    public init(path: String, url: String? = nil) throws(StoreError) {
        let url = url ?? "sqlite:\(path)"
        self.url = url
        self.path = path
        try Self.prepareFile(path, url: url)
        var configuration = Configuration()
        configuration.busyMode = .timeout(TimeInterval(Self.busyTimeout))
        configuration.maximumReaderCount = 4
        configuration.label = "ringfence.state"
        configuration.prepareDatabase { db in
            // Runs on each new connection before GRDB switches the file to WAL: the writer
            // refuses a foreign database here, so it is never converted or migrated.
            guard !db.configuration.readonly else { return }
            if case .foreign(let message) = try SQLiteSchema.contents(db, path: path) {
                throw StoreError(.foreignSchema, message)
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // After a checkpoint, the WAL file shrinks back to this size rather than keep the
            // size of the largest batch ever written.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_size_limit = \(Self.walSizeLimit)") }
        } catch {
            throw Self.storeError(error, url: url, action: "open the store")
        }
        try migrate()
    }

    /// Closes every connection; the store cannot be used afterwards.
    public func close() throws(StoreError) {
        do {
            try pool.close()
        } catch {
            throw Self.storeError(error, url: url, action: "close the store")
        }
    }

    // MARK: StateStore

    /// Every state row in key order and the log's head, read from one snapshot.
    public func load() throws(StoreError) -> StoreSnapshot {
        try read("load the store") { db in
            let rows = try SQLiteRecords.rows(db, url: url)
            let head = try SQLiteRecords.head(db, url: url)
            return StoreSnapshot(rows: rows, auditSize: head.size, lastHash: head.lastHash)
        }
    }

    /// Writes the batch in one `BEGIN IMMEDIATE` transaction after checking, inside it, that its
    /// entries continue the stored log; fsync'd at commit unless `durability` is relaxed.
    public func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        guard !batch.isEmpty else { return }
        try write("commit a batch", level: durability == .relaxed ? .normal : .full) { db in
            try SQLiteRecords.write(batch, to: db, url: url)
        }
    }

    /// Entries `seq ..< seq + limit` that exist, with their data, read with one query.
    public func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] {
        guard limit > 0, seq <= AuditEntry.maximumSeq else { return [] }
        return try read("read the audit log") { db in
            try SQLiteRecords.entries(db, from: seq, limit: limit, url: url)
        }
    }

    /// Entries `seq ..< seq + limit` that exist, each handed to `body` with its data as SQLite
    /// holds it, read with one query.
    public func forEachAuditEntry(from seq: UInt64, limit: Int,
                                  _ body: (AuditEntry, AuditHash, UnsafeRawBufferPointer?) -> Void) throws(StoreError) {
        guard limit > 0, seq <= AuditEntry.maximumSeq else { return }
        try read("read the audit log") { db in
            try SQLiteRecords.forEachEntry(db, from: seq, limit: limit, url: url, body)
        }
    }

    /// The stored nodes among `ids`.
    public func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] {
        guard !ids.isEmpty else { return [:] }
        return try read("read merkle nodes") { db in
            try SQLiteRecords.nodes(db, ids, url: url)
        }
    }

    /// The stored nodes of `level` with indices in `indices`, in index order, read with one query.
    public func auditNodes(level: Int, indices: Range<UInt64>, into found: inout [AuditHash?]) throws(StoreError) {
        try read("read merkle nodes") { db in
            try SQLiteRecords.nodes(db, level: level, indices: indices, into: &found, url: url)
        }
    }

    /// Every checkpoint, smallest first.
    public func checkpoints() throws(StoreError) -> [StoredCheckpoint] {
        try read("read checkpoints") { db in
            try SQLiteRecords.checkpoints(db, url: url)
        }
    }

    /// The hashes of `session`'s entries, in log order: the seqs its lists name, read from their tiles.
    public func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash] {
        try read("read a session's audit entries") { db in
            try SQLiteRecords.entryHashes(db, session: session, url: url)
        }
    }

    /// Drops the data of entries below `seq` (durably), keeping their envelopes.
    public func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int {
        try write("purge audit data", level: .full) { db in
            try SQLiteRecords.purgeData(db, before: Int64(clamping: seq), url: url)
        }
    }

    // MARK: Connections

    /// Runs `body` in a read transaction on a reader connection.
    private func read<T>(_ action: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.storeError(error, url: url, action: action)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction on the writer, committed at `level`.
    private func write<T>(_ action: String, level: SynchronousLevel, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                if writerLevel.withLock({ $0 }) != level {
                    try db.execute(sql: "PRAGMA synchronous = \(level.rawValue)")
                    writerLevel.withLock { $0 = level }
                }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw StoreError(.database, StoreMessages.failed(url, action, "the transaction returned nothing")) }
                return result
            }
        } catch {
            throw Self.storeError(error, url: url, action: action)
        }
    }

    /// The writer connection's `PRAGMA synchronous` value (0 off, 1 normal, 2 full, 3 extra).
    func writerSynchronous() throws(StoreError) -> Int {
        do {
            return try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
        } catch {
            throw Self.storeError(error, url: url, action: "read the synchronous level")
        }
    }

    // MARK: Opening

    /// Refuses a directory or a file that is not SQLite, and creates a missing parent directory.
    static func prepareFile(_ path: String, url: String) throws(StoreError) {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw StoreError(.unavailable, SQLiteMessages.pathIsDirectory(path)) }
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw StoreError(.unavailable, SQLiteMessages.unavailable(url, "open the store", "the file cannot be read"))
            }
            defer { try? handle.close() }
            let header = (try? handle.read(upToCount: 16)) ?? Data()
            // An empty file is a new database; anything else must carry SQLite's header.
            if !header.isEmpty && header != Data("SQLite format 3\0".utf8) {
                throw StoreError(.foreignSchema, SQLiteMessages.notSQLite(path))
            }
            return
        }
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty, !files.fileExists(atPath: directory) else { return }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.unavailable, SQLiteMessages.cannotCreateDirectory(directory, "\(error.localizedDescription)"))
        }
    }

    /// Creates or upgrades the schema, refusing a newer or foreign one. Two processes opening a
    /// new file at once may both try the first migration; the loser's attempt fails and it
    /// looks again.
    private func migrate() throws(StoreError) {
        var failure: (any Error)?
        for _ in 0..<4 {
            let contents: SQLiteSchema.Contents
            do {
                contents = try pool.writeWithoutTransaction { db in try SQLiteSchema.contents(db, path: path) }
            } catch {
                throw Self.storeError(error, url: url, action: "read the store's schema")
            }
            switch contents {
            case .foreign(let message):
                throw StoreError(.foreignSchema, message)
            case .ringfence(let version) where version > SQLiteSchema.version:
                throw StoreError(.newerSchema, StoreMessages.newerSchema(url, found: version, supported: SQLiteSchema.version))
            case .ringfence(let version) where version == SQLiteSchema.version:
                return
            case .empty, .ringfence:
                do {
                    try SQLiteSchema.migrator.migrate(pool)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw Self.storeError(failure, url: url, action: "create the store's tables") }
        throw StoreError(.database, StoreMessages.migrationFailed(url, "the schema did not reach version \(SQLiteSchema.version)"))
    }

    /// The store error for a failure of GRDB or SQLite while doing `action`.
    static func storeError(_ error: any Error, url: String, action: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return StoreError(.database, StoreMessages.failed(url, action, "\(error)"))
        }
        let reason = (error.message ?? "sqlite error \(error.extendedResultCode.rawValue)").lowercasedFirst
        switch error.resultCode {
        case .SQLITE_NOTADB:
            return StoreError(.foreignSchema, SQLiteMessages.notADatabase(url, reason))
        case .SQLITE_CORRUPT:
            return StoreError(.foreignSchema, StoreMessages.damaged(url, reason))
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.unavailable, SQLiteMessages.busy(url, action, seconds: busyTimeout))
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
            return StoreError(.unavailable, SQLiteMessages.unavailable(url, action, reason))
        case .SQLITE_ERROR where reason.hasPrefix("no such table") || reason.hasPrefix("no such column"):
            return StoreError(.foreignSchema, StoreMessages.damaged(url, reason))
        default:
            return StoreError(.database, StoreMessages.failed(url, action, reason))
        }
    }
}

extension String {
    /// The string with its first character lowercased (SQLite and GRDB capitalise some messages).
    fileprivate var lowercasedFirst: String {
        guard let first else { return self }
        return first.lowercased() + dropFirst()
    }
}
