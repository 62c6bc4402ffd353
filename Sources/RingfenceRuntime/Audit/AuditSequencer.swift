import RingfenceAudit
import RingfenceBytecode
import RingfenceVM

// Sequencing (SPEC §9.1): whoever holds the log's sequencer — the writer thread, or a caller
// waiting for its records — turns raw records into entries after the chain head it knows
// (canonical data, data hash, envelope, entry hash, `prev` link, Merkle leaf and the
// perfect-subtree nodes it completes, checkpoints when due) and commits them to the store in one
// transaction with the state changes queued beside them. The head moves only once the store has
// accepted the batch, so a refused batch is sequenced again from the same records.

/// One queued item: a record (nil for state changes queued alone) and the state changes that
/// commit with it.
struct PendingItem: Sendable {
    /// The record, or nil when the item carries state changes only.
    var record: AuditRecord?
    /// Rows written with it.
    var rows: [StateRow]
    /// Rows deleted with it.
    var deletes: [StateKey]

    /// True when the item holds many allocations its appender made: state rows, or a record
    /// whose data is a value tree.
    var holdsAppenderState: Bool { !rows.isEmpty || record?.holdsValueTree == true }

    /// The data in canonical form and its hash (nil for an item without a record). `mutating`
    /// only so that it is reached in place, never to change the item.
    mutating func encoded() -> Sequencer.EncodedData? {
        record?.encodedResult()
    }

    /// The envelope of the item's entry (an item that was encoded has a record); `mutating`
    /// for the same reason.
    mutating func entry(seq: UInt64, dataHash: AuditHash, prev: AuditHash) throws(AuditError) -> AuditEntry {
        guard let entry = try record?.entry(seq: seq, dataHash: dataHash, prev: prev) else {
            throw AuditError(.entry, "an item without a record has no entry")
        }
        return entry
    }
}

/// The sequencer's own state: the chain head and the Merkle frontier.
struct Sequencer: Sendable {
    /// The store batches go to.
    let store: StateStore
    /// The committed log's size.
    private(set) var size: UInt64
    /// The hash of the committed log's last entry.
    private(set) var lastHash: AuditHash
    /// The Merkle frontier of the committed log.
    private var frontier: MerkleFrontier
    /// The frontier a batch is sequenced on: a copy of `frontier` written into this one's
    /// buffer, swapped with it once the batch commits, so a batch allocates no frontier.
    private var nextFrontier = MerkleFrontier()
    /// The size the newest checkpoint covers.
    private var lastCheckpointSize: UInt64
    /// When the newest checkpoint was made (or this sequencer started).
    private var lastCheckpointTime: AuditTime
    /// Checkpoint cadence, origin and key.
    let settings: AuditSettings

    /// A sequencer after a log of `size` entries ending in `lastHash`, reading its frontier from
    /// `store` (in one read); `lastCheckpoint` is the newest checkpoint when the caller read it
    /// with the head, or nil to read it from the store.
    init(store: StateStore, size: UInt64, lastHash: AuditHash, settings: AuditSettings,
         lastCheckpoint: StoredCheckpoint?? = nil) throws(StoreError) {
        self.store = store
        self.size = size
        self.lastHash = lastHash
        self.settings = settings
        let ids = MerkleFrontier.perfectSubtrees(start: 0, end: size)
        let found = try AuditNodes.read(ids, from: store)
        var hashes: [AuditHash] = []
        hashes.reserveCapacity(ids.count)
        for id in ids {
            guard let hash = found[id] else { throw StoreError(.foreignSchema, "the audit log's merkle nodes are incomplete: node \(id) is missing") }
            hashes.append(hash)
        }
        do {
            frontier = try MerkleFrontier(size: size, hashes: hashes)
        } catch {
            throw StoreError(.foreignSchema, "the audit log's merkle nodes are incomplete: \(error)")
        }
        // Another process may have appended (and checkpointed) since `size` was read: only a
        // checkpoint within the head this sequencer knows counts.
        let last: StoredCheckpoint?
        if let given = lastCheckpoint, given.map({ $0.size <= size }) ?? true {
            last = given
        } else {
            last = try store.checkpoints().last { $0.size <= size }
        }
        lastCheckpointSize = last?.size ?? 0
        lastCheckpointTime = last?.time ?? .earliest
    }

    /// Re-reads the head after another writer appended.
    mutating func reload() throws(StoreError) {
        let snapshot = try store.load()
        self = try Sequencer(store: store, size: snapshot.auditSize, lastHash: snapshot.lastHash, settings: settings)
    }

