import Foundation
import RingfenceAudit
@testable import RingfencePostgres
import RingfenceRuntime
import RingfenceTestSupport
import Synchronization
import Testing

/// The PostgreSQL store's tenure (SPEC §15): what one store commits under it reaches the next
/// taker as exactly those changes; a second taker, in another store or in the same one, waits
/// for the release; versions count commits; a tenure whose connection dies is lost, refuses
/// commits and lets the next node in; and a database of schema version 1 is upgraded in place.
@Suite struct PostgresTenureTests {
    /// A row in `collection` with key `key` holding `value`.
    static func row(_ collection: String, _ key: String, _ value: UInt8) -> StateRow {
        StateRow(StateKey(collection, key), [value])
    }

    /// A batch of state changes alone.
    static func batch(puts: [StateRow] = [], deletes: [StateKey] = []) -> StoreBatch {
        var batch = StoreBatch()
        batch.puts = puts
        batch.deletes = deletes
        return batch
    }

    @Test func whatOneStoreCommitsUnderTheTenureReachesTheNextTakerExactly() throws {
        let (_, _, url) = try PostgresStoreTests.freshDatabase()
        let first = try PostgresStore(url: url), second = try PostgresStore(url: url)
        let seen = try second.load().version
        #expect(seen == 0)

        let start = try #require(first.tenure).acquire(since: try first.load().version)
        #expect(start.version == 0 && start.rows.isEmpty && start.deletes.isEmpty && start.auditSize == 0)
        #expect(start.lastHash == .zero && start.lastCheckpoint == nil)
        var log = LogBuilder()
        try first.commit(try log.batch(2, checkpoint: true, puts: [Self.row("sessions", "s1", 1), Self.row("sessions", "s2", 2),
                                                                  Self.row("vouches", "v1", 3)]), durability: .strict)
        try first.commit(try log.batch(1, puts: [Self.row("sessions", "s1", 11)],
                                       deletes: [StateKey("sessions", "s2"), StateKey("nowhere", "absent")]), durability: .relaxed)
        #expect(try first.tenure!.release() == 2)

        let changes = try second.tenure!.acquire(since: seen)
        #expect(changes.version == 2)
        #expect(changes.rows == [Self.row("sessions", "s1", 11), Self.row("vouches", "v1", 3)])
        #expect(changes.deletes == [StateKey("nowhere", "absent"), StateKey("sessions", "s2")])
        #expect(changes.auditSize == 3 && changes.lastHash == log.lastHash)
        #expect(changes.lastCheckpoint == log.checkpoints.last && log.checkpoints.count == 1)
        #expect((try? AuditTime(microseconds: changes.clock)) != nil && changes.clock > 0)
        // A put after a delete removes the tombstone.
        try second.commit(try log.batch(1, puts: [Self.row("sessions", "s2", 22)]), durability: .strict)
        #expect(try second.tenure!.release() == 3)

        // Only what a commit after the version asked for wrote.
        let later = try first.tenure!.acquire(since: 2)
        #expect(later.version == 3 && later.rows == [Self.row("sessions", "s2", 22)] && later.deletes.isEmpty)
        #expect(later.auditSize == 4 && later.lastHash == log.lastHash && later.lastCheckpoint == log.checkpoints.last)
        #expect(try first.tenure!.release() == 3)
        let whole = try first.tenure!.acquire(since: 0)
        #expect(whole.rows == [Self.row("sessions", "s1", 11), Self.row("sessions", "s2", 22), Self.row("vouches", "v1", 3)])
        #expect(whole.deletes == [StateKey("nowhere", "absent")])
        _ = try first.tenure!.release()
        #expect(try second.load().version == 3)
    }

