import RingfenceWire
import RingfenceAudit
import RingfenceVM

// `ringfence audit verify` (SPEC §9.3): re-derive everything from entry 0 and name the first
// thing that does not hold.
//
//   for every entry, in order      seq continues, prev is the hash of the entry before, the data
//                                  still stored hashes to data_hash, the stored entry hash is the
//                                  hash of the envelope
//   for every Merkle node stored   it equals the node the entries give (proofs are built from them)
//   for every checkpoint           its note parses, names the stored size and root, the root is
//                                  the Merkle root of the first `size` entries, and its signature
//                                  verifies with a given key (or it is reported unsigned)
//   with --since CHECKPOINT        the log holds at least that many entries, its root at that
//                                  size is the checkpoint's, and an RFC 9162 consistency proof
//                                  from the stored nodes verifies: the log extends what was seen
//
// What it cannot see: entries removed from the tail together with every later checkpoint leave
// a shorter log that verifies. Only a checkpoint kept elsewhere (`--since`) exposes that.

/// The outcome of verifying a store's audit log.
public struct AuditVerificationReport: Sendable {
    /// The entries read.
    public var entries: UInt64 = 0
    /// The Merkle root of the whole log.
    public var root: AuditHash = MerkleHash.emptyRoot
    /// Checkpoints whose root and shape were checked.
    public var checkpoints = 0
    /// Of those, how many carry a signature verified with a given key.
    public var verifiedSignatures = 0
    /// Of those, how many carry no signature at all.
    public var unsignedCheckpoints = 0
    /// Data rows purged (their entries verify by `data_hash` alone).
    public var purgedData: UInt64 = 0
    /// The checkpoint given with `--since`, when it was proven to be extended.
    public var extendsSince: UInt64?
    /// The first problem: the entry it concerns (when one does) and what is wrong.
    public var failure: (entry: UInt64?, message: String)?

    /// True when nothing is wrong.
    public var intact: Bool { failure == nil }
}

/// Verifies a store's audit log.
public enum AuditVerification {
    /// Entries read per store query.
    public static let chunk = 8192

    /// Verifies the whole log of `store`; signatures are checked against `keys` (none: not
    /// checked), and `since` (a checkpoint kept elsewhere) must be extended by the log.
    public static func verify(_ store: StateStore, keys: [NoteVerifierKey], since: SignedNote? = nil) -> AuditVerificationReport {
        var report = AuditVerificationReport()
        do {
            try run(store, keys: keys, since: since, into: &report)
        } catch let error as StoreError {
            report.failure = (nil, "the store cannot be read: \(error.message)")
        } catch {
            report.failure = (nil, "\(error)")
        }
        return report
    }

