import RingfenceVM

// One operation's changes to the ledger, made on a draft: reads see the ledger as the draft has
// changed it so far, writes go to copies of the records they touch. When the operation is done
// the draft becomes a `ChangeSet` — its state rows, its audit records, and the closure that
// writes the copies back into the ledger once the runtime has queued them. An operation that
// fails drops its draft, so the ledger never changes on a refused operation.
//
// One draft per operation: a second draft made before the first is applied would read the
// ledger without the first's changes. Callers that change several things at once (a saga with
// several failed undos) pass them to one call (`escalate` takes a list).

/// The changes of one operation, not yet applied.
struct LedgerDraft: Sendable {
    /// The ledger the draft reads through.
    let ledger: Ledger
    /// The operation's time (µs).
    let now: Int64
    /// Changed and new agents, by slot.
    private(set) var agents: [Int32: LedgerAgent] = [:]
    /// New agents' slots, by id.
    private(set) var newAgents: [String: Int32] = [:]
    /// The next free agent slot.
    private var agentCount: Int32
    /// Changed and new vouches, by slot.
    private(set) var vouches: [Int32: LedgerVouch] = [:]
    /// New vouches' slots, by id.
    private(set) var newVouches: [String: Int32] = [:]
    /// The next free vouch slot.
    private var vouchCount: Int32
    /// Agents whose rows must be written (σ, `since` or quarantine changed, or new).
    private var agentRows: Set<Int32> = []
    /// Vouches whose rows must be written.
    private var vouchRows: Set<Int32> = []
    /// New history events, in order, with their agent's slot and sequence number.
    private(set) var events: [(slot: Int32, seq: Int, event: LedgerEvent)] = []
    /// New slashes.
    var violations: [String: SlashRecord] = [:]
    /// New recorded attributions.
    var failures: [String: FailureRecord] = [:]
    /// The audit records, in order.
    var records: [AuditRecord] = []

    /// A draft over `ledger` at `now`.
    init(_ ledger: Ledger, at now: Int64) {
        self.ledger = ledger
        self.now = now
        agentCount = Int32(ledger.agents.count)
        vouchCount = Int32(ledger.vouches.count)
    }

    // MARK: Reading

    /// The slot of `id`, if the ledger (or the draft) knows it.
    func slot(_ id: String) -> Int32? { newAgents[id] ?? ledger.slots[id] }

    /// The agent in `slot`, as the draft has it.
    func agent(_ slot: Int32) -> LedgerAgent { agents[slot] ?? ledger.agents[Int(slot)] }

    /// The vouch in `slot`, as the draft has it.
    func vouch(_ slot: Int32) -> LedgerVouch { vouches[slot] ?? ledger.vouches[Int(slot)] }

    /// The slot of the vouch `id`, if any.
    func vouchSlot(_ id: String) -> Int32? { newVouches[id] ?? ledger.vouchSlots[id] }

    /// A slash already recorded for `violation`, in the draft or the ledger.
    func slash(_ violation: String) -> SlashRecord? { violations[violation] ?? ledger.violations[violation] }

    // MARK: Writing

    /// Changes the agent in `slot`; `row` marks its state row for writing.
    mutating func update<R>(_ slot: Int32, row: Bool = false, _ body: (inout LedgerAgent) -> R) -> R {
        var copy = agent(slot)
        let result = body(&copy)
        agents[slot] = copy
        if row { agentRows.insert(slot) }
        return result
    }

    /// Records a new agent with σ `trust` (micro); returns its slot.
    mutating func addAgent(_ id: String, trust: Int64) -> Int32 {
        let slot = agentCount
        agentCount += 1
        agents[slot] = LedgerAgent(id: id, trust: trust, since: now)
        newAgents[id] = slot
        agentRows.insert(slot)
        return slot
    }

    /// Appends `event` to the history of the agent in `slot`, adding its risk term.
    mutating func record(_ event: LedgerEvent, for slot: Int32) {
        let seq = update(slot) { a -> Int in
            a.riskSum += event.riskTerm
            a.events += 1
            return a.events - 1
        }
        events.append((slot, seq, event))
    }

    /// Sets σ of the agent in `slot` to `trust` (micro): its live bonds follow, so each of its
    /// vouchees' Σ bonds in changes by (new σ − old σ) × share.
    mutating func setTrust(_ slot: Int32, to trust: Int64) {
        let old = agent(slot)
        guard old.trust != trust else { return }
        update(slot, row: true) { $0.trust = trust }
        for v in old.out {
            let vouch = vouch(v)
            update(vouch.vouchee) { $0.bondsIn += (trust - old.trust) * vouch.share }
        }
    }

    /// A new active vouch; returns its slot.
    @discardableResult
    mutating func addVouch(id: String, voucher: Int32, vouchee: Int32, session: String?, share: Int64) -> Int32 {
        let sigma = agent(voucher).trust
        let slot = vouchCount
        vouchCount += 1
        vouches[slot] = LedgerVouch(id: id, voucher: voucher, vouchee: vouchee, session: session, share: share, bonded: sigma * share,
                                    createdAt: now, released: nil)
        newVouches[id] = slot
        vouchRows.insert(slot)
        update(voucher) {
            $0.out.append(slot)
            $0.sharesOut += share
        }
        update(vouchee) {
            $0.into.append(slot)
            $0.bondsIn += sigma * share
        }
        return slot
    }

    /// Ends the active vouch in `slot` (`by`: `ledger.release`, `session` or `slash`).
    mutating func release(_ slot: Int32, by: String, violation: String? = nil) {
        var v = vouch(slot)
        guard v.isActive else { return }
        v.released = (now, by, violation)
        vouches[slot] = v
        vouchRows.insert(slot)
        let sigma = agent(v.voucher).trust
        update(v.voucher) { voucher in
            voucher.out.removeAll { $0 == slot }
            voucher.sharesOut -= v.share
        }
        update(v.vouchee) { vouchee in
            vouchee.into.removeAll { $0 == slot }
            vouchee.bondsIn -= sigma * v.share
        }
    }

    // MARK: Committing

    /// The draft as a change set: its rows and records, and the closure that applies it.
    func changeSet() -> ChangeSet {
        var rows: [StateRow] = []
        for slot in agentRows.sorted() { rows.append(LedgerRows.agentRow(agent(slot))) }
        for slot in vouchRows.sorted() {
            let v = vouch(slot)
            rows.append(LedgerRows.vouchRow(v, voucher: agent(v.voucher).id, vouchee: agent(v.vouchee).id))
        }
        for e in events {
            var members: [String: Value] = [:]
            if case .object(let m) = e.event.value { members = m }
            rows.append(LedgerRows.row(LedgerRows.events, LedgerRows.eventKey(agent(e.slot).id, e.seq), members))
        }
        for key in violations.keys.sorted() { if let s = violations[key] { rows.append(LedgerRows.violationRow(s)) } }
        for key in failures.keys.sorted() { if let f = failures[key] { rows.append(LedgerRows.failureRow(f)) } }
        guard !rows.isEmpty || !records.isEmpty else { return .none }
        let draft = self
        return ChangeSet(rows: rows, records: records) { draft.ledger.apply(draft) }
    }
}