    @Test func versionsCountCommitsOfEveryKind() throws {
        let (_, _, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        var log = LogBuilder()
        try store.commit(try log.batch(3), durability: .strict)
        try store.commit(try log.batch(0, puts: [Self.row("k", "a", 1)]), durability: .group)
        try store.commit(try log.batch(0, deletes: [StateKey("k", "a")]), durability: .relaxed)
        try store.commit(try log.batch(0, checkpoint: true), durability: .strict)
        // An empty batch is no commit.
        try store.commit(StoreBatch(), durability: .strict)
        #expect(try store.load().version == 4)
        // A refused batch changes nothing, the version neither.
        var stale = LogBuilder()
        #expect(storeError { try store.commit(try stale.batch(1), durability: .strict) }?.kind == .auditConflict)
        #expect(try store.load().version == 4)
        let changes = try store.tenure!.acquire(since: 1)
        #expect(changes.version == 4 && changes.rows.isEmpty && changes.deletes == [StateKey("k", "a")])
        #expect(try store.tenure!.release() == 4)
    }

    @Test func aSecondNodeWaitsForTheFirstsRelease() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let first = try PostgresStore(url: url), second = try PostgresStore(url: url)
        _ = try first.tenure!.acquire(since: 0)
        let taken = Mutex<Result<StoreChanges, StoreError>?>(nil)
        let waiter = Thread {
            let result: Result<StoreChanges, StoreError>
            do { result = .success(try second.tenure!.acquire(since: 0)) } catch let error as StoreError { result = .failure(error) } catch {
                result = .failure(StoreError(.database, "\(error)"))
            }
            taken.withLock { $0 = result }
        }
        waiter.start()
        // The second node's session waits on the advisory lock, and has not come back.
        #expect(try PostgresFaultTests.eventually {
            try cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", database: database)
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        })
        #expect(taken.withLock { $0 } == nil)
        try first.commit(Self.batch(puts: [Self.row("sessions", "s1", 1)]), durability: .strict)
        #expect(try first.tenure!.release() == 1)
        #expect(PostgresFaultTests.eventually { taken.withLock { $0 } != nil })
        let changes = try #require(try taken.withLock { $0 }?.get())
        #expect(changes.version == 1 && changes.rows == [Self.row("sessions", "s1", 1)] && changes.auditSize == 0)
        #expect(try second.tenure!.release() == 1)
    }

    @Test func twoRuntimesOfOneStoreTakeTheTenureInTurnAndEitherThreadMayRelease() throws {
        let (_, _, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        _ = try store.tenure!.acquire(since: 0)
        let ready = DispatchSemaphore(value: 0)
        let taken = Mutex<StoreChanges?>(nil), failure = Mutex<String?>(nil)
        let other = Thread {
            ready.signal()
            do {
                let changes = try store.tenure!.acquire(since: 0)
                taken.withLock { $0 = changes }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        other.start()
        ready.wait()
        // The advisory lock is re-entrant within the tenure's session: only the gate keeps the
        // other runtime out until the release, so it must see the commit made before it.
        try store.commit(Self.batch(puts: [Self.row("sessions", "s1", 1)]), durability: .strict)
        #expect(taken.withLock { $0 } == nil)
        #expect(try store.tenure!.release() == 1)
        #expect(PostgresFaultTests.eventually { taken.withLock { $0 } != nil || failure.withLock { $0 } != nil })
        #expect(failure.withLock { $0 } == nil, "\(failure.withLock { $0 } ?? "")")
        #expect(taken.withLock { $0 }?.version == 1 && taken.withLock { $0 }?.rows == [Self.row("sessions", "s1", 1)])
        // Taken by the other thread, given up by this one.
        #expect(try store.tenure!.release() == 1)
        _ = try store.tenure!.acquire(since: 1)
        #expect(try store.tenure!.release() == 1)
        #expect(storeError { _ = try store.tenure!.release() }?.message == "cannot give up the tenure of `\(url)`: this store does not hold it")
    }

    @Test func aWaitThatOutlastsTheTimeoutThrowsHoldingNothing() throws {
        let (_, _, url) = try PostgresStoreTests.freshDatabase(["timeout=1"])
        let first = try PostgresStore(url: url), second = try PostgresStore(url: url)
        _ = try first.tenure!.acquire(since: 0)
        let elsewhere = storeError { _ = try second.tenure!.acquire(since: 0) }
        #expect(elsewhere?.kind == .unavailable)
        #expect(elsewhere?.message == "cannot take the tenure of `\(url)`: another node held it for longer than 1 s")
        let here = Mutex<StoreError?>(nil)
        let thread = Thread { here.withLock { $0 = storeError { _ = try first.tenure!.acquire(since: 0) } } }
        thread.start()
        #expect(PostgresFaultTests.eventually { here.withLock { $0 } != nil })
        #expect(here.withLock { $0 }?.message == "cannot take the tenure of `\(url)`: another runtime of this process held it for longer than 1 s")
        #expect(try first.tenure!.release() == 0)
        // Neither failed wait left anything held.
        _ = try second.tenure!.acquire(since: 0)
        #expect(try second.tenure!.release() == 0)
        _ = try first.tenure!.acquire(since: 0)
        #expect(try first.tenure!.release() == 0)
    }

    @Test func aKilledTenureConnectionLosesTheTenureAndLetsTheNextNodeIn() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let first = try PostgresStore(url: url), second = try PostgresStore(url: url)
        _ = try first.tenure!.acquire(since: 0)
        let pid = try #require(first.storeTenure.backendPID)
        try cluster.psql("SELECT pg_terminate_backend(\(pid))", database: database)
        #expect(PostgresFaultTests.eventually { first.storeTenure.lostWhileHeld })
        let lost = "lost the tenure of `\(url)` while holding it: its database connection closed, which let another node take it; "
            + "nothing may be committed until the tenure is taken again"
        let refused = storeError { try first.commit(Self.batch(puts: [Self.row("sessions", "s0", 0)]), durability: .strict) }
        #expect(refused?.kind == .unavailable && refused?.message == lost)
        let released = storeError { _ = try first.tenure!.release() }
        #expect(released?.kind == .unavailable && released?.message == lost)
        #expect(try first.load().version == 0)

        let taken = try second.tenure!.acquire(since: 0)
        #expect(taken.version == 0)
        try second.commit(Self.batch(puts: [Self.row("sessions", "s1", 1)]), durability: .strict)
        #expect(try second.tenure!.release() == 1)
        // The first store connects again for its next tenure.
        let again = try first.tenure!.acquire(since: 0)
        #expect(again.version == 1 && again.rows == [Self.row("sessions", "s1", 1)])
        #expect(first.storeTenure.backendPID != pid)
        #expect(try first.tenure!.release() == 1)
    }

    @Test func aTenureConnectionClosedWhileIdleIsReplacedOnTheNextAcquire() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        let store = try PostgresStore(url: url)
        _ = try store.tenure!.acquire(since: 0)
        #expect(try store.tenure!.release() == 0)
        let pid = try #require(store.storeTenure.backendPID)
        try cluster.psql("SELECT pg_terminate_backend(\(pid))", database: database)
        let changes = try store.tenure!.acquire(since: 0)
        #expect(changes.version == 0)
        #expect(store.storeTenure.backendPID != pid)
        #expect(try store.tenure!.release() == 0)
    }

    @Test func aStoreOfSchemaVersionOneIsUpgradedInPlace() throws {
        let (cluster, database, url) = try PostgresStoreTests.freshDatabase()
        try cluster.psql(PostgresSchema.migrations[0].joined(separator: ";\n") + """
            ;
            UPDATE ringfence.ringfence_meta SET value = '1' WHERE key = 'schema_version';
            INSERT INTO ringfence.state_rows (collection, key, value) VALUES (convert_to('sessions', 'UTF8'), convert_to('old', 'UTF8'), '\\x07');
            """, database: database)
        let location = try PostgresLocation(url: url)
        #expect(try PostgresStore.storedSchemaVersion(location: location) == 1)
        let store = try PostgresStore(url: url)
        #expect(try PostgresStore.storedSchemaVersion(location: location) == 2)
        let snapshot = try store.load()
        #expect(snapshot.version == 0 && snapshot.rows == [Self.row("sessions", "old", 7)])
        var log = LogBuilder()
        try store.commit(try log.batch(1, puts: [Self.row("sessions", "new", 8)], deletes: [StateKey("sessions", "old")]), durability: .strict)
        let changes = try store.tenure!.acquire(since: snapshot.version)
        #expect(changes.version == 1 && changes.rows == [Self.row("sessions", "new", 8)] && changes.deletes == [StateKey("sessions", "old")])
        #expect(try store.tenure!.release() == 1)
        #expect(try cluster.psql("SELECT value FROM ringfence.ringfence_meta WHERE key = 'schema_version'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "2")
    }
}
