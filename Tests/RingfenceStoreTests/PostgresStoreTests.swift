import Foundation
import RingfenceAudit
@testable import RingfencePostgres
import RingfenceRuntime
import RingfenceTestSupport
import Synchronization
import Testing

/// What only the PostgreSQL store does: several nodes (stores with pools of their own) append
/// to one chain without forking or gapping it, a commit retried after a lost acknowledgement is
/// recognised, it refuses databases that are not its own (or are newer), and each durability
/// mode reaches the server. The faults — a server that is down or restarts, a connection killed
/// mid-transaction, a lock held past the timeout — are in `PostgresFaultTests`.
@Suite struct PostgresStoreTests {
    /// A fresh database in the shared cluster and its URL (with extra `parameters`).
    static func freshDatabase(_ parameters: [String] = []) throws -> (cluster: PostgresTestCluster, database: String, url: String) {
        let cluster = try PostgresTestCluster.require()
        let database = try cluster.createDatabase()
        return (cluster, database, cluster.url(database: database, parameters: parameters))
    }

    @Test func twoNodesAppendingAtOnceNeverForkOrGapTheChain() throws {
        let (_, _, url) = try Self.freshDatabase()
        let nodes = [try PostgresStore(url: url), try PostgresStore(url: url)]
        let appended = Mutex([0, 0, 0, 0]), conflicts = Atomic(0), failures = Mutex<[String]>([])
        // Two writers on each node: four appenders, two pools.
        DispatchQueue.concurrentPerform(iterations: 4) { writer in
            let store = nodes[writer % 2]
            var generator = SeededGenerator(seed: UInt64(writer) + 31)
            var done = 0
            while done < 25 {
                do {
                    var view = try LogBuilder(continuing: store)
                    let count = Int.random(in: 1...3, using: &generator)
                    let durability = Durability.allCases[Int.random(in: 0..<3, using: &generator)]
                    try store.commit(try view.batch(count, agent: "writer-\(writer)",
                                                    puts: [StateRow(StateKey("writers", String(writer)), [UInt8(done)])]), durability: durability)
                    appended.withLock { $0[writer] += count }
                    done += 1
                } catch let error as StoreError where error.kind == .auditConflict {
                    conflicts.add(1, ordering: .relaxed)
                } catch {
                    failures.withLock { $0.append("\(error)") }
                    return
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let total = appended.withLock { $0.reduce(0, +) }
        let entries = try allEntries(nodes[0], chunk: 64)
        #expect(entries.count == total && total >= 100)
        #expect(entries.map(\.entry.seq) == (0..<UInt64(total)).map { $0 })
        let report = AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) })
        #expect(report.failure == nil && report.count == UInt64(total))
        #expect(try MerkleFrontier(size: UInt64(total), source: StoreNodeSource(frontierOf: UInt64(total), in: nodes[1])).root == report.root)
        // Each writer's entries are all there, and its row holds its last round.
        for writer in 0..<4 {
            #expect(entries.filter { $0.entry.agent == "writer-\(writer)" }.count == appended.withLock { $0[writer] })
        }
        #expect(try nodes[1].load().rows.map(\.value) == [[24], [24], [24], [24]])
    }

    @Test func aStaleAppendIsRefusedAndTheLoserContinuesAfterTheWinner() throws {
        let (_, _, url) = try Self.freshDatabase()
        let first = try PostgresStore(url: url), second = try PostgresStore(url: url)
        var log = LogBuilder()
        try first.commit(try log.batch(3), durability: .strict)
        // Both nodes believe the log has three entries; the first to commit wins.
        var viewOfFirst = try LogBuilder(continuing: first), viewOfSecond = try LogBuilder(continuing: second)
        try first.commit(try viewOfFirst.batch(2), durability: .strict)
        var stale = try viewOfSecond.batch(2, agent: "second node")
        stale.puts = [StateRow(StateKey("sessions", "loser"), [1])]
        let error = storeError { try second.commit(stale, durability: .strict) }
        #expect(error?.kind == .auditConflict)
        #expect(error?.message == "audit entry 3 does not follow the stored log of 5 entries")
        #expect(try second.load().rows.isEmpty)
        var reread = try LogBuilder(continuing: second)
        try second.commit(try reread.batch(2), durability: .strict)
        #expect(storeError { try first.commit(try viewOfFirst.batch(1), durability: .strict) }?.kind == .auditConflict)
        let entries = try allEntries(first)
        #expect(entries.count == 7)
        #expect(AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) }).failure == nil)
    }

