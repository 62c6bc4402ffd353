import RingfenceWire
import RingfenceVM

// The ledger's state rows: compact JSON (keys sorted), numbers as the decimals people read
// (read back to the nearest unit, which is exact), times in the audit log's text form. The rows
// a slash writes (agents, vouches, events, the violation) are written by `RowText`, the
// same text as `Value.jsonText` of the object without building it.
//
//   ledger.agents/<agent>             {"v":1, "agent", "trust", "since", "quarantine_until"?, "quarantine_reasons"?}
//   ledger.events/<agent>/<seq>       {"v":1, "at", "event", …}   seq: 10 digits, so key order is history order
//   ledger.vouches/<vouch>            {"v":1, "vouch", "voucher", "vouchee", "session"?, "bond", "bonded",
//                                      "created_at", "released_at"?, "released_by"?, "violation"?}
//   ledger.violations/<violation>     {"v":1, "violation", "agent", "severity", "reason"?, "at",
//                                      "touched": [{agent, before, after, depth}], "released": [ids],
//                                      "saga"?, "step"?}
//   ledger.failures/<failure>         {"v":1, "failure", "at", "shares": [{agent, share}]}
//
// Derived state — bonds in and out, adjacency, risk sums — is rebuilt from these when a store
// is opened; a row that does not read makes the store unopenable (`foreignSchema`).

/// The collections and row formats of the ledger.
enum LedgerRows {
    /// What every ledger collection's name begins with.
    static let prefix = "ledger."
    /// Agents.
    static let agents = "ledger.agents"
    /// History events.
    static let events = "ledger.events"
    /// Vouches.
    static let vouches = "ledger.vouches"
    /// Slashes by violation.
    static let violations = "ledger.violations"
    /// Recorded attributions by failure.
    static let failures = "ledger.failures"
    /// The row format's version.
    static let version = 1

    /// A row of `collection` at `key` holding `members` (with the version).
    static func row(_ collection: String, _ key: String, _ members: [String: Value]) -> StateRow {
        var members = members
        members["v"] = .number(Double(version))
        return StateRow(StateKey(collection, key), Array(Value.object(members).jsonText.utf8))
    }

    /// The key of an agent's `seq`th event.
    static func eventKey(_ agent: String, _ seq: Int) -> String {
        guard seq >= 0 else { return agent + "/" + String(seq) }
        return RuntimeKeys.numbered(agent, "/", UInt64(seq), radix: .decimal, width: 10)
    }

    /// An agent's row.
    static func agentRow(_ a: LedgerAgent) -> StateRow {
        // The fields the row shows, not the agent (whose vouch lists would stay shared with the
        // ledger's until the row is written, and be copied when the ledger next changes them).
        let id = a.id, quarantineUntil = a.quarantineUntil, quarantineReasons = a.quarantineReasons, since = a.since, trust = a.trust
        return StateRow(StateKey(agents, id)) {
            var w = RowText()
            w.string("agent", id)
            if let until = quarantineUntil {
                w.strings("quarantine_reasons", quarantineReasons)
                w.time("quarantine_until", until)
            }
            w.time("since", since)
            w.micros("trust", trust)
            w.version()
            return w.finish()
        }
    }

    /// A vouch's row.
    static func vouchRow(_ v: LedgerVouch, voucher: String, vouchee: String) -> StateRow {
        StateRow(StateKey(vouches, v.id)) {
            var w = RowText()
            w.micros("bond", v.share)
            w.number("bonded", LedgerUnits.value(picos: v.bonded))
            w.time("created_at", v.createdAt)
            if let released = v.released {
                w.time("released_at", released.at)
                w.string("released_by", released.by)
            }
            if let session = v.session { w.string("session", session) }
            w.version()
            if let violation = v.released?.violation { w.string("violation", violation) }
            w.string("vouch", v.id)
            w.string("vouchee", vouchee)
            w.string("voucher", voucher)
            return w.finish()
        }
    }

