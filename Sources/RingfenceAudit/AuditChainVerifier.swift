import RingfenceVM

/// Re-derives a log from entry 0, one entry at a time (SPEC §9.3): each `seq` follows the one
/// before, each `prev` is the hash of the entry before (64 zeros for entry 0), each data still
/// stored hashes to its `data_hash`, and every entry hash feeds a `MerkleFrontier`, so the root
/// at any size is at hand for comparing with a checkpoint.
///
/// It keeps O(log n) state and writes each envelope's canonical bytes into temporary memory, so
/// verifying allocates only what SHA-256 itself does. The first failure is reported with the
/// entry's position and stops the verifier: after a failure it accepts nothing more. Checks run
/// in the order seq, prev, data.
public struct AuditChainVerifier: Sendable {
    /// The chain so far: how many entries, the last hash, the first failure.
    private var links = AuditChainLinks()
    /// The Merkle tree of the entries verified.
    public private(set) var frontier = MerkleFrontier()

    /// A verifier at the start of a log.
    public init() {}

    /// The number of entries verified.
    public var count: UInt64 { links.count }
    /// The entry hash of the last entry verified (zero before entry 0).
    public var lastHash: AuditHash { links.lastHash }
    /// The first failure, once there is one.
    public var failure: AuditChainFailure? { links.failure }
    /// The Merkle root of the entries verified so far.
    public var root: AuditHash { frontier.root }

    /// Verifies the next entry, whose stored data (the canonical bytes) is `canonicalData`, or
    /// nil once purged; returns its entry hash.
    @discardableResult
    public mutating func append(_ entry: AuditEntry, canonicalData: [UInt8]?) throws(AuditChainFailure) -> AuditHash {
        try append(entry, canonicalData: canonicalData) { _ in }
    }

    /// `append(_:canonicalData:)`, also handing `newNode` each perfect-subtree node the entry
    /// completes (so a verifier can compare a store's nodes without hashing the tree twice).
    @discardableResult
    public mutating func append(_ entry: AuditEntry, canonicalData: [UInt8]?,
                                newNode: (MerkleNode) -> Void) throws(AuditChainFailure) -> AuditHash {
        let hash = entry.hash
        try links.link(entry, entryHash: hash, storedDataHash: canonicalData.map { AuditHash.sha256($0) })
        frontier.append(MerkleHash.leaf(entryHash: hash), newNode: newNode)
        return hash
    }

    /// Verifies the next entry whose stored data is the JSON value `data` (canonicalised here),
    /// or nil once purged; returns its entry hash.
    @discardableResult
    public mutating func append(_ entry: AuditEntry, data: Value?) throws(AuditChainFailure) -> AuditHash {
        guard let data else { return try append(entry, canonicalData: nil) }
        try links.checkPosition(entry)
        let bytes: [UInt8]
        do {
            bytes = try CanonicalJSON.encode(data)
        } catch {
            throw links.fail(.dataNotCanonicalisable(error.message))
        }
        return try append(entry, canonicalData: bytes)
    }

    /// Verifies a whole log from entry 0: each element is an envelope and its stored canonical
    /// data bytes (nil once purged).
    public static func verify<Entries: Sequence>(_ entries: Entries) -> AuditChainReport
    where Entries.Element == (AuditEntry, [UInt8]?) {
        var verifier = AuditChainVerifier()
        for (entry, data) in entries {
            do {
                try verifier.append(entry, canonicalData: data)
            } catch {
                break
            }
        }
        return AuditChainReport(count: verifier.count, lastHash: verifier.lastHash, root: verifier.root, failure: verifier.failure)
    }
}

/// The chain half of verification, for a verifier that hashes entries and builds the tree
/// elsewhere (on other threads, from `MerkleSubtrees`): each entry's `seq` is the count so far,
/// its `prev` the hash of the entry before (zeros for entry 0), and its stored data's hash, when
/// the data is still stored, its `data_hash` — checked in that order. The first failure stops it.
package struct AuditChainLinks: Sendable {
    /// The number of entries linked.
    package private(set) var count: UInt64 = 0
    /// The entry hash of the last entry linked (zero before entry 0).
    package private(set) var lastHash: AuditHash = .zero
    /// The first failure, once there is one.
    package private(set) var failure: AuditChainFailure?

    /// A chain at the start of a log.
    package init() {}

    /// Checks the next entry, given its entry hash (`entry.hash`, computed by the caller) and the
    /// SHA-256 of its stored data (nil once purged), and counts it.
    package mutating func link(_ entry: AuditEntry, entryHash: AuditHash, storedDataHash: AuditHash?) throws(AuditChainFailure) {
        try checkPosition(entry)
        if let storedDataHash, storedDataHash != entry.dataHash {
            throw fail(.dataHashMismatch)
        }
        lastHash = entryHash
        count += 1
    }

    /// Throws the earlier failure, if any, or a failure when `entry` is not the next entry.
    mutating func checkPosition(_ entry: AuditEntry) throws(AuditChainFailure) {
        if let failure { throw failure }
        guard entry.seq == count else { throw fail(.seqOutOfOrder(found: entry.seq)) }
        guard entry.prev == lastHash else { throw fail(.prevMismatch) }
    }

    /// Records and returns the failure of the entry at position `count`.
    mutating func fail(_ reason: AuditChainFailure.Reason) -> AuditChainFailure {
        let failure = AuditChainFailure(position: count, reason: reason)
        self.failure = failure
        return failure
    }
}

/// The first thing wrong with a log, and where.
public struct AuditChainFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Sendable, Hashable {
        /// The entry's `seq` is not its position.
        case seqOutOfOrder(found: UInt64)
        /// The entry's `prev` is not the hash of the entry before (or not zeros for entry 0).
        case prevMismatch
        /// The stored data does not hash to the entry's `data_hash`.
        case dataHashMismatch
        /// The stored data cannot be written as RFC 8785 JSON.
        case dataNotCanonicalisable(String)
    }

    /// The position (expected `seq`) of the bad entry.
    public let position: UInt64
    /// What is wrong with it.
    public let reason: Reason

    /// E.g. `entry 41: prev does not match the hash of entry 40`.
    public var message: String { AuditMessages.chainFailure(position: position, reason: reason) }

    /// The message.
    public var description: String { message }
}

/// The outcome of verifying a whole log.
public struct AuditChainReport: Sendable, Hashable {
    /// The number of entries that verified (all of them when `failure` is nil).
    public let count: UInt64
    /// The hash of the last entry that verified.
    public let lastHash: AuditHash
    /// The Merkle root of the entries that verified.
    public let root: AuditHash
    /// The first failure, if any.
    public let failure: AuditChainFailure?
}
