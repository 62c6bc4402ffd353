import RingfenceBytecode
import RingfenceVM

// The joint-liability ledger (SPEC §11): agents with their trust σ, vouches that bond part of a
// voucher's σ for a vouchee, slashes that cascade to vouchers, quarantine, risk, standing and
// attribution. It is the runtime's `LedgerView` and answers the `ledger.*` operations.
//
// Memory: agents and vouches live in arrays addressed by slot (an agent's id → slot once, then
// integers), each agent with the active vouches it gave (`out`) and received (`into`), the Σ of
// its bond shares out and of its bonds in, and the running sum of its history's risk terms; so
// σ_eff, standing and a vouch's exposure check cost one lookup, a cycle check walks only the
// graph between the two agents, and a slash touches only the vouchers it reaches.
//
// Bonds are live: a vouch bonds σ_voucher × share, with the voucher's σ now. When a slash or
// an operator lowers a voucher's σ, every bond it holds shrinks with it, so a voucher's bonds
// never exceed `max_exposure × σ` (the exposure check is on shares: Σ shares ≤ max_exposure).
//
// Concurrency: every call is made under the runtime's lock, inside the operation it belongs to
// (the `LedgerView` calls and the `ledger.*` operations alike); changes are made on a
// `LedgerDraft` and applied when the operation's rows and entries are queued.

/// The joint-liability ledger.
public final class Ledger: LedgerView, @unchecked Sendable {
    // Safety: every `var` is read and written only under the runtime's lock (or, for a ledger
    // read outside a runtime, by the one thread that opened it). The fields every decision
    // reads are `@exclusivity(unchecked)`, as the runtime's own state is (`Runtime.mutex`).
    /// The settings in the ledger's units.
    let settings: LedgerSettings
    /// Agent slots by id.
    @exclusivity(unchecked) var slots: [String: Int32] = [:]
    /// Agents by slot.
    @exclusivity(unchecked) var agents: [LedgerAgent] = []
    /// Each agent's history, by slot.
    var history: [[LedgerEvent]] = []
    /// Vouch slots by id.
    var vouchSlots: [String: Int32] = [:]
    /// Vouches by slot (released ones included).
    var vouches: [LedgerVouch] = []
    /// The active session-scoped vouches of each session.
    var sessionVouches: [String: Set<Int32>] = [:]
    /// Slashes by violation.
    var violations: [String: SlashRecord] = [:]
    /// Recorded attributions by failure.
    var failures: [String: FailureRecord] = [:]
    /// How many agents have a quarantine recorded (expired ones included): zero makes the
    /// quarantine check of every decision free.
    @exclusivity(unchecked) var quarantines = 0
    /// Scratch marks for cycle checks.
    var search = ReachSearch()

    /// A ledger with `settings` (the runtime file's `liability`), rebuilt from a store's rows.
    public init(settings: RuntimeSettings.Liability, rows: [StateRow] = []) throws(StoreError) {
        self.settings = LedgerSettings(settings)
        try load(rows)
    }

    // MARK: LedgerView

    /// σ = min(`trust`, the ledger's σ) and σ_eff, the standing and any quarantine of `agent`;
    /// an agent the ledger does not know yet joins with `trust` and is admitted.
    public func assess(agent: String, trust: Double, at now: Int64) -> LedgerAssessment {
        guard let slot = slots[agent] else {
            return LedgerAssessment(trust: trust, trustEff: trust, standing: .admit, quarantinedUntil: nil)
        }
        let a = agents[Int(slot)]
        let (sigma, effective) = sessionTrust(a, given: trust)
        return LedgerAssessment(trust: sigma, trustEff: effective, standing: standing(risk: a.risk), quarantinedUntil: a.quarantined(at: now))
    }

    /// σ_eff of `agent` now, its σ capped by the σ it joined with (`trust`); nil when unknown.
    public func effectiveTrust(of agent: String, trust: Double, at now: Int64) -> Double? {
        guard let slot = slots[agent] else { return nil }
        return sessionTrust(agents[Int(slot)], given: trust).effective
    }

    /// Until when `agent` is quarantined, if after `now`.
    public func quarantinedUntil(_ agent: String, at now: Int64) -> Int64? {
        guard quarantines > 0, let slot = slots[agent] else { return nil }
        return agents[Int(slot)].quarantined(at: now)
    }

    /// The first join of an agent records its σ (the `session.joined` entry carries it).
    public func joined(agent: String, session: String, trust: Double, at now: Int64) -> ChangeSet {
        guard slots[agent] == nil else { return .none }
        var draft = LedgerDraft(self, at: now)
        let micros = LedgerUnits.micros(trust) ?? 0
        let slot = draft.addAgent(agent, trust: micros)
        draft.record(.trust(at: now, before: nil, after: micros, by: "join", session: session), for: slot)
        return draft.changeSet()
    }

