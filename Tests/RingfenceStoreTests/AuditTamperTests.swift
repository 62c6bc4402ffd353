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

    // MARK: Tiles (the store keeps entries 16 to a row, envelopes and data: `docs/audit.md` §10)

    /// A tile as stored: its first seq, its envelopes and its data.
    struct StoredTile {
        var first: Int64
        var envelopes: [UInt8]
        var data: [UInt8]
    }

    /// The tile holding entry `seq`.
    static func tile(holding seq: Int, in db: Database) throws -> StoredTile {
        let row = try #require(try Row.fetchOne(db, sql: "SELECT first, envelopes, data FROM audit_tiles WHERE first <= ? ORDER BY first DESC LIMIT 1",
                                                arguments: [seq]))
        return StoredTile(first: row[0], envelopes: [UInt8](row[1] as Data), data: [UInt8](row[2] as Data))
    }

    /// Writes `tile` in place of the row at its `first` (no row when it holds no envelope).
    static func put(_ tile: StoredTile, in db: Database) throws {
        try db.execute(sql: "DELETE FROM audit_tiles WHERE first = ?", arguments: [tile.first])
        guard !tile.envelopes.isEmpty else { return }
        try db.execute(sql: "INSERT INTO audit_tiles (first, envelopes, data) VALUES (?, ?, ?)",
                       arguments: [tile.first, Data(tile.envelopes), Data(tile.data)])
    }

    /// Where each envelope of a tile begins and ends.
    static func entryRanges(_ tile: StoredTile) throws -> [Range<Int>] {
        var starts: [Int] = []
        _ = try tile.envelopes.withUnsafeBytes { raw in
            try AuditTiles.scan(raw, first: tile.first) { (_, offset, _) throws(Never) in starts.append(offset) }
        }
        return zip(starts, starts.dropFirst() + [tile.envelopes.count]).map { $0..<$1 }
    }

    /// A varint of `bytes` at `at`, read as `docs/audit.md` lays it out; `at` moves past it.
    static func varint<C: Collection<UInt8>>(_ bytes: C, at: inout C.Index) -> Int {
        var value = 0, shift = 0
        while true {
            let byte = bytes[at]
            at = bytes.index(after: at)
            value |= Int(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { return value }
        }
    }

    /// Where each entry's data (its length and its bytes) begins and ends in a tile's data.
    static func dataRanges(_ tile: StoredTile) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var at = 0
        while at < tile.data.count {
            let start = at
            at += max(0, varint(tile.data, at: &at) - 1)
            ranges.append(start..<at)
        }
        return ranges
    }

    /// An entry's data as a tile holds it.
    static func dataItem(_ bytes: [UInt8]?) -> [UInt8] {
        var item: [UInt8] = []
        AuditTiles.appendData(bytes, to: &item)
        return item
    }

    /// The byte ranges of an envelope's fields (a string's range includes its length).
    static func fieldRanges(_ entry: ArraySlice<UInt8>) -> [String: Range<Int>] {
        var at = entry.startIndex
        var ranges = ["time": at..<at + 8]
        at += 8
        let kindStart = at
        at += varint(entry, at: &at)
        ranges["kind"] = kindStart..<at
        for name in ["session", "agent"] {
            let start = at
            at += max(0, varint(entry, at: &at) - 1)
            ranges[name] = start..<at
        }
        ranges["data_hash"] = at..<at + 32
        ranges["prev"] = at + 32..<at + 64
        ranges["hash"] = at + 64..<at + 96
        return ranges
    }

    /// Sets entry `seq`'s data to `bytes` (nil: none, as a deleted data row leaves it).
    static func setData(_ seq: Int, _ bytes: [UInt8]?, in db: Database) throws {
        var tile = try tile(holding: seq, in: db)
        tile.data.replaceSubrange(dataRanges(tile)[seq - Int(tile.first)], with: dataItem(bytes))
        try put(tile, in: db)
    }

    /// Removes entry `seq`, as deleting its row would: the entries after it in its tile keep
    /// their seqs in a tile of their own.
    static func removeEntry(_ seq: Int, in db: Database) throws {
        let tile = try tile(holding: seq, in: db)
        let index = seq - Int(tile.first)
        let envelope = try entryRanges(tile)[index], data = dataRanges(tile)[index]
        try put(StoredTile(first: tile.first, envelopes: Array(tile.envelopes[..<envelope.lowerBound]), data: Array(tile.data[..<data.lowerBound])), in: db)
        try put(StoredTile(first: Int64(seq + 1), envelopes: Array(tile.envelopes[envelope.upperBound...]), data: Array(tile.data[data.upperBound...])), in: db)
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
                // One bit of one byte of the field (a string's length, the marker of an absent
                // session or agent, and the data's length included).
                var tile = try Self.tile(holding: seq, in: db)
                let index = seq - Int(tile.first)
                if column == "data" {
                    let item = Self.dataRanges(tile)[index]
                    tile.data[item.lowerBound + position % item.count] ^= bit
                } else {
                    let entry = try Self.entryRanges(tile)[index]
                    let field = try #require(Self.fieldRanges(tile.envelopes[entry])[column])
                    tile.envelopes[field.lowerBound + position % field.count] ^= bit
                }
                try Self.put(tile, in: db)
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
        try Self.edit(data) { db in try Self.setData(18_000, Array(#"{"n":1}"#.utf8), in: db) }
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
            var a = try Self.tile(holding: 11, in: db), b = try Self.tile(holding: 30, in: db)
            let aRange = try Self.entryRanges(a)[11 - Int(a.first)], bRange = try Self.entryRanges(b)[30 - Int(b.first)]
            let aEnvelope = a.envelopes[aRange], bEnvelope = b.envelopes[bRange]
            a.envelopes.replaceSubrange(aRange, with: bEnvelope)
            b.envelopes.replaceSubrange(bRange, with: aEnvelope)
            try Self.put(a, in: db)
            try Self.put(b, in: db)
        }
        let report = try Self.verify(path)
        #expect(!report.intact && report.failure?.entry == 11, "\(String(describing: report.failure))")
    }

    @Test func aDeletedDataRowIsTamperingUnlessPurged() throws {
        let scratch = try Scratch()
        let path = scratch.file("state.db")
        try Self.build(at: path)
        let deleted = try Self.copy(path, in: scratch, as: "deleted.db")
        try Self.edit(deleted) { db in try Self.setData(7, nil, in: db) }
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
        try Self.edit(path) { db in try Self.setData(33, nil, in: db) }
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
            var tile = try Self.tile(holding: 40, in: db)
            let index = 40 - Int(tile.first)
            tile.envelopes.removeSubrange(try Self.entryRanges(tile)[index].lowerBound...)
            tile.data.removeSubrange(Self.dataRanges(tile)[index].lowerBound...)
            try Self.put(tile, in: db)
            try db.execute(sql: "DELETE FROM audit_tiles WHERE first > ?", arguments: [tile.first])
            try db.execute(sql: "DELETE FROM audit_checkpoints WHERE size > 40")
        }
        #expect(try Self.verify(path).intact)
        let report = try Self.verify(path, since: kept)
        #expect(report.failure?.message.contains("removed from its tail") == true)
    }
}
