import RingfenceAudit
import Synchronization

/// `memory:` — a store that keeps everything in this process and nothing after it (tests,
/// benchmarks, the REPL). It checks what every store checks (an append continues the log), so
/// the conformance suite runs on it like on the others. Made `shared`, it has a tenure, so
/// several runtimes in this process share it live as nodes share a PostgreSQL store (SPEC §15).
public final class MemoryStore: StateStore {
    private struct State {
        var rows: [StateKey: [UInt8]] = [:]
        /// The version of the commit that last wrote each row (shared stores only).
        var rowVersions: [StateKey: UInt64] = [:]
        /// The version of the commit that deleted each row (shared stores only).
        var deleted: [StateKey: UInt64] = [:]
        /// The number of commits.
        var version: UInt64 = 0
        var entries = EntryChunks()
        /// The Merkle tree's stored perfect subtrees (`AuditNodes`), by level and index (arrays,
        /// not a hashed table: the nodes a batch stores are always the next of their levels).
        var nodes = InMemoryMerkleNodeStore()
        var checkpoints: [UInt64: StoredCheckpoint] = [:]
        /// The entry hashes of each session's entries, in log order (so a session's audit root
        /// reads its own entries, not the whole log).
        var sessionHashes: [String: [AuditHash]] = [:]
    }

    private let state = Mutex(State())
    /// `memory:`.
    public let url = "memory:"

    /// The tenure of a shared store; nil otherwise.
    public let tenure: StoreTenure?

    /// An empty store.
    public init() {
        tenure = nil
    }

    /// An empty store several runtimes share live, its clock `clock` (µs since 1970).
    public init(sharedClock clock: @escaping @Sendable () -> Int64) {
        let box = TenureBox()
        tenure = box
        box.store = self
        box.clock = clock
    }

    /// Every row in key order and the log's head.
    public func load() throws(StoreError) -> StoreSnapshot {
        state.withLock { s in
            StoreSnapshot(rows: s.rows.sorted { $0.key < $1.key }.map { StateRow($0.key, $0.value) },
                          auditSize: UInt64(s.entries.count), lastHash: s.entries.last?.hash ?? .zero, version: s.version)
        }
    }

    /// What changed since `version`, the head and the newest checkpoint.
    fileprivate func changes(since version: UInt64, clock: Int64) -> StoreChanges {
        state.withLock { s in
            let rows = s.rowVersions.filter { $0.value > version }.keys.sorted().map { StateRow($0, s.rows[$0]!) }
            let deletes = s.deleted.filter { $0.value > version }.keys.sorted()
            let last = s.checkpoints.keys.max().flatMap { s.checkpoints[$0] }
            return StoreChanges(version: s.version, rows: rows, deletes: deletes, auditSize: UInt64(s.entries.count),
                                lastHash: s.entries.last?.hash ?? .zero, lastCheckpoint: last, clock: clock)
        }
    }

    /// The number of commits.
    fileprivate var version: UInt64 { state.withLock { $0.version } }

    /// Applies the batch whole, or not at all when its entries do not continue the log.
    public func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        try state.withLock { (s: inout State) throws(StoreError) in
            try StoreChecks.continues(batch.entries, size: UInt64(s.entries.count), lastHash: s.entries.last?.hash ?? .zero)
            if let node = s.nodes.misplaced(batch.nodes) {
                throw StoreError(.auditConflict, "Merkle node \(node.id) does not follow the stored tree")
            }
            s.version += 1
            for row in batch.puts { s.rows[row.key] = row.value }
            for key in batch.deletes { s.rows[key] = nil }
            if tenure != nil {
                for row in batch.puts {
                    s.rowVersions[row.key] = s.version
                    s.deleted[row.key] = nil
                }
                for key in batch.deletes {
                    s.rowVersions[key] = nil
                    s.deleted[key] = s.version
                }
            }
            s.entries.append(contentsOf: batch.entries)
            // Read in place by index (a copied entry retains its strings and its data).
            for i in batch.entries.indices {
                if let session = batch.entries[i].entry.session { s.sessionHashes[session, default: []].append(batch.entries[i].hash) }
            }
            s.nodes.add(batch.nodes)
            for checkpoint in batch.checkpoints { s.checkpoints[checkpoint.size] = checkpoint }
        }
    }

    /// Entries `seq ..< seq + limit` that exist.
    public func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] {
        state.withLock { s in
            guard seq < UInt64(s.entries.count), limit > 0 else { return [] }
            let start = Int(seq)
            return s.entries.slice(start..<min(s.entries.count, start + limit))
        }
    }

    /// The stored nodes among `ids`.
    public func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] {
        state.withLock { s in
            var found: [MerkleNodeID: AuditHash] = [:]
            for id in ids { if let hash = s.nodes.hash(of: id) { found[id] = hash } }
            return found
        }
    }

    /// The stored nodes of `level` with indices in `indices`, in index order.
    public func auditNodes(level: Int, indices: Range<UInt64>, into found: inout [AuditHash?]) throws(StoreError) {
        found.removeAll(keepingCapacity: true)
        state.withLock { s in
            let stored = level < s.nodes.levels.count ? UInt64(s.nodes.levels[level].count) : 0
            let held = min(indices.lowerBound, stored)..<min(indices.upperBound, stored)
            if !held.isEmpty {
                found.append(contentsOf: s.nodes.levels[level][Int(held.lowerBound)..<Int(held.upperBound)].lazy.map { $0 })
            }
        }
        found.append(contentsOf: repeatElement(nil, count: indices.count - found.count))
    }

    /// Every checkpoint, smallest first.
    public func checkpoints() throws(StoreError) -> [StoredCheckpoint] {
        state.withLock { s in s.checkpoints.keys.sorted().compactMap { s.checkpoints[$0] } }
    }

    /// The hashes of `session`'s entries, in log order.
    public func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash] {
        state.withLock { s in s.sessionHashes[session] ?? [] }
    }

    /// Drops the data of entries below `seq`.
    public func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int {
        state.withLock { s in
            var dropped = 0
            for i in 0..<min(s.entries.count, Int(clamping: seq)) where s.entries[i].data != nil {
                s.entries[i].data = nil
                dropped += 1
            }
            return dropped
        }
    }
}