    @Test func aCommitRetriedAfterItsAcknowledgementWasLostIsRecognisedNotRepeated() throws {
        let (_, _, url) = try Self.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(2), durability: .strict)
        var batch = try log.batch(3, checkpoint: true)
        batch.puts = [StateRow(StateKey("sessions", "s1"), [1])]
        try store.commit(batch, durability: .strict)
        #expect(store.recognisedCommitCount == 0)
        // The same batch again as a first attempt: another writer's stale batch, refused.
        batch.puts = [StateRow(StateKey("sessions", "s1"), [2])]
        #expect(storeError { try store.commit(batch, durability: .strict) }?.kind == .auditConflict)
        #expect(store.recognisedCommitCount == 0)
        // Again as the repeat of a commit whose answer was lost: nothing is appended twice.
        try store.commit(batch, durability: .strict, repeatingAnUnansweredCommit: true)
        #expect(store.recognisedCommitCount == 1)
        #expect(try allEntries(store) == log.entries)
        #expect(try store.load().rows == [StateRow(StateKey("sessions", "s1"), [2])])
        #expect(try store.checkpoints() == log.checkpoints)
        // A batch only partly stored is no retry: it is refused.
        var partly = batch
        var next = log
        partly.entries.append(try next.batch(1).entries[0])
        #expect(storeError { try store.commit(partly, durability: .strict, repeatingAnUnansweredCommit: true) }?.kind == .auditConflict)
        // Nor is a batch whose entries differ from the stored ones at their seqs.
        var fork = LogBuilder()
        _ = try fork.batch(2)
        let other = try fork.batch(3, agent: "someone else")
        #expect(storeError { try store.commit(other, durability: .strict, repeatingAnUnansweredCommit: true) }?.kind == .auditConflict)
        #expect(try store.load().auditSize == 5)
    }

    @Test func eachDurabilityReachesTheServerForItsTransactionOnly() throws {
        let (_, _, url) = try Self.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        var seen: [String?] = []
        for durability in [Durability.strict, .relaxed, .relaxed, .group, .relaxed, .strict] {
            try store.commit(try log.batch(1), durability: durability)
            seen.append(store.lastCommitSynchronousCommit)
        }
        #expect(seen == ["on", "off", "off", "on", "off", "on"])
        // State-only batches too.
        var rows = StoreBatch()
        rows.puts = [StateRow(StateKey("k", "v"), [1])]
        try store.commit(rows, durability: .relaxed)
        #expect(store.lastCommitSynchronousCommit == "off")
        // `SET LOCAL` ends with its transaction: the pooled session is back to durable commits.
        #expect(try store.textRows("SHOW synchronous_commit") == ["on"])
        #expect(try store.textRows("SELECT count(*)::text FROM pg_stat_activity WHERE application_name = 'ringfence' AND datname = current_database()")
            .first.flatMap(Int.init).map { $0 >= 1 } == true)
    }

    @Test func aStoreOfANewerSchemaIsRefusedAndLeftAlone() throws {
        let (cluster, database, url) = try Self.freshDatabase()
        try PostgresStore(url: url).close()
        try cluster.psql("UPDATE ringfence.ringfence_meta SET value = '7' WHERE key = 'schema_version'", database: database)
        let error = storeError { _ = try PostgresStore(url: url) }
        #expect(error?.kind == .newerSchema)
        #expect(error?.message == "the store `\(url)` has schema version 7, newer than version 2 that this ringfence reads: upgrade ringfence to open it")
        #expect(try cluster.psql("SELECT value FROM ringfence.ringfence_meta WHERE key = 'schema_version'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "7")
    }

    @Test func aNewStoreRecordsItsFormatVersionAndIdentity() throws {
        let (cluster, database, url) = try Self.freshDatabase()
        try PostgresStore(url: url).close()
        let meta = try cluster.psql("SELECT key || '=' || value FROM ringfence.ringfence_meta ORDER BY key", database: database)
            .split(separator: "\n").map(String.init)
        #expect(meta.count == 3 && meta[0] == "format=ringfence-state" && meta[1] == "schema_version=2")
        #expect(meta[2].hasPrefix("store_id=") && meta[2].count == "store_id=".count + 32)
        // Opening again changes nothing.
        try PostgresStore(url: url).close()
        #expect(try cluster.psql("SELECT key || '=' || value FROM ringfence.ringfence_meta ORDER BY key", database: database)
            .split(separator: "\n").map(String.init) == meta)
    }

    /// Databases of something else.
    enum ForeignDatabase: String, CaseIterable, CustomTestStringConvertible {
        case otherTables, otherTablesInOurSchema, metaOfAnotherFormat, unreadableSchemaVersion
        var testDescription: String { rawValue }

        /// The SQL that makes it.
        var sql: String {
            switch self {
            case .otherTables:
                "CREATE TABLE customers (id integer PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'ada'); CREATE SEQUENCE invoices"
            case .otherTablesInOurSchema:
                "CREATE SCHEMA ringfence; CREATE TABLE ringfence.things (id integer)"
            case .metaOfAnotherFormat:
                "CREATE SCHEMA ringfence; CREATE TABLE ringfence.ringfence_meta (key text PRIMARY KEY, value text); INSERT INTO ringfence.ringfence_meta VALUES ('format', 'other')"
            case .unreadableSchemaVersion:
                """
                CREATE SCHEMA ringfence; CREATE TABLE ringfence.ringfence_meta (key text PRIMARY KEY, value text);
                INSERT INTO ringfence.ringfence_meta VALUES ('format', 'ringfence-state'), ('schema_version', 'two')
                """
            }
        }

        /// What the refusal says.
        var fragment: String {
            switch self {
            case .otherTables: "its database holds other tables (`public.customers`, `public.invoices`); name a database of its own, or create the schema `ringfence` in it to share it"
            case .otherTablesInOurSchema: "its schema `ringfence` holds other tables (`things`)"
            case .metaOfAnotherFormat: "does not mark it as a ringfence state store"
            case .unreadableSchemaVersion: "schema version `two` is not a positive integer"
            }
        }
    }

    /// Every relation of `database` outside the system schemas, as `schema.name kind`.
    static func relations(_ cluster: PostgresTestCluster, _ database: String) throws -> String {
        try cluster.psql("""
            SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1
            """, database: database)
    }

    @Test(arguments: ForeignDatabase.allCases)
    func aDatabaseOfSomethingElseIsRefusedUnchanged(_ foreign: ForeignDatabase) throws {
        let (cluster, database, url) = try Self.freshDatabase()
        try cluster.psql(foreign.sql, database: database)
        let before = try Self.relations(cluster, database)
        let error = storeError { _ = try PostgresStore(url: url) }
        #expect(error?.kind == .foreignSchema)
        #expect(error?.message.hasPrefix("`\(url)` is not a ringfence store: ") == true, "\(error?.message ?? "no error")")
        #expect(error?.message.contains(foreign.fragment) == true, "\(error?.message ?? "no error")")
        #expect(try Self.relations(cluster, database) == before)
    }

    @Test func anEmptyRingfenceSchemaOptsInToSharingADatabase() throws {
        let (cluster, database, url) = try Self.freshDatabase()
        try cluster.psql("CREATE TABLE customers (id integer PRIMARY KEY); INSERT INTO customers VALUES (7); CREATE SCHEMA ringfence", database: database)
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(4), durability: .strict)
        #expect(try store.load().auditSize == 4)
        #expect(try cluster.psql("SELECT id FROM customers", database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "7")
    }

    @Test func severalProcessesOpeningANewDatabaseAtOnceCreateTheSchemaOnce() throws {
        let (_, _, url) = try Self.freshDatabase()
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                try PostgresStore(url: url).close()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let store = try PostgresStore(url: url)
        #expect(try store.load().auditSize == 0)
    }

    @Test func dataThatTextCannotHoldIsRefusedBeforeAnythingIsWritten() throws {
        let (_, _, url) = try Self.freshDatabase()
        let store = try PostgresStore(url: url)
        for bad in [[UInt8(0xFF), 0xFE], Array("{\"a\":\"\0\"}".utf8)] {
            var log = LogBuilder()
            var batch = try log.batch(1, data: { _ in bad })
            batch.puts = [StateRow(StateKey("sessions", "s1"), [1])]
            let error = storeError { try store.commit(batch, durability: .strict) }
            #expect(error?.kind == .database)
            #expect(error?.message == "the data of audit entry 0 is not utf-8 text free of nul characters, which the store keeps it as")
        }
        let snapshot = try store.load()
        #expect(snapshot.auditSize == 0 && snapshot.rows.isEmpty)
    }

    @Test func aClosedStoreAnswersWithErrors() throws {
        let (_, _, url) = try Self.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(2), durability: .strict)
        store.close()
        let error = storeError { _ = try store.load() }
        #expect(error?.kind == .unavailable)
        #expect(error?.message == "cannot load the store in `\(url)`: the store is closed")
        let late = try log.batch(1)
        #expect(storeError { try store.commit(late, durability: .strict) }?.kind == .unavailable)
        #expect(try PostgresStore(url: url).load().auditSize == 2)
    }
}

