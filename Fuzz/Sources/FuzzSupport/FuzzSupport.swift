import CFuzzerDriver
import Ringfence

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What the four harnesses share: a check that stops the fuzzer with a message, a small fixed
// policy, probe requests, and the invariants every decision must keep.

/// Runs libFuzzer's driver over `test` with this process's command line (its options, corpus
/// directories or inputs to replay) and exits with the driver's status.
/// The fixed engine and probe requests are built first, so no input pays for them.
public func runFuzzer(_ test: ringfence_fuzz_test_one_input) -> Never {
    _ = (FuzzFixtures.engine, FuzzFixtures.probeRequests)
    exit(ringfence_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, test))
}

/// Stops the process with `message` when `condition` is false, so libFuzzer saves the input as a
/// crash artifact; the message names the broken invariant.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("fuzz invariant broken: \(message())", file: file, line: line) }
}

/// Reads libFuzzer's input as bytes; libFuzzer passes a null pointer for the empty input.
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The fixed policy, probe requests and decision checks used by the harnesses.
public enum FuzzFixtures {
    /// The engine's clock: a fixed time, so runs repeat (rate limits read `context.time` first).
    public static let clock: @Sendable () -> Double = { 1_800_000_000 }

    /// A small policy reaching the main features: action and resource globs (paths and URLs),
    /// regexes, functions, rings and rate limits.
    public static let policySource = #"""
        ringfence: 1
        kind: policy
        name: fuzz
        rings:
          privileged: 0.9
          standard: 0.5
        rules:
          - id: read-workspace
            effect: allow
            actions: [fs.read, fs.list]
            resources: ["/workspace/**"]
            ring: 3
            reason: workspace files are readable
          - id: write-out
            effect: allow
            action: fs.write
            resources: ["/workspace/out/**", "/workspace/tmp/*.{csv,json}"]
            ring: 2
            limit: 2/second
          - id: no-secrets
            effect: deny
            actions: ["fs.*"]
            resources: ["/workspace/**/.env", "/workspace/**/*.pem", "/**/id_rsa"]
            reason: secrets are never readable
          - id: no-drop
            effect: deny
            action: database.query
            when: params.query =~ "(?i)drop"
            reason: destructive sql
          - id: analysts-read
            effect: allow
            action: database.query
            when: params.query =~ "(?i)^\\s*select\\b" && "analyst" in agent.roles && len(params.query) < 200
          - id: get-apis
            effect: allow
            action: net.http
            resources: ["https://api.example.com/v1/**", "https://*.internal.example.com/**"]
            when: params.method in ["GET", "HEAD"] && !has(params.body)
          - id: no-plain-http
            effect: deny
            action: net.http
            when: startsWith(lower(resource), "http://") || endsWith(upper(resource), ".EXE")
          - id: deploy
            effect: allow
            actions: ["deploy.{staging,prod}", "tool.*.run"]
            when: agent.trust >= 0.5 && context.env != "prod" && glob(params.path, "/srv/**") && agent.attrs.team == "ops"
            ring: 1
            limit: 1/minute
        """#

    /// The engine for `policySource`; request time comes from `context.time` when present.
    public static let engine: Engine = {
        do {
            return try Engine(source: policySource, file: "fuzz.yaml", timeSource: .requestTimeOrClock, clock: clock)
        } catch {
            fatalError("the fixed fuzzing policy does not compile: \(error)")
        }
    }()

    /// Requests that reach many kinds of value: strings, numbers, lists, objects, nulls, climbing
    /// paths, URLs and a privileged agent.
    public static let probeRequests: [Request] = [
        Request(agent: Agent(id: "a", trust: 0.7, roles: ["analyst"]), action: "fs.read", resource: "/workspace/a/../b.csv"),
        Request(agent: Agent(id: "a", trust: 0.2), action: "fs.write", resource: "/workspace/../../etc/passwd"),
        Request(agent: Agent(id: "b", trust: 0.99, consensus: true, attrs: ["team": .string("ops")]),
                action: "deploy.prod", params: ["path": .string("/srv/app"), "n": .number(3)], context: ["env": .string("dev")]),
        Request(agent: Agent(id: "c", ring: 0), action: "net.http", resource: "https://API.example.com:443/v1/%2e%2e/x?q=1#f",
                params: ["method": .string("GET"), "body": .null]),
        Request(agent: Agent(id: "d"), action: "database.query", resource: "sales_db",
                params: ["query": .list([.string("DROP")]), "x": .object(["y": .bool(true)])]),
        Request(agent: Agent(id: "ü", trust: 0), action: "…", resource: "https://h/%2e%2e/%2e%2e",
                params: ["query": .string(String(repeating: "a", count: 300) + "DROP")]),
    ]

    /// Decides every probe request on `engine` and checks each decision.
    public static func decideProbes(_ engine: Engine) {
        for request in probeRequests { checkDecision(engine.evaluate(request), for: request) }
    }

    /// Checks what holds for every decision on `request`, whatever the policy: a ring in 0–3 (the
    /// agent's own when it gives one), `allowed` exactly for code `allow`, a reason, and a decision
    /// line that renders.
    public static func checkDecision(_ decision: Decision, for request: Request) {
        fuzzCheck((0...3).contains(decision.ring), "ring \(decision.ring) out of range")
        fuzzCheck(decision.allowed == (decision.code == .allow), "allowed \(decision.allowed) with code \(decision.code)")
        fuzzCheck(decision.code != .default || decision.rule == nil, "a default decision names rule \(decision.rule ?? "")")
        fuzzCheck(!decision.reason.isEmpty, "a decision without a reason")
        fuzzCheck(!decision.jsonLine.isEmpty, "an empty decision line")
        if let ring = request.agent.ring {
            fuzzCheck(decision.ring == ring, "agent ring \(ring) decided as ring \(decision.ring)")
        }
    }
}
