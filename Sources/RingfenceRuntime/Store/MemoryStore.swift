import RingfenceAudit
import Synchronization

/// `memory:` — a store that keeps everything in this process and nothing after it (tests,
/// benchmarks, the REPL). It checks what every store checks (an append continues the log), so
/// the conformance suite runs on it like on the others.
public final class MemoryStore: StateStore {
    private struct State {
        var rows: [StateKey: [UInt8]] = [:]
        var entries: [StoredAuditEntry] = []
        var nodes: [MerkleNodeID: AuditHash] = [:]
        var checkpoints: [UInt64: StoredCheckpoint] = [:]
        /// The entry hashes of each session's entries, in log order (so a session's audit root
        /// reads its own entries, not the whole log).
        var sessionHashes: [String: [AuditHash]] = [:]
    }

    private let state = Mutex(State())
    /// `memory:`.
    public let url = "memory:"

    /// An empty store.
    public init() {}

    /// Every row in key order and the log's head.
    public func load() throws(StoreError) -> StoreSnapshot {
        state.withLock { s in
            StoreSnapshot(rows: s.rows.sorted { $0.key < $1.key }.map { StateRow($0.key, $0.value) },
                          auditSize: UInt64(s.entries.count), lastHash: s.entries.last?.hash ?? .zero)
        }
    }

    /// Applies the batch whole, or not at all when its entries do not continue the log.
    public func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        try state.withLock { (s: inout State) throws(StoreError) in
            try StoreChecks.continues(batch.entries, size: UInt64(s.entries.count), lastHash: s.entries.last?.hash ?? .zero)
            for row in batch.puts { s.rows[row.key] = row.value }
            for key in batch.deletes { s.rows[key] = nil }
            s.entries += batch.entries
            for stored in batch.entries {
                if let session = stored.entry.session { s.sessionHashes[session, default: []].append(stored.hash) }
            }
            for node in batch.nodes { s.nodes[node.id] = node.hash }
            for checkpoint in batch.checkpoints { s.checkpoints[checkpoint.size] = checkpoint }
        }
    }

    /// Entries `seq ..< seq + limit` that exist.
    public func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] {
        state.withLock { s in
            guard seq < UInt64(s.entries.count), limit > 0 else { return [] }
            let start = Int(seq)
            return Array(s.entries[start..<min(s.entries.count, start + limit)])
        }
    }

    /// The stored nodes among `ids`.
    public func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] {
        state.withLock { s in
            var found: [MerkleNodeID: AuditHash] = [:]
            for id in ids { if let hash = s.nodes[id] { found[id] = hash } }
            return found
        }
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
