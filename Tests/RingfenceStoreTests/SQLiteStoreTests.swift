import Foundation
import GRDB
import RingfenceAudit
import RingfenceRuntime
@testable import RingfenceSQLite
import Synchronization
import Testing
import RingfenceTestSupport

/// What only the SQLite store does: it persists across opens, shares one file between writers
/// without forking the log, refuses files that are not its own (or are newer), reports damaged
/// rows as errors, and sets the fsync level per commit.
@Suite struct SQLiteStoreTests {
    /// Opens (or creates) the SQLite store at `path`.
    static func open(_ path: String) throws -> SQLiteStore {
        try SQLiteStore(path: path, url: "sqlite:\(path)")
    }

    /// Runs `sql` on the file at `path` through a separate connection, as a person editing it would.
    static func edit(_ path: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    /// The bytes of the file at `path`.
    static func bytes(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test func aReopenedStoreSeesEverythingAndAMissingDirectoryIsCreated() throws {
        let scratch = try Scratch()
        let path = scratch.file("nested/deeper/state.db")
        let store = try Self.open(path)
        var log = LogBuilder()
        var batch = try log.batch(9, checkpoint: true)
        batch.puts = [StateRow(StateKey("sessions", "s1"), [1, 2, 3]), StateRow(StateKey("ledger", "a"), [4])]
        try store.commit(batch, durability: .strict)
        try store.commit(try log.batch(4, checkpoint: true), durability: .relaxed)
        #expect(try store.purgeAuditData(before: 2) == 2)
        let expected = (snapshot: try store.load(), entries: try store.auditEntries(from: 0, limit: 100))
        try store.close()
        // A closed store answers with errors, never a crash.
        #expect(storeError { _ = try store.load() } != nil)
        var late = log
        let lateBatch = try late.batch(1)
        #expect(storeError { try store.commit(lateBatch, durability: .strict) } != nil)

        let reopened = try Self.open(path)
        let snapshot = try reopened.load()
        #expect(snapshot.rows == expected.snapshot.rows && snapshot.auditSize == 13 && snapshot.lastHash == log.lastHash)
        #expect(try reopened.auditEntries(from: 0, limit: 100) == expected.entries)
        #expect(try reopened.checkpoints() == log.checkpoints)
        #expect(try reopened.auditNodes(log.nodes.map(\.id)).count == log.nodes.count)
        #expect(expected.entries.prefix(2).allSatisfy { $0.data == nil })
    }

    /// A row whose bytes are written when read is written once, by the commit that stores it,
    /// and not at all when a later row of the batch overwrites it; reading the store back reads
    /// the stored bytes, not the function.
    @Test func rowsWrittenWhenReadAreWrittenOnceByTheCommit() throws {
        let scratch = try Scratch()
        let store = try Self.open(scratch.file("state.db"))
        let writes = Mutex<[String: Int]>([:])
        func row(_ key: String, _ value: String) -> StateRow {
            StateRow(StateKey("sessions", key)) {
                writes.withLock { $0[value, default: 0] += 1 }
                return Array(value.utf8)
            }
        }
        let time = try AuditTime(microseconds: 1_795_255_200_000_000)
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: { time })
        let record = AuditRecord(kind: "delta", session: "s1", time: time, value: .object([:]))
        // One item, so one batch whenever the writer takes it.
        _ = try log.enqueue([record], rows: [row("s1", "created"), row("s1", "joined"), row("s2", "other"), row("s1", "activated")])
        try log.flush()
        #expect(writes.withLock { $0 } == ["activated": 1, "other": 1])
        log.close()
        #expect(try store.load().rows == [StateRow(StateKey("sessions", "s1"), Array("activated".utf8)),
                                          StateRow(StateKey("sessions", "s2"), Array("other".utf8))])
        #expect(writes.withLock { $0 } == ["activated": 1, "other": 1])
    }

    @Test func twoStoresOnOneFileRefuseTheStaleAppend() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        let first = try Self.open(path), second = try Self.open(path)
        var log = LogBuilder()
        try first.commit(try log.batch(3), durability: .strict)
        // Both writers believe the log has three entries; the first to commit wins.
        var viewOfFirst = try LogBuilder(continuing: first), viewOfSecond = try LogBuilder(continuing: second)
        try first.commit(try viewOfFirst.batch(2), durability: .strict)
        var stale = try viewOfSecond.batch(2)
        stale.puts = [StateRow(StateKey("sessions", "loser"), [1])]
        #expect(storeError { try second.commit(stale, durability: .strict) }?.kind == .auditConflict)
        #expect(try second.load().rows.isEmpty)
        // The loser re-reads the head and appends after the winner.
        var reread = try LogBuilder(continuing: second)
        try second.commit(try reread.batch(2), durability: .strict)
        #expect(storeError { try first.commit(try viewOfFirst.batch(1), durability: .strict) }?.kind == .auditConflict)
        let entries = try allEntries(first)
        #expect(entries.count == 7)
        #expect(AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) }).failure == nil)
    }

    @Test func concurrentWritersOnOneFileNeverForkOrGap() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        let stores = [try Self.open(path), try Self.open(path)]
        let appended = Mutex([0, 0]), failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            var generator = SeededGenerator(seed: UInt64(writer) + 11)
            for _ in 0..<40 {
                do {
                    var view = try LogBuilder(continuing: stores[writer])
                    let count = Int.random(in: 1...3, using: &generator)
                    try stores[writer].commit(try view.batch(count, agent: "writer-\(writer)"), durability: .relaxed)
                    appended.withLock { $0[writer] += count }
                } catch let error as StoreError where error.kind == .auditConflict {
                    continue
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let total = appended.withLock { $0[0] + $0[1] }
        let entries = try allEntries(stores[0])
        #expect(entries.count == total && total > 0)
        let report = AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) })
        #expect(report.failure == nil && report.count == UInt64(total))
        #expect(try MerkleFrontier(size: UInt64(total), source: StoreNodeSource(frontierOf: UInt64(total), in: stores[1])).root == report.root)
    }

    @Test func aStoreOfANewerSchemaIsRefusedAndLeftAlone() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.open(path).close()
        try Self.edit(path, "UPDATE ringfence_meta SET value = '7' WHERE key = 'schema_version'")
        let error = storeError { _ = try Self.open(path) }
        #expect(error?.kind == .newerSchema)
        #expect(error?.message == "the store `sqlite:\(path)` has schema version 7, newer than version 3 that this ringfence reads: upgrade ringfence to open it")
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM ringfence_meta WHERE key = 'schema_version'") } == "7")
        try queue.close()
    }

    /// A version-1 store — its entries indexed by session — is migrated when opened: each
    /// session's entries are listed, the index is dropped, and a session's hashes read back in
    /// log order across the migrated list and the lists of the batches committed after it.
    @Test func aVersionOneStoreIsMigratedAndItsSessionsReadBackInLogOrder() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v1")
        var log = LogBuilder()
        var old: [StoredAuditEntry] = []
        for (i, session) in ["s1", "s2", nil, "s1", "", "s2", "s1", "s3"].enumerated() {
            old += try log.batch(1 + i % 3, session: session).entries
        }
        func blob(_ hash: AuditHash) -> Data { hash.withUnsafeBytes { Data($0) } }
        try queue.write { db in
            // Written in an order other than the log's, so the migrated lists must be put in order.
            for stored in old.reversed() {
                try db.execute(sql: "INSERT INTO audit_entries (seq, time, kind, session, agent, data_hash, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [Int64(stored.entry.seq), stored.entry.time.microseconds, stored.entry.kind, stored.entry.session,
                                           stored.entry.agent, blob(stored.entry.dataHash), blob(stored.entry.prev), blob(stored.hash)])
            }
        }
        try queue.close()
        let store = try Self.open(path)
        try store.commit(try log.batch(2, session: "s2"), durability: .strict)
        try store.commit(try log.batch(1, session: "s1"), durability: .strict)
        for session in ["s1", "s2", "s3", "", "s4"] {
            #expect(try store.auditEntryHashes(session: session) == log.entries.filter { $0.entry.session == session }.map(\.hash), "\(session)")
        }
        // Version 3 moved the 15 entries into one tile; the batches after it filled that tile
        // and began the next.
        #expect(try store.auditEntries(from: 0, limit: 100).map { ($0.entry, $0.hash) }.elementsEqual(log.entries.map { ($0.entry, $0.hash) }, by: ==))
        try store.close()
        let check = try DatabaseQueue(path: path)
        let (version, gone, lists, tiles) = try check.read { db in
            (try String.fetchOne(db, sql: "SELECT value FROM ringfence_meta WHERE key = 'schema_version'"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name IN ('audit_entries_by_session', 'audit_entries')"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_session_entries"),
             try Int64.fetchAll(db, sql: "SELECT first FROM audit_tiles ORDER BY first"))
        }
        try check.close()
        #expect(version == "3")
        #expect(gone == 0)
        // One migrated row a session, then one a session a committed batch.
        #expect(lists == 4 + 2)
        #expect(tiles == [0, 16])
    }

    /// Writes `entries` as a version-2 store's `audit_entries` and `audit_data` rows into a new
    /// file at `path`, then runs `edit`.
    static func writeVersionTwo(_ path: String, _ entries: [StoredAuditEntry], _ edit: String? = nil) throws {
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v2")
        func blob(_ hash: AuditHash) -> Data { hash.withUnsafeBytes { Data($0) } }
        try queue.write { db in
            for stored in entries {
                try db.execute(sql: "INSERT INTO audit_entries (seq, time, kind, session, agent, data_hash, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [Int64(stored.entry.seq), stored.entry.time.microseconds, stored.entry.kind, stored.entry.session,
                                           stored.entry.agent, blob(stored.entry.dataHash), blob(stored.entry.prev), blob(stored.hash)])
                if let data = stored.data {
                    try db.execute(sql: "INSERT INTO audit_data (seq, data) VALUES (?, ?)",
                                   arguments: [Int64(stored.entry.seq), String(decoding: data, as: UTF8.self)])
                }
            }
            if let edit { try db.execute(sql: edit) }
        }
        try queue.close()
    }

    /// A version-2 log moves into tiles of 16 when opened, a new tile where an entry is missing,
    /// so what reads back — the gap and a purged entry's missing data included, which
    /// verification reports or accepts — is what was stored.
    @Test func aVersionTwoLogMovesIntoTilesAsItWasStored() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        var log = LogBuilder()
        let entries = try log.batch(40, session: "s1", agent: "agent-1").entries
        try Self.writeVersionTwo(path, entries, "DELETE FROM audit_entries WHERE seq = 20; DELETE FROM audit_data WHERE seq IN (3, 20)")
        let store = try Self.open(path)
        let kept = entries.filter { $0.entry.seq != 20 }.map { $0.entry.seq == 3 ? StoredAuditEntry(entry: $0.entry, hash: $0.hash, data: nil) : $0 }
        #expect(try store.auditEntries(from: 0, limit: 100) == kept)
        #expect(try store.auditEntries(from: 19, limit: 3).map(\.entry.seq) == [19, 21, 22])
        #expect(try store.load().auditSize == 40)
        try store.close()
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { db in try Int64.fetchAll(db, sql: "SELECT first FROM audit_tiles ORDER BY first") } == [0, 16, 21, 37])
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name IN ('audit_entries', 'audit_data')") } == 0)
        try queue.close()
    }

    /// A version-2 entry that does not read stops the migration: the store does not open, and
    /// says which entry, rather than move a damaged log into tiles it cannot hold.
    @Test func aDamagedVersionTwoEntryStopsTheMigrationNamingIt() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        var log = LogBuilder()
        try Self.writeVersionTwo(path, try log.batch(5).entries, "UPDATE audit_entries SET hash = x'0102' WHERE seq = 3")
        let error = storeError { _ = try Self.open(path) }
        #expect(error?.kind == .foreignSchema)
        #expect(error?.message == "audit entry 3 cannot be moved into schema version 3's tiles: it is damaged: `hash` holds 2 bytes, not 32",
                "\(error?.message ?? "no error")")
        let queue = try DatabaseQueue(path: path)
        let (version, rows, data, tiles) = try queue.read { db in
            (try String.fetchOne(db, sql: "SELECT value FROM ringfence_meta WHERE key = 'schema_version'"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_entries"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_data"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'audit_tiles'"))
        }
        try queue.close()
        #expect(version == "2" && rows == 5 && data == 5 && tiles == 0)
    }

    /// An envelope's bytes in a tile are the ones `docs/audit.md` §10 lays out, and entries with
    /// strings of every length (varints of one to three bytes) read back as written.
    @Test func theTileLayoutIsTheDocumentedOne() throws {
        let entry = try AuditEntry(seq: 0, time: AuditTime(microseconds: 0x0102_0304_0506_0708), kind: "delta", session: nil, agent: "a",
                                   dataHash: AuditHash(bytes: Array(repeating: 0xD1, count: 32))!, prev: .zero)
        var tile: [UInt8] = []
        AuditTiles.append(StoredAuditEntry(entry: entry, hash: AuditHash(bytes: Array(repeating: 0xEE, count: 32))!, data: nil), to: &tile)
        let expected: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x05] + Array("delta".utf8) + [0x00, 0x02, UInt8(ascii: "a")]
            + Array(repeating: 0xD1, count: 32) + Array(repeating: 0x00, count: 32) + Array(repeating: 0xEE, count: 32)
        #expect(tile == expected)

        var generator = SeededGenerator(seed: 3)
        var written: [StoredAuditEntry] = []
        tile = []
        for seq in 0..<UInt64(AuditTiles.capacity) {
            func text() -> String? {
                let length = [0, 1, 126, 127, 128, 300, 20_000].randomElement(using: &generator)!
                return length == 0 ? nil : String(repeating: "é", count: length / 2) + String(repeating: "z", count: length % 2)
            }
            let stored = StoredAuditEntry(entry: try AuditEntry(seq: 40 + seq, time: LogBuilder.time(seq), kind: text() ?? "k", session: text(), agent: text(),
                                                                dataHash: .sha256(Array("d\(seq)".utf8)), prev: .sha256(Array("p\(seq)".utf8))),
                                          hash: .sha256(Array("h\(seq)".utf8)), data: nil)
            written.append(stored)
            AuditTiles.append(stored, to: &tile)
        }
        var read: [StoredAuditEntry] = []
        let count = try tile.withUnsafeBytes { raw in
            try AuditTiles.scan(raw, first: 40) { (index, _, fields) throws(ColumnProblem) in
                read.append(StoredAuditEntry(entry: try fields.entry(seq: 40 + UInt64(index)), hash: fields.hash, data: nil))
            }
        }
        #expect(count == AuditTiles.capacity)
        #expect(read.map { ($0.entry, $0.hash) }.elementsEqual(written.map { ($0.entry, $0.hash) }, by: ==))
    }

    /// Entries go into tiles of 16, a commit that ends inside a tile rewriting it with the next;
    /// whatever the batches, the log reads back whole, from any entry, and its head is its last.
    @Test func entriesFillTilesOfSixteenAcrossCommits() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        let store = try Self.open(path)
        var log = LogBuilder()
        var generator = SeededGenerator(seed: 16)
        while log.size < 200 {
            let count = [1, 1, 3, 15, 16, 17, 40].randomElement(using: &generator)!
            let session: String? = Bool.random(using: &generator) ? nil : String(repeating: "s", count: Int.random(in: 1...300, using: &generator))
            try store.commit(try log.batch(count, kind: "k\(log.size)", session: session, agent: log.size.isMultiple(of: 3) ? "agent-\(log.size)" : nil),
                             durability: .relaxed)
            let head = try store.load()
            #expect(head.auditSize == log.size && head.lastHash == log.lastHash)
        }
        let all = try store.auditEntries(from: 0, limit: 1_000)
        #expect(all.map { ($0.entry, $0.hash, $0.data) }.elementsEqual(log.entries.map { ($0.entry, $0.hash, $0.data) }, by: ==))
        for start in [0, 1, 15, 16, 17, 100, 199, 200] as [UInt64] {
            #expect(try store.auditEntries(from: start, limit: 20).map(\.entry.seq) == Array(start..<min(start + 20, log.size)))
        }
        try store.close()
        let queue = try DatabaseQueue(path: path)
        let firsts = try queue.read { db in try Int64.fetchAll(db, sql: "SELECT first FROM audit_tiles ORDER BY first") }
        try queue.close()
        #expect(firsts == Array(stride(from: 0, to: Int64(log.size), by: 16)))
    }

    /// A batch lists each of its sessions once, in one row, with the session's seqs in order.
    @Test func aBatchListsEachOfItsSessionsOnce() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        let store = try Self.open(path)
        var log = LogBuilder()
        var batch = StoreBatch()
        for session in ["a", "b", "a", nil, "c", "b", "a"] {
            let one = try log.batch(1, session: session)
            batch.entries += one.entries
            batch.nodes += one.nodes
        }
        try store.commit(batch, durability: .strict)
        for session in ["a", "b", "c"] {
            #expect(try store.auditEntryHashes(session: session) == log.entries.filter { $0.entry.session == session }.map(\.hash))
        }
        try store.close()
        let check = try DatabaseQueue(path: path)
        let rows = try check.read { db in
            try Row.fetchAll(db, sql: "SELECT session, first, seqs FROM audit_session_entries ORDER BY session").map {
                "\(String.fromDatabaseValue($0[0] as DatabaseValue) ?? "?") \(Int64.fromDatabaseValue($0[1] as DatabaseValue) ?? -1) \(String.fromDatabaseValue($0[2] as DatabaseValue) ?? "?")"
            }
        }
        #expect(rows == ["a 0 [0,2,6]", "b 1 [1,5]", "c 4 [4]"])
        try check.close()
    }

    /// Databases of something else.
    enum ForeignDatabase: String, CaseIterable, CustomTestStringConvertible {
        case otherTables, otherGRDBApplication, metaOfAnotherFormat, unreadableSchemaVersion
        var testDescription: String { rawValue }

        /// The SQL that makes it.
        var sql: String {
            switch self {
            case .otherTables:
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'ada')"
            case .otherGRDBApplication:
                "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY); INSERT INTO grdb_migrations VALUES ('v1')"
            case .metaOfAnotherFormat:
                "CREATE TABLE ringfence_meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO ringfence_meta VALUES ('format', 'other')"
            case .unreadableSchemaVersion:
                """
                CREATE TABLE ringfence_meta (key TEXT PRIMARY KEY, value TEXT);
                INSERT INTO ringfence_meta VALUES ('format', 'ringfence-state'), ('schema_version', 'two')
                """
            }
        }

        /// What the refusal says.
        var fragment: String {
            switch self {
            case .otherTables: "holding other tables (`customers`)"
            case .otherGRDBApplication: "holding other tables (`grdb_migrations`)"
            case .metaOfAnotherFormat: "does not mark it as a ringfence state store"
            case .unreadableSchemaVersion: "schema version `two` is not a positive integer"
            }
        }
    }

    @Test(arguments: ForeignDatabase.allCases)
    func aDatabaseOfSomethingElseIsRefusedUnchanged(_ database: ForeignDatabase) throws {
        let scratch = try Scratch()
        let path = scratch.file("other.db")
        try Self.edit(path, database.sql)
        let before = try Self.bytes(path)
        let error = storeError { _ = try Self.open(path) }
        #expect(error?.kind == .foreignSchema)
        #expect(error?.message.hasPrefix("`\(path)` is not a ringfence store") == true)
        #expect(error?.message.contains(database.fragment) == true, "\(error?.message ?? "no error")")
        #expect(try Self.bytes(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// Files that are not SQLite databases.
    enum ForeignFile: String, CaseIterable, CustomTestStringConvertible {
        case randomBytes, text, sqliteHeaderThenGarbage, shortFile
        var testDescription: String { rawValue }

        /// The file's bytes.
        var bytes: [UInt8] {
            var generator = SeededGenerator(seed: 3)
            let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            switch self {
            case .randomBytes: return noise
            case .text: return Array("sessions:\n  - s1\n".utf8)
            case .sqliteHeaderThenGarbage: return Array("SQLite format 3\0".utf8) + noise
            case .shortFile: return [0x53]
            }
        }
    }

    @Test(arguments: ForeignFile.allCases)
    func aFileThatIsNotSQLiteIsRefusedUnchanged(_ file: ForeignFile) throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Data(file.bytes).write(to: URL(fileURLWithPath: path))
        let error = storeError { _ = try Self.open(path) }
        #expect(error?.kind == .foreignSchema)
        #expect(error?.message.contains("is not a ringfence store") == true, "\(error?.message ?? "no error")")
        #expect(try Self.bytes(path) == Data(file.bytes))
    }

    @Test func aDirectoryOrAnUncreatableDirectoryIsUnavailable() throws {
        let scratch = try Scratch()
        #expect(storeError { _ = try Self.open(scratch.path) }?.kind == .unavailable)
        try Data("x".utf8).write(to: URL(fileURLWithPath: scratch.file("plain")))
        let below = storeError { _ = try Self.open(scratch.file("plain/state.db")) }
        #expect(below?.kind == .unavailable)
    }
}

