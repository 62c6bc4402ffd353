import Foundation
import RingfenceTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A per-rule limit shared by `ringfence serve` nodes on one PostgreSQL database (SPEC §15): N
/// admitted across all of them, with no slack (docs/scaling.md: buckets are decided under the
/// store's tenure, nothing is leased).
@Suite(.serialized) struct MultiNodeLimitTests {
    /// One rule limited to 100 writes an hour per agent: a token comes back every 36 s, so
    /// none does while the test runs and exactly 100 may be admitted.
    static let policy = """
        ringfence: 1
        kind: policy
        name: shared-limit
        rules:
          - id: write-out
            effect: allow
            action: fs.write
            resources: ["/workspace/out/**"]
            limit: 100/hour
            reason: writes are limited

        """

    @Test func aSharedRuleLimitAdmitsExactlyNAcrossEveryNode() throws {
        let postgres = try PostgresTestCluster.require()
        let url = postgres.url(database: try postgres.createDatabase())
        let scratch = try Scratch("multinode-limit")
        let files = [try scratch.write("policy.yaml", Self.policy), try scratch.write("runtime.yaml", MultiNodeTests.runtime)]
        let nodes = try (0..<3).map { _ in try ServerProcess(["-p"] + files + ["--state", url]) }
        let cluster = MultiNodeTests.Cluster(url: url, nodes: nodes, scratch: scratch)
        try MultiNodeTests.op(nodes[0], "session.create", #"{"session":"s1"}"#)
        try MultiNodeTests.op(nodes[1], "session.join", #"{"session":"s1","agent":"w1","trust":0.9}"#)
        try MultiNodeTests.op(nodes[2], "session.activate", #"{"session":"s1"}"#)
        // 150 writes sent at once, 50 through each node on 10 connections each.
        let write = #"{"session":"s1","request":{"agent":{"id":"w1"},"action":"fs.write","resource":"/workspace/out/r.txt"}}"#
        let codes = Mutex<[String: Int]>([:])
        MultiNodeTests.inParallel(30) { t in
            guard let connection = try? HTTPConnection(port: nodes[t % 3].port) else { return }
            for _ in 0..<5 {
                let reply = try? connection.request("POST", "/v1/decide", body: write, headers: ["content-type": "application/json"])
                let code = (reply?.json as? [String: Any])?["code"] as? String ?? "failed: \(reply?.body ?? "no answer")"
                codes.withLock { $0[code, default: 0] += 1 }
            }
        }
        let seen = codes.withLock { $0 }
        #expect(seen == ["allow": 100, "rate_limit": 50], "\(seen)")
        cluster.stop()
        #expect(try cluster.verify()["intact"] as? Bool == true)
    }
}

/// Sagas across `ringfence serve` nodes on one PostgreSQL database (SPEC §15): a node killed
/// with SIGKILL in the middle of twenty sagas leaves them all finished by the other nodes, each
/// step's effect happening once.
@Suite(.serialized) struct MultiNodeSagaTests {
    /// Requests and effects per idempotency key seen by the step service.
    static func stats(_ service: StepServiceProcess) throws -> [String: (requests: Int, effects: Int)] {
        let reply = try HTTPConnection(port: service.port).request("GET", "/_stats")
        guard let keys = (reply.json as? [String: Any])?["keys"] as? [String: [String: Int]] else {
            throw HarnessError("the step service's stats do not read: \(reply.body)")
        }
        return keys.mapValues { ($0["requests"] ?? 0, $0["effects"] ?? 0) }
    }

    @Test func aNodeKilledInTheMiddleOfTwentySagasLeavesThemAllFinishedByTheOthers() throws {
        let service = try StepServiceProcess()
        let postgres = try PostgresTestCluster.require()
        let url = postgres.url(database: try postgres.createDatabase())
        let scratch = try Scratch("multinode-sagas")
        let runtimeFile = try scratch.write("runtime.yaml", MultiNodeTests.runtime)
        let sources = [Repository.url("examples/sagas/policy.yaml").path, Repository.url("examples/sagas/slow.yaml").path, runtimeFile]
        // Leases of one second: the survivors look for orphaned sagas every half second.
        let nodes = try (0..<3).map { _ in try ServerProcess(["-p"] + sources + ["--state", url, "--saga-lease", "1"]) }
        try MultiNodeTests.op(nodes[0], "session.create", #"{"session":"shop"}"#)
        try MultiNodeTests.op(nodes[1], "session.join", #"{"session":"shop","agent":"did:shop:clerk","trust":0.9}"#)
        try MultiNodeTests.op(nodes[2], "session.activate", #"{"session":"shop"}"#)

        // Twenty sagas of three one-second steps, all started on the first node at once (each
        // answer would come when its saga ends; the node dies first).
        let ids = (1...20).map { "saga-\($0)" }
        for id in ids {
            let body = #"{"saga":"slow","session":"shop","saga_id":"\#(id)","base_url":"\#(service.baseURL)"}"#
            Thread { _ = try? nodes[0].post("/v1/ops/saga.start", body) }.start()
        }
        /// The state of saga `id` as `node` reads it, nil while it is not stored.
        func state(_ id: String, on node: ServerProcess) -> String? {
            guard let reply = try? node.post("/v1/ops/saga.get", #"{"saga_id":"\#(id)"}"#), reply.status == 200 else { return nil }
            return (reply.json as? [String: Any])?["state"] as? String
        }
        let started = eventually(within: 30, every: 0.1) { ids.allSatisfy { state($0, on: nodes[1]) != nil } && ((try? Self.stats(service).count) ?? 0) >= 1 }
        #expect(started, "the sagas did not all start on the first node")
        nodes[0].send(SIGKILL)
        nodes[0].process.waitUntilExit()
        let running = ids.filter { state($0, on: nodes[1]) == "running" }.count
        #expect(running > 0, "no saga was still running when the first node was killed")

        let finished = eventually(within: 90, every: 0.1) { ids.allSatisfy { state($0, on: nodes[2]) == "completed" } }
        #expect(finished, "states after the kill: \(ids.map { state($0, on: nodes[1]) ?? "missing" })")
        // Every step ran to one effect: 20 sagas × 3 steps, each key's first 2xx its only effect.
        let stats = try Self.stats(service)
        #expect(stats.count == 60, "keys seen: \(stats.count)")
        #expect(stats.values.allSatisfy { $0.effects == 1 }, "\(stats.filter { $0.value.effects != 1 })")
        for node in nodes[1...] {
            let (status, stderr) = node.stop()
            #expect(status == 0, "a surviving node exited with \(status): \(stderr)")
        }
        let cluster = MultiNodeTests.Cluster(url: url, nodes: Array(nodes[1...]), scratch: scratch)
        #expect(try cluster.verify()["intact"] as? Bool == true)
        let kinds = try cluster.kinds()
        #expect(kinds.filter { $0 == "saga.ended" }.count == 20, "\(kinds.filter { $0.hasPrefix("saga.") })")
    }
}
