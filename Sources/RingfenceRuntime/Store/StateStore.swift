import RingfenceBytecode
import RingfenceAudit

// The store protocol (SPEC §12). Everything the runtime keeps — sessions, elevations, breakers,
// saga executions, the ledger and the audit log — goes through it, so the runtime holds no SQL
// and no file format: `MemoryStore` here, `SQLiteStore` (and later PostgreSQL) at the edge.
//
// The runtime writes in batches: one `StoreBatch` is one transaction holding the state changes
// of one or more operations together with their audit entries, the Merkle nodes those entries
// complete and any checkpoint, so an operation's changes commit together (SPEC §12) and many
// operations can share one commit (group commit, SPEC §9.4). State is a set of collections of
// key → bytes rows; the runtime encodes its records itself and keeps whatever indexes it needs
// as further collections. Audit entries are appended only at the head: a batch's first entry
// must carry the store's next sequence number and link to its last hash, which the store checks
// inside the transaction, so two writers can never fork the chain or leave a gap.

/// A place runtime state lives: `memory:`, `sqlite:PATH` or `postgres://…` (SPEC §12).
public protocol StateStore: AnyObject, Sendable {
    /// The store's URL, as given to `Stores.open` (for messages).
    var url: String { get }

    /// Every state row and the audit log's head: what a runtime reads once when it opens the store.
    func load() throws(StoreError) -> StoreSnapshot

    /// Commits `batch` in one transaction, durably as `durability` says (SPEC §9.4), or throws
    /// and changes nothing.
    func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError)

    /// Up to `limit` audit entries from `seq` on, in order, each with its stored data (nil once purged).
    func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry]

    /// Calls `body` with each of up to `limit` audit entries from `seq` on, in order: the entry,
    /// its stored hash and its stored data (nil once purged), valid during the call only.
    /// (Verification reads a log this way, hashing data without keeping a copy.)
    func forEachAuditEntry(from seq: UInt64, limit: Int,
                           _ body: (AuditEntry, AuditHash, UnsafeRawBufferPointer?) -> Void) throws(StoreError)

    /// The stored perfect-subtree hashes with these addresses (missing ones are absent from the result).
    func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash]

    /// Replaces the contents of `found` by the stored nodes of one level with indices in
    /// `indices`, in index order: element k is node `level/(indices.lowerBound + k)`, nil where
    /// none is stored. (Verification reads the nodes under a run of entries a level at a time,
    /// into the same arrays run after run.)
    func auditNodes(level: Int, indices: Range<UInt64>, into found: inout [AuditHash?]) throws(StoreError)

    /// Every stored checkpoint, oldest (smallest) first.
    func checkpoints() throws(StoreError) -> [StoredCheckpoint]

    /// The entry hashes of the entries whose `session` is `session`, in log order (a session's
    /// audit root, SPEC §8.1, is the RFC 9162 root over them).
    func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash]

    /// Drops the stored data of entries below `seq` (their envelopes and `data_hash` stay, so
    /// the log still verifies); returns how many data rows were dropped.
    func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int

    /// The store's tenure when several runtimes share it live (SPEC §15); nil (the default) for
    /// a store one runtime owns.
    var tenure: StoreTenure? { get }
}

extension StateStore {
    /// `forEachAuditEntry` over `auditEntries`, for a store with no cheaper way.
    public func forEachAuditEntry(from seq: UInt64, limit: Int,
                                  _ body: (AuditEntry, AuditHash, UnsafeRawBufferPointer?) -> Void) throws(StoreError) {
        for stored in try auditEntries(from: seq, limit: limit) {
            if let data = stored.data {
                data.withUnsafeBytes { body(stored.entry, stored.hash, $0) }
            } else {
                body(stored.entry, stored.hash, nil)
            }
        }
    }

    /// `auditNodes(level:indices:into:)` through `auditNodes(_:)`, for a store with no cheaper way.
    public func auditNodes(level: Int, indices: Range<UInt64>, into found: inout [AuditHash?]) throws(StoreError) {
        found.removeAll(keepingCapacity: true)
        guard !indices.isEmpty else { return }
        let ids = indices.map { MerkleNodeID(level: level, index: $0) }
        let stored = try auditNodes(ids)
        found.append(contentsOf: ids.lazy.map { stored[$0] })
    }
}

