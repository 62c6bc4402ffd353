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
    @Test func aSharedRuleLimitAdmitsExactlyNAcrossEveryNode() throws {
        let cluster = try MultiNodeTests.cluster(3)
        let nodes = cluster.nodes
        try MultiNodeTests.op(nodes[0], "session.create", #"{"session":"s1"}"#)
        try MultiNodeTests.op(nodes[1], "session.join", #"{"session":"s1","agent":"w1","trust":0.9}"#)
        try MultiNodeTests.op(nodes[2], "session.activate", #"{"session":"s1"}"#)
        // `fs.write` under /workspace/out is limited to 100 a minute per agent: 150 writes sent
        // at once, 50 through each node on 10 connections each.
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
    /// `examples/sagas/service.py` on a free loopback port: the steps' service, which counts
    /// requests and effects per idempotency key.
    final class StepService: @unchecked Sendable {
        // Safety: set once in `init`.
        /// The child process.
        let process = Process()
        /// Its port.
        let port: UInt16

        /// Starts the service and reads its `listening on` line.
        init() throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Repository.url("examples/sagas/service.py").path, "--port", "0", "--stop-on-eof"]
            process.standardInput = Pipe()
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else { break }
                line.append(chunk)
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let range = text.range(of: "http://127.0.0.1:"), let port = UInt16(text[range.upperBound...].prefix { $0.isNumber }) else {
                process.terminate()
                throw HarnessError("the step service did not start: \(text)")
            }
            self.port = port
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// `http://127.0.0.1:PORT`.
        var baseURL: String { "http://127.0.0.1:\(port)" }

        /// Requests and effects per idempotency key.
        func stats() throws -> [String: (requests: Int, effects: Int)] {
            let reply = try HTTPConnection(port: port).request("GET", "/_stats")
            guard let keys = (reply.json as? [String: Any])?["keys"] as? [String: [String: Int]] else {
                throw HarnessError("the step service's stats do not read: \(reply.body)")
            }
            return keys.mapValues { ($0["requests"] ?? 0, $0["effects"] ?? 0) }
        }
    }

    /// Polls `check` every 100 ms for up to `seconds`; true once it holds.
    static func eventually(_ seconds: Double, _ check: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try check() { return true }
            usleep(100_000)
        }
        return try check()
    }

    @Test func aNodeKilledInTheMiddleOfTwentySagasLeavesThemAllFinishedByTheOthers() throws {
        let service = try StepService()
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
        let started = Self.eventually(30) { ids.allSatisfy { state($0, on: nodes[1]) != nil } && ((try? service.stats().count) ?? 0) >= 1 }
        #expect(started, "the sagas did not all start on the first node")
        nodes[0].send(SIGKILL)
        nodes[0].process.waitUntilExit()
        let running = ids.filter { state($0, on: nodes[1]) == "running" }.count
        #expect(running > 0, "no saga was still running when the first node was killed")

        let finished = Self.eventually(90) { ids.allSatisfy { state($0, on: nodes[2]) == "completed" } }
        #expect(finished, "states after the kill: \(ids.map { state($0, on: nodes[1]) ?? "missing" })")
        // Every step ran to one effect: 20 sagas × 3 steps, each key's first 2xx its only effect.
        let stats = try service.stats()
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
