import RingfenceAudit
import RingfenceBytecode
import Testing
@testable import RingfenceRuntime
import RingfenceTestSupport
import RingfenceVM

/// The session entries written straight in canonical form (`SessionEntryData`) are byte for
/// byte `CanonicalJSON.encode` of the members they had as value trees, over seeded random ids
/// that need escapes, trust values whose shortest form is long, times at the edges of the years
/// the log writes, and parents present and absent.
@Suite struct SessionEntryDataTests {
    /// How many random rounds.
    static let rounds = 2_000

    static func text(_ rng: inout SeededGenerator) -> String { LedgerRowTextTests.text(&rng) }

    @Test func sessionEntriesWrittenInCanonicalFormAreTheirValuesEncoded() throws {
        var rng = SeededGenerator(seed: 0x5E55_10E)
        for _ in 0..<Self.rounds {
            let session = Self.text(&rng), agent = Self.text(&rng)
            var config = SessionConfig(RuntimeSettings.Sessions())
            config.maxParticipants = rng.pick([1, 10, 1_000])
            config.ttl = rng.pick([1_000, 1_500, 3_600_000, 604_800_000, Int64(rng.below(1_000_000_000))])
            config.minTrust = rng.pick([0, 0.3, 1, 0.30000000000000004, Double(rng.below(1_000)) / 1_000])
            let expiresAt = LedgerRowTextTests.time(&rng)
            let created: Value = .object(["session": .string(session), "config": config.value,
                                          "expires_at": .string(RuntimeTime.text(expiresAt))])
            #expect(try SessionEntryData.created(session: session, config: config, expiresAt: expiresAt) == CanonicalJSON.encode(created))

            let trust = rng.pick([0, 1, 0.85, 1e-7, Double(rng.below(1_000_000)) / 1_000_000])
            let trustEff = rng.pick([trust, 0.1 + 0.2, 0.5])
            let consensus = rng.chance(1, in: 2), ring = rng.below(4), standing = rng.pick(Standing.allCases)
            let parent: String? = rng.chance(1, in: 2) ? Self.text(&rng) : nil
            let joined: Value = .object([
                "session": .string(session), "agent": .string(agent), "trust": .number(trust), "trust_eff": .number(trustEff),
                "consensus": .bool(consensus), "ring": .number(Double(ring)), "standing": .string(standing.rawValue),
                "parent": parent.map(Value.string) ?? .null,
            ])
            #expect(try SessionEntryData.joined(session: session, agent: agent, trust: trust, trustEff: trustEff, consensus: consensus,
                                                ring: ring, standing: standing, parent: parent) == CanonicalJSON.encode(joined))

            #expect(SessionEntryData.activated(session: session) == (try CanonicalJSON.encode(.object(["session": .string(session)]))))

            let participants = (0..<rng.below(4)).map { _ in Self.text(&rng) }
            let clean = participants.filter { _ in rng.chance(1, in: 2) }
            let root = AuditHash.sha256(utf8: session), entries = rng.below(100_000), cause = rng.pick(["terminate", "expiry"])
            let terminated: Value = .object([
                "session": .string(session), "terminated_by": .string(cause), "audit_root": .string(root.hex),
                "entries": .number(Double(entries)), "participants": .list(participants.map(Value.string)),
                "clean": .list(clean.map(Value.string)),
            ])
            #expect(SessionEntryData.terminated(session: session, cause: cause, auditRoot: root, entries: entries,
                                                participants: participants, clean: clean) == (try CanonicalJSON.encode(terminated)))
        }
    }
}
