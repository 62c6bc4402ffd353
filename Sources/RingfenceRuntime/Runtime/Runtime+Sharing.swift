import RingfenceAudit
import RingfenceBytecode

// Several runtimes sharing one store live (SPEC §15): the nodes of a cluster, each with its own
// runtime on one PostgreSQL database (or, in tests, several runtimes on one shared
// `MemoryStore`).
//
// One runtime at a time holds the store's tenure (`StoreTenure`). An operation on a runtime
// that does not hold it first takes it: the store hands over every state change committed since
// the version this runtime last saw, and the runtime applies them — sessions row by row, the
// ledger and the sagas rebuilt from their rows — and takes up the audit log's head, so the
// operation decides on the state every earlier operation of every node left. The runtime then
// runs operations as it does alone; its audit writer commits only while the tenure is held.
// When its last operation in flight finishes (or after `tenureOperations` operations, so a busy
// node cannot starve the others), it commits everything queued and gives the tenure up.
//
//   node A: ──take──[ops…]──commit──give──                     ──take──[ops…]──…
//   node B:              waits for the tenure ──take (A's changes)──[ops…]──commit──give──
//
// So every operation of every node is serialised by the tenure, the log's order is the order
// they took effect, a slash seen by two nodes is applied once (the second sees the first's
// violation), and the chain has one head. Operations acknowledged under `group` durability
// before their tenure ends are committed when it ends (before any other node can see the
// state), which keeps §9.4's bound while tenures are short. The time of every operation is the
// store's clock read when the tenure was taken, advanced by the runtime's clock since, so the
// nodes agree on expiries and elevations whatever their own clocks say.

extension Runtime {
    /// At most this many operations run under one tenure before the runtime gives it up and
    /// waits its turn again.
    static let tenureOperations = 256

    /// `perform` on a shared store: takes the tenure unless held, runs the operation, and gives
    /// the tenure up when no other operation of this runtime is in flight.
    func performShared<R>(_ body: (Int64) throws(RuntimeError) -> R) throws(RuntimeError) -> R {
        callers.add(1, ordering: .relaxed)
        let outcome: Result<(R, AuditLog.Ticket?), RuntimeError>
        do {
            outcome = .success(try mutex.withLock { () throws(RuntimeError) -> (R, AuditLog.Ticket?) in
                if let failure { throw RuntimeError(.auditFailed, failure) }
                if !sharing.held { try takeTenure() }
                sharing.operations += 1
                return try run(body)
            })
        } catch {
            outcome = .failure(error)
        }
        log.freeCommitted()
        var waited: RuntimeError?
        if case .success(let (_, ticket)) = outcome, let ticket, log.settings.durability == .strict {
            do { try waitFor(ticket) } catch { waited = error }
        }
        leave()
        if let waited { throw waited }
        return try outcome.get().0
    }

