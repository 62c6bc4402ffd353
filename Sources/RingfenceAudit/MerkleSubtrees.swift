/// Every perfect subtree inside a run of consecutive leaves `[start, end)` of a tree, hashed level
/// by level: node `L/i` belongs to the run when all its leaves do. These are exactly the nodes a
/// store holds for the run's leaves apart from those that reach outside it, so a verifier can hash
/// runs of a log on several threads, compare each run's nodes with the store's, and join the runs
/// in order with `MerkleFrontier.append(subtree:)`, which computes only the nodes that span runs.
///
/// ```
/// run [4, 11):   level 0   4 5 6 7 8 9 10
///                level 1   2/… 3/… 4/…          (pairs 4–5, 6–7, 8–9)
///                level 2   1/…                  (leaves 4–7)
///                cover     2/1 (4–7), 1/4 (8–9), 0/10
/// ```
public struct MerkleSubtrees: Sendable {
    /// The first leaf of the run.
    public private(set) var start: UInt64 = 0
    /// One past the last leaf of the run.
    public private(set) var end: UInt64 = 0
    /// `levels[L][k]` is node `L/(firstIndex(level: L) + k)`; level 0 holds the leaf hashes.
    public private(set) var levels: [[AuditHash]] = [[]]

    /// An empty run at leaf 0.
    public init() {}

    /// Hashes every perfect subtree of the run whose leaf hashes are `leafHashes`, the first at
    /// leaf `start`.
    public init(start: UInt64, leafHashes: [AuditHash]) {
        levels = [leafHashes]
        hashLevels(start: start)
    }

    /// Makes this the run whose leaf hashes `fill` appends to the (empty) array it is given, the
    /// first at leaf `start`, and hashes it; the storage of every level is kept and reused, so
    /// hashing run after run of the same length allocates nothing.
    public mutating func rehash<Failure: Error>(start: UInt64, leaves fill: (inout [AuditHash]) throws(Failure) -> Void) throws(Failure) {
        levels[0].removeAll(keepingCapacity: true)
        try fill(&levels[0])
        hashLevels(start: start)
    }

    /// Sets `start` and `end` from `levels[0]` and hashes the levels above it into the arrays
    /// that follow (emptied first), dropping any left over.
    private mutating func hashLevels(start: UInt64) {
        let (end, overflow) = start.addingReportingOverflow(UInt64(levels[0].count))
        precondition(!overflow, "a Merkle tree holds fewer than 2^64 leaves")
        self.start = start
        self.end = end
        var level = 0
        while level < 63 {
            let first = Self.firstIndex(start, level: level + 1)
            let last = end >> UInt64(level + 1)  // one past the last node wholly inside the run
            guard first < last else { break }
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].removeAll(keepingCapacity: true)
            levels[level + 1].reserveCapacity(Int(last - first))
            let below = levels[level]
            let offset = Self.firstIndex(start, level: level)
            for index in first..<last {
                let left = Int(2 * index - offset)
                levels[level + 1].append(MerkleHash.node(below[left], below[left + 1]))
            }
            level += 1
        }
        levels.removeLast(levels.count - (level + 1))
    }

    /// The index of the first node of `level` inside the run.
    public func firstIndex(level: Int) -> UInt64 {
        Self.firstIndex(start, level: level)
    }

    /// The hash of node `id` when it lies inside the run.
    public func hash(of id: MerkleNodeID) -> AuditHash? {
        guard id.level < levels.count else { return nil }
        let first = firstIndex(level: id.level)
        guard id.index >= first, id.index - first < UInt64(levels[id.level].count) else { return nil }
        return levels[id.level][Int(id.index - first)]
    }

    /// The run's leaves up to `end` (within the run) as the largest aligned subtrees that cover
    /// them, left to right (`MerkleFrontier.perfectSubtrees(start:end:)`), with their hashes.
    public func cover(to end: UInt64) -> [MerkleNode] {
        precondition(end >= start && end <= self.end, "a cover lies within the run")
        return MerkleFrontier.perfectSubtrees(start: start, end: end).map { MerkleNode(id: $0, hash: hash(of: $0)!) }
    }

    /// ⌈start / 2^level⌉, without overflowing.
    private static func firstIndex(_ start: UInt64, level: Int) -> UInt64 {
        let mask = (UInt64(1) << UInt64(level)) - 1
        return (start >> UInt64(level)) + (start & mask == 0 ? 0 : 1)
    }
}
