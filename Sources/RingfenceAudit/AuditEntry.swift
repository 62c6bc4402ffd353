import RingfenceWire
import RingfenceVM

/// An audit log entry's envelope (SPEC §9.1): what is hashed and chained.
///
/// ```
/// field      JSON type        meaning
/// v          number           format version, always 1
/// seq        number           position in the log: 0, 1, 2, … (at most 2^53 − 1)
/// time       string           `AuditTime` text, e.g. 2026-11-21T10:00:00.000000Z
/// kind       string           what happened (`decision`, `delta`, …); never empty
/// session    string | null    the session, or null when the entry has none
/// agent      string | null    the agent, or null when the entry has none
/// data_hash  string           64 lowercase hex digits: SHA-256 of the RFC 8785 form of the data
/// prev       string           64 lowercase hex digits: the entry hash of entry seq − 1
///                             (64 zeros for entry 0)
/// ```
/// All eight members are always present: an absent session or agent is JSON `null`, never a
/// missing member, so every envelope has the same shape. The canonical bytes are the RFC 8785
/// form of that object (members in the order agent, data_hash, kind, prev, seq, session, time,
/// v), and the entry hash is the SHA-256 of those bytes.
public struct AuditEntry: Sendable, Hashable {
    /// The only envelope version.
    public static let version = 1
    /// The largest `seq`: 2^53 − 1, the largest integer every JSON reader holds exactly.
    public static let maximumSeq: UInt64 = (1 << 53) - 1
    /// The member names, in canonical (UTF-16) order.
    public static let fieldNames = ["agent", "data_hash", "kind", "prev", "seq", "session", "time", "v"]

    /// The entry's position in the log, from 0.
    public let seq: UInt64
    /// When the entry was made.
    public let time: AuditTime
    /// What happened; never empty.
    public let kind: String
    /// The session, when the entry belongs to one.
    public let session: String?
    /// The agent, when the entry concerns one.
    public let agent: String?
    /// The SHA-256 of the RFC 8785 form of the entry's data.
    public let dataHash: AuditHash
    /// The entry hash of entry `seq − 1`, or all zeros for entry 0.
    public let prev: AuditHash

    /// Creates an envelope; a `seq` above `maximumSeq` or an empty `kind` is an error.
    public init(seq: UInt64, time: AuditTime, kind: String, session: String?, agent: String?,
                dataHash: AuditHash, prev: AuditHash) throws(AuditError) {
        guard seq <= Self.maximumSeq else {
            throw AuditError(.entry, AuditMessages.seqOutOfRange(String(seq)))
        }
        guard !kind.isEmpty else { throw AuditError(.entry, AuditMessages.emptyKind) }
        self.seq = seq
        self.time = time
        self.kind = kind
        self.session = session
        self.agent = agent
        self.dataHash = dataHash
        self.prev = prev
    }

    /// Creates the envelope for `data`, hashing its canonical form.
    public init(seq: UInt64, time: AuditTime, kind: String, session: String?, agent: String?,
                data: Value, prev: AuditHash) throws(AuditError) {
        try self.init(seq: seq, time: time, kind: kind, session: session, agent: agent,
                      dataHash: try CanonicalJSON.hash(data), prev: prev)
    }

    /// The canonical (RFC 8785) bytes of the envelope.
    public var canonicalBytes: [UInt8] {
        var output: [UInt8] = []
        appendCanonicalBytes(to: &output)
        return output
    }