/// Stored rows edited by hand: each read that meets one throws `foreignSchema`, naming the record.
@Suite struct SQLiteDamageTests {
    /// A hand edit and what reading then reports.
    typealias Damage = StoreDamage

    static let damages: [Damage] = [
        // The test's tile: entries 0…5, 117 bytes each (time 8, kind `decision` 1 + 8, session
        // `s1` 1 + 2, no agent 1, hashes 96); `Damage.replace` writes bytes over a range of it.
        Damage(sql: Damage.replace(at: 2 * 117, count: 8, with: "0DE0B6B3A763FFFF"), read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 2 in `{url}` is damaged: `time` 999999999999999999 is outside years 0001 to 9999"),
        Damage(sql: "UPDATE audit_tiles SET envelopes = substr(envelopes, 1, 5 * 117 + 40)", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 5 in `{url}` is damaged: its tile ends inside it"),
        Damage(sql: Damage.replace(at: 117 + 8, count: 1, with: "00"), read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 1 in `{url}` is damaged: its `kind` is empty"),
        Damage(sql: Damage.replace(at: 18, count: 1, with: "FF"), read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 0 in `{url}` is damaged: `session` is not utf-8 text"),
        Damage(sql: Damage.replace(at: 4 * 117 + 8, count: 1, with: "8800"), read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 4 in `{url}` is damaged: a length is not in its shortest form"),
        Damage(sql: Damage.replace(at: 3 * 117 + 8, count: 1, with: "FFFFFFFFFF01"), read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 3 in `{url}` is damaged: a length is longer than 5 bytes"),
        Damage(sql: "UPDATE audit_tiles SET envelopes = 'abc'", read: { _ = try $0.load() },
               fragment: "audit entry 0 in `{url}` is damaged: `envelopes` holds text, not a blob"),
        Damage(sql: "UPDATE audit_tiles SET envelopes = x''", read: { _ = try $0.load() },
               fragment: "audit entry 0 in `{url}` is damaged: its tile holds no entry"),
        Damage(sql: "UPDATE audit_tiles SET envelopes = CAST(envelopes || x'01' AS BLOB)", read: { _ = try $0.load() },
               fragment: "audit entry 6 in `{url}` is damaged: its tile ends inside it"),
        Damage(sql: "UPDATE audit_tiles SET envelopes = CAST(envelopes || envelopes || envelopes AS BLOB)", read: { _ = try $0.load() },
               fragment: "audit entry 16 in `{url}` is damaged: its tile holds more than 16 entries"),
        Damage(sql: "UPDATE audit_tiles SET first = -4", read: { _ = try $0.load() },
               fragment: "audit entry -4 in `{url}` is damaged: `first` -4 is out of range"),
        Damage(sql: "INSERT INTO audit_tiles SELECT 3, envelopes, data FROM audit_tiles WHERE first = 0", read: { _ = try $0.auditEntries(from: 0, limit: 20) },
               fragment: "audit entry 3 in `{url}` is damaged: its tile overlaps the tile before it"),
        Damage(sql: "UPDATE audit_tiles SET envelopes = substr(envelopes, 1, 5 * 117 + 40)", read: { _ = try $0.auditEntryHashes(session: "s1") },
               fragment: "audit entry 5 in `{url}` is damaged: its tile ends inside it"),
        // The tile's data: entries 0…5, 17 bytes each (length 1, `{"n":N,"pad":""}` 16).
        Damage(sql: "UPDATE audit_tiles SET data = substr(data, 1, 5 * 17 + 8)", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 5 in `{url}` is damaged: its data does not read: its tile ends inside it"),
        Damage(sql: "UPDATE audit_tiles SET data = substr(data, 1, 5 * 17)", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 5 in `{url}` is damaged: its tile's data ends before its envelopes do"),
        Damage(sql: "UPDATE audit_tiles SET data = CAST(data || x'00' AS BLOB)", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 6 in `{url}` is damaged: its tile's data holds more entries than its envelopes"),
        Damage(sql: "UPDATE audit_tiles SET data = 'abc'", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 0 in `{url}` is damaged: `data` holds text, not a blob"),
        Damage(sql: "UPDATE audit_tiles SET data = CAST(x'8000' || substr(data, 2) AS BLOB)", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 0 in `{url}` is damaged: its data does not read: a length is not in its shortest form"),
        Damage(sql: "UPDATE audit_session_entries SET seqs = '[0,1,x]'", read: { _ = try $0.auditEntryHashes(session: "s1") },
               fragment: "the list of session `s1`'s entries from 0 in `{url}` is damaged: `seqs` is not a list of entry numbers"),
        Damage(sql: "UPDATE audit_session_entries SET seqs = x'00'", read: { _ = try $0.auditEntryHashes(session: "s1") },
               fragment: "the list of session `s1`'s entries from 0 in `{url}` is damaged: `seqs` holds a blob"),
        Damage(sql: "UPDATE audit_session_entries SET seqs = '[0,1,2,9]'", read: { _ = try $0.auditEntryHashes(session: "s1") },
               fragment: "the entries of session `s1` in `{url}` are damaged: they name entry 9, which the log does not hold"),
        Damage(sql: "UPDATE audit_session_entries SET seqs = '[0,2,1,2]'", read: { _ = try $0.auditEntryHashes(session: "s1") },
               fragment: "the entries of session `s1` in `{url}` are damaged: they name entry 2 twice"),
        Damage(sql: "UPDATE audit_nodes SET hash = x'00' WHERE level = 1 AND idx = 0", read: { _ = try $0.auditNodes([MerkleNodeID(level: 1, index: 0)]) },
               fragment: "merkle node 1/0 in `{url}` is damaged: `hash` holds 1 bytes, not 32"),
        Damage(sql: "UPDATE audit_checkpoints SET root = 'abc'", read: { _ = try $0.checkpoints() },
               fragment: "the checkpoint of size 6 in `{url}` is damaged: `root` holds text, not a 32-byte blob"),
        Damage(sql: "UPDATE audit_checkpoints SET time = -99999999999999999", read: { _ = try $0.checkpoints() },
               fragment: "the checkpoint of size 6 in `{url}` is damaged: `time` -99999999999999999 is outside years 0001 to 9999"),
        Damage(sql: "UPDATE state_rows SET value = 12", read: { _ = try $0.load() },
               fragment: "a state row in `{url}` is damaged: `value` holds an integer, not text or a blob"),
        Damage(sql: "DROP TABLE audit_tiles", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "the store `{url}` is damaged: no such table: audit_tiles"),
    ]

    @Test(arguments: damages)
    func aDamagedRecordIsAnErrorNamingIt(_ damage: Damage) throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db"), url = "sqlite:\(path)"
        let store = try SQLiteStore(path: path, url: url)
        var log = LogBuilder()
        var batch = try log.batch(6, checkpoint: true)
        batch.puts = [StateRow(StateKey("sessions", "s1"), [1])]
        try store.commit(batch, durability: .strict)
        try store.close()
        try SQLiteStoreTests.edit(path, damage.sql)
        let reopened = try SQLiteStore(path: path, url: url)
        let error = storeError { try damage.read(reopened) }
        #expect(error?.kind == .foreignSchema)
        let expected = damage.fragment.replacingOccurrences(of: "{url}", with: url)
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "no error")")
    }
}

/// How durability maps to `PRAGMA synchronous`, and why the pragma is set between transactions.
@Suite struct SQLiteDurabilityTests {
    @Test func eachCommitRunsAtItsDurabilitysLevel() throws {
        let scratch = try Scratch()
        let store = try SQLiteStore(path: scratch.file("state.db"))
        var log = LogBuilder()
        var levels: [Int] = []
        for durability in [Durability.strict, .relaxed, .relaxed, .group, .relaxed, .strict] {
            try store.commit(try log.batch(1), durability: durability)
            levels.append(try store.writerSynchronous())
        }
        #expect(levels == [2, 1, 1, 2, 1, 2])
        // A purge is always durable.
        _ = try store.purgeAuditData(before: 1)
        #expect(try store.writerSynchronous() == 2)
    }

    /// SQLite refuses the pragma inside a transaction, so it cannot ride inside the batch's own.
    @Test func sqliteRefusesToChangeTheLevelInsideATransaction() throws {
        let scratch = try Scratch()
        let queue = try DatabaseQueue(path: scratch.file("plain.db"))
        #expect(throws: DatabaseError.self) {
            try queue.inTransaction(.immediate) { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                return .commit
            }
        }
        try queue.close()
    }

    @Test func aWriterWaitsForAnotherConnectionsLockInsteadOfFailing() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        let store = try SQLiteStore(path: path)
        let holder = try DatabaseQueue(path: path)
        let locked = DispatchSemaphore(value: 0), committed = DispatchSemaphore(value: 0)
        let outcome = Mutex<StoreError?>(nil)
        DispatchQueue.global().async {
            locked.wait()
            var log = LogBuilder()
            do {
                try store.commit(try log.batch(2), durability: .strict)
            } catch {
                outcome.withLock { $0 = error as? StoreError ?? StoreError(.database, "\(error)") }
            }
            committed.signal()
        }
        try holder.inTransaction(.immediate) { db in
            try db.execute(sql: "INSERT INTO state_rows (collection, key, value) VALUES ('held', 'lock', x'01')")
            locked.signal()
            usleep(300_000)
            return .commit
        }
        committed.wait()
        #expect(outcome.withLock { $0 } == nil)
        #expect(try store.load().auditSize == 2 && store.load().rows.count == 1)
        try holder.close()
    }
}
