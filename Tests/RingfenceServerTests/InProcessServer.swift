import RingfenceCompiler
import RingfenceRuntime
@testable import RingfenceServer
import RingfenceTestSupport
import Synchronization

/// Runtime hosts and routers made in the test process, over a store the test chooses.
enum InProcess {
    /// The test policies (`TestPolicies`) compiled, with `runtime` as the runtime file.
    static func policies(_ scratch: Scratch, runtime: String = TestPolicies.runtime) throws -> PolicySet {
        _ = try TestPolicies.directory(scratch)
        try scratch.write("policies/runtime.yaml", runtime)
        let result = Compiler.compile(paths: [scratch.path + "/policies"])
        guard let program = result.program, !result.diagnostics.contains(where: \.isError) else {
            throw HarnessError("the test policies do not compile: \(result.diagnostics.map(\.description))")
        }
        let engine = try Engine(program: program, warnings: result.diagnostics)
        return PolicySet(engine: engine, bundleSHA256: "test", policies: engine.program.policies.map(\.name), warnings: [])
    }

    /// A host over `store` deciding with `policies` (a reload loads the same policies again).
    static func host(_ policies: PolicySet, store: StateStore) throws -> RuntimeHost {
        try RuntimeHost(policies: policies, store: store, signingKey: nil, loader: { .success(policies) })
    }

    /// A router over `host`, batches limited to `maxBatchItems`.
    static func router(_ host: RuntimeHost, maxBatchItems: Int = 10_000) -> Router {
        var configuration = ServerConfiguration()
        configuration.maxBatchItems = maxBatchItems
        return Router(host: host, metrics: ServerMetrics(), configuration: configuration, sagaCounts: { [:] })
    }
}

/// A state store that works as `MemoryStore` until it is taken down, and then refuses every
/// call as an unreachable database would, until it is brought back.
final class FlakyStore: StateStore {
    /// The store behind.
    private let inner = MemoryStore()
    /// True while the store refuses.
    let down = Atomic<Bool>(false)
    /// Calls refused so far.
    let refusals = Atomic<Int>(0)

    /// The store's URL.
    var url: String { "memory:" }

    /// Throws while the store is down.
    private func check() throws(StoreError) {
        guard down.load(ordering: .acquiring) else { return }
        refusals.wrappingAdd(1, ordering: .relaxed)
        throw StoreError(.unavailable, "the state store does not answer")
    }

    /// The snapshot, unless down.
    func load() throws(StoreError) -> StoreSnapshot {
        try check()
        return try inner.load()
    }

    /// Commits, unless down.
    func commit(_ batch: StoreBatch, durability: Durability) throws(StoreError) {
        try check()
        try inner.commit(batch, durability: durability)
    }

    /// Audit entries, unless down.
    func auditEntries(from seq: UInt64, limit: Int) throws(StoreError) -> [StoredAuditEntry] {
        try check()
        return try inner.auditEntries(from: seq, limit: limit)
    }

    /// Merkle nodes, unless down.
    func auditNodes(_ ids: [MerkleNodeID]) throws(StoreError) -> [MerkleNodeID: AuditHash] {
        try check()
        return try inner.auditNodes(ids)
    }

    /// Checkpoints, unless down.
    func checkpoints() throws(StoreError) -> [StoredCheckpoint] {
        try check()
        return try inner.checkpoints()
    }

    /// A session's entry hashes, unless down.
    func auditEntryHashes(session: String) throws(StoreError) -> [AuditHash] {
        try check()
        return try inner.auditEntryHashes(session: session)
    }

    /// Purges, unless down.
    func purgeAuditData(before seq: UInt64) throws(StoreError) -> Int {
        try check()
        return try inner.purgeAuditData(before: seq)
    }
}