    /// Releases the session's vouches (a `ledger.released` entry each) and counts a clean
    /// session for each of `clean` (the `session.terminated` entry lists them).
    public func sessionEnded(_ session: String, clean: [String], at now: Int64) -> ChangeSet {
        var draft = LedgerDraft(self, at: now)
        (sessionVouches[session] ?? []).forEachInOrder(by: { vouches[Int($0)].id < vouches[Int($1)].id }) { slot in
            draft.release(slot, by: "session")
            draft.records.append(releasedRecord(draft, slot))
        }
        for agent in clean {
            guard let slot = slots[agent] else { continue }
            draft.record(.cleanSession(at: now, session: session), for: slot)
        }
        return draft.changeSet()
    }

    /// A critical breach with `on_critical: kill` quarantines the agent for `liability.quarantine`
    /// (a quarantine of severity 1 for its risk).
    public func quarantine(agent: String, reason: String, at now: Int64) -> ChangeSet {
        guard let slot = slots[agent] else { return .none }
        var draft = LedgerDraft(self, at: now)
        quarantine(&draft, slot, duration: settings.quarantine, reason: reason, severity: LedgerUnits.micro)
        return draft.changeSet()
    }

    // MARK: Reading

    /// (σ for a session, σ_eff): σ is min(`given`, the ledger's σ); σ_eff adds ω·Σ bonds in.
    func sessionTrust(_ a: LedgerAgent, given: Double) -> (sigma: Double, effective: Double) {
        let sigma = min(given, LedgerUnits.value(micros: a.trust))
        guard a.bondsIn > 0, settings.vouchWeight > 0 else { return (sigma, sigma) }
        let micros = LedgerUnits.micros(sigma) ?? 0
        return (sigma, LedgerUnits.value(micros: LedgerUnits.effectiveTrust(sigma: micros, bondsIn: a.bondsIn, weight: settings.vouchWeight)))
    }

    /// The standing a risk gives: deny at `deny_risk`, probation at `probation_risk`, else admit.
    func standing(risk: Int64) -> Standing {
        if risk >= settings.denyRisk { return .deny }
        if risk >= settings.probationRisk { return .probation }
        return .admit
    }

    /// True when `agent` is known.
    public func knows(_ agent: String) -> Bool { slots[agent] != nil }

    // MARK: Applying

    /// Writes a draft's changes into the ledger (once its rows and entries are queued).
    func apply(_ draft: LedgerDraft) {
        // Changed agents in any order, then new ones in slot order (each one's slot is the next).
        var added: [Int32] = []
        for (slot, agent) in draft.agents {
            let index = Int(slot)
            guard index < agents.count else {
                added.append(slot)
                continue
            }
            if (agents[index].quarantineUntil == nil) != (agent.quarantineUntil == nil) {
                quarantines += agent.quarantineUntil == nil ? -1 : 1
            }
            agents[index] = agent
        }
        added.forEachInOrder(by: <) { slot in
            guard let agent = draft.agents[slot] else { return }
            assert(Int(slot) == agents.count, "a ledger draft was applied after another one it did not see")
            agents.append(agent)
            history.append([])
            if agent.quarantineUntil != nil { quarantines += 1 }
        }
        for change in draft.bondsInDeltas { agents[Int(change.slot)].bondsIn += change.delta }
        for (id, slot) in draft.newAgents { slots[id] = slot }
        for e in draft.events { history[Int(e.slot)].append(e.event) }
        // Changed vouches in any order, then new ones in slot order.
        var addedVouches: [Int32] = []
        for (slot, vouch) in draft.vouches {
            guard Int(slot) < vouches.count else {
                addedVouches.append(slot)
                continue
            }
            vouches[Int(slot)] = vouch
            keepSessionVouch(slot, vouch)
        }
        addedVouches.forEachInOrder(by: <) { slot in
            guard let vouch = draft.vouches[slot] else { return }
            assert(Int(slot) == vouches.count, "a ledger draft was applied after another one it did not see")
            vouches.append(vouch)
            keepSessionVouch(slot, vouch)
        }
        for (id, slot) in draft.newVouches { vouchSlots[id] = slot }
        violations.merge(draft.violations) { old, _ in old }
        failures.merge(draft.failures) { old, _ in old }
    }

    /// Keeps the active session-scoped vouches of each session as the vouch in `slot` now is.
    private func keepSessionVouch(_ slot: Int32, _ vouch: LedgerVouch) {
        guard let session = vouch.session else { return }
        if vouch.isActive {
            sessionVouches[session, default: []].insert(slot)
        } else {
            sessionVouches[session]?.remove(slot)
            if sessionVouches[session]?.isEmpty == true { sessionVouches[session] = nil }
        }
    }

    // MARK: Loading

    /// Rebuilds the ledger from its rows as another runtime on a shared store left them (SPEC §15).
    func reload(_ rows: [StateRow]) throws(StoreError) {
        slots = [:]
        agents = []
        history = []
        vouchSlots = [:]
        vouches = []
        sessionVouches = [:]
        violations = [:]
        failures = [:]
        quarantines = 0
        search = ReachSearch()
        try load(rows)
    }

