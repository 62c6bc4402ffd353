import RingfenceAudit
import RingfenceWire
import RingfenceBytecode
import RingfenceVM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What the audit log takes and gives (SPEC §9): records, receipts, settings, errors and clocks.

/// One thing to record: what happened, to whom, and its data (SPEC §9.1).
public struct AuditRecord: Sendable {
    /// The entry's kind (`decision`, `session.created`, `delta`, …).
    public var kind: String
    /// The session, when the entry belongs to one.
    public var session: String?
    /// The agent, when the entry concerns one.
    public var agent: String?
    /// When it happened.
    public var time: AuditTime
    /// The data, or how to build it when the record is sequenced.
    private var content: Content

    /// A record's data: given, or built when sequenced.
    private enum Content: Sendable {
        /// Data already built, written when the record is sequenced.
        case value(Value)
        /// Data built when the record is sequenced.
        case builder(@Sendable () -> Value)
        /// Data written straight in canonical form when the record is sequenced (no value tree).
        case canonical(@Sendable () throws(AuditError) -> [UInt8])
        /// Data given as a value, already in canonical form with its SHA-256 (or why it cannot be
        /// written, which sequencing reports).
        case encoded(Encoded)
    }

    /// Data written when the record was made, boxed so a record stays as small as its other
    /// kinds (records are copied through the log's queue).
    private final class Encoded: Sendable {
        /// The bytes and their hash, or why the value cannot be written.
        let result: Result<EncodedData, AuditError>

        init(_ result: Result<EncodedData, AuditError>) {
            self.result = result
        }
    }

    /// A record's data in canonical form and its SHA-256.
    typealias EncodedData = (data: [UInt8], hash: AuditHash)

    /// Why the data given when the record was made cannot be written in canonical form (a NaN or
    /// an infinity, nesting past the limit); nil when it was written, or is written later.
    var encodingFailure: AuditError? {
        guard case .encoded(let encoded) = content, case .failure(let error) = encoded.result else { return nil }
        return error
    }

    /// True when the data is a value tree the appender built and left to be written when the
    /// record is sequenced (the runtime's session, saga and ledger entries): many allocations.
    var holdsValueTree: Bool {
        if case .value = content { return true }
        return false
    }

    /// True when the data still has to be built or written when the record is sequenced.
    var isDeferred: Bool {
        if case .encoded = content { return false }
        return true
    }

    /// The data, built when the record is sequenced (so an appender pays nothing for it).
    public var data: @Sendable () -> Value {
        get {
            switch content {
            case .value(let value): { value }
            case .builder(let build): build
            case .canonical(let write): { Self.parse(write) }
            case .encoded(let encoded): { Self.parse { () throws(AuditError) in try encoded.result.get().data } }
            }
        }
        set { content = .builder(newValue) }
    }

    /// The canonical bytes of the data (RFC 8785) and their SHA-256, built now unless they were
    /// when the record was made.
    func encodedData() throws(AuditError) -> EncodedData {
        switch content {
        case .value(let value): return try Self.encode(value)
        case .builder(let build): return try Self.encode(build())
        case .canonical(let write):
            let data = try write()
            return (data, AuditHash.sha256(data))
        case .encoded(let encoded): return try encoded.result.get()
        }
    }

    /// `encodedData()` as a result (what sequencing keeps for each record of a batch).
    func encodedResult() -> Result<EncodedData, AuditError> {
        Result { () throws(AuditError) in try encodedData() }
    }

    /// The envelope of this record's entry at `seq` after `prev`, its data hashing to `dataHash`.
    func entry(seq: UInt64, dataHash: AuditHash, prev: AuditHash) throws(AuditError) -> AuditEntry {
        try AuditEntry(seq: seq, time: time, kind: kind, session: session, agent: agent, dataHash: dataHash, prev: prev)
    }

    /// The canonical bytes of `value` and their SHA-256.
    private static func encode(_ value: Value) throws(AuditError) -> EncodedData {
        let data = try CanonicalJSON.encode(value)
        return (data, AuditHash.sha256(data))
    }

    /// Data written in canonical form, read back as a value (null when it cannot be written).
    private static func parse(_ write: () throws(AuditError) -> [UInt8]) -> Value {
        guard let bytes = try? write() else { return .null }
        return bytes.withUnsafeBufferPointer { (try? JSONParser.parse($0)) ?? .null }
    }

    /// Creates a record whose data is computed when it is sequenced.
    public init(kind: String, session: String? = nil, agent: String? = nil, time: AuditTime, data: @escaping @Sendable () -> Value) {
        self.kind = kind
        self.session = session
        self.agent = agent
        self.time = time
        self.content = .builder(data)
    }

    /// Creates a record whose data is written in canonical form when it is sequenced: `write`
    /// must produce exactly what `CanonicalJSON.encode` makes of the data's value.
    public init(kind: String, session: String? = nil, agent: String? = nil, time: AuditTime,
                canonical write: @escaping @Sendable () throws(AuditError) -> [UInt8]) {
        self.kind = kind
        self.session = session
        self.agent = agent
        self.time = time
        self.content = .canonical(write)
    }

    /// Creates a record with data already built, and writes the data in canonical form now: on
    /// the thread that built the value, which frees it, so the log's one sequencing thread only
    /// hashes and links entries, and appenders on many threads share the work. A value that
    /// cannot be written is refused when the record is appended.
    public init(kind: String, session: String? = nil, agent: String? = nil, time: AuditTime, value: Value) {
        self.kind = kind
        self.session = session
        self.agent = agent
        self.time = time
        self.content = .encoded(Encoded(Result { () throws(AuditError) in try Self.encode(value) }))
    }

    /// Creates a record with data already built, written when the record is sequenced: for
    /// records the runtime makes while it holds its lock, where the writing is better left to
    /// the log's writer thread.
    init(kind: String, session: String? = nil, agent: String? = nil, time: AuditTime, deferred value: Value) {
        self.kind = kind
        self.session = session
        self.agent = agent
        self.time = time
        self.content = .value(value)
    }
}

/// Where a record landed.
public struct AuditReceipt: Sendable, Hashable {
    /// The entry's sequence number.
    public var seq: UInt64
    /// Its entry hash.
    public var hash: AuditHash
}

/// The audit log's settings (the `audit` section of the runtime file, SPEC §7).
public struct AuditSettings: Sendable {
    /// How soon appends are durable.
    public var durability: Durability
    /// A checkpoint every this many entries…
    public var checkpointEvery: UInt64
    /// …or after this long (microseconds) with new entries, whichever comes first.
    public var checkpointInterval: Int64
    /// The checkpoint's origin line.
    public var origin: String
    /// The key checkpoints are signed with; nil for unsigned checkpoints.
    public var signingKey: NoteSigningKey?

    /// The settings of SPEC §7's defaults, with an optional signing key.
    public init(durability: Durability = .group, checkpointEvery: UInt64 = 1000, checkpointInterval: Int64 = 10_000_000,
                origin: String = "ringfence.local/audit", signingKey: NoteSigningKey? = nil) {
        self.durability = durability
        self.checkpointEvery = max(1, checkpointEvery)
        self.checkpointInterval = max(1, checkpointInterval)
        self.origin = origin
        self.signingKey = signingKey
    }
}

/// Why an append failed.
public struct AuditLogError: Error, Sendable, CustomStringConvertible {
    /// One lowercase line.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// Clocks for audit times.
public enum AuditClock {
    /// The system clock (CLOCK_REALTIME), in microseconds.
    public static let system: @Sendable () -> AuditTime = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let micros = Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
        return (try? AuditTime(microseconds: micros)) ?? .earliest
    }
}
