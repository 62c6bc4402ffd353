import Benchmark
import BenchmarkSupport
import Ringfence

// The session runtime (SPEC §8): a decision in a session on `memory:` with `group` audit (goal
// ≤ 1 µs median), and the seed system's "full pipeline" — create a session, join, activate, three
// `audit.append`, terminate — on a fresh memory store (goal ≤ 10 µs). Named `runtime: …` so the
// zero-allocation gate's filter (`(decide|resource test).*`) leaves them out: a runtime decision
// prepares its request and queues an audit entry, which allocate.

/// A runtime over `engine` on a fresh memory store, its clock fixed at `clock` (µs) and ids from seed 1.
func runtime(_ engine: Engine, settings: RuntimeSettings, clock: Int64) -> Runtime {
    do {
        return try Runtime(machine: engine.machine, settings: settings, store: MemoryStore(), clock: { clock }, ids: .seeded(1))
    } catch {
        fatalError("cannot open a runtime: \(error)")
    }
}

func runtimeBenchmarks() {
    let e = engine(Policies.single)
    // Ring buckets wide enough that every timed decision is an allow.
    var settings = e.program.runtime
    settings.audit.durability = .group
    settings.limits.ring2 = RuntimeSettings.RingLimit(rate: 1_000_000_000, burst: 1_000_000_000)
    let start: Int64 = 1_795_255_200_000_000

    let deciding = runtime(e, settings: settings, clock: start)
    do {
        _ = try deciding.createSession(id: "bench")
        _ = try deciding.join(session: "bench", agent: "did:mesh:agent-1", trust: 0.85)
        _ = try deciding.activate(session: "bench")
    } catch {
        fatalError("cannot set up the session: \(error)")
    }
    let reader = Request(agent: Agent(id: "did:mesh:agent-1"), action: "fs.read", resource: "/workspace/data/sales.csv")
    precondition((try? deciding.decide(reader, session: "bench"))?.decision.allowed == true, "runtime: the benchmark request must be allowed")
    // Latency as a caller sees it: each sample times 1,000 decisions while the audit writer
    // sequences and hashes their entries on the other core, then lets the writer catch up
    // untimed, so no sample pays for a backlog an earlier one left. Sustained: the same 1,000
    // decisions and the writer committing all of their entries, timed together.
    func decideInSession(_ name: String, metrics: [BenchmarkMetric], sustained: Bool) {
        let configuration = Benchmark.Configuration(
            metrics: metrics, timeUnits: .nanoseconds, warmupIterations: 10,
            scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: 200, thresholds: [:])
        Benchmark(name, configuration: configuration) { benchmark in
            if !sustained { benchmark.startMeasurement() }
            for _ in benchmark.scaledIterations {
                blackHole(try? deciding.decide(reader, session: "bench"))
            }
            if !sustained { benchmark.stopMeasurement() }
            try? deciding.log.flush()
        }
    }
    decideInSession("runtime: decide in a session (memory:, group audit)", metrics: [.wallClock, .mallocCountTotal, .throughput], sustained: false)
    decideInSession("runtime: decide in a session, sustained (audit entries committed)", metrics: [.wallClock, .mallocCountTotal, .throughput], sustained: true)
    // The same, timed without counting allocations: the counting interposer keeps counters that
    // the caller and the audit writer both write on every allocation, which adds to the
    // caller's time whatever the runtime does.
    decideInSession("runtime: decide in a session, time only (memory:, group audit)", metrics: [.wallClock, .throughput], sustained: false)
    decideInSession("runtime: decide in a session, sustained, time only", metrics: [.wallClock, .throughput], sustained: true)

    // The pipeline with its allocations counted, and timed alone (the counting interposer adds
    // to every allocation's cost, and a pipeline makes a few hundred).
    for (name, metrics) in [("runtime: full pipeline (create, join, activate, 3 audit.append, terminate; memory:)",
                             [BenchmarkMetric.wallClock, .mallocCountTotal, .throughput]),
                            ("runtime: full pipeline, time only", [.wallClock, .throughput])] {
        Benchmark(name, configuration: .init(metrics: metrics, timeUnits: .microseconds,
                                             warmupIterations: 10, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 2_000,
                                             thresholds: [:])) { benchmark in
            // A fresh runtime per sample (not timed), so every sample starts from an empty store and
            // an idle audit writer, as the seed's pipeline does.
            let pipeline = runtime(e, settings: settings, clock: start)
            benchmark.startMeasurement()
            blackHole(FullPipeline.run(on: pipeline))
            benchmark.stopMeasurement()
            pipeline.close()
        }
    }
}
