/// The right edge of an RFC 9162 tree of `size` leaves: one perfect-subtree hash per set bit of
/// `size` (a "compact range" over [0, size)), from the largest subtree on the left to the
/// smallest on the right.
///
/// ```
/// size 6 = 0b110:   [ node 2/0 (leaves 0–3) , node 1/2 (leaves 4–5) ]
/// root = node(2/0, 1/2)
/// size 7 = 0b111:   [ 2/0 , 1/2 , 0/6 ]
/// root = node(2/0, node(1/2, 0/6))
/// ```
/// It serves two uses. A verifier re-reading a whole log appends every leaf and reads the root
/// in O(log n) memory. An appender appends the new leaf and persists the perfect-subtree nodes
/// the append completes: the leaf itself (level 0) and one node for each trailing one-bit of the
/// old size — two per append on average — so a store holds every perfect subtree, and proofs
/// read only O(log n) of them (`MerkleProof`).
public struct MerkleFrontier: Sendable {
    /// The number of leaves appended.
    public private(set) var size: UInt64
    /// The perfect-subtree hashes, largest (leftmost) first; one per set bit of `size`.
    public private(set) var hashes: [AuditHash]

    /// An empty tree.
    public init() {
        size = 0
        hashes = []
        hashes.reserveCapacity(64)
    }

    /// The frontier of a tree of `size` leaves from its perfect-subtree hashes, largest first;
    /// there must be exactly one hash per set bit of `size`.
    public init(size: UInt64, hashes: [AuditHash]) throws(AuditError) {
        guard hashes.count == size.nonzeroBitCount else {
            throw AuditError(.merkle, AuditMessages.frontierShape(size: size, hashes: hashes.count))
        }
        self.size = size
        self.hashes = hashes
        self.hashes.reserveCapacity(64)
    }

    /// Loads the frontier of a tree of `size` leaves from `source`, reading O(log size) nodes.
    public init(size: UInt64, source: some MerkleNodeSource) throws {
        self.init()
        for id in Self.perfectSubtrees(start: 0, end: size) {
            hashes.append(try source.node(id))
        }
        self.size = size
    }

    /// Becomes a copy of `other`, written into this frontier's own buffer (no allocation while
    /// the buffer is this frontier's alone and large enough).
    public mutating func assign(_ other: MerkleFrontier) {
        size = other.size
        hashes.removeAll(keepingCapacity: true)
        hashes.append(contentsOf: other.hashes)
    }

    /// The addresses of the frontier's subtrees, largest first.
    public var nodeIDs: [MerkleNodeID] {
        Self.perfectSubtrees(start: 0, end: size)
    }

    /// The root of the tree of `size` leaves (the empty-tree hash when nothing was appended).
    public var root: AuditHash {
        guard var accumulator = hashes.last else { return MerkleHash.emptyRoot }
        var position = hashes.count - 1
        while position > 0 {
            position -= 1
            accumulator = MerkleHash.node(hashes[position], accumulator)
        }
        return accumulator
    }

    /// Appends the leaf hash `leafHash` (see `MerkleHash.leaf`).
    public mutating func append(_ leafHash: AuditHash) {
        append(leafHash) { _ in }
    }

    /// Appends `leafHash` and calls `newNode` with each perfect subtree the append completes,
    /// lowest first: the leaf (level 0), then one node per trailing one-bit of the old size.
    public mutating func append(_ leafHash: AuditHash, newNode: (MerkleNode) throws -> Void) rethrows {
        let leaf = MerkleNode(id: MerkleNodeID(level: 0, index: size), hash: leafHash)
        try newNode(leaf)
        try append(subtree: leaf, newNode: newNode)
    }

    /// Appends the perfect subtree `subtree`, whose leaves must start at `size` (so `size` is a
    /// multiple of its leaf count), and calls `newNode` with each node the append completes
    /// above it, lowest first — one per trailing one-bit of `size / 2^level` — but not with
    /// `subtree` itself. Appending a run's subtrees (`MerkleSubtrees.cover`) gives the frontier
    /// that appending its leaves one by one would.
    public mutating func append(subtree: MerkleNode, newNode: (MerkleNode) throws -> Void) rethrows {
        precondition(subtree.id.firstLeaf == size, "a subtree is appended where the tree ends")
        let (newSize, overflow) = size.addingReportingOverflow(subtree.id.leafCount)
        precondition(!overflow, "a Merkle tree holds fewer than 2^64 leaves")
        var hash = subtree.hash
        var level = subtree.id.level
        var index = subtree.id.index
        while index & 1 == 1 {
            hash = MerkleHash.node(hashes.removeLast(), hash)
            level += 1
            index >>= 1
            try newNode(MerkleNode(id: MerkleNodeID(level: level, index: index), hash: hash))
        }
        hashes.append(hash)
        size = newSize
    }

    /// Appends `leafHash` and returns the perfect subtrees it completed, lowest first.
    public mutating func appendReturningNewNodes(_ leafHash: AuditHash) -> [MerkleNode] {
        var nodes: [MerkleNode] = []
        append(leafHash) { nodes.append($0) }
        return nodes
    }

    /// The aligned perfect subtrees that exactly cover `[start, end)`, left to right: from
    /// `start`, each time the largest power-of-two block that `start` is aligned to and that
    /// fits. For `[0, n)` these are the frontier of n; for the ranges RFC 9162 proofs name they
    /// are O(log n) blocks.
    public static func perfectSubtrees(start: UInt64, end: UInt64) -> [MerkleNodeID] {
        var ids: [MerkleNodeID] = []
        var position = start
        while position < end {
            var level = position == 0 ? 63 : position.trailingZeroBitCount
            while level > 0 && (UInt64(1) << UInt64(level) > end - position) { level -= 1 }
            ids.append(MerkleNodeID(level: level, index: position >> UInt64(level)))
            position += UInt64(1) << UInt64(level)
        }
        return ids
    }
}