    /// Sequences `work` after the current head and commits it with its state changes; returns,
    /// when `receipts` asks for them, one receipt per item (nil for state-only items), and
    /// nothing otherwise. Leaves the head unchanged on failure. `twoThreads` lets a long batch be
    /// encoded on two threads (`encode`); without it every item is encoded on this one.
    mutating func commit(_ work: inout [PendingItem], now: AuditTime, forceCheckpoint: Bool,
                         durability: Durability, signingKey: NoteSigningKey?, receipts wanted: Bool,
                         twoThreads: Bool) throws(StoreError) -> [AuditReceipt?] {
        var batch = StoreBatch()
        var receipts: [AuditReceipt?] = []
        if wanted { receipts.reserveCapacity(work.count) }
        batch.entries.reserveCapacity(work.count)
        // Sixteen entries complete one stored node on average (`AuditNodes`), and a run of
        // entries at most one a level besides; a short batch usually completes none, and
        // reserves nothing.
        if work.count >= Int(AuditNodes.blockLeaves) { batch.nodes.reserveCapacity(work.count / Int(AuditNodes.blockLeaves) + 64) }
        var head = (size: size, lastHash: lastHash)
        nextFrontier.assign(frontier)
        // A long batch has its data encoded up front on two threads when it may; otherwise each
        // item's is encoded as the loop reaches it.
        let encodedUpFront = twoThreads && work.count >= Self.parallelEncoding ? Self.encode(&work) : nil
        // The items are read in place: copying one retains each of its record's strings, its
        // rows and its data's closure, objects its appender made on another core.
        // (Reached through a mutable buffer, which the compiler lends in place: an item read from
        // memory it cannot prove unchanging is copied whole first.)
        try work.withUnsafeMutableBufferPointer { (items) throws(StoreError) in
            if items.count > 1 { batch.puts.reserveCapacity(items.indices.reduce(0) { $0 + items[$1].rows.count }) }
            for index in items.indices {
                batch.addStateChanges(puts: items[index].rows, deletes: items[index].deletes)
                // An item without a record carries state changes only.
                guard let encoded = encodedUpFront.map({ $0[index] }) ?? items[index].encoded() else {
                    if wanted { receipts.append(nil) }
                    continue
                }
                let data: [UInt8]
                let entry: AuditEntry
                do {
                    let dataHash: AuditHash
                    (data, dataHash) = try encoded.get()
                    entry = try items[index].entry(seq: head.size, dataHash: dataHash, prev: head.lastHash)
                } catch {
                    throw StoreError(.database, "an audit record cannot be encoded: \(error)")
                }
                let hash = entry.hash
                if wanted { receipts.append(AuditReceipt(seq: entry.seq, hash: hash)) }
                // The envelope and data are moved into the batch (a copy retains their strings and bytes).
                batch.entries.append(StoredAuditEntry(entry: consume entry, hash: hash, data: consume data))
                nextFrontier.append(MerkleHash.leaf(entryHash: hash)) { if AuditNodes.isStored($0.id) { batch.nodes.append($0) } }
                head.size += 1
                head.lastHash = hash
                // Every `checkpointEvery` entries exactly, wherever the batch ends.
                if head.size - (batch.checkpoints.last?.size ?? lastCheckpointSize) >= settings.checkpointEvery {
                    batch.checkpoints.append(try Self.checkpoint(size: head.size, root: nextFrontier.root, origin: settings.origin,
                                                                 key: signingKey, time: now))
                }
            }
        }
        // Or after `checkpointInterval` with new entries (measured from the last checkpoint, or
        // from when this sequencer started), or on demand.
        if lastCheckpointTime == .earliest { lastCheckpointTime = now }
        let covered = batch.checkpoints.last?.size ?? lastCheckpointSize
        let stale = head.size > covered && now.microseconds - lastCheckpointTime.microseconds >= settings.checkpointInterval
        if stale || (forceCheckpoint && (head.size > covered || covered == 0)) {
            batch.checkpoints.append(try Self.checkpoint(size: head.size, root: nextFrontier.root, origin: settings.origin,
                                                         key: signingKey, time: now))
        }
        if batch.isEmpty { return receipts }
        batch.dropOverwrittenPuts()
        try store.commit(batch, durability: durability)
        (size, lastHash) = head
        swap(&frontier, &nextFrontier)
        if let made = batch.checkpoints.last {
            lastCheckpointSize = made.size
            lastCheckpointTime = made.time
        }
        return receipts
    }

    /// A record's data in canonical form and its SHA-256, or why it cannot be written.
    typealias EncodedData = Result<AuditRecord.EncodedData, AuditError>

    /// Batches at least this long are encoded on two threads.
    static let parallelEncoding = 256

