import AsyncHTTPClient
import Foundation
import Ringfence
import RingfenceTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `examples/sagas/service.py` started on a loopback port chosen when it starts, for one suite:
/// it counts requests and effects per idempotency key and fails on command (docs in the script).
final class SagaService: @unchecked Sendable {
    // Safety: set once in `init`, read afterwards.
    /// The running service.
    let running: StepServiceProcess
    /// `http://127.0.0.1:PORT`.
    var baseURL: String { running.baseURL }

    /// What the service saw for one key.
    struct KeyStats: Sendable, Hashable {
        /// Requests with this key.
        var requests: Int
        /// Effects (first 2xx answers) for this key.
        var effects: Int
    }

    /// Everything the service saw.
    struct Stats: Sendable {
        /// Per idempotency key.
        var keys: [String: KeyStats]
        /// Keys in the order their effects happened.
        var effects: [String]
        /// Requests whose body or key broke SPEC §10.2.
        var violations: [String]
    }

    /// Starts the service and waits for its `listening on` line.
    init() throws {
        running = try StepServiceProcess()
    }

    /// Why the service could not be used.
    struct ServiceFailure: Error, CustomStringConvertible {
        /// What happened.
        var message: String
        /// The message.
        var description: String { message }
    }

    /// Blocks until the service has seen a request whose idempotency key starts with `prefix`
    /// (at most 20 s, the service's own limit); call it from a thread of your own.
    func waitForRequest(prefix: String) {
        let done = DispatchSemaphore(value: 0)
        let url = baseURL + "/_wait/" + prefix
        Task {
            _ = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30)).body.collect(upTo: 1 << 10)
            done.signal()
        }
        done.wait()
    }

    /// What the service has seen so far.
    func stats() async throws -> Stats {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/_stats"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        let value = try JSONParser.parse(String(buffer: body))
        guard case .object(let root) = value, case .object(let keys)? = root["keys"], case .list(let effects)? = root["effects"],
              case .list(let violations)? = root["violations"] else { throw ServiceFailure(message: "bad stats: \(value.jsonText)") }
        var stats = Stats(keys: [:], effects: [], violations: violations.map(\.jsonText))
        for (key, entry) in keys {
            guard case .object(let e) = entry, case .number(let requests)? = e["requests"], case .number(let made)? = e["effects"] else { continue }
            stats.keys[key] = KeyStats(requests: Int(requests), effects: Int(made))
        }
        stats.effects = effects.compactMap { if case .string(let s) = $0 { s } else { nil } }
        return stats
    }
}

/// Time for saga tests: waits between attempts are recorded and take no real time (a virtual
/// clock moves by them); an attempt's timeout fires after a short real time, so a hanging
/// executor is given up on quickly.
final class RecordingTimer: SagaTimer {
    /// The waits asked for, in µs, in order.
    let waits = Mutex<[Int64]>([])
    /// The virtual clock (µs).
    let clock = Atomic<Int64>(0)
    /// How long a timeout really takes (µs).
    let timeoutTakes: Int64

    /// A timer whose timeouts take `timeoutTakes` µs of real time (at most the timeout asked for).
    init(timeoutTakes: Int64 = 200_000) {
        self.timeoutTakes = timeoutTakes
    }

    /// The virtual time.
    func now() -> Int64 { clock.load(ordering: .relaxed) }

    /// Records the wait and moves the virtual clock.
    func sleep(_ microseconds: Int64) async {
        waits.withLock { $0.append(microseconds) }
        clock.add(microseconds, ordering: .relaxed)
    }

    /// Sleeps a short real time, then moves the virtual clock past the timeout.
    func timeout(_ microseconds: Int64) async {
        try? await Task.sleep(nanoseconds: UInt64(min(microseconds, timeoutTakes)) * 1_000)
        if !Task.isCancelled { clock.add(microseconds, ordering: .relaxed) }
    }

    /// The waits so far, in seconds.
    var seconds: [Double] { waits.withLock { $0.map { Double($0) / 1e6 } } }
}

/// Compiles policies and sagas and opens runtimes on them, with one session whose agents have joined.
enum SagaFixture {
    /// The policy every saga test runs under: `svc.*` allowed, `svc.forbidden` denied.
    static let policy = """
        ringfence: 1
        kind: policy
        name: saga-steps
        rules:
          - id: steps-allowed
            effect: allow
            actions: ["svc.*"]
            ring: 3
            reason: saga steps are allowed
          - id: forbidden
            effect: deny
            action: svc.forbidden
            reason: this action is forbidden
        """

    /// The agents the session holds.
    static let agents = ["did:a", "did:b", "did:c", "did:sub"]

    /// The engine for `sagas` (YAML texts, one saga each) under `policy`.
    static func engine(_ sagas: [String]) throws -> Engine {
        var sources = [(path: "policy.yaml", text: policy)]
        for (i, saga) in sagas.enumerated() { sources.append((path: "saga\(i).yaml", text: saga)) }
        let result = Compiler.compile(sources: sources)
        guard let program = result.program else {
            throw SagaService.ServiceFailure(message: "the sagas do not compile: \(result.diagnostics.filter(\.isError))")
        }
        return try Engine(program: program)
    }

    /// A runtime on `store` over `engine` with session `s1` active and every agent joined; its
    /// clock advances 1 ms a read from a fixed time, its ids come from seed 7.
    static func runtime(_ engine: Engine, store: StateStore = MemoryStore(), environment: SagaEnvironment,
                        session: Bool = true) throws -> Runtime {
        let ticks = Atomic<Int64>(1_795_255_200_000_000)
        let runtime = try Runtime(engine: engine, store: store, clock: { ticks.add(1_000, ordering: .relaxed).newValue }, ids: .seeded(7))
        runtime.sagaEnvironment = environment
        if session {
            _ = try runtime.createSession(id: "s1")
            for agent in agents { _ = try runtime.join(session: "s1", agent: agent, trust: 0.85) }
            _ = try runtime.activate(session: "s1")
        }
        return runtime
    }

    /// The plan named `name` in `engine`.
    static func plan(_ engine: Engine, _ name: String) throws -> SagaPlan {
        try #require(engine.program.sagas.first { $0.name == name })
    }

    /// A `kind: saga` file named `name` in session `s1` with `body` (steps and more) after its header.
    static func saga(_ name: String, _ body: String) -> String {
        "ringfence: 1\nkind: saga\nname: \(name)\nsession_id: s1\n" + body
    }
}

extension SagaResult {
    /// The states of the steps by id.
    var states: [String: StepState] { Dictionary(uniqueKeysWithValues: steps.map { ($0.id, $0.state) }) }
}
