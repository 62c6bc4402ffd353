import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// `ringfence key generate`, `eval --state` and `ringfence audit …` (SPEC §4.1, §9.2, §9.3), run
/// in-process on a SQLite store, and checked by an independent verifier written in Python from
/// docs/audit.md alone.
@Suite(.serialized) struct AuditCommandTests {
    static let requests = """
        {"agent":{"id":"a1","trust":0.9},"action":"fs.read","resource":"/workspace/a.csv","context":{"session":"s1"}}
        {"agent":{"id":"a2","trust":0.2},"action":"fs.read","resource":"/workspace/b.csv"}
        {"agent":{"id":"a1","trust":0.9},"action":"database.query","params":{"query":"drop table x","n":1.5e-7}}

        """

    /// A store with two `eval` runs recorded, the key, and the checkpoint after the first run.
    struct Logged {
        let scratch: Scratch
        let state: String
        let keyFile: String
        let verifier: String
        let firstCheckpoint: String
    }

    static func logged() throws -> Logged {
        let scratch = try Scratch("audit-command")
        let policy = try scratch.write("workspace.yaml", CLITests.policy)
        let keyFile = scratch.path + "/audit.key"
        let generated = ringfence(["key", "generate", "ringfence.test/audit", "-o", keyFile])
        #expect(generated.status == 0, "\(generated.stderr)")
        let verifier = generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let state = "sqlite:" + scratch.path + "/state.db"
        let first = ringfence(["eval", "-p", policy, "--state", state, "--audit-key", keyFile], stdin: requests)
        #expect(first.status == 3, "\(first.stderr)")
        let checkpoint = ringfence(["audit", "checkpoint", "--state", state, "--key", keyFile])
        #expect(checkpoint.status == 0, "\(checkpoint.stderr)")
        let firstCheckpoint = try scratch.write("first.note", checkpoint.stdout)
        let second = ringfence(["eval", "-p", policy, "--state", state, "--audit-key", keyFile], stdin: requests + requests)
        #expect(second.status == 3, "\(second.stderr)")
        return Logged(scratch: scratch, state: state, keyFile: keyFile, verifier: verifier, firstCheckpoint: firstCheckpoint)
    }

    @Test func evalRecordsEveryDecisionAndTheLogVerifies() throws {
        let logged = try Self.logged()
        let verify = ringfence(["audit", "verify", "--state", logged.state, "--key", logged.verifier])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("intact: 9 entries, root "))
        #expect(verify.stdout.contains("signatures verified with the given key"))
        let json = ringfence(["audit", "verify", "--state", logged.state, "--key", logged.verifier, "--since", logged.firstCheckpoint,
                             "--format", "json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains(#""extends_since":3"#) && json.stdout.contains(#""intact":true"#))
        let log = ringfence(["audit", "log", "--state", logged.state, "--format", "json"])
        let lines = log.stdout.split(separator: "\n")
        #expect(lines.count == 9)
        #expect(lines[0].contains(#""kind":"decision""#) && lines[0].contains(#""session":"s1""#) && lines[0].contains(#""agent":"a1""#))
        #expect(lines[2].contains(#""code":"deny_rule""#) && lines[2].contains(#""n":1.5e-7"#))
    }

    @Test func proofsVerifyWithTheKeyAlone() throws {
        let logged = try Self.logged()
        let proof = ringfence(["audit", "prove", "4", "--state", logged.state])
        #expect(proof.status == 0, "\(proof.stderr)")
        let file = try logged.scratch.write("proof.json", proof.stdout)
        let valid = ringfence(["audit", "verify-proof", file, "--key", logged.verifier])
        #expect(valid.status == 0 && valid.stdout.hasPrefix("valid: entry 4"), "\(valid.stdout)\(valid.stderr)")
        let forged = try logged.scratch.write("forged.json", proof.stdout.replacingOccurrences(of: #""agent":"a2""#, with: #""agent":"a9""#))
        #expect(ringfence(["audit", "verify-proof", forged, "--key", logged.verifier]).status == 1)
        let garbage = try logged.scratch.write("garbage.json", "{not json")
        #expect(ringfence(["audit", "verify-proof", garbage, "--key", logged.verifier]).status == 2)
        #expect(ringfence(["audit", "prove", "99", "--state", logged.state]).status == 1)
    }

    @Test func unreadableInputsExitTwo() throws {
        let scratch = try Scratch("audit-command")
        let notAStore = try scratch.write("garbage.db", Array(repeating: 0x41, count: 4096))
        let verify = ringfence(["audit", "verify", "--state", "sqlite:" + notAStore])
        #expect(verify.status == 2 && verify.stderr.contains("error"), "\(verify.stderr)")
        #expect(ringfence(["audit", "verify", "--state", "nonsense://x"]).status == 2)
        #expect(ringfence(["audit", "verify", "--state", "memory:", "--key", "not a key"]).status == 2)
        let key = scratch.path + "/k.key"
        #expect(ringfence(["key", "generate", "bad name", "-o", key]).status == 2)
    }

    /// The verifier in `Tests/Fixtures/audit/independent_verifier.py` was written from docs/audit.md
    /// alone: it recomputes every entry hash, the Merkle root, the inclusion proof, the
    /// consistency proof and the checkpoint signatures, and must agree with Ringfence.
    @Test func anIndependentVerifierAgrees() throws {
        let logged = try Self.logged()
        let log = ringfence(["audit", "log", "--state", logged.state, "--format", "json", "--limit", "1000"])
        let logFile = try logged.scratch.write("log.jsonl", log.stdout)
        let proofFile = try logged.scratch.write("proof.json", ringfence(["audit", "prove", "7", "--state", logged.state]).stdout)
        let checkpoint = ringfence(["audit", "checkpoint", "--state", logged.state, "--key", logged.keyFile])
        let checkpointFile = try logged.scratch.write("last.note", checkpoint.stdout)
        let script = Fixtures.url("audit").appendingPathComponent("independent_verifier.py").path
        let result = try Self.python([script, "--log", logFile, "--proof", proofFile, "--checkpoint", checkpointFile,
                                      "--old-checkpoint", logged.firstCheckpoint, "--key", logged.verifier])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["entries"] as? Int == 9)
        let ours = ringfence(["audit", "verify", "--state", logged.state, "--format", "json"])
        let ourRoot = (try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [String: Any])?["root"] as? String
        #expect(report["root"] as? String == ourRoot)
        let checks = report["checks"] as? [String: Any]
        for name in ["hashes", "chain", "data", "checkpoint", "inclusion", "consistency"] {
            #expect(checks?[name] as? Bool == true, "\(name): \(result.stdout)")
        }
        // It disagrees, as Ringfence does, once a data field is edited.
        let edited = try logged.scratch.write("edited.jsonl", log.stdout.replacingOccurrences(of: #""trust":0.2"#, with: #""trust":0.3"#))
        let tampered = try Self.python([script, "--log", edited, "--key", logged.verifier])
        #expect(tampered.status == 1)
        // And its own self-test passes.
        #expect(try Self.python([script, "--self-test"]).status == 0)
    }

    /// Runs python3 with `arguments`; a missing python3 is a failure, never a skip.
    static func python(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