    /// The entry hash: SHA-256 of the canonical bytes (written into temporary memory, which for
    /// ordinary envelopes is on the stack).
    public var hash: AuditHash {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: canonicalByteBound) { buffer in
            var writer = CanonicalWriter(buffer)
            write(to: &writer)
            return AuditHash.sha256(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[..<writer.count])))
        }
    }

    /// Appends the canonical bytes to `output`.
    public func appendCanonicalBytes(to output: inout [UInt8]) {
        CanonicalWriter.append(to: &output, bound: canonicalByteBound) { write(to: &$0) }
    }

    /// The most bytes the canonical form can take: 256 for the fixed members and the largest
    /// `seq`, plus the worst-case escaping of the three strings.
    var canonicalByteBound: Int {
        256 + CanonicalWriter.bound(ofString: kind) + CanonicalWriter.bound(ofString: session ?? "")
            + CanonicalWriter.bound(ofString: agent ?? "")
    }

    /// Writes the canonical bytes, laying out the fixed shape directly (the tests check that this
    /// equals `CanonicalJSON.encode(jsonValue)`).
    func write(to writer: inout CanonicalWriter) {
        writer.write(#"{"agent":"#)
        writeOptional(agent, to: &writer)
        writer.write(#","data_hash":""#)
        writer.writeHex(dataHash)
        writer.write(#"","kind":"#)
        writer.writeString(kind)
        writer.write(#","prev":""#)
        writer.writeHex(prev)
        writer.write(#"","seq":"#)
        writer.writeDecimal(seq)
        writer.write(#","session":"#)
        writeOptional(session, to: &writer)
        writer.write(#","time":""#)
        time.write(to: &writer)
        writer.write(#"","v":1}"#)
    }

    /// Writes a JSON string, or `null` for nil.
    private func writeOptional(_ text: String?, to writer: inout CanonicalWriter) {
        if let text {
            writer.writeString(text)
        } else {
            writer.write("null")
        }
    }

    /// The envelope as a JSON object value.
    public var jsonValue: Value {
        .object([
            "v": .number(Double(Self.version)),
            "seq": .number(Double(seq)),
            "time": .string(time.text),
            "kind": .string(kind),
            "session": session.map(Value.string) ?? .null,
            "agent": agent.map(Value.string) ?? .null,
            "data_hash": .string(dataHash.hex),
            "prev": .string(prev.hex),
        ])
    }

    /// Reads an envelope from JSON text (strict: see `init(json:)`).
    public init(parsing text: String) throws(AuditError) {
        let value: Value
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw AuditError(.entry, AuditMessages.entryNotJSON(error.description))
        }
        try self.init(json: value)
    }

    /// Reads an envelope from a JSON object: exactly the eight members, each of its type, `v` 1,
    /// `seq` an integer in 0…2^53 − 1, `time` in the 27-byte form, hashes as 64 lowercase hex
    /// digits, `kind` non-empty. Any unknown, missing or mistyped member is an error.
    public init(json value: Value) throws(AuditError) {
        guard case .object(let members) = value else {
            throw AuditError(.entry, AuditMessages.entryNotObject(value.typeName))
        }
        if let unknown = members.keys.filter({ !Self.fieldNames.contains($0) }).sorted().first {
            throw AuditError(.entry, AuditMessages.unknownEntryField(unknown))
        }
        if let missing = Self.fieldNames.first(where: { members[$0] == nil }) {
            throw AuditError(.entry, AuditMessages.missingEntryField(missing))
        }
        guard case .number(let version) = members["v"], version == Double(Self.version) else {
            throw AuditError(.entry, AuditMessages.badVersion(members["v"] ?? .null))
        }
        let seq = try Self.readSeq(members["seq"] ?? .null)
        let time = try AuditTime(parsing: try Self.readString(members["time"], field: "time"))
        let kind = try Self.readString(members["kind"], field: "kind")
        let session = try Self.readOptionalString(members["session"], field: "session")
        let agent = try Self.readOptionalString(members["agent"], field: "agent")
        let dataHash = try AuditHash(hex: try Self.readString(members["data_hash"], field: "data_hash"), field: "data_hash")
        let prev = try AuditHash(hex: try Self.readString(members["prev"], field: "prev"), field: "prev")
        try self.init(seq: seq, time: time, kind: kind, session: session, agent: agent, dataHash: dataHash, prev: prev)
    }

    /// Reads `seq`: a non-negative integral number no larger than `maximumSeq`.
    private static func readSeq(_ value: Value) throws(AuditError) -> UInt64 {
        guard case .number(let number) = value else {
            throw AuditError(.entry, AuditMessages.wrongEntryFieldType(field: "seq", expected: "an integer", found: value.typeName))
        }
        guard number.sign == .plus, number == number.rounded(.towardZero), number <= Double(maximumSeq) else {
            throw AuditError(.entry, AuditMessages.seqOutOfRange(ECMAScriptNumber.format(number) ?? "\(number)"))
        }
        return UInt64(number)
    }

    /// Reads a member that must be a string.
    private static func readString(_ value: Value?, field: String) throws(AuditError) -> String {
        guard case .string(let text) = value else {
            throw AuditError(.entry, AuditMessages.wrongEntryFieldType(field: field, expected: "a string", found: value?.typeName ?? "nothing"))
        }
        return text
    }

    /// Reads a member that must be a string or null.
    private static func readOptionalString(_ value: Value?, field: String) throws(AuditError) -> String? {
        switch value {
        case .string(let text): return text
        case .null: return nil
        default:
            throw AuditError(.entry, AuditMessages.wrongEntryFieldType(field: field, expected: "a string or null", found: value?.typeName ?? "nothing"))
        }
    }
}
