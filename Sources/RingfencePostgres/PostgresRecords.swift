import PostgresNIO
import RingfenceAudit
import RingfenceRuntime

/// The statements that write a batch and read records back, over one leased connection.
/// Damaged content (a hash of the wrong length, a time out of range, a name that is not UTF-8,
/// a head that disagrees with the log) is reported as `foreignSchema`, naming the record.
enum PostgresRecords {
    /// postgres-nio's logger for our queries: nothing below critical, which it never logs.
    static let logger: Logger = {
        var logger = Logger(label: "ringfence.postgres")
        logger.logLevel = .critical
        return logger
    }()

    // MARK: Writing

    /// Locks the head row — every commit of every node waits here for the one before it — reads
    /// the head and the store's version, and sets this transaction's `synchronous_commit`
    /// (`set_config(…, true)` is `SET LOCAL`). With `$2`, the server process of the tenure this
    /// store holds, also says whether that process still holds an advisory lock: the fence
    /// against committing after the tenure was lost (its connection closed and another node took it).
    static let lockHeadSQL = """
        SELECT size, last_hash, set_config('synchronous_commit', $1, true), version,
               $2::bigint IS NULL OR EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $2::bigint)
        FROM ringfence.audit_head WHERE id = 1 FOR UPDATE
        """

    /// Writes a whole batch in one statement: state rows (deletes, each leaving a tombstone even
    /// for a row that was not there, then puts in key order, removing theirs), entries and their data, Merkle nodes, checkpoints, the
    /// new head and the store's new version `$26`, which stamps every row and tombstone written.
    /// Every array may be empty; `$23` is false when the batch moves no head. Returns the
    /// transaction's `synchronous_commit` as the server has it.
    static let writeSQL = """
        WITH removed AS (
            DELETE FROM ringfence.state_rows AS r USING unnest($1::bytea[], $2::bytea[]) AS d(collection, key)
            WHERE r.collection = d.collection AND r.key = d.key
        ), buried AS (
            INSERT INTO ringfence.state_deletes (collection, key, version)
            SELECT collection, key, $26::bigint FROM unnest($1::bytea[], $2::bytea[]) AS d(collection, key)
            ON CONFLICT (collection, key) DO UPDATE SET version = excluded.version
        ), written AS (
            INSERT INTO ringfence.state_rows (collection, key, value, version)
            SELECT collection, key, value, $26::bigint FROM unnest($3::bytea[], $4::bytea[], $5::bytea[]) AS p(collection, key, value)
            ORDER BY collection, key
            ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value, version = excluded.version
        ), revived AS (
            DELETE FROM ringfence.state_deletes AS t USING unnest($3::bytea[], $4::bytea[]) AS p(collection, key)
            WHERE t.collection = p.collection AND t.key = p.key
        ), entries AS (
            INSERT INTO ringfence.audit_entries (seq, time, kind, session, agent, data_hash, prev, hash)
            SELECT * FROM unnest($6::bigint[], $7::bigint[], $8::bytea[], $9::bytea[], $10::bytea[], $11::bytea[], $12::bytea[], $13::bytea[])
        ), data AS (
            INSERT INTO ringfence.audit_data (seq, data) SELECT * FROM unnest($14::bigint[], $15::text[])
        ), nodes AS (
            INSERT INTO ringfence.audit_nodes (level, idx, hash) SELECT * FROM unnest($16::bigint[], $17::bigint[], $18::bytea[])
            ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash
        ), checkpoints AS (
            INSERT INTO ringfence.audit_checkpoints (size, root, note, time)
            SELECT * FROM unnest($19::bigint[], $20::bytea[], $21::text[], $22::bigint[])
            ON CONFLICT (size) DO UPDATE SET root = excluded.root, note = excluded.note, time = excluded.time
        ), head AS (
            UPDATE ringfence.audit_head SET version = $26::bigint,
                size = CASE WHEN $23 THEN $24 ELSE size END, last_hash = CASE WHEN $23 THEN $25 ELSE last_hash END
            WHERE id = 1
        )
        SELECT current_setting('synchronous_commit')
        """

    /// A batch as bind arrays: checked, de-duplicated and ordered once, before any attempt.
    struct PreparedBatch: Sendable {
        /// The entries, for the head check.
        var entries: [StoredAuditEntry]
        /// The bindings of `writeSQL` for the whole batch, but for the version (`$26`), which
        /// each attempt learns when it locks the head.
        var bindings: PostgresBindings
        /// The bindings of `writeSQL` without the audit entries, their data and the head (for a
        /// retry that finds its entries already stored), but for the version.
        var bindingsWithoutEntries: PostgresBindings
    }