/// How soon an appended entry must be durable (SPEC §9.4): the runtime file's `audit.durability`.
/// `strict` returns after the entries are fsync'd (concurrent operations share one commit);
/// `group` once they are queued, durable within 10 ms; `relaxed` is the store's cheapest mode
/// (committed, not necessarily flushed to disk).
public typealias Durability = RuntimeSettings.Audit.Durability

/// One transaction's worth of changes.
public struct StoreBatch: Sendable {
    /// State rows to write (insert or replace), in order.
    public var puts: [StateRow] = []
    /// State rows to delete.
    public var deletes: [StateKey] = []
    /// Audit entries to append, in sequence order, with their canonical data.
    public var entries: [StoredAuditEntry] = []
    /// Merkle perfect-subtree nodes the entries complete.
    public var nodes: [MerkleNode] = []
    /// Checkpoints signed over the log as it stands after this batch.
    public var checkpoints: [StoredCheckpoint] = []

    /// An empty batch.
    public init() {}

    /// True when the batch holds nothing.
    public var isEmpty: Bool { puts.isEmpty && deletes.isEmpty && entries.isEmpty && nodes.isEmpty && checkpoints.isEmpty }
}

/// The address of a state row.
public struct StateKey: Sendable, Hashable, Comparable {
    /// The collection (`sessions`, `vouches`, …).
    public var collection: String
    /// The row's key within it.
    public var key: String

    /// Creates a key.
    public init(_ collection: String, _ key: String) {
        self.collection = collection
        self.key = key
    }

    /// Orders by collection, then key (the canonical order multi-row writes take).
    public static func < (a: StateKey, b: StateKey) -> Bool {
        (a.collection, a.key) < (b.collection, b.key)
    }
}

/// A state row: a key and the runtime's encoding of the record.
///
/// A row made with `init(_:written:)` holds a function that writes its bytes from a snapshot
/// of the record, not the bytes: they are written when read — by the store, on whichever
/// thread commits the row's batch (the audit writer for appends nobody waits for), so the
/// operation that queued the row does not spend its time writing it. The function must give
/// the same bytes whenever it is called (it captures values, never a reference to state that
/// changes).
public struct StateRow: Sendable, Hashable {
    /// Where the row lives.
    public var key: StateKey
    /// The record's bytes, or how to write them.
    private var storage: Storage

    /// The record's bytes (written now for a row made with `init(_:written:)`).
    public var value: [UInt8] {
        get {
            switch storage {
            case .bytes(let bytes): bytes
            case .written(let write): write()
            }
        }
        set { storage = .bytes(newValue) }
    }

    private enum Storage: Sendable {
        case bytes([UInt8])
        case written(@Sendable () -> [UInt8])
    }

    /// Creates a row.
    public init(_ key: StateKey, _ value: [UInt8]) {
        self.key = key
        storage = .bytes(value)
    }

    /// Creates a row whose bytes `write` writes when they are read (see the type's comment).
    public init(_ key: StateKey, written write: @escaping @Sendable () -> [UInt8]) {
        self.key = key
        storage = .written(write)
    }

    /// Equal keys and bytes.
    public static func == (a: StateRow, b: StateRow) -> Bool { a.key == b.key && a.value == b.value }

    /// Hashes the key and the bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(value)
    }
}

/// An audit entry as stored: its envelope, its hash, and its canonical data unless purged.
public struct StoredAuditEntry: Sendable, Hashable {
    /// The envelope (SPEC §9.1).
    public var entry: AuditEntry
    /// SHA-256 of the canonical envelope.
    public var hash: AuditHash
    /// The canonical (RFC 8785) data, nil once purged.
    public var data: [UInt8]?

    /// Creates a stored entry.
    public init(entry: AuditEntry, hash: AuditHash, data: [UInt8]?) {
        self.entry = entry
        self.hash = hash
        self.data = data
    }
}

