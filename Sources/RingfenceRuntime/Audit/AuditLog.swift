import RingfenceAudit
import RingfenceBytecode
import RingfenceVM
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The runtime's audit log (SPEC §9): records are appended by any thread; one writer thread
// sequences them — canonical data, data hash, envelope, entry hash, `prev` link, Merkle leaf and
// the perfect-subtree nodes it completes, checkpoints when due — and commits each batch to the
// store in one transaction, together with the state changes queued beside the records.
//
//   appenders ──▶ pending queue ──▶ writer: sequence + hash + nodes ──▶ store.commit(batch)
//                                                         ▲ retried on failure; re-read on conflict
//
// Durability (SPEC §9.4): `strict` appenders wait until the batch holding their records is
// committed with an fsync — many appenders share one commit; `group` appenders return at once
// and the writer commits (with an fsync) as soon as it can, well within 10 ms of the record
// being queued while the disk keeps up; `relaxed` commits without waiting for the disk. Records
// stay raw until their batch commits: if the store refuses a batch because another process
// appended first (`auditConflict`), the writer re-reads the head and sequences them again, so a
// chain is never forked and `seq` never has a gap. Hashing happens on the writer thread, so an
// appender pays only for queueing its record.

/// One thing to record: what happened, to whom, and its data (SPEC §9.1).
public struct AuditRecord: Sendable {
    /// The entry's kind (`decision`, `session.created`, `delta`, …).
    public var kind: String
    /// The session, when the entry belongs to one.
    public var session: String?
    /// The agent, when the entry concerns one.
    public var agent: String?
    /// When it happened.
    public var time: AuditTime
    /// The data, built on the writer thread (so an appender pays nothing for it).
    public var data: @Sendable () -> Value

    /// Creates a record whose data is computed when it is sequenced.
    public init(kind: String, session: String? = nil, agent: String? = nil, time: AuditTime, data: @escaping @Sendable () -> Value) {
        self.kind = kind
        self.session = session
        self.agent = agent
        self.time = time
        self.data = data
    }

    /// Creates a record with data already built.
    public init(kind: String, session: String? = nil, agent: String? = nil, time: AuditTime, value: Value) {
        self.init(kind: kind, session: session, agent: agent, time: time) { value }
    }
}

/// Where a record landed.
public struct AuditReceipt: Sendable, Hashable {
    /// The entry's sequence number.
    public var seq: UInt64
    /// Its entry hash.
    public var hash: AuditHash
}

/// The audit log's settings (the `audit` section of the runtime file, SPEC §7).
public struct AuditSettings: Sendable {
    /// How soon appends are durable.
    public var durability: Durability
    /// A checkpoint every this many entries…
    public var checkpointEvery: UInt64
    /// …or after this long (microseconds) with new entries, whichever comes first.
    public var checkpointInterval: Int64
    /// The checkpoint's origin line.
    public var origin: String
    /// The key checkpoints are signed with; nil for unsigned checkpoints.
    public var signingKey: NoteSigningKey?

    /// The settings of SPEC §7's defaults, with an optional signing key.
    public init(durability: Durability = .group, checkpointEvery: UInt64 = 1000, checkpointInterval: Int64 = 10_000_000,
                origin: String = "ringfence.local/audit", signingKey: NoteSigningKey? = nil) {
        self.durability = durability
        self.checkpointEvery = max(1, checkpointEvery)
        self.checkpointInterval = max(1, checkpointInterval)
        self.origin = origin
        self.signingKey = signingKey
    }
}

/// Why an append failed.
public struct AuditLogError: Error, Sendable, CustomStringConvertible {
    /// One lowercase line.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// The audit log over a store: append from any thread, one writer sequences and commits.
public final class AuditLog: @unchecked Sendable {
    // Safety: every mutable field is guarded by `lock` (the writer thread's own state lives in `Sequencer`).
    /// The store entries go to.
    public let store: StateStore
    /// The settings in force.
    public let settings: AuditSettings
    private let clock: @Sendable () -> AuditTime

    private let lock = Monitor<Shared>(Shared())
    private var writer: pthread_t?

