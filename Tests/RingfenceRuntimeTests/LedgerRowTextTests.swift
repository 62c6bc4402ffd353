import RingfenceAudit
import Testing
@testable import RingfenceRuntime
import RingfenceTestSupport
import RingfenceVM

/// The ledger's rows, written member by member (`RowText`), are byte for byte the compact
/// JSON of the documented row objects (`Value.jsonText`, keys sorted) and read back to what was
/// written — over seeded random agents, vouches, events and slashes whose strings need escapes,
/// whose numbers sit at the edges of their ranges and whose optional members come and go.
@Suite struct LedgerRowTextTests {
    /// How many random records of each kind.
    static let rounds = 3_000

    /// Strings that stress the quoting: plain ids, quotes, backslashes, control characters,
    /// non-ASCII text and the empty string.
    static let texts = ["a1", "agent-42", "", "with \"quotes\"", "back\\slash", "tab\there", "line\nbreak", "nul\u{0}x", "\u{1F}",
                        "ünïcödé", "日本語", "emoji 🙂", "slash/inside", "<saga>/<step>"]

    /// A random string from `texts`, sometimes with a random suffix.
    static func text(_ rng: inout SeededGenerator) -> String {
        let base = rng.pick(texts)
        return rng.chance(1, in: 3) ? base + String(rng.below(1_000_000)) : base
    }

    /// A random amount in micro-units, often at an edge (0, 1, one micro-unit, the floor, 1 − ε).
    static func micros(_ rng: inout SeededGenerator) -> Int64 {
        switch rng.below(6) {
        case 0: rng.pick([0, 1, 9, 10, 11, 50_000, 999_999, 1_000_000])
        default: Int64(rng.below(1_000_001))
        }
    }

    /// A random time (µs) between year 1 and year 9999, often near the present.
    static func time(_ rng: inout SeededGenerator) -> Int64 {
        rng.chance(1, in: 4) ? rng.pick([AuditTime.earliest.microseconds, AuditTime.latest.microseconds, 0])
            : 1_795_255_200_000_000 + Int64(rng.below(1_000_000_000_000))
    }

    /// A row's members as the `Value` the format documents, with the version.
    static func expected(_ members: [String: Value]) -> [UInt8] {
        var members = members
        members["v"] = .number(Double(LedgerRows.version))
        return Array(Value.object(members).jsonText.utf8)
    }

    /// A random event of every kind in turn.
    static func event(_ rng: inout SeededGenerator, _ i: Int) -> LedgerEvent {
        let at = time(&rng)
        switch i % 6 {
        case 0:
            return .trust(at: at, before: rng.chance(1, in: 2) ? micros(&rng) : nil, after: micros(&rng), by: rng.pick(["join", "operator"]),
                          session: rng.chance(1, in: 2) ? text(&rng) : nil)
        case 1:
            return .slash(at: at, violation: text(&rng), severity: max(1, micros(&rng)), depth: rng.below(11), before: micros(&rng),
                          after: micros(&rng))
        case 2: return .quarantine(at: at, until: time(&rng), reason: text(&rng), severity: micros(&rng))
        case 3: return .unquarantine(at: at, wasUntil: time(&rng), reason: rng.chance(1, in: 2) ? text(&rng) : nil)
        case 4: return .fault(at: at, failure: text(&rng), share: rng.below(10_001))
        default: return .cleanSession(at: at, session: text(&rng))
        }
    }