/// A signed (or unsigned) checkpoint as stored: the tree size it covers and its note text.
public struct StoredCheckpoint: Sendable, Hashable {
    /// The number of entries the checkpoint covers.
    public var size: UInt64
    /// The Merkle root at that size.
    public var root: AuditHash
    /// The note text (checkpoint body, blank line, signature lines).
    public var note: String
    /// When it was made.
    public var time: AuditTime

    /// Creates a stored checkpoint.
    public init(size: UInt64, root: AuditHash, note: String, time: AuditTime) {
        self.size = size
        self.root = root
        self.note = note
        self.time = time
    }
}

/// What a store holds, read at open.
public struct StoreSnapshot: Sendable {
    /// Every state row, in key order.
    public var rows: [StateRow]
    /// The number of audit entries (the next entry's `seq`).
    public var auditSize: UInt64
    /// The hash of the last entry (zeros for an empty log).
    public var lastHash: AuditHash
    /// The store's version (the number of commits it counts) for a store with a tenure; 0 otherwise.
    public var version: UInt64

    /// Creates a snapshot.
    public init(rows: [StateRow], auditSize: UInt64, lastHash: AuditHash, version: UInt64 = 0) {
        self.rows = rows
        self.auditSize = auditSize
        self.lastHash = lastHash
        self.version = version
    }
}

/// Why a store operation failed.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of failure callers tell apart.
    public enum Kind: String, Sendable, Hashable {
        /// The store cannot be opened or reached (missing directory, refused connection).
        case unavailable
        /// The store was written by a newer version of Ringfence.
        case newerSchema
        /// The store is not a Ringfence store, or its schema is damaged.
        case foreignSchema
        /// A batch's audit entries do not continue the stored log (wrong seq or prev).
        case auditConflict
        /// Any other failure of the underlying database.
        case database
        /// The URL names no known kind of store.
        case badURL
    }

    /// What kind of failure.
    public var kind: Kind
    /// One lowercase line for people.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

// MARK: Sharing a store live (SPEC §15)

/// The tenure of a store several runtimes share live (SPEC §15): one runtime at a time holds
/// it, sees every change committed before it took it, and commits only while it holds it, so
/// the operations of every runtime on the store are serialisable and the audit log stays one
/// chain. A store that is not shared has no tenure (`StateStore.tenure` is nil).
public protocol StoreTenure: AnyObject, Sendable {
    /// Waits for the tenure (held by at most one runtime, in this process or any other), takes
    /// it, and returns every state change committed since the store's version `version` — by
    /// any runtime — with the audit log's head and the store's clock. Throws, holding nothing,
    /// when the store cannot be reached.
    func acquire(since version: UInt64) throws(StoreError) -> StoreChanges

    /// Gives the tenure up; returns the store's version, which then counts every commit the
    /// holder made. Throws when the store cannot be reached (the tenure is given up all the same:
    /// a lost connection releases it).
    func release() throws(StoreError) -> UInt64
}

extension StateStore {
    /// No tenure: a store one runtime owns.
    public var tenure: StoreTenure? { nil }
}

/// What changed in a shared store since a version, read when a runtime takes the tenure.
public struct StoreChanges: Sendable {
    /// The store's version now: the number of commits ever made to it.
    public var version: UInt64
    /// Rows written since the version asked for, with their newest value, in key order.
    public var rows: [StateRow]
    /// Rows deleted since the version asked for (and not written again), in key order.
    public var deletes: [StateKey]
    /// The number of audit entries (the next entry's `seq`).
    public var auditSize: UInt64
    /// The hash of the last entry (zeros for an empty log).
    public var lastHash: AuditHash
    /// The newest checkpoint, if any.
    public var lastCheckpoint: StoredCheckpoint?
    /// The store's clock (µs since 1970): the database's, so every runtime on it reads one time.
    public var clock: Int64

    /// Creates changes.
    public init(version: UInt64, rows: [StateRow], deletes: [StateKey], auditSize: UInt64, lastHash: AuditHash,
                lastCheckpoint: StoredCheckpoint?, clock: Int64) {
        self.version = version
        self.rows = rows
        self.deletes = deletes
        self.auditSize = auditSize
        self.lastHash = lastHash
        self.lastCheckpoint = lastCheckpoint
        self.clock = clock
    }
}
