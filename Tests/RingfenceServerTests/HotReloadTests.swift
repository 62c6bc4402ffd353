import Foundation
import RingfenceTestSupport
import Synchronization
import Testing

/// SPEC §14.1: a reload swaps the engine atomically. Four clients decide continuously while the
/// policies are reloaded 50 times; every decision is exactly the old policies' or exactly the
/// new ones', and none fails.
@Suite(.serialized) struct HotReloadTests {
    /// What the clients saw.
    struct Tally {
        var byVersion: [String: Int] = [:]
        var failures: [String] = []
        /// Every answer counted, failures included.
        var answers: Int { byVersion.values.reduce(0, +) + failures.count }
    }

    /// Waits until the clients have given more than `count` answers between them, or failed;
    /// false when they have not after 20 s.
    static func waitForAnswers(after count: Int, in tally: borrowing Mutex<Tally>) -> Bool {
        for _ in 0..<4000 {
            if tally.withLock({ $0.answers > count || !$0.failures.isEmpty }) { return true }
            usleep(5_000)
        }
        return false
    }

    @Test func fourClientsDecideThroughFiftyReloads() throws {
        let scratch = try Scratch("server")
        let policies = try TestPolicies.directory(scratch, version: "a")
        let server = try ServerProcess(["-p", policies, "--state", "memory:"])
        let expected = [
            "a": #"{"decision":"allow","code":"allow","policy":"workspace","rule":"read-a","reason":"workspace reads, version a","ring":2}"#,
            "b": #"{"decision":"deny","code":"deny_rule","policy":"workspace","rule":"read-b","reason":"workspace reads, version b","ring":2}"#,
        ]
        let tally = Mutex(Tally())
        let done = Atomic<Bool>(false)
        let group = DispatchGroup()
        for client in 0..<4 {
            DispatchQueue.global().async(group: group) {
                do {
                    let connection = try server.connect()
                    while !done.load(ordering: .relaxed) {
                        let reply = try connection.request("POST", "/v1/decide", body: TestPolicies.decide(),
                                                           headers: ["content-type": "application/json"])
                        let version = expected.first { $0.value == reply.body }?.key
                        tally.withLock { t in
                            if reply.status == 200, let version { t.byVersion[version, default: 0] += 1 } else {
                                t.failures.append("client \(client): \(reply.status) \(reply.body)")
                            }
                        }
                    }
                } catch {
                    tally.withLock { $0.failures.append("client \(client): \(error)") }
                }
            }
        }
        var reloadFailures: [String] = []
        var stalled = 0
        for round in 0..<50 {
            // Each policy set decides at least four requests (one a client, on average) before
            // the next reload, so the reloads land among requests in flight.
            let before = tally.withLock { $0.answers }
            if !Self.waitForAnswers(after: before + 3, in: tally) { stalled += 1 }
            let version = round % 2 == 0 ? "b" : "a"
            try scratch.write("policies/workspace.yaml", TestPolicies.workspace(version: version, readEffect: version == "a" ? "allow" : "deny"))
            let reply = try server.request("POST", "/v1/reload")
            if reply.status != 200 { reloadFailures.append("round \(round): \(reply.status) \(reply.body)") }
        }
        let finalCount = tally.withLock { $0.answers }
        let answeredAfterTheLast = Self.waitForAnswers(after: finalCount + 3, in: tally)
        #expect(answeredAfterTheLast, "the clients stopped answering after the last reload")
        done.store(true, ordering: .relaxed)
        group.wait()
        let result = tally.withLock { $0 }
        #expect(reloadFailures.isEmpty, "\(reloadFailures)")
        #expect(stalled == 0, "the clients stopped answering during \(stalled) of the 50 reloads")
        #expect(result.failures.isEmpty, "\(result.failures.prefix(5))")
        #expect((result.byVersion["a"] ?? 0) > 0 && (result.byVersion["b"] ?? 0) > 0, "\(result.byVersion)")
        let metrics = try server.request("GET", "/metrics").body
        #expect(metrics.contains("ringfence_reloads_total{result=\"ok\"} 50\n"))
        #expect(server.stop().status == 0)
    }
}
