import RingfenceAudit
import RingfenceBytecode
import RingfenceVM
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The governance runtime (SPEC Part II, §8): sessions of agents with rings, elevations, ring
// rate limits, a breach detector and a kill switch around one compiled machine, its state in a
// store and every change in the audit log.
//
// Concurrency: one lock guards the runtime's state. Every operation — deciding included — runs
// under it from its first check to queueing its audit entries and state rows, so operations are
// serialisable and the log's order is the order they took effect; under `strict` the operation
// then waits for the commit after releasing the lock, so many operations share one fsync. The
// VM, the rate limiter and the audit writer have their own locks or none.
//
// Write ahead: an operation checks everything first, then builds the state it leads to, queues
// its entries and rows, and only then makes that state the runtime's. A check that fails
// changes nothing. If the audit log itself fails, the operation fails with `audit_failed` and
// the runtime takes no further operations (its memory may be ahead of the store it can no
// longer write).
//
// Time: every operation reads the clock once. `advanceClock(to:)` (the `at` of `ringfence ops`)
// pins the clock to a time for that operation and every later one; the clock never goes
// backwards (`clock_backwards`). Sessions whose TTL has passed are terminated by the runtime at
// the start of the next operation, stamped with their expiry time, before that operation runs.

/// The session runtime over one machine, its settings and a store.
public final class Runtime: @unchecked Sendable {
    // Safety: every `var` below is read and written only while `mutex` is held.
    /// The machine decisions are made with.
    public let machine: Machine
    /// The runtime file's settings (SPEC §7).
    public let settings: RuntimeSettings
    /// Where state rows and the audit log live.
    public let store: StateStore
    /// The audit log over `store`.
    public let log: AuditLog
    /// The liability ledger (trust, standing, quarantine): the runtime's own `Ledger` unless
    /// another `LedgerView` was given.
    let ledger: LedgerView
    /// The saga executor (in-flight steps a kill hands off).
    let sagas: SagaView
    /// The sagas this runtime runs and has run (SPEC §10), read from the store at open.
    let book = SagaBook()
    /// Per-rule limits and ring buckets (SPEC §8.4).
    let limiter: RateLimiter
    /// The injected clock (µs).
    let clock: @Sendable () -> Int64
    /// The injected id generator.
    let ids: IDGenerator
    /// The ring buckets' shapes, ring 0 first.
    let ringBuckets: [RateLimiter.Bucket]
    /// The time of the newest operation, read by the audit writer to stamp checkpoints.
    let published: PublishedTime
    /// The store's tenure when runtimes share it live (SPEC §15); nil when this runtime owns it.
    let tenure: StoreTenure?
    /// Operations begun and not yet finished (shared stores: the last one out gives the tenure up).
    let callers = Atomic<Int>(0)

    /// The limiter namespace of ring buckets ("RINGBKT" and a zero byte; rule limits use small rule indexes).
    static let ringNamespace: UInt64 = 0x5249_4E47_424B_5400
    /// The reasons a kill may give (SPEC §8.6).
    public static let killReasons = ["behavioral_drift", "rate_limit", "ring_breach", "manual", "quarantine_timeout", "session_timeout"]

    /// Guards every `var` of the runtime.
    ///
    /// The state a decision touches is declared `@exclusivity(unchecked)`: it is read and
    /// written only under this lock, by the runtime's own code, and the dynamic exclusivity
    /// checks Swift otherwise makes on each access of a class's stored property (a thread-local
    /// access set, entered and left) cost a decision in a session about 7%
    /// (`docs/performance.md`).
    let mutex = RuntimeMutex()
    /// Sessions by id (archived ones included), each in a box so reading one copies nothing.
    @exclusivity(unchecked) var sessions: [String: SessionBox] = [:]
    /// The session of every elevation, by elevation id.
    var elevationSessions: [String: String] = [:]
    /// Every kill id.
    var killIDs: Set<String> = []
    /// Live sessions by expiry.
    @exclusivity(unchecked) var expiries = ExpiryQueue()
    /// The time of the newest operation (µs).
    @exclusivity(unchecked) var lastTime: Int64 = .min
    /// The time `advanceClock(to:)` pinned, if any.
    @exclusivity(unchecked) var pinned: Int64?
    /// Why the runtime stopped taking operations, once the audit log failed.
    @exclusivity(unchecked) var failure: String?
    /// The newest ticket queued by the operation running now.
    @exclusivity(unchecked) var pendingTicket: AuditLog.Ticket?
    /// The tenure's state, on a shared store.
    @exclusivity(unchecked) var sharing = Sharing()
    /// Where a decision in a session lays out its request (`PreparedRequest.refill`).
    @exclusivity(unchecked) var preparedStorage = PreparedRequest()

