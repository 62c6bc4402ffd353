import RingfenceVM

// Vouching (SPEC §11.1). `ledger.vouch` refuses, in this order: a malformed field
// (`invalid_field`); vouching for oneself (`self_vouch`); an agent the ledger does not know
// (`unknown_agent`, the voucher first); a session that does not exist or has ended (checked by
// the runtime); a voucher whose σ is below `min_voucher_trust` (`voucher_trust`); a vouchee that
// already reaches the voucher through active vouches, over any number of hops (`vouch_cycle`);
// bonds that would exceed `σ_voucher × max_exposure` (`exposure`).
//
// The cycle check is a bidirectional breadth-first search — forwards from the vouchee along the
// vouches it gave, backwards from the voucher along the vouches it received, always widening the
// side with fewer vouches to follow — so it stops as soon as the two meet (a cycle) or one side
// runs out (none), and never walks the rest of the graph.

/// The result of `ledger.vouch`.
public struct VouchOutcome: Sendable, Hashable {
    /// The vouch's id.
    public var vouch: String
    /// What it bonds now: σ_voucher × share.
    public var bonded: Double

    /// `{vouch, bonded}`.
    public var value: Value { .object(["vouch": .string(vouch), "bonded": .number(bonded)]) }
}

extension Ledger {
    /// The first checks of `ledger.vouch`: not oneself (`self_vouch`), both known (`unknown_agent`).
    func checkParties(voucher: String, vouchee: String) throws(RuntimeError) {
        guard voucher != vouchee else { throw RuntimeError(.selfVouch, LedgerMessages.selfVouch) }
        guard slots[voucher] != nil else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(voucher)) }
        guard slots[vouchee] != nil else { throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(vouchee)) }
    }

    /// The share a vouch bonds: `bond`, or `liability.bond` when nil; `invalid_field` outside [0, 1].
    func share(_ bond: Double?) throws(RuntimeError) -> Int64 {
        guard let bond else { return settings.bond }
        guard let micros = LedgerUnits.micros(bond) else { throw RuntimeError(.invalidField, LedgerMessages.unitRange("bond")) }
        return micros
    }

    /// `ledger.vouch` once its parties and session are checked: the refusals `voucher_trust`,
    /// `vouch_cycle` and `exposure`, then a vouch bonding σ_voucher × `share`, its id from
    /// `makeID` (called only once every check has passed).
    func vouch(voucher voucherID: String, vouchee voucheeID: String, session: String?, share: Int64, at now: Int64,
               makeID: () throws(RuntimeError) -> String) throws(RuntimeError) -> (VouchOutcome, ChangeSet) {
        try checkParties(voucher: voucherID, vouchee: voucheeID)
        guard let voucher = slots[voucherID], let vouchee = slots[voucheeID] else {
            throw RuntimeError(.unknownAgent, LedgerMessages.unknownAgent(voucherID))
        }
        let sigma = agents[Int(voucher)].trust
        guard sigma >= settings.minVoucherTrust else {
            throw RuntimeError(.voucherTrust, LedgerMessages.voucherTrust(voucherID, sigma, settings.minVoucherTrust))
        }
        guard !reaches(from: vouchee, to: voucher) else {
            throw RuntimeError(.vouchCycle, LedgerMessages.vouchCycle(voucher: voucherID, vouchee: voucheeID))
        }
        // The contract's check, σ × (Σ shares + share) > σ × max_exposure, made on the shares so
        // that it holds at σ = 0 too: bonds are live, and an operator may raise σ later.
        let shares = agents[Int(voucher)].sharesOut
        guard shares + share <= settings.maxExposure else {
            throw RuntimeError(.exposure, LedgerMessages.exposure(voucherID, sigma: sigma, shares: shares, share: share, limit: settings.maxExposure))
        }
        let requested = sigma * share
        let id = try makeID()
        var draft = LedgerDraft(self, at: now)
        draft.addVouch(id: id, voucher: voucher, vouchee: vouchee, session: session, share: share)
        var data: [String: Value] = ["vouch": .string(id), "voucher": .string(voucherID), "vouchee": .string(voucheeID),
                                     "bond": .number(LedgerUnits.value(micros: share)), "bonded": .number(LedgerUnits.value(picos: requested))]
        if let session { data["session"] = .string(session) }
        draft.records.append(ledgerRecord(.ledgerVouched, agent: voucherID, at: now, data))
        return (VouchOutcome(vouch: id, bonded: LedgerUnits.value(picos: requested)), draft.changeSet())
    }

    /// `ledger.release`: ends an active vouch now (`vouch_not_found` for an unknown id). Releasing
    /// a vouch that has ended already changes nothing and returns the same result.
    func release(_ id: String, at now: Int64) throws(RuntimeError) -> (Value, ChangeSet) {
        guard let slot = vouchSlots[id] else { throw RuntimeError(.vouchNotFound, LedgerMessages.vouchNotFound(id)) }
        let result = Value.object(["vouch": .string(id), "state": .string("released")])
        guard vouches[Int(slot)].isActive else { return (result, .none) }
        var draft = LedgerDraft(self, at: now)
        draft.release(slot, by: "ledger.release")
        draft.records.append(releasedRecord(draft, slot))
        return (result, draft.changeSet())
    }

    /// True when the agent in `start` reaches the agent in `goal` through a chain of active
    /// vouches (`start` vouches for x, x for y, … for `goal`), or is it.
    func reaches(from start: Int32, to goal: Int32) -> Bool {
        if start == goal { return true }
        var marks = ReachSearch()
        swap(&marks, &search)
        defer { swap(&marks, &search) }
        marks.begin(count: agents.count)
        let epoch = marks.epoch
        let agents = self.agents, vouches = self.vouches
        marks.forward[Int(start)] = epoch
        marks.backward[Int(goal)] = epoch
        var forward: [Int32] = [start], backward: [Int32] = [goal], next: [Int32] = []
        var forwardCost = agents[Int(start)].out.count, backwardCost = agents[Int(goal)].into.count
        while forwardCost > 0, backwardCost > 0 {
            next.removeAll(keepingCapacity: true)
            var cost = 0
            if forwardCost <= backwardCost {
                for u in forward {
                    for v in agents[Int(u)].out {
                        let w = Int(vouches[Int(v)].vouchee)
                        if marks.backward[w] == epoch { return true }
                        guard marks.forward[w] != epoch else { continue }
                        marks.forward[w] = epoch
                        next.append(Int32(w))
                        cost += agents[w].out.count
                    }
                }
                swap(&forward, &next)
                forwardCost = cost
            } else {
                for u in backward {
                    for v in agents[Int(u)].into {
                        let w = Int(vouches[Int(v)].voucher)
                        if marks.forward[w] == epoch { return true }
                        guard marks.backward[w] != epoch else { continue }
                        marks.backward[w] = epoch
                        next.append(Int32(w))
                        cost += agents[w].into.count
                    }
                }
                swap(&backward, &next)
                backwardCost = cost
            }
        }
        return false
    }
}