/// The memory store's audit entries, in chunks of 4,096: an append never moves the entries
/// stored before it. (In one array, every doubling copied the whole log — hundreds of megabytes
/// after a few million decisions — while holding the store's lock, and touched twice the memory.)
private struct EntryChunks {
    /// Entries a chunk holds (a power of two).
    static let chunkSize = 4096
    /// The chunks, all full but the last.
    private var chunks: [[StoredAuditEntry]] = []
    /// The number of entries.
    private(set) var count = 0

    /// The newest entry.
    var last: StoredAuditEntry? { count == 0 ? nil : self[count - 1] }

    /// Entry `i` (its seq).
    subscript(i: Int) -> StoredAuditEntry {
        get { chunks[i / Self.chunkSize][i % Self.chunkSize] }
        set { chunks[i / Self.chunkSize][i % Self.chunkSize] = newValue }
    }

    /// Appends `entries` in order.
    mutating func append(contentsOf entries: [StoredAuditEntry]) {
        var next = entries[...]
        while !next.isEmpty {
            if count % Self.chunkSize == 0 {
                chunks.append([])
                chunks[chunks.count - 1].reserveCapacity(Self.chunkSize)
            }
            let room = Self.chunkSize - count % Self.chunkSize
            let part = next.prefix(room)
            chunks[chunks.count - 1].append(contentsOf: part)
            count += part.count
            next = next.dropFirst(part.count)
        }
    }

    /// The entries in `range`, which lies within the log.
    func slice(_ range: Range<Int>) -> [StoredAuditEntry] {
        var out: [StoredAuditEntry] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let chunk = chunks[i / Self.chunkSize], start = i % Self.chunkSize
            let end = min(Self.chunkSize, start + range.upperBound - i)
            out.append(contentsOf: chunk[start..<end])
            i += end - start
        }
        return out
    }
}

/// The tenure of a shared `MemoryStore`: its gate alone.
private final class TenureBox: StoreTenure, @unchecked Sendable {
    // Safety: `store` and `clock` are set once by the store's init before the box is shared.
    /// The store (weak: the store owns the box).
    weak var store: MemoryStore?
    /// The store's clock.
    var clock: @Sendable () -> Int64 = { 0 }
    /// One runtime at a time.
    private let gate = TenureGate()

    /// Waits until nobody holds the tenure, takes it, and reads the changes since `version`.
    func acquire(since version: UInt64) throws(StoreError) -> StoreChanges {
        guard let store else { throw StoreError(.unavailable, "the memory store is gone") }
        _ = gate.enter()
        return store.changes(since: version, clock: clock())
    }

    /// Gives the tenure up; returns the store's version.
    func release() throws(StoreError) -> UInt64 {
        let version = store?.version ?? 0
        gate.leave()
        return version
    }
}

/// Checks every store makes inside its transaction.
public enum StoreChecks {
    /// Throws `auditConflict` unless `entries` continue a log of `size` entries ending in
    /// `lastHash`: consecutive `seq` from `size`, each `prev` the hash before it.
    public static func continues(_ entries: [StoredAuditEntry], size: UInt64, lastHash: AuditHash) throws(StoreError) {
        var expected = size
        var prev = lastHash
        for stored in entries {
            guard stored.entry.seq == expected else {
                throw StoreError(.auditConflict, "audit entry \(stored.entry.seq) does not follow the stored log of \(expected) entries")
            }
            guard stored.entry.prev == prev else {
                throw StoreError(.auditConflict, "audit entry \(stored.entry.seq) does not link to the hash of entry \(Int64(expected) - 1)")
            }
            prev = stored.hash
            expected += 1
        }
    }
}
