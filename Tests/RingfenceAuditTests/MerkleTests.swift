import RingfenceWire
import Testing
@testable import RingfenceAudit
import RingfenceVM
import RingfenceTestSupport

/// RFC 9162's definitions written as directly as possible, to check the real code against.
enum ReferenceMerkle {
    /// MTH(D[n]) over leaf hashes.
    static func root(_ leaves: ArraySlice<AuditHash>) -> AuditHash {
        if leaves.isEmpty { return MerkleHash.emptyRoot }
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        let k = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + k
        return MerkleHash.node(root(leaves[..<split]), root(leaves[split...]))
    }

    /// PATH(m, D[n]).
    static func path(_ m: Int, _ leaves: ArraySlice<AuditHash>) -> [AuditHash] {
        if leaves.count <= 1 { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + k
        if m < k { return path(m, leaves[..<split]) + [root(leaves[split...])] }
        return path(m - k, leaves[split...]) + [root(leaves[..<split])]
    }

    /// PROOF(m, D[n]) for 0 < m ≤ n.
    static func consistency(_ m: Int, _ leaves: ArraySlice<AuditHash>) -> [AuditHash] {
        subproof(m, leaves, true)
    }

    /// SUBPROOF(m, D[n], b).
    static func subproof(_ m: Int, _ leaves: ArraySlice<AuditHash>, _ b: Bool) -> [AuditHash] {
        if m == leaves.count { return b ? [] : [root(leaves)] }
        let k = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + k
        if m <= k { return subproof(m, leaves[..<split], b) + [root(leaves[split...])] }
        return subproof(m - k, leaves[split...], false) + [root(leaves[..<split])]
    }

    /// The largest power of two strictly below `n` (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }
}

/// A node source that counts how many nodes a computation reads.
final class CountingSource: MerkleNodeSource {
    /// The real store.
    let store: InMemoryMerkleNodeStore
    /// The number of reads so far.
    var reads = 0

    /// Wraps `store`.
    init(_ store: InMemoryMerkleNodeStore) { self.store = store }

    /// Reads through to the store, counting.
    func node(_ id: MerkleNodeID) throws -> AuditHash {
        reads += 1
        return try store.node(id)
    }
}

/// A log's leaves kept three ways: the leaf hashes, the frontier and the node store.
struct TestTree {
    /// Every leaf hash.
    var leaves: [AuditHash] = []
    /// The frontier fed with every leaf.
    var frontier = MerkleFrontier()
    /// Every perfect-subtree node the frontier reported.
    var store = InMemoryMerkleNodeStore()
    /// The number of nodes reported.
    var nodesReported = 0

    /// Appends `leaf`, storing the new nodes.
    mutating func append(_ leaf: AuditHash) throws {
        leaves.append(leaf)
        for node in frontier.appendReturningNewNodes(leaf) {
            try store.store(node)
            nodesReported += 1
        }
    }

    /// A tree of `count` leaves derived from `seed`.
    static func random(count: Int, seed: UInt64) throws -> TestTree {
        var generator = SeededGenerator(seed: seed)
        var tree = TestTree()
        for _ in 0..<count {
            let entryHash = AuditHash.sha256([UInt8(truncatingIfNeeded: generator.next()), UInt8(truncatingIfNeeded: generator.next())])
            try tree.append(MerkleHash.leaf(entryHash: entryHash))
        }
        return tree
    }
}

/// One transparency-dev/merkle test vector (`testdata/inclusion/*/*.json`,
/// `testdata/consistency/*/*.json`).
struct MerkleVector: Sendable, CustomStringConvertible {
    /// The fixture path.
    let path: String
    /// The description in the file.
    var description: String { path }
}

/// Reads the integer member `name` from the raw JSON text (the vectors hold 2^64 − 1, which a
/// double cannot), or nil.
private func integerMember(_ name: String, in text: String) -> UInt64? {
    guard let range = text.range(of: "\"\(name)\"") else { return nil }
    let digits = text[range.upperBound...].drop { $0 == ":" || $0 == " " }.prefix { $0.isNumber }
    return UInt64(digits)
}

/// Decodes a base64 member that must be a 32-byte hash; nil for anything else (the vectors hold
/// deliberately wrong-sized "hashes", which a verifier must reject).
private func hashMember(_ value: Value?) -> AuditHash? {
    guard case .string(let text) = value else { return nil }
    return try? AuditHash(base64: text)
}

/// The proof member as hashes; nil when any element is not a 32-byte hash.
private func proofMember(_ value: Value?) -> [AuditHash]? {
    switch value {
    case .null, nil: return []
    case .list(let items):
        var hashes: [AuditHash] = []
        for item in items {
            guard let hash = hashMember(item) else { return nil }
            hashes.append(hash)
        }
        return hashes
    default: return nil
    }
}

/// RFC 9162 trees: reference vectors, the node-store protocol and randomised properties.
@Suite struct MerkleTests {
    // MARK: The reference tree