    /// Each item's data in canonical form and its hash (nil for an item without a record): what
    /// a batch costs the most to write, and the same whichever entry it becomes, so a batch with
    /// a long run of records whose data is still to be written (records made with a value come
    /// already written) is split in two and its first half encoded on a thread of its own.
    static func encode(_ work: inout [PendingItem]) -> [EncodedData?] {
        // Items are reached in place through a mutable buffer (see `commit`); the first half of
        // a long batch through a buffer lent to the thread, which ends before `work` is touched again.
        struct Lent: @unchecked Sendable { let items: UnsafeMutableBufferPointer<PendingItem> }
        @Sendable func encode(_ lent: Lent) -> [EncodedData?] {
            lent.items.indices.map { lent.items[$0].encoded() }
        }
        return work.withUnsafeMutableBufferPointer { items in
            guard items.count >= parallelEncoding, items.indices.count(where: { items[$0].record?.isDeferred ?? false }) >= parallelEncoding
            else { return encode(Lent(items: items)) }
            let half = items.count / 2
            let lent = Lent(items: UnsafeMutableBufferPointer(rebasing: items[..<half]))
            let first = ThreadTask { () throws(Never) in encode(lent) }
            let second = encode(Lent(items: UnsafeMutableBufferPointer(rebasing: items[half...])))
            return first.value() + second
        }
    }

    /// A checkpoint note over the first `size` entries, signed when `key` is given.
    static func checkpoint(size: UInt64, root: AuditHash, origin: String, key: NoteSigningKey?, time: AuditTime) throws(StoreError) -> StoredCheckpoint {
        do {
            let checkpoint = try Checkpoint(origin: origin, size: size, root: root)
            let note = try key.map { try checkpoint.sign(with: [$0]) } ?? checkpoint.unsignedNote
            return StoredCheckpoint(size: size, root: root, note: note.formatted, time: time)
        } catch {
            throw StoreError(.database, "cannot make a checkpoint: \(error)")
        }
    }
}

extension StoreBatch {
    /// Adds state changes made after those already in the batch, so that committing the batch
    /// (which writes every put, then applies every delete) leaves each row as the changes did one
    /// after the other: a put of a row deleted earlier in the batch cancels that delete.
    mutating func addStateChanges(puts newPuts: [StateRow], deletes newDeletes: [StateKey]) {
        if !newPuts.isEmpty {
            if !deletes.isEmpty {
                if newPuts.count == 1 {
                    let written = newPuts[0].key
                    deletes.removeAll { $0 == written }
                } else {
                    let written = Set(newPuts.map(\.key))
                    deletes.removeAll { written.contains($0) }
                }
            }
            // The first item's rows are taken as they are unless room was made for every item's.
            if puts.capacity == 0 { puts = newPuts } else { puts += newPuts }
        }
        if !newDeletes.isEmpty {
            if deletes.isEmpty { deletes = newDeletes } else { deletes += newDeletes }
        }
    }

    /// Drops every put that a later put of the same row in the batch overwrites: the batch is
    /// one transaction, so only the last is ever seen, and a row whose bytes are written when
    /// read (a session's row queued by each of `create`, `join` and `activate`; a saga step's
    /// `executing` then `committed`) is then never written at all. The puts kept stay in order.
    mutating func dropOverwrittenPuts() {
        let count = puts.count
        guard count > 1 else { return }
        if count <= 8 {
            // Few rows: compared pairwise, without hashing their keys; the overwritten ones
            // marked in a bit mask and the rest moved up in place.
            var overwritten: UInt8 = 0
            // Keys compared in place (a copied row retains its key's strings and its bytes).
            puts.withUnsafeBufferPointer { rows in
                for i in 0..<count - 1 where (i + 1..<count).contains(where: { rows[$0].key == rows[i].key }) { overwritten |= 1 << i }
            }
            guard overwritten != 0 else { return }
            var kept = 0
            for i in 0..<count where overwritten & (1 << i) == 0 {
                if kept != i { puts.swapAt(kept, i) }
                kept += 1
            }
            puts.removeLast(count - kept)
            return
        }
        var seen = Set<StateKey>(minimumCapacity: count)
        var overwritten = Array(repeating: false, count: count)
        var any = false
        for i in stride(from: count - 1, through: 0, by: -1) where !seen.insert(puts[i].key).inserted {
            overwritten[i] = true
            any = true
        }
        guard any else { return }
        var kept: [StateRow] = []
        kept.reserveCapacity(count)
        for i in 0..<count where !overwritten[i] { kept.append(puts[i]) }
        puts = kept
    }
}