    private static func run(_ store: StateStore, keys: [NoteVerifierKey], since: SignedNote?,
                            into report: inout AuditVerificationReport) throws {
        let checkpoints = try store.checkpoints()
        let sinceCheckpoint: Checkpoint?
        do {
            sinceCheckpoint = try since.map { try Checkpoint(parsing: $0.text) }
        } catch {
            report.failure = (nil, "the --since checkpoint cannot be read: \(error)")
            return
        }
        var links = AuditChainLinks()
        var tree = MerkleFrontier()
        var pendingCheckpoints = checkpoints[...]
        // Data may be missing only below a purge the log itself records.
        var purgedBelow: UInt64 = 0
        var missingData: [Range<UInt64>] = []  // runs of entries without data (a purge leaves one)
        // Sizes at which a root must be compared: checkpoints, and the --since size.
        func rootWanted(at size: UInt64) -> Bool {
            pendingCheckpoints.first?.size == size || sinceCheckpoint?.size == size
        }
        func checkRoots(_ root: AuditHash) -> Bool {
            while let checkpoint = pendingCheckpoints.first, checkpoint.size == links.count {
                pendingCheckpoints.removeFirst()
                if let problem = check(checkpoint, root: root, keys: keys, report: &report) {
                    report.failure = (nil, problem)
                    return false
                }
            }
            if let sinceCheckpoint, sinceCheckpoint.size == links.count {
                guard root == sinceCheckpoint.root else {
                    report.failure = (nil, "the log's root at size \(sinceCheckpoint.size) differs from the --since checkpoint's: history was rewritten")
                    return false
                }
            }
            return true
        }
        guard checkRoots(tree.root) else { return }
        // Chunks are read and hashed, with their Merkle subtrees, two at a time on threads of
        // their own while the one before them is checked; a chunk checked is refilled with the
        // next one to read. Chunk k is read from entry k · chunk; when a chunk ends early (the
        // log's end, or a gap), reading goes on from where it ended.
        var next = [read(store, from: 0, into: Chunk()), read(store, from: UInt64(chunk), into: Chunk())]
        var nextStart = UInt64(2 * chunk)
        while true {
            let batch = try next.removeFirst().value()
            guard batch.tree.start == links.count else {
                next = [read(store, from: links.count, into: batch)]
                nextStart = links.count + UInt64(chunk)
                continue
            }
            if batch.entries.isEmpty { break }
            for (i, entry) in batch.entries.enumerated() {
                let hash = batch.entryHashes[i]
                do {
                    try links.link(entry, entryHash: hash, storedDataHash: batch.dataHashes[i])
                } catch {
                    report.failure = (error.position, error.message)
                    report.entries = links.count
                    return
                }
                if batch.dataHashes[i] == nil {
                    report.purgedData += 1
                    let seq = entry.seq
                    if let last = missingData.last, last.upperBound == seq {
                        missingData[missingData.count - 1] = last.lowerBound..<seq + 1
                    } else {
                        missingData.append(seq..<seq + 1)
                    }
                } else if let before = batch.purgeBounds[i] {
                    purgedBelow = max(purgedBelow, before)
                }
                guard hash == batch.storedHashes[i] else {
                    report.failure = (entry.seq, "entry \(entry.seq): the stored entry hash does not match its envelope")
                    report.entries = links.count
                    return
                }
                if rootWanted(at: links.count) {
                    var partial = tree
                    for node in batch.tree.cover(to: links.count) { partial.append(subtree: node) { _ in } }
                    guard checkRoots(partial.root) else {
                        report.entries = links.count
                        return
                    }
                }
            }
            // Every stored perfect subtree (level 4 and up, `AuditNodes`) the entries complete
            // must be stored as the entries give it: those inside the chunk were compared as it
            // was read, those that span it and the chunks before are made here.
            var spanning: [MerkleNode] = []
            for node in batch.tree.cover(to: batch.tree.end) {
                tree.append(subtree: node) { if AuditNodes.isStored($0.id) { spanning.append($0) } }
            }
            let stored = spanning.isEmpty ? [:] : try store.auditNodes(spanning.map(\.id))
            if let failure = batch.nodeFailure
                ?? spanning.first(where: { stored[$0.id] != $0.hash }).map({ nodeFailure($0.id, missing: stored[$0.id] == nil) }) {
                report.failure = failure
                report.entries = links.count
                return
            }
            next.append(read(store, from: nextStart, into: batch))
            nextStart += UInt64(chunk)
        }
        report.entries = links.count
        report.root = tree.root
        if let run = missingData.first(where: { $0.upperBound > purgedBelow }) {
            let missing = max(run.lowerBound, purgedBelow)
            report.failure = (missing, purgedBelow == 0
                ? "entry \(missing): its data row is missing, and the log records no purge"
                : "entry \(missing): its data row is missing, but the log records purges only below entry \(purgedBelow)")
            return
        }
        if let checkpoint = pendingCheckpoints.first {
            report.failure = (nil, "a checkpoint covers \(checkpoint.size) entries but the log holds \(links.count): entries were removed from its tail")
            return
        }
        if let sinceCheckpoint {
            guard sinceCheckpoint.size <= links.count else {
                report.failure = (nil, "the log holds \(links.count) entries, fewer than the \(sinceCheckpoint.size) of the --since checkpoint: entries were removed from its tail")
                return
            }
            let nodes = try StoreNodeSource(MerkleProof.nodesNeededForConsistencyProof(oldSize: sinceCheckpoint.size, newSize: links.count),
                                            from: store)
            let proof = try MerkleProof.consistencyProof(oldSize: sinceCheckpoint.size, newSize: links.count, source: nodes)
            do {
                try MerkleProof.verifyConsistency(oldSize: sinceCheckpoint.size, newSize: links.count,
                                                  oldRoot: sinceCheckpoint.root, newRoot: tree.root, proof: proof)
            } catch {
                report.failure = (nil, "the consistency proof from the --since checkpoint does not verify (\(error)): history was rewritten")
                return
            }
            report.extendsSince = sinceCheckpoint.size
        }
    }

