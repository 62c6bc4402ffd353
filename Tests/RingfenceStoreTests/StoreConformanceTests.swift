import RingfenceAudit
import RingfenceRuntime
import Testing
import RingfenceTestSupport

/// What every store must do (SPEC §12), run against each backend in `StoreBackend.all`: rows,
/// audit appends that continue the log or change nothing, exact read-back, purges and chunked
/// reads; and, for stores several runtimes share live (`SharedStoreBackend`), the tenure.
@Suite struct StoreConformanceTests {
    /// The entries `forEachAuditEntry` hands over, with copies of their data.
    static func visit(_ store: StateStore, from seq: UInt64, limit: Int) throws -> [StoredAuditEntry] {
        var visited: [StoredAuditEntry] = []
        try store.forEachAuditEntry(from: seq, limit: limit) { entry, hash, data in
            visited.append(StoredAuditEntry(entry: entry, hash: hash, data: data.map { Array($0) }))
        }
        return visited
    }

    @Test(arguments: StoreBackend.all)
    func aNewStoreIsEmpty(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        let snapshot = try store.load()
        #expect(snapshot.rows.isEmpty)
        #expect(snapshot.auditSize == 0)
        #expect(snapshot.lastHash == .zero)
        #expect(try store.auditEntries(from: 0, limit: 10).isEmpty)
        #expect(try store.auditNodes([MerkleNodeID(level: 0, index: 0)]).isEmpty)
        #expect(try store.checkpoints().isEmpty)
        #expect(try store.purgeAuditData(before: 10) == 0)
        // An empty batch is no transaction at all.
        try store.commit(StoreBatch(), durability: .strict)
        #expect(try store.load().auditSize == 0)
    }

