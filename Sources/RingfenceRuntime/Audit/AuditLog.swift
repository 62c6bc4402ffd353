import RingfenceAudit
import RingfenceBytecode
import RingfenceVM
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The runtime's audit log (SPEC §9): records are appended by any thread into one queue, and
// whoever holds the sequencer (`AuditSequencer.swift`) sequences and commits them — everything
// queued, in one store transaction, with the state changes queued beside the records.
//
//   appenders ──▶ pending queue ──▶ holder of the sequencer: sequence + hash + nodes ──▶ store.commit(batch)
//                                        ▲ a waiting caller, or the writer thread; re-read on conflict
//
// The sequencer is a token. A caller that waits for its records (a `strict` append, a flush, a
// checkpoint) and finds nobody sequencing takes the pending batch itself and commits it on its
// own thread, so waiting on an idle log costs no hand-off to another thread. Callers that arrive
// while a commit runs wait for it; the first of them to wake then takes everything queued
// meanwhile, so concurrent `strict` appenders share one commit (group commit). The writer thread
// is one more holder: it commits what nobody waits for.
//
// Waking the writer costs an appender no system call while the writer is awake. After work, the
// writer dozes in timed rounds of `linger` and takes whatever was queued at the end of each; only
// after `idleRounds` empty rounds does it go to sleep, and then the first appender wakes it (one
// signal per idle period). Woken so, it lingers one round before taking the batch, so a caller
// that waits soon after usually commits it itself. An appender also wakes a dozing writer once
// the queue holds `wakeThreshold` items.
//
// A committed batch is freed by the thread that committed it, except on the writer thread when
// the batch holds state rows or value trees: those were allocated by appenders, and freeing them
// on the writer made it wait on the appenders' allocator arena locks while they allocated. The
// writer leaves such a batch in `released`, and the next appender frees it (`freeCommitted`,
// which the runtime calls after releasing its own lock); the writer frees them itself when it goes
// idle, or when appenders have left eight.
//
// Durability (SPEC §9.4): `strict` appenders wait until the batch holding their records is
// committed with an fsync; `group` appenders return at once, and a record is committed (with an
// fsync) at most one `linger` round plus two commits after it was queued — it may just miss a
// batch, wait for that commit, then go in the next: 0.5 ms + 2 × 3.3 ms on this kind of disk,
// within SPEC's 10 ms while the disk keeps up; `relaxed` commits without waiting for the disk.
// Records stay raw until their batch commits: if the store refuses a batch because another
// process appended first (`auditConflict`), the holder re-reads the head and sequences them
// again, so a chain is never forked and `seq` never has a gap. A store that keeps failing fails
// the log: every later append throws.

/// The audit log over a store: append from any thread; a waiting caller or the writer thread
/// sequences and commits.
public final class AuditLog: @unchecked Sendable {
    // Safety: every mutable field lives in `shared` and is touched only while its mutex is held;
    // the sequencer is used only by the thread that took it out of `shared`; `writer` is written
    // by `init` and by the one `close` that stops the thread.
    /// The store entries go to.
    public let store: StateStore
    /// The settings in force.
    public let settings: AuditSettings
    /// Stamps checkpoints.
    private let clock: @Sendable () -> AuditTime
    /// The queue, the sequencer token and the writer's state, behind one mutex.
    private let shared = LogState()
    /// The writer's round (nanoseconds): how long it dozes between looks at the queue.
    private let linger: Int
    /// The writer thread.
    private var writer: pthread_t?

    /// How long the writer dozes between looks at the queue (nanoseconds).
    static let defaultLinger = 500_000
    /// Empty rounds after which the writer sleeps until an appender wakes it.
    static let idleRounds = 20
    /// Queued items at which an appender wakes a dozing writer.
    static let wakeThreshold = 4096

    /// Opens the log on `store`, reading its head; `clock` stamps checkpoints.
    public convenience init(store: StateStore, settings: AuditSettings, clock: @escaping @Sendable () -> AuditTime) throws(StoreError) {
        try self.init(store: store, settings: settings, clock: clock, linger: Self.defaultLinger)
    }

