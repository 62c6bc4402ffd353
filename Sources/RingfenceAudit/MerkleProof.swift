/// RFC 9162 Merkle tree roots, inclusion proofs (§2.1.3) and consistency proofs (§2.1.4).
///
/// Generation reads perfect-subtree hashes from a `MerkleNodeSource`: a proof for a tree of n
/// leaves reads O(log n) nodes, plus O(log n) more to combine the non-perfect right edge —
/// never the leaves; `nodesNeededFor…` list those nodes beforehand, so a store can read them in
/// one query and serve them as a dictionary. Proof hashes are in RFC 9162 order: the sibling nearest the leaf (or the
/// old tree) first, the one nearest the root last. Verification follows the RFC's algorithms
/// step by step and needs nothing but the hashes.
public enum MerkleProof {
    // MARK: Roots

    /// MTH(D[0:size]): the root of the first `size` leaves.
    public static func root(size: UInt64, source: some MerkleNodeSource) throws -> AuditHash {
        try fold(MerkleFrontier.perfectSubtrees(start: 0, end: size), source: source)
    }

    /// The perfect subtrees `root(size:source:)` reads, so a store can fetch them in one query.
    public static func nodesNeededForRoot(size: UInt64) -> [MerkleNodeID] {
        MerkleFrontier.perfectSubtrees(start: 0, end: size)
    }

    /// The hash of adjacent perfect subtrees `ids` (left to right) combined as RFC 9162 does:
    /// folded from the right; no subtrees hash to the empty-tree root.
    static func fold(_ ids: [MerkleNodeID], source: some MerkleNodeSource) throws -> AuditHash {
        guard let last = ids.last else { return MerkleHash.emptyRoot }
        var accumulator = try source.node(last)
        for id in ids.dropLast().reversed() {
            accumulator = MerkleHash.node(try source.node(id), accumulator)
        }
        return accumulator
    }

    /// The perfect subtrees that make up the leaf range `[start, end)`.
    static func range(_ start: UInt64, _ end: UInt64) -> [MerkleNodeID] {
        MerkleFrontier.perfectSubtrees(start: start, end: end)
    }