    /// State shared between appenders and the writer.
    private struct Shared {
        /// Records waiting, with the state changes to commit beside them.
        var pending: [(record: AuditRecord, rows: [StateRow], deletes: [StateKey])] = []
        /// Tickets handed out (one per record ever queued) and committed so far.
        var queued: UInt64 = 0
        var committed: UInt64 = 0
        /// Receipts of committed records, by ticket, for strict appenders (removed when read).
        var receipts: [UInt64: AuditReceipt] = [:]
        /// Tickets whose receipts were asked for under `group` or `relaxed` (`enqueue(…, receipts: true)`).
        var receiptsWanted: Set<UInt64> = []
        /// The size of the committed log.
        var size: UInt64 = 0
        /// Set when the writer has given up on a batch (the store keeps failing): appends fail.
        var failure: String?
        /// True once `close` was called.
        var closing = false
        /// True while a checkpoint was requested on demand.
        var checkpointRequested = false
    }

    /// Opens the log on `store`, reading its head; `clock` stamps checkpoints.
    public init(store: StateStore, settings: AuditSettings, clock: @escaping @Sendable () -> AuditTime) throws(StoreError) {
        self.store = store
        self.settings = settings
        self.clock = clock
        let snapshot = try store.load()
        lock.withLock { $0.size = snapshot.auditSize }
        let sequencer = try Sequencer(store: store, size: snapshot.auditSize, lastHash: snapshot.lastHash, settings: settings)
        startWriter(sequencer)
    }

    deinit {
        close()
    }

    /// The number of committed entries.
    public var size: UInt64 { lock.withLock { $0.size } }

    /// Records queued and not yet committed (the server's `ringfence_audit_queue_depth`).
    public var queueDepth: UInt64 { lock.withLock { $0.queued - $0.committed } }

    /// Why appends fail, once the writer gave up on the store; nil while the log works.
    public var failure: String? { lock.withLock { $0.failure } }

    /// Queues `record` (and state changes to commit with it). Under `strict` returns once it is
    /// durable, with its receipt; otherwise returns nil at once.
    @discardableResult
    public func append(_ record: AuditRecord, rows: [StateRow] = [], deletes: [StateKey] = []) throws(AuditLogError) -> AuditReceipt? {
        try append([record], rows: rows, deletes: deletes).first
    }

    /// Queues `records` in order, with state changes committed in the same transaction.
    /// Under `strict`, waits until they are durable and returns their receipts.
    @discardableResult
    public func append(_ records: [AuditRecord], rows: [StateRow] = [], deletes: [StateKey] = []) throws(AuditLogError) -> [AuditReceipt] {
        let ticket = try enqueue(records, rows: rows, deletes: deletes)
        guard settings.durability == .strict else { return [] }
        return try wait(ticket)
    }

    /// Records queued together: `wait` on it for their commit.
    public struct Ticket: Sendable {
        /// The queue positions of the records (or of the state-only item).
        let range: Range<UInt64>
    }

    /// Queues `records` (and state changes committed in the same transaction) without waiting:
    /// a caller that holds its own lock enqueues under it, so the log's order is its order, and
    /// waits after releasing it. With `receipts`, `wait` returns the records' receipts under any
    /// durability (under `strict` it always does).
    public func enqueue(_ records: [AuditRecord], rows: [StateRow] = [], deletes: [StateKey] = [],
                        receipts: Bool = false) throws(AuditLogError) -> Ticket {
        let range = try lock.withLock { (s: inout Shared) throws(AuditLogError) -> Range<UInt64> in
            if let failure = s.failure { throw AuditLogError(message: failure) }
            guard !s.closing else { throw AuditLogError(message: "the audit log is closed") }
            let start = s.queued
            if records.isEmpty {
                if rows.isEmpty && deletes.isEmpty { return start..<start }
                // State changes alone ride on an item without a record: keep them in order.
                s.pending.append((AuditRecord(kind: "", time: .earliest, value: .null), rows, deletes))
                s.queued += 1
                return start..<s.queued
            }
            for (i, record) in records.enumerated() {
                s.pending.append((record, i == 0 ? rows : [], i == 0 ? deletes : []))
            }
            s.queued += UInt64(records.count)
            if receipts { s.receiptsWanted.formUnion(start..<s.queued) }
            return start..<s.queued
        }
        lock.broadcast()
        return Ticket(range: range)
    }

