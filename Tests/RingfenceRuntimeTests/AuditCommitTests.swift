import Foundation
import RingfenceAudit
@testable import RingfenceRuntime
import RingfenceTestSupport
import RingfenceVM
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who commits the audit log's batches (a waiting caller or the writer thread), how the writer is
/// woken, and what a batch holding many items commits (SPEC §9.4).
@Suite struct AuditCommitTests {
    /// A `sessions` row.
    static func row(_ key: String, _ value: String) -> StateRow { StateRow(StateKey("sessions", key), Array(value.utf8)) }

    /// A writer round so long that the writer never commits by itself while a test runs: every
    /// commit is a waiting caller's (or the writer's at close).
    static let never = 3_600_000_000_000

    /// Polls `condition` every millisecond for up to 30 s; true once it holds.
    static func eventually(_ condition: () -> Bool) -> Bool {
        RingfenceTestSupport.eventually(within: 30, every: 0.001, condition)
    }

    @Test func aFlushOnAnIdleLogCommitsOnTheCallersThread() throws {
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: Self.never)
        for i in 0..<3 { _ = try log.enqueue([AuditLogTests.record(i)]) }
        #expect(store.commits.isEmpty)
        try log.flush()
        let me = pthread_self()
        #expect(store.commits.count == 1)
        #expect(store.commits.allSatisfy { pthread_equal($0.thread, me) != 0 && $0.entries == 3 })
        #expect(log.size == 3)
        log.close()
        #expect(AuditVerification.verify(store.inner, keys: []).intact)
    }

    @Test func strictAppendersArrivingDuringACommitShareTheNext() throws {
        let store = CommitRecordingStore()
        store.holdFirstCommit()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict), clock: AuditLogTests.clock(), linger: Self.never)
        let done = DispatchGroup()
        let seqs = Mutex<[UInt64]>([])
        /// A strict append on a thread of its own.
        func appendOnThread(_ i: Int) {
            done.enter()
            Thread {
                if let seq = try? log.append(AuditLogTests.record(i))?.seq { seqs.withLock { $0.append(seq) } }
                done.leave()
            }.start()
        }
        appendOnThread(0)
        // The first appender sequences its own record and is held inside the store's commit.
        #expect(store.firstCommitEntered.wait(timeout: .now() + 30) == .success)
        for i in 1...8 { appendOnThread(i) }
        #expect(Self.eventually { log.queueDepth == 9 })
        store.releaseFirstCommit()
        #expect(done.wait(timeout: .now() + 30) == .success)
        log.close()
        // One commit for the held record, one shared by the eight that queued behind it.
        #expect(store.commits.map(\.entries) == [1, 8])
        #expect(seqs.withLock { $0.sorted() } == Array(0...8))
        #expect(AuditVerification.verify(store.inner, keys: []).intact)
    }

    @Test func theWriterCommitsWhatNobodyWaitsForAndWakesFromSleep() throws {
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: 1_000_000)
        for i in 0..<5 { _ = try log.enqueue([AuditLogTests.record(i)]) }
        #expect(Self.eventually { log.size == 5 })
        // Idle for its rounds, the writer sleeps; the next append wakes it.
        #expect(Self.eventually { log.writerIsAsleep })
        _ = try log.enqueue([AuditLogTests.record(5)])
        #expect(Self.eventually { log.size == 6 })
        let me = pthread_self()
        #expect(!store.commits.isEmpty && store.commits.allSatisfy { pthread_equal($0.thread, me) == 0 })
        log.close()
        #expect(AuditVerification.verify(store.inner, keys: []).intact)
    }

    @Test func batchesTheWriterCommitsWithAppendersStateAreFreedByAppenders() throws {
        // Rounds of 100 ms: the writer commits a round after it is woken, and goes idle (freeing
        // what is left) only after 20 empty rounds, 2 s later.
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: 100_000_000)
        // Records with state rows: the batch is left for an appender.
        for i in 0..<3 { _ = try log.enqueue([AuditLogTests.record(i)], rows: [Self.row("s\(i)", "v")]) }
        #expect(Self.eventually { log.size == 3 })
        #expect(log.releasedBatches >= 1)
        log.freeCommitted()
        #expect(log.releasedBatches == 0)
        // Records whose data was written when they were made, without rows: the writer frees them.
        for i in 3..<6 { _ = try log.enqueue([AuditLogTests.record(i)]) }
        #expect(Self.eventually { log.size == 6 })
        #expect(log.releasedBatches == 0)
        // Left with nobody to take it, a batch is freed by the writer when it goes idle.
        _ = try log.enqueue([AuditLogTests.record(6)], rows: [Self.row("s6", "v")])
        #expect(Self.eventually { log.size == 7 })
        #expect(Self.eventually { log.writerIsAsleep })
        #expect(log.releasedBatches == 0)
        log.close()
        #expect(try store.inner.load().rows.count == 4)
        #expect(AuditVerification.verify(store.inner, keys: []).intact)
    }

    @Test func aLongQueueWakesTheWriter() throws {
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .relaxed, checkpointEvery: 100_000),
                               clock: AuditLogTests.clock(), linger: Self.never)
        // The writer dozes (its rounds last an hour); a queue of `wakeThreshold` items wakes it.
        #expect(Self.eventually { log.writerIsDozing })
        for i in 0..<AuditLog.wakeThreshold { _ = try log.enqueue([AuditLogTests.record(i)]) }
        #expect(Self.eventually { log.size == UInt64(AuditLog.wakeThreshold) })
        log.close()
        #expect(AuditVerification.verify(store.inner, keys: []).intact)
    }

    @Test func closeCommitsWhatIsQueued() throws {
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: Self.never)
        for i in 0..<7 { _ = try log.enqueue([AuditLogTests.record(i)], rows: [Self.row("s\(i)", "v")]) }
        log.close()
        #expect(try store.inner.load().auditSize == 7)
        #expect(try store.inner.load().rows.count == 7)
        #expect(throws: AuditLogError.self) { try log.enqueue([AuditLogTests.record(7)]) }
    }

    @Test func aFailingStoreFailsAppends() throws {
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict), clock: AuditLogTests.clock(), linger: Self.never)
        try log.append(AuditLogTests.record(0))
        store.failCommits()
        #expect(throws: AuditLogError.self) { try log.append(AuditLogTests.record(1)) }
        #expect(log.failure?.contains("the audit log cannot be written") == true)
        #expect(throws: AuditLogError.self) { try log.enqueue([AuditLogTests.record(2)]) }
        #expect(throws: AuditLogError.self) { try log.flush() }
        log.close()
        #expect(try store.inner.load().auditSize == 1)
    }

    @Test func stateChangesQueuedTogetherApplyInTheirOrder() throws {
        let store = CommitRecordingStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: Self.never)
        // Written, deleted, written again; and deleted after being written.
        _ = try log.enqueue([], rows: [Self.row("s1", "first")])
        _ = try log.enqueue([AuditLogTests.record(0)], deletes: [StateKey("sessions", "s1")])
        _ = try log.enqueue([], rows: [Self.row("s1", "second"), Self.row("s2", "kept")])
        _ = try log.enqueue([], rows: [Self.row("s3", "gone")])
        _ = try log.enqueue([AuditLogTests.record(1)], deletes: [StateKey("sessions", "s3")])
        try log.flush()
        log.close()
        // All five items went in one batch.
        #expect(store.commits.count == 1)
        #expect(try store.inner.load().rows == [Self.row("s1", "second"), Self.row("s2", "kept")])
    }

    /// One item's random state changes over `keys`: up to two puts of rows holding `tag`, and
    /// fewer than `deletesBelow` deletes.
    static func changes(_ generator: inout SeededGenerator, keys: [String], tag: String, deletesBelow: Int) -> ([StateRow], [StateKey]) {
        var puts: [StateRow] = []
        var deletes: [StateKey] = []
        for _ in 0..<generator.below(3) { puts.append(row(generator.pick(keys), tag)) }
        for _ in 0..<generator.below(deletesBelow) { deletes.append(StateKey("sessions", generator.pick(keys))) }
        return (puts, deletes)
    }

    @Test func aBatchOfStateChangesLeavesWhatOneCommitEachWould() throws {
        var generator = SeededGenerator(seed: 94)
        let keys = ["a", "b", "c", "d"]
        for round in 0..<200 {
            let apart = MemoryStore()
            let together = MemoryStore()
            var batch = StoreBatch()
            for step in 0..<generator.below(12) + 1 {
                let (puts, deletes) = Self.changes(&generator, keys: keys, tag: "\(round).\(step)", deletesBelow: 3)
                var one = StoreBatch()
                one.addStateChanges(puts: puts, deletes: deletes)
                try apart.commit(one, durability: .relaxed)
                batch.addStateChanges(puts: puts, deletes: deletes)
            }
            try together.commit(batch, durability: .relaxed)
            #expect(try together.load().rows == apart.load().rows, "round \(round)")
        }
    }

    /// A batch's puts overwritten by a later put of the same row are dropped before the store
    /// sees them; what is kept is the last put of each row, in the batch's order, and commits
    /// to what the whole batch would — for few rows (compared pairwise) and many (hashed).
    @Test func overwrittenPutsAreDroppedAndTheBatchCommitsTheSame() throws {
        var generator = SeededGenerator(seed: 95)
        for round in 0..<400 {
            let keys = (0..<(round.isMultiple(of: 2) ? 3 : 14)).map { "k\($0)" }
            var batch = StoreBatch()
            for step in 0..<generator.below(24) + 1 {
                let (puts, deletes) = Self.changes(&generator, keys: keys, tag: "\(round).\(step)", deletesBelow: 2)
                batch.addStateChanges(puts: puts, deletes: deletes)
            }
            var dropped = batch
            dropped.dropOverwrittenPuts()
            let lastOfEach = batch.puts.enumerated().filter { i, row in !batch.puts[(i + 1)...].contains { $0.key == row.key } }.map(\.element)
            #expect(dropped.puts == lastOfEach, "round \(round)")
            #expect(dropped.deletes == batch.deletes)
            let whole = MemoryStore(), kept = MemoryStore()
            try whole.commit(batch, durability: .relaxed)
            try kept.commit(dropped, durability: .relaxed)
            #expect(try kept.load().rows == whole.load().rows, "round \(round)")
        }
    }

    /// A row written when read equals, and hashes as, the row of the bytes it writes; setting
    /// its value replaces the function.
    @Test func aRowWrittenWhenReadIsTheRowOfItsBytes() {
        let bytes = Array(#"{"state":"active"}"#.utf8)
        var written = StateRow(StateKey("sessions", "s1")) { bytes }
        let plain = StateRow(StateKey("sessions", "s1"), bytes)
        #expect(written == plain)
        #expect(Set([written, plain]).count == 1)
        #expect(written != StateRow(StateKey("sessions", "s2"), bytes))
        written.value = Array("{}".utf8)
        #expect(written == StateRow(StateKey("sessions", "s1"), Array("{}".utf8)))
    }

    /// A row whose bytes are written when read is written by the commit, once, and not at all
    /// when a later row of the batch overwrites it.
    @Test func rowsWrittenWhenReadAreWrittenOnceAndOnlyWhenKept() throws {
        let writes = Mutex<[String: Int]>([:])
        func row(_ key: String, _ value: String) -> StateRow {
            StateRow(StateKey("sessions", key)) {
                writes.withLock { $0[value, default: 0] += 1 }
                return Array(value.utf8)
            }
        }
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: Self.never)
        _ = try log.enqueue([AuditLogTests.record(0)], rows: [row("s1", "created")])
        _ = try log.enqueue([AuditLogTests.record(1)], rows: [row("s1", "joined"), row("s2", "other")])
        _ = try log.enqueue([AuditLogTests.record(2)], rows: [row("s1", "activated")])
        #expect(writes.withLock { $0 }.isEmpty, "a row was written before its batch committed")
        try log.flush()
        log.close()
        #expect(writes.withLock { $0 } == ["activated": 1, "other": 1])
        #expect(try store.load().rows == [Self.row("s1", "activated"), Self.row("s2", "other")])
    }

    @Test func anOnDemandCheckpointCoversEverythingQueuedBeforeIt() throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .relaxed, checkpointEvery: 100_000), clock: AuditLogTests.clock())
        // More than the queue length that wakes the writer, queued before the checkpoint is asked for.
        for i in 0..<10_000 { _ = try log.enqueue([AuditLogTests.record(i)]) }
        let checkpoint = try log.checkpoint()
        #expect(checkpoint.size == 10_000)
        _ = try log.enqueue([AuditLogTests.record(10_000)])
        #expect(try log.checkpoint().size == 10_001)
        log.close()
        #expect(try store.checkpoints().map(\.size) == [10_000, 10_001])
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    /// A batch long enough to be encoded on two threads gives each item the data and hash one
    /// thread would, in order, whatever the item: no record, data given, data built when
    /// sequenced, data written in canonical form, data that cannot be written.
    @Test func aLongBatchIsEncodedOnTwoThreadsAsOneThreadWould() throws {
        let time = try AuditTime(microseconds: 1_795_255_200_000_000)
        var work = (0..<(3 * Sequencer.parallelEncoding + 7)).map { i -> PendingItem in
            let record: AuditRecord?
            switch i % 5 {
            case 0: record = nil
            case 1: record = AuditLogTests.record(i)
            case 2: record = AuditRecord(kind: "delta", time: time) { .object(["built": .number(Double(i)), "é": .string("\(i)")]) }
            case 3: record = AuditRecord(kind: "delta", time: time) { () throws(AuditError) in Array("{\"n\":\(i)}".utf8) }
            default: record = AuditRecord(kind: "delta", time: time, value: .object(["bad": .number(i.isMultiple(of: 2) ? .infinity : .nan)]))
            }
            return PendingItem(record: record, rows: [], deletes: [])
        }
        let encoded = Sequencer.encode(&work)
        #expect(encoded.count == work.count)
        for (i, (item, result)) in zip(work, encoded).enumerated() {
            guard let record = item.record else {
                #expect(result == nil, "item \(i)")
                continue
            }
            let one = Result { () throws(AuditError) in try record.encodedData().data }
            switch (result, one) {
            case (.success(let two)?, .success(let data)):
                #expect(two.data == data && two.hash == AuditHash.sha256(data), "item \(i)")
            case (.failure(let two)?, .failure(let error)):
                #expect(two.message == error.message, "item \(i)")
            default:
                Issue.record("item \(i): \(String(describing: result)) on two threads, \(one) on one")
            }
        }
    }

    /// A long batch the writer thread commits while nobody waits for it is encoded on the
    /// writer alone (a second thread would take a core from the appenders going on appending);
    /// the same batch committed by a caller waiting for it is encoded on two threads.
    @Test func aLongBatchIsEncodedOnTwoThreadsOnlyWhenACallerWaitsForIt() throws {
        let time = try AuditTime(microseconds: 1_795_255_200_000_000)
        let count = 2 * Sequencer.parallelEncoding
        for waits in [false, true] {
            let threads = Mutex<Set<String>>([])
            let records = (0..<count).map { i in
                AuditRecord(kind: "delta", time: time) {
                    _ = threads.withLock { $0.insert(String(describing: pthread_self())) }
                    return .object(["n": .number(Double(i))])
                }
            }
            // Waiting, the caller commits the batch itself (the writer lingers for an hour);
            // otherwise the writer commits it a millisecond after it is queued.
            let log = try AuditLog(store: MemoryStore(), settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(),
                                   linger: waits ? Self.never : 1_000_000)
            _ = try log.enqueue(records)
            if waits {
                try log.flush()
            } else {
                #expect(Self.eventually { log.size == UInt64(count) })
            }
            #expect(threads.withLock { $0.count } == (waits ? 2 : 1), "waits: \(waits)")
            log.close()
        }
    }

    /// One commit of many records whose data is built when they are sequenced (encoded on two
    /// threads) makes the entries that committing records made with their values one at a time
    /// makes.
    @Test func aLongCommitMakesTheEntriesOfOneAtATime() throws {
        let count = 2 * Sequencer.parallelEncoding + 1
        let together = CommitRecordingStore(), apart = MemoryStore()
        let one = try AuditLog(store: together, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: Self.never)
        for i in 0..<count {
            let record = AuditLogTests.record(i)
            _ = try one.enqueue([AuditRecord(kind: record.kind, session: record.session, agent: record.agent, time: record.time,
                                             data: { .object(["n": .number(Double(i))]) })])
        }
        try one.flush()
        one.close()
        let each = try AuditLog(store: apart, settings: AuditSettings(durability: .strict), clock: AuditLogTests.clock())
        for i in 0..<count { try each.append(AuditLogTests.record(i)) }
        each.close()
        #expect(together.commits.map(\.entries) == [count])
        let made = try together.inner.auditEntries(from: 0, limit: count + 1)
        #expect(made.count == count)
        #expect(made == (try apart.auditEntries(from: 0, limit: count + 1)))
    }

    @Test func concurrentFlushersAndAppendersNeverGapOrFork() async throws {
        let store = MemoryStore()
        let first = try AuditLog(store: store, settings: AuditSettings(durability: .group), clock: AuditLogTests.clock(), linger: 200_000)
        let second = try AuditLog(store: store, settings: AuditSettings(durability: .strict), clock: AuditLogTests.clock(), linger: 200_000)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<6 {
                group.addTask {
                    let log = t.isMultiple(of: 2) ? first : second
                    for i in 0..<150 {
                        _ = try? log.append(AuditLogTests.record(t * 1000 + i))
                        if i.isMultiple(of: 10) { try? log.flush() }
                    }
                }
            }
        }
        try first.flush()
        first.close()
        second.close()
        #expect(try store.load().auditSize == 900)
        #expect(AuditVerification.verify(store, keys: []).intact)
    }
}