    /// Entries of the log read from `tree.start` on, with everything computed from them that
    /// does not depend on the entries before: each envelope's hash, each stored data's hash, the
    /// `before` of each purge, the Merkle subtrees over the run (entry i taken to be leaf
    /// `start + i`, which the seq check confirms) and the first of them the store does not hold
    /// as computed. Its arrays are kept and refilled chunk after chunk, so a verification
    /// allocates (and the system zeroes) its buffers once, not once a chunk.
    private final class Chunk: @unchecked Sendable {
        // Safety: used by one thread at a time — filled by a reader thread, read by the checker
        // once it has joined that thread, then handed to the next reader thread.
        /// The envelopes, in order.
        var entries: [AuditEntry] = []
        /// Each entry's hash as stored.
        var storedHashes: [AuditHash] = []
        /// Each envelope's hash as computed.
        var entryHashes: [AuditHash] = []
        /// The SHA-256 of each entry's stored data; nil once purged.
        var dataHashes: [AuditHash?] = []
        /// The `before` of each `audit.purged` entry whose data says one, by position in the run.
        var purgeBounds: [Int: UInt64] = [:]
        /// The Merkle subtrees over the run.
        var tree = MerkleSubtrees()
        /// The first of those nodes the store does not hold as computed.
        var nodeFailure: (entry: UInt64?, message: String)?
        /// The stored nodes of one level, as last read.
        private var storedNodes: [AuditHash?] = []

        /// Replaces what the chunk holds by up to `AuditVerification.chunk` entries from `start`
        /// on, hashed.
        func fill(from store: StateStore, start: UInt64) throws(StoreError) {
            // Filled as locals (moved out of the object and back) so the appends are checked
            // for exclusive access when compiled, not at run time on every element.
            var entries = Self.emptied(&self.entries)
            var storedHashes = Self.emptied(&self.storedHashes)
            var entryHashes = Self.emptied(&self.entryHashes)
            var dataHashes = Self.emptied(&self.dataHashes)
            var purgeBounds: [Int: UInt64] = [:]
            var tree = self.tree
            self.tree = MerkleSubtrees()
            defer {
                self.entries = entries
                self.storedHashes = storedHashes
                self.entryHashes = entryHashes
                self.dataHashes = dataHashes
                self.purgeBounds = purgeBounds
                self.tree = tree
            }
            nodeFailure = nil
            try tree.rehash(start: start) { (leaves: inout [AuditHash]) throws(StoreError) in
                try store.forEachAuditEntry(from: start, limit: AuditVerification.chunk) { entry, stored, data in
                    let hash = entry.hash
                    if let data, entry.kind == AuditLog.purgeKind, let before = AuditVerification.purgeBound(data) {
                        purgeBounds[entries.count] = before
                    }
                    entries.append(entry)
                    storedHashes.append(stored)
                    entryHashes.append(hash)
                    dataHashes.append(data.map { AuditHash.sha256($0) })
                    leaves.append(MerkleHash.leaf(entryHash: hash))
                }
            }
            nodeFailure = try firstNodeFailure(tree, in: store)
        }

        /// Moves `array`'s storage out, emptied, leaving an empty array behind.
        private static func emptied<Element>(_ array: inout [Element]) -> [Element] {
            var taken: [Element] = []
            swap(&taken, &array)
            taken.removeAll(keepingCapacity: true)
            return taken
        }

