import RingfenceAudit
import Testing
@testable import RingfenceRuntime
import RingfenceTestSupport
import RingfenceVM

/// A session's state row, written member by member (`RowText`), is byte for byte the compact
/// JSON of the documented row object (`Value.jsonText`, keys sorted) and reads back to a session
/// that writes the same row — over seeded random sessions whose strings need escapes, whose
/// numbers and times sit at the edges of their ranges and whose optional members come and go.
@Suite struct SessionRowTextTests {
    /// How many random sessions.
    static let rounds = 2_000

    /// A random string: plain ids and ones that stress the quoting.
    static func text(_ rng: inout SeededGenerator) -> String {
        let base = rng.pick(LedgerRowTextTests.texts)
        return rng.chance(1, in: 3) ? base + String(rng.below(1_000_000)) : base
    }

    /// A random trust, often at an edge.
    static func trust(_ rng: inout SeededGenerator) -> Double {
        rng.chance(1, in: 4) ? rng.pick([0, 1, 0.5, 0.1, 0.85, 1e-7, 0.30000000000000004]) : Double(rng.below(1_000_001)) / 1_000_000
    }

    /// A random time (µs).
    static func time(_ rng: inout SeededGenerator) -> Int64 { LedgerRowTextTests.time(&rng) }

    /// A random optional.
    static func maybe<T>(_ rng: inout SeededGenerator, _ make: (inout SeededGenerator) -> T) -> T? {
        rng.chance(1, in: 2) ? make(&rng) : nil
    }

    /// A random session with up to 4 participants, 3 elevations and 2 kills.
    static func session(_ rng: inout SeededGenerator) -> SessionData {
        var config = SessionConfig(.init())
        config.maxParticipants = rng.pick([1, 10, 1_000]) + rng.below(3)
        config.ttl = Int64(rng.pick([1_000, 3_600_000, 604_800_000]))
        config.minTrust = trust(&rng)
        let id = text(&rng)
        var session = SessionData(id: id, phase: rng.pick(SessionPhase.allCases), config: config, createdAt: time(&rng), expiresAt: time(&rng))
        for i in 0..<rng.below(4) {
            session.elevations.append(ElevationRecord(
                id: "elevation:\(i)", agent: text(&rng), ring: rng.below(4), fromRing: rng.below(4), grantedAt: time(&rng),
                expiresAt: time(&rng), attestation: maybe(&rng, text), reason: maybe(&rng, text),
                ended: maybe(&rng) { r in (time(&r), r.pick(ElevationEvent.allCases)) }))
        }
        for i in 0..<rng.below(5) {
            let agent = text(&rng) + "#\(i)"
            var p = Participant(session: id, agent: agent, trust: trust(&rng), trustEff: trust(&rng), consensus: rng.chance(1, in: 2),
                                ring: rng.below(4), standing: rng.pick([.admit, .probation, .deny]), parent: maybe(&rng, text),
                                joinedAt: time(&rng), window: 60_000_000)
            p.kill = maybe(&rng, text)
            p.breakerUntil = maybe(&rng, time)
            p.violations = rng.pick([0, 1, 7, 1_000_000])
            if !session.elevations.isEmpty, rng.chance(1, in: 2) { p.elevation = rng.below(session.elevations.count) }
            session.participants[agent] = p
            session.order.append(agent)
        }
        for i in 0..<rng.below(3) {
            let handoffs = (0..<rng.below(3)).map { _ in
                Handoff(saga: text(&rng), step: text(&rng), outcome: rng.pick(Handoff.Outcome.allCases))
            }
            session.kills.append(KillRecord(id: "kill:\(i)", agent: text(&rng), reason: text(&rng), substitute: maybe(&rng, text),
                                            at: time(&rng), handoffs: handoffs))
        }
        if rng.chance(1, in: 3) {
            session.terminatedAt = time(&rng)
            session.terminatedBy = rng.pick(["session.terminate", "expiry"])
            session.auditRoot = AuditHash(bytes: (0..<32).map { _ in UInt8(rng.below(256)) })!
        }
        return session
    }