    /// Opens a runtime on `store`, rebuilding its state from the store's rows.
    ///
    /// - Parameters:
    ///   - machine: the compiled policies.
    ///   - settings: the runtime file's settings (a program's `runtime`).
    ///   - store: the state store (`MemoryStore`, or any other `StateStore`).
    ///   - audit: durability and checkpoints; nil takes them from `settings.audit`, unsigned.
    ///   - clock: microseconds since 1970 (the system clock by default).
    ///   - ids: generated ids (`<kind>:<16 hex>`; the system's randomness by default).
    ///   - ledger: the liability ledger; nil (the default) gives the runtime its own `Ledger`,
    ///     rebuilt from the store's rows (SPEC §11).
    ///   - sagas: what a kill hands in-flight saga steps to; nil for the runtime's own sagas.
    ///   - node: on a shared store, this runtime's node id in the saga leases it takes; nil (the
    ///     default) draws one from the system's randomness, not from `ids`, so the ids a runtime
    ///     hands out are the same whichever store it runs on.
    public init(machine: Machine, settings: RuntimeSettings, store: StateStore, audit: AuditSettings? = nil,
                clock: @escaping @Sendable () -> Int64 = RuntimeTime.system, ids: IDGenerator = .system,
                ledger: LedgerView? = nil, sagas: SagaView? = nil, limiter: RateLimiter = RateLimiter(),
                node: String? = nil) throws(StoreError) {
        let snapshot = try store.load()
        self.machine = machine
        self.settings = settings
        self.store = store
        self.clock = clock
        self.ids = ids
        if let ledger {
            self.ledger = ledger
        } else {
            self.ledger = try Ledger(settings: settings.liability, rows: snapshot.rows)
        }
        self.sagas = sagas ?? book
        self.limiter = limiter
        ringBuckets = (0...3).map { RateLimiter.Bucket(rate: settings.limits[ring: $0].rate, burst: settings.limits[ring: $0].burst) }
        let published = PublishedTime()
        self.published = published
        try book.load(snapshot.rows)
        tenure = store.tenure
        log = try AuditLog(store: store, settings: audit ?? AuditSettings(settings.audit),
                           clock: { RuntimeTime.auditTime(published.value) })
        for row in snapshot.rows where row.key.collection == SessionData.collection { try adoptSession(row) }
        if tenure != nil {
            sharing = Sharing(snapshot)
            sharing.node = node ?? IDGenerator.system.make("node")
            limiter.startJournal()
            for row in snapshot.rows where row.key.collection == Sharing.buckets { try adoptBucket(row) }
        }
    }

    /// Commits what is queued and stops the audit writer; the runtime takes no further operations.
    public func close() {
        mutex.withLock {
            if failure == nil { failure = "the runtime is closed" }
            if sharing.held { endTenure() }
        }
        try? log.flush()
        log.close()
    }

    // MARK: Time

    /// Pins the clock to `microseconds` for the next operation and every later one (`at`).
    /// A time earlier than the newest operation's is refused with `clock_backwards`.
    public func advanceClock(to microseconds: Int64) throws(RuntimeError) {
        try mutex.withLock { () throws(RuntimeError) in
            guard microseconds >= lastTime else {
                throw RuntimeError(.clockBackwards, "`at` \(RuntimeTime.text(microseconds)) is earlier than the runtime clock \(RuntimeTime.text(lastTime))")
            }
            pinned = microseconds
            lastTime = microseconds
            published.value = microseconds
        }
    }

    /// The runtime clock now (µs): the pinned time, or the injected clock, never going backwards.
    public var now: Int64 {
        mutex.withLock { max(lastTime, pinned ?? (clock() + sharing.clockOffset)) }
    }

    // MARK: Running operations

    /// Runs `body` as one operation under the lock: the clock read once, expired sessions
    /// terminated, then the body; under `strict`, waits for the commit after unlocking.
    func perform<R>(_ body: (Int64) throws(RuntimeError) -> R) throws(RuntimeError) -> R {
        if tenure != nil { return try performShared(body) }
        return try performOwned(body)
    }

    /// `perform` on a store this runtime owns (no tenure), inlined where it is called so that
    /// what `body` captures is used in place: a decision's request is not copied into it.
    @inline(__always)
    func performOwned<R>(_ body: (Int64) throws(RuntimeError) -> R) throws(RuntimeError) -> R {
        let (result, ticket) = try mutex.withLock { () throws(RuntimeError) -> (R, AuditLog.Ticket?) in
            if let failure { throw RuntimeError(.auditFailed, failure) }
            return try run(body)
        }
        log.freeCommitted()
        if let ticket, log.settings.durability == .strict { try waitFor(ticket) }
        return result
    }