    /// Opens the log with the writer dozing `linger` nanoseconds a round.
    init(store: StateStore, settings: AuditSettings, clock: @escaping @Sendable () -> AuditTime, linger: Int) throws(StoreError) {
        self.store = store
        self.settings = settings
        self.clock = clock
        self.linger = max(1_000, linger)
        let snapshot = try store.load()
        let sequencer = try Sequencer(store: store, size: snapshot.auditSize, lastHash: snapshot.lastHash, settings: settings)
        shared.size = snapshot.auditSize
        shared.sequencer = sequencer
        startWriter()
    }

    deinit {
        close()
    }

    /// The number of committed entries.
    public var size: UInt64 { shared.read { $0.size } }

    /// Records queued and not yet committed (the server's `ringfence_audit_queue_depth`).
    public var queueDepth: UInt64 { shared.read { $0.queued - $0.committed } }

    /// Why appends fail, once the store kept refusing a batch; nil while the log works.
    public var failure: String? { shared.read { $0.failure } }

    /// Batches the writer committed and left for an appender to free.
    var releasedBatches: Int { shared.read { $0.released.count } }

    /// True while the writer thread sleeps until an appender wakes it.
    var writerIsAsleep: Bool { shared.read { $0.writerAsleep } }

    /// True while the writer thread dozes through one of its timed rounds.
    var writerIsDozing: Bool { shared.read { $0.writerDozing } }

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
        freeCommitted()
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
        // A record whose data was given and cannot be written is refused before anything is
        // queued; the log goes on.
        for record in records { try Self.refuse(record.encodingFailure) }
        return try queue(receipts: receipts && !records.isEmpty) { pending in
            guard !records.isEmpty else {
                guard !rows.isEmpty || !deletes.isEmpty else { return 0 }
                // State changes alone ride on an item without a record: keep them in order.
                pending.append(PendingItem(record: nil, rows: rows, deletes: deletes))
                return 1
            }
            for (i, record) in records.enumerated() {
                pending.append(PendingItem(record: record, rows: i == 0 ? rows : [], deletes: i == 0 ? deletes : []))
            }
            return records.count
        }
    }

    /// `enqueue(_:)` of one record without state changes, moved into the queue rather than
    /// copied out of a list: a decision's entry, queued by every decision in a session.
    public func enqueue(_ record: consuming AuditRecord) throws(AuditLogError) -> Ticket {
        try enqueue(record, then: [], rows: [])
    }

    /// `enqueue(_:rows:)` of `first`, then `second` when given, then `records`, without
    /// gathering them in one list first (a decision and the entries its caller's change adds);
    /// `rows` commit with `first`.
    func enqueue(_ first: consuming AuditRecord, _ second: consuming AuditRecord? = nil, then records: [AuditRecord],
                 rows: [StateRow], receipts: Bool = false) throws(AuditLogError) -> Ticket {
        try Self.refuse(first.encodingFailure)
        // Read in place (a record bound out of the optional is copied), and moved below.
        try Self.refuse(second?.encodingFailure)
        for record in records { try Self.refuse(record.encodingFailure) }
        var item: PendingItem? = PendingItem(record: consume first, rows: rows, deletes: [])
        var next: PendingItem? = second == nil ? nil : PendingItem(record: second.take(), rows: [], deletes: [])
        return try queue(receipts: receipts) { pending in
            pending.append(item.take()!)
            var added = 1
            if let next = next.take() {
                pending.append(next)
                added += 1
            }
            for record in records { pending.append(PendingItem(record: record, rows: [], deletes: [])) }
            return added + records.count
        }
    }

    /// Throws when a record's data was given and cannot be written (`problem` is its
    /// `encodingFailure`).
    private static func refuse(_ problem: AuditError?) throws(AuditLogError) {
        if let problem { throw AuditLogError(message: "an audit record cannot be written: \(problem.message)") }
    }

    /// Appends to the pending queue, under the log's lock, what `append` adds (returning how
    /// many items), unless the log has failed or is closing; wakes the writer when it should.
    private func queue(receipts: Bool, _ append: (inout [PendingItem]) -> Int) throws(AuditLogError) -> Ticket {
        shared.lock()
        if let failure = shared.failure {
            shared.unlock()
            throw AuditLogError(message: failure)
        }
        guard !shared.closing else {
            shared.unlock()
            throw AuditLogError(message: "the audit log is closed")
        }
        let start = shared.queued
        let added = append(&shared.pending)
        guard added > 0 else {
            shared.unlock()
            return Ticket(range: start..<start)
        }
        shared.queued += UInt64(added)
        if receipts { shared.receiptsWanted.formUnion(start..<shared.queued) }
        let range = start..<shared.queued
        let wake = shared.wakeWriterIfNeeded()
        shared.unlock()
        if wake { shared.signalWriter() }
        return Ticket(range: range)
    }

    /// Frees, on this thread, the batches the writer thread committed and left for an appender
    /// (`LogState.released`); a relaxed load when there are none. An appender that enqueues
    /// under its own lock calls this after releasing it.
    public func freeCommitted() {
        guard shared.hasReleased.load(ordering: .relaxed) else { return }
        shared.lock()
        let committed = shared.takeReleased()
        shared.unlock()
        dispose(committed)
    }

    /// Frees `batches` and offers the emptied buffer with the most room to the queue as its spare.
    private func dispose(_ batches: consuming [[PendingItem]]) {
        var buffer: [PendingItem] = []
        for var batch in batches {
            batch.removeAll(keepingCapacity: true)
            if batch.capacity <= 2 * AuditLog.wakeThreshold && batch.capacity > buffer.capacity { swap(&buffer, &batch) }
        }
        guard buffer.capacity > 0 else { return }
        shared.lock()
        if shared.spare.capacity < buffer.capacity { swap(&shared.spare, &buffer) }
        shared.unlock()
    }

    /// Waits until the ticket's records are committed (durably under `strict` and `group`);
    /// returns their receipts under `strict` or when they were asked for (empty otherwise).
    @discardableResult
    public func wait(_ ticket: Ticket) throws(AuditLogError) -> [AuditReceipt] {
        try waitFor(ticket.range)
    }

    /// `wait(_:)` for a ticket of one record: its receipt, or nil when none was made — without a
    /// list (an `audit.append` waits for its one entry's receipt).
    public func waitForReceipt(_ ticket: Ticket) throws(AuditLogError) -> AuditReceipt? {
        try waitFor(ticket.range, checkpoint: 0) { receipts in
            var first: AuditReceipt?
            for t in ticket.range {
                if let receipt = receipts.removeValue(forKey: t), first == nil { first = receipt }
            }
            return first
        } ?? nil
    }

    /// Signs a checkpoint of the whole log now (after everything queued so far) and returns it.
    public func checkpoint() throws(AuditLogError) -> StoredCheckpoint {
        shared.lock()
        if let failure = shared.failure {
            shared.unlock()
            throw AuditLogError(message: failure)
        }
        // The checkpoint goes at the end of the first batch that reaches everything queued now.
        shared.checkpointRequests += 1
        shared.checkpointTarget = shared.queued
        let request = shared.checkpointRequests
        let ticket = shared.queued
        shared.unlock()
        _ = try waitFor(ticket..<ticket, checkpoint: request)
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
        let ticket = shared.read { $0.queued }
        _ = try waitFor(ticket..<ticket)
    }

    /// Takes up the store's head after other runtimes appended to a shared store (SPEC §15): the
    /// next batch continues it. Called holding the store's tenure, with nothing queued.
    func follow(size: UInt64, lastHash: AuditHash, lastCheckpoint: StoredCheckpoint?) throws(StoreError) {
        shared.lock()
        while shared.sequencer == nil {
            shared.waiters += 1
            shared.waitForCommit()
            shared.waiters -= 1
        }
        var sequencer = shared.sequencer.take()!
        shared.unlock()
        var outcome: StoreError?
        if sequencer.size != size || sequencer.lastHash != lastHash {
            do {
                sequencer = try Sequencer(store: store, size: size, lastHash: lastHash, settings: settings, lastCheckpoint: .some(lastCheckpoint))
            } catch {
                outcome = error
            }
        }
        shared.lock()
        shared.sequencer = sequencer
        if outcome == nil { shared.size = size }
        shared.unlock()
        if let outcome { throw outcome }
    }

    /// Commits what is queued and stops the writer.
    public func close() {
        shared.lock()
        let running = !shared.closing
        shared.closing = true
        shared.writerAsleep = false
        shared.unlock()
        guard running, let writer else { return }
        shared.signalWriter()
        pthread_join(writer, nil)
        self.writer = nil
    }

    // MARK: Waiting and committing

    /// Waits until the records at `tickets` are committed and on-demand checkpoint `request`
    /// (0 for none) is written, committing the pending batch itself whenever nobody else is.
    private func waitFor(_ tickets: Range<UInt64>, checkpoint request: UInt64 = 0) throws(AuditLogError) -> [AuditReceipt] {
        try waitFor(tickets, checkpoint: request) { receipts in
            var taken: [AuditReceipt] = []
            taken.reserveCapacity(tickets.count)
            for ticket in tickets {
                if let receipt = receipts.removeValue(forKey: ticket) { taken.append(receipt) }
            }
            return taken
        } ?? []
    }

    /// The wait of `waitFor(_:checkpoint:)`; once the records are committed, `take` takes their
    /// receipts out of the kept ones (under the lock). Nil when none are kept for any record.
    private func waitFor<R>(_ tickets: Range<UInt64>, checkpoint request: UInt64,
                            take: (inout [UInt64: AuditReceipt]) -> R) throws(AuditLogError) -> R? {
        shared.lock()
        defer { shared.unlock() }
        while true {
            if let failure = shared.failure { throw AuditLogError(message: failure) }
            if shared.committed >= tickets.upperBound && shared.checkpointsDone >= request {
                guard !shared.receipts.isEmpty, !tickets.isEmpty else { return nil }
                return take(&shared.receipts)
            }
            if shared.sequencer != nil && shared.hasWork {
                commitPending()
                continue
            }
            shared.waiters += 1
            shared.waitForCommit()
            shared.waiters -= 1
        }
    }

    /// Takes the sequencer and everything queued, commits it without the lock, puts the
    /// sequencer back and publishes the outcome, waking waiters. Called, and returns, holding
    /// the lock; does nothing while another thread holds the sequencer. The writer thread leaves
    /// a committed batch that holds appenders' state rows or value trees to the next appender to
    /// free (`LogState.released`); it frees a batch of decisions (one small allocation each)
    /// itself, off the appenders' time, and a caller frees its own.
    private func commitPending(onWriter: Bool = false) {
        guard var sequencer = shared.sequencer.take() else { return }
        // The queue goes on in the spare buffer (kept from the last batch, with its capacity),
        // so appenders do not regrow it after every batch.
        var work: [PendingItem] = []
        swap(&work, &shared.pending)
        swap(&shared.pending, &shared.spare)
        let first = shared.committed
        let end = first + UInt64(work.count)
        // An on-demand checkpoint goes at the end of the batch that reaches everything queued
        // when it was asked for.
        let requests = shared.checkpointRequests
        let force = requests > shared.checkpointsDone && end >= shared.checkpointTarget
        // Only the writer adds to `released`, so this stays true until it relocks.
        let room = shared.released.count < 8
        // Receipts are made only when someone will read them: under `strict`, or when a record
        // of this batch asked (it did so when it was queued, before the batch was taken).
        let receipts = settings.durability == .strict || !shared.receiptsWanted.isEmpty
        let twoThreads = Self.encodesOnTwoThreads(onWriter: onWriter, waiters: shared.waiters)
        shared.unlock()
        let outcome = commit(&work, with: &sequencer, forceCheckpoint: force, receipts: receipts, twoThreads: twoThreads)
        // Left for appenders unless they have not come for the last few (then freed here).
        let handOff = onWriter && room && work.contains { $0.holdsAppenderState }
        if !handOff {
            // A buffer grown by an exceptional backlog is not kept.
            if work.capacity <= 2 * AuditLog.wakeThreshold { work.removeAll(keepingCapacity: true) } else { work = [] }
        }
        shared.lock()
        shared.sequencer = sequencer
        if handOff {
            shared.release(work)
        } else {
            shared.spare = work
        }
        switch outcome {
        case .success(let receipts):
            shared.committed = end
            shared.size = sequencer.size
            if force { shared.checkpointsDone = requests }
            let strict = settings.durability == .strict
            if strict || !shared.receiptsWanted.isEmpty {
                for (i, receipt) in receipts.enumerated() {
                    let ticket = first + UInt64(i)
                    if let receipt, strict || shared.receiptsWanted.remove(ticket) != nil { shared.receipts[ticket] = receipt }
                }
            }
        case .failure(let error):
            shared.failure = error.message
        }
        if shared.waiters > 0 { shared.broadcastCommitted() }
    }

    /// Whether a long batch is encoded on two threads (`Sequencer.encode`): only when a caller
    /// waits for it — the caller committing it itself, or callers asleep until the writer has.
    /// A writer catching up while every appender goes on appending would take the second
    /// thread's core from them: on a machine with two cores, the appenders' own.
    static func encodesOnTwoThreads(onWriter: Bool, waiters: Int) -> Bool { !onWriter || waiters > 0 }

    /// Sequences and commits `work`, retrying a failing store and re-sequencing after a
    /// conflict; a store that fails 8 times in a row fails the log.
    private func commit(_ work: inout [PendingItem], with sequencer: inout Sequencer, forceCheckpoint: Bool,
                        receipts: Bool, twoThreads: Bool) -> Result<[AuditReceipt?], AuditLogError> {
        var attempt = 0
        while true {
            do {
                return .success(try sequencer.commit(&work, now: clock(), forceCheckpoint: forceCheckpoint,
                                                     durability: settings.durability, signingKey: settings.signingKey,
                                                     receipts: receipts, twoThreads: twoThreads))
            } catch {
                if error.kind == .auditConflict, (try? sequencer.reload()) != nil {
                    // Another writer appended first: re-read the head and sequence again. Each
                    // conflict means the log grew, so this always makes progress.
                    continue
                }
                attempt += 1
                if attempt >= 8 { return .failure(AuditLogError(message: "the audit log cannot be written: \(error.message)")) }
                usleep(useconds_t(1000 << min(attempt, 6)))
            }
        }
    }

    // MARK: The writer

    /// Starts the writer thread.
    private func startWriter() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let log = Unmanaged<AuditLog>.fromOpaque(raw!).takeRetainedValue()
            log.runWriter()
            return nil
        }, box)
        precondition(status == 0, "cannot start the audit writer thread")
        writer = thread
    }

    /// The writer loop: commit what is queued once it has waited a round (at once after a
    /// commit, or when the queue is long), doze between rounds, sleep when idle; on close,
    /// commit everything and stop.
    private func runWriter() {
        shared.lock()
        defer { shared.unlock() }
        var due = false
        var idle = 0
        while shared.failure == nil {
            if shared.hasWork {
                idle = 0
                if shared.sequencer != nil && (due || shared.closing) {
                    commitPending(onWriter: true)
                    // What was queued while that commit ran has waited long enough.
                    due = true
                    continue
                }
            } else {
                due = false
                if shared.closing { return }
                if idle >= Self.idleRounds {
                    // Idle: free what no appender came to take, rather than hold it while asleep.
                    if !shared.released.isEmpty {
                        let committed = shared.takeReleased()
                        shared.unlock()
                        dispose(committed)
                        shared.lock()
                        continue
                    }
                    shared.writerAsleep = true
                    while shared.writerAsleep { shared.waitForWriterWake() }
                    idle = 0
                    continue
                }
                idle += 1
            }
            shared.writerDozing = true
            let timedOut = shared.waitForWriterWake(nanoseconds: linger)
            shared.writerDozing = false
            if shared.queueFull {
                shared.queueFull = false
                due = true
            } else if timedOut {
                due = true
            }
        }
    }
}