    /// The records of `merkle/reference-tree.txt`, split into fields.
    static let referenceRecords: [[String]] = AuditFixtures.text("merkle/reference-tree.txt")
        .split(separator: "\n").filter { !$0.hasPrefix("#") }
        .map { $0.split(separator: " ").map(String.init) }

    /// The 8-leaf reference tree built from its leaf data.
    static func referenceTree() throws -> TestTree {
        var tree = TestTree()
        for record in referenceRecords where record[0] == "leaf" {
            try tree.append(MerkleHash.leaf(data: record.count > 2 ? AuditTestSupport.hex(record[2]) : []))
        }
        return tree
    }

    @Test func anAssignedFrontierIsACopyThatGoesOnAlone() throws {
        let leaves = (0..<13).map { MerkleHash.leaf(data: [UInt8($0)]) }
        var source = MerkleFrontier(), target = MerkleFrontier()
        for leaf in leaves[..<9] { target.append(leaf) }
        for leaf in leaves[..<5] { source.append(leaf) }
        target.assign(source)
        #expect(target.size == 5 && target.hashes == source.hashes && target.root == source.root)
        for leaf in leaves[5...] { target.append(leaf) }
        #expect(source.size == 5 && target.size == 13)
        #expect(target.root == ReferenceMerkle.root(leaves[...]))
        #expect(source.root == ReferenceMerkle.root(leaves[..<5]))
    }

    @Test func buildsTheReferenceTree() throws {
        let tree = try Self.referenceTree()
        #expect(tree.leaves.count == 8)
        var prefix = MerkleFrontier()
        var checked = 0
        for record in Self.referenceRecords {
            switch record[0] {
            case "root":
                let size = Int(record[1]) ?? -1
                let expected = AuditTestSupport.hash(record[2])
                #expect(try MerkleProof.root(size: UInt64(size), source: tree.store) == expected, "root \(size)")
                #expect(ReferenceMerkle.root(tree.leaves[..<size]) == expected)
                while prefix.size < UInt64(size) { prefix.append(tree.leaves[Int(prefix.size)]) }
                #expect(prefix.root == expected)
                checked += 1
            case "node":
                let id = MerkleNodeID(level: Int(record[1]) ?? 0, index: UInt64(record[2]) ?? 0)
                #expect(try tree.store.node(id) == AuditTestSupport.hash(record[3]), "node \(id)")
                checked += 1
            case "inclusion":
                let index = UInt64(record[1]) ?? 0
                let size = UInt64(record[2]) ?? 0
                let proof = record.dropFirst(3).map(AuditTestSupport.hash)
                #expect(try MerkleProof.inclusionProof(index: index, size: size, source: tree.store) == proof)
                let root = try MerkleProof.root(size: size, source: tree.store)
                try MerkleProof.verifyInclusion(index: index, size: size, leafHash: tree.leaves[Int(index)], proof: proof, root: root)
                checked += 1
            case "consistency":
                let old = UInt64(record[1]) ?? 0
                let new = UInt64(record[2]) ?? 0
                let proof = record.dropFirst(3).map(AuditTestSupport.hash)
                #expect(try MerkleProof.consistencyProof(oldSize: old, newSize: new, source: tree.store) == proof)
                try MerkleProof.verifyConsistency(oldSize: old, newSize: new,
                                                  oldRoot: try MerkleProof.root(size: old, source: tree.store),
                                                  newRoot: try MerkleProof.root(size: new, source: tree.store), proof: proof)
                checked += 1
            default:
                break
            }
        }
        #expect(checked == 9 + 15 + 5 + 5)
    }