    /// The body of an operation, under the lock: the clock read once, expired sessions
    /// terminated, then `body`; returns its result and the ticket it queued last.
    @inline(__always)
    func run<R>(_ body: (Int64) throws(RuntimeError) -> R) throws(RuntimeError) -> (R, AuditLog.Ticket?) {
        pendingTicket = nil
        defer { pendingTicket = nil }
        let now = max(lastTime, pinned ?? (clock() + sharing.clockOffset))
        lastTime = now
        published.value = now
        if now >= expiries.earliest { try expireSessions(upTo: now) }
        let result = try body(now)
        return (result, pendingTicket)
    }


    /// Queues `records` with `rows` (and the collaborators' changes) as one transaction; must
    /// run inside `perform`. A failing log stops the runtime.
    @discardableResult
    func commit(_ records: [AuditRecord], rows: [StateRow], changes: [ChangeSet] = [], receipts: Bool = false) throws(RuntimeError) -> AuditLog.Ticket {
        var allRecords = records
        var allRows = rows
        for change in changes {
            // A list still empty takes the change's as it is.
            if allRecords.isEmpty { allRecords = change.records } else { allRecords += change.records }
            if allRows.isEmpty { allRows = change.rows } else { allRows += change.rows }
        }
        let ticket = try queue(allRecords, rows: allRows, receipts: receipts)
        for change in changes { change.apply() }
        return ticket
    }

    /// `commit(_:rows:changes:)` of one change set alone (a saga step's transition): its lists
    /// are queued as they are.
    @discardableResult
    func commit(_ change: consuming ChangeSet) throws(RuntimeError) -> AuditLog.Ticket {
        let ticket: AuditLog.Ticket
        switch change.takeEntries() {
        case .one(let record): ticket = try commit(record, rows: change.rows)
        case .list(let records): ticket = try queue(records, rows: change.rows, receipts: false)
        }
        change.apply()
        return ticket
    }

    /// `commit(_:rows:changes:)` of one record with `rows` (a saga's start or end, a step's
    /// transition), the record queued as it is rather than in a list of one.
    @discardableResult
    func commit(_ record: consuming AuditRecord, rows: [StateRow], receipts: Bool = false) throws(RuntimeError) -> AuditLog.Ticket {
        var record: AuditRecord? = consume record
        return try queue(rows: rows) { rows throws(AuditLogError) in try log.enqueue(record.take()!, then: [], rows: rows, receipts: receipts) }
    }

    /// `commit(_:rows:changes:)` of one record followed by a change set's records and rows (a
    /// decision and what its caller gave for it), queued one after the other without a list of
    /// their own.
    func commit(_ record: consuming AuditRecord, then change: consuming ChangeSet) throws(RuntimeError) {
        var first: AuditRecord? = consume record
        var entries: ChangeSet.Entries? = change.takeEntries()
        _ = try queue(rows: change.rows) { rows throws(AuditLogError) in
            switch entries.take()! {
            case .one(let second): try log.enqueue(first.take()!, second, then: [], rows: rows)
            case .list(let records): try log.enqueue(first.take()!, nil, then: records, rows: rows)
            }
        }
        change.apply()
    }

    /// `commit(_:rows:changes:)` of one record with its row, then one change set (a join and
    /// the ledger's change, a termination and the ledger's releases): the row goes before the
    /// change's rows and the record before its entries, without lists gathered for them.
    func commit(_ record: consuming AuditRecord, row: StateRow, then change: consuming ChangeSet) throws(RuntimeError) {
        change.rows.insert(row, at: 0)
        try commit(record, then: change)
    }

    /// Queues one transaction's records and rows. A failing log stops the runtime.
    private func queue(_ records: [AuditRecord], rows: [StateRow], receipts: Bool) throws(RuntimeError) -> AuditLog.Ticket {
        try queue(rows: rows) { rows throws(AuditLogError) in try log.enqueue(records, rows: rows, receipts: receipts) }
    }