    /// A slash's row.
    static func violationRow(_ s: SlashRecord) -> StateRow {
        StateRow(StateKey(violations, s.violation)) {
            var w = RowText(capacity: 128 + 96 * s.touched.count + 24 * s.released.count)
            w.string("agent", s.agent)
            w.time("at", s.at)
            if let reason = s.reason { w.string("reason", reason) }
            w.strings("released", s.released)
            if let escalation = s.escalation { w.string("saga", escalation.saga) }
            w.micros("severity", s.severity)
            if let escalation = s.escalation { w.string("step", escalation.step) }
            w.objects("touched", s.touched) { t, touch in
                t.micros("after", touch.after)
                t.string("agent", touch.agent)
                t.micros("before", touch.before)
                t.number("depth", Double(touch.depth))
            }
            w.version()
            w.string("violation", s.violation)
            return w.finish()
        }
    }

    /// The row of `agent`'s `seq`th event: its `value`'s members and the version.
    static func eventRow(agent: String, seq: Int, _ event: LedgerEvent) -> StateRow {
        StateRow(StateKey(events, eventKey(agent, seq))) {
            var w = RowText()
            switch event {
            case .trust(let at, let before, let after, let by, let session):
                w.micros("after", after)
                w.time("at", at)
                if let before { w.micros("before", before) }
                w.string("by", by)
                w.string("event", "trust")
                if let session { w.string("session", session) }
                w.version()
            case .slash(let at, let violation, let severity, let depth, let before, let after):
                w.micros("after", after)
                w.time("at", at)
                w.micros("before", before)
                w.number("depth", Double(depth))
                w.string("event", "slash")
                w.micros("severity", severity)
                w.version()
                w.string("violation", violation)
            case .quarantine(let at, let until, let reason, let severity):
                w.time("at", at)
                w.string("event", "quarantine")
                w.string("reason", reason)
                w.micros("severity", severity)
                w.time("until", until)
                w.version()
            case .unquarantine(let at, let wasUntil, let reason):
                w.time("at", at)
                w.string("event", "unquarantine")
                if let reason { w.string("reason", reason) }
                w.version()
                w.time("was_until", wasUntil)
            case .fault(let at, let failure, let share):
                w.time("at", at)
                w.string("event", "fault")
                w.string("failure", failure)
                w.number("share", Double(share) / 1e4)
                w.version()
            case .cleanSession(let at, let session):
                w.time("at", at)
                w.string("event", "clean_session")
                w.string("session", session)
                w.version()
            }
            return w.finish()
        }
    }

    /// A recorded attribution's row.
    static func failureRow(_ f: FailureRecord) -> StateRow {
        row(failures, f.failure, ["failure": .string(f.failure), "at": .string(RuntimeTime.text(f.at)),
                                  "shares": .list(f.shares.map { .object(["agent": .string($0.agent), "share": .number(Double($0.share) / 1e4)]) })])
    }

    // MARK: Reading

    /// The row's JSON object, checked for the version.
    static func reader(_ row: StateRow) throws(StoreError) -> RowReader {
        let value: Value
        do {
            value = try row.value.withUnsafeBufferPointer { bytes throws(JSONParseError) in try JSONParser.parse(bytes) }
        } catch {
            throw bad(row, "not json (\(error.message))")
        }
        guard let r = RowReader(value), r.int("v") == version else { throw bad(row, "not a version \(version) ledger row") }
        return r
    }

    /// A row that does not read.
    static func bad(_ row: StateRow, _ what: String) -> StoreError {
        StoreError(.foreignSchema, "ledger row `\(row.key.collection)/\(row.key.key)` cannot be read: \(what)")
    }

    /// An agent read back.
    static func agent(_ row: StateRow) throws(StoreError) -> LedgerAgent {
        let r = try reader(row)
        guard let id = r.string("agent"), id == row.key.key, let trust = r.micros("trust"), let since = r.time("since")
        else { throw bad(row, "an agent field is missing or malformed") }
        var agent = LedgerAgent(id: id, trust: trust, since: since)
        if r.members["quarantine_until"] != nil {
            guard let until = r.time("quarantine_until"), let reasons = r.list("quarantine_reasons") else {
                throw bad(row, "the quarantine is malformed")
            }
            agent.quarantineUntil = until
            for reason in reasons {
                guard case .string(let text) = reason else { throw bad(row, "a quarantine reason is not a string") }
                agent.quarantineReasons.append(text)
            }
        }
        return agent
    }