    @Test(arguments: StoreBackend.all)
    func rowsArePutReplacedDeletedAndLoadedInKeyOrder(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var first = StoreBatch()
        first.puts = [
            StateRow(StateKey("sessions", "s2"), [2]),
            StateRow(StateKey("breakers", "b1"), [9]),
            StateRow(StateKey("sessions", "s1"), [1]),
            StateRow(StateKey("sessions", "s10"), [10]),
            StateRow(StateKey("vouches", "v1"), []),
        ]
        try store.commit(first, durability: .strict)
        #expect(try store.load().rows.map(\.key) == [
            StateKey("breakers", "b1"), StateKey("sessions", "s1"), StateKey("sessions", "s10"),
            StateKey("sessions", "s2"), StateKey("vouches", "v1"),
        ])
        var second = StoreBatch()
        second.puts = [StateRow(StateKey("sessions", "s1"), [1, 1]), StateRow(StateKey("sessions", "s3"), [3])]
        second.deletes = [StateKey("sessions", "s2"), StateKey("breakers", "b1"), StateKey("nowhere", "absent")]
        try store.commit(second, durability: .relaxed)
        let rows = try store.load().rows
        #expect(rows == [
            StateRow(StateKey("sessions", "s1"), [1, 1]), StateRow(StateKey("sessions", "s10"), [10]),
            StateRow(StateKey("sessions", "s3"), [3]), StateRow(StateKey("vouches", "v1"), []),
        ])
        // A key put and deleted in one batch ends deleted (puts apply before deletes).
        var third = StoreBatch()
        third.puts = [StateRow(StateKey("sessions", "s4"), [4])]
        third.deletes = [StateKey("sessions", "s4")]
        try store.commit(third, durability: .group)
        #expect(try store.load().rows == rows)
    }

    @Test(arguments: StoreBackend.all)
    func auditBatchesAppendAndReadBackExactly(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        try store.commit(try log.batch(1, checkpoint: true), durability: .strict)
        try store.commit(try log.batch(5, kind: "session.created", session: nil, agent: "a1"), durability: .group)
        try store.commit(try log.batch(17, checkpoint: true), durability: .relaxed)
        let snapshot = try store.load()
        #expect(snapshot.auditSize == 23)
        #expect(snapshot.lastHash == log.lastHash)
        #expect(try store.auditEntries(from: 0, limit: 100) == log.entries)
        #expect(try Self.visit(store, from: 0, limit: 100) == log.entries)
        #expect(try Self.visit(store, from: 4, limit: 7) == Array(log.entries[4..<11]))
        #expect(try Self.visit(store, from: 23, limit: 7).isEmpty)
        let found = try store.auditNodes(log.nodes.map(\.id) + [MerkleNodeID(level: 40, index: 3)])
        #expect(found == Dictionary(uniqueKeysWithValues: log.nodes.map { ($0.id, $0.hash) }))
        // A level's run of nodes, in index order, nil where none is stored: within the stored
        // nodes, across their end, past it, and on a level holding none.
        var run: [AuditHash?] = [.zero]
        for (level, indices) in [(0, UInt64(0)..<23), (0, 5..<9), (0, 20..<30), (1, 0..<11), (1, 3..<15), (3, 2..<4), (4, 0..<2), (9, 0..<3)] {
            try store.auditNodes(level: level, indices: indices, into: &run)
            #expect(run == indices.map { found[MerkleNodeID(level: level, index: $0)] }, "level \(level), \(indices)")
        }
        try store.auditNodes(level: 2, indices: 3..<3, into: &run)
        #expect(run.isEmpty)
        #expect(try store.checkpoints() == log.checkpoints)
        // What was stored still verifies as a chain and rebuilds the same Merkle root.
        let report = AuditChainVerifier.verify(try store.auditEntries(from: 0, limit: 100).map { ($0.entry, $0.data) })
        #expect(report.failure == nil && report.count == 23 && report.root == log.frontier.root)
        let rebuilt = try MerkleFrontier(size: 23, source: StoreNodeSource(frontierOf: 23, in: store))
        #expect(rebuilt.root == log.frontier.root)
    }

    /// Ways a batch can fail to continue a log of three entries.
    enum Break: String, CaseIterable, CustomTestStringConvertible {
        case seqTooHigh, seqReplayed, wrongPrev, gapInsideBatch, brokenLinkInsideBatch
        var testDescription: String { rawValue }
    }

    @Test(arguments: StoreBackend.all, Break.allCases)
    func aBatchThatDoesNotContinueTheLogIsRefusedAndChangesNothing(_ backend: StoreBackend, _ kind: Break) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        var setup = try log.batch(3, checkpoint: true)
        setup.puts = [StateRow(StateKey("sessions", "kept"), [1])]
        try store.commit(setup, durability: .strict)
        let before = try store.load()
        let entriesBefore = try store.auditEntries(from: 0, limit: 100)

        var fork = log
        var bad: StoreBatch
        switch kind {
        case .seqTooHigh:
            _ = try fork.batch(1)
            bad = try fork.batch(2)
        case .seqReplayed:
            var replay = LogBuilder()
            _ = try replay.batch(2)
            bad = try replay.batch(2)
        case .wrongPrev:
            bad = try fork.batch(2)
            let first = bad.entries[0].entry
            let relinked = try AuditEntry(seq: first.seq, time: first.time, kind: first.kind, session: first.session,
                                          agent: first.agent, dataHash: first.dataHash, prev: AuditHash.sha256(utf8: "elsewhere"))
            bad.entries[0] = StoredAuditEntry(entry: relinked, hash: relinked.hash, data: bad.entries[0].data)
        case .gapInsideBatch:
            bad = try fork.batch(3)
            bad.entries.remove(at: 1)
        case .brokenLinkInsideBatch:
            bad = try fork.batch(3)
            let last = bad.entries[2].entry
            let relinked = try AuditEntry(seq: last.seq, time: last.time, kind: last.kind, session: last.session,
                                          agent: last.agent, dataHash: last.dataHash, prev: .zero)
            bad.entries[2] = StoredAuditEntry(entry: relinked, hash: relinked.hash, data: nil)
        }
        bad.puts = [StateRow(StateKey("sessions", "kept"), [2]), StateRow(StateKey("sessions", "new"), [3])]
        bad.deletes = [StateKey("sessions", "kept")]
        bad.nodes.append(MerkleNode(id: MerkleNodeID(level: 20, index: 0), hash: AuditHash.sha256(utf8: "node")))
        bad.checkpoints = [StoredCheckpoint(size: 99, root: .zero, note: "forged\n", time: LogBuilder.time(99))]

        let error = storeError { try store.commit(bad, durability: .strict) }
        #expect(error?.kind == .auditConflict)
        let after = try store.load()
        #expect(after.rows == before.rows && after.auditSize == before.auditSize && after.lastHash == before.lastHash)
        #expect(try store.auditEntries(from: 0, limit: 100) == entriesBefore)
        #expect(try store.auditNodes([MerkleNodeID(level: 20, index: 0)]).isEmpty)
        #expect(try store.checkpoints() == log.checkpoints)
        // The log still takes the batch that does continue it.
        try store.commit(try log.batch(2), durability: .strict)
        #expect(try store.load().auditSize == 5)
    }

    @Test(arguments: StoreBackend.all)
    func purgeDropsDataAndKeepsEnvelopes(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        try store.commit(try log.batch(10), durability: .strict)
        #expect(try store.purgeAuditData(before: 4) == 4)
        let entries = try store.auditEntries(from: 0, limit: 100)
        #expect(entries.map { $0.data == nil } == Array(repeating: true, count: 4) + Array(repeating: false, count: 6))
        #expect(try Self.visit(store, from: 0, limit: 100) == entries)
        #expect(entries.map(\.entry) == log.entries.map(\.entry))
        #expect(entries.map(\.hash) == log.entries.map(\.hash))
        #expect(Array(entries[4...]) == Array(log.entries[4...]))
        #expect(try store.purgeAuditData(before: 4) == 0)
        #expect(try store.purgeAuditData(before: UInt64.max) == 6)
        #expect(try store.auditEntries(from: 0, limit: 100).allSatisfy { $0.data == nil })
        #expect(try store.load().auditSize == 10)
        // A purged log still verifies: the data hashes stay.
        #expect(AuditChainVerifier.verify(try store.auditEntries(from: 0, limit: 100).map { ($0.entry, $0.data) }).failure == nil)
    }

    @Test(arguments: StoreBackend.all)
    func chunkedReadsCrossBatchBoundaries(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        for count in [3, 1, 7, 14] { try store.commit(try log.batch(count), durability: .relaxed) }
        for chunk in [1, 2, 7, 10, 25, 1000] {
            #expect(try allEntries(store, chunk: chunk) == log.entries, "chunk \(chunk)")
        }
        #expect(try store.auditEntries(from: 9, limit: 4) == Array(log.entries[9..<13]))
        #expect(try store.auditEntries(from: 20, limit: 100) == Array(log.entries[20...]))
        #expect(try store.auditEntries(from: 25, limit: 10).isEmpty)
        #expect(try store.auditEntries(from: 1 << 60, limit: 10).isEmpty)
        #expect(try store.auditEntries(from: UInt64.max, limit: 10).isEmpty)
        #expect(try store.auditEntries(from: 0, limit: 0).isEmpty)
        #expect(try store.auditEntries(from: 0, limit: -5).isEmpty)
        #expect(try store.auditEntries(from: 0, limit: Int.max) == log.entries)
    }

    /// Longer than the memory store's chunks of 4,096 entries, committed in batches that end on,
    /// before and after their boundaries: reads and purges across them.
    @Test(arguments: StoreBackend.all)
    func aLongLogReadsBackAcrossItsMemoryChunks(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        for count in [1, 4_094, 1, 3, 5_000, 3_189, 7] { try store.commit(try log.batch(count), durability: .relaxed) }
        #expect(log.entries.count == 12_295)
        #expect(try allEntries(store, chunk: 1_000) == log.entries)
        for (from, limit) in [(4_090, 20), (4_095, 1), (4_096, 1), (8_190, 4_100), (12_287, 100), (0, 12_295)] {
            #expect(try store.auditEntries(from: UInt64(from), limit: limit) == Array(log.entries[from..<min(12_295, from + limit)]),
                    "from \(from), limit \(limit)")
        }
        let snapshot = try store.load()
        #expect(snapshot.auditSize == 12_295)
        #expect(snapshot.lastHash == log.entries.last?.hash)
        #expect(try store.purgeAuditData(before: 8_193) == 8_193)
        let entries = try store.auditEntries(from: 8_190, limit: 6)
        #expect(entries.map { $0.data == nil } == [true, true, true, false, false, false])
        #expect(entries.map(\.hash) == log.entries[8_190..<8_196].map(\.hash))
    }

    @Test(arguments: StoreBackend.all)
    func unicodeEmptyStringsAndEmptyValuesRoundTrip(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        let keys = [
            StateKey("", ""), StateKey("", "k"), StateKey("sessions", "ключ"), StateKey("sessions", "鍵🔑"),
            StateKey("sessions", "a\u{0}b"), StateKey("sessions", "café"), StateKey("Ω", "line\nbreak"),
        ]
        var batch = StoreBatch()
        batch.puts = keys.enumerated().map { StateRow($1, $0 == 0 ? [] : Array($1.key.utf8)) }
        try store.commit(batch, durability: .strict)
        #expect(try store.load().rows == batch.puts.sorted { $0.key < $1.key })
        var log = LogBuilder()
        try store.commit(try log.batch(2, kind: "décision ✓", session: "", agent: "агент-🔑"), durability: .strict)
        try store.commit(try log.batch(2, kind: "delta", session: "s\u{0}1", agent: "", data: { _ in [] }), durability: .strict)
        try store.commit(try log.batch(1, data: { _ in nil }), durability: .strict)
        let entries = try store.auditEntries(from: 0, limit: 10)
        #expect(entries == log.entries)
        // Empty data and purged (absent) data stay apart.
        #expect(entries.map(\.data) == [LogBuilder.data(0), LogBuilder.data(1), [], [], nil])
    }

    @Test(arguments: StoreBackend.all)
    func largeValuesRoundTrip(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var generator = SeededGenerator(seed: 7)
        let mebibyte = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var log = LogBuilder()
        var batch = try log.batch(2, data: { seq in LogBuilder.data(seq, padding: 1 << 20) })
        batch.puts = [StateRow(StateKey("blobs", "one"), mebibyte), StateRow(StateKey("blobs", "two"), mebibyte.reversed())]
        try store.commit(batch, durability: .strict)
        let reopened = try backend.reopen(store, in: scratch)
        #expect(try reopened.load().rows == batch.puts)
        #expect(try reopened.auditEntries(from: 0, limit: 2) == log.entries)
    }

    @Test(arguments: StoreBackend.all)
    func manySmallBatchesKeepOneChain(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        for i in 0..<300 {
            let durability = Durability.allCases[i % 3]
            try store.commit(try log.batch(1, checkpoint: i % 50 == 49,
                                           puts: [StateRow(StateKey("counters", "n"), Array(String(i).utf8))]), durability: durability)
        }
        let snapshot = try store.load()
        #expect(snapshot.auditSize == 300 && snapshot.lastHash == log.lastHash)
        #expect(snapshot.rows == [StateRow(StateKey("counters", "n"), Array("299".utf8))])
        let entries = try allEntries(store, chunk: 64)
        #expect(entries == log.entries)
        let report = AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) })
        #expect(report.failure == nil && report.root == log.frontier.root)
        #expect(try store.checkpoints().map(\.size) == [50, 100, 150, 200, 250, 300])
        #expect(try MerkleFrontier(size: 300, source: StoreNodeSource(frontierOf: 300, in: store)).root == log.frontier.root)
    }

    /// A log written while every Merkle level was stored (as `LogBuilder` still writes it) goes
    /// on: the runtime's log continues it storing level 4 and up, proofs of old and new entries
    /// verify, and the whole log verifies.
    @Test(arguments: StoreBackend.all)
    func aLogThatStoredEveryLevelGoesOn(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        try store.commit(try log.batch(21), durability: .strict)
        #expect(try store.auditNodes([MerkleNodeID(level: 0, index: 20)]).count == 1)
        let key = try NoteSigningKey(name: "ringfence.test/audit", seed: Array(repeating: 5, count: 32))
        let time = try AuditTime(microseconds: 1_800_000_001_000_000)
        let audit = try AuditLog(store: store, settings: AuditSettings(durability: .strict, signingKey: key), clock: { time })
        for i in 0..<30 {
            try audit.append(AuditRecord(kind: "delta", time: time, value: .object(["n": .number(Double(i))])))
        }
        #expect(try store.auditNodes([MerkleNodeID(level: 0, index: 21), MerkleNodeID(level: 4, index: 2)]).keys.map(\.level) == [4])
        for seq in [3, 20, 21, 40, 50] as [UInt64] {
            let proof = try AuditInclusionProof.prove(seq, in: store, makeCheckpoint: { try audit.checkpoint() })
            let text = String(decoding: try CanonicalJSON.encode(proof.json), as: UTF8.self)
            #expect(AuditProofCheck.check(text, keys: [key.verifierKey]) == .valid(seq: seq, size: 51))
        }
        audit.close()
        #expect(AuditVerification.verify(store, keys: [key.verifierKey]).intact)
    }

    @Test(arguments: StoreBackend.all)
    func aSessionsEntryHashesComeInLogOrder(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        try store.commit(try log.batch(2, session: "s1"), durability: .strict)
        try store.commit(try log.batch(3, session: "s2"), durability: .strict)
        try store.commit(try log.batch(1, session: nil), durability: .relaxed)
        try store.commit(try log.batch(2, session: ""), durability: .group)
        try store.commit(try log.batch(2, session: "s1"), durability: .strict)
        /// The hashes of the built entries whose session is `session`.
        func expected(_ session: String?) -> [AuditHash] {
            log.entries.filter { $0.entry.session == session }.map(\.hash)
        }
        #expect(try store.auditEntryHashes(session: "s1") == expected("s1"))
        #expect(try store.auditEntryHashes(session: "s1").count == 4)
        #expect(try store.auditEntryHashes(session: "s2") == expected("s2"))
        #expect(try store.auditEntryHashes(session: "") == expected(""))
        #expect(try store.auditEntryHashes(session: "s3").isEmpty)
        // Purging data keeps the envelopes, so a session's hashes stay.
        _ = try store.purgeAuditData(before: 100)
        #expect(try store.auditEntryHashes(session: "s1") == expected("s1"))
    }

    @Test(arguments: StoreBackend.all)
    func aBuilderOpenedOnTheStoreContinuesIt(_ backend: StoreBackend) throws {
        let scratch = try Scratch()
        let store = try backend.open(in: scratch)
        var log = LogBuilder()
        try store.commit(try log.batch(11), durability: .strict)
        let reopened = try backend.reopen(store, in: scratch)
        var continued = try LogBuilder(continuing: reopened)
        #expect(continued.size == 11 && continued.lastHash == log.lastHash && continued.frontier.root == log.frontier.root)
        try reopened.commit(try continued.batch(6), durability: .strict)
        #expect(try reopened.load().auditSize == 17)
    }

    @Test(arguments: SharedStoreBackend.allCases)
    func aSharedStoresTenureHandsEveryChangeToTheNextTaker(_ backend: SharedStoreBackend) throws {
        let scratch = try Scratch()
        let (first, second) = try backend.open(in: scratch)
        let seen = try second.load().version
        #expect(seen == 0)
        /// A row of `value` at `sessions`/`key`.
        func row(_ key: String, _ value: UInt8) -> StateRow { StateRow(StateKey("sessions", key), [value]) }

        let start = try #require(first.tenure).acquire(since: try first.load().version)
        #expect(start.version == 0 && start.rows.isEmpty && start.deletes.isEmpty && start.auditSize == 0 && start.lastCheckpoint == nil)
        var log = LogBuilder()
        try first.commit(try log.batch(2, checkpoint: true, puts: [row("s1", 1), row("s2", 2), row("s3", 3)]), durability: .strict)
        try first.commit(try log.batch(1, puts: [row("s1", 11)], deletes: [StateKey("sessions", "s2"), StateKey("nowhere", "absent")]),
                         durability: .relaxed)
        #expect(try first.tenure!.release() == 2)

        let changes = try #require(second.tenure).acquire(since: seen)
        #expect(changes.version == 2)
        #expect(changes.rows == [row("s1", 11), row("s3", 3)])
        #expect(changes.deletes == [StateKey("nowhere", "absent"), StateKey("sessions", "s2")])
        #expect(changes.auditSize == 3 && changes.lastHash == log.lastHash && changes.lastCheckpoint == log.checkpoints.last)
        #expect(changes.clock > 0)
        // Writing a deleted row again takes it off the deletes.
        try second.commit(try log.batch(1, puts: [row("s2", 22)]), durability: .strict)
        #expect(try second.tenure!.release() == 3)

        let later = try first.tenure!.acquire(since: 2)
        #expect(later.version == 3 && later.rows == [row("s2", 22)] && later.deletes.isEmpty && later.auditSize == 4)
        #expect(try first.tenure!.release() == 3)
        let whole = try first.tenure!.acquire(since: 0)
        #expect(whole.rows == [row("s1", 11), row("s2", 22), row("s3", 3)] && whole.deletes == [StateKey("nowhere", "absent")])
        #expect(try first.tenure!.release() == 3)
        #expect(try first.load().version == 3 && second.load().version == 3)
    }
}

/// A store several runtimes share live (SPEC §15), opened twice: a shared `MemoryStore` (the same
/// object, as two runtimes of one process hold it) and PostgreSQL (two stores on one database,
/// as two nodes hold it).
enum SharedStoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, postgres

    /// The backend's name in test results.
    var testDescription: String { rawValue }

    /// Two handles on one new shared store in `scratch`.
    func open(in scratch: Scratch) throws -> (StateStore, StateStore) {
        switch self {
        case .memory:
            let store = MemoryStore(sharedClock: { 1_800_000_000_000_000 })
            return (store, store)
        case .postgres:
            let backend = try #require(StoreBackend.all.first { $0.template.hasPrefix("postgres:") })
            let store = try backend.open(in: scratch)
            return (store, try backend.reopen(store, in: scratch))
        }
    }
}