    /// A state key as the bytes the store orders and compares by.
    private struct ByteKey: Hashable {
        /// The collection's UTF-8 bytes.
        var collection: [UInt8]
        /// The key's UTF-8 bytes.
        var key: [UInt8]

        /// Byte order of the collection, then of the key (PostgreSQL's order for bytea).
        static func precedes(_ a: ByteKey, _ b: ByteKey) -> Bool {
            a.collection == b.collection ? a.key.lexicographicallyPrecedes(b.key) : a.collection.lexicographicallyPrecedes(b.collection)
        }
    }

    /// Turns `batch` into the bindings of `writeSQL`. Puts apply before deletes (a key put and
    /// deleted in one batch ends deleted), a later put of a key replaces an earlier one, and
    /// the rows are written in canonical (byte) order. Data that PostgreSQL's text cannot hold
    /// and sizes beyond a bigint are refused.
    static func prepare(_ batch: StoreBatch) throws(StoreError) -> PreparedBatch {
        var final: [ByteKey: [UInt8]?] = [:]
        for row in batch.puts { final[ByteKey(collection: Array(row.key.collection.utf8), key: Array(row.key.key.utf8))] = .some(row.value) }
        for key in batch.deletes { final[ByteKey(collection: Array(key.collection.utf8), key: Array(key.key.utf8))] = .some(nil) }
        let ordered = final.keys.sorted(by: ByteKey.precedes)
        var deleteCollections: [[UInt8]?] = [], deleteKeys: [[UInt8]?] = []
        var putCollections: [[UInt8]?] = [], putKeys: [[UInt8]?] = [], putValues: [[UInt8]?] = []
        for key in ordered {
            switch final[key] {
            case .some(.some(let value)):
                putCollections.append(key.collection)
                putKeys.append(key.key)
                putValues.append(value)
            default:
                deleteCollections.append(key.collection)
                deleteKeys.append(key.key)
            }
        }

        var seqs: [Int64] = [], times: [Int64] = []
        var kinds: [[UInt8]?] = [], sessions: [[UInt8]?] = [], agents: [[UInt8]?] = []
        var dataHashes: [[UInt8]?] = [], prevs: [[UInt8]?] = [], hashes: [[UInt8]?] = []
        var dataSeqs: [Int64] = [], data: [[UInt8]] = []
        for stored in batch.entries {
            let entry = stored.entry
            // `seq` is at most 2^53 − 1 (`AuditEntry` refuses more), so it always fits.
            seqs.append(Int64(entry.seq))
            times.append(entry.time.microseconds)
            kinds.append(Array(entry.kind.utf8))
            sessions.append(entry.session.map { Array($0.utf8) })
            agents.append(entry.agent.map { Array($0.utf8) })
            dataHashes.append(entry.dataHash.bytes)
            prevs.append(entry.prev.bytes)
            hashes.append(stored.hash.bytes)
            if let bytes = stored.data {
                guard String(validating: bytes, as: UTF8.self) != nil, !bytes.contains(0) else {
                    throw StoreError(.database, PostgresMessages.dataNotText(seq: entry.seq))
                }
                dataSeqs.append(Int64(entry.seq))
                data.append(bytes)
            }
        }

        var nodesByID: [MerkleNodeID: AuditHash] = [:]
        for node in batch.nodes { nodesByID[node.id] = node.hash }
        let nodeIDs = nodesByID.keys.sorted()
        var checkpointsBySize: [UInt64: StoredCheckpoint] = [:]
        for checkpoint in batch.checkpoints { checkpointsBySize[checkpoint.size] = checkpoint }
        var checkpointSizes: [Int64] = [], roots: [[UInt8]?] = [], notes: [[UInt8]] = [], checkpointTimes: [Int64] = []
        for size in checkpointsBySize.keys.sorted() {
            let checkpoint = checkpointsBySize[size]!
            guard let stored = Int64(exactly: size) else { throw StoreError(.database, StoreMessages.outOfRange("checkpoint size", size)) }
            guard !checkpoint.note.utf8.contains(0) else {
                throw StoreError(.database, "the note of the checkpoint of size \(size) holds a nul character, which the store cannot keep as text")
            }
            checkpointSizes.append(stored)
            roots.append(checkpoint.root.bytes)
            notes.append(Array(checkpoint.note.utf8))
            checkpointTimes.append(checkpoint.time.microseconds)
        }

        /// The bindings, with or without the audit entries.
        func bindings(withEntries: Bool) -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 26)
            bindings.append(ByteaArray(deleteCollections))
            bindings.append(ByteaArray(deleteKeys))
            bindings.append(ByteaArray(putCollections))
            bindings.append(ByteaArray(putKeys))
            bindings.append(ByteaArray(putValues))
            bindings.append(withEntries ? seqs : [])
            bindings.append(withEntries ? times : [])
            for column in [kinds, sessions, agents, dataHashes, prevs, hashes] {
                bindings.append(ByteaArray(withEntries ? column : []))
            }
            bindings.append(withEntries ? dataSeqs : [])
            bindings.append(TextArray(withEntries ? data : []))
            bindings.append(nodeIDs.map { Int64($0.level) })
            bindings.append(nodeIDs.map { Int64(bitPattern: $0.index) })
            bindings.append(ByteaArray(nodeIDs.map { nodesByID[$0]!.bytes }))
            bindings.append(checkpointSizes)
            bindings.append(ByteaArray(roots))
            bindings.append(TextArray(notes))
            bindings.append(checkpointTimes)
            let movesHead = withEntries && !batch.entries.isEmpty
            bindings.append(movesHead)
            bindings.append(movesHead ? Int64(batch.entries.last!.entry.seq) + 1 : 0)
            bindings.append(ByteBuffer(bytes: movesHead ? batch.entries.last!.hash.bytes : []))
            return bindings
        }
        return PreparedBatch(entries: batch.entries, bindings: bindings(withEntries: true),
                             bindingsWithoutEntries: bindings(withEntries: false))
    }

    /// How one attempt at a commit ended.
    struct CommitReport: Sendable {
        /// The transaction's `synchronous_commit`, as the server reported it before COMMIT.
        var synchronousCommit: String
        /// True when the batch's entries were found already stored (an earlier attempt whose
        /// acknowledgement was lost committed them), so only its other changes were written.
        var recognised: Bool
    }

    /// A failure of the COMMIT statement itself: the transaction may or may not have committed.
    struct CommitInDoubt: Error {
        /// What the connection reported.
        var underlying: any Error
    }

    /// One attempt: BEGIN, lock and check the head, write, COMMIT. Rolls back on any failure
    /// before COMMIT, and when the caller gave up before COMMIT was sent. Entries that do not
    /// continue the head are taken as already committed only when an earlier attempt's COMMIT
    /// went unanswered (or `assumeRetry` says the caller is repeating such a commit).
    static func commitOnce(_ batch: PreparedBatch, durability: Durability, on connection: PostgresConnection,
                           control: CallControl, assumeRetry: Bool, tenurePID: Int64? = nil, url: String) async throws -> CommitReport {
        _ = try await connection.query("BEGIN", logger: logger)
        do {
            var lock = PostgresBindings(capacity: 2)
            lock.append(durability == .relaxed ? "off" : "on")
            lock.append(tenurePID)
            let rows = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: lockHeadSQL, binds: lock), logger: logger))
            guard let row = rows.first else {
                throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "the `ringfence.audit_head` row is missing"))
            }
            let head = try decodeHead(row, url: url)
            let version = try decodeVersion(row[3], url: url)
            guard (try? PostgresRows.bool(row[4])) == true else { throw StoreError(.unavailable, PostgresMessages.tenureLost(url)) }
            guard version < Int64.max else { throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "its version \(version) cannot grow")) }
            var recognised = false
            do {
                try StoreChecks.continues(batch.entries, size: head.size, lastHash: head.lastHash)
            } catch {
                guard control.previousCommitInDoubt || assumeRetry,
                      try await alreadyStored(batch.entries, below: head.size, on: connection, url: url) else { throw error }
                recognised = true
            }
            var binds = recognised ? batch.bindingsWithoutEntries : batch.bindings
            binds.append(Int64(version + 1))
            let written = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: writeSQL, binds: binds), logger: logger))
            let setting = try written.first.map { row throws(ColumnProblem) in try PostgresRows.text(row[0]) } ?? ""
            guard control.beginCommit() else { throw BridgeError.abandoned }
            do {
                _ = try await connection.query("COMMIT", logger: logger)
            } catch {
                throw CommitInDoubt(underlying: error)
            }
            return CommitReport(synchronousCommit: setting, recognised: recognised)
        } catch let error as CommitInDoubt {
            throw error
        } catch {
            await rollback(connection)
            throw error
        }
    }

    /// Ends the open transaction; a connection that cannot even roll back is closed, so the
    /// pool never lends it out inside a transaction.
    static func rollback(_ connection: PostgresConnection) async {
        do {
            _ = try await connection.query("ROLLBACK", logger: logger)
        } catch {
            try? await connection.close()
        }
    }

    /// True when every entry of `entries` is already stored at its `seq` with the same hash:
    /// the batch was committed by an earlier attempt.
    static func alreadyStored(_ entries: [StoredAuditEntry], below size: UInt64, on connection: PostgresConnection, url: String) async throws -> Bool {
        guard let first = entries.first, let last = entries.last, last.entry.seq < size else { return false }
        let query: PostgresQuery = "SELECT seq, hash FROM ringfence.audit_entries WHERE seq >= \(Int64(first.entry.seq)) AND seq <= \(Int64(last.entry.seq)) ORDER BY seq"
        let rows = try await PostgresRows.all(connection.query(query, logger: logger))
        guard rows.count == entries.count else { return false }
        for (row, stored) in zip(rows, entries) {
            let seq = try column(row, entry: Int64(stored.entry.seq), url: url) { row throws(ColumnProblem) in try PostgresRows.int64(row[0]) }
            let hash = try column(row, entry: seq, url: url) { row throws(ColumnProblem) in try PostgresRows.hash(row[1]) }
            guard seq == Int64(stored.entry.seq), hash == stored.hash else { return false }
        }
        return true
    }

    // MARK: Reading

    /// The head row: the log's size and last hash.
    static func decodeHead(_ row: PostgresRandomAccessRow, url: String) throws(StoreError) -> (size: UInt64, lastHash: AuditHash) {
        do throws(ColumnProblem) {
            let size = try PostgresRows.int64(row[0])
            guard size >= 0, UInt64(size) <= AuditEntry.maximumSeq + 1 else { throw ColumnProblem("`size` \(size) is out of range") }
            return (UInt64(size), try PostgresRows.hash(row[1]))
        } catch {
            throw StoreError(.foreignSchema, PostgresMessages.badHead(url, error.detail))
        }
    }

    /// The store's version held in `cell` (a non-negative bigint).
    static func decodeVersion(_ cell: PostgresCell, url: String) throws(StoreError) -> UInt64 {
        do throws(ColumnProblem) {
            let version = try PostgresRows.int64(cell)
            guard version >= 0 else { throw ColumnProblem("`version` \(version) is negative") }
            return UInt64(version)
        } catch {
            throw StoreError(.foreignSchema, PostgresMessages.badHead(url, error.detail))
        }
    }

    /// Every state row in byte order, the head (checked against the last entry) and the store's
    /// version, read in one repeatable-read transaction so that they agree.
    static func load(on connection: PostgresConnection, url: String) async throws -> StoreSnapshot {
        _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
        do {
            let headRows = try await PostgresRows.all(connection.query(
                "SELECT size, last_hash, version FROM ringfence.audit_head WHERE id = 1", logger: logger))
            guard let headRow = headRows.first else {
                throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "the `ringfence.audit_head` row is missing"))
            }
            let head = try decodeHead(headRow, url: url)
            let version = try decodeVersion(headRow[2], url: url)
            let last = try await PostgresRows.all(connection.query(
                "SELECT seq, hash FROM ringfence.audit_entries ORDER BY seq DESC LIMIT 1", logger: logger))
            if let row = last.first {
                let seq = try column(row, entry: -1, url: url) { row throws(ColumnProblem) in try PostgresRows.int64(row[0]) }
                let hash = try column(row, entry: seq, url: url) { row throws(ColumnProblem) in try PostgresRows.hash(row[1]) }
                guard head.size == UInt64(clamping: seq) + 1, seq >= 0, hash == head.lastHash else {
                    throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "it records \(head.size) entries ending in \(head.lastHash.hex.prefix(16))…, but the last stored entry is \(seq) with hash \(hash.hex.prefix(16))…"))
                }
            } else if head.size != 0 {
                throw StoreError(.foreignSchema, PostgresMessages.badHead(url, "it records \(head.size) entries, but none is stored"))
            }
            var rows: [StateRow] = []
            for row in try await PostgresRows.all(connection.query(
                "SELECT collection, key, value FROM ringfence.state_rows ORDER BY collection, key", logger: logger)) {
                do throws(ColumnProblem) {
                    rows.append(StateRow(StateKey(try PostgresRows.name(row[0]), try PostgresRows.name(row[1])), try PostgresRows.bytes(row[2])))
                } catch {
                    throw StoreError(.foreignSchema, StoreMessages.badRow(url, error.detail))
                }
            }
            _ = try await connection.query("COMMIT", logger: logger)
            return StoreSnapshot(rows: rows, auditSize: head.size, lastHash: head.lastHash, version: version)
        } catch {
            await rollback(connection)
            throw error
        }
    }

    /// Up to `limit` entries from `seq` on, with their data.
    static func entries(from seq: UInt64, limit: Int, on connection: PostgresConnection, url: String) async throws -> [StoredAuditEntry] {
        let query: PostgresQuery = """
            SELECT e.seq, e.time, e.kind, e.session, e.agent, e.data_hash, e.prev, e.hash, d.data
            FROM ringfence.audit_entries AS e LEFT JOIN ringfence.audit_data AS d ON d.seq = e.seq
            WHERE e.seq >= \(Int64(seq)) ORDER BY e.seq LIMIT \(Int64(limit))
            """
        var entries: [StoredAuditEntry] = []
        for row in try await PostgresRows.all(connection.query(query, logger: logger)) {
            entries.append(try entry(row, url: url))
        }
        return entries
    }

    /// Decodes one row of the entries query.
    static func entry(_ row: PostgresRandomAccessRow, url: String) throws(StoreError) -> StoredAuditEntry {
        let seq = try column(row, entry: -1, url: url) { row throws(ColumnProblem) in try PostgresRows.int64(row[0]) }
        do throws(ColumnProblem) {
            guard seq >= 0 else { throw ColumnProblem("`seq` is negative") }
            let microseconds = try PostgresRows.int64(row[1])
            guard let time = try? AuditTime(microseconds: microseconds) else {
                throw ColumnProblem("`time` \(microseconds) is outside years 0001 to 9999")
            }
            let kind = try PostgresRows.name(row[2])
            let session = try PostgresRows.optionalName(row[3])
            let agent = try PostgresRows.optionalName(row[4])
            let dataHash = try PostgresRows.hash(row[5])
            let prev = try PostgresRows.hash(row[6])
            let hash = try PostgresRows.hash(row[7])
            let data = try PostgresRows.optionalTextBytes(row[8])
            let entry: AuditEntry
            do {
                entry = try AuditEntry(seq: UInt64(seq), time: time, kind: kind, session: session, agent: agent, dataHash: dataHash, prev: prev)
            } catch {
                throw ColumnProblem(error.message)
            }
            return StoredAuditEntry(entry: entry, hash: hash, data: data)
        } catch {
            throw StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: seq, error.detail))
        }
    }

    /// Reads one column of an entry row, reporting a problem as damage to entry `seq` (−1 before
    /// the seq itself is read).
    static func column<T>(_ row: PostgresRandomAccessRow, entry seq: Int64, url: String,
                          _ read: (PostgresRandomAccessRow) throws(ColumnProblem) -> T) throws(StoreError) -> T {
        do throws(ColumnProblem) {
            return try read(row)
        } catch {
            throw StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: seq, error.detail))
        }
    }

    /// The stored nodes among `ids`, read with one query.
    static func nodes(_ ids: [MerkleNodeID], on connection: PostgresConnection, url: String) async throws -> [MerkleNodeID: AuditHash] {
        var wanted: [Int64: [Int64: MerkleNodeID]] = [:]
        for id in ids { wanted[Int64(id.level), default: [:]][Int64(bitPattern: id.index)] = id }
        var binds = PostgresBindings(capacity: 2)
        binds.append(ids.map { Int64($0.level) })
        binds.append(ids.map { Int64(bitPattern: $0.index) })
        let query = PostgresQuery(unsafeSQL: """
            SELECT n.level, n.idx, n.hash FROM unnest($1::bigint[], $2::bigint[]) AS q(level, idx)
            JOIN ringfence.audit_nodes AS n ON n.level = q.level AND n.idx = q.idx
            """, binds: binds)
        var found: [MerkleNodeID: AuditHash] = [:]
        for row in try await PostgresRows.all(connection.query(query, logger: logger)) {
            let level: Int64, index: Int64
            do throws(ColumnProblem) {
                level = try PostgresRows.int64(row[0])
                index = try PostgresRows.int64(row[1])
            } catch {
                throw StoreError(.foreignSchema, StoreMessages.badNode(url, level: -1, index: UInt64(bitPattern: -1), error.detail))
            }
            guard let id = wanted[level]?[index] else { continue }
            do throws(ColumnProblem) {
                found[id] = try PostgresRows.hash(row[2])
            } catch {
                throw StoreError(.foreignSchema, StoreMessages.badNode(url, level: Int(level), index: UInt64(bitPattern: index), error.detail))
            }
        }
        return found
    }

    /// The nodes of `level` with indices in `indices`, in index order (nil where none), read as
    /// one range of the primary key.
    static func nodes(level: Int, indices: Range<UInt64>, on connection: PostgresConnection, url: String) async throws -> [AuditHash?] {
        var binds = PostgresBindings(capacity: 3)
        binds.append(Int64(level))
        binds.append(Int64(bitPattern: indices.lowerBound))
        binds.append(Int64(bitPattern: indices.upperBound))
        let query = PostgresQuery(unsafeSQL: "SELECT idx, hash FROM ringfence.audit_nodes WHERE level = $1 AND idx >= $2 AND idx < $3",
                                  binds: binds)
        var found = [AuditHash?](repeating: nil, count: indices.count)
        for row in try await PostgresRows.all(connection.query(query, logger: logger)) {
            var index = UInt64(bitPattern: -1)
            do throws(ColumnProblem) {
                index = UInt64(bitPattern: try PostgresRows.int64(row[0]))
                guard indices.contains(index) else { continue }
                found[Int(index - indices.lowerBound)] = try PostgresRows.hash(row[1])
            } catch {
                throw StoreError(.foreignSchema, StoreMessages.badNode(url, level: level, index: index, error.detail))
            }
        }
        return found
    }

    /// Every checkpoint, smallest first.
    static func checkpoints(on connection: PostgresConnection, url: String) async throws -> [StoredCheckpoint] {
        var checkpoints: [StoredCheckpoint] = []
        for row in try await PostgresRows.all(connection.query(
            "SELECT size, root, note, time FROM ringfence.audit_checkpoints ORDER BY size", logger: logger)) {
            var size: Int64 = -1
            do throws(ColumnProblem) {
                size = try PostgresRows.int64(row[0])
                guard size >= 0 else { throw ColumnProblem("`size` is negative") }
                let root = try PostgresRows.hash(row[1])
                let note = try PostgresRows.text(row[2])
                let microseconds = try PostgresRows.int64(row[3])
                guard let time = try? AuditTime(microseconds: microseconds) else {
                    throw ColumnProblem("`time` \(microseconds) is outside years 0001 to 9999")
                }
                checkpoints.append(StoredCheckpoint(size: UInt64(size), root: root, note: note, time: time))
            } catch {
                throw StoreError(.foreignSchema, StoreMessages.badCheckpoint(url, size: size, error.detail))
            }
        }
        return checkpoints
    }

    /// The hashes of the entries of `session`, in log order (through the session index).
    static func entryHashes(session: String, on connection: PostgresConnection, url: String) async throws -> [AuditHash] {
        var binds = PostgresBindings(capacity: 1)
        binds.append(ByteBuffer(bytes: Array(session.utf8)))
        let query = PostgresQuery(unsafeSQL: "SELECT seq, hash FROM ringfence.audit_entries WHERE session = $1 ORDER BY seq", binds: binds)
        var hashes: [AuditHash] = []
        for row in try await PostgresRows.all(connection.query(query, logger: logger)) {
            let seq = try column(row, entry: -1, url: url) { row throws(ColumnProblem) in try PostgresRows.int64(row[0]) }
            hashes.append(try column(row, entry: seq, url: url) { row throws(ColumnProblem) in try PostgresRows.hash(row[1]) })
        }
        return hashes
    }

    /// Deletes the data of entries below `seq`; returns how many rows went.
    static func purge(before seq: UInt64, on connection: PostgresConnection, url: String) async throws -> Int {
        let query: PostgresQuery = """
            WITH gone AS (DELETE FROM ringfence.audit_data WHERE seq < \(Int64(clamping: seq)) RETURNING 1) SELECT count(*) FROM gone
            """
        guard let row = try await PostgresRows.all(connection.query(query, logger: logger)).first else { return 0 }
        do throws(ColumnProblem) {
            return Int(try PostgresRows.int64(row[0]))
        } catch {
            throw StoreError(.database, StoreMessages.failed(url, "purge audit data", error.detail))
        }
    }
}