    /// The row as the format documents it: the `Value` object, written by `Value.jsonText`.
    static func expected(_ s: SessionData) -> [UInt8] {
        let t = RuntimeTime.text
        var members: [String: Value] = [
            "v": .number(Double(SessionData.rowVersion)), "session": .string(s.id), "state": .string(s.phase.rawValue),
            "config": .object(["max_participants": .number(Double(s.config.maxParticipants)), "ttl_ms": .number(Double(s.config.ttl)),
                               "min_trust": .number(s.config.minTrust)]),
            "created_at": .string(t(s.createdAt)), "expires_at": .string(t(s.expiresAt)),
        ]
        members["participants"] = .list(s.order.compactMap { s.participants[$0] }.map { p in
            var m: [String: Value] = [
                "agent": .string(p.agent), "trust": .number(p.trust), "trust_eff": .number(p.trustEff),
                "consensus": .bool(p.consensus), "ring": .number(Double(p.ring)), "standing": .string(p.standing.rawValue),
                "joined_at": .string(t(p.joinedAt)), "violations": .number(Double(p.violations)),
            ]
            if let parent = p.parent { m["parent"] = .string(parent) }
            if let kill = p.kill { m["kill"] = .string(kill) }
            if let until = p.breakerUntil { m["breaker_until"] = .string(t(until)) }
            if let elevation = p.elevation { m["elevation"] = .number(Double(elevation)) }
            return .object(m)
        })
        members["elevations"] = .list(s.elevations.map { e in
            var m: [String: Value] = [
                "elevation": .string(e.id), "agent": .string(e.agent), "ring": .number(Double(e.ring)),
                "from_ring": .number(Double(e.fromRing)), "granted_at": .string(t(e.grantedAt)), "expires_at": .string(t(e.expiresAt)),
            ]
            if let attestation = e.attestation { m["attestation"] = .string(attestation) }
            if let reason = e.reason { m["reason"] = .string(reason) }
            if let ended = e.ended {
                m["ended_at"] = .string(t(ended.at))
                m["ended_by"] = .string(ended.by.rawValue)
            }
            return .object(m)
        })
        members["kills"] = .list(s.kills.map { k in
            var m: [String: Value] = ["kill": .string(k.id), "agent": .string(k.agent), "reason": .string(k.reason),
                                      "at": .string(t(k.at)), "handoffs": .list(k.handoffs.map(\.value))]
            if let substitute = k.substitute { m["substitute"] = .string(substitute) }
            return .object(m)
        })
        if let terminatedAt = s.terminatedAt { members["terminated_at"] = .string(t(terminatedAt)) }
        if let terminatedBy = s.terminatedBy { members["terminated_by"] = .string(terminatedBy) }
        if let auditRoot = s.auditRoot { members["audit_root"] = .string(auditRoot.hex) }
        return Array(Value.object(members).jsonText.utf8)
    }

    @Test func sessionRowsAreTheDocumentedJSONAndReadBack() throws {
        var rng = SeededGenerator(seed: 0x5E55_1017)
        var mismatches = 0, first: (String, String)?
        for _ in 0..<Self.rounds {
            let session = Self.session(&rng)
            let row = session.row()
            let expected = Self.expected(session)
            if row.value != expected {
                mismatches += 1
                if first == nil { first = (String(decoding: row.value, as: UTF8.self), String(decoding: expected, as: UTF8.self)) }
            }
            #expect(row.key == StateKey(SessionData.collection, session.id))
            let back = try SessionData(row: row, window: 60_000_000)
            #expect(back.row() == row, "a session row does not read back to itself")
        }
        #expect(mismatches == 0, "\(mismatches) rows differ; first written \(first?.0 ?? "") expected \(first?.1 ?? "")")
    }

    /// A decision reads its participant where the session keeps it (`SessionBox.readParticipant`):
    /// while a queued row still holds the session as it was, the read lends a copy of the table
    /// made for the box, the row keeps the session as it was, and the slot found before the copy
    /// still names the same participant in it.
    @Test func aParticipantReadInPlaceLeavesAQueuedRowAsItWas() {
        var rng = SeededGenerator(seed: 0xB0C5_5107)
        var checked = 0
        for _ in 0..<200 {
            var session = Self.session(&rng)
            guard let agent = session.order.last else { continue }
            session.participants[agent]?.ring = 2
            let box = SessionBox(session)
            let queued = box.data.row()
            let before = queued.value
            guard let slot = box.data.participants.index(forKey: agent) else {
                Issue.record("no slot for \(agent)")
                continue
            }
            let first = box.readParticipant(slot) { p in (p.agent, p.ring, p.bucketKey) }
            let second = box.readParticipant(slot) { p in (p.agent, p.ring, p.bucketKey) }
            #expect(first.0 == agent && second.0 == agent)
            #expect(first.1 == 2 && second.1 == 2)
            #expect(first.2 == Array(session.id.utf8) + [0] + Array(agent.utf8))
            // The box changes after the reads; the queued row does not.
            box.data.participants[agent]?.ring = 0
            #expect(queued.value == before, "a queued row changed after its participant was read in place")
            #expect(box.data.row().value != before)
            checked += 1
        }
        #expect(checked > 100)
    }
}
