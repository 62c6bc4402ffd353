import PostgresNIO
import RingfenceAudit
import RingfenceRuntime
import Synchronization

// `postgres://USER@HOST:PORT/DB` (SPEC §12, §15): the store for deployments that outgrow one
// machine. Several processes — several `ringfence serve` nodes — may open one database; each
// store is one node's connection pool.
//
// One audit chain, however many writers. Every commit begins by locking the single row of
// `ringfence.audit_head` (`SELECT … FOR UPDATE`), checks inside its transaction that its entries
// continue the head it finds (`StoreChecks.continues`: the next `seq`, linked to the last hash),
// writes everything in one statement, moves the head, and commits. A second writer waits on the
// row lock; when the first commits, READ COMMITTED hands the waiter the new version of the row,
// so it sees the new head and its stale batch is refused with `auditConflict` (its entries carry
// their own `seq` and `prev`, so it can never silently continue someone else's head); the
// runtime then re-reads the head and sequences its records again. `audit_entries.seq` is the
// primary key besides. So commits are totally ordered, entry order is commit order (SPEC §9.4)
// and the chain cannot fork or gap. The lock also orders state-only batches with the rest, so
// commits never deadlock with each other; rows are still written in canonical (byte) order so
// that other writers of the same rows meet them in one order. The price — one commit at a time
// per database, so appends per second are commits per second times entries per commit — is
// measured in docs/scaling.md.
//
// Versions (SPEC §15): the head row also holds the store's version, the number of commits.
// Every commit sets it to one more under the same lock and stamps each row it writes and each
// tombstone it leaves with it, so the node that next takes the store's tenure (`PostgresTenure`)
// reads only what changed since the version it last saw.
//
// Durability, per transaction (SPEC §9.4): `strict` and `group` commit with
// `synchronous_commit = on` (the WAL is flushed before COMMIT returns; concurrent commits share
// the flush); `relaxed` with `synchronous_commit = off` set for that transaction only (COMMIT
// returns before the flush; a crash of the server may lose the last ~3 × wal_writer_delay of
// commits, never part of one). Sessions start with `on`, so purges and anything else are durable.
//
// When an attempt's COMMIT goes unanswered (the connection broke during COMMIT), the store
// retries, and a batch whose audit entries are then found already stored, hash for hash at
// their `seq`, is taken as that commit having succeeded: its entries are not written again, its
// other changes are (they are idempotent). This is what makes retrying a commit safe over a
// network, where a commit can succeed without its caller hearing of it. Only a retry looks:
// on a first attempt such a batch is a stale one from another writer and is refused, so two
// identical events from two nodes are never folded into one entry.

/// A state store in a PostgreSQL database (`postgres://…`).
public final class PostgresStore: StateStore {
    /// The URL as given, with any password replaced by `***`.
    public let url: String
    /// Where the database is.
    public let location: PostgresLocation
    /// The pool and the call machinery.
    private let connector: PostgresConnector
    /// The `synchronous_commit` the server reported inside the last commit's transaction.
    private let lastSynchronousCommit = Mutex<String?>(nil)
    /// How many commits found their entries already stored.
    private let recognisedCommits = Atomic(0)
    /// The store's tenure (SPEC §15), with a connection of its own once first taken.
    let storeTenure: PostgresTenure

