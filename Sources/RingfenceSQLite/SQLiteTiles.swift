import RingfenceAudit
import RingfenceRuntime

// The audit log in tiles (schema version 3). One `audit_tiles` row holds a run of consecutive
// entries — at most `capacity`, the first at seq `first` — their envelopes in one blob and their
// data in another, so a batch of appends inserts one row per 16 entries rather than two per
// entry (`docs/performance.md`, "Envelopes and data in tiles"). A log this store writes starts a
// tile every 16 entries (`first` a multiple of 16), and a commit that ends inside a tile
// rewrites that tile with the new entries after the old.
//
// `envelopes` is the tile's entries back to back, each:
//
//   time       8 bytes   microseconds since 1970, big-endian two's complement
//   kind       varint n, then n bytes of UTF-8 (n ≥ 1)
//   session    varint 0 when the entry has none, else n + 1, then n bytes of UTF-8
//   agent      as session
//   data_hash  32 bytes
//   prev       32 bytes
//   hash       32 bytes  the entry hash as it was written
//
// `data` is the same entries' data back to back, each varint 0 when it was purged, else n + 1
// and then the n bytes of its canonical JSON.
//
// A varint is unsigned LEB128 in its shortest form, at most 5 bytes. Every encoding has one
// reading and every reading one encoding (shortest varints, UTF-8 checked), so any change to a
// tile's bytes changes what an entry reads as, or makes the tile unreadable: a tile whose blobs
// do not read to their last byte, or hold different numbers of entries, is damage, reported at
// the entry where reading failed.

/// The tile encoding of envelopes and data.
enum AuditTiles {
    /// The most entries a tile holds.
    static let capacity = 16
    /// The longest varint.
    static let maximumVarintBytes = 5

    /// One entry of a tile as stored, its strings still bytes in the tile.
    struct Fields {
        /// Microseconds since 1970.
        var time: Int64
        /// The kind's UTF-8 bytes.
        var kind: UnsafeRawBufferPointer
        /// The session's bytes, nil when the entry has none.
        var session: UnsafeRawBufferPointer?
        /// The agent's bytes, nil when the entry has none.
        var agent: UnsafeRawBufferPointer?
        var dataHash: AuditHash
        var prev: AuditHash
        /// The stored entry hash.
        var hash: AuditHash

        /// The envelope at `seq`; throws when a string is not UTF-8 or the time is out of range.
        func entry(seq: UInt64) throws(ColumnProblem) -> AuditEntry {
            guard let time = try? AuditTime(microseconds: time) else {
                throw ColumnProblem("`time` \(time) is outside years 0001 to 9999")
            }
            let kind = try Self.text(kind, "kind")
            let session = try session.map { (bytes) throws(ColumnProblem) in try Self.text(bytes, "session") }
            let agent = try agent.map { (bytes) throws(ColumnProblem) in try Self.text(bytes, "agent") }
            do {
                return try AuditEntry(seq: seq, time: time, kind: kind, session: session, agent: agent, dataHash: dataHash, prev: prev)
            } catch {
                throw ColumnProblem(error.message)
            }
        }