    /// Rebuilds the ledger from a store's rows.
    private func load(_ rows: [StateRow]) throws(StoreError) {
        var vouchRows: [StateRow] = [], eventRows: [StateRow] = []
        for row in rows {
            switch row.key.collection {
            case LedgerRows.agents:
                let agent = try LedgerRows.agent(row)
                slots[agent.id] = Int32(agents.count)
                if agent.quarantineUntil != nil { quarantines += 1 }
                agents.append(agent)
                history.append([])
            case LedgerRows.vouches: vouchRows.append(row)
            case LedgerRows.events: eventRows.append(row)
            case LedgerRows.violations:
                let slash = try LedgerRows.violation(row)
                violations[slash.violation] = slash
            case LedgerRows.failures:
                let failure = try LedgerRows.failure(row)
                failures[failure.failure] = failure
            default: continue
            }
        }
        for row in vouchRows {
            let (voucherID, voucheeID, make) = try LedgerRows.vouch(row)
            guard let voucher = slots[voucherID], let vouchee = slots[voucheeID], voucher != vouchee else {
                throw LedgerRows.bad(row, "it names an agent the ledger does not know")
            }
            let slot = Int32(vouches.count)
            let vouch = make(voucher, vouchee)
            vouchSlots[vouch.id] = slot
            vouches.append(vouch)
            guard vouch.isActive else { continue }
            agents[Int(voucher)].out.append(slot)
            agents[Int(voucher)].sharesOut += vouch.share
            agents[Int(vouchee)].into.append(slot)
            agents[Int(vouchee)].bondsIn += agents[Int(voucher)].trust * vouch.share
            if let session = vouch.session { sessionVouches[session, default: []].insert(slot) }
        }
        for row in eventRows {
            let (agent, seq, event) = try LedgerRows.event(row)
            guard let slot = slots[agent], history[Int(slot)].count == seq else {
                throw LedgerRows.bad(row, "it is not the next event of a known agent")
            }
            history[Int(slot)].append(event)
            agents[Int(slot)].riskSum += event.riskTerm
            agents[Int(slot)].events += 1
        }
        if let agent = firstCycle() {
            throw StoreError(.foreignSchema, "the ledger's active vouches form a cycle through agent `\(agents[Int(agent)].id)`")
        }
    }

    /// An agent on a cycle of active vouches, if any (Kahn's algorithm; none in a sound store).
    private func firstCycle() -> Int32? {
        var indegree = agents.map { $0.into.count }
        var ready = indegree.indices.filter { indegree[$0] == 0 }
        var seen = 0
        while let next = ready.popLast() {
            seen += 1
            for v in agents[next].out {
                let vouchee = Int(vouches[Int(v)].vouchee)
                indegree[vouchee] -= 1
                if indegree[vouchee] == 0 { ready.append(vouchee) }
            }
        }
        guard seen < agents.count else { return nil }
        return indegree.firstIndex { $0 > 0 }.map(Int32.init)
    }

    // MARK: Records

    /// The `ledger.released` entry of the vouch in `slot`, as the draft has it.
    func releasedRecord(_ draft: LedgerDraft, _ slot: Int32) -> AuditRecord {
        let v = draft.vouch(slot)
        var data: [String: Value] = ["vouch": .string(v.id), "voucher": .string(draft.agent(v.voucher).id),
                                     "vouchee": .string(draft.agent(v.vouchee).id), "by": .string(v.released?.by ?? "ledger.release")]
        if let session = v.session { data["session"] = .string(session) }
        return ledgerRecord(.ledgerReleased, agent: draft.agent(v.voucher).id, at: draft.now, data)
    }

    /// An audit record of the ledger (never a session's: the session's audit root is its own).
    func ledgerRecord(_ kind: EntryKind, agent: String?, at now: Int64, _ data: [String: Value]) -> AuditRecord {
        AuditRecord(kind: kind.rawValue, session: nil, agent: agent, time: RuntimeTime.auditTime(now), deferred: .object(data))
    }
}

/// Marks for a bidirectional search: an epoch per agent slot and side, so starting a search
/// clears nothing.
struct ReachSearch {
    /// The epoch of the search that reached each slot forwards.
    var forward: [UInt32] = []
    /// The epoch of the search that reached each slot backwards.
    var backward: [UInt32] = []
    /// The current search's epoch.
    var epoch: UInt32 = 0

    /// Starts a search over `count` slots.
    mutating func begin(count: Int) {
        if forward.count < count {
            forward += Array(repeating: 0, count: count - forward.count)
            backward += Array(repeating: 0, count: count - backward.count)
        }
        if epoch == .max {
            for i in forward.indices { forward[i] = 0; backward[i] = 0 }
            epoch = 0
        }
        epoch += 1
    }
}