/// The state appenders, waiting callers and the writer share, behind one mutex, with a
/// condition for commits (waiting callers sleep on it) and one for the writer.
private final class LogState: @unchecked Sendable {
    // Safety: every `var` is touched only while `mutex` is held; the primitives live at fixed
    // addresses. The fields an append touches are `@exclusivity(unchecked)`: the mutex already
    // keeps accesses apart, so Swift's dynamic checks (a thread-local access set entered and left
    // each time) only cost an append.
    /// The mutex.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled after every commit that has waiters.
    private let committedCondition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled to wake the writer (on the monotonic clock, for its timed rounds).
    private let writerCondition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// Items waiting to be sequenced, oldest first.
    @exclusivity(unchecked) var pending: [PendingItem] = []
    /// An empty buffer with the capacity of an earlier batch, which `pending` moves to when a batch is taken.
    var spare: [PendingItem] = []
    /// Batches the writer thread committed, for the next appender to free on its own thread:
    /// their records and rows were allocated by appenders, and freeing them on the writer
    /// contends for the appenders' allocator arenas (the writer sleeping on an arena's lock
    /// while an appender allocates). The writer frees them itself when it goes idle.
    private(set) var released: [[PendingItem]] = []
    /// True when `released` holds batches: a hint appenders read without the mutex.
    let hasReleased = Atomic<Bool>(false)
    /// Tickets handed out (one per item ever queued).
    @exclusivity(unchecked) var queued: UInt64 = 0
    /// Tickets committed so far.
    var committed: UInt64 = 0
    /// The sequencer, nil while a thread holds it (sequencing and committing).
    var sequencer: Sequencer?
    /// Receipts of committed records, by ticket, for strict appenders (removed when read).
    var receipts: [UInt64: AuditReceipt] = [:]
    /// Tickets whose receipts were asked for under `group` or `relaxed` (`enqueue(…, receipts: true)`).
    @exclusivity(unchecked) var receiptsWanted: Set<UInt64> = []
    /// The size of the committed log.
    var size: UInt64 = 0
    /// Set when a batch could not be committed (the store keeps failing): appends fail.
    @exclusivity(unchecked) var failure: String?
    /// True once `close` was called.
    @exclusivity(unchecked) var closing = false
    /// On-demand checkpoints asked for, and written, so far.
    var checkpointRequests: UInt64 = 0
    var checkpointsDone: UInt64 = 0
    /// The queue position the newest on-demand checkpoint must cover (`queued` when asked).
    var checkpointTarget: UInt64 = 0
    /// Callers sleeping on the commit condition.
    var waiters = 0
    /// True while the writer sleeps until woken.
    @exclusivity(unchecked) var writerAsleep = false
    /// True while the writer dozes through a timed round.
    @exclusivity(unchecked) var writerDozing = false
    /// True once an appender has woken a dozing writer because the queue is long.
    @exclusivity(unchecked) var queueFull = false