    /// Waits until the ticket's records are committed (durably under `strict` and `group`);
    /// returns their receipts under `strict` or when they were asked for (empty otherwise).
    @discardableResult
    public func wait(_ ticket: Ticket) throws(AuditLogError) -> [AuditReceipt] {
        try waitFor(ticket.range)
    }

    /// Signs a checkpoint of the whole log now (after everything queued so far) and returns it.
    public func checkpoint() throws(AuditLogError) -> StoredCheckpoint {
        let ticket: UInt64 = try lock.withLock { (s: inout Shared) throws(AuditLogError) -> UInt64 in
            if let failure = s.failure { throw AuditLogError(message: failure) }
            s.checkpointRequested = true
            return s.queued
        }
        lock.broadcast()
        _ = try waitFor(ticket..<ticket, requireCheckpoint: true)
        do {
            guard let last = try store.checkpoints().last else { throw AuditLogError(message: "no checkpoint was written") }
            return last
        } catch let error as AuditLogError {
            throw error
        } catch {
            throw AuditLogError(message: "cannot read the checkpoint back: \(error)")
        }
    }

    /// The kind of the entry that records a purge (its data: `{"before": N}`).
    public static let purgeKind = "audit.purged"

    /// Purges the stored data of entries below `seq` for retention (SPEC §9.1): first appends
    /// (durably) an `audit.purged` entry saying so, then drops the data rows. Envelopes stay, so
    /// the log still verifies, and `verify` tells a purged row from a deleted one: only rows below
    /// a recorded purge may be missing. Returns how many data rows were dropped.
    public func purge(before seq: UInt64, time: AuditTime) throws(AuditLogError) -> Int {
        try flush()
        guard seq <= size else { throw AuditLogError(message: "the log holds \(size) entries; data can be purged only below that") }
        let ticket = try enqueue([AuditRecord(kind: Self.purgeKind, time: time, value: .object(["before": .number(Double(seq))]))])
        try wait(ticket)
        do {
            return try store.purgeAuditData(before: seq)
        } catch {
            throw AuditLogError(message: "the data cannot be purged: \(error.message)")
        }
    }

    /// Waits until every record queued so far is committed (for `group` and `relaxed` callers
    /// that need a barrier, and before closing).
    public func flush() throws(AuditLogError) {
        let ticket = lock.withLock { $0.queued }
        _ = try waitFor(ticket..<ticket)
    }

    /// Commits what is queued and stops the writer.
    public func close() {
        let running = lock.withLock { (s: inout Shared) -> Bool in
            let was = !s.closing
            s.closing = true
            return was
        }
        guard running, let writer else { return }
        lock.broadcast()
        pthread_join(writer, nil)
        self.writer = nil
    }

    // MARK: Waiting

    private func waitFor(_ tickets: Range<UInt64>, requireCheckpoint: Bool = false) throws(AuditLogError) -> [AuditReceipt] {
        try lock.withLock(waitingUntil: { s in
            s.failure != nil || (s.committed >= tickets.upperBound && !(requireCheckpoint && s.checkpointRequested))
        }) { (s: inout Shared) throws(AuditLogError) -> [AuditReceipt] in
            if let failure = s.failure { throw AuditLogError(message: failure) }
            var receipts: [AuditReceipt] = []
            for ticket in tickets {
                if let receipt = s.receipts.removeValue(forKey: ticket) { receipts.append(receipt) }
            }
            return receipts
        }
    }

    // MARK: The writer

