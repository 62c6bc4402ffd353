import Foundation
import RingfenceTestSupport
import Testing

/// The real binary on a loopback port, driven over HTTP: every endpoint of SPEC §14.1.
@Suite(.serialized) struct ServerEndpointTests {
    @Test func decidesAllowsAndDenialsAndEchoesTheRequestID() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:"])
        let allowed = try server.post("/v1/decide", TestPolicies.decide(), headers: ["x-request-id": "req-42"])
        #expect(allowed.status == 200)
        #expect(allowed.headers["x-request-id"] == "req-42")
        #expect(allowed.headers["content-type"] == "application/json")
        #expect(allowed.body == #"{"decision":"allow","code":"allow","policy":"workspace","rule":"read-a","reason":"workspace reads, version a","ring":2}"#)
        let denied = try server.post("/v1/decide", TestPolicies.decide("database.query", resource: "db", params: #"{"query":"DROP TABLE x"}"#))
        #expect(denied.status == 200)
        #expect(denied.body.hasPrefix(#"{"decision":"deny","code":"deny_rule","policy":"workspace","rule":"block-destructive-sql""#))
        let bad = try server.post("/v1/decide", #"{"request":{"agent":{"id":"a"}}}"#)
        #expect(bad.status == 400)
        #expect(bad.errorCode == "invalid_request")
        #expect(server.stop().status == 0)
    }

    @Test func runsOperationsThroughTheDispatcher() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:"])
        let created = try server.post("/v1/ops/session.create", #"{"session":"s1"}"#)
        #expect(created.status == 200)
        #expect(created.body == #"{"session":"s1","state":"handshaking"}"#)
        #expect(try server.post("/v1/ops/session.join", #"{"session":"s1","agent":"a1","trust":0.8}"#).status == 200)
        #expect(try server.post("/v1/ops/session.activate", #"{"session":"s1"}"#).status == 200)
        let decided = try server.post("/v1/decide", #"{"session":"s1","request":{"agent":{"id":"a1"},"action":"fs.read","resource":"/workspace/x"}}"#)
        #expect(decided.body.hasPrefix(#"{"decision":"allow","code":"allow""#))
        let outsider = try server.post("/v1/decide", #"{"session":"s1","request":{"agent":{"id":"zz"},"action":"fs.read"}}"#)
        #expect(outsider.status == 404 || outsider.status == 409 || outsider.status == 422)
        #expect(outsider.errorCode == "not_a_participant")
        let missing = try server.post("/v1/ops/session.get", #"{"session":"nope"}"#)
        #expect(missing.status == 404)
        #expect(missing.errorCode == "session_not_found")
        let unknown = try server.post("/v1/ops/session.explode", "{}")
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "unknown_op")
        let wrongField = try server.post("/v1/ops/session.create", #"{"sesion":"s2"}"#)
        #expect(wrongField.status == 400)
        #expect(wrongField.errorCode == "unknown_field")
        let conflicting = try server.post("/v1/ops/session.get", #"{"op":"kill","session":"s1"}"#)
        #expect(conflicting.status == 400)
        let emptyBody = try server.request("POST", "/v1/ops/audit.checkpoint")
        #expect(emptyBody.status == 200)
        let batch = try server.post("/v1/batch", #"{"ops":[{"op":"session.get","session":"s1"},{"op":"nope"},{"op":"decide","request":{"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/b"}}]}"#)
        #expect(batch.status == 200)
        let results = (batch.json as? [String: Any])?["results"] as? [[String: Any]] ?? []
        #expect(results.count == 3)
        #expect(results.map { $0["ok"] as? Bool } == [true, false, true])
        #expect(results.map { $0["op"] as? String } == ["session.get", "nope", "decide"])
        #expect(server.stop().status == 0)
    }

    @Test func answersAuthZENEvaluationsWithAllThreeSemantics() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:"])
        let one = try server.post("/access/v1/evaluation",
                                  #"{"subject":{"type":"agent","id":"a1","properties":{"trust":0.8,"team":"data"}},"action":{"name":"fs.read"},"resource":{"type":"file","id":"/workspace/a"}}"#)
        #expect(one.status == 200)
        #expect(one.body == #"{"decision":true,"context":{"code":"allow","policy":"workspace","rule":"read-a","reason":"workspace reads, version a","ring":2}}"#)
        let deny = try server.post("/access/v1/evaluation", #"{"subject":{"type":"agent","id":"a1"},"action":{"name":"fs.write"},"resource":{"type":"file","id":"/etc/passwd"}}"#)
        #expect(deny.status == 200)
        #expect((deny.json as? [String: Any])?["decision"] as? Bool == false)
        let malformed = try server.post("/access/v1/evaluation", #"{"subject":{"type":"agent"},"action":{"name":"fs.read"}}"#)
        #expect(malformed.status == 400)
        let items = #"[{"action":{"name":"fs.read"}},{"action":{"name":"fs.write"}},{"subject":"not an object"},{"action":{"name":"fs.read"}}]"#
        func decisions(_ semantic: String) throws -> [Bool] {
            let reply = try server.post("/access/v1/evaluations",
                                        #"{"subject":{"type":"agent","id":"a1","properties":{"trust":0.8}},"resource":{"type":"file","id":"/workspace/a"},"options":{"evaluations_semantic":"\#(semantic)"},"evaluations":\#(items)}"#)
            #expect(reply.status == 200)
            let list = (reply.json as? [String: Any])?["evaluations"] as? [[String: Any]] ?? []
            return list.map { $0["decision"] as? Bool ?? true }
        }
        #expect(try decisions("execute_all") == [true, false, false, true])
        #expect(try decisions("deny_on_first_deny") == [true, false])
        #expect(try decisions("permit_on_first_permit") == [true])
        let badSemantic = try server.post("/access/v1/evaluations", #"{"options":{"evaluations_semantic":"maybe"},"evaluations":[{}]}"#)
        #expect(badSemantic.status == 400)
        let configuration = try server.request("GET", "/.well-known/authzen-configuration")
        let fields = configuration.json as? [String: String] ?? [:]
        #expect(fields["access_evaluation_endpoint"] == "http://127.0.0.1/access/v1/evaluation")
        #expect(fields["access_evaluations_endpoint"] == "http://127.0.0.1/access/v1/evaluations")
        #expect(server.stop().status == 0)
    }

    @Test func readsTheAuditLogAndProvesAnEntry() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "sqlite:\(scratch.path)/state.db"])
        for _ in 0..<3 { #expect(try server.post("/v1/decide", TestPolicies.decide()).status == 200) }
        let entries = try server.request("GET", "/v1/audit/entries?from=1&limit=2")
        #expect(entries.status == 200)
        let object = entries.json as? [String: Any] ?? [:]
        let list = object["entries"] as? [[String: Any]] ?? []
        #expect(list.map { $0["seq"] as? Int } == [1, 2])
        #expect(list.allSatisfy { $0["kind"] as? String == "decision" })
        #expect(object["next"] as? Int == 3)
        #expect(try server.request("GET", "/v1/audit/entries?limit=0").status == 400)
        #expect(try server.request("GET", "/v1/audit/entries?from=x").status == 400)
        let proof = try server.request("GET", "/v1/audit/proof/1")
        #expect(proof.status == 200)
        let proofObject = proof.json as? [String: Any] ?? [:]
        #expect((proofObject["entry"] as? [String: Any])?["seq"] as? Int == 1)
        #expect((proofObject["checkpoint"] as? String)?.contains("\n") == true)
        #expect(try server.request("GET", "/v1/audit/proof/999").status == 404)
        let checkpoint = try server.request("GET", "/v1/audit/checkpoint")
        #expect(checkpoint.status == 200)
        #expect(((checkpoint.json as? [String: Any])?["size"] as? Int ?? 0) >= 3)
        #expect(server.stop().status == 0)
        // The log the server wrote verifies with the CLI, every decision in it.
        let verify = try BuiltBinary.run("ringfence", ["audit", "verify", "--state", "sqlite:\(scratch.path)/state.db"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }

    @Test func healthReadinessMetricsAndTheDocument() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:"])
        #expect(try server.request("GET", "/health").body == #"{"status":"ok"}"#)
        let ready = try server.request("GET", "/health/ready")
        #expect(ready.status == 200)
        #expect(ready.body.hasPrefix(#"{"status":"ready","bundle_sha256":""#))
        _ = try server.post("/v1/decide", TestPolicies.decide())
        _ = try server.post("/v1/decide", TestPolicies.decide("fs.write"))
        let metrics = try server.request("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.body.contains("ringfence_decisions_total{code=\"allow\"} 1\n"))
        #expect(metrics.body.contains("ringfence_decisions_total{code=\"default\"} 1\n"))
        #expect(metrics.body.contains("ringfence_request_duration_seconds_count{route=\"decide\"} 2\n"))
        #expect(metrics.body.contains("ringfence_audit_queue_depth "))
        #expect(metrics.body.contains("ringfence_sagas{state=\"running\"} 0\n"))
        let document = try server.request("GET", "/openapi.json")
        let file = try Repository.text("openapi/ringfence.json")
        #expect(document.body + "\n" == file, "the served document differs from openapi/ringfence.json: run `python3 scripts/embed-openapi.py`")
        #expect(server.stop().status == 0)
    }
}
