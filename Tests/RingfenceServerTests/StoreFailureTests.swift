import Foundation
import RingfenceRuntime
@testable import RingfenceServer
import RingfenceTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The state store failing while the server runs: every decision and operation is refused with
/// `audit_failed` (503) and readiness fails — nothing is allowed unrecorded — and once the store
/// answers again the server opens a fresh runtime over it and decides again, its audit log one
/// chain without a gap.
@Suite(.serialized) struct StoreFailureTests {
    /// The test policies with `audit.durability: strict`: an answer waits for its entry to commit.
    static let strictRuntime = TestPolicies.runtime + """
        audit:
          durability: strict

        """

    @Test func aStoreThatFailsMidRunRefusesEverythingThenRecovers() throws {
        let scratch = try Scratch("store-failure")
        let store = FlakyStore()
        let host = try InProcess.host(try InProcess.policies(scratch, runtime: Self.strictRuntime), store: store)
        var configuration = ServerConfiguration()
        configuration.port = 0
        let server = DecisionServer(configuration: configuration, host: host, log: { _ in })
        let port = try server.start().port
        defer { server.shutdown() }
        let connection = try HTTPConnection(port: UInt16(port))
        let json = ["content-type": "application/json"]
        let decide = TestPolicies.decide()
        let item = #"{"op":"decide","# + String(decide.dropFirst())
        let batch = #"{"ops":["# + Array(repeating: item, count: 3).joined(separator: ",") + "]}"
        let evaluation = #"{"subject":{"id":"agent-1","properties":{"trust":0.8}},"action":{"name":"fs.read"},"resource":{"id":"/workspace/a.csv"}}"#

        // Working: decisions allowed, the server ready.
        for _ in 0..<3 {
            let reply = try connection.request("POST", "/v1/decide", body: decide, headers: json)
            #expect(reply.status == 200 && reply.body.hasPrefix(#"{"decision":"allow""#), "\(reply.body)")
        }
        #expect(try connection.request("GET", "/health/ready").status == 200)

        // The store goes away: the first decision waits for its entry, which cannot be written,
        // and is refused; so is everything after it, on every route that decides or operates.
        store.down.store(true, ordering: .releasing)
        let first = try connection.request("POST", "/v1/decide", body: decide, headers: json)
        #expect(first.status == 503, "\(first.body)")
        #expect(first.errorCode == "audit_failed", "\(first.body)")
        for round in 0..<5 {
            let single = try connection.request("POST", "/v1/decide", body: decide, headers: json)
            #expect(single.status == 503 && single.errorCode == "audit_failed", "round \(round): \(single.body)")
            let batched = try connection.request("POST", "/v1/batch", body: batch, headers: json)
            #expect(batched.status == 200, "round \(round): \(batched.body)")
            let results = (batched.json as? [String: Any])?["results"] as? [[String: Any]] ?? []
            #expect(results.count == 3, "round \(round): \(batched.body)")
            for result in results {
                #expect(result["ok"] as? Bool == false, "round \(round): \(batched.body)")
                #expect((result["error"] as? [String: Any])?["code"] as? String == "audit_failed", "round \(round): \(batched.body)")
            }
            let evaluated = try connection.request("POST", "/access/v1/evaluation", body: evaluation, headers: json)
            #expect(evaluated.status == 503 && evaluated.errorCode == "audit_failed", "round \(round): \(evaluated.body)")
            let operation = try connection.request("POST", "/v1/ops/session.create", body: #"{"session":"during-\#(round)"}"#, headers: json)
            #expect(operation.status == 503 && operation.errorCode == "audit_failed", "round \(round): \(operation.body)")
            let ready = try connection.request("GET", "/health/ready")
            #expect(ready.status == 503 && ready.errorCode == "not_ready", "round \(round): \(ready.body)")
            for reply in [single, batched, evaluated, operation] {
                #expect(!reply.body.contains(#""allow""#) && !reply.body.contains(#""decision":true"#), "round \(round): \(reply.body)")
            }
            usleep(20_000)
        }
        #expect(store.refusals.load(ordering: .relaxed) > 8, "the writer and the recovery both met the failing store")
        #expect(try connection.request("GET", "/health").status == 200)

        // The store comes back: within a bounded number of tries a decision is allowed again;
        // until then every answer is the same refusal.
        store.down.store(false, ordering: .releasing)
        var recovered = false
        for _ in 0..<200 where !recovered {
            let reply = try connection.request("POST", "/v1/decide", body: decide, headers: json)
            if reply.status == 200 {
                #expect(reply.body.hasPrefix(#"{"decision":"allow""#), "\(reply.body)")
                recovered = true
            } else {
                #expect(reply.status == 503 && reply.errorCode == "audit_failed", "\(reply.body)")
                usleep(10_000)
            }
        }
        #expect(recovered, "the server decides again once the store answers")
        #expect(try connection.request("GET", "/health/ready").status == 200)
        let batched = try connection.request("POST", "/v1/batch", body: batch, headers: json)
        #expect(batched.body.components(separatedBy: #""ok":true"#).count == 4, "\(batched.body)")
        let evaluated = try connection.request("POST", "/access/v1/evaluation", body: evaluation, headers: json)
        #expect(evaluated.status == 200 && evaluated.body.hasPrefix(#"{"decision":true"#), "\(evaluated.body)")

        // The log holds the three decisions before the failure and the five after it, as one
        // chain: sequence numbers 0… without a gap (nothing refused was recorded).
        let entries = try connection.request("GET", "/v1/audit/entries?from=0&limit=1000")
        #expect(entries.status == 200, "\(entries.body)")
        let listed = (entries.json as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        let decisions = listed.filter { $0["kind"] as? String == "decision" }
        #expect(decisions.count == 3 + 1 + 3 + 1, "\(entries.body.prefix(400))")
        let seqs = listed.compactMap { ($0["seq"] as? NSNumber)?.intValue }
        #expect(seqs == Array(0..<listed.count), "\(seqs)")
        for i in listed.indices.dropFirst() {
            #expect(listed[i]["prev"] as? String == listed[i - 1]["hash"] as? String, "entry \(i) does not link to the one before")
        }
    }
}
