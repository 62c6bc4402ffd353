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
        var verifier = AuditChainVerifier()
        var pendingCheckpoints = checkpoints[...]
        // Data may be missing only below a purge the log itself records.
        var purgedBelow: UInt64 = 0
        var missingData: [Range<UInt64>] = []  // runs of entries without data (a purge leaves one)
        var position: UInt64 = 0
        // Sizes at which a root must be compared: checkpoints, and the --since size.
        func checkRoots() -> Bool {
            while let checkpoint = pendingCheckpoints.first, checkpoint.size == verifier.count {
                pendingCheckpoints.removeFirst()
                if let problem = check(checkpoint, root: verifier.root, keys: keys, report: &report) {
                    report.failure = (nil, problem)
                    return false
                }
            }
            if let sinceCheckpoint, sinceCheckpoint.size == verifier.count {
                guard verifier.root == sinceCheckpoint.root else {
                    report.failure = (nil, "the log's root at size \(sinceCheckpoint.size) differs from the --since checkpoint's: history was rewritten")
                    return false
                }
            }
            return true
        }
        guard checkRoots() else { return }
        // Each chunk is read and hashed on a thread of its own while the one before it is checked.
        var next = read(store, from: 0)
        while true {
            let batch = try next.value()
            if batch.entries.isEmpty { break }
            next = read(store, from: position + UInt64(batch.entries.count))
            var newNodes: [MerkleNode] = []
            for (i, stored) in batch.entries.enumerated() {
                let hash: AuditHash
                do {
                    hash = try verifier.append(stored.entry, entryHash: batch.entryHashes[i], storedDataHash: batch.dataHashes[i]) {
                        newNodes.append($0)
                    }
                } catch {
                    report.failure = (error.position, error.message)
                    report.entries = verifier.count
                    return
                }
                if stored.data == nil {
                    report.purgedData += 1
                    let seq = stored.entry.seq
                    if let last = missingData.last, last.upperBound == seq {
                        missingData[missingData.count - 1] = last.lowerBound..<seq + 1
                    } else {
                        missingData.append(seq..<seq + 1)
                    }
                } else if stored.entry.kind == AuditLog.purgeKind, let before = purgeBound(stored.data!) {
                    purgedBelow = max(purgedBelow, before)
                }
                guard hash == stored.hash else {
                    report.failure = (stored.entry.seq, "entry \(stored.entry.seq): the stored entry hash does not match its envelope")
                    report.entries = verifier.count
                    return
                }
                guard checkRoots() else {
                    report.entries = verifier.count
                    return
                }
            }
            position += UInt64(batch.entries.count)
            // Every perfect subtree the entries complete must be stored as the entries give it.
            let stored = try store.auditNodes(newNodes.map(\.id))
            for node in newNodes where stored[node.id] != node.hash {
                report.failure = (node.id.firstLeaf + node.id.leafCount - 1, stored[node.id] == nil
                    ? "merkle node \(node.id) is missing from the store (proofs cannot be made)"
                    : "merkle node \(node.id) does not match the entries it covers")
                report.entries = verifier.count
                return
            }
        }
        report.entries = verifier.count
        report.root = verifier.root
        if let run = missingData.first(where: { $0.upperBound > purgedBelow }) {
            let missing = max(run.lowerBound, purgedBelow)
            report.failure = (missing, purgedBelow == 0
                ? "entry \(missing): its data row is missing, and the log records no purge"
                : "entry \(missing): its data row is missing, but the log records purges only below entry \(purgedBelow)")
            return
        }
        if let checkpoint = pendingCheckpoints.first {
            report.failure = (nil, "a checkpoint covers \(checkpoint.size) entries but the log holds \(verifier.count): entries were removed from its tail")
            return
        }
        if let sinceCheckpoint {
            guard sinceCheckpoint.size <= verifier.count else {
                report.failure = (nil, "the log holds \(verifier.count) entries, fewer than the \(sinceCheckpoint.size) of the --since checkpoint: entries were removed from its tail")
                return
            }
            let proof = try MerkleProof.consistencyProof(oldSize: sinceCheckpoint.size, newSize: verifier.count,
                                                          source: StoreNodeSource(store: store))
            do {
                try MerkleProof.verifyConsistency(oldSize: sinceCheckpoint.size, newSize: verifier.count,
                                                  oldRoot: sinceCheckpoint.root, newRoot: verifier.root, proof: proof)
            } catch {
                report.failure = (nil, "the consistency proof from the --since checkpoint does not verify (\(error)): history was rewritten")
                return
            }
            report.extendsSince = sinceCheckpoint.size
        }
    }

    /// Entries of the log with their hashes computed: each envelope's and each stored data's.
    private struct HashedEntries: Sendable {
        var entries: [StoredAuditEntry]
        var entryHashes: [AuditHash] = []
        var dataHashes: [AuditHash?] = []
    }

    /// Reads and hashes up to `chunk` entries from `position` on, on a thread of its own.
    private static func read(_ store: StateStore, from position: UInt64) -> ThreadTask<HashedEntries, StoreError> {
        ThreadTask { () throws(StoreError) -> HashedEntries in
            var batch = HashedEntries(entries: try store.auditEntries(from: position, limit: chunk))
            batch.entryHashes.reserveCapacity(batch.entries.count)
            batch.dataHashes.reserveCapacity(batch.entries.count)
            for stored in batch.entries {
                batch.entryHashes.append(stored.entry.hash)
                batch.dataHashes.append(stored.data.map { AuditHash.sha256($0) })
            }
            return batch
        }
    }

    /// The `before` of an `audit.purged` entry's data, when it has one.
    private static func purgeBound(_ data: [UInt8]) -> UInt64? {
        guard case .object(let members)? = try? data.withUnsafeBufferPointer({ try JSONParser.parse($0) }),
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