    /// The largest power of two strictly smaller than `n` (n ≥ 2).
    static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
        UInt64(1) << UInt64(63 - (n - 1).leadingZeroBitCount)
    }

    // MARK: Inclusion

    /// PATH(index, D[0:size]) (RFC 9162 §2.1.3.1): the audit path of leaf `index`.
    public static func inclusionProof(index: UInt64, size: UInt64, source: some MerkleNodeSource) throws -> [AuditHash] {
        try inclusionPlan(index: index, size: size).map { try fold($0, source: source) }
    }

    /// The perfect subtrees `inclusionProof(index:size:source:)` reads, so a store can fetch
    /// them in one query.
    public static func nodesNeededForInclusionProof(index: UInt64, size: UInt64) throws(AuditError) -> [MerkleNodeID] {
        try inclusionPlan(index: index, size: size).flatMap { $0 }
    }

    /// For each hash of PATH(index, D[0:size]), in proof order, the perfect subtrees it folds.
    static func inclusionPlan(index: UInt64, size: UInt64) throws(AuditError) -> [[MerkleNodeID]] {
        guard index < size else {
            throw AuditError(.merkle, AuditMessages.indexOutsideTree(index: index, size: size))
        }
        // Walk from the root down: at each split the sibling range joins the path; the
        // RFC lists them leaf-first, so the walk's order is reversed at the end.
        var path: [[MerkleNodeID]] = []
        var start: UInt64 = 0
        var end = size
        while end - start > 1 {
            let split = start + largestPowerOfTwo(below: end - start)
            if index < split {
                path.append(range(split, end))
                end = split
            } else {
                path.append(range(start, split))
                start = split
            }
        }
        return path.reversed()
    }

    /// The root that `proof` leads to from `leafHash` at `index` in a tree of `size` leaves
    /// (RFC 9162 §2.1.3.2, steps 1–4); throws when the proof's length does not fit the tree.
    public static func rootFromInclusionProof(index: UInt64, size: UInt64, leafHash: AuditHash,
                                              proof: [AuditHash]) throws(AuditError) -> AuditHash {
        guard index < size else {
            throw AuditError(.merkle, AuditMessages.indexOutsideTree(index: index, size: size))
        }
        var fn = index
        var sn = size - 1
        var hash = leafHash
        for sibling in proof {
            guard sn != 0 else {
                throw AuditError(.merkle, AuditMessages.inclusionProofTooLong(index: index, size: size, count: proof.count))
            }
            if fn & 1 == 1 || fn == sn {
                hash = MerkleHash.node(sibling, hash)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                hash = MerkleHash.node(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else {
            throw AuditError(.merkle, AuditMessages.inclusionProofTooShort(index: index, size: size, count: proof.count))
        }
        return hash
    }

    /// Verifies that `proof` proves leaf `leafHash` at `index` in the tree of `size` leaves
    /// with root `root` (RFC 9162 §2.1.3.2); throws, saying why, when it does not.
    public static func verifyInclusion(index: UInt64, size: UInt64, leafHash: AuditHash,
                                       proof: [AuditHash], root: AuditHash) throws(AuditError) {
        let computed = try rootFromInclusionProof(index: index, size: size, leafHash: leafHash, proof: proof)
        guard computed == root else {
            throw AuditError(.merkle, AuditMessages.inclusionRootMismatch(index: index, size: size))
        }
    }

    // MARK: Consistency

    /// PROOF(oldSize, D[0:newSize]) (RFC 9162 §2.1.4.1): the hashes showing that the tree of
    /// `newSize` leaves extends the tree of `oldSize`; empty when oldSize is 0 or equals newSize.
    public static func consistencyProof(oldSize: UInt64, newSize: UInt64, source: some MerkleNodeSource) throws -> [AuditHash] {
        try consistencyPlan(oldSize: oldSize, newSize: newSize).map { try fold($0, source: source) }
    }

    /// The perfect subtrees `consistencyProof(oldSize:newSize:source:)` reads, so a store can
    /// fetch them in one query.
    public static func nodesNeededForConsistencyProof(oldSize: UInt64, newSize: UInt64) throws(AuditError) -> [MerkleNodeID] {
        try consistencyPlan(oldSize: oldSize, newSize: newSize).flatMap { $0 }
    }

    /// For each hash of PROOF(oldSize, D[0:newSize]), in proof order, the perfect subtrees it
    /// folds.
    static func consistencyPlan(oldSize: UInt64, newSize: UInt64) throws(AuditError) -> [[MerkleNodeID]] {
        guard oldSize <= newSize else {
            throw AuditError(.merkle, AuditMessages.consistencyShrinks(oldSize: oldSize, newSize: newSize))
        }
        guard oldSize > 0, oldSize < newSize else { return [] }
        // SUBPROOF(m, D[start:end], b), unrolled from the root down and reversed at the end.
        var path: [[MerkleNodeID]] = []
        var start: UInt64 = 0
        var end = newSize
        var oldTreeIsWholeSubtree = true
        while true {
            let width = end - start
            let inside = oldSize - start
            if inside == width {
                if !oldTreeIsWholeSubtree {
                    path.append(range(start, end))
                }
                break
            }
            let split = largestPowerOfTwo(below: width)
            if inside <= split {
                path.append(range(start + split, end))
                end = start + split
            } else {
                path.append(range(start, start + split))
                start += split
                oldTreeIsWholeSubtree = false
            }
        }
        return path.reversed()
    }

    /// Verifies that `proof` shows the tree of `newSize` leaves with root `newRoot` extends the
    /// tree of `oldSize` leaves with root `oldRoot` (RFC 9162 §2.1.4.2); throws, saying why,
    /// when it does not.
    ///
    /// Equal sizes need an empty proof and equal roots. Size 0 needs an empty proof and the
    /// empty-tree root as `oldRoot` (every tree extends the empty one).
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: AuditHash,
                                         newRoot: AuditHash, proof: [AuditHash]) throws(AuditError) {
        guard oldSize <= newSize else {
            throw AuditError(.merkle, AuditMessages.consistencyShrinks(oldSize: oldSize, newSize: newSize))
        }
        if oldSize == 0 || oldSize == newSize {
            guard proof.isEmpty else {
                throw AuditError(.merkle, AuditMessages.consistencyProofNotEmpty(oldSize: oldSize, newSize: newSize))
            }
            let expected = oldSize == 0 ? MerkleHash.emptyRoot : newRoot
            guard oldRoot == expected else {
                throw AuditError(.merkle, AuditMessages.consistencyRootMismatch(oldSize: oldSize, newSize: newSize))
            }
            return
        }
        guard !proof.isEmpty else {
            throw AuditError(.merkle, AuditMessages.consistencyProofTooShort(oldSize: oldSize, newSize: newSize, count: 0))
        }
        // Step 2: when the old tree is a perfect subtree its root is the proof's implicit first
        // hash.
        let oldIsPowerOfTwo = oldSize & (oldSize - 1) == 0
        var remaining = oldIsPowerOfTwo ? proof[...] : proof.dropFirst()
        let first = oldIsPowerOfTwo ? oldRoot : proof[0]
        // Steps 3–5.
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var oldHash = first
        var newHash = first
        // Step 6.
        while let hash = remaining.popFirst() {
            guard sn != 0 else {
                throw AuditError(.merkle, AuditMessages.consistencyProofTooLong(oldSize: oldSize, newSize: newSize, count: proof.count))
            }
            if fn & 1 == 1 || fn == sn {
                oldHash = MerkleHash.node(hash, oldHash)
                newHash = MerkleHash.node(hash, newHash)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                newHash = MerkleHash.node(newHash, hash)
            }
            fn >>= 1
            sn >>= 1
        }
        // Step 7.
        guard sn == 0 else {
            throw AuditError(.merkle, AuditMessages.consistencyProofTooShort(oldSize: oldSize, newSize: newSize, count: proof.count))
        }
        guard oldHash == oldRoot, newHash == newRoot else {
            throw AuditError(.merkle, AuditMessages.consistencyRootMismatch(oldSize: oldSize, newSize: newSize))
        }
    }
}
