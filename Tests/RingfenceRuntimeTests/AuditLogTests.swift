import Foundation
import RingfenceAudit
import RingfenceRuntime
import RingfenceVM
import Testing
import RingfenceTestSupport

/// The audit log over the memory store: sequencing, durability modes, checkpoints, proofs and
/// verification (SPEC §9).
@Suite struct AuditLogTests {
    /// A clock that starts at 2026-11-21T10:00:00Z and advances 1 ms per reading.
    static func clock() -> @Sendable () -> AuditTime {
        SteppingClock().closure { try! AuditTime(microseconds: $0) }
    }

    static let time = try! AuditTime(microseconds: 1_795_255_200_000_000)

    static func record(_ i: Int) -> AuditRecord {
        AuditRecord(kind: "delta", session: "s1", agent: "a\(i % 3)", time: time, value: .object(["n": .number(Double(i))]))
    }

    static let key = try! NoteSigningKey(name: "ringfence.test/audit", seed: Array(repeating: 7, count: 32))

    @Test(arguments: Durability.allCases)
    func appendedEntriesChainAndVerify(_ durability: Durability) throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: durability, checkpointEvery: 10, signingKey: Self.key),
                               clock: Self.clock())
        var receipts: [AuditReceipt] = []
        for i in 0..<25 { receipts += try log.append([Self.record(i)]) }
        try log.flush()
        log.close()
        #expect(log.size == 25)
        if durability == .strict {
            #expect(receipts.map(\.seq) == Array(0..<25))
        } else {
            #expect(receipts.isEmpty)
        }
        let entries = try store.auditEntries(from: 0, limit: 100)
        #expect(entries.map(\.entry.seq) == Array(0..<25))
        #expect(entries.first?.entry.prev == .zero)
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $1.entry.prev == $0.hash })
        #expect(try store.checkpoints().map(\.size) == [10, 20])
        let report = AuditVerification.verify(store, keys: [Self.key.verifierKey])
        #expect(report.intact, "\(String(describing: report.failure))")
        #expect(report.entries == 25 && report.checkpoints == 2 && report.verifiedSignatures == 2)
    }

    /// A record whose value has no canonical form is refused when it is appended, under every
    /// durability: nothing of its append is queued, and the log goes on working.
    @Test(arguments: Durability.allCases)
    func aValueWithoutACanonicalFormIsRefusedAndTheLogGoesOn(_ durability: Durability) throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: durability), clock: Self.clock())
        try log.append([Self.record(0)])
        let bad = AuditRecord(kind: "delta", time: Self.time, value: .object(["n": .number(.nan)]))
        #expect(throws: AuditLogError.self) { try log.append([Self.record(1), bad], rows: [StateRow(StateKey("t", "k"), [1])]) }
        #expect(throws: AuditLogError.self) { try log.enqueue([bad]) }
        try log.append([Self.record(2)])
        try log.flush()
        log.close()
        #expect(log.failure == nil)
        let entries = try store.auditEntries(from: 0, limit: 10)
        #expect(entries.count == 2)
        #expect(try store.load().rows.isEmpty)
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    @Test func strictAppendersShareCommitsAndNeverGap() async throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict), clock: Self.clock())
        let seqs = await withTaskGroup(of: [UInt64].self) { group in
            for t in 0..<8 {
                group.addTask {
                    (0..<200).compactMap { i in try? log.append(Self.record(t * 1000 + i))?.seq }
                }
            }
            return await group.reduce([], +)
        }
        log.close()
        #expect(seqs.sorted() == Array(0..<1600))
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    @Test func stateRowsCommitWithTheirEntries() throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict), clock: Self.clock())
        try log.append(Self.record(1), rows: [StateRow(StateKey("sessions", "s1"), Array("active".utf8))])
        try log.append([], rows: [StateRow(StateKey("sessions", "s2"), Array("handshaking".utf8))])
        try log.append(Self.record(2), deletes: [StateKey("sessions", "s1")])
        log.close()
        let snapshot = try store.load()
        #expect(snapshot.rows == [StateRow(StateKey("sessions", "s2"), Array("handshaking".utf8))])
        #expect(snapshot.auditSize == 2)
    }

    @Test func twoLogsOnOneStoreNeverFork() throws {
        let store = MemoryStore()
        let settings = AuditSettings(durability: .strict)
        let first = try AuditLog(store: store, settings: settings, clock: Self.clock())
        let second = try AuditLog(store: store, settings: settings, clock: Self.clock())
        for i in 0..<20 {
            try (i.isMultiple(of: 2) ? first : second).append(Self.record(i))
        }
        first.close()
        second.close()
        #expect(try store.load().auditSize == 20)
        #expect(AuditVerification.verify(store, keys: []).intact)
    }

    /// The log stores the Merkle nodes of level 4 and up and makes the ones below from the
    /// entries (`AuditNodes`): read back, every node equals the one the entries give, a reopened
    /// log continues from a frontier whose low nodes were made, and every entry's proof verifies.
    @Test func nodesBelowTheStoredLevelsAreMadeFromTheEntries() throws {
        let store = MemoryStore()
        let settings = AuditSettings(durability: .strict, checkpointEvery: 1000, signingKey: Self.key)
        let first = try AuditLog(store: store, settings: settings, clock: Self.clock())
        for i in 0..<38 { try first.append(Self.record(i)) }
        first.close()
        // 38 = 32 + 4 + 2: the reopened log's frontier needs two nodes below level 4.
        let second = try AuditLog(store: store, settings: settings, clock: Self.clock())
        for i in 38..<70 { try second.append(Self.record(i)) }
        var nodes: [MerkleNode] = []
        var frontier = MerkleFrontier()
        for stored in try store.auditEntries(from: 0, limit: 100) {
            nodes += frontier.appendReturningNewNodes(MerkleHash.leaf(entryHash: stored.hash))
        }
        // Every perfect subtree of 70 leaves: 2n − popcount(n).
        #expect(nodes.count == 2 * 70 - 3)
        let kept = try store.auditNodes(nodes.map(\.id))
        #expect(kept.count == nodes.filter { $0.id.level >= 4 }.count && kept.keys.allSatisfy { $0.level >= 4 })
        let read = try AuditNodes.read(nodes.map(\.id), from: store)
        #expect(read == Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.hash) }))
        for seq in [0, 5, 15, 16, 37, 38, 63, 64, 69] as [UInt64] {
            let proof = try AuditInclusionProof.prove(seq, in: store, makeCheckpoint: { try second.checkpoint() })
            let text = String(decoding: try CanonicalJSON.encode(proof.json), as: UTF8.self)
            #expect(AuditProofCheck.check(text, keys: [Self.key.verifierKey]) == .valid(seq: seq, size: 70))
        }
        second.close()
        #expect(AuditVerification.verify(store, keys: [Self.key.verifierKey]).intact)
    }

    @Test func proofsVerifyAndForgeriesDoNot() throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, checkpointEvery: 1000, signingKey: Self.key),
                               clock: Self.clock())
        for i in 0..<37 { try log.append(Self.record(i)) }
        log.close()
        #expect(throws: AuditLogError.self) { try AuditInclusionProof.prove(5, in: store, makeCheckpoint: nil) }
        let signer = try AuditLog(store: store, settings: AuditSettings(durability: .strict, signingKey: Self.key), clock: Self.clock())
        let proof = try AuditInclusionProof.prove(5, in: store, makeCheckpoint: { try signer.checkpoint() })
        signer.close()
        #expect(proof.checkpoint.size == 37)
        let text = String(decoding: try CanonicalJSON.encode(proof.json), as: UTF8.self)
        #expect(AuditProofCheck.check(text, keys: [Self.key.verifierKey]) == .valid(seq: 5, size: 37))
        let other = try NoteSigningKey(name: "ringfence.test/audit", seed: Array(repeating: 8, count: 32))
        guard case .invalid = AuditProofCheck.check(text, keys: [other.verifierKey]) else {
            Issue.record("a proof checked with the wrong key passed")
            return
        }
        // Flip one hex digit of the first proof hash, of the entry's data, of its hash.
        let hash = proof.proof[0].hex
        for forged in [text.replacingOccurrences(of: hash, with: String(hash.dropLast()) + (hash.last == "0" ? "1" : "0")),
                       text.replacingOccurrences(of: #""n":5"#, with: #""n":6"#),
                       text.replacingOccurrences(of: #""agent":"a2""#, with: #""agent":"a1""#)] {
            #expect(forged != text)
            guard case .invalid = AuditProofCheck.check(forged, keys: [Self.key.verifierKey]) else {
                Issue.record("a forged proof passed")
                continue
            }
        }
        guard case .unreadable = AuditProofCheck.check("{}", keys: [Self.key.verifierKey]) else {
            Issue.record("an empty object was read as a proof")
            return
        }
    }

    @Test func verificationWithTheWrongKeyFails() throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, checkpointEvery: 5, signingKey: Self.key),
                               clock: Self.clock())
        for i in 0..<6 { try log.append(Self.record(i)) }
        log.close()
        let other = try NoteSigningKey(name: "someone.else/audit", seed: Array(repeating: 9, count: 32))
        let report = AuditVerification.verify(store, keys: [other.verifierKey])
        #expect(!report.intact)
        #expect(report.failure?.message.contains("not by the given key") == true)
    }

    @Test func sinceDetectsARewrittenHistory() throws {
        let store = MemoryStore()
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, signingKey: Self.key), clock: Self.clock())
        for i in 0..<10 { try log.append(Self.record(i)) }
        let kept = try SignedNote(parsing: try log.checkpoint().note)
        for i in 10..<15 { try log.append(Self.record(i)) }
        log.close()
        let good = AuditVerification.verify(store, keys: [Self.key.verifierKey], since: kept)
        #expect(good.intact && good.extendsSince == 10)
        // The same history rewritten from entry 3 and re-signed: the kept checkpoint exposes it.
        let rewritten = MemoryStore()
        let liar = try AuditLog(store: rewritten, settings: AuditSettings(durability: .strict, signingKey: Self.key), clock: Self.clock())
        for i in 0..<15 { try liar.append(Self.record(i == 3 ? 99 : i)) }
        _ = try liar.checkpoint()
        liar.close()
        #expect(AuditVerification.verify(rewritten, keys: [Self.key.verifierKey]).intact)
        let caught = AuditVerification.verify(rewritten, keys: [Self.key.verifierKey], since: kept)
        #expect(!caught.intact && caught.failure?.message.contains("history was rewritten") == true)
        // A log shorter than the kept checkpoint: its tail was cut.
        let short = MemoryStore()
        let cut = try AuditLog(store: short, settings: AuditSettings(durability: .strict), clock: Self.clock())
        for i in 0..<4 { try cut.append(Self.record(i)) }
        cut.close()
        #expect(AuditVerification.verify(short, keys: [], since: kept).failure?.message.contains("removed from its tail") == true)
    }
}