        /// `bytes` as a string; throws when they are not UTF-8.
        private static func text(_ bytes: UnsafeRawBufferPointer, _ name: String) throws(ColumnProblem) -> String {
            guard let text = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw ColumnProblem("`\(name)` is not utf-8 text")
            }
            return text
        }
    }

    // MARK: Writing

    /// Tiles made entry by entry, as the store writes them: an entry goes at the end of the
    /// current tile unless that is full or the entry does not follow its last (a gap, in a log
    /// being migrated), and a finished tile is handed to `put` (its `first`, envelopes and data).
    struct Builder {
        private var first: Int64 = 0
        private var count = 0
        private var envelopes: [UInt8] = []
        private var data: [UInt8] = []

        /// A builder starting a new tile with the first entry added.
        init() {
            reserve()
        }

        /// A builder adding to a stored tile (its `first`, entry count, envelopes and data).
        init(continuing first: Int64, count: Int, envelopes: [UInt8], data: [UInt8]) {
            (self.first, self.count, self.envelopes, self.data) = (first, count, envelopes, data)
            reserve()
        }

        /// Room for a full tile of typical entries.
        private mutating func reserve() {
            envelopes.reserveCapacity(capacity * 192)
            data.reserveCapacity(capacity * 256)
        }

        /// Adds `stored` (its envelope, hash and data), first handing the current tile to `put`
        /// when the entry cannot join it.
        mutating func add(_ stored: StoredAuditEntry, put: (Int64, [UInt8], [UInt8]) throws -> Void) throws {
            // `seq` is at most 2^53 − 1 (`AuditEntry` refuses more), so it always fits.
            let seq = Int64(stored.entry.seq)
            if count == capacity || (count > 0 && seq != first + Int64(count)) {
                try put(first, envelopes, data)
                envelopes.removeAll(keepingCapacity: true)
                data.removeAll(keepingCapacity: true)
                count = 0
            }
            if count == 0 { first = seq }
            append(stored, to: &envelopes)
            appendData(stored.data, to: &data)
            count += 1
        }

        /// Hands the current tile, when it holds an entry, to `put`.
        func finish(put: (Int64, [UInt8], [UInt8]) throws -> Void) throws {
            if count > 0 { try put(first, envelopes, data) }
        }
    }

    /// Appends `stored`'s envelope and hash to `tile`.
    static func append(_ stored: StoredAuditEntry, to tile: inout [UInt8]) {
        let entry = stored.entry
        withUnsafeBytes(of: entry.time.microseconds.bigEndian) { tile.append(contentsOf: $0) }
        appendVarint(UInt64(entry.kind.utf8.count), to: &tile)
        tile.append(contentsOf: entry.kind.utf8)
        appendOptional(entry.session?.utf8, to: &tile)
        appendOptional(entry.agent?.utf8, to: &tile)
        entry.dataHash.withUnsafeBytes { tile.append(contentsOf: $0) }
        entry.prev.withUnsafeBytes { tile.append(contentsOf: $0) }
        stored.hash.withUnsafeBytes { tile.append(contentsOf: $0) }
    }

    /// Appends an entry's data to a tile's `data`: varint 0 for none, else its length + 1 and
    /// its bytes.
    static func appendData<Bytes: Collection<UInt8>>(_ data: Bytes?, to tile: inout [UInt8]) {
        appendOptional(data, to: &tile)
    }

    /// Appends varint 0 for nil, else `bytes`' length + 1 and the bytes (a session, an agent, data).
    private static func appendOptional<Bytes: Collection<UInt8>>(_ bytes: Bytes?, to tile: inout [UInt8]) {
        guard let bytes else { return tile.append(0) }
        appendVarint(UInt64(bytes.count) + 1, to: &tile)
        tile.append(contentsOf: bytes)
    }

    /// Appends `value` as a shortest unsigned LEB128 varint.
    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    // MARK: Reading

    /// Calls `body` with each entry of the tile `bytes` whose first entry is `first`, in order,
    /// with its index in the tile and the offset where its bytes begin; returns how many entries
    /// the tile holds. Throws, with the seq of the entry where reading failed, for a tile that is
    /// empty, holds more than `capacity` entries or does not read to its last byte.
    @discardableResult
    static func scan<E: Error>(_ bytes: UnsafeRawBufferPointer, first: Int64,
                               _ body: (_ index: Int, _ offset: Int, Fields) throws(E) -> Void) throws(TileError<E>) -> Int {
        var reader = Reader(bytes: bytes)
        var index = 0
        guard !bytes.isEmpty else { throw .damaged(seq: first, ColumnProblem("its tile holds no entry")) }
        while !reader.atEnd {
            let offset = reader.offset
            guard index < capacity else {
                throw .damaged(seq: first + Int64(index), ColumnProblem("its tile holds more than \(capacity) entries"))
            }
            let fields: Fields
            do throws(ColumnProblem) {
                fields = try reader.fields()
            } catch {
                throw .damaged(seq: first + Int64(index), error)
            }
            do throws(E) {
                try body(index, offset, fields)
            } catch {
                throw .body(error)
            }
            index += 1
        }
        return index
    }

    /// Why a scan stopped: a damaged tile, or the body's own error.
    enum TileError<E: Error>: Error {
        /// The entry at `seq` does not read.
        case damaged(seq: Int64, ColumnProblem)
        /// The body threw.
        case body(E)
    }

    /// Reads a tile's `data`, one entry's at a time.
    struct DataReader {
        private var reader: Reader

        /// A reader of `bytes`.
        init(_ bytes: UnsafeRawBufferPointer) {
            reader = Reader(bytes: bytes)
        }

        /// True when every entry's data has been read.
        var atEnd: Bool { reader.atEnd }

        /// The next entry's data, nil when it has none.
        mutating func next() throws(ColumnProblem) -> UnsafeRawBufferPointer? {
            guard !reader.atEnd else { throw ColumnProblem("its tile's data ends before its envelopes do") }
            do throws(ColumnProblem) {
                let length = try reader.varint()
                return length == 0 ? nil : try reader.take(length - 1)
            } catch {
                throw ColumnProblem("its data does not read: \(error.detail)")
            }
        }
    }

    /// Reads entries from a tile's bytes.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        /// The next entry's fields.
        mutating func fields() throws(ColumnProblem) -> Fields {
            guard bytes.count - offset >= 8 else { throw ColumnProblem("its tile ends inside it") }
            var time: Int64 = 0
            for _ in 0..<8 {
                time = time << 8 | Int64(bytes[offset])
                offset += 1
            }
            let kindLength = try varint()
            guard kindLength > 0 else { throw ColumnProblem("its `kind` is empty") }
            let kind = try take(kindLength)
            let session = try optionalText()
            let agent = try optionalText()
            return Fields(time: time, kind: kind, session: session, agent: agent,
                          dataHash: try hash(), prev: try hash(), hash: try hash())
        }

        /// A varint, in its shortest form.
        mutating func varint() throws(ColumnProblem) -> Int {
            var value = 0
            for i in 0..<AuditTiles.maximumVarintBytes {
                guard offset < bytes.count else { throw ColumnProblem("its tile ends inside it") }
                let byte = bytes[offset]
                offset += 1
                value |= Int(byte & 0x7F) << (7 * i)
                if byte & 0x80 == 0 {
                    guard byte != 0 || i == 0 else { throw ColumnProblem("a length is not in its shortest form") }
                    return value
                }
            }
            throw ColumnProblem("a length is longer than \(AuditTiles.maximumVarintBytes) bytes")
        }

        /// The next `count` bytes.
        mutating func take(_ count: Int) throws(ColumnProblem) -> UnsafeRawBufferPointer {
            guard count <= bytes.count - offset else { throw ColumnProblem("its tile ends inside it") }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        }

        /// A session or agent: nil for a 0 length, else n + 1 then n bytes.
        mutating func optionalText() throws(ColumnProblem) -> UnsafeRawBufferPointer? {
            let length = try varint()
            return length == 0 ? nil : try take(length - 1)
        }

        /// The next 32 bytes as a hash.
        mutating func hash() throws(ColumnProblem) -> AuditHash {
            RawStatement.hash(copying: try take(AuditHash.byteCount))
        }
    }
}