/// Stored rows edited by hand: each read that meets one throws `foreignSchema`, naming the record.
@Suite struct PostgresDamageTests {
    /// A hand edit and what reading then reports.
    typealias Damage = StoreDamage

    static let damages: [Damage] = [
        Damage(sql: "UPDATE ringfence.audit_entries SET hash = '\\x0102' WHERE seq = 3", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 3 in `{url}` is damaged: `hash` holds 2 bytes, not 32"),
        Damage(sql: "UPDATE ringfence.audit_entries SET time = 999999999999999999 WHERE seq = 2", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 2 in `{url}` is damaged: `time` 999999999999999999 is outside years 0001 to 9999"),
        Damage(sql: "UPDATE ringfence.audit_entries SET kind = '' WHERE seq = 1", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 1 in `{url}` is damaged: "),
        Damage(sql: "UPDATE ringfence.audit_entries SET session = '\\xff' WHERE seq = 0", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "audit entry 0 in `{url}` is damaged: `session` does not hold utf-8 text"),
        Damage(sql: "ALTER TABLE ringfence.audit_entries ALTER COLUMN time TYPE text", read: { _ = try $0.auditEntries(from: 4, limit: 1) },
               fragment: "audit entry 4 in `{url}` is damaged: `time` holds text, not a bigint"),
        Damage(sql: "UPDATE ringfence.audit_entries SET hash = '\\x01' WHERE seq = 0", read: { _ = try $0.auditEntryHashes(session: "s1") },
               fragment: "audit entry 0 in `{url}` is damaged: `hash` holds 1 bytes, not 32"),
        Damage(sql: "UPDATE ringfence.audit_nodes SET hash = '\\x00' WHERE level = 1 AND idx = 0", read: { _ = try $0.auditNodes([MerkleNodeID(level: 1, index: 0)]) },
               fragment: "merkle node 1/0 in `{url}` is damaged: `hash` holds 1 bytes, not 32"),
        Damage(sql: "UPDATE ringfence.audit_checkpoints SET time = -99999999999999999", read: { _ = try $0.checkpoints() },
               fragment: "the checkpoint of size 6 in `{url}` is damaged: `time` -99999999999999999 is outside years 0001 to 9999"),
        Damage(sql: "ALTER TABLE ringfence.state_rows ALTER COLUMN value DROP NOT NULL; UPDATE ringfence.state_rows SET value = NULL", read: { _ = try $0.load() },
               fragment: "a state row in `{url}` is damaged: `value` holds null, not bytea"),
        Damage(sql: "UPDATE ringfence.audit_head SET size = 9", read: { _ = try $0.load() },
               fragment: "the audit head of `{url}` is damaged: it records 9 entries ending in"),
        Damage(sql: "DELETE FROM ringfence.audit_entries WHERE seq = 5", read: { _ = try $0.load() },
               fragment: "the audit head of `{url}` is damaged: it records 6 entries ending in"),
        Damage(sql: "DELETE FROM ringfence.audit_head", read: { _ = try $0.load() },
               fragment: "the audit head of `{url}` is damaged: the `ringfence.audit_head` row is missing"),
        Damage(sql: "DROP TABLE ringfence.audit_data", read: { _ = try $0.auditEntries(from: 0, limit: 10) },
               fragment: "the store `{url}` is damaged: relation \"ringfence.audit_data\" does not exist (sqlstate 42P01)"),
    ]

    @Test(arguments: damages)
    func aDamagedRecordIsAnErrorNamingIt(_ damage: Damage) throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        var batch = try log.batch(6, checkpoint: true)
        batch.puts = [StateRow(StateKey("sessions", "s1"), [1])]
        try store.commit(batch, durability: .strict)
        store.close()
        try cluster.psql(damage.sql, database: database)
        let reopened = try PostgresStore(url: url)
        let error = storeError { try damage.read(reopened) }
        #expect(error?.kind == .foreignSchema)
        let expected = damage.fragment.replacingOccurrences(of: "{url}", with: url)
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "no error")")
    }
}