    // MARK: transparency-dev vectors

    /// Every inclusion vector file.
    static func inclusionVectors() throws -> [MerkleVector] {
        try AuditFixtures.paths(under: "merkle/inclusion", suffix: ".json").map(MerkleVector.init)
    }

    /// Every consistency vector file.
    static func consistencyVectors() throws -> [MerkleVector] {
        try AuditFixtures.paths(under: "merkle/consistency", suffix: ".json").map(MerkleVector.init)
    }

    @Test func theVectorsAreThere() throws {
        #expect(try Self.inclusionVectors().count == 22)
        #expect(try Self.consistencyVectors().count == 25)
    }

    @Test(arguments: try inclusionVectors())
    func checksTransparencyDevInclusionVector(_ vector: MerkleVector) throws {
        let text = AuditFixtures.text(vector.path)
        guard case .object(let members) = try JSONParser.parse(text) else {
            Issue.record("\(vector.path) is not an object")
            return
        }
        let wantError = members["wantErr"] == .bool(true)
        let index = integerMember("leafIdx", in: text) ?? integerMember("leafIndex", in: text)
        let size = integerMember("treeSize", in: text)
        #expect(index != nil && size != nil)
        var verified = false
        if let index, let size, let root = hashMember(members["root"]), let leaf = hashMember(members["leafHash"]),
           let proof = proofMember(members["proof"]) {
            verified = (try? MerkleProof.verifyInclusion(index: index, size: size, leafHash: leaf, proof: proof, root: root)) != nil
        }
        #expect(verified == !wantError, "\(vector.path): \(members["desc"] ?? .null)")
    }

    @Test(arguments: try consistencyVectors())
    func checksTransparencyDevConsistencyVector(_ vector: MerkleVector) throws {
        let text = AuditFixtures.text(vector.path)
        guard case .object(let members) = try JSONParser.parse(text) else {
            Issue.record("\(vector.path) is not an object")
            return
        }
        let wantError = members["wantErr"] == .bool(true)
        let old = integerMember("size1", in: text)
        let new = integerMember("size2", in: text)
        #expect(old != nil && new != nil)
        var verified = false
        if let old, let new, let oldRoot = hashMember(members["root1"]), let newRoot = hashMember(members["root2"]),
           let proof = proofMember(members["proof"]) {
            verified = (try? MerkleProof.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof)) != nil
        }
        #expect(verified == !wantError, "\(vector.path): \(members["desc"] ?? .null)")
    }

    // MARK: The node store

    @Test func appendingReportsThePerfectSubtreesItCompletes() throws {
        var frontier = MerkleFrontier()
        let leaf = MerkleHash.leaf(data: [1])
        let ids = (0..<8).map { _ in frontier.appendReturningNewNodes(leaf).map(\.id.description) }
        #expect(ids == [["0/0"], ["0/1", "1/0"], ["0/2"], ["0/3", "1/1", "2/0"], ["0/4"], ["0/5", "1/2"], ["0/6"], ["0/7", "1/3", "2/1", "3/0"]])
        #expect(frontier.nodeIDs.map(\.description) == ["3/0"])
    }

