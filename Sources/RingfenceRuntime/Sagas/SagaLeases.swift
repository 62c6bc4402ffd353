import RingfenceVM

// Saga leases on a shared store (SPEC §15): several runtimes may resume any saga, but one runs
// it at a time. A runtime that starts or resumes a saga takes its lease — a row
// `saga_leases/<id>` holding the runtime's node id, a fencing token and an expiry — and every
// transition it writes checks first that the lease row still carries its token, and moves the
// expiry on. Because every operation runs under the store's tenure after catching up, the check
// sees any takeover committed before it: the stale owner's next write is refused
// (`saga_running`), so a saga is never run by two nodes at once. When a node dies, its leases
// expire; `orphanedSagas()` lists the unfinished sagas whose lease has expired, and any node
// resumes them (`resumeSaga`), taking the lease with the next token; an attempt in doubt then
// runs again under its idempotency key (SPEC §10.6).
//
// A runtime that owns its store (memory, SQLite) writes no leases: one process runs its sagas,
// and `saga resume` after a crash needs no expiry to pass.
//
//   sagas_leases/<id>   "<token> <expires at, µs> <node id>"

/// Who runs a saga, under which fencing token, until when.
struct SagaLease: Sendable, Hashable {
    /// The node (runtime) running it.
    var node: String
    /// The fencing token: one more at every takeover.
    var token: Int64
    /// When the lease expires unless renewed (µs).
    var until: Int64

    /// The collection of lease rows.
    static let collection = "saga_leases"

    /// The lease's row for saga `id`.
    func row(_ id: String) -> StateRow {
        StateRow(StateKey(Self.collection, id), Array("\(token) \(until) \(node)".utf8))
    }

    /// Reads a lease row back; a row that does not read throws `foreignSchema`.
    init(row: StateRow) throws(StoreError) {
        let parts = String(decoding: row.value, as: UTF8.self).split(separator: " ", maxSplits: 2)
        guard parts.count == 3, let token = Int64(parts[0]), let until = Int64(parts[1]), RuntimeID.isValid(String(parts[2])) else {
            throw StoreError(.foreignSchema, "the lease row of saga `\(row.key.key)` cannot be read")
        }
        self.init(node: String(parts[2]), token: token, until: until)
    }

    /// A lease.
    init(node: String, token: Int64, until: Int64) {
        self.node = node
        self.token = token
        self.until = until
    }
}

extension Runtime {
    /// How long a saga's lease lasts without a transition (µs; shared stores only). Another node
    /// resumes a saga whose owner has written nothing for this long.
    public var sagaLease: Int64 {
        get { mutex.withLock { sharing.sagaLease } }
        set { mutex.withLock { sharing.sagaLease = max(1, newValue) } }
    }

    /// The unfinished sagas no node runs: not running here, and on a shared store with no lease
    /// or an expired one; in id order. Any runtime may resume them.
    public func orphanedSagas() throws(RuntimeError) -> [String] {
        try perform { now throws(RuntimeError) -> [String] in
            book.sagas.values.filter { saga in
                guard !saga.state.isFinal, !saga.runningHere else { return false }
                guard tenure != nil, let lease = book.leases[saga.id] else { return true }
                return lease.until <= now
            }.map(\.id).sorted()
        }
    }

    /// On a shared store, takes saga `id`'s lease for this runtime — refused with `saga_running`
    /// while another node's lease lasts — and queues its row; must run inside `perform`.
    func takeLease(_ id: String, at now: Int64) throws(RuntimeError) {
        guard tenure != nil else { return }
        let current = book.leases[id]
        if let current, current.until > now, book.held[id] != current.token {
            throw RuntimeError(.sagaRunning, "saga `\(id)` is being run by node `\(current.node)` until \(RuntimeTime.text(current.until))")
        }
        let lease = SagaLease(node: sharing.node, token: (current?.token ?? 0) + 1, until: now + sharing.sagaLease)
        try commit([], rows: [lease.row(id)])
        book.leases[id] = lease
        book.held[id] = lease.token
    }

    /// `saga` (held by its runner, which this process runs) for a transition this runtime
    /// writes: on a shared store, only while the saga's lease still carries this runtime's token
    /// (else `saga_running`: another node took it over), and the lease is renewed; must run
    /// inside `perform`. A record once in the book stays the book's (a shared store's changes
    /// are copied into it), so the runner's is the book's.
    func ownedSaga(_ saga: SagaRecord, at now: Int64) throws(RuntimeError) -> SagaRecord {
        guard tenure != nil else { return saga }
        let id = saga.id
        guard let lease = book.leases[id], let held = book.held[id], lease.token == held, lease.node == sharing.node else {
            let owner = book.leases[id].map { " by node `\($0.node)`" } ?? ""
            throw RuntimeError(.sagaRunning, "saga `\(id)` was taken over\(owner); this node's writes to it are refused")
        }
        let renewed = SagaLease(node: lease.node, token: lease.token, until: now + sharing.sagaLease)
        try commit([], rows: [renewed.row(id)])
        book.leases[id] = renewed
        return saga
    }
}
