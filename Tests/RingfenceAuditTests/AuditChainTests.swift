import RingfenceWire
import Testing
@testable import RingfenceAudit
import RingfenceVM
import RingfenceTestSupport

/// A well-formed log: envelopes and their canonical data.
struct TestLog {
    /// The envelopes, in order.
    var entries: [AuditEntry] = []
    /// Each entry's canonical data bytes.
    var data: [[UInt8]] = []

    /// A log of `count` entries derived from `seed`.
    static func make(count: Int, seed: UInt64) throws -> TestLog {
        var generator = SeededGenerator(seed: seed)
        var log = TestLog()
        var prev = AuditHash.zero
        for seq in 0..<count {
            let value: Value = .object([
                "n": .number(Double(seq)),
                "note": .string(AuditTestSupport.randomString(&generator)),
                "ok": .bool(Bool.random(using: &generator)),
            ])
            let bytes = try CanonicalJSON.encode(value)
            let entry = try AuditEntry(seq: UInt64(seq), time: try AuditTime(microseconds: 1_795_255_200_000_000 + Int64(seq) * 1000),
                                       kind: seq.isMultiple(of: 3) ? "delta" : "decision",
                                       session: seq.isMultiple(of: 2) ? "s\(seq % 5)" : nil, agent: "a\(seq % 7)",
                                       dataHash: AuditHash.sha256(bytes), prev: prev)
            prev = entry.hash
            log.entries.append(entry)
            log.data.append(bytes)
        }
        return log
    }

    /// The entries paired with their data.
    var pairs: [(AuditEntry, [UInt8]?)] { zip(entries, data).map { ($0, Optional($1)) } }

    /// Entry `seq` rebuilt with `change` applied to its fields.
    func replacing(_ seq: Int, seqValue: UInt64? = nil, prev: AuditHash? = nil, kind: String? = nil) throws -> AuditEntry {
        let old = entries[seq]
        return try AuditEntry(seq: seqValue ?? old.seq, time: old.time, kind: kind ?? old.kind, session: old.session,
                              agent: old.agent, dataHash: old.dataHash, prev: prev ?? old.prev)
    }
}

/// The chain verifier: what it accepts, the first failure it names, and the root it computes.
@Suite struct AuditChainTests {
    @Test func verifiesAnIntactLog() throws {
        let log = try TestLog.make(count: 1000, seed: 1)
        let report = AuditChainVerifier.verify(log.pairs)
        #expect(report.failure == nil)
        #expect(report.count == 1000)
        #expect(report.lastHash == log.entries[999].hash)
        let leaves = log.entries.map { MerkleHash.leaf(entryHash: $0.hash) }
        #expect(report.root == ReferenceMerkle.root(leaves[...]))
    }

    @Test func acceptsPurgedDataAndValuesAsData() throws {
        let log = try TestLog.make(count: 50, seed: 2)
        var verifier = AuditChainVerifier()
        for (position, entry) in log.entries.enumerated() {
            switch position % 3 {
            case 0: try verifier.append(entry, canonicalData: nil)
            case 1: try verifier.append(entry, data: try JSONParser.parse(String(decoding: log.data[position], as: UTF8.self)))
            default: try verifier.append(entry, canonicalData: log.data[position])
            }
        }
        #expect(verifier.count == 50)
        #expect(verifier.lastHash == log.entries[49].hash)
    }

    @Test func namesABrokenPrevLink() throws {
        let log = try TestLog.make(count: 100, seed: 3)
        var pairs = log.pairs
        pairs[41] = (try log.replacing(41, prev: AuditHash.sha256([41])), log.data[41])
        let report = AuditChainVerifier.verify(pairs)
        #expect(report.failure?.message == "entry 41: prev does not match the hash of entry 40")
        #expect(report.count == 41)
        #expect(report.lastHash == log.entries[40].hash)
    }

    @Test func namesAnEditedEntryByTheLinkAfterIt() throws {
        let log = try TestLog.make(count: 100, seed: 4)
        var pairs = log.pairs
        // Rewriting entry 10 keeps its own links but breaks the next entry's prev.
        pairs[10] = (try log.replacing(10, kind: "forged"), log.data[10])
        #expect(AuditChainVerifier.verify(pairs).failure?.message == "entry 11: prev does not match the hash of entry 10")
    }

    @Test func namesChangedDataAndBadSequences() throws {
        let log = try TestLog.make(count: 20, seed: 5)
        var changedData = log.pairs
        changedData[7].1 = Array(#"{"n":7}"#.utf8)
        #expect(AuditChainVerifier.verify(changedData).failure?.message == "entry 7: data does not match its data_hash")

        var gap = log.pairs
        gap.remove(at: 5)
        #expect(AuditChainVerifier.verify(gap).failure?.message == "entry 5: seq is 6, expected 5")

        var renumbered = log.pairs
        renumbered[3] = (try log.replacing(3, seqValue: 9), log.data[3])
        #expect(AuditChainVerifier.verify(renumbered).failure?.message == "entry 3: seq is 9, expected 3")

        var badStart = log.pairs
        badStart[0] = (try log.replacing(0, prev: AuditHash.sha256([0])), log.data[0])
        #expect(AuditChainVerifier.verify(badStart).failure?.message == "entry 0: prev is not 64 zeros")

        let notFromZero = Array(log.pairs.dropFirst())
        #expect(AuditChainVerifier.verify(notFromZero).failure?.message == "entry 0: seq is 1, expected 0")

        var verifier = AuditChainVerifier()
        #expect(throws: AuditChainFailure.self) { try verifier.append(log.entries[0], data: .number(.infinity)) }
        #expect(verifier.failure?.message == "entry 0: data cannot be canonicalised: cannot canonicalise the number `inf`: json numbers are finite")
    }

    @Test func stopsAtTheFirstFailure() throws {
        let log = try TestLog.make(count: 5, seed: 6)
        var verifier = AuditChainVerifier()
        try verifier.append(log.entries[0], canonicalData: log.data[0])
        #expect(throws: AuditChainFailure.self) { try verifier.append(log.entries[2], canonicalData: log.data[2]) }
        // Even the right next entry is refused once the chain has failed.
        #expect(throws: AuditChainFailure.self) { try verifier.append(log.entries[1], canonicalData: log.data[1]) }
        #expect(verifier.count == 1)
        #expect(verifier.failure?.position == 1)
    }

    @Test func givesTheRootAtEveryCheckpointSize() throws {
        let log = try TestLog.make(count: 300, seed: 7)
        var tree = TestTree()
        var verifier = AuditChainVerifier()
        for (entry, data) in zip(log.entries, log.data) {
            let hash = try verifier.append(entry, canonicalData: data)
            try tree.append(MerkleHash.leaf(entryHash: hash))
            #expect(verifier.root == (try MerkleProof.root(size: verifier.count, source: tree.store)))
        }
    }
}