    /// Runs `body` — several operations, such as a batch — as one stretch of the tenure on a
    /// shared store: the tenure is not given up between them (unless held for
    /// `tenureOperations`), so they commit together. On a store this runtime owns, just `body`.
    public func together<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        guard tenure != nil else { return try body() }
        callers.add(1, ordering: .relaxed)
        defer { leave() }
        return try body()
    }

    /// Counts an operation (or a stretch of them) out: the last one out ends the tenure, and so
    /// does any once the tenure has run `tenureOperations`.
    private func leave() {
        mutex.withLock {
            let remaining = callers.subtract(1, ordering: .relaxed).newValue
            if sharing.held && (remaining == 0 || sharing.operations >= Self.tenureOperations) { endTenure() }
        }
    }

    /// Takes the tenure and applies what other runtimes changed since this one last held it.
    /// Must run under the lock. A store that cannot be reached fails the operation and changes
    /// nothing; changes that cannot be applied stop the runtime (its state would be stale).
    func takeTenure() throws(RuntimeError) {
        guard let tenure else { return }
        let changes: StoreChanges
        do {
            changes = try tenure.acquire(since: sharing.version)
        } catch {
            throw RuntimeError(.storeUnavailable, "the store cannot be reached: \(error.message)")
        }
        sharing.held = true
        sharing.operations = 0
        sharing.clockOffset = changes.clock - clock()
        do {
            try catchUp(changes)
        } catch {
            failure = "the store's changes cannot be applied: \(error.message)"
            endTenure()
            throw RuntimeError(.auditFailed, failure ?? "")
        }
    }

    /// Commits everything queued and gives the tenure up. Must run under the lock. The commit
    /// is waited for without the lock, so operations that arrive meanwhile run under the tenure
    /// still held and go into the next commit: when any did and are still in flight, the tenure
    /// stays (the last of them ends it); when they are done, their commit follows before the
    /// tenure is given up. Past `tenureOperations` the commit is waited for under the lock, so
    /// the tenure is given up at once. A commit that fails stops the runtime (its state is
    /// ahead of the store's).
    func endTenure() {
        guard let tenure, sharing.held, !sharing.ending else { return }
        sharing.ending = true
        defer { sharing.ending = false }
        while true {
            let turnOver = sharing.operations >= Self.tenureOperations || failure != nil
            do {
                // The buckets the tenure's decisions took from, as they stand, commit with them.
                let buckets = limiter.drainJournal().compactMap { key in
                    limiter.state(of: key).map { Sharing.bucketRow(key, tat: $0.tat, interval: $0.interval) }
                }
                if !buckets.isEmpty { _ = try log.enqueue([], rows: buckets) }
                if turnOver {
                    try log.flush()
                } else {
                    try mutex.unlocked { () throws(AuditLogError) in try log.flush() }
                }
            } catch {
                if failure == nil { failure = error.message }
                break
            }
            if turnOver { break }
            // Operations that ran while the commit was waited for: still in flight, they keep
            // the tenure; done, their changes are committed first.
            if callers.load(ordering: .relaxed) > 0 { return }
            if log.queueDepth == 0 && !limiter.journalIsEmpty { continue }
            if log.queueDepth == 0 { break }
        }
        sharing.held = false
        // A release that fails leaves the version as it was: the next tenure reads this
        // runtime's own commits again, which applies them a second time to no effect.
        if let version = try? tenure.release() { sharing.version = version }
    }

    /// Applies another runtime's changes: sessions row by row; the ledger and the sagas rebuilt
    /// from their rows when any of theirs changed; the audit log's head taken up.
    func catchUp(_ changes: StoreChanges) throws(StoreError) {
        var ledgerChanged = false
        var sagas = Set<String>()
        /// Notes what a changed mirrored row belongs to.
        func touched(_ key: StateKey) {
            if key.collection.hasPrefix(LedgerRows.prefix) {
                ledgerChanged = true
            } else if key.collection == SagaRecord.stepRows {
                sagas.insert(String(key.key.prefix { $0 != "/" }))
            } else if key.collection != SagaLease.collection {
                sagas.insert(key.key)
            }
        }
        for key in changes.deletes where Sharing.isMirrored(key.collection) {
            sharing.mirror[key] = nil
            touched(key)
            if key.collection == SagaLease.collection { book.leases[key.key] = nil }
        }
        for row in changes.rows {
            if row.key.collection == SessionData.collection {
                try adoptSession(row)
            } else if row.key.collection == Sharing.buckets {
                try adoptBucket(row)
            } else if row.key.collection == SagaLease.collection {
                book.leases[row.key.key] = try SagaLease(row: row)
            } else if Sharing.isMirrored(row.key.collection) {
                sharing.mirror[row.key] = row.value
                touched(row.key)
            }
        }
        if ledgerChanged, let ledger = ledger as? Ledger {
            try ledger.reload(sharing.rows { $0.hasPrefix(LedgerRows.prefix) })
        }
        if !sagas.isEmpty { try book.update(sagas.sorted().flatMap { sharing.sagaRows($0) }) }
        try log.follow(size: changes.auditSize, lastHash: changes.lastHash, lastCheckpoint: changes.lastCheckpoint)
        sharing.version = changes.version
    }

    /// Sets the rate-limit bucket a row holds into the limiter.
    func adoptBucket(_ row: StateRow) throws(StoreError) {
        let (key, tat, interval) = try Sharing.bucket(row)
        limiter.setState(of: key, tat: tat, interval: interval)
    }

    /// Makes the session a row holds the runtime's, with its elevations, kills and expiry.
    func adoptSession(_ row: StateRow) throws(StoreError) {
        var session = try SessionData(row: row, window: settings.breach.window * 1_000)
        // Breach windows live in memory, per node: a participant keeps the window it had here.
        if let old = sessions[session.id]?.data {
            for (agent, participant) in old.participants where session.participants[agent] != nil {
                session.participants[agent]?.window = participant.window
            }
        }
        // A session already queued for expiry at the same time is not queued again (the queue
        // skips stale entries, but would grow with every change another node makes).
        let queued = sessions[session.id].map { $0.data.expiresAt == session.expiresAt && $0.data.phase.isLive } ?? false
        keep(session)
        for elevation in session.elevations { elevationSessions[elevation.id] = session.id }
        for kill in session.kills { killIDs.insert(kill.id) }
        if session.phase.isLive && !queued { expiries.push(session.expiresAt, session.id) }
    }
}