    @Test func everyMicroAmountIsWrittenAsJSONTextWritesItsNumber() {
        var mismatches: [Int64] = []
        for micros in Int64(0)...LedgerUnits.micro {
            var w = RowText()
            w.micros("x", micros)
            let expected = Array(Value.object(["x": .number(LedgerUnits.value(micros: micros))]).jsonText.utf8)
            if w.finish() != expected { mismatches.append(micros) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test func agentRowsAreTheDocumentedJSONAndReadBack() throws {
        var rng = SeededGenerator(seed: 0x1ED6E41)
        for _ in 0..<Self.rounds {
            var agent = LedgerAgent(id: Self.text(&rng), trust: Self.micros(&rng), since: Self.time(&rng))
            var members: [String: Value] = ["agent": .string(agent.id), "trust": .number(LedgerUnits.value(micros: agent.trust)),
                                            "since": .string(RuntimeTime.text(agent.since))]
            if rng.chance(1, in: 2) {
                agent.quarantineUntil = Self.time(&rng)
                agent.quarantineReasons = (0..<rng.below(4)).map { _ in Self.text(&rng) }
                members["quarantine_until"] = .string(RuntimeTime.text(agent.quarantineUntil ?? 0))
                members["quarantine_reasons"] = .list(agent.quarantineReasons.map(Value.string))
            }
            let row = LedgerRows.agentRow(agent)
            #expect(row.key == StateKey(LedgerRows.agents, agent.id))
            #expect(row.value == Self.expected(members))
            let back = try LedgerRows.agent(row)
            #expect(back.id == agent.id && back.trust == agent.trust && back.since == agent.since)
            #expect(back.quarantineUntil == agent.quarantineUntil)
            #expect(back.quarantineReasons == agent.quarantineReasons)
        }
    }

    @Test func vouchRowsAreTheDocumentedJSONAndReadBack() throws {
        var rng = SeededGenerator(seed: 0xB0D5)
        for _ in 0..<Self.rounds {
            let share = Self.micros(&rng)
            var released: (at: Int64, by: String, violation: String?)?
            if rng.chance(1, in: 2) {
                released = (Self.time(&rng), rng.pick(["ledger.release", "session", "slash"]), rng.chance(1, in: 2) ? Self.text(&rng) : nil)
            }
            let vouch = LedgerVouch(id: Self.text(&rng), voucher: 0, vouchee: 1, session: rng.chance(1, in: 2) ? Self.text(&rng) : nil,
                                    share: share, bonded: Self.micros(&rng) * share, createdAt: Self.time(&rng), released: released)
            let voucher = Self.text(&rng), vouchee = Self.text(&rng)
            var members: [String: Value] = [
                "vouch": .string(vouch.id), "voucher": .string(voucher), "vouchee": .string(vouchee),
                "bond": .number(LedgerUnits.value(micros: vouch.share)), "bonded": .number(LedgerUnits.value(picos: vouch.bonded)),
                "created_at": .string(RuntimeTime.text(vouch.createdAt)),
            ]
            if let session = vouch.session { members["session"] = .string(session) }
            if let released {
                members["released_at"] = .string(RuntimeTime.text(released.at))
                members["released_by"] = .string(released.by)
                if let violation = released.violation { members["violation"] = .string(violation) }
            }
            let row = LedgerRows.vouchRow(vouch, voucher: voucher, vouchee: vouchee)
            #expect(row.key == StateKey(LedgerRows.vouches, vouch.id))
            #expect(row.value == Self.expected(members))
            let (readVoucher, readVouchee, make) = try LedgerRows.vouch(row)
            let back = make(0, 1)
            #expect(readVoucher == voucher && readVouchee == vouchee)
            #expect(back.id == vouch.id && back.share == vouch.share && back.bonded == vouch.bonded && back.session == vouch.session)
            #expect(back.createdAt == vouch.createdAt && back.released?.at == released?.at)
            #expect(back.released?.by == released?.by && back.released?.violation == released?.violation)
        }
    }

    @Test func eventRowsAreTheEventsValuesAndReadBack() throws {
        var rng = SeededGenerator(seed: 0xE7E27)
        for i in 0..<Self.rounds {
            let event = Self.event(&rng, i)
            let agent = Self.text(&rng), seq = rng.below(2_000_000_000)
            guard case .object(let members) = event.value else {
                Issue.record("the event's value is not an object")
                continue
            }
            let row = LedgerRows.eventRow(agent: agent, seq: seq, event)
            #expect(row.key == StateKey(LedgerRows.events, LedgerRows.eventKey(agent, seq)))
            #expect(row.value == Self.expected(members), "\(event)")
            let back = try LedgerRows.event(row)
            #expect(back.agent == agent && back.seq == seq)
            #expect(back.event == event)
        }
    }

    /// An event's key is the agent, "/", and the sequence number zero-padded to ten digits.
    @Test func eventKeysPadTheirNumberToTenDigits() {
        var rng = SeededGenerator(seed: 0xE7E28)
        let seqs = [0, 7, 9, 10, 99, 12_345, 999_999_999, 1_000_000_000, 9_999_999_999, 10_000_000_000, Int.max]
            + (0..<200).map { _ in rng.below(2_000_000_000) }
        for seq in seqs {
            let agent = Self.text(&rng)
            let digits = String(seq)
            #expect(LedgerRows.eventKey(agent, seq) == agent + "/" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits)
        }
        #expect(LedgerRows.eventKey("did:a", 42) == "did:a/0000000042")
    }

    @Test func violationRowsAreTheDocumentedJSONAndReadBack() throws {
        var rng = SeededGenerator(seed: 0x5A5A)
        for _ in 0..<Self.rounds / 3 {
            let touched = (0..<rng.below(50)).map { _ in (agent: Self.text(&rng), before: Self.micros(&rng), after: Self.micros(&rng), depth: rng.below(11)) }
            let record = SlashRecord(violation: Self.text(&rng), agent: Self.text(&rng), severity: max(1, Self.micros(&rng)),
                                     reason: rng.chance(1, in: 2) ? Self.text(&rng) : nil, at: Self.time(&rng), touched: touched,
                                     released: (0..<rng.below(50)).map { _ in Self.text(&rng) },
                                     escalation: rng.chance(1, in: 2) ? (Self.text(&rng), Self.text(&rng)) : nil)
            var members: [String: Value] = [
                "violation": .string(record.violation), "agent": .string(record.agent),
                "severity": .number(LedgerUnits.value(micros: record.severity)), "at": .string(RuntimeTime.text(record.at)),
                "released": .list(record.released.map(Value.string)),
                "touched": .list(record.touched.map {
                    .object(["agent": .string($0.agent), "before": .number(LedgerUnits.value(micros: $0.before)),
                             "after": .number(LedgerUnits.value(micros: $0.after)), "depth": .number(Double($0.depth))])
                }),
            ]
            if let reason = record.reason { members["reason"] = .string(reason) }
            if let escalation = record.escalation {
                members["saga"] = .string(escalation.saga)
                members["step"] = .string(escalation.step)
            }
            let row = LedgerRows.violationRow(record)
            #expect(row.key == StateKey(LedgerRows.violations, record.violation))
            #expect(row.value == Self.expected(members))
            let back = try LedgerRows.violation(row)
            #expect(back.outcome == record.outcome && back.released == record.released && back.reason == record.reason)
            #expect(back.escalation?.saga == record.escalation?.saga && back.escalation?.step == record.escalation?.step)
        }
    }
}
