import GRDB
import GRDBSQLite
import RingfenceAudit
import RingfenceRuntime

/// The statements that write a batch and read records back, over one connection, inside the
/// transaction the store opened. Damaged content (a hash of the wrong length, a time out of
/// range, a mistyped column) is reported as `foreignSchema`, naming the record.
enum SQLiteRecords {
    // MARK: Writing

    /// Checks that the batch's entries continue the stored log, then writes the whole batch.
    static func write(_ batch: StoreBatch, to db: Database, url: String) throws {
        var last: LastTile?
        if !batch.entries.isEmpty {
            last = try lastTile(db, url: url, keepingBytes: true)
            try StoreChecks.continues(batch.entries, size: last?.end ?? 0, lastHash: last?.lastHash ?? .zero)
        }
        if !batch.puts.isEmpty {
            let put = try db.cachedStatement(sql: """
                INSERT INTO state_rows (collection, key, value) VALUES (?, ?, ?)
                ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value
                """)
            for row in batch.puts {
                let statement = RawStatement(put)
                try statement.bind(1, text: row.key.collection)
                try statement.bind(2, text: row.key.key)
                try row.value.withUnsafeBytes { try statement.bind(3, blob: $0) }
                try statement.run()
            }
        }
        if !batch.deletes.isEmpty {
            let delete = try db.cachedStatement(sql: "DELETE FROM state_rows WHERE collection = ? AND key = ?")
            for key in batch.deletes {
                let statement = RawStatement(delete)
                try statement.bind(1, text: key.collection)
                try statement.bind(2, text: key.key)
                try statement.run()
            }
        }
        if !batch.entries.isEmpty {
            try writeEntries(batch.entries, after: last, to: db)
            try writeSessionLists(batch.entries, to: db)
        }
        if !batch.nodes.isEmpty {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)
                ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash
                """)
            for node in batch.nodes {
                let statement = RawStatement(insert)
                try statement.bind(1, Int64(node.id.level))
                try statement.bind(2, Int64(bitPattern: node.id.index))
                try statement.bind(3, hash: node.hash)
                try statement.run()
            }
        }
        if !batch.checkpoints.isEmpty {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO audit_checkpoints (size, root, note, time) VALUES (?, ?, ?, ?)
                ON CONFLICT (size) DO UPDATE SET root = excluded.root, note = excluded.note, time = excluded.time
                """)
            for checkpoint in batch.checkpoints {
                guard let size = Int64(exactly: checkpoint.size) else {
                    throw StoreError(.database, StoreMessages.outOfRange("checkpoint size", checkpoint.size))
                }
                let statement = RawStatement(insert)
                try statement.bind(1, size)
                try statement.bind(2, hash: checkpoint.root)
                try statement.bind(3, text: checkpoint.note)
                try statement.bind(4, checkpoint.time.microseconds)
                try statement.run()
            }
        }
    }

    /// Writes entries (already checked to continue the log) and their data into tiles: the
    /// newest tile, when it has room, is rewritten with the first of them after its own.
    private static func writeEntries(_ entries: [StoredAuditEntry], after last: LastTile?, to db: Database) throws {
        guard !entries.isEmpty else { return }
        let putTile = try db.cachedStatement(sql: """
            INSERT INTO audit_tiles (first, envelopes, data) VALUES (?, ?, ?)
            ON CONFLICT (first) DO UPDATE SET envelopes = excluded.envelopes, data = excluded.data
            """)
        func put(_ first: Int64, _ envelopes: [UInt8], _ data: [UInt8]) throws { try runTile(putTile, first, envelopes, data) }
        var tiles = AuditTiles.Builder()
        if let last, last.count < AuditTiles.capacity {
            tiles = AuditTiles.Builder(continuing: last.first, count: last.count, envelopes: last.bytes, data: last.data)
        }
        for stored in entries { try tiles.add(stored, put: put) }
        try tiles.finish(put: put)
    }

    /// Runs `statement` (an insert of `audit_tiles (first, envelopes, data)`) with one tile.
    private static func runTile(_ statement: Statement, _ first: Int64, _ envelopes: [UInt8], _ data: [UInt8]) throws {
        let raw = RawStatement(statement)
        try raw.bind(1, first)
        try envelopes.withUnsafeBytes { try raw.bind(2, blob: $0) }
        try data.withUnsafeBytes { try raw.bind(3, blob: $0) }
        try raw.run()
    }

    /// Lists the entries of each session in the batch in one `audit_session_entries` row: the
    /// session's first seq in the batch and the JSON list of all its seqs, in order.
    private static func writeSessionLists(_ entries: [StoredAuditEntry], to db: Database) throws {
        var lists: [(session: String, first: UInt64, seqs: [UInt8])] = []
        // Where each session's list is, looked up only for an entry whose session is not the
        // one before it.
        var positions: [String: Int] = [:]
        for stored in entries {
            guard let session = stored.entry.session else { continue }
            let i: Int
            if let last = lists.indices.last, lists[last].session == session {
                i = last
            } else if let found = positions[session] {
                i = found
            } else {
                i = lists.count
                positions[session] = i
                lists.append((session, stored.entry.seq, [UInt8(ascii: "[")]))
            }
            if lists[i].seqs.count > 1 { lists[i].seqs.append(UInt8(ascii: ",")) }
            ECMAScriptNumber.appendDecimal(stored.entry.seq, to: &lists[i].seqs)
        }
        guard !lists.isEmpty else { return }
        let insert = try db.cachedStatement(sql: "INSERT INTO audit_session_entries (session, first, seqs) VALUES (?, ?, ?)")
        for var list in lists {
            list.seqs.append(UInt8(ascii: "]"))
            let statement = RawStatement(insert)
            try statement.bind(1, text: list.session)
            try statement.bind(2, Int64(list.first))
            try list.seqs.withUnsafeBytes { try statement.bind(3, textBytes: $0) }
            try statement.run()
        }
    }

    // MARK: Reading

    /// The log's size (last `seq` + 1) and last hash.
    static func head(_ db: Database, url: String) throws -> (size: UInt64, lastHash: AuditHash) {
        guard let last = try lastTile(db, url: url, keepingBytes: false) else { return (0, .zero) }
        return (last.end, last.lastHash)
    }

    /// The newest tile: where it starts, how many entries it holds, the last one's hash and
    /// (when asked for) its bytes.
    struct LastTile {
        var first: Int64
        var count: Int
        var lastHash: AuditHash
        /// Its envelopes and data (empty unless asked for).
        var bytes: [UInt8]
        var data: [UInt8]

        /// The log's size: the seq after the tile's last entry.
        var end: UInt64 { UInt64(first) + UInt64(count) }
    }

    /// The newest tile, or nil for an empty log. Its bytes, when kept (to append to the tile),
    /// are checked to read whole, data included.
    static func lastTile(_ db: Database, url: String, keepingBytes: Bool) throws -> LastTile? {
        let statement = RawStatement(try db.cachedStatement(sql: "SELECT first, envelopes, data FROM audit_tiles ORDER BY first DESC LIMIT 1"))
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        let first = try tileFirst(statement, url: url)
        var lastHash = AuditHash.zero
        let count = try readTile(statement, first: first, withData: keepingBytes, url: url) { _, fields, _ in lastHash = fields.hash }
        guard UInt64(first) + UInt64(count) - 1 <= AuditEntry.maximumSeq else {
            throw StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: first, "its tile runs past the largest seq"))
        }
        guard keepingBytes else { return LastTile(first: first, count: count, lastHash: lastHash, bytes: [], data: []) }
        // Both columns were read as blobs just now.
        return LastTile(first: first, count: count, lastHash: lastHash, bytes: Array(try statement.blob(1, column: "envelopes")),
                        data: Array(try statement.blob(2, column: "data")))
    }

    /// The `first` column of the current tile row: a seq.
    private static func tileFirst(_ statement: RawStatement, url: String) throws -> Int64 {
        let first = statement.int64(0)
        do throws(ColumnProblem) {
            let checked = try statement.integer(0, column: "first")
            guard checked >= 0, UInt64(checked) <= AuditEntry.maximumSeq else { throw ColumnProblem("`first` \(checked) is out of range") }
            return checked
        } catch {
            throw StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: first, error.detail))
        }
    }

    /// Reads the tile in the current row of a statement selecting `first, envelopes[, data]`
    /// (`first` read already): calls `body` with each entry's seq, fields and — `withData` —
    /// data (nil when purged), valid during the call; returns how many entries the tile holds.
    /// A tile that does not read, or whose data does not match its envelopes, is reported as
    /// damage at the entry where reading failed.
    @discardableResult
    private static func readTile(_ statement: RawStatement, first: Int64, withData: Bool, url: String,
                                 _ body: (Int64, AuditTiles.Fields, UnsafeRawBufferPointer?) throws -> Void) throws -> Int {
        func damaged(_ seq: Int64, _ problem: ColumnProblem) -> StoreError {
            StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: seq, problem.detail))
        }
        let envelopes: UnsafeRawBufferPointer
        var data: AuditTiles.DataReader?
        do throws(ColumnProblem) {
            envelopes = try statement.blob(1, column: "envelopes")
            if withData { data = AuditTiles.DataReader(try statement.blob(2, column: "data")) }
        } catch {
            throw damaged(first, error)
        }
        let count: Int
        do {
            count = try AuditTiles.scan(envelopes, first: first) { (index, _, fields) throws(any Error) in
                let seq = first + Int64(index)
                var bytes: UnsafeRawBufferPointer?
                if data != nil {
                    do throws(ColumnProblem) { bytes = try data!.next() } catch { throw damaged(seq, error) }
                }
                try body(seq, fields, bytes)
            }
        } catch {
            switch error {
            case .damaged(let seq, let problem): throw damaged(seq, problem)
            case .body(let error): throw error
            }
        }
        if let data, !data.atEnd {
            throw damaged(first + Int64(count), ColumnProblem("its tile's data holds more entries than its envelopes"))
        }
        return count
    }

    /// Up to `limit` entries from `seq` on.
    static func entries(_ db: Database, from seq: UInt64, limit: Int, url: String) throws -> [StoredAuditEntry] {
        var entries: [StoredAuditEntry] = []
        entries.reserveCapacity(min(limit, 65_536))
        try forEachEntry(db, from: seq, limit: limit, url: url) { entry, hash, data in
            entries.append(StoredAuditEntry(entry: entry, hash: hash, data: data.map { Array($0) }))
        }
        return entries
    }

    /// Calls `body` with each of up to `limit` entries from `seq` on: the envelope, its stored
    /// hash and its data as SQLite holds it (valid during the call only), from the tile that can
    /// hold `seq` on, in key order.
    static func forEachEntry(_ db: Database, from seq: UInt64, limit: Int, url: String,
                             _ body: (AuditEntry, AuditHash, UnsafeRawBufferPointer?) -> Void) throws {
        let tiles = RawStatement(try db.cachedStatement(sql: "SELECT first, envelopes, data FROM audit_tiles WHERE first >= ? ORDER BY first"))
        defer { tiles.reset() }
        let start = Int64(seq)
        try tiles.bind(1, max(0, start - Int64(AuditTiles.capacity - 1)))
        var remaining = limit
        var next: Int64 = 0  // the seq after the last tile's
        while remaining > 0, try tiles.step() {
            let first = try tileFirst(tiles, url: url)
            guard first >= next else {
                throw StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: first, "its tile overlaps the tile before it"))
            }
            let count = try readTile(tiles, first: first, withData: true, url: url) { seq, fields, data in
                guard seq >= start, remaining > 0 else { return }
                do throws(ColumnProblem) {
                    body(try fields.entry(seq: UInt64(seq)), fields.hash, data)
                } catch {
                    throw StoreError(.foreignSchema, StoreMessages.badEntry(url, seq: seq, error.detail))
                }
                remaining -= 1
            }
            next = first + Int64(count)
        }
    }

    /// Drops the data of the entries below `seq`, tile by tile; returns how many entries had data.
    static func purgeData(_ db: Database, before seq: Int64, url: String) throws -> Int {
        let select = RawStatement(try db.cachedStatement(sql: "SELECT first, envelopes, data FROM audit_tiles WHERE first >= ? AND first < ? ORDER BY first LIMIT 256"))
        let update = try db.cachedStatement(sql: "UPDATE audit_tiles SET data = ? WHERE first = ?")
        var dropped = 0
        var from: Int64 = 0
        // Read a run of tiles, then write the ones that change: a table is not written while a
        // read of it is under way.
        while true {
            var changed: [(first: Int64, data: [UInt8])] = []
            select.reset()
            try select.bind(1, from)
            try select.bind(2, seq)
            var read = 0
            while try select.step() {
                read += 1
                let first = try tileFirst(select, url: url)
                from = first + 1
                var kept: [UInt8] = []
                var droppedHere = 0
                try readTile(select, first: first, withData: true, url: url) { entrySeq, _, data in
                    if entrySeq < seq, data != nil {
                        droppedHere += 1
                        kept.append(0)
                    } else {
                        AuditTiles.appendData(data, to: &kept)
                    }
                }
                if droppedHere > 0 {
                    dropped += droppedHere
                    changed.append((first, kept))
                }
            }
            select.reset()
            for (first, data) in changed {
                let statement = RawStatement(update)
                try data.withUnsafeBytes { try statement.bind(1, blob: $0) }
                try statement.bind(2, first)
                try statement.run()
            }
            if read == 0 { return dropped }
        }
    }

    /// Decodes the envelope and stored hash of the current row of a version-2 `audit_entries`
    /// read (`seq, time, kind, session, agent, data_hash, prev, hash`), whose `seq` column read as
    /// an integer is `seq`.
    private static func envelope(_ statement: RawStatement, seq: Int64) throws(ColumnProblem) -> (AuditEntry, AuditHash) {
        _ = try statement.integer(0, column: "seq")
        guard seq >= 0 else { throw ColumnProblem("`seq` is negative") }
        let microseconds = try statement.integer(1, column: "time")
        guard let time = try? AuditTime(microseconds: microseconds) else {
            throw ColumnProblem("`time` \(microseconds) is outside years 0001 to 9999")
        }
        let kind = try statement.string(2, column: "kind")
        let session = try statement.optionalString(3, column: "session")
        let agent = try statement.optionalString(4, column: "agent")
        let dataHash = try statement.hash(5, column: "data_hash")
        let prev = try statement.hash(6, column: "prev")
        let hash = try statement.hash(7, column: "hash")
        do {
            return (try AuditEntry(seq: UInt64(seq), time: time, kind: kind, session: session, agent: agent,
                                   dataHash: dataHash, prev: prev), hash)
        } catch {
            throw ColumnProblem(error.message)
        }
    }

    /// The stored nodes among `ids`. Runs of neighbours on one level are read as one range of
    /// the primary key, not a seek each.
    static func nodes(_ db: Database, _ ids: [MerkleNodeID], url: String) throws -> [MerkleNodeID: AuditHash] {
        var found: [MerkleNodeID: AuditHash] = [:]
        found.reserveCapacity(ids.count)
        let sorted = ids.sorted()
        var start = 0
        while start < sorted.count {
            let level = sorted[start].level
            var end = start + 1
            while end < sorted.count, sorted[end].level == level, sorted[end].index <= sorted[end - 1].index &+ 1 { end += 1 }
            try forEachNode(db, level: level, from: sorted[start].index, through: sorted[end - 1].index, url: url) { index, hash in
                found[MerkleNodeID(level: level, index: index)] = hash
            }
            start = end
        }
        return found
    }

    /// The nodes of `level` with indices in `indices`, in index order (nil where none), read as
    /// one range of the primary key.
    static func nodes(_ db: Database, level: Int, indices: Range<UInt64>, into found: inout [AuditHash?], url: String) throws {
        found.removeAll(keepingCapacity: true)
        guard !indices.isEmpty else { return }
        found.append(contentsOf: repeatElement(nil, count: indices.count))
        try forEachNode(db, level: level, from: indices.lowerBound, through: indices.upperBound - 1, url: url) { index, hash in
            found[Int(index - indices.lowerBound)] = hash
        }
    }

    /// Calls `body` with each stored node of `level` whose index is in `first...last`, in index
    /// order.
    private static func forEachNode(_ db: Database, level: Int, from first: UInt64, through last: UInt64, url: String,
                                    _ body: (UInt64, AuditHash) -> Void) throws {
        let statement = RawStatement(try db.cachedStatement(sql: "SELECT idx, hash FROM audit_nodes WHERE level = ?1 AND idx >= ?2 AND idx <= ?3"))
        defer { statement.reset() }
        try statement.bind(1, Int64(level))
        try statement.bind(2, Int64(bitPattern: first))
        try statement.bind(3, Int64(bitPattern: last))
        while try statement.step() {
            let index = UInt64(bitPattern: statement.int64(0))
            do throws(ColumnProblem) {
                body(index, try statement.hash(1, column: "hash"))
            } catch {
                throw StoreError(.foreignSchema, StoreMessages.badNode(url, level: level, index: index, error.detail))
            }
        }
    }

    /// The hashes of the entries of `session`, in log order: the seqs its lists name, each
    /// entry's hash read by its seq.
    static func entryHashes(_ db: Database, session: String, url: String) throws -> [AuditHash] {
        var seqs: [Int64] = []
        let lists = RawStatement(try db.cachedStatement(sql: "SELECT first, seqs FROM audit_session_entries WHERE session = ? ORDER BY first"))
        defer { lists.reset() }
        try lists.bind(1, text: session)
        while try lists.step() {
            do throws(ColumnProblem) {
                let text = try lists.string(1, column: "seqs")
                guard let listed = sessionSeqs(text) else { throw ColumnProblem("`seqs` is not a list of entry numbers") }
                seqs += listed
            } catch {
                throw StoreError(.foreignSchema, SQLiteMessages.badSessionList(url, session, first: lists.int64(0), error.detail))
            }
        }
        // Lists are written in log order; a version-1 log's migrated list is sorted here.
        if zip(seqs, seqs.dropFirst()).contains(where: { $0 >= $1 }) {
            seqs.sort()
            if let twice = zip(seqs, seqs.dropFirst()).first(where: { $0 == $1 }) {
                throw StoreError(.foreignSchema, SQLiteMessages.sessionEntryTwice(url, session, seq: twice.0))
            }
        }
        var hashes: [AuditHash] = []
        hashes.reserveCapacity(seqs.count)
        // The tile that holds a seq, read once for all of the session's entries in it.
        let statement = RawStatement(try db.cachedStatement(sql: "SELECT first, envelopes FROM audit_tiles WHERE first <= ? ORDER BY first DESC LIMIT 1"))
        defer { statement.reset() }
        var tileFirst: Int64 = 0
        var tileHashes: [AuditHash] = []
        for seq in seqs {
            if seq < tileFirst || seq >= tileFirst + Int64(tileHashes.count) {
                statement.reset()
                try statement.bind(1, seq)
                tileHashes.removeAll(keepingCapacity: true)
                guard try statement.step() else { throw StoreError(.foreignSchema, SQLiteMessages.missingSessionEntry(url, session, seq: seq)) }
                tileFirst = try Self.tileFirst(statement, url: url)
                try readTile(statement, first: tileFirst, withData: false, url: url) { _, fields, _ in tileHashes.append(fields.hash) }
                guard seq < tileFirst + Int64(tileHashes.count) else {
                    throw StoreError(.foreignSchema, SQLiteMessages.missingSessionEntry(url, session, seq: seq))
                }
            }
            hashes.append(tileHashes[Int(seq - tileFirst)])
        }
        return hashes
    }

    /// Schema version 3's migration: moves a version-2 log's `audit_entries` rows and their
    /// `audit_data` into tiles, a new tile every 16 entries and wherever the seqs are not
    /// consecutive. An entry that does not read stops the migration (the store then does not
    /// open) naming it.
    static func moveEntriesIntoTiles(_ db: Database) throws {
        // Statements of their own (not cached: the tables are dropped after), kept alive while used.
        let select = try db.makeStatement(sql: """
            SELECT e.seq, e.time, e.kind, e.session, e.agent, e.data_hash, e.prev, e.hash, d.data
            FROM audit_entries AS e LEFT JOIN audit_data AS d ON d.seq = e.seq ORDER BY e.seq
            """)
        let insert = try db.makeStatement(sql: "INSERT INTO audit_tiles (first, envelopes, data) VALUES (?, ?, ?)")
        try withExtendedLifetime(select) { try moveEntriesIntoTiles(RawStatement(select), insert) }
    }

    /// Moves the rows `rows` reads into tiles `insert` writes.
    private static func moveEntriesIntoTiles(_ rows: RawStatement, _ insert: Statement) throws {
        defer { rows.reset() }
        func put(_ first: Int64, _ envelopes: [UInt8], _ data: [UInt8]) throws { try runTile(insert, first, envelopes, data) }
        var tiles = AuditTiles.Builder()
        while try rows.step() {
            let seq = rows.int64(0)
            let stored: StoredAuditEntry
            do throws(ColumnProblem) {
                let (entry, hash) = try envelope(rows, seq: seq)
                stored = StoredAuditEntry(entry: entry, hash: hash, data: try rows.optionalBytes(8, column: "data"))
            } catch {
                throw StoreError(.foreignSchema, SQLiteMessages.unmigratableEntry(seq: seq, error.detail))
            }
            try tiles.add(stored, put: put)
        }
        try tiles.finish(put: put)
    }

    /// The seqs of a session list's JSON text (`[3,7,12]`), or nil when it is not such a list.
    static func sessionSeqs(_ text: String) -> [Int64]? {
        var utf8 = text.utf8[...]
        guard utf8.first == UInt8(ascii: "["), utf8.last == UInt8(ascii: "]") else { return nil }
        utf8 = utf8.dropFirst().dropLast()
        guard !utf8.isEmpty else { return [] }
        var seqs: [Int64] = []
        for part in utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 16, part.allSatisfy({ ($0 &- UInt8(ascii: "0")) < 10 }) else { return nil }
            let seq = part.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
            guard UInt64(seq) <= AuditEntry.maximumSeq else { return nil }
            seqs.append(seq)
        }
        return seqs
    }

    /// Every checkpoint, smallest first.
    static func checkpoints(_ db: Database, url: String) throws -> [StoredCheckpoint] {
        let statement = RawStatement(try db.cachedStatement(sql: "SELECT size, root, note, time FROM audit_checkpoints ORDER BY size"))
        defer { statement.reset() }
        var checkpoints: [StoredCheckpoint] = []
        while try statement.step() {
            let size = statement.int64(0)
            do throws(ColumnProblem) {
                _ = try statement.integer(0, column: "size")
                guard size >= 0 else { throw ColumnProblem("`size` is negative") }
                let root = try statement.hash(1, column: "root")
                let note = try statement.string(2, column: "note")
                let microseconds = try statement.integer(3, column: "time")
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

    /// Every state row, in key order (byte order of the UTF-8 collection, then key).
    static func rows(_ db: Database, url: String) throws -> [StateRow] {
        let statement = RawStatement(try db.cachedStatement(sql: "SELECT collection, key, value FROM state_rows ORDER BY collection, key"))
        defer { statement.reset() }
        var rows: [StateRow] = []
        while try statement.step() {
            do throws(ColumnProblem) {
                let collection = try statement.string(0, column: "collection")
                let key = try statement.string(1, column: "key")
                guard let value = try statement.optionalBytes(2, column: "value") else {
                    throw ColumnProblem(StoreMessages.wrongType("value", expected: "a blob", found: "null"))
                }
                rows.append(StateRow(StateKey(collection, key), value))
            } catch {
                throw StoreError(.foreignSchema, StoreMessages.badRow(url, error.detail))
            }
        }
        return rows
    }
}