    /// A vouch's fields read back (its parties by id).
    static func vouch(_ row: StateRow) throws(StoreError) -> (voucher: String, vouchee: String, read: (Int32, Int32) -> LedgerVouch) {
        let r = try reader(row)
        guard let id = r.string("vouch"), id == row.key.key, let voucher = r.string("voucher"), let vouchee = r.string("vouchee"),
              let share = r.micros("bond"), let bonded = r.picos("bonded"), let createdAt = r.time("created_at")
        else { throw bad(row, "a vouch field is missing or malformed") }
        var released: (at: Int64, by: String, violation: String?)?
        if r.members["released_at"] != nil {
            guard let at = r.time("released_at"), let by = r.string("released_by") else { throw bad(row, "the release is malformed") }
            released = (at, by, r.string("violation"))
        }
        let session = r.string("session")
        return (voucher, vouchee, { voucherSlot, voucheeSlot in
            LedgerVouch(id: id, voucher: voucherSlot, vouchee: voucheeSlot, session: session, share: share, bonded: bonded,
                        createdAt: createdAt, released: released)
        })
    }

    /// A slash read back.
    static func violation(_ row: StateRow) throws(StoreError) -> SlashRecord {
        let r = try reader(row)
        guard let violation = r.string("violation"), violation == row.key.key, let agent = r.string("agent"),
              let severity = r.micros("severity"), let at = r.time("at"), let touchedValues = r.list("touched"),
              let releasedValues = r.list("released")
        else { throw bad(row, "a slash field is missing or malformed") }
        var touched: [(agent: String, before: Int64, after: Int64, depth: Int)] = []
        for value in touchedValues {
            guard let t = RowReader(value), let a = t.string("agent"), let before = t.micros("before"), let after = t.micros("after"),
                  let depth = t.int("depth") else { throw bad(row, "a touched agent is malformed") }
            touched.append((a, before, after, depth))
        }
        var released: [String] = []
        for value in releasedValues {
            guard case .string(let id) = value else { throw bad(row, "a released vouch is not a string") }
            released.append(id)
        }
        var escalation: (saga: String, step: String)?
        if let saga = r.string("saga") {
            guard let step = r.string("step") else { throw bad(row, "an escalation has no step") }
            escalation = (saga, step)
        }
        return SlashRecord(violation: violation, agent: agent, severity: severity, reason: r.string("reason"), at: at,
                           touched: touched, released: released, escalation: escalation)
    }

    /// A recorded attribution read back.
    static func failure(_ row: StateRow) throws(StoreError) -> FailureRecord {
        let r = try reader(row)
        guard let failure = r.string("failure"), failure == row.key.key, let at = r.time("at"), let shareValues = r.list("shares")
        else { throw bad(row, "an attribution field is missing or malformed") }
        var shares: [(agent: String, share: Int)] = []
        for value in shareValues {
            guard let s = RowReader(value), let agent = s.string("agent"), let share = s.number("share"), share >= 0, share <= 1
            else { throw bad(row, "a share is malformed") }
            shares.append((agent, Int((share * 1e4).rounded())))
        }
        return FailureRecord(failure: failure, at: at, shares: shares)
    }

    /// An event read back, with its agent and sequence number from the key.
    static func event(_ row: StateRow) throws(StoreError) -> (agent: String, seq: Int, event: LedgerEvent) {
        let key = row.key.key
        guard let slash = key.lastIndex(of: "/"), let seq = Int(key[key.index(after: slash)...]) else {
            throw bad(row, "the key is not `<agent>/<seq>`")
        }
        let r = try reader(row)
        guard let event = LedgerEvent(value: .object(r.members)) else { throw bad(row, "the event is malformed") }
        return (String(key[..<slash]), seq, event)
    }
}
