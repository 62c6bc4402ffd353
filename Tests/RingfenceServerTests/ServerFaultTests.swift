import Foundation
import RingfenceTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bad input, bad tokens, reloads that fail, shutdown: the right status and a JSON error, no
/// crash, no hang, nothing allowed — and the server still answers afterwards.
@Suite(.serialized) struct ServerFaultTests {
    @Test func refusesBadInputAndKeepsAnswering() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:",
                                        "--max-body", "4096", "--request-timeout", "1"])
        let cases: [(String, HTTPReply, Int, String)] = [
            ("malformed json", try server.post("/v1/decide", #"{"request": {"agent": "#), 400, "invalid_json"),
            ("not an object", try server.post("/v1/decide", "[1,2]"), 400, "invalid_json"),
            ("deep nesting", try server.post("/v1/decide", String(repeating: "[", count: 3000)), 400, "invalid_json"),
            ("wrong content type", try server.request("POST", "/v1/decide", body: TestPolicies.decide(), headers: ["content-type": "text/plain"]),
             415, "unsupported_media_type"),
            ("no content type", try server.request("POST", "/v1/decide", body: TestPolicies.decide()), 415, "unsupported_media_type"),
            ("unknown route", try server.request("GET", "/v2/nothing"), 404, "not_found"),
            ("wrong method", try server.request("GET", "/v1/decide"), 405, "method_not_allowed"),
            ("empty body", try server.post("/v1/decide", ""), 400, "invalid_json"),
            ("huge body by length", try server.post("/v1/decide", String(repeating: " ", count: 5000) + "{}"), 413, "body_too_large"),
        ]
        for (name, reply, status, code) in cases {
            #expect(reply.status == status, "\(name): \(reply.status) \(reply.body)")
            #expect(reply.errorCode == code, "\(name): \(reply.body)")
            #expect(reply.headers["content-type"] == "application/json", "\(name)")
        }
        // A chunked body over the cap is cut off as it arrives.
        let chunked = try server.connect()
        try chunked.write("POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in 0..<5 { try chunked.write("400\r\n" + String(repeating: " ", count: 1024) + "\r\n") }
        let cut = try chunked.readReply()
        #expect(cut.status == 413)
        // Malformed HTTP gets a JSON 400 and the connection closes.
        let garbage = try server.connect()
        try garbage.write("HELLO THERE\r\n\r\n")
        let bad = try garbage.readReply()
        #expect(bad.status == 400)
        #expect(bad.errorCode == "bad_request")
        // A client that stops halfway is answered 408 and dropped after the request timeout.
        let slow = try server.connect()
        try slow.write("POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"req")
        let timedOut = try slow.readReply()
        #expect(timedOut.status == 408)
        #expect(timedOut.errorCode == "request_timeout")
        #expect(slow.isClosedByServer())
        // Pipelined requests are answered in order on one connection.
        let pipelined = try server.connect()
        let body = TestPolicies.decide()
        let one = "POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
        try pipelined.write(one + "GET /health HTTP/1.1\r\nhost: x\r\n\r\n" + one)
        #expect(try pipelined.readReply().body.hasPrefix(#"{"decision":"allow""#))
        #expect(try pipelined.readReply().body == #"{"status":"ok"}"#)
        #expect(try pipelined.readReply().body.hasPrefix(#"{"decision":"allow""#))
        // After all of that the server still decides.
        #expect(try server.post("/v1/decide", TestPolicies.decide()).status == 200)
        #expect(server.stop().status == 0)
    }

    @Test func bearerTokensGuardEverythingButHealthAndTheDocuments() throws {
        let scratch = try Scratch("server")
        let tokens = try scratch.write("tokens", "# operators\nfirst-token-0123456789\n\n  second-token-abcdef  \n")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:", "--token-file", tokens])
        let none = try server.post("/v1/decide", TestPolicies.decide())
        #expect(none.status == 401)
        #expect(none.errorCode == "unauthorized")
        #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        #expect(try server.post("/v1/decide", TestPolicies.decide(), headers: ["authorization": "Bearer first-token-012345678"]).status == 401)
        #expect(try server.post("/v1/decide", TestPolicies.decide(), headers: ["authorization": "Bearer first-token-01234567890"]).status == 401)
        #expect(try server.post("/v1/decide", TestPolicies.decide(), headers: ["authorization": "Basic Zmlyc3Q="]).status == 401)
        #expect(try server.post("/v1/decide", TestPolicies.decide(), headers: ["authorization": "Bearer first-token-0123456789"]).status == 200)
        #expect(try server.post("/v1/decide", TestPolicies.decide(), headers: ["authorization": "bearer second-token-abcdef"]).status == 200)
        #expect(try server.request("GET", "/metrics").status == 401)
        #expect(try server.request("GET", "/v1/audit/entries").status == 401)
        #expect(try server.request("POST", "/v1/reload").status == 401)
        #expect(try server.request("GET", "/health").status == 200)
        #expect(try server.request("GET", "/health/ready").status == 200)
        #expect(try server.request("GET", "/openapi.json").status == 200)
        #expect(server.stop().status == 0)
    }

    @Test func refusesUnsafeOrBrokenStarts() throws {
        let scratch = try Scratch("server")
        let policies = try TestPolicies.directory(scratch)
        let executable = try BuiltBinary.path("ringfence")
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["serve"] + arguments
            let error = Pipe()
            process.standardError = error
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        let exposed = try run(["-p", policies, "--state", "memory:", "--listen", "0.0.0.0:0"])
        #expect(exposed.0 == 2)
        #expect(exposed.1.contains("not a loopback address, without --token-file"))
        let badListen = try run(["-p", policies, "--state", "memory:", "--listen", "nowhere"])
        #expect(badListen.0 == 2)
        let badStore = try run(["-p", policies, "--state", "sqlite:/proc/no-such-dir/state.db"])
        #expect(badStore.0 == 2)
        #expect(badStore.1.contains("cannot open the state store"))
        try scratch.write("broken/p.yaml", "ringfence: 1\nkind: policy\nname: b\nrules:\n  - id: x\n    effect: maybe\n    action: a\n")
        let broken = try run(["-p", scratch.path + "/broken", "--state", "memory:"])
        #expect(broken.0 == 1)
        let emptyTokens = try scratch.write("empty-tokens", "\n# none\n")
        #expect(try run(["-p", policies, "--state", "memory:", "--token-file", emptyTokens]).0 == 2)
    }

    @Test func reloadSwapsPoliciesAndAFailedReloadKeepsTheOldOnes() throws {
        let scratch = try Scratch("server")
        let policies = try TestPolicies.directory(scratch, version: "a")
        let server = try ServerProcess(["-p", policies, "--state", "memory:"])
        #expect(try server.post("/v1/decide", TestPolicies.decide()).body.contains(#""rule":"read-a""#))
        try scratch.write("policies/workspace.yaml", TestPolicies.workspace(version: "b"))
        let reloaded = try server.request("POST", "/v1/reload")
        #expect(reloaded.status == 200)
        let summary = reloaded.json as? [String: Any] ?? [:]
        #expect(summary["policies"] as? [String] == ["workspace"])
        #expect((summary["bundle_sha256"] as? String)?.count == 64)
        #expect(try server.post("/v1/decide", TestPolicies.decide()).body.contains(#""rule":"read-b""#))
        try scratch.write("policies/workspace.yaml", "ringfence: 1\nkind: policy\nname: workspace\nrules:\n  - id: r\n    effect: sometimes\n    action: fs.read\n")
        let failed = try server.request("POST", "/v1/reload")
        #expect(failed.status == 422)
        #expect(failed.errorCode == "reload_failed")
        let diagnostics = ((failed.json as? [String: Any])?["error"] as? [String: Any])?["diagnostics"] as? [String] ?? []
        #expect(diagnostics.contains { $0.contains("workspace.yaml:6:") })
        #expect(try server.post("/v1/decide", TestPolicies.decide()).body.contains(#""rule":"read-b""#))
        try scratch.write("policies/workspace.yaml", TestPolicies.workspace(version: "c"))
        server.send(SIGHUP)
        var swapped = false
        for _ in 0..<200 where !swapped {
            swapped = try server.post("/v1/decide", TestPolicies.decide()).body.contains(#""rule":"read-c""#)
            if !swapped { usleep(20_000) }
        }
        #expect(swapped, "SIGHUP did not reload the policies")
        let metrics = try server.request("GET", "/metrics").body
        #expect(metrics.contains("ringfence_reloads_total{result=\"failed\"} 1\n"))
        let stopped = server.stop()
        #expect(stopped.status == 0)
        #expect(stopped.stderr.contains("reloaded on SIGHUP"))
    }

    @Test func sigtermDrainsARequestInFlightThenExitsZero() throws {
        let scratch = try Scratch("server")
        let server = try ServerProcess(["-p", try TestPolicies.directory(scratch), "--state", "memory:"])
        let idle = try server.connect()
        #expect(try idle.request("GET", "/health").status == 200)
        let busy = try server.connect()
        let body = TestPolicies.decide()
        try busy.write("POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n"
                       + body.prefix(10))
        usleep(100_000)
        server.send(SIGTERM)
        #expect(idle.isClosedByServer(), "an idle keep-alive connection stays open while draining")
        try busy.write(String(body.dropFirst(10)))
        let answer = try busy.readReply()
        #expect(answer.status == 200)
        #expect(answer.headers["connection"] == "close")
        #expect(answer.body.hasPrefix(#"{"decision":"allow""#))
        let stopped = server.stop()
        #expect(stopped.status == 0)
        #expect(stopped.stderr.contains("stopped"))
    }
}
