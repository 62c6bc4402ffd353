import Benchmark
import BenchmarkSupport
import Foundation
import Ringfence
import RingfenceStores

// Sagas (SPEC §10): a 3-step saga with no-op in-process executors, start to end — on `memory:`
// (goal ≤ 5 µs; the seed takes 82 µs) with inline closures and with closures raced against
// their timeout in tasks of their own, and on SQLite under `group` — and the seed's full
// pipeline with a 1-step saga (goal ≤ 10 µs; the seed takes 107 µs). Named `saga: …` so the
// zero-allocation gate leaves them out: a saga writes rows and audit entries, which allocate.

/// Policies and a 3-step and a 1-step saga.
let sources = [
    (path: "policy.yaml", text: """
        ringfence: 1
        kind: policy
        name: steps
        rules:
          - {id: steps, effect: allow, actions: ["svc.*"], ring: 3, reason: saga steps are allowed}
        """),
    (path: "three.yaml", text: """
        ringfence: 1
        kind: saga
        name: three
        session_id: bench
        steps:
          - {id: a, action_id: svc.a, agent: did:bench, undo_api: /ua}
          - {id: b, action_id: svc.b, agent: did:bench, undo_api: /ub}
          - {id: c, action_id: svc.c, agent: did:bench, undo_api: /uc}
        """),
    (path: "one.yaml", text: """
        ringfence: 1
        kind: saga
        name: one
        session_id: bench
        steps:
          - {id: a, action_id: svc.a, agent: did:bench, undo_api: /ua}
        """),
]

/// The compiled engine.
let engine: Engine = {
    guard let program = Compiler.compile(sources: sources).program, let built = try? Engine(program: program) else {
        fatalError("the benchmark sagas do not compile")
    }
    return built
}()

/// No-op closures for every action.
func noOps(_ isolation: InProcessStep.Isolation) -> SagaExecutors {
    let step = InProcessStep(isolation: isolation) { _ in nil }
    return SagaExecutors(inProcess: ["svc.a": step, "svc.b": step, "svc.c": step])
}

/// A runtime on `store` with wide ring buckets, its clock fixed, ids from seed 1.
func runtime(_ store: StateStore, _ isolation: InProcessStep.Isolation, session: Bool = true) -> Runtime {
    var settings = engine.program.runtime
    settings.audit.durability = .group
    for ring in 0...3 { settings.limits[ring: ring] = RuntimeSettings.RingLimit(rate: 1_000_000_000, burst: 1_000_000_000) }
    do {
        let runtime = try Runtime(machine: engine.machine, settings: settings, store: store, clock: { 1_795_255_200_000_000 }, ids: .seeded(1))
        runtime.sagaEnvironment = SagaEnvironment(executors: noOps(isolation))
        if session {
            _ = try runtime.createSession(id: "bench")
            _ = try runtime.join(session: "bench", agent: "did:bench", trust: 0.85)
            _ = try runtime.activate(session: "bench")
        }
        return runtime
    } catch {
        fatalError("cannot open a runtime: \(error)")
    }
}

/// The plan named `name`.
func plan(_ name: String) -> SagaPlan {
    guard let plan = engine.program.sagas.first(where: { $0.name == name }) else { fatalError("no saga `\(name)`") }
    return plan
}

let benchmarks: @Sendable () -> Void = {
    let three = plan("three"), one = plan("one")
    // Latency as a caller sees it: each sample runs 1,000 sagas while the audit writer commits on
    // the other core, then lets it catch up untimed.
    let latency = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal, .throughput], timeUnits: .microseconds,
                                          warmupIterations: 5, scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: 200,
                                          thresholds: [:])
    // Timed alone too: the counting interposer adds to every allocation's cost.
    var timeOnly = latency
    timeOnly.metrics = [.wallClock, .throughput]
    for (label, isolation, configuration) in [("inline", InProcessStep.Isolation.inline, latency), ("task", .task, latency),
                                              ("inline, time only", .inline, timeOnly)] {
        let memory = runtime(MemoryStore(), isolation)
        Benchmark("saga: 3 steps, no-op in-process (\(label)), memory:", configuration: configuration) { benchmark in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try? await memory.runSaga(three, session: "bench"))
            }
            benchmark.stopMeasurement()
            try? memory.log.flush()
        }
    }
    // On a store that persists, a saga's start is committed (one fsync) before its first step runs.
    let sqlite = TemporaryRuntime("sagas") { directory in
        runtime(try Stores.open(url: "sqlite:" + directory.appendingPathComponent("state.db").path), .inline)
    }
    Benchmark("saga: 3 steps, no-op in-process (inline), sqlite: group",
              configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds, warmupIterations: 3,
                                   scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 500, thresholds: [:])) { benchmark in
        let runtime = sqlite.runtime
        benchmark.startMeasurement()
        blackHole(try? await runtime.runSaga(three, session: "bench"))
        benchmark.stopMeasurement()
    } setup: {
        sqlite.setUp()
    } teardown: {
        sqlite.tearDown()
    }
    // The pipeline with its allocations counted, and timed alone (the counting interposer adds
    // to every allocation's cost).
    for (name, metrics) in [("saga: full pipeline (create, join, activate, 1-step saga, terminate; memory:)",
                             [BenchmarkMetric.wallClock, .mallocCountTotal, .throughput]),
                            ("saga: full pipeline, time only", [.wallClock, .throughput])] {
        Benchmark(name, configuration: .init(metrics: metrics, timeUnits: .microseconds, warmupIterations: 10, scalingFactor: .one,
                                             maxDuration: .seconds(3), maxIterations: 2_000, thresholds: [:])) { benchmark in
            let pipeline = runtime(MemoryStore(), .inline, session: false)
            benchmark.startMeasurement()
            do {
                guard case .object(let created) = try pipeline.createSession(), case .string(let id)? = created["session"] else {
                    fatalError("session.create returned no id")
                }
                _ = try pipeline.join(session: id, agent: "did:bench", trust: 0.85)
                _ = try pipeline.activate(session: id)
                blackHole(try await pipeline.runSaga(one, session: id))
                blackHole(try pipeline.terminate(session: id))
            } catch {
                fatalError("pipeline failed: \(error)")
            }
            benchmark.stopMeasurement()
            pipeline.close()
        }
    }
}
