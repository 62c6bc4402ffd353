import Foundation
import GRDB
import RingfenceAudit
import RingfenceRuntime
@testable import RingfenceSQLite
import RingfenceVM
import Testing
import RingfenceTestSupport

/// Tampering with a SQLite store's audit log (SPEC §9.3): every edit of a stored envelope (in
/// its tile) or data row, a deleted or swapped envelope, a deleted data row and a rewritten,
/// re-signed history is detected by `AuditVerification`, naming the first bad entry where there
/// is one.
@Suite(.serialized) struct AuditTamperTests {
    static let key = try! NoteSigningKey(name: "ringfence.test/audit", seed: Array(repeating: 3, count: 32))
    static let entries = 60

    /// A clock stepping 1 ms from 2026-11-21T10:00:00Z.
    static func clock() -> @Sendable () -> AuditTime {
        SteppingClock().closure { try! AuditTime(microseconds: $0) }
    }

    /// Writes a log of `entries` records (some with a session and agent, all with data) signed
    /// with `key`, a checkpoint every 16 entries; `variant` changes one record's data.
    static func build(at path: String, key: NoteSigningKey = key, variant: Int? = nil, entries: Int = entries) throws {
        let store = try SQLiteStore(path: path, url: "sqlite:\(path)")
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .relaxed, checkpointEvery: 16, signingKey: key),
                               clock: Self.clock())
        let time = try AuditTime(microseconds: 1_795_255_200_000_000)
        for i in 0..<entries {
            let data: Value = .object(["n": .number(Double(i == variant ? 999 : i)), "text": .string("entry number \(i)")])
            try log.append(AuditRecord(kind: i.isMultiple(of: 5) ? "delta" : "decision", session: i.isMultiple(of: 3) ? nil : "s\(i % 4)",
                                       agent: i.isMultiple(of: 7) ? nil : "agent-\(i % 5)", time: time, value: data))
        }
        _ = try log.checkpoint()
        log.close()
        try store.close()
    }

    /// Copies the store at `source` (its WAL files too) to a fresh name in `scratch`.
    static func copy(_ source: String, in scratch: Scratch, as name: String) throws -> String {
        let target = scratch.file(name)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: source + suffix) {
            try FileManager.default.copyItem(atPath: source + suffix, toPath: target + suffix)
        }
        return target
    }

    /// Runs `sql` on the file at `path` as someone editing it would.
    static func edit(_ path: String, _ body: (Database) throws -> Void) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write(body)
        try queue.close()
    }

    // MARK: Tiles (the store keeps envelopes 16 to a row: `docs/audit.md` §10)

    /// The tile holding entry `seq`: its first seq and its bytes.
    static func tile(holding seq: Int, in db: Database) throws -> (first: Int64, bytes: [UInt8]) {
        let row = try #require(try Row.fetchOne(db, sql: "SELECT first, envelopes FROM audit_tiles WHERE first <= ? ORDER BY first DESC LIMIT 1",
                                                arguments: [seq]))
        return (row[0], [UInt8](row[1] as Data))
    }

    /// Where each entry of a tile begins and ends.
    static func entryRanges(_ bytes: [UInt8], first: Int64) throws -> [Range<Int>] {
        var starts: [Int] = []
        _ = try bytes.withUnsafeBytes { raw in
            try AuditTiles.scan(raw, first: first) { (_, offset, _) throws(Never) in starts.append(offset) }
        }
        return zip(starts, starts.dropFirst() + [bytes.count]).map { $0..<$1 }
    }

    /// The byte ranges of an entry's fields, read as `docs/audit.md` lays them out (a string's
    /// range includes its length).
    static func fieldRanges(_ entry: ArraySlice<UInt8>) -> [String: Range<Int>] {
        var at = entry.startIndex
        func varint() -> Int {
            var value = 0, shift = 0
            while true {
                let byte = entry[at]
                at += 1
                value |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { return value }
            }
        }
        var ranges = ["time": at..<at + 8]
        at += 8
        let kindStart = at
        at += varint()
        ranges["kind"] = kindStart..<at
        for name in ["session", "agent"] {
            let start = at
            at += max(0, varint() - 1)
            ranges[name] = start..<at
        }
        ranges["data_hash"] = at..<at + 32
        ranges["prev"] = at + 32..<at + 64
        ranges["hash"] = at + 64..<at + 96
        return ranges
    }

    /// Writes `bytes` as the tile at `first` (nothing, and no row, when empty).
    static func put(_ first: Int64, _ bytes: [UInt8], in db: Database) throws {
        try db.execute(sql: "DELETE FROM audit_tiles WHERE first = ?", arguments: [first])
        if !bytes.isEmpty { try db.execute(sql: "INSERT INTO audit_tiles (first, envelopes) VALUES (?, ?)", arguments: [first, Data(bytes)]) }
    }

    /// Removes entry `seq`'s envelope, as deleting its row would: the entries after it in its
    /// tile keep their seqs in a tile of their own.
    static func removeEntry(_ seq: Int, in db: Database) throws {
        let (first, bytes) = try tile(holding: seq, in: db)
        let ranges = try entryRanges(bytes, first: first)
        let index = seq - Int(first)
        try put(first, Array(bytes[..<ranges[index].lowerBound]), in: db)
        try put(Int64(seq + 1), Array(bytes[ranges[index].upperBound...]), in: db)
    }

    /// Verifies the store at `path` with the test key.
    static func verify(_ path: String, since: SignedNote? = nil) throws -> AuditVerificationReport {
        let store = try SQLiteStore(path: path, url: "sqlite:\(path)")
        defer { try? store.close() }
        return AuditVerification.verify(store, keys: [key.verifierKey], since: since)
    }

    @Test func theUntouchedLogIsIntact() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.build(at: path)
        let report = try Self.verify(path)
        #expect(report.intact, "\(String(describing: report.failure))")
        #expect(report.entries == UInt64(Self.entries) && report.checkpoints == 4 && report.verifiedSignatures == 4)
    }

    /// Flips one byte (one bit of it, or one ASCII letter for text) in a random column of a
    /// random entry or data row, a few hundred times: every edit is detected at its entry.
    @Test func everySingleByteEditIsDetectedAtItsEntry() throws {
        let scratch = try Scratch()
        let original = scratch.file("original.db")
        try Self.build(at: original)
        var generator = SeededGenerator(seed: 9_162)
        let columns = ["time", "kind", "session", "agent", "data_hash", "prev", "hash", "data"]
        var detected = 0, tried = 0
        for round in 0..<300 {
            let seq = Int.random(in: 0..<Self.entries, using: &generator)
            let column = columns[Int.random(in: 0..<columns.count, using: &generator)]
            let position = Int.random(in: 0..<32, using: &generator)
            let bit = UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            let path = try Self.copy(original, in: scratch, as: "t\(round).db")
            var changed = false
            try Self.edit(path) { db in
                if column == "data" {
                    guard let text = try String.fetchOne(db, sql: "SELECT data FROM audit_data WHERE seq = ?", arguments: [seq]) else { return }
                    var bytes = Array(text.utf8)
                    let i = position % bytes.count
                    // Keep it valid UTF-8 text: swap the byte for another printable ASCII character.
                    bytes[i] = bytes[i] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
                    try db.execute(sql: "UPDATE audit_data SET data = ? WHERE seq = ?", arguments: [String(decoding: bytes, as: UTF8.self), seq])
                } else {
                    // One bit of one byte of the field in the envelope's bytes (a string's
                    // length, or the marker of an absent session or agent, included).
                    var (first, bytes) = try Self.tile(holding: seq, in: db)
                    let entry = try Self.entryRanges(bytes, first: first)[seq - Int(first)]
                    let field = try #require(Self.fieldRanges(bytes[entry])[column])
                    bytes[field.lowerBound + position % field.count] ^= bit
                    try Self.put(first, bytes, in: db)
                }
                changed = true
            }
            guard changed else { continue }
            tried += 1
            let report = try Self.verify(path)
            if !report.intact, report.failure?.entry == nil || report.failure?.entry == UInt64(seq) {
                detected += 1
            } else {
                Issue.record("round \(round): a flip in \(column) of entry \(seq) gave \(String(describing: report.failure))")
            }
        }
        #expect(tried >= 200, "only \(tried) edits were made")
        #expect(detected == tried)
    }

    /// A log of more entries than verification reads at once (each chunk is read and hashed on
    /// a thread of its own while the one before is checked): intact, it verifies whole; damage in
    /// a later chunk, and a Merkle node edited or removed deep in the tree, are found where they are.
    @Test func aLogLongerThanAChunkIsVerifiedWholeAndDamageInItFound() throws {
        let scratch = try Scratch()
        let original = scratch.file("long.db")
        let entries = 2 * AuditVerification.chunk + 3_000
        try Self.build(at: original, entries: entries)
        let report = try Self.verify(original)
        #expect(report.intact, "\(String(describing: report.failure))")
        // One checkpoint every 16 entries, and one at the end over the last 8.
        let checkpoints = entries / 16 + 1
        #expect(report.entries == UInt64(entries) && report.checkpoints == checkpoints && report.verifiedSignatures == checkpoints)

        let data = try Self.copy(original, in: scratch, as: "data.db")
        try Self.edit(data) { db in try db.execute(sql: "UPDATE audit_data SET data = '{\"n\":1}' WHERE seq = 18000") }
        #expect(try Self.verify(data).failure?.entry == 18_000)

        // Only nodes of level 4 and up are stored (one per 16 entries, and those above): the
        // ones below are made from the entries when needed.
        let counted = try Self.copy(original, in: scratch, as: "counted.db")
        var counts: [Int?] = []
        try Self.edit(counted) { db in
            counts = [try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_nodes WHERE level < 4"),
                      try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_nodes WHERE level = 4")]
        }
        #expect(counts == [0, entries / 16])

        // The node over leaves 12,000…12,015 (level 4, index 750) is checked when its last leaf is.
        let node = try Self.copy(original, in: scratch, as: "node.db")
        try Self.edit(node) { db in try db.execute(sql: "UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 750") }
        let edited = try Self.verify(node)
        #expect(edited.failure?.entry == 12_015)
        #expect(edited.failure?.message == "merkle node 4/750 does not match the entries it covers")

        // The node over leaves 0…16,383 spans the first two chunks: it is made when they are joined.
        let spanning = try Self.copy(original, in: scratch, as: "spanning.db")
        try Self.edit(spanning) { db in try db.execute(sql: "UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 14 AND idx = 0") }
        let joined = try Self.verify(spanning)
        #expect(joined.failure?.entry == 16_383)
        #expect(joined.failure?.message == "merkle node 14/0 does not match the entries it covers")

        // An entry removed at either side of a chunk boundary is found where the gap starts.
        for seq in [AuditVerification.chunk - 1, AuditVerification.chunk, 2 * AuditVerification.chunk - 1] {
            let gap = try Self.copy(original, in: scratch, as: "gap-\(seq).db")
            try Self.edit(gap) { db in try Self.removeEntry(seq, in: db) }
            let report = try Self.verify(gap)
            #expect(report.failure?.entry == UInt64(seq) && report.entries == UInt64(seq), "\(String(describing: report.failure))")
        }

        let missing = try Self.copy(original, in: scratch, as: "missing.db")
        try Self.edit(missing) { db in try db.execute(sql: "DELETE FROM audit_nodes WHERE level = 4 AND idx = 562") }
        let removed = try Self.verify(missing)
        #expect(removed.failure?.entry == 9_007)
        #expect(removed.failure?.message == "merkle node 4/562 is missing from the store (proofs cannot be made)")
    }

    @Test func aDeletedEntryIsDetectedWhereTheGapStarts() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.build(at: path)
        try Self.edit(path) { db in try Self.removeEntry(23, in: db) }
        let report = try Self.verify(path)
        #expect(report.failure?.entry == 23)
        #expect(report.failure?.message.hasPrefix("entry 23:") == true)
    }

    @Test func swappedEntriesAreDetectedAtTheFirst() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.build(at: path)
        try Self.edit(path) { db in
            // Entry 11's envelope in entry 30's place and the other way round.
            let (a, aBytes) = try Self.tile(holding: 11, in: db), (b, bBytes) = try Self.tile(holding: 30, in: db)
            let aRange = try Self.entryRanges(aBytes, first: a)[11 - Int(a)], bRange = try Self.entryRanges(bBytes, first: b)[30 - Int(b)]
            var aEdited = aBytes, bEdited = bBytes
            aEdited.replaceSubrange(aRange, with: bBytes[bRange])
            bEdited.replaceSubrange(bRange, with: aBytes[aRange])
            try Self.put(a, aEdited, in: db)
            try Self.put(b, bEdited, in: db)
        }
        let report = try Self.verify(path)
        #expect(!report.intact && report.failure?.entry == 11, "\(String(describing: report.failure))")
    }

    @Test func aDeletedDataRowIsTamperingUnlessPurged() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.build(at: path)
        let deleted = try Self.copy(path, in: scratch, as: "deleted.db")
        try Self.edit(deleted) { db in try db.execute(sql: "DELETE FROM audit_data WHERE seq = 7") }
        let report = try Self.verify(deleted)
        #expect(report.failure?.entry == 7)
        #expect(report.failure?.message == "entry 7: its data row is missing, and the log records no purge")
        // Purged through the log: intact, and a row deleted above the purge is still caught.
        let store = try SQLiteStore(path: path, url: "sqlite:\(path)")
        let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, signingKey: Self.key), clock: Self.clock())
        #expect(try log.purge(before: 20, time: AuditTime(microseconds: 1_795_255_300_000_000)) == 20)
        #expect(throws: AuditLogError.self) { try log.purge(before: 1_000, time: AuditTime(microseconds: 1_795_255_300_000_000)) }
        log.close()
        try store.close()
        let purged = try Self.verify(path)
        #expect(purged.intact && purged.purgedData == 20, "\(String(describing: purged.failure))")
        try Self.edit(path) { db in try db.execute(sql: "DELETE FROM audit_data WHERE seq = 33") }
        let after = try Self.verify(path)
        #expect(after.failure?.message == "entry 33: its data row is missing, but the log records purges only below entry 20", "\(String(describing: after.failure))")
    }

    @Test func aRewrittenHistoryResignedWithAnotherKeyIsDetected() throws {
        let scratch = try Scratch()
        let honest = scratch.file("honest.db")
        try Self.build(at: honest)
        let kept = try SignedNote(parsing: try SQLiteStore(path: honest, url: "sqlite:\(honest)").checkpoints()[1].note)
        // The same log with entry 10's data changed, every hash recomputed, signed by someone else.
        let forger = try NoteSigningKey(name: "ringfence.test/audit", seed: Array(repeating: 4, count: 32))
        let forged = scratch.file("forged.db")
        try Self.build(at: forged, key: forger, variant: 10)
        let report = try Self.verify(forged)
        #expect(!report.intact)
        #expect(report.failure?.message.contains("does not verify") == true || report.failure?.message.contains("not by the given key") == true,
                "\(String(describing: report.failure))")
        // A checkpoint kept elsewhere also exposes it, whoever signed.
        let store = try SQLiteStore(path: forged, url: "sqlite:\(forged)")
        defer { try? store.close() }
        let sinceReport = AuditVerification.verify(store, keys: [forger.verifierKey], since: kept)
        #expect(sinceReport.failure?.message.contains("history was rewritten") == true, "\(String(describing: sinceReport.failure))")
    }

    @Test func aTruncatedTailIsCaughtOnlyAgainstACheckpointKeptElsewhere() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.build(at: path)
        let kept = try SignedNote(parsing: try SQLiteStore(path: path, url: "sqlite:\(path)").checkpoints().last!.note)
        try Self.edit(path) { db in
            let (first, bytes) = try Self.tile(holding: 40, in: db)
            try Self.put(first, Array(bytes[..<Self.entryRanges(bytes, first: first)[40 - Int(first)].lowerBound]), in: db)
            try db.execute(sql: "DELETE FROM audit_tiles WHERE first > ?", arguments: [first])
            try db.execute(sql: "DELETE FROM audit_data WHERE seq >= 40")
            try db.execute(sql: "DELETE FROM audit_checkpoints WHERE size > 40")
        }
        #expect(try Self.verify(path).intact)
        let report = try Self.verify(path, since: kept)
        #expect(report.failure?.message.contains("removed from its tail") == true)
    }
}