    /// Queues `rows` with the records `enqueue` gives the log. A failing log stops the runtime.
    private func queue(rows: [StateRow], _ enqueue: ([StateRow]) throws(AuditLogError) -> AuditLog.Ticket) throws(RuntimeError) -> AuditLog.Ticket {
        // On a shared store the mirror of written rows needs their bytes now: they are written
        // once, here, for the mirror and the store alike.
        let rows = tenure == nil ? rows : rows.map { StateRow($0.key, $0.value) }
        do {
            let ticket = try enqueue(rows)
            pendingTicket = ticket
            if tenure != nil { sharing.wrote(rows) }
            return ticket
        } catch {
            failure = error.message
            throw RuntimeError(.auditFailed, error.message)
        }
    }

    /// `commit(_:rows:)` of one record alone, moved into the log's queue rather than copied
    /// out of a list (each decision's entry).
    func commit(_ record: consuming AuditRecord) throws(RuntimeError) {
        do {
            pendingTicket = try log.enqueue(consume record)
        } catch {
            failure = error.message
            throw RuntimeError(.auditFailed, error.message)
        }
    }

    /// Waits for `ticket`'s commit; a failing log stops the runtime.
    @discardableResult
    func waitFor(_ ticket: AuditLog.Ticket) throws(RuntimeError) -> [AuditReceipt] {
        try failing { () throws(AuditLogError) in try log.wait(ticket) }
    }

    /// Waits for a one-record ticket's commit and returns its receipt; a failing log stops the
    /// runtime.
    func waitForReceipt(_ ticket: AuditLog.Ticket) throws(RuntimeError) -> AuditReceipt? {
        try failing { () throws(AuditLogError) in try log.waitForReceipt(ticket) }
    }

    /// `body`'s result; a log error stops the runtime.
    private func failing<R>(_ body: () throws(AuditLogError) -> R) throws(RuntimeError) -> R {
        do {
            return try body()
        } catch {
            mutex.withLock { failure = error.message }
            throw RuntimeError(.auditFailed, error.message)
        }
    }

    /// Makes `session` the runtime's state of its session (after its changes were queued),
    /// moved into its box: a copy retains each of its lists and tables.
    func keep(_ session: consuming SessionData) {
        if let box = sessions[session.id] {
            box.data = session
        } else {
            let id = session.id
            sessions[id] = SessionBox(session)
        }
    }

    /// An audit record of `kind` at `time`.
    func record(_ kind: EntryKind, session: String?, agent: String?, at time: Int64, _ data: [String: Value]) -> AuditRecord {
        AuditRecord(kind: kind.rawValue, session: session, agent: agent, time: RuntimeTime.auditTime(time), deferred: .object(data))
    }

    /// An audit record of `kind` at `time` whose data `write` writes in canonical form on the log's writer.
    func record(_ kind: EntryKind, session: String?, agent: String?, at time: Int64,
                canonical write: @escaping @Sendable () throws(AuditError) -> [UInt8]) -> AuditRecord {
        AuditRecord(kind: kind.rawValue, session: session, agent: agent, time: RuntimeTime.auditTime(time), canonical: write)
    }

    /// A new id of `kind` not in `taken`, or the given one after checking it.
    func newID(_ given: String?, kind: String, taken: (String) -> Bool) throws(RuntimeError) -> String {
        if let given {
            guard RuntimeID.isValid(given) else { throw RuntimeError(.invalidID, RuntimeMessages.invalidID(kind, given)) }
            guard !taken(given) else { throw RuntimeError(.idTaken, "\(kind) id `\(given)` is already used") }
            return given
        }
        while true {
            let id = ids.make(kind)
            if !taken(id) { return id }
        }
    }

    /// Checks that `id` has the id shape.
    static func checkID(_ id: String, _ what: String) throws(RuntimeError) {
        guard RuntimeID.isValid(id) else { throw RuntimeError(.invalidID, RuntimeMessages.invalidID(what, id)) }
    }
}

/// The kinds of the entries the runtime writes itself (SPEC §9.1); `audit.append` cannot use them.
public enum EntryKind: String, Sendable, Hashable, CaseIterable {
    /// A session was created.
    case sessionCreated = "session.created"
    /// An agent joined a session.
    case sessionJoined = "session.joined"
    /// A session was activated.
    case sessionActivated = "session.activated"
    /// A session was terminated and archived (by `session.terminate` or at its expiry).
    case sessionTerminated = "session.terminated"
    /// A decision, in a session or outside one.
    case decision
    /// An elevation was granted.
    case elevationGranted = "elevation.granted"
    /// An elevation was revoked.
    case elevationRevoked = "elevation.revoked"
    /// An agent was killed.
    case kill
    /// A breach verdict.
    case breach
    /// A breaker was reset.
    case breakerReset = "breaker.reset"
    /// A vouch was made.
    case ledgerVouched = "ledger.vouched"
    /// A vouch ended (`ledger.release`, its session's end, or a slash).
    case ledgerReleased = "ledger.released"
    /// An agent was slashed, with the cascade (a saga escalation names its saga and step).
    case ledgerSlashed = "ledger.slashed"
    /// An agent was quarantined, or its quarantine extended.
    case ledgerQuarantined = "ledger.quarantined"
    /// A quarantine was ended early.
    case ledgerUnquarantined = "ledger.unquarantined"
    /// An operator set an agent's σ.
    case ledgerTrust = "ledger.trust"
    /// An attribution was recorded as faults.
    case ledgerAttributed = "ledger.attributed"

