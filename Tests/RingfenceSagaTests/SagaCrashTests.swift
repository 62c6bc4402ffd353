import Foundation
import Ringfence
import RingfenceStores
import RingfenceTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SPEC §10.6: `ringfence saga run` (the real binary, on SQLite) killed with SIGKILL at a moment
/// drawn from a seeded generator — before, during or after its steps and compensations — then
/// `ringfence saga resume --all`, 100 times on one store. Every saga must end as its script
/// dictates, and the service must have seen every step's effect at most once per idempotency
/// key, with only well-formed requests, each undo only of a step that took effect.
@Suite(.serialized) struct SagaCrashTests {
    /// One saga script: its steps and the state it must end in, whatever the kills.
    struct Script {
        /// The steps (YAML list items, endpoints relative to the base URL).
        var steps: String
        /// The saga's end.
        var expected: SagaState
        /// The steps whose execute must have taken effect, and whether each must have been undone.
        var effects: [String: Bool]
    }

    static let scripts: [Script] = [
        Script(steps: """
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /slow/20/a, undo_api: /ok/ua}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /slow/20/b, undo_api: /ok/ub}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /slow/20/c, undo_api: /ok/uc}
            """, expected: .completed, effects: ["a": false, "b": false, "c": false]),
        Script(steps: """
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /slow/20/a, undo_api: /slow/20/ua}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /slow/20/b, undo_api: /slow/20/ub}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /fail/422/c, undo_api: /ok/uc}
            """, expected: .compensated, effects: ["a": true, "b": true]),
        Script(steps: """
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /slow/20/a, undo_api: /fail/500/ua}
              - {id: b, action_id: svc.b, agent: did:b, execute_api: /flaky/2/503/b, undo_api: /slow/20/ub, retries: 4}
              - {id: c, action_id: svc.c, agent: did:c, execute_api: /fail/400/c, undo_api: /ok/uc}
            """, expected: .escalated, effects: ["a": false, "b": true]),
        Script(steps: """
              - {id: a, action_id: svc.a, agent: did:a, execute_api: /flaky/2/503/a, undo_api: /ok/ua, retries: 4}
              - {id: x, action_id: svc.x, agent: did:b, execute_api: /slow/30/x, undo_api: /ok/ux}
              - {id: "y", action_id: svc.y, agent: did:c, execute_api: /fail/500/y, undo_api: /ok/uy}
              - {id: z, action_id: svc.z, agent: did:a, execute_api: /slow/10/z, undo_api: /ok/uz}
            fan_out:
              - {policy: majority_must_succeed, branches: [x, "y", z]}
            """, expected: .completed, effects: ["a": false, "x": false, "z": false]),
    ]

    /// Runs `arguments` with the binary; when `killWhen` is given, sends SIGKILL once it returns.
    static func run(_ binary: String, _ arguments: [String], killWhen: (() -> Void)? = nil) throws -> (status: Int32, signalled: Bool, out: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let killWhen {
            killWhen()
            kill(process.processIdentifier, SIGKILL)
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, String(decoding: data, as: UTF8.self))
    }

    @Test func killedRunsResumeToTheEndTheirScriptsDictate() async throws {
        let binary = try BuiltBinary.path("ringfence")
        let service = try SagaService()
        let scratch = try Scratch("saga-crash")
        let directory = scratch.url
        let policy = directory.appendingPathComponent("policy.yaml").path
        try SagaFixture.policy.write(toFile: policy, atomically: true, encoding: .utf8)
        let state = "sqlite:" + directory.appendingPathComponent("state.db").path
        let rounds = 100
        let outcomes = await onThread { () -> Result<Int, any Error> in
            Result {
                var random = SeededGenerator(seed: 20_261_205)
                var kills = 0
                for round in 0..<rounds {
                    let script = Self.scripts[round % Self.scripts.count]
                    let file = directory.appendingPathComponent("r\(round).yaml").path
                    // Agents of their own each round: an escalation quarantines its step's agent (SPEC §10.6).
                    try """
                        ringfence: 1
                        kind: saga
                        name: r\(round)
                        session_id: s-r\(round)
                        saga_id: r\(round)
                        base_url: \(service.baseURL)
                        retry: {initial: 10ms, multiplier: 2, max: 40ms}
                        on_compensation_failure: {attempts: 2}
                        steps:
                        \(script.steps.replacingOccurrences(of: "agent: did:", with: "agent: did:r\(round)-"))
                        """.write(toFile: file, atomically: true, encoding: .utf8)
                    // The kill's moment, measured from progress rather than from the start, so a
                    // loaded machine's slow start-up does not shift it: one run in five within
                    // 150 ms of starting (before the session or the saga exist, or just after);
                    // the others 0–250 ms after the service saw the saga's first request (during
                    // steps, retries and compensations, or after the end).
                    let early = random.chance(1, in: 5)
                    let delay = UInt32(random.below(early ? 150_000 : 250_000))
                    let ran = try Self.run(binary, ["saga", "run", file, "-p", policy, "--state", state, "--join", "did:r\(round)-a=0.85",
                                                    "--join", "did:r\(round)-b=0.85", "--join", "did:r\(round)-c=0.85"]) {
                        if !early { service.waitForRequest(prefix: "r\(round)/") }
                        usleep(delay)
                    }
                    if ran.signalled { kills += 1 }
                    let resumed = try Self.run(binary, ["saga", "resume", "--all", "-p", policy, "--state", state])
                    guard !resumed.signalled, [0, 4, 5].contains(resumed.status) else {
                        throw SagaService.ServiceFailure(message: "round \(round): resume exited \(resumed.status): \(resumed.out)")
                    }
                }
                return kills
            }
        }
        let killed = try outcomes.get()
        #expect(killed >= 30, "only \(killed) of \(rounds) runs were killed before they ended")
        let results = try SagaResult.stored(in: try Stores.open(url: state))
        let stats = try await service.stats()
        #expect(stats.violations.isEmpty, "\(stats.violations)")
        for (key, entry) in stats.keys { #expect(entry.effects <= 1, "\(key) took effect \(entry.effects) times") }
        var started = 0
        for round in 0..<rounds {
            let script = Self.scripts[round % Self.scripts.count]
            guard let result = results.first(where: { $0.saga == "r\(round)" }) else {
                // Killed before the saga was written: nothing of it may have reached the service.
                #expect(!stats.keys.keys.contains { $0.hasPrefix("r\(round)/") }, "round \(round) left effects without a saga")
                continue
            }
            started += 1
            #expect(result.state == script.expected, "round \(round): \(result.value.jsonText)")
            for (step, undone) in script.effects {
                #expect(stats.keys["r\(round)/\(step)/execute"]?.effects == 1, "round \(round): step \(step) did not take effect once")
                if undone { #expect(stats.keys["r\(round)/\(step)/undo"]?.effects == 1, "round \(round): step \(step) was not undone once") }
            }
            for key in stats.keys.keys where key.hasPrefix("r\(round)/") && key.hasSuffix("/undo") {
                let execute = key.dropLast("undo".count) + "execute"
                #expect(stats.keys[String(execute)]?.effects == 1, "round \(round): \(key) undid a step that never took effect")
            }
        }
        #expect(started >= 50, "only \(started) of \(rounds) sagas were started before their kill")
        withExtendedLifetime(scratch) {}
    }
}
