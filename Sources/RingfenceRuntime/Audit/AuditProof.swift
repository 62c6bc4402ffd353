import RingfenceWire
import RingfenceAudit
import RingfenceVM

// `ringfence audit prove` and `audit verify-proof` (SPEC §9.3): a self-contained JSON object
// that proves one entry is in the log, checkable with nothing but itself and a verifier key.
//
//   {"entry": {<envelope fields>, "hash": "<hex>", "data": <data or null>},
//    "proof": ["<hex>", …],          RFC 9162 inclusion proof, leaf side first
//    "checkpoint": "<note text>"}    the newest checkpoint covering the entry
//
// Checking it: the envelope's canonical form hashes to `hash`; the data, when present, hashes
// to `data_hash`; the checkpoint note parses and its signature verifies with the key; the proof
// takes the leaf SHA-256(0x00 ‖ hash) at index `seq` to the checkpoint's root at its size.

/// An entry's JSON as `audit log --format json` and `audit prove` print it.
public enum AuditEntryJSON {
    /// The envelope's fields plus `hash` (hex) and `data` (the stored data, `null` once purged).
    public static func value(_ stored: StoredAuditEntry) -> Value {
        guard case .object(var members) = stored.entry.jsonValue else { return .null }
        members["hash"] = .string(stored.hash.hex)
        if let data = stored.data, let parsed = try? data.withUnsafeBufferPointer({ try JSONParser.parse($0) }) {
            members["data"] = parsed
        } else {
            members["data"] = .null
        }
        return .object(members)
    }
}

/// An inclusion proof for one entry against a checkpoint.
public struct AuditInclusionProof: Sendable {
    /// The entry, with its hash and data.
    public var entry: StoredAuditEntry
    /// The RFC 9162 audit path, leaf side first.
    public var proof: [AuditHash]
    /// The checkpoint the proof leads to.
    public var checkpoint: StoredCheckpoint

    /// The JSON object `audit prove` prints.
    public var json: Value {
        .object([
            "entry": AuditEntryJSON.value(entry),
            "proof": .list(proof.map { .string($0.hex) }),
            "checkpoint": .string(checkpoint.note),
        ])
    }

    /// Builds the proof of entry `seq` against the newest stored checkpoint covering it; when
    /// none does, `makeCheckpoint` (signing one now) is asked for one, or the proof fails.
    public static func prove(_ seq: UInt64, in store: StateStore,
                             makeCheckpoint: (() throws -> StoredCheckpoint)?) throws -> AuditInclusionProof {
        guard let stored = try store.auditEntries(from: seq, limit: 1).first, stored.entry.seq == seq else {
            throw AuditLogError(message: "the log has no entry \(seq)")
        }
        var checkpoint = try store.checkpoints().last { $0.size > seq }
        if checkpoint == nil, let makeCheckpoint {
            checkpoint = try makeCheckpoint()
        }
        guard let checkpoint, checkpoint.size > seq else {
            throw AuditLogError(message: "no checkpoint covers entry \(seq) yet; give --key to sign one now")
        }
        let nodes = try StoreNodeSource(MerkleProof.nodesNeededForInclusionProof(index: seq, size: checkpoint.size), from: store)
        let proof = try MerkleProof.inclusionProof(index: seq, size: checkpoint.size, source: nodes)
        return AuditInclusionProof(entry: stored, proof: proof, checkpoint: checkpoint)
    }
}

/// What checking a proof file found.
public enum AuditProofCheck: Sendable, Equatable {
    /// Everything holds; the entry's seq and the checkpoint's size.
    case valid(seq: UInt64, size: UInt64)
    /// The file is well formed but something does not hold.
    case invalid(String)
    /// The file is not a proof.
    case unreadable(String)

    /// Checks a proof file's text against `keys`.
    public static func check(_ text: String, keys: [NoteVerifierKey]) -> AuditProofCheck {
        let value: Value
        do {
            value = try JSONParser.parse(text)
        } catch {
            return .unreadable("the proof is not json: \(error)")
        }
        guard case .object(let members) = value, Set(members.keys) == ["entry", "proof", "checkpoint"] else {
            return .unreadable("the proof must be an object with exactly `entry`, `proof` and `checkpoint`")
        }
        guard case .object(var entryMembers) = members["entry"]!,
              case .string(let hashText)? = entryMembers.removeValue(forKey: "hash"),
              let data = entryMembers.removeValue(forKey: "data") else {
            return .unreadable("`entry` must be an object with the envelope's fields, `hash` and `data`")
        }
        guard case .list(let pathItems) = members["proof"]!, case .string(let noteText) = members["checkpoint"]! else {
            return .unreadable("`proof` must be a list of hex hashes and `checkpoint` a note")
        }
        let entry: AuditEntry
        let claimed: AuditHash
        var path: [AuditHash] = []
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            entry = try AuditEntry(json: .object(entryMembers))
            claimed = try AuditHash(hex: hashText, field: "entry.hash")
            for item in pathItems {
                guard case .string(let hex) = item else { return .unreadable("`proof` holds something that is not a hex hash") }
                path.append(try AuditHash(hex: hex, field: "proof"))
            }
            note = try SignedNote(parsing: noteText)
            checkpoint = try Checkpoint(parsing: note.text)
        } catch {
            return .unreadable("\(error)")
        }
        guard entry.hash == claimed else { return .invalid("the entry's hash is not the hash of its envelope") }
        if data != .null {
            guard let dataHash = try? CanonicalJSON.hash(data), dataHash == entry.dataHash else {
                return .invalid("the entry's data does not hash to its data_hash")
            }
        }
        do {
            switch try note.verify(with: keys) {
            case .verified: break
            case .unsigned: return .invalid("the checkpoint is not signed")
            case .unknownKeys(let signers):
                return .invalid("the checkpoint is signed by \(signers.map(\.description).joined(separator: ", ")), not by the given key")
            case .badSignature(let name, _): return .invalid("the checkpoint's signature by `\(name)` does not verify")
            }
        } catch {
            return .unreadable("\(error)")
        }
        do {
            try MerkleProof.verifyInclusion(index: entry.seq, size: checkpoint.size, leafHash: MerkleHash.leaf(entryHash: entry.hash),
                                            proof: path, root: checkpoint.root)
        } catch {
            return .invalid("the inclusion proof does not lead to the checkpoint's root (\(error))")
        }
        return .valid(seq: entry.seq, size: checkpoint.size)
    }
}
