import Crypto

/// RFC 9162 §2.1.1 hashing: leaves and interior nodes are domain-separated by a prefix byte.
///
/// ```
/// empty tree   SHA-256()                                   (e3b0c442…b855)
/// leaf         SHA-256(0x00 ‖ leaf data)                   for an audit entry: the 32 entry-hash bytes
/// node         SHA-256(0x01 ‖ left hash ‖ right hash)      32 + 32 bytes
/// ```
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of no bytes.
    public static let emptyRoot = AuditHash.sha256([])

    /// The leaf hash of arbitrary leaf data.
    public static func leaf(data: UnsafeRawBufferPointer) -> AuditHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: data)
        return AuditHash(hasher.finalize())
    }

    /// The leaf hash of arbitrary leaf data.
    public static func leaf(data: [UInt8]) -> AuditHash {
        data.withUnsafeBytes { leaf(data: $0) }
    }

    /// The leaf hash of an audit entry: SHA-256(0x00 ‖ the 32 bytes of its entry hash).
    public static func leaf(entryHash: AuditHash) -> AuditHash {
        withUnsafeTemporaryAllocation(byteCount: 33, alignment: 8) { buffer in
            buffer[0] = 0x00
            entryHash.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            return AuditHash.sha256(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The interior node over `left` and `right`: SHA-256(0x01 ‖ left ‖ right).
    public static func node(_ left: AuditHash, _ right: AuditHash) -> AuditHash {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = 0x01
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            right.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return AuditHash.sha256(UnsafeRawBufferPointer(buffer))
        }
    }
}

/// The address of a perfect subtree: the one whose leaves are
/// `[index · 2^level, (index + 1) · 2^level)`.
///
/// Level 0 holds the leaf hashes themselves (index = leaf index); level L, index i holds
/// node(level L−1 index 2i, level L−1 index 2i+1). Only perfect subtrees have addresses: a tree
/// whose size is not a power of two is combined from them when needed.
public struct MerkleNodeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The height above the leaves, 0…63.
    public let level: Int
    /// The position among the nodes of that level, from 0.
    public let index: UInt64

    /// Creates the address of a perfect subtree; `level` must be in 0…63 and the subtree must
    /// lie within 2^64 leaves.
    public init(level: Int, index: UInt64) {
        precondition(level >= 0 && level < 64, "a Merkle level is 0…63")
        precondition(level == 0 || index >> (64 - level) == 0, "a Merkle subtree lies within 2^64 leaves")
        self.level = level
        self.index = index
    }

    /// The first leaf the subtree covers.
    public var firstLeaf: UInt64 { index << UInt64(level) }

    /// The number of leaves the subtree covers, 2^level.
    public var leafCount: UInt64 { 1 << UInt64(level) }

    /// Orders by level, then index.
    public static func < (lhs: MerkleNodeID, rhs: MerkleNodeID) -> Bool {
        (lhs.level, lhs.index) < (rhs.level, rhs.index)
    }

    /// `level/index`, e.g. `3/5`.
    public var description: String { "\(level)/\(index)" }
}

/// A perfect subtree's address and hash: what a store persists.
public struct MerkleNode: Sendable, Hashable {
    /// Which subtree.
    public let id: MerkleNodeID
    /// Its hash.
    public let hash: AuditHash

    /// Creates a node record.
    public init(id: MerkleNodeID, hash: AuditHash) {
        self.id = id
        self.hash = hash
    }
}

/// Where proof generation reads perfect-subtree hashes from: a store keeps every node that
/// `MerkleFrontier.append` reports (about two per leaf), and a proof then reads O(log n) of them.
public protocol MerkleNodeSource {
    /// The hash of the perfect subtree `id`; throws when the store does not hold it.
    func node(_ id: MerkleNodeID) throws -> AuditHash
}

/// Nodes fetched ahead (e.g. the `MerkleProof.nodesNeededFor…` of one proof, read from a store
/// in one query) serve as a source.
extension Dictionary: MerkleNodeSource where Key == MerkleNodeID, Value == AuditHash {
    /// The hash of node `id`, or an error when it was not fetched.
    public func node(_ id: MerkleNodeID) throws -> AuditHash {
        guard let hash = self[id] else { throw AuditError(.nodeStore, AuditMessages.missingNode(id)) }
        return hash
    }
}

/// Every perfect-subtree hash of a log, in memory: `levels[L][i]` is node `L/i`.
public struct InMemoryMerkleNodeStore: MerkleNodeSource, Sendable {
    /// The hashes, by level, then index.
    public private(set) var levels: [[AuditHash]] = []

    /// Creates an empty store.
    public init() {}

    /// The number of leaves stored.
    public var leafCount: UInt64 { UInt64(levels.first?.count ?? 0) }

    /// Records `node`, which must be the next node of its level (nodes arrive in append order).
    public mutating func store(_ node: MerkleNode) throws(AuditError) {
        let level = node.id.level
        while levels.count <= level { levels.append([]) }
        guard node.id.index == UInt64(levels[level].count) else {
            throw AuditError(.nodeStore, AuditMessages.nodeOutOfOrder(node.id, expected: UInt64(levels[level].count)))
        }
        levels[level].append(node.hash)
    }

    /// The first of `nodes` that cannot be stored after the ones before it: one that is neither
    /// the next node of its level nor a node already held with the same hash. Nil when all can.
    public func misplaced(_ nodes: [MerkleNode]) -> MerkleNode? {
        guard let top = nodes.lazy.map(\.id.level).max() else { return nil }
        var next = (0...top).map { UInt64($0 < levels.count ? levels[$0].count : 0) }
        for node in nodes {
            let level = node.id.level
            if node.id.index == next[level] {
                next[level] += 1
            } else if node.id.index >= next[level] || hash(of: node.id) != node.hash {
                return node
            }
        }
        return nil
    }

    /// Stores `nodes`, which `misplaced` accepts: each is appended to its level, or is held already.
    public mutating func add(_ nodes: [MerkleNode]) {
        for node in nodes {
            let level = node.id.level
            while levels.count <= level { levels.append([]) }
            if node.id.index == UInt64(levels[level].count) { levels[level].append(node.hash) }
        }
    }

    /// The hash of node `id`, or nil when it has not been stored.
    public func hash(of id: MerkleNodeID) -> AuditHash? {
        guard id.level < levels.count, id.index < UInt64(levels[id.level].count) else { return nil }
        return levels[id.level][Int(id.index)]
    }

    /// The hash of node `id`, or an error when it has not been stored.
    public func node(_ id: MerkleNodeID) throws -> AuditHash {
        guard let hash = hash(of: id) else { throw AuditError(.nodeStore, AuditMessages.missingNode(id)) }
        return hash
    }
}
