import Foundation
import RingfenceAudit
import RingfenceRuntime
import RingfenceStores
import RingfenceTestSupport
import Testing

/// A backend of the conformance suite: a store URL in which `{dir}` stands for a fresh scratch
/// directory, and `{database}` for a fresh database in the test process's PostgreSQL cluster
/// (`PostgresTestCluster.shared`, started on first use). Adding a backend to every conformance
/// test is one line in `all`.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    /// Every backend the conformance suite runs against.
    static let all: [StoreBackend] = [
        StoreBackend("memory:"),
        StoreBackend("sqlite:{dir}/state.db"),
        StoreBackend("postgres://postgres@/{database}?host={cluster}"),
    ]

    /// The URL template.
    let template: String

    /// Creates a backend from its URL template.
    init(_ template: String) { self.template = template }

    /// The backend's name in test results.
    var testDescription: String { template }

    /// The URL for a store in `scratch` (for PostgreSQL, the scratch's own database, created
    /// when first asked for).
    func url(in scratch: Scratch) throws -> String {
        guard template.contains("{database}") else { return template.replacingOccurrences(of: "{dir}", with: scratch.path) }
        let cluster = try PostgresTestCluster.require()
        return template.replacingOccurrences(of: "{database}", with: try cluster.database(for: scratch))
            .replacingOccurrences(of: "{cluster}", with: cluster.directory)
    }

    /// Opens a new store in `scratch`.
    func open(in scratch: Scratch) throws -> StateStore {
        try Stores.open(url: url(in: scratch))
    }

    /// Opens the store in `scratch` again (for a persistent backend, the same data; for
    /// `memory:`, the same object, since nothing outlives it).
    func reopen(_ store: StateStore, in scratch: Scratch) throws -> StateStore {
        template == "memory:" ? store : try Stores.open(url: url(in: scratch))
    }
}

/// Builds valid audit batches the way the runtime's writer does: consecutive entries linked by
/// `prev`, their Merkle nodes, and checkpoints on request.
struct LogBuilder {
    /// The number of entries built so far (the next `seq`).
    private(set) var size: UInt64 = 0
    /// The hash of the last entry built.
    private(set) var lastHash: AuditHash = .zero
    /// The Merkle frontier over the entries built.
    private(set) var frontier = MerkleFrontier()
    /// Every entry built, in order.
    private(set) var entries: [StoredAuditEntry] = []
    /// Every node built.
    private(set) var nodes: [MerkleNode] = []
    /// Every checkpoint built.
    private(set) var checkpoints: [StoredCheckpoint] = []

    /// A builder for an empty log.
    init() {}

    /// A builder that continues the log stored in `store` (its head and Merkle nodes).
    init(continuing store: StateStore) throws {
        let snapshot = try store.load()
        size = snapshot.auditSize
        lastHash = snapshot.lastHash
        frontier = try MerkleFrontier(size: snapshot.auditSize, source: StoreNodeSource(frontierOf: snapshot.auditSize, in: store))
    }

    /// The time of entry `seq`: a fixed base plus `seq` microseconds.
    static func time(_ seq: UInt64) -> AuditTime {
        (try? AuditTime(microseconds: 1_800_000_000_000_000 + Int64(seq))) ?? .earliest
    }

    /// The canonical data of entry `seq`, padded with `padding` bytes of text.
    static func data(_ seq: UInt64, padding: Int = 0) -> [UInt8] {
        Array(#"{"n":\#(seq),"pad":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: padding) + Array(#""}"#.utf8)
    }

    /// The next `count` entries as a batch (with their nodes, a checkpoint when asked, and
    /// `puts`/`deletes` beside them).
    mutating func batch(_ count: Int, kind: String = "decision", session: String? = "s1", agent: String? = nil,
                        data: ((UInt64) -> [UInt8]?)? = nil, checkpoint: Bool = false,
                        puts: [StateRow] = [], deletes: [StateKey] = []) throws -> StoreBatch {
        var batch = StoreBatch()
        batch.puts = puts
        batch.deletes = deletes
        for _ in 0..<count {
            let bytes = data.map { $0(size) } ?? Self.data(size)
            let entry = try AuditEntry(seq: size, time: Self.time(size), kind: kind, session: session, agent: agent,
                                       dataHash: AuditHash.sha256(bytes ?? []), prev: lastHash)
            let stored = StoredAuditEntry(entry: entry, hash: entry.hash, data: bytes)
            batch.entries.append(stored)
            entries.append(stored)
            let made = frontier.appendReturningNewNodes(MerkleHash.leaf(entryHash: stored.hash))
            batch.nodes += made
            nodes += made
            size += 1
            lastHash = stored.hash
        }
        if checkpoint {
            let note = try Checkpoint(origin: "ringfence.test/audit", size: size, root: frontier.root).unsignedNote.formatted
            let made = StoredCheckpoint(size: size, root: frontier.root, note: note, time: Self.time(size))
            batch.checkpoints.append(made)
            checkpoints.append(made)
        }
        return batch
    }
}

/// Every entry of `store`, read in chunks of `chunk`.
func allEntries(_ store: StateStore, chunk: Int = 1000) throws -> [StoredAuditEntry] {
    var entries: [StoredAuditEntry] = []
    while true {
        let next = try store.auditEntries(from: UInt64(entries.count), limit: chunk)
        if next.isEmpty { return entries }
        entries += next
    }
}

/// Runs `body` and returns the store error it throws, or nil when it throws none (another
/// error is recorded as a test failure).
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a store error, got \(error)")
        return nil
    }
}

/// A stored row edited by hand in SQL, the read that meets it, and a fragment of the message
/// that read must give (`{url}` stands for the store's URL): the damage suites of every backend.
struct StoreDamage: Sendable, CustomTestStringConvertible {
    /// The SQL that damages the store.
    let sql: String
    /// The read that meets the damage.
    let read: @Sendable (StateStore) throws -> Void
    /// A fragment of the message.
    let fragment: String
    /// The name in test results.
    var testDescription: String { fragment }

    /// SQL writing the bytes `hex` over `count` bytes from byte `offset` of the SQLite store's
    /// tile at 0 (concatenation makes text, so the result is cast back to a blob).
    static func replace(at offset: Int, count: Int, with hex: String) -> String {
        "UPDATE audit_tiles SET envelopes = CAST(substr(envelopes, 1, \(offset)) || x'\(hex)' || substr(envelopes, \(offset + count + 1)) AS BLOB) WHERE first = 0"
    }
}
