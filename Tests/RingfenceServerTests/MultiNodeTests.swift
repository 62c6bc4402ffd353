import Foundation
import RingfenceTestSupport
import Synchronization
import Testing

/// Several `ringfence serve` processes on one PostgreSQL database act as one runtime (SPEC §15):
/// a slash sent to every node at once is applied once, concurrent audited decisions spread over
/// the nodes give one log with no gap, and a session made on one node is served by every other.
/// Each test starts its nodes on a fresh database of the test process's throwaway cluster, with
/// the bundled workspace policy and a runtime file under `group` durability.
@Suite(.serialized) struct MultiNodeTests {
    /// `ringfence serve` nodes on one fresh database.
    struct Cluster {
        /// The store every node serves from.
        let url: String
        /// The nodes, in the order they were started.
        let nodes: [ServerProcess]
        /// The scratch directory holding the runtime file (kept as long as the nodes run).
        let scratch: Scratch

        /// Stops every node with SIGTERM and expects each to drain and exit 0.
        func stop() {
            for (i, node) in nodes.enumerated() {
                let (status, stderr) = node.stop()
                #expect(status == 0, "node \(i + 1) exited with \(status): \(stderr)")
            }
        }

        /// Runs `ringfence audit verify --format json` on the store; returns its report, with
        /// an issue recorded unless the log is intact.
        func verify() throws -> [String: Any] {
            let run = try BuiltBinary.run("ringfence", ["audit", "verify", "--state", url, "--format", "json"])
            #expect(run.status == 0, "`audit verify` on the shared database: \(run.stdout) \(run.stderr)")
            return (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        }

        /// The kinds of the log's entries in order, read with `ringfence audit log --format json`.
        func kinds() throws -> [String] {
            let run = try BuiltBinary.run("ringfence", ["audit", "log", "--state", url, "--format", "json", "--limit", "100000"])
            #expect(run.status == 0, "`audit log` on the shared database: \(run.stderr)")
            return run.lines.map { line in
                let entry = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                return entry?["kind"] as? String ?? "unreadable: \(line)"
            }
        }
    }

    /// Ring buckets wide enough that no decision of these tests is rate-limited, and `group`
    /// durability written out.
    static let runtime = TestPolicies.runtime + "audit:\n  durability: group\n"

    /// Starts `count` nodes on a new database of the shared throwaway cluster.
    static func cluster(_ count: Int) throws -> Cluster {
        let postgres = try PostgresTestCluster.require()
        let url = postgres.url(database: try postgres.createDatabase())
        let scratch = try Scratch("multinode")
        let runtimeFile = try scratch.write("runtime.yaml", runtime)
        let policy = Repository.url("policies/workspace.yaml").path
        let nodes = try (0..<count).map { _ in try ServerProcess(["-p", policy, runtimeFile, "--state", url]) }
        return Cluster(url: url, nodes: nodes, scratch: scratch)
    }

    /// Runs `body(i)` for every `i` in `0..<count`, each on its own thread, all at once; returns
    /// when every one has finished.
    static func inParallel(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for i in 0..<count {
            done.enter()
            Thread {
                body(i)
                done.leave()
            }.start()
        }
        done.wait()
    }

    /// A decide body for a read in the workspace by `agent`, in `session` when given (the
    /// runtime supplies trust and ring) or outside any session with the request's own trust.
    static func read(_ agent: String, session: String?) -> String {
        if let session {
            return #"{"session":"\#(session)","request":{"agent":{"id":"\#(agent)"},"action":"fs.read","resource":"/workspace/data/a.csv"}}"#
        }
        return #"{"request":{"agent":{"id":"\#(agent)","trust":0.8},"action":"fs.read","resource":"/workspace/data/a.csv"}}"#
    }

    /// Posts an operation to `node` and expects it to succeed.
    @discardableResult
    static func op(_ node: ServerProcess, _ name: String, _ body: String) throws -> HTTPReply {
        let reply = try node.post("/v1/ops/\(name)", body)
        #expect(reply.status == 200, "`\(name)` answered \(reply.status): \(reply.body)")
        return reply
    }