    /// Starts the writer thread.
    private func startWriter(_ sequencer: Sequencer) {
        final class Box { let log: AuditLog; var sequencer: Sequencer; init(_ l: AuditLog, _ s: Sequencer) { log = l; sequencer = s } }
        let box = Unmanaged.passRetained(Box(self, sequencer)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.log.runWriter(&box.sequencer)
            return nil
        }, box)
        precondition(status == 0, "cannot start the audit writer thread")
        writer = thread
    }

    /// The writer loop: take everything pending, sequence it, commit it, wake waiters.
    private func runWriter(_ sequencer: inout Sequencer) {
        let strict = settings.durability == .strict
        while true {
            let (work, firstTicket, wantCheckpoint, closing) = lock.withLock(waitingUntil: { s in
                !s.pending.isEmpty || s.closing || s.checkpointRequested
            }) { (s: inout Shared) in
                let work = s.pending
                s.pending.removeAll(keepingCapacity: true)
                return (work, s.committed, s.checkpointRequested, s.closing)
            }
            if work.isEmpty && !wantCheckpoint && closing { return }
            var attempt = 0
            while true {
                do {
                    let receipts = try sequencer.commit(work, now: clock(), forceCheckpoint: wantCheckpoint,
                                                        durability: settings.durability, signingKey: settings.signingKey)
                    lock.withLock { (s: inout Shared) in
                        s.committed = firstTicket + UInt64(work.count)
                        s.size = sequencer.size
                        if wantCheckpoint { s.checkpointRequested = false }
                        if strict || !s.receiptsWanted.isEmpty {
                            for (i, receipt) in receipts.enumerated() {
                                let ticket = firstTicket + UInt64(i)
                                if let receipt, strict || s.receiptsWanted.remove(ticket) != nil { s.receipts[ticket] = receipt }
                            }
                        }
                    }
                    lock.broadcast()
                    break
                } catch {
                    if error.kind == .auditConflict, (try? sequencer.reload()) != nil {
                        // Another writer appended first: re-read the head and sequence again. Each
                        // conflict means the log grew, so this always makes progress.
                        continue
                    }
                    attempt += 1
                    if attempt >= 8 {
                        lock.withLock { $0.failure = "the audit log cannot be written: \(error.message)" }
                        lock.broadcast()
                        return
                    }
                    usleep(useconds_t(1000 << min(attempt, 6)))
                }
            }
            if closing && lock.withLock({ $0.pending.isEmpty }) { return }
        }
    }
}

/// The writer thread's own state: the chain head and the Merkle frontier.
struct Sequencer {
    let store: StateStore
    private(set) var size: UInt64
    private(set) var lastHash: AuditHash
    private var frontier: MerkleFrontier
    private var lastCheckpointSize: UInt64
    private var lastCheckpointTime: AuditTime
    let settings: AuditSettings