    /// Runs of leaves hashed apart (`MerkleSubtrees`) hold exactly the stored nodes that lie
    /// inside them, and appending their covers in order builds the tree leaf-by-leaf appends
    /// build, reporting exactly the stored nodes that span runs — wherever the runs start and end.
    @Test func runsHashedApartJoinIntoTheTreeOfTheirLeaves() throws {
        let tree = try TestTree.random(count: 3000, seed: 7)
        var generator = SeededGenerator(seed: 8)
        for trial in 0..<12 {
            // Cut [0, 3000) into runs: aligned ones of 256 in some trials, random lengths in others.
            var cuts: [Int] = [0]
            while cuts.last! < tree.leaves.count {
                let length = trial.isMultiple(of: 2) ? 256 : 1 + Int(generator.next() % 700)
                cuts.append(min(tree.leaves.count, cuts.last! + length))
            }
            var joined = MerkleFrontier()
            var reported = 0
            for (from, to) in zip(cuts, cuts.dropFirst()) {
                let run = MerkleSubtrees(start: UInt64(from), leafHashes: Array(tree.leaves[from..<to]))
                #expect(run.end == UInt64(to))
                for (level, hashes) in run.levels.enumerated() {
                    for (k, hash) in hashes.enumerated() {
                        let id = MerkleNodeID(level: level, index: run.firstIndex(level: level) + UInt64(k))
                        #expect(id.firstLeaf >= UInt64(from) && id.firstLeaf + id.leafCount <= UInt64(to))
                        #expect(tree.store.hash(of: id) == hash, "node \(id) of run \(from)..<\(to)")
                    }
                    reported += hashes.count
                }
                // A prefix of the run gives the root of the tree of that many leaves.
                let middle = from + (to - from) / 2
                var partial = joined
                for node in run.cover(to: UInt64(middle)) { partial.append(subtree: node) { _ in } }
                #expect(partial.root == (try MerkleFrontier(size: UInt64(middle), source: tree.store)).root)
                for node in run.cover(to: run.end) {
                    joined.append(subtree: node) { spanning in
                        #expect(spanning.id.firstLeaf < UInt64(from), "node \(spanning.id) lies inside the run")
                        #expect(tree.store.hash(of: spanning.id) == spanning.hash)
                        reported += 1
                    }
                }
                #expect(joined.root == (try MerkleFrontier(size: UInt64(to), source: tree.store)).root)
            }
            #expect(joined.hashes == tree.frontier.hashes && joined.size == tree.frontier.size)
            #expect(joined.root == ReferenceMerkle.root(tree.leaves[...]))
            #expect(reported == tree.nodesReported, "every stored node once, trial \(trial)")
        }
        // Every node of an empty run and of a run of one leaf.
        #expect(MerkleSubtrees(start: 5, leafHashes: []).levels == [[]])
        #expect(MerkleSubtrees(start: 5, leafHashes: [tree.leaves[5]]).hash(of: MerkleNodeID(level: 0, index: 5)) == tree.leaves[5])
        #expect(MerkleSubtrees(start: 5, leafHashes: [tree.leaves[5]]).hash(of: MerkleNodeID(level: 1, index: 2)) == nil)
    }

    @Test func storesFewerThanTwoNodesPerLeaf() throws {
        let tree = try TestTree.random(count: 5000, seed: 2)
        #expect(tree.nodesReported < 2 * 5000)
        #expect(tree.nodesReported == 2 * 5000 - 5000.nonzeroBitCount)
    }

    @Test func loadsAFrontierFromTheStore() throws {
        let tree = try TestTree.random(count: 1234, seed: 3)
        for size in [0, 1, 2, 3, 511, 512, 513, 1233, 1234] {
            let loaded = try MerkleFrontier(size: UInt64(size), source: tree.store)
            #expect(loaded.root == ReferenceMerkle.root(tree.leaves[..<size]), "size \(size)")
            #expect(try MerkleFrontier(size: UInt64(size), hashes: loaded.hashes).root == loaded.root)
        }
        #expect(throws: AuditError.self) { try MerkleFrontier(size: 3, hashes: [.zero]) }
        #expect(throws: AuditError.self) { try MerkleFrontier(size: 1235, source: tree.store) }
    }