    /// The mutex and conditions, initialised.
    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(committedCondition, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(writerCondition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(writerCondition)
        pthread_cond_destroy(committedCondition)
        pthread_mutex_destroy(mutex)
        writerCondition.deallocate()
        committedCondition.deallocate()
        mutex.deallocate()
    }

    /// True when there is something to commit: queued items or an on-demand checkpoint.
    var hasWork: Bool { !pending.isEmpty || checkpointRequests > checkpointsDone }

    /// Locks the mutex.
    func lock() { pthread_mutex_lock(mutex) }

    /// Unlocks the mutex.
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Reads the state under the mutex.
    func read<R>(_ body: (LogState) -> R) -> R {
        lock()
        defer { unlock() }
        return body(self)
    }

    /// Holding the mutex: leaves a committed batch for an appender to free.
    func release(_ batch: consuming [PendingItem]) {
        released.append(batch)
        hasReleased.store(true, ordering: .relaxed)
    }

    /// Holding the mutex: takes every batch left for an appender.
    func takeReleased() -> [[PendingItem]] {
        var batches: [[PendingItem]] = []
        swap(&batches, &released)
        hasReleased.store(false, ordering: .relaxed)
        return batches
    }

    /// After queueing, holding the mutex: says whether to signal the writer — when it sleeps
    /// (the first item after an idle period) or when it dozes while the queue has grown long —
    /// and records that it was woken, so one wake-up is sent, not one per append.
    func wakeWriterIfNeeded() -> Bool {
        if writerAsleep {
            writerAsleep = false
            return true
        }
        if writerDozing && !queueFull && pending.count >= AuditLog.wakeThreshold {
            queueFull = true
            return true
        }
        return false
    }

    /// Sleeps (releasing the mutex) until a commit is published.
    func waitForCommit() { pthread_cond_wait(committedCondition, mutex) }

    /// Wakes every caller waiting for a commit.
    func broadcastCommitted() { pthread_cond_broadcast(committedCondition) }

    /// The writer sleeps (releasing the mutex) until signalled.
    func waitForWriterWake() { pthread_cond_wait(writerCondition, mutex) }

    /// The writer sleeps (releasing the mutex) until signalled or `nanoseconds` have passed;
    /// true when the time ran out.
    func waitForWriterWake(nanoseconds: Int) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = deadline.tv_nsec + nanoseconds
        deadline.tv_sec += total / 1_000_000_000
        deadline.tv_nsec = total % 1_000_000_000
        return pthread_cond_timedwait(writerCondition, mutex, &deadline) == ETIMEDOUT
    }

    /// Wakes the writer.
    func signalWriter() { pthread_cond_signal(writerCondition) }
}