    init(store: StateStore, size: UInt64, lastHash: AuditHash, settings: AuditSettings) throws(StoreError) {
        self.store = store
        self.size = size
        self.lastHash = lastHash
        self.settings = settings
        do {
            frontier = try MerkleFrontier(size: size, source: StoreNodeSource(store: store))
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.foreignSchema, "the audit log's merkle nodes are incomplete: \(error)")
        }
        // Another process may have appended (and checkpointed) since `size` was read: only a
        // checkpoint within the head this writer knows counts.
        let last = try store.checkpoints().last { $0.size <= size }
        lastCheckpointSize = last?.size ?? 0
        lastCheckpointTime = last?.time ?? .earliest
    }

    /// Re-reads the head after another writer appended.
    mutating func reload() throws(StoreError) {
        let snapshot = try store.load()
        self = try Sequencer(store: store, size: snapshot.auditSize, lastHash: snapshot.lastHash, settings: settings)
    }

    /// Sequences `work` after the current head and commits it with its state changes; returns
    /// one receipt per item (nil for state-only items). Leaves the head unchanged on failure.
    mutating func commit(_ work: [(record: AuditRecord, rows: [StateRow], deletes: [StateKey])], now: AuditTime,
                         forceCheckpoint: Bool, durability: Durability, signingKey: NoteSigningKey?) throws(StoreError) -> [AuditReceipt?] {
        var batch = StoreBatch()
        var receipts: [AuditReceipt?] = []
        receipts.reserveCapacity(work.count)
        var head = (size: size, lastHash: lastHash, frontier: frontier)
        for item in work {
            batch.puts += item.rows
            batch.deletes += item.deletes
            guard !item.record.kind.isEmpty else {
                receipts.append(nil)
                continue
            }
            let value = item.record.data()
            let data: [UInt8]
            let entry: AuditEntry
            do {
                data = try CanonicalJSON.encode(value)
                entry = try AuditEntry(seq: head.size, time: item.record.time, kind: item.record.kind, session: item.record.session,
                                       agent: item.record.agent, dataHash: AuditHash.sha256(data), prev: head.lastHash)
            } catch {
                throw StoreError(.database, "an audit record cannot be encoded: \(error)")
            }
            let hash = entry.hash
            batch.entries.append(StoredAuditEntry(entry: entry, hash: hash, data: data))
            head.frontier.append(MerkleHash.leaf(entryHash: hash)) { batch.nodes.append($0) }
            head.size += 1
            head.lastHash = hash
            receipts.append(AuditReceipt(seq: entry.seq, hash: hash))
            // Every `checkpointEvery` entries exactly, wherever the batch ends.
            if head.size - (batch.checkpoints.last?.size ?? lastCheckpointSize) >= settings.checkpointEvery {
                batch.checkpoints.append(try Self.checkpoint(size: head.size, root: head.frontier.root, origin: settings.origin,
                                                             key: signingKey, time: now))
            }
        }
        // Or after `checkpointInterval` with new entries (measured from the last checkpoint, or
        // from when this writer started), or on demand.
        if lastCheckpointTime == .earliest { lastCheckpointTime = now }
        let covered = batch.checkpoints.last?.size ?? lastCheckpointSize
        let stale = head.size > covered && now.microseconds - lastCheckpointTime.microseconds >= settings.checkpointInterval
        if stale || (forceCheckpoint && (head.size > covered || covered == 0)) {
            batch.checkpoints.append(try Self.checkpoint(size: head.size, root: head.frontier.root, origin: settings.origin,
                                                         key: signingKey, time: now))
        }
        if batch.isEmpty { return receipts }
        try store.commit(batch, durability: durability)
        (size, lastHash, frontier) = head
        if let made = batch.checkpoints.last {
            lastCheckpointSize = made.size
            lastCheckpointTime = made.time
        }
        return receipts
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

/// Merkle nodes read from a store, one at a time.
struct StoreNodeSource: MerkleNodeSource {
    let store: StateStore

    /// The stored hash of `id`; throws when the store lacks it.
    func node(_ id: MerkleNodeID) throws -> AuditHash {
        guard let hash = try store.auditNodes([id])[id] else {
            throw StoreError(.foreignSchema, "merkle node \(id) is missing from the store")
        }
        return hash
    }
}

/// State behind a pthread mutex with one condition variable: `withLock` runs a body holding the
/// mutex, `withLock(waitingUntil:)` first sleeps until a condition on the state holds, woken by
/// another thread's `broadcast`.
final class Monitor<State: ~Copyable>: @unchecked Sendable {
    // Safety: `state` is only touched while `mutex` is held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    /// Guards `state`.
    init(_ state: consuming State) {
        self.state = state
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body` with the state, holding the mutex.
    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Holding the mutex, sleeps (releasing it) until `ready` holds, then runs `body` with the
    /// state. `ready` reads the state afresh after every wake-up: a loop around a wait inside
    /// `withLock`'s body would not, since the body's `inout` access lets the optimiser keep the
    /// state it read before the wait (a release build then sleeps forever).
    func withLock<R, E: Error>(waitingUntil ready: (borrowing State) -> Bool, _ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return try body(&state)
    }

    /// Wakes every thread sleeping in `wait`.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// Clocks for audit times.
public enum AuditClock {
    /// The system clock (CLOCK_REALTIME), in microseconds.
    public static let system: @Sendable () -> AuditTime = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let micros = Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
        return (try? AuditTime(microseconds: micros)) ?? .earliest
    }
}