/// A memory store that records each commit (its thread and entry count) and can hold its first
/// commit until released, or fail every commit.
final class CommitRecordingStore: StateStore, @unchecked Sendable {
    // Safety: `state` is guarded by its mutex; the semaphores are thread-safe.
    /// The store commits go to.
    let inner = MemoryStore()
    /// `memory:`.
    var url: String { inner.url }
    /// Commits so far, whether commits fail, whether the first is held.
    private let state = Mutex<(commits: [(thread: pthread_t, entries: Int)], failing: Bool, holding: Bool)>(([], false, false))
    /// Signalled when the held first commit has started.
    let firstCommitEntered = DispatchSemaphore(value: 0)
    /// Signalled to let the held first commit go on.
    private let release = DispatchSemaphore(value: 0)

    /// Each commit's thread and number of entries, in order.
    var commits: [(thread: pthread_t, entries: Int)] { state.withLock { $0.commits } }

    /// Holds the next commit inside `commit` until `releaseFirstCommit`.
    func holdFirstCommit() { state.withLock { $0.holding = true } }

    /// Lets the held commit go on.
    func releaseFirstCommit() { release.signal() }

    /// Makes every later commit fail.
    func failCommits() { state.withLock { $0.failing = true } }

    /// Records the commit, then holds, fails or commits it.
    func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        let (failing, holding) = state.withLock { s in
            let holding = s.holding
            s.holding = false
            return (s.failing, holding)
        }
        if failing { throw StoreError(.database, "the disk is full") }
        if holding {
            firstCommitEntered.signal()
            release.wait()
        }
        try inner.commit(batch, durability: durability)
        state.withLock { $0.commits.append((pthread_self(), batch.entries.count)) }
    }

    /// The inner store's snapshot.
    func load() throws(StoreError) -> StoreSnapshot { try inner.load() }
    /// The inner store's entries.
    func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] { try inner.auditEntries(from: seq, limit: limit) }
    /// The inner store's nodes.
    func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] { try inner.auditNodes(ids) }
    /// The inner store's checkpoints.
    func checkpoints() throws(StoreError) -> [StoredCheckpoint] { try inner.checkpoints() }
    /// The inner store's session hashes.
    func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash] { try inner.auditEntryHashes(session: session) }
    /// Purges in the inner store.
    func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int { try inner.purgeAuditData(before: seq) }
}
