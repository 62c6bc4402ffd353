import Benchmark
import BenchmarkSupport
import Dispatch
import Foundation
import Ringfence
import RingfenceStores

// The audit log (SPEC §9): append rates under group and strict durability, verification
// throughput, an inclusion proof on a log of a million entries, and the runtime's full pipeline
// on SQLite (its entries committed through the log). Each benchmark reports its
// rate through `throughput` (one iteration = one batch of work, scaled below).

/// A clock that advances one microsecond a reading.
final class StepClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64 = 1_795_255_200_000_000
    var closure: @Sendable () -> AuditTime {
        { [self] in lock.withLock { now += 1; return try! AuditTime(microseconds: now) } }
    }
}

/// A fresh SQLite store in a temporary directory of its own, which `remove()` deletes: a benchmark
/// removes every store it makes (the million-entry log is about 700 MB).
final class TemporaryStore: @unchecked Sendable {
    // Safety: immutable after init.
    let directory: URL
    let store: StateStore

    init(_ label: String) {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ringfence-bench-\(label)-\(UUID().uuidString)")
        do {
            store = try Stores.open(url: "sqlite:" + directory.appendingPathComponent("state.db").path)
        } catch {
            fatalError("cannot open a SQLite store: \(error)")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The million-entry log that verification and proofs read, written in the setup of the benchmark
/// that needs it (not when the benchmarks are listed) and removed in its teardown.
final class BigLog: @unchecked Sendable {
    // Safety: `current` and `memory` are touched only by setup and teardown hooks, which the
    // harness runs one at a time.
    private var current: TemporaryStore?
    private var memory: StateStore?

    /// Writes the log to a new SQLite store, or with `inMemory` to a `memory:` store.
    func setUp(time: AuditTime, inMemory: Bool = false) {
        let big = inMemory ? nil : TemporaryStore("big")
        let store = try! big?.store ?? Stores.open(url: "memory:")
        let builder = try! AuditLog(store: store, settings: AuditSettings(durability: .relaxed, checkpointEvery: 100_000),
                                    clock: StepClock().closure)
        for i in 0..<1_000_000 { _ = try? builder.enqueue([record(i, time: time)]) }
        _ = try! builder.checkpoint()
        builder.close()
        current = big
        memory = inMemory ? store : nil
    }

    var store: StateStore { memory ?? current!.store }

    func tearDown() {
        current?.remove()
        current = nil
        memory = nil
    }
}

/// Runs `body(0..<threads)` on that many threads of its own at once and waits for them all.
/// (`DispatchQueue.concurrentPerform` runs only as many at once as there are cores, so 64 of its
/// iterations are not 64 appenders waiting on one commit together.)
func runConcurrently(threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for t in 0..<threads {
        group.enter()
        let thread = Thread {
            body(t)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// A decision-sized record (about 200 bytes of data).
func record(_ i: Int, time: AuditTime) -> AuditRecord {
    AuditRecord(kind: "decision", session: "s\(i % 16)", agent: "agent-\(i % 100)", time: time, value: .object([
        "request": .object(["agent": .object(["id": .string("agent-\(i % 100)"), "trust": .number(0.85)]),
                            "action": .string("fs.read"), "resource": .string("/workspace/data/\(i).csv")]),
        "decision": .object(["decision": .string("allow"), "code": .string("allow"), "rule": .string("read-workspace"), "ring": .number(2)]),
    ]))
}

let benchmarks: @Sendable () -> Void = {
    let time = try! AuditTime(microseconds: 1_795_255_200_000_000)
    let appends = 100_000
    let rate = Benchmark.Configuration(metrics: [.wallClock, .throughput], timeUnits: .milliseconds, warmupIterations: 1,
                                       scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 5, thresholds: [:])

    for (name, url) in [("memory", "memory:"), ("sqlite", "")] {
        Benchmark("audit: 100k appends, group, \(name)", configuration: rate) { benchmark in
            for _ in benchmark.scaledIterations {
                let file = url.isEmpty ? TemporaryStore("group") : nil
                let store = try! file?.store ?? Stores.open(url: url)
                let log = try! AuditLog(store: store, settings: AuditSettings(durability: .group), clock: StepClock().closure)
                benchmark.startMeasurement()
                for i in 0..<appends { _ = try? log.enqueue([record(i, time: time)]) }
                try! log.flush()
                benchmark.stopMeasurement()
                log.close()
                file?.remove()
            }
        }
    }

    Benchmark("audit: 10k appends, strict, 64 concurrent appenders, sqlite", configuration: rate) { benchmark in
        for _ in benchmark.scaledIterations {
            let file = TemporaryStore("strict")
            let log = try! AuditLog(store: file.store, settings: AuditSettings(durability: .strict), clock: StepClock().closure)
            benchmark.startMeasurement()
            runConcurrently(threads: 64) { t in
                for i in 0..<(10_000 / 64 + 1) { _ = try? log.append(record(t * 1000 + i, time: time)) }
            }
            benchmark.stopMeasurement()
            log.close()
            file.remove()
        }
    }

    // A million entries, written once per benchmark that reads them, for verification and proofs.
    let big = BigLog()
    for (name, inMemory) in [("sqlite", false), ("memory", true)] {
        Benchmark("audit: verify 1,000,000 entries, \(name)", configuration: rate) { benchmark in
            for _ in benchmark.scaledIterations {
                let report = AuditVerification.verify(big.store, keys: [])
                precondition(report.intact && report.entries == 1_000_000, "\(String(describing: report.failure))")
                blackHole(report)
            }
        } setup: {
            big.setUp(time: time, inMemory: inMemory)
        } teardown: {
            big.tearDown()
        }
    }

    // The seed's full pipeline (create a session, join, activate, three `audit.append`,
    // terminate) on a runtime over a SQLite store under `group`: each append returns its receipt
    // once its entry is committed, and terminate commits everything before it computes the
    // session's root, so the pipeline waits for four commits (each with an fsync). One runtime
    // and store for the whole benchmark, a new session each time, as a server keeps them.
    // One allow rule, `group` audit, ids from seed 1.
    let pipeline = TemporaryRuntime("pipeline") { directory in
        let engine = try Engine(source: """
            ringfence: 1
            kind: policy
            name: single
            rules:
              - {id: read-workspace, effect: allow, action: fs.read, resources: ["/workspace/**"], ring: 2}
            """, clock: { 1_000_000 })
        var settings = engine.program.runtime
        settings.audit.durability = .group
        return try Runtime(machine: engine.machine, settings: settings,
                           store: Stores.open(url: "sqlite:" + directory.appendingPathComponent("state.db").path),
                           clock: { 1_795_255_200_000_000 }, ids: .seeded(1))
    }
    Benchmark("runtime: full pipeline (create, join, activate, 3 audit.append, terminate; sqlite: group)",
              configuration: .init(metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 5,
                                   scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 1_000, thresholds: [:])) { benchmark in
        let runtime = pipeline.runtime
        benchmark.startMeasurement()
        blackHole(FullPipeline.run(on: runtime))
        benchmark.stopMeasurement()
    } setup: {
        pipeline.setUp()
    } teardown: {
        pipeline.tearDown()
    }

    Benchmark("audit: inclusion proof in a 1,000,000-entry log, sqlite",
              configuration: .init(metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 10,
                                   scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 2_000, thresholds: [:])) { benchmark in
        var seq: UInt64 = 12_345
        for _ in benchmark.scaledIterations {
            seq = (seq &* 6_364_136_223_846_793_005 &+ 1) % 1_000_000
            blackHole(try! AuditInclusionProof.prove(seq, in: big.store, makeCheckpoint: nil))
        }
    } setup: {
        big.setUp(time: time)
    } teardown: {
        big.tearDown()
    }
}