    @Test func proofsReadLogarithmicallyManyNodes() throws {
        let tree = try TestTree.random(count: 3000, seed: 4)
        let source = CountingSource(tree.store)
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<300 {
            let size = UInt64.random(in: 1...3000, using: &generator)
            let index = UInt64.random(in: 0..<size, using: &generator)
            let old = UInt64.random(in: 1...size, using: &generator)
            let bits = 64 - (size - 1).leadingZeroBitCount
            source.reads = 0
            _ = try MerkleProof.inclusionProof(index: index, size: size, source: source)
            #expect(source.reads <= 2 * bits + 1, "inclusion \(index) of \(size): \(source.reads) reads")
            source.reads = 0
            _ = try MerkleProof.consistencyProof(oldSize: old, newSize: size, source: source)
            #expect(source.reads <= 2 * bits + 1, "consistency \(old) to \(size): \(source.reads) reads")
            source.reads = 0
            _ = try MerkleProof.root(size: size, source: source)
            #expect(source.reads == size.nonzeroBitCount)

            // The nodes named beforehand are exactly enough, fetched as a batch.
            var fetched: [MerkleNodeID: AuditHash] = [:]
            for id in try MerkleProof.nodesNeededForInclusionProof(index: index, size: size)
                + MerkleProof.nodesNeededForConsistencyProof(oldSize: old, newSize: size)
                + MerkleProof.nodesNeededForRoot(size: size) {
                fetched[id] = try tree.store.node(id)
            }
            #expect(try MerkleProof.inclusionProof(index: index, size: size, source: fetched)
                == MerkleProof.inclusionProof(index: index, size: size, source: tree.store))
            #expect(try MerkleProof.consistencyProof(oldSize: old, newSize: size, source: fetched)
                == MerkleProof.consistencyProof(oldSize: old, newSize: size, source: tree.store))
            #expect(try MerkleProof.root(size: size, source: fetched) == MerkleProof.root(size: size, source: tree.store))
        }
        let empty: [MerkleNodeID: AuditHash] = [:]
        #expect(AuditTestSupport.auditError { _ = try MerkleProof.root(size: 5, source: empty) }?.message
            == "merkle node 0/4 is not stored")
    }

    @Test func refusesNodesOutOfOrderAndReportsMissingOnes() throws {
        var store = InMemoryMerkleNodeStore()
        let node = MerkleNode(id: MerkleNodeID(level: 0, index: 1), hash: .zero)
        #expect(AuditTestSupport.auditError { try store.store(node) }?.message
            == "merkle node 0/1 stored out of order: the next node of level 0 is index 0")
        #expect(AuditTestSupport.auditError { _ = try MerkleProof.root(size: 1, source: store) }?.message
            == "merkle node 0/0 is not stored")
        #expect(AuditTestSupport.auditError { _ = try MerkleProof.inclusionProof(index: 3, size: 3, source: store) }?.message
            == "entry 3 is not in a tree of 3 entries")
        #expect(AuditTestSupport.auditError { _ = try MerkleProof.consistencyProof(oldSize: 4, newSize: 3, source: store) }?.message
            == "a tree of 3 entries cannot extend a tree of 4 entries")
    }

    /// A batch of nodes is accepted whole when each is the next of its level (counting the
    /// batch's own earlier nodes) or one already held with the same hash; the first other is named.
    @Test func aBatchOfNodesMustFollowTheStoredTree() {
        var store = InMemoryMerkleNodeStore()
        let a = AuditHash.sha256(utf8: "a"), b = AuditHash.sha256(utf8: "b"), ab = AuditHash.sha256(utf8: "ab")
        let batch = [MerkleNode(id: MerkleNodeID(level: 0, index: 0), hash: a), MerkleNode(id: MerkleNodeID(level: 0, index: 1), hash: b),
                     MerkleNode(id: MerkleNodeID(level: 1, index: 0), hash: ab)]
        #expect(store.misplaced(batch) == nil)
        store.add(batch)
        #expect(store.leafCount == 2 && store.hash(of: MerkleNodeID(level: 1, index: 0)) == ab)
        // Written again with the same hashes: accepted, and nothing changes.
        #expect(store.misplaced(batch) == nil)
        store.add(batch)
        #expect(store.levels.map(\.count) == [2, 1])
        // A held node with another hash, a gap, a level with nothing below it.
        let forged = MerkleNode(id: MerkleNodeID(level: 0, index: 1), hash: a)
        #expect(store.misplaced([forged]) == forged)
        let gap = MerkleNode(id: MerkleNodeID(level: 0, index: 4), hash: a)
        #expect(store.misplaced([MerkleNode(id: MerkleNodeID(level: 0, index: 2), hash: a), gap]) == gap)
        let high = MerkleNode(id: MerkleNodeID(level: 20, index: 1), hash: a)
        #expect(store.misplaced([high]) == high)
        #expect(store.hash(of: MerkleNodeID(level: 40, index: 3)) == nil)
    }

    // MARK: Properties over random trees

    /// Every root, every inclusion proof and every consistency proof of trees up to 70 leaves
    /// (seven levels) matches RFC 9162's recursive definitions and verifies.
    @Test func everyProofOfSmallTreesMatchesTheDefinitions() throws {
        let tree = try TestTree.random(count: 70, seed: 6)
        for n in 0...70 {
            let root = try MerkleProof.root(size: UInt64(n), source: tree.store)
            #expect(root == ReferenceMerkle.root(tree.leaves[..<n]))
            for m in 0..<n {
                let proof = try MerkleProof.inclusionProof(index: UInt64(m), size: UInt64(n), source: tree.store)
                #expect(proof == ReferenceMerkle.path(m, tree.leaves[..<n]), "path \(m) of \(n)")
                try MerkleProof.verifyInclusion(index: UInt64(m), size: UInt64(n), leafHash: tree.leaves[m], proof: proof, root: root)
            }
            for m in 1...max(1, n) where m <= n {
                let proof = try MerkleProof.consistencyProof(oldSize: UInt64(m), newSize: UInt64(n), source: tree.store)
                #expect(proof == ReferenceMerkle.consistency(m, tree.leaves[..<n]), "consistency \(m) to \(n)")
                try MerkleProof.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n),
                                                  oldRoot: try MerkleProof.root(size: UInt64(m), source: tree.store),
                                                  newRoot: root, proof: proof)
            }
        }
    }

    /// Seeded random sizes up to 4,000: proofs verify, and a flipped bit, a wrong index, a wrong
    /// size, a wrong root, a dropped or an extra hash all fail.
    @Test func randomProofsVerifyAndTamperedOnesFail() throws {
        let tree = try TestTree.random(count: 4000, seed: 7)
        var generator = SeededGenerator(seed: 8)
        for _ in 0..<400 {
            let n = UInt64.random(in: 1...4000, using: &generator)
            let m = UInt64.random(in: 0..<n, using: &generator)
            let root = try MerkleProof.root(size: n, source: tree.store)
            let leaf = tree.leaves[Int(m)]
            let proof = try MerkleProof.inclusionProof(index: m, size: n, source: tree.store)
            try MerkleProof.verifyInclusion(index: m, size: n, leafHash: leaf, proof: proof, root: root)
            #expect(Self.inclusionFails(m, n, leaf, Self.flipOneBit(proof, &generator), root))
            if n > 1 {
                var other = UInt64.random(in: 0..<n, using: &generator)
                if other == m { other = (m + 1) % n }
                #expect(Self.inclusionFails(other, n, leaf, proof, root), "index \(other) for \(m) of \(n)")
            }
            // A wrong size, with the root a tree of that size really has.
            var otherSize = UInt64.random(in: (m + 1)...4000, using: &generator)
            if otherSize == n { otherSize = n == 4000 ? m + 1 : n + 1 }
            if otherSize != n {
                let otherRoot = try MerkleProof.root(size: otherSize, source: tree.store)
                #expect(Self.inclusionFails(m, otherSize, leaf, proof, otherRoot), "size \(otherSize) for \(m) of \(n)")
            }
            #expect(Self.inclusionFails(m, n, leaf, proof, MerkleHash.node(root, root)))
            #expect(Self.inclusionFails(m, n, MerkleHash.leaf(data: [9]), proof, root))
            if !proof.isEmpty { #expect(Self.inclusionFails(m, n, leaf, Array(proof.dropLast()), root)) }
            #expect(Self.inclusionFails(m, n, leaf, proof + [root], root))

            let old = UInt64.random(in: 1...n, using: &generator)
            let oldRoot = try MerkleProof.root(size: old, source: tree.store)
            let consistency = try MerkleProof.consistencyProof(oldSize: old, newSize: n, source: tree.store)
            try MerkleProof.verifyConsistency(oldSize: old, newSize: n, oldRoot: oldRoot, newRoot: root, proof: consistency)
            if !consistency.isEmpty {
                #expect(Self.consistencyFails(old, n, oldRoot, root, Self.flipOneBit(consistency, &generator)))
                #expect(Self.consistencyFails(old, n, oldRoot, root, Array(consistency.dropLast())))
            }
            #expect(Self.consistencyFails(old, n, oldRoot, root, consistency + [root]))
            if old < n {
                #expect(Self.consistencyFails(old, n, root, root, consistency))
                #expect(Self.consistencyFails(old, n, oldRoot, oldRoot, consistency))
                // Wrong sizes, with the roots trees of those sizes really have.
                let otherOld = UInt64.random(in: 1...n, using: &generator)
                if otherOld != old {
                    let otherRoot = try MerkleProof.root(size: otherOld, source: tree.store)
                    #expect(Self.consistencyFails(otherOld, n, otherRoot, root, consistency), "old \(otherOld) for \(old) to \(n)")
                }
                let otherNew = UInt64.random(in: old...4000, using: &generator)
                if otherNew != n {
                    let otherRoot = try MerkleProof.root(size: otherNew, source: tree.store)
                    #expect(Self.consistencyFails(old, otherNew, oldRoot, otherRoot, consistency), "new \(otherNew) for \(old) to \(n)")
                }
            }
        }
    }

    @Test func handlesTheEdgesOfConsistency() throws {
        let tree = try TestTree.random(count: 9, seed: 10)
        let root = try MerkleProof.root(size: 9, source: tree.store)
        try MerkleProof.verifyConsistency(oldSize: 0, newSize: 9, oldRoot: MerkleHash.emptyRoot, newRoot: root, proof: [])
        try MerkleProof.verifyConsistency(oldSize: 9, newSize: 9, oldRoot: root, newRoot: root, proof: [])
        try MerkleProof.verifyConsistency(oldSize: 0, newSize: 0, oldRoot: MerkleHash.emptyRoot, newRoot: MerkleHash.emptyRoot, proof: [])
        #expect(Self.consistencyFails(0, 9, root, root, []))
        #expect(Self.consistencyFails(9, 9, root, MerkleHash.emptyRoot, []))
        #expect(Self.consistencyFails(9, 9, root, root, [root]))
        #expect(Self.consistencyFails(10, 9, root, root, []))
        #expect(try MerkleProof.consistencyProof(oldSize: 0, newSize: 9, source: tree.store).isEmpty)
        #expect(AuditTestSupport.auditError {
            try MerkleProof.verifyInclusion(index: 0, size: 0, leafHash: root, proof: [], root: root)
        }?.message == "entry 0 is not in a tree of 0 entries")
    }

    /// `proof` with one random bit flipped.
    static func flipOneBit(_ proof: [AuditHash], _ generator: inout SeededGenerator) -> [AuditHash] {
        guard !proof.isEmpty else { return [MerkleHash.emptyRoot] }
        var copy = proof
        let position = Int.random(in: 0..<proof.count, using: &generator)
        var bytes = copy[position].bytes
        let bit = Int.random(in: 0..<256, using: &generator)
        bytes[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
        copy[position] = AuditHash(bytes: bytes) ?? .zero
        return copy
    }

    /// True when the inclusion proof does not verify.
    static func inclusionFails(_ index: UInt64, _ size: UInt64, _ leaf: AuditHash, _ proof: [AuditHash], _ root: AuditHash) -> Bool {
        (try? MerkleProof.verifyInclusion(index: index, size: size, leafHash: leaf, proof: proof, root: root)) == nil
    }

    /// True when the consistency proof does not verify.
    static func consistencyFails(_ old: UInt64, _ new: UInt64, _ oldRoot: AuditHash, _ newRoot: AuditHash, _ proof: [AuditHash]) -> Bool {
        (try? MerkleProof.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof)) == nil
    }
}