    /// Prefixes kept for the runtime's own kinds, present and to come (sagas, the ledger).
    public static let reservedPrefixes = ["session.", "elevation.", "breaker.", "saga.", "ledger.", "audit."]

    /// The kinds' names, looked up as a set (matching a name against the cases one by one
    /// costs a host's every `audit.append` more).
    private static let names = Set(allCases.map(\.rawValue))

    /// True when a host may not append entries of `kind`.
    public static func isReserved(_ kind: String) -> Bool {
        names.contains(kind) || reservedPrefixes.contains { kind.hasPrefix($0) }
    }
}

extension AuditSettings {
    /// The runtime file's `audit` settings, with an optional signing key.
    public init(_ audit: RuntimeSettings.Audit, signingKey: NoteSigningKey? = nil) {
        let durability: Durability = switch audit.durability {
        case .strict: .strict
        case .group: .group
        case .relaxed: .relaxed
        }
        self.init(durability: durability, checkpointEvery: UInt64(max(1, audit.checkpointEvery)),
                  checkpointInterval: audit.checkpointInterval * 1_000, origin: audit.origin, signingKey: signingKey)
    }
}

/// The runtime's newest time, readable from the audit writer without the runtime's lock.
final class PublishedTime: Sendable {
    /// The time (µs).
    private let time = Atomic<Int64>(0)

    /// The newest time (µs).
    var value: Int64 {
        get { time.load(ordering: .relaxed) }
        set { time.store(newValue, ordering: .relaxed) }
    }
}

/// A pthread mutex around a closure.
final class RuntimeMutex: @unchecked Sendable {
    // Safety: the mutex lives at a fixed address for the object's lifetime.
    /// The mutex, at a fixed address.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    /// An unlocked mutex.
    init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex.
    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Runs `body` with the mutex released, from inside `withLock` (which holds it again after).
    func unlocked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_unlock(mutex)
        defer { pthread_mutex_lock(mutex) }
        return try body()
    }
}

/// A session's state in a box: the runtime reads a session without copying it.
final class SessionBox: @unchecked Sendable {
    // Safety: touched only under the runtime's lock.
    /// The session (unchecked exclusivity, as the runtime's own state).
    @exclusivity(unchecked) var data: SessionData

    /// A box holding `data`.
    init(_ data: SessionData) {
        self.data = data
    }

    /// Lends `body` participant `slot` where the session keeps it, to read: a participant read
    /// out of the table is copied, retaining its id, parent, kill, bucket key and window. Lent
    /// through the table's in-place accessor, which first makes the table unique — a copy of the
    /// table only while a queued row still holds the session as it was. `body` must not change
    /// the participant, nor touch the session's table of participants.
    func readParticipant<R>(_ slot: [String: Participant].Index, _ body: (inout Participant) -> R) -> R {
        body(&data.participants.values[slot])
    }
}

/// Live sessions ordered by expiry: a binary min-heap of (expires at, session id).
struct ExpiryQueue {
    /// The heap, in an array (children of i at 2i + 1 and 2i + 2).
    private var heap: [(at: Int64, id: String)] = [] {
        didSet { earliest = heap.first?.at ?? .max }
    }
    /// The earliest expiry (`Int64.max` when none): one comparison tells an operation whether
    /// any session is due.
    private(set) var earliest: Int64 = .max

    /// The earliest expiry, if any.
    var first: (at: Int64, id: String)? { heap.first }

    /// Adds a session.
    mutating func push(_ at: Int64, _ id: String) {
        heap.append((at, id))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest expiry.
    mutating func pop() -> (at: Int64, id: String)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, Self.before(heap[l], heap[m]) { m = l }
            if r < heap.count, Self.before(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return top
    }

    /// Earlier expiry first; ties by id, so expiries are processed in a reproducible order.
    private static func before(_ a: (at: Int64, id: String), _ b: (at: Int64, id: String)) -> Bool {
        a.at != b.at ? a.at < b.at : a.id < b.id
    }
}
