import Foundation
import RingfenceAudit
@testable import RingfencePostgres
import RingfenceRuntime
import RingfenceTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults between the store and its server: a server that is down or restarts, a connection
/// killed in the middle of a transaction, a lock held past the store's timeout. Each ends in a
/// clear `StoreError` (or a transparent retry), never a crash, a hang, a partial batch or a
/// batch applied twice.
@Suite struct PostgresFaultTests {
    /// Polls `condition` every 20 ms for up to 10 s; true once it holds.
    static func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
        try RingfenceTestSupport.eventually(within: 10, every: 0.02, condition)
    }

    @Test func aServerThatIsNotThereIsUnavailableAtOnce() throws {
        let scratch = try Scratch()
        let url = "postgres://postgres@/ringfence?host=\(scratch.path)"
        let error = storeError { _ = try PostgresStore(url: url) }
        #expect(error?.kind == .unavailable)
        #expect(error?.message == "cannot open the store in `\(url)`: no server socket at `\(scratch.path)/.s.PGSQL.5432` (is the server running?)")
        let cluster = try PostgresTestCluster.require()
        let missing = cluster.url(database: "no_such_database")
        let absent = storeError { _ = try PostgresStore(url: missing) }
        #expect(absent?.kind == .unavailable)
        #expect(absent?.message == "cannot open the store in `\(missing)`: database \"no_such_database\" does not exist (sqlstate 3D000)")
    }

    @Test func aServerThatGoesDownGivesClearErrorsAndTheStoreWorksAgainAfterARestart() throws {
        // A cluster of this test's own: the shared one serves other tests meanwhile.
        let cluster = try PostgresTestCluster.start()
        defer { try? cluster.stop() }
        try cluster.psql("CREATE DATABASE faults", database: "postgres")
        let url = cluster.url(database: "faults", parameters: ["timeout=2", "connect_timeout=2"])
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(3), durability: .strict)

        try cluster.control("stop")
        let down = storeError { _ = try store.load() }
        #expect(down?.kind == .unavailable)
        #expect(down?.message.hasPrefix("cannot load the store in `\(url)`: ") == true, "\(down?.message ?? "")")
        #expect(down?.message.contains("no server socket at `\(cluster.directory)/.s.PGSQL.5432` (is the server running?)") == true,
                "\(down?.message ?? "")")
        var attempt = log
        let refused = storeError { try store.commit(try attempt.batch(2), durability: .strict) }
        #expect(refused?.kind == .unavailable, "\(refused?.message ?? "")")
        #expect(storeError { _ = try PostgresStore(url: url) }?.kind == .unavailable)

        try cluster.control("start")
        try store.commit(try log.batch(2), durability: .strict)
        #expect(try store.load().auditSize == 5)

        // Restarted while a writer appends: each commit succeeds or fails plainly, every
        // acknowledged (strict) entry survives, and the chain stays whole.
        let writing = Atomic(true), acknowledged = Mutex<[UInt64]>([]), unexpected = Mutex<[String]>([])
        let writer = Thread {
            var view: LogBuilder?
            while writing.load(ordering: .acquiring) {
                do {
                    if view == nil { view = try LogBuilder(continuing: store) }
                    let batch = try view!.batch(1)
                    try store.commit(batch, durability: .strict)
                    acknowledged.withLock { $0.append(batch.entries[0].entry.seq) }
                } catch let error as StoreError where error.kind == .unavailable || error.kind == .auditConflict {
                    view = nil
                } catch {
                    unexpected.withLock { $0.append("\(error)") }
                    view = nil
                }
            }
        }
        writer.start()
        #expect(Self.eventually { acknowledged.withLock { $0.count } >= 5 })
        try cluster.control("restart")
        let before = acknowledged.withLock { $0.count }
        #expect(Self.eventually { acknowledged.withLock { $0.count } >= before + 5 })
        writing.store(false, ordering: .releasing)
        while !writer.isFinished { usleep(10_000) }
        #expect(unexpected.withLock { $0 }.isEmpty, "\(unexpected.withLock { $0 })")
        let entries = try allEntries(store)
        #expect(AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) }).failure == nil)
        #expect(entries.map(\.entry.seq) == (0..<UInt64(entries.count)).map { $0 })
        let stored = Set(entries.map(\.entry.seq))
        #expect(acknowledged.withLock { $0 }.allSatisfy(stored.contains))
        store.close()
    }

    @Test func aConnectionKilledMidTransactionLeavesNoPartialBatchAndTheRetryAppliesItOnce() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        var setup = try log.batch(2)
        setup.puts = [StateRow(StateKey("held", "row"), [0])]
        try store.commit(setup, durability: .strict)

        // Another session holds the row the batch writes, so the commit stops mid-transaction:
        // after locking the head and inside its write.
        let holder = try cluster.session(database: database)
        try holder.run("BEGIN; SELECT 1 FROM ringfence.state_rows WHERE collection = convert_to('held', 'UTF8') FOR UPDATE;")
        var batch = try log.batch(3, checkpoint: true)
        batch.puts = [StateRow(StateKey("held", "row"), [1]), StateRow(StateKey("sessions", "s9"), [9])]
        let outcome = Mutex<StoreError??>(nil)
        let pending = batch
        let committer = Thread {
            let error = storeError { try store.commit(pending, durability: .strict) }
            outcome.withLock { $0 = .some(error) }
        }
        committer.start()
        /// The pid of the store's session waiting on the holder's lock.
        func waitingBackend() throws -> String? {
            let pid = try cluster.psql("""
                SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ringfence'
                AND wait_event_type = 'Lock' LIMIT 1
                """, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
            return pid.isEmpty ? nil : pid
        }
        var killed: String?
        #expect(try Self.eventually { killed = try waitingBackend(); return killed != nil })
        try cluster.psql("SELECT pg_terminate_backend(\(killed ?? "0"))", database: database)
        // The killed transaction left nothing; the store retries on a new connection, which
        // waits on the same lock again.
        #expect(try Self.eventually { try waitingBackend().map { $0 != killed } == true })
        #expect(try cluster.psql("SELECT count(*) FROM ringfence.audit_entries", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        #expect(outcome.withLock { $0 } == nil)
        try holder.run("COMMIT;")
        holder.end()
        #expect(Self.eventually { outcome.withLock { $0 } != nil })
        #expect(outcome.withLock { $0 } == .some(nil), "\(String(describing: outcome.withLock { $0 }))")
        // Applied once, whole.
        #expect(try allEntries(store) == log.entries)
        #expect(try store.load().rows == [StateRow(StateKey("held", "row"), [1]), StateRow(StateKey("sessions", "s9"), [9])])
        #expect(try store.checkpoints() == log.checkpoints)
    }

    @Test func aLockHeldPastTheTimeoutFailsTheCommitAndCommitsNothing() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase(["timeout=1"])
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(1), durability: .strict)
        let holder = try cluster.session(database: database)
        try holder.run("BEGIN; SELECT 1 FROM ringfence.audit_head FOR UPDATE;")
        var attempt = log
        let error = storeError { try store.commit(try attempt.batch(2), durability: .strict) }
        #expect(error?.kind == .unavailable)
        #expect(error?.message.hasPrefix("cannot commit a batch in `\(url)`: ") == true, "\(error?.message ?? "")")
        try holder.run("ROLLBACK;")
        holder.end()
        #expect(try store.load().auditSize == 1)
        try store.commit(try log.batch(2), durability: .strict)
        #expect(try allEntries(store) == log.entries)
    }

    /// Makes every write of a state row fail with `states` in turn (a serialization failure,
    /// a deadlock, …), then succeed: the trigger counts through a sequence, which a rollback
    /// does not reset.
    static func injectFailures(_ states: [String], cluster: PostgresTestCluster, database: String) throws {
        let cases = states.enumerated().map { "WHEN \($0.offset + 1) THEN RAISE EXCEPTION 'injected %', \($0.offset + 1) USING ERRCODE = '\($0.element)';" }
        try cluster.psql("""
            CREATE SCHEMA faults; CREATE SEQUENCE faults.attempts;
            CREATE FUNCTION faults.fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN CASE nextval('faults.attempts') \(cases.joined(separator: " ")) ELSE NULL; END CASE; RETURN NEW; END $$;
            CREATE TRIGGER fail BEFORE INSERT ON ringfence.state_rows FOR EACH ROW EXECUTE FUNCTION faults.fail();
            """, database: database)
    }

    @Test func serializationFailuresAndDeadlocksAreRetriedAndTheBatchAppliedOnce() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(2), durability: .strict)
        try Self.injectFailures(["40001", "40P01", "40001"], cluster: cluster, database: database)
        var batch = try log.batch(3, checkpoint: true)
        batch.puts = [StateRow(StateKey("ledger", "a"), [1]), StateRow(StateKey("ledger", "b"), [2])]
        try store.commit(batch, durability: .strict)
        // Three failed attempts, then the fourth wrote both rows.
        #expect(try cluster.psql("SELECT last_value FROM faults.attempts", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "5")
        #expect(try allEntries(store) == log.entries)
        #expect(try store.load().rows == batch.puts)
        #expect(try store.checkpoints() == log.checkpoints)
    }

    @Test func aBatchThatKeepsFailingToSerializeIsAnErrorAndWritesNothing() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(1), durability: .strict)
        try Self.injectFailures(Array(repeating: "40001", count: PostgresConnector.attempts), cluster: cluster, database: database)
        var attempt = log
        var batch = try attempt.batch(2)
        batch.puts = [StateRow(StateKey("ledger", "a"), [1])]
        let error = storeError { try store.commit(batch, durability: .strict) }
        #expect(error?.kind == .database)
        #expect(error?.message == "cannot commit a batch in `\(url)`: injected \(PostgresConnector.attempts) (sqlstate 40001)")
        let snapshot = try store.load()
        #expect(snapshot.rows.isEmpty && snapshot.auditSize == 1 && snapshot.lastHash == log.lastHash)
        // The next commit goes through.
        try store.commit(batch, durability: .strict)
        #expect(try store.load().auditSize == 3)
    }
}