    @Test func aSlashSentToEveryNodeAtOnceIsAppliedOnce() throws {
        let cluster = try Self.cluster(3)
        let nodes = cluster.nodes
        try Self.op(nodes[0], "ledger.trust", #"{"agent":"v1","trust":0.9}"#)
        try Self.op(nodes[1], "ledger.trust", #"{"agent":"x1","trust":0.8}"#)
        try Self.op(nodes[2], "ledger.vouch", #"{"voucher":"v1","vouchee":"x1"}"#)
        let slash = #"{"agent":"x1","severity":0.5,"violation":"viol-1","reason":"exfiltration"}"#
        let replies = Mutex<[Int: HTTPReply]>([:])
        let failures = Mutex<[String]>([])
        Self.inParallel(nodes.count) { i in
            do {
                let reply = try nodes[i].post("/v1/ops/ledger.slash", slash)
                replies.withLock { $0[i] = reply }
            } catch {
                failures.withLock { $0.append("node \(i + 1): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let answers = replies.withLock { $0 }
        #expect(answers.count == nodes.count)
        #expect(answers.values.allSatisfy { $0.status == 200 }, "\(answers.values.map(\.body))")
        #expect(Set(answers.values.map(\.body)).count == 1, "every node answers with the one slash: \(answers.values.map(\.body))")
        // The voucher was clipped once, and every node reads the same ledger.
        let voucher = try nodes.map { try Self.op($0, "ledger.get", #"{"agent":"v1"}"#).body }
        #expect(Set(voucher).count == 1, "the nodes read different ledgers: \(voucher)")
        let trust = (try? JSONSerialization.jsonObject(with: Data(voucher[0].utf8))) as? [String: Any]
        #expect((trust?["trust"] as? Double).map { abs($0 - 0.45) < 1e-9 } == true, "v1 after one slash at 0.5: \(voucher[0])")
        cluster.stop()
        let kinds = try cluster.kinds()
        #expect(kinds.filter { $0 == "ledger.slashed" }.count == 1, "\(kinds)")
        let report = try cluster.verify()
        #expect(report["entries"] as? Int == kinds.count)
    }

    @Test func tenThousandConcurrentDecisionsSpreadOverTheNodesGiveOneLog() throws {
        let cluster = try Self.cluster(3)
        let nodes = cluster.nodes
        let agents = 6
        try Self.op(nodes[0], "session.create", #"{"session":"s1"}"#)
        for a in 0..<agents {
            try Self.op(nodes[a % nodes.count], "session.join", #"{"session":"s1","agent":"w\#(a)","trust":0.8}"#)
        }
        try Self.op(nodes[1], "session.activate", #"{"session":"s1"}"#)
        // session.created, the joins and the activation.
        let setupEntries = 1 + agents + 1
        let total = 10_000, inFlight = 32
        let next = Atomic<Int>(0)
        let allowed = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let firstFailures = Mutex<[String]>([])
        let ports = nodes.map(\.port)
        /// Counts a failure, keeping the first few messages.
        @Sendable func fail(_ message: String) {
            failed.add(1, ordering: .relaxed)
            firstFailures.withLock { if $0.count < 3 { $0.append(message) } }
        }
        Self.inParallel(inFlight) { _ in
            do {
                // One keep-alive connection to every node; request `i` goes to node `i mod n`.
                let connections = try ports.map { try HTTPConnection(port: $0) }
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    if i >= total { break }
                    // Even requests decide in the session, odd ones outside any session.
                    let body = Self.read(i % 2 == 0 ? "w\(i % agents)" : "o\(i % agents)", session: i % 2 == 0 ? "s1" : nil)
                    let reply = try connections[i % connections.count].request("POST", "/v1/decide", body: body,
                                                                                 headers: ["content-type": "application/json"])
                    if reply.status == 200 && reply.body.hasPrefix(#"{"decision":"allow","code":"allow""#) {
                        allowed.add(1, ordering: .relaxed)
                    } else {
                        fail("request \(i): \(reply.status) \(reply.body)")
                    }
                }
            } catch {
                fail("\(error)")
            }
        }
        let failures = failed.load(ordering: .relaxed)
        #expect(failures == 0, "requests failed, first: \(firstFailures.withLock { $0 })")
        #expect(allowed.load(ordering: .relaxed) == total)
        cluster.stop()
        let report = try cluster.verify()
        #expect(report["intact"] as? Bool == true)
        #expect(report["entries"] as? Int == setupEntries + total, "the log holds \(report["entries"] ?? "no count") entries")
    }

    @Test func aSessionMadeOnOneNodeIsServedByEveryOther() throws {
        let cluster = try Self.cluster(3)
        let nodes = cluster.nodes
        try Self.op(nodes[0], "session.create", #"{"session":"s1"}"#)
        try Self.op(nodes[1], "session.join", #"{"session":"s1","agent":"w1","trust":0.8}"#)
        try Self.op(nodes[1], "session.join", #"{"session":"s1","agent":"w2","trust":0.8}"#)
        try Self.op(nodes[2], "session.activate", #"{"session":"s1"}"#)
        let before = try nodes[0].post("/v1/decide", Self.read("w1", session: "s1"))
        #expect(before.status == 200 && before.body.hasPrefix(#"{"decision":"allow","code":"allow""#), "\(before.body)")
        let killed = try Self.op(nodes[2], "kill", #"{"session":"s1","agent":"w1","reason":"manual"}"#)
        #expect(killed.body.contains(#""terminated":true"#), "\(killed.body)")
        let after = try nodes[0].post("/v1/decide", Self.read("w1", session: "s1"))
        #expect(after.status == 200, "\(after.body)")
        #expect((after.json as? [String: Any])?["code"] as? String == "killed", "\(after.body)")
        // The other participant still decides, through yet another node.
        let other = try nodes[1].post("/v1/decide", Self.read("w2", session: "s1"))
        #expect(other.body.hasPrefix(#"{"decision":"allow","code":"allow""#), "\(other.body)")
        let session = try Self.op(nodes[2], "session.get", #"{"session":"s1"}"#)
        #expect((session.json as? [String: Any])?["state"] as? String == "active", "\(session.body)")
        cluster.stop()
        // created, two joins, activated, a decision, the kill, a `killed` decision, a decision.
        let kinds = try cluster.kinds()
        #expect(kinds.count == 8, "\(kinds)")
        #expect(try cluster.verify()["entries"] as? Int == 8)
    }
}
