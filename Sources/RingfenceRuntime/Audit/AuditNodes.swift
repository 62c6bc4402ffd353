import RingfenceAudit

// Which Merkle nodes a store keeps (docs/audit.md §3.1). Appending an entry completes two
// perfect subtrees on average: its leaf (level 0) and the nodes above it whose right edge it
// closes. The four lowest levels — the leaf hashes and the subtrees of 2, 4 and 8 leaves — are
// seven eighths of those nodes, and each is made from at most eight entry hashes the store holds
// already (in the entries' own rows). So the log stores the nodes of level 4 and up (one node per
// 16 entries on average, not two per entry) and makes the ones below from the entries when a
// proof, a root or the frontier needs them: at most 16 entries a read, one 16-leaf block. The
// stored tree is then a tree of 16-leaf tiles whose bottom row is the entries table, as
// transparency logs keep tiles of leaf hashes rather than every node.
//
// A store written before this kept every level; its low nodes are never read again (they are
// made from the entries, as the verifier checks those), so it goes on working as it is.

/// The Merkle nodes a log stores and how the others are read.
public enum AuditNodes {
    /// The lowest level stored: a node below it is made from the entries it covers.
    public static let lowestStoredLevel = 4
    /// The leaves of one node of the lowest stored level: the entries a made node is read from.
    static let blockLeaves: UInt64 = 1 << UInt64(lowestStoredLevel)

    /// True for a node the log stores.
    public static func isStored(_ id: MerkleNodeID) -> Bool { id.level >= lowestStoredLevel }

    /// The hashes of `ids`: the stored ones read in one read, the others made from the entry
    /// hashes under them. A node is absent from the result when the store lacks it or an entry
    /// under it.
    public static func read(_ ids: [MerkleNodeID], from store: StateStore) throws(StoreError) -> [MerkleNodeID: AuditHash] {
        let stored = ids.filter(isStored)
        var found = stored.isEmpty ? [:] : try store.auditNodes(stored)
        let made = ids.filter { !isStored($0) }
        guard !made.isEmpty else { return found }
        // Each node below the stored levels lies inside one 16-leaf block; a proof's or a
        // frontier's lie in one or two blocks.
        for block in Set(made.map { $0.firstLeaf / blockLeaves }).sorted() {
            let start = block * blockLeaves
            var leaves = [AuditHash?](repeating: nil, count: Int(blockLeaves))
            try store.forEachAuditEntry(from: start, limit: Int(blockLeaves)) { entry, hash, _ in
                if entry.seq >= start && entry.seq < start + blockLeaves { leaves[Int(entry.seq - start)] = MerkleHash.leaf(entryHash: hash) }
            }
            for id in made where id.firstLeaf / blockLeaves == block {
                let offset = Int(id.firstLeaf - start)
                let under = leaves[offset..<offset + Int(id.leafCount)].compactMap { $0 }
                guard under.count == Int(id.leafCount) else { continue }
                found[id] = MerkleSubtrees(start: id.firstLeaf, leafHashes: under).hash(of: id)
            }
        }
        return found
    }
}

/// Merkle nodes read from a store as `AuditNodes` reads them: fetched ahead, all the nodes one
/// proof, root or frontier needs in one read.
public struct StoreNodeSource: MerkleNodeSource {
    /// The nodes read.
    private let nodes: [MerkleNodeID: AuditHash]

    /// Reads `ids` from `store`.
    public init(_ ids: [MerkleNodeID], from store: StateStore) throws(StoreError) {
        nodes = try AuditNodes.read(ids, from: store)
    }

    /// Reads the frontier of the first `size` entries of the log in `store` (its perfect subtrees).
    public init(frontierOf size: UInt64, in store: StateStore) throws(StoreError) {
        try self.init(MerkleFrontier.perfectSubtrees(start: 0, end: size), from: store)
    }

    /// The hash of `id`; throws when the store lacks it.
    public func node(_ id: MerkleNodeID) throws -> AuditHash {
        guard let hash = nodes[id] else {
            throw StoreError(.foreignSchema, "merkle node \(id) is missing from the store")
        }
        return hash
    }
}