extension SessionPhase {
    /// True for a session that has not ended (it may expire).
    var isLive: Bool { self == .handshaking || self == .active }
}

/// A runtime's side of a shared store's tenure.
struct Sharing {
    /// True while this runtime holds the tenure.
    var held = false
    /// True while an operation is ending the tenure (committing without the lock).
    var ending = false
    /// Operations run under the tenure held now.
    var operations = 0
    /// The store's version this runtime has seen: every commit up to it is in its state.
    var version: UInt64 = 0
    /// The store's clock minus the runtime's, read when the tenure was taken (µs).
    var clockOffset: Int64 = 0
    /// This runtime's node id, in the saga leases it takes.
    var node = ""
    /// How long a saga lease lasts without a transition (µs).
    var sagaLease: Int64 = 10_000_000
    /// The ledger's and the sagas' rows as stored, to rebuild them from when another runtime
    /// changed them.
    var mirror: [StateKey: [UInt8]] = [:]

    /// The state of a runtime that does not share its store.
    init() {}

    /// The state of a runtime that has just read `snapshot`.
    init(_ snapshot: StoreSnapshot) {
        version = snapshot.version
        for row in snapshot.rows where Self.isMirrored(row.key.collection) { mirror[row.key] = row.value }
    }

    /// Collections kept in the mirror: the ledger's and the sagas'.
    static func isMirrored(_ collection: String) -> Bool {
        collection.hasPrefix(LedgerRows.prefix) || collection == SagaRecord.headers || collection == SagaRecord.states
            || collection == SagaRecord.stepRows
    }

    /// The mirrored rows of saga `id`: its header, its state and its steps.
    func sagaRows(_ id: String) -> [StateRow] {
        var rows: [StateRow] = []
        for collection in [SagaRecord.headers, SagaRecord.states] {
            let key = StateKey(collection, id)
            if let value = mirror[key] { rows.append(StateRow(key, value)) }
        }
        var i = 0
        while let value = mirror[StateKey(SagaRecord.stepRows, "\(id)/\(i)")] {
            rows.append(StateRow(StateKey(SagaRecord.stepRows, "\(id)/\(i)"), value))
            i += 1
        }
        return rows
    }

    /// The collection of rate-limit buckets: key `<namespace, 16 hex digits>:<agent bytes in hex>`,
    /// value `<TAT ns> <interval ns>`.
    static let buckets = "limits"

    /// The row of a bucket.
    static func bucketRow(_ key: RateLimiter.BucketKey, tat: Int64, interval: Int64) -> StateRow {
        let namespace = withUnsafeBytes(of: key.namespace.bigEndian) { Hex.encode($0) }
        return StateRow(StateKey(buckets, namespace + ":" + Hex.encode(key.agent)), Array("\(tat) \(interval)".utf8))
    }

    /// Reads a bucket's row back; a row that does not read throws `foreignSchema`.
    static func bucket(_ row: StateRow) throws(StoreError) -> (RateLimiter.BucketKey, tat: Int64, interval: Int64) {
        let parts = row.key.key.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let values = String(decoding: row.value, as: UTF8.self).split(separator: " ")
        guard parts.count == 2, let namespace = Hex.decodeLowercase(String(parts[0])), namespace.count == 8,
              let agent = Hex.decodeLowercase(String(parts[1])), values.count == 2,
              let tat = Int64(values[0]), let interval = Int64(values[1]), interval > 0 else {
            throw StoreError(.foreignSchema, "the rate-limit bucket row `\(row.key.key)` cannot be read")
        }
        return (RateLimiter.BucketKey(namespace: namespace.reduce(0) { $0 << 8 | UInt64($1) }, agent: agent), tat, interval)
    }

    /// Notes rows this runtime queued, so the mirror matches the store.
    mutating func wrote(_ rows: [StateRow]) {
        for row in rows where Self.isMirrored(row.key.collection) { mirror[row.key] = row.value }
    }

    /// The mirrored rows of the collections `include` accepts, in key order.
    func rows(_ include: (String) -> Bool) -> [StateRow] {
        mirror.filter { include($0.key.collection) }.sorted { $0.key < $1.key }.map { StateRow($0.key, $0.value) }
    }
}
