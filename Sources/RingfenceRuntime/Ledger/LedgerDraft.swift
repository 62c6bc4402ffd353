import RingfenceVM

// One operation's changes to the ledger, made on a draft: reads see the ledger as the draft has
// changed it so far, writes go to copies of the records they touch — made once per record and
// then changed in place — except Σ bonds in, which a voucher's change of σ moves for each of its
// vouchees: those changes are appended to a list of deltas (no copy of the vouchee, no hashing)
// and added up when the draft is applied, so a slash clipping a voucher with sixteen vouchees
// touches none of them. When the operation is done
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
    /// Changed and new agents, by slot (their `bondsIn` without `bondsInDeltas`).
    private(set) var agents: [Int32: LedgerAgent] = [:]
    /// Changes of Σ bonds in (pico) of agents, by slot, in the order they were made.
    private(set) var bondsInDeltas: [(slot: Int32, delta: Int64)] = []
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
    func agent(_ slot: Int32) -> LedgerAgent {
        var a = stored(slot)
        for change in bondsInDeltas where change.slot == slot { a.bondsIn += change.delta }
        return a
    }

    /// The agent in `slot` as the draft has it, but for the changes of Σ bonds in not yet added
    /// (what its state row holds is the same).
    func stored(_ slot: Int32) -> LedgerAgent { agents[slot] ?? ledger.agents[Int(slot)] }

    /// σ of the agent in `slot` (micro), as the draft has it.
    func trust(_ slot: Int32) -> Int64 { agents[slot]?.trust ?? ledger.agents[Int(slot)].trust }

    /// The id of the agent in `slot`.
    func id(_ slot: Int32) -> String { agents[slot]?.id ?? ledger.agents[Int(slot)].id }

    /// The active vouches for the agent in `slot`, as the draft has them.
    func into(_ slot: Int32) -> [Int32] { agents[slot]?.into ?? ledger.agents[Int(slot)].into }

    /// The vouch in `slot`, as the draft has it.
    func vouch(_ slot: Int32) -> LedgerVouch { vouches[slot] ?? ledger.vouches[Int(slot)] }

    /// The slot of the vouch `id`, if any.
    func vouchSlot(_ id: String) -> Int32? { newVouches[id] ?? ledger.vouchSlots[id] }

    /// A slash already recorded for `violation`, in the draft or the ledger.
    func slash(_ violation: String) -> SlashRecord? { violations[violation] ?? ledger.violations[violation] }

    // MARK: Writing

    /// Changes the agent in `slot`; `row` marks its state row for writing.
    /// (`body` must leave `bondsIn` alone: `addBondsIn` changes it.)
    mutating func update<R>(_ slot: Int32, row: Bool = false, _ body: (inout LedgerAgent) -> R) -> R {
        if row { agentRows.insert(slot) }
        let ledger = self.ledger
        return body(&agents[slot, default: ledger.agents[Int(slot)]])
    }

    /// Adds `delta` (pico) to Σ bonds in of the agent in `slot`.
    mutating func addBondsIn(_ slot: Int32, _ delta: Int64) {
        bondsInDeltas.append((slot, delta))
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
        let old = self.trust(slot)
        guard old != trust else { return }
        let out = update(slot, row: true) { a -> [Int32] in
            a.trust = trust
            return a.out
        }
        // A vouch's parties and share never change: the ledger's copy has them unless it is new.
        let base = ledger.vouches
        for v in out {
            let index = Int(v)
            if index < base.count {
                addBondsIn(base[index].vouchee, (trust - old) * base[index].share)
            } else if let made = vouches[v] {
                addBondsIn(made.vouchee, (trust - old) * made.share)
            } else {
                assertionFailure("vouch slot \(v) is in no ledger and no draft")
            }
        }
    }

    /// A new active vouch; returns its slot.
    @discardableResult
    mutating func addVouch(id: String, voucher: Int32, vouchee: Int32, session: String?, share: Int64) -> Int32 {
        let sigma = trust(voucher)
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
        update(vouchee) { $0.into.append(slot) }
        addBondsIn(vouchee, sigma * share)
        return slot
    }

    /// Ends the active vouch in `slot` (`by`: `ledger.release`, `session` or `slash`).
    mutating func release(_ slot: Int32, by: String, violation: String? = nil) {
        var v = vouch(slot)
        guard v.isActive else { return }
        v.released = (now, by, violation)
        vouches[slot] = v
        vouchRows.insert(slot)
        let sigma = trust(v.voucher)
        update(v.voucher) { voucher in
            voucher.out.removeAll { $0 == slot }
            voucher.sharesOut -= v.share
        }
        update(v.vouchee) { vouchee in vouchee.into.removeAll { $0 == slot } }
        addBondsIn(v.vouchee, -sigma * v.share)
    }

    // MARK: Committing

    /// The draft as a change set: its rows and records, and the closure that applies it.
    func changeSet() -> ChangeSet {
        var rows: [StateRow] = []
        rows.reserveCapacity(agentRows.count + vouchRows.count + events.count + violations.count + failures.count)
        agentRows.forEachInOrder(by: <) { slot in rows.append(LedgerRows.agentRow(stored(slot))) }
        vouchRows.forEachInOrder(by: <) { slot in
            let v = vouch(slot)
            rows.append(LedgerRows.vouchRow(v, voucher: id(v.voucher), vouchee: id(v.vouchee)))
        }
        for e in events { rows.append(LedgerRows.eventRow(agent: id(e.slot), seq: e.seq, e.event)) }
        violations.keys.forEachInOrder(by: <) { key in if let s = violations[key] { rows.append(LedgerRows.violationRow(s)) } }
        failures.keys.forEachInOrder(by: <) { key in if let f = failures[key] { rows.append(LedgerRows.failureRow(f)) } }
        guard !rows.isEmpty || !records.isEmpty else { return .none }
        let draft = self
        return ChangeSet(rows: rows, records: records) { draft.ledger.apply(draft) }
    }
}

extension Collection {
    /// Calls `body` on each element in the order `areInIncreasingOrder` gives. Most drafts touch
    /// one agent, one vouch, one event: a collection of fewer than two elements is walked as it
    /// is, where `sorted` would copy even one element into a new array.
    func forEachInOrder(by areInIncreasingOrder: (Element, Element) -> Bool, _ body: (Element) -> Void) {
        if count < 2 {
            for element in self { body(element) }
        } else {
            for element in sorted(by: areInIncreasingOrder) { body(element) }
        }
    }
}