        /// The first stored node of `tree` (level 4 and up; those below are made from the
        /// entries, whose hashes are checked) — in the order appends complete them: by last
        /// leaf, then level — that the store does not hold with the hash computed.
        private func firstNodeFailure(_ tree: MerkleSubtrees, in store: StateStore) throws(StoreError) -> (entry: UInt64?, message: String)? {
            var storedNodes = Self.emptied(&self.storedNodes)
            defer { self.storedNodes = storedNodes }
            var first: (id: MerkleNodeID, missing: Bool)?
            for (level, hashes) in tree.levels.enumerated() where level >= AuditNodes.lowestStoredLevel && !hashes.isEmpty {
                let firstIndex = tree.firstIndex(level: level)
                try store.auditNodes(level: level, indices: firstIndex..<firstIndex + UInt64(hashes.count), into: &storedNodes)
                guard let k = hashes.indices.first(where: { storedNodes[$0] != hashes[$0] }) else { continue }
                let id = MerkleNodeID(level: level, index: firstIndex + UInt64(k))
                // Levels come lowest first, so a node ending at the same leaf as one found keeps it.
                if first.map({ AuditVerification.lastLeaf(id) < AuditVerification.lastLeaf($0.id) }) ?? true {
                    first = (id, storedNodes[k] == nil)
                }
            }
            return first.map { AuditVerification.nodeFailure($0.id, missing: $0.missing) }
        }
    }

    /// Fills `chunk` with up to `chunk` entries from `start` on, on a thread of its own.
    private static func read(_ store: StateStore, from start: UInt64, into chunk: Chunk) -> ThreadTask<Chunk, StoreError> {
        ThreadTask { () throws(StoreError) -> Chunk in
            try chunk.fill(from: store, start: start)
            return chunk
        }
    }

    /// The failure of a stored node that is missing or does not match, named at the last entry
    /// it covers.
    fileprivate static func nodeFailure(_ id: MerkleNodeID, missing: Bool) -> (entry: UInt64?, message: String) {
        (lastLeaf(id), missing
            ? "merkle node \(id) is missing from the store (proofs cannot be made)"
            : "merkle node \(id) does not match the entries it covers")
    }

    /// The last leaf under node `id`.
    fileprivate static func lastLeaf(_ id: MerkleNodeID) -> UInt64 {
        id.firstLeaf + (id.leafCount - 1)
    }

    /// The `before` of an `audit.purged` entry's data, when it has one.
    fileprivate static func purgeBound(_ data: UnsafeRawBufferPointer) -> UInt64? {
        guard case .object(let members)? = try? JSONParser.parse(data.assumingMemoryBound(to: UInt8.self)),
              case .number(let before)? = members["before"], before >= 0, before < 9.007e15 else { return nil }
        return UInt64(before)
    }

    /// Checks one stored checkpoint against the root its entries give; returns the problem, if any.
    private static func check(_ stored: StoredCheckpoint, root: AuditHash, keys: [NoteVerifierKey],
                              report: inout AuditVerificationReport) -> String? {
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            note = try SignedNote(parsing: stored.note)
            checkpoint = try Checkpoint(parsing: note.text)
        } catch {
            return "the checkpoint at size \(stored.size) cannot be read: \(error)"
        }
        guard checkpoint.size == stored.size, checkpoint.root == stored.root else {
            return "the checkpoint at size \(stored.size) does not name the size and root stored with it"
        }
        guard checkpoint.root == root else {
            return "the checkpoint at size \(stored.size) does not match the root of the first \(stored.size) entries"
        }
        report.checkpoints += 1
        if note.signatures.isEmpty {
            report.unsignedCheckpoints += 1
            return nil
        }
        guard !keys.isEmpty else { return nil }
        let verification: NoteVerification
        do {
            verification = try note.verify(with: keys)
        } catch {
            return "the keys given cannot be used: \(error)"
        }
        switch verification {
        case .verified: report.verifiedSignatures += 1
        case .unsigned: report.unsignedCheckpoints += 1
        case .unknownKeys(let signers):
            return "the checkpoint at size \(stored.size) is signed by \(signers.map(\.description).joined(separator: ", ")), not by the given key"
        case .badSignature(let name, _):
            return "the checkpoint at size \(stored.size) has a signature by `\(name)` that does not verify"
        }
        return nil
    }
}