    /// Opens the store at `location`: connects once (so an unreachable server, a missing
    /// database or refused credentials fail here, at once), then creates or upgrades the schema.
    /// A newer schema or a database of something else is refused without being changed.
    public init(location: PostgresLocation) throws(StoreError) {
        self.location = location
        url = location.redactedURL
        connector = PostgresConnector(location: location)
        storeTenure = PostgresTenure(location: location, bridge: connector.bridge)
        let url = url
        let outcome = connector.bridge.run(timeout: .seconds(location.connectTimeout + location.timeout)) { [connector] _ in
            let connection = try await PostgresConnector.connect(location, on: connector.bridge.loop, connectTimeout: location.connectTimeout)
            do {
                try await PostgresSchema.migrate(connection, url: url, logger: PostgresRecords.logger)
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        }
        switch outcome {
        case .finished(.success):
            return
        case .finished(.failure(let error)):
            connector.close()
            throw PostgresErrors.storeError(error, location: location, action: "open the store")
        case .abandoned, .unresolved:
            connector.close()
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, "open the store", seconds: location.connectTimeout + location.timeout, nil))
        }
    }

    /// Opens the store a `postgres://` URL names.
    public convenience init(url: String) throws(StoreError) {
        try self.init(location: PostgresLocation(url: url))
    }

    /// Closes the pool and the tenure's connection; later calls fail with `unavailable`.
    public func close() {
        storeTenure.close()
        connector.close()
    }

    deinit {
        storeTenure.close()
        connector.close()
    }

    /// The tenure several nodes take in turn (see `PostgresTenure`).
    public var tenure: StoreTenure? { storeTenure }

    // MARK: StateStore

    /// Every state row in key order, the log's head and the store's version, read from one snapshot.
    public func load() throws(StoreError) -> StoreSnapshot {
        let url = url
        return try connector.call("load the store") { connection, _ in
            try await PostgresRecords.load(on: connection, url: url)
        }
    }

    /// Writes the batch in one transaction after locking the head and checking that the
    /// batch's entries continue it; flushed at commit unless `durability` is relaxed. Refused
    /// while this store holds a tenure whose connection has closed (another node may hold it).
    public func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        try commit(batch, durability: durability, repeatingAnUnansweredCommit: false)
    }

    /// Commits `batch`; with `repeatingAnUnansweredCommit`, the caller says it sent this batch
    /// before and never learned the outcome, so entries found stored hash for hash are its own.
    func commit(_ batch: StoreBatch, durability: Durability, repeatingAnUnansweredCommit: Bool) throws(StoreError) {
        guard !batch.isEmpty else { return }
        guard !storeTenure.lostWhileHeld else { throw StoreError(.unavailable, PostgresMessages.tenureLost(url)) }
        let prepared = try PostgresRecords.prepare(batch)
        let url = url
        let fence = storeTenure.heldPID
        let report = try connector.call("commit a batch", committing: true, retryInDoubt: !batch.entries.isEmpty) { connection, control in
            try await PostgresRecords.commitOnce(prepared, durability: durability, on: connection, control: control,
                                                 assumeRetry: repeatingAnUnansweredCommit, tenurePID: fence, url: url)
        }
        lastSynchronousCommit.withLock { $0 = report.synchronousCommit }
        if report.recognised { recognisedCommits.add(1, ordering: .relaxed) }
    }

    /// Entries `seq ..< seq + limit` that exist, with their data, read with one query.
    public func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] {
        guard limit > 0, seq <= AuditEntry.maximumSeq else { return [] }
        let url = url
        return try connector.call("read the audit log") { connection, _ in
            try await PostgresRecords.entries(from: seq, limit: limit, on: connection, url: url)
        }
    }

    /// The stored nodes among `ids`, read with one query.
    public func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] {
        guard !ids.isEmpty else { return [:] }
        let url = url
        return try connector.call("read merkle nodes") { connection, _ in
            try await PostgresRecords.nodes(ids, on: connection, url: url)
        }
    }

    /// The stored nodes of `level` with indices in `indices`, in index order, read with one query.
    public func auditNodes(level: Int, indices: Range<UInt64>, into found: inout [AuditHash?]) throws(StoreError) {
        guard !indices.isEmpty else { return found.removeAll(keepingCapacity: true) }
        let url = url
        found = try connector.call("read merkle nodes") { connection, _ in
            try await PostgresRecords.nodes(level: level, indices: indices, on: connection, url: url)
        }
    }

    /// Every checkpoint, smallest first.
    public func checkpoints() throws(StoreError) -> [StoredCheckpoint] {
        let url = url
        return try connector.call("read checkpoints") { connection, _ in
            try await PostgresRecords.checkpoints(on: connection, url: url)
        }
    }

    /// The hashes of `session`'s entries, in log order, read through the session index.
    public func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash] {
        let url = url
        return try connector.call("read a session's audit entries") { connection, _ in
            try await PostgresRecords.entryHashes(session: session, on: connection, url: url)
        }
    }

    /// Drops the data of entries below `seq` (durably), keeping their envelopes.
    public func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int {
        let url = url
        return try connector.call("purge audit data") { connection, _ in
            try await PostgresRecords.purge(before: seq, on: connection, url: url)
        }
    }

    // MARK: What tests look at

    /// The `synchronous_commit` in force inside the last commit's transaction, as the server
    /// reported it just before COMMIT (nil before the first commit).
    var lastCommitSynchronousCommit: String? { lastSynchronousCommit.withLock { $0 } }

    /// How many commits found their entries already stored by an earlier attempt.
    var recognisedCommitCount: Int { recognisedCommits.load(ordering: .relaxed) }

    /// Runs `sql` on a pooled connection and returns the first column of each row as text
    /// (`SHOW`, settings, the backend's pid).
    func textRows(_ sql: String) throws(StoreError) -> [String] {
        try connector.call("run a query") { connection, _ in
            try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresRecords.logger)).map { row in
                do throws(ColumnProblem) { return try PostgresRows.text(row[0]) } catch { throw StoreError(.database, error.detail) }
            }
        }
    }
}
