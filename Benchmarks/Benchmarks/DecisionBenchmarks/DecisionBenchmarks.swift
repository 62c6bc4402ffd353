import Benchmark
import Dispatch
import Ringfence

// Decision latency, allocation gate and compile time. Every decision benchmark carries a
// `mallocCountTotal` p90 = 0 threshold: `swift package benchmark thresholds check` fails CI
// when deciding allocates.

/// Compiles YAML text into an engine, stopping the run on errors.
func engine(_ source: String) -> Engine {
    do {
        return try Engine(source: source, clock: { 1_000_000 })
    } catch {
        fatalError("benchmark policy does not compile: \(error)")
    }
}

let benchmarks: @Sendable () -> Void = {
    let zeroAllocations: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: .init(absolute: [.p90: 0]),
    ]
    // No operating-system metrics (such as cpuTotal) here: the harness reads them from /proc
    // inside the malloc-counting window, which would add its own allocations to every sample.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 1000,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: .kilo(100),
        thresholds: zeroAllocations
    )

    func decisionBenchmark(_ name: String, _ e: Engine, _ request: Request, expect allowed: Bool) {
        let prepared = e.prepare(request)
        precondition(e.evaluate(prepared).allowed == allowed, "\(name): unexpected decision \(e.evaluate(prepared))")
        Benchmark(name) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(e.evaluate(prepared))
            }
        }
    }

    let reader = Request(agent: Agent(id: "did:mesh:agent-1", trust: 0.85), action: "fs.read", resource: "/workspace/data/sales.csv")
    decisionBenchmark("decide 1 rule (glob + ring + when)", engine(Policies.single), reader, expect: true)

    for n in [1, 10, 100, 1000, 10000] {
        let e = engine(Policies.many(n))
        let last = Request(agent: Agent(id: "a", trust: 0.9), action: "tool.action\(n - 1)", resource: "/data/\(n - 1)/x.csv")
        decisionBenchmark("decide \(n) rules, matching the last", e, last, expect: true)
        let none = Request(agent: Agent(id: "a", trust: 0.9), action: "tool.other", resource: "/data/x")
        decisionBenchmark("decide \(n) rules, default deny", e, none, expect: false)
    }

    let query = Request(agent: Agent(id: "a", trust: 0.9), action: "database.query",
                        params: ["query": .string("SELECT region, sum(total) FROM sales WHERE year = 2026 GROUP BY region")])
    decisionBenchmark("decide 100 regex deny rules, none matching", engine(Policies.regexes(100)), query, expect: true)
    decisionBenchmark("decide 10 regex deny rules, none matching", engine(Policies.regexes(10)), query, expect: true)

    let log = Request(agent: Agent(id: "a", trust: 0.9), action: "fs.read", resource: "/srv/app49/a/b/logs/today.log")
    decisionBenchmark("decide glob-heavy (50 rules, 100 globs)", engine(Policies.globs), log, expect: true)

    // The glob matcher against the same test as a JIT-compiled PCRE2 regex, in situ.
    decisionBenchmark("resource test: segment glob matcher", engine(Policies.globMatcher), reader, expect: true)
    decisionBenchmark("resource test: PCRE2 regex (JIT)", engine(Policies.regexMatcher), reader, expect: true)

    let http = Request(agent: Agent(id: "a", trust: 0.9, roles: ["analyst"]), action: "net.http",
                       resource: "https://api.github.com/repos/x",
                       params: ["method": .string("GET"), "path": .string("/repos/x"), "host": .string("API.github.com")],
                       context: ["region": .string("eu")])
    decisionBenchmark("decide expression-heavy when", engine(Policies.expressions), http, expect: true)

    // Scaling: the same 200,000 decisions on one shared engine, by one thread and split over two.
    let shared = engine(Policies.single)
    let sharedRequest = shared.prepare(reader)
    let scaling = Benchmark.Configuration(metrics: [.wallClock, .throughput], timeUnits: .milliseconds, warmupIterations: 3,
                                          scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 30, thresholds: [:])
    Benchmark("200k decisions, 1 thread", configuration: scaling) { benchmark in
        for _ in benchmark.scaledIterations {
            for _ in 0..<200_000 { blackHole(shared.evaluate(sharedRequest)) }
        }
    }
    Benchmark("200k decisions, 2 threads sharing one engine", configuration: scaling) { benchmark in
        for _ in benchmark.scaledIterations {
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                for _ in 0..<100_000 { blackHole(shared.evaluate(sharedRequest)) }
            }
        }
    }

    rateLimitBenchmarks()
    runtimeBenchmarks()

    let json = #"{"agent":{"id":"did:mesh:agent-1","trust":0.85,"roles":["analyst"]},"action":"fs.read","resource":"/workspace/data/sales.csv","params":{"method":"GET"}}"#
    let single = engine(Policies.single)
    Benchmark("decode JSON + prepare + decide", configuration: .init(thresholds: [:])) { benchmark in
        for _ in benchmark.scaledIterations {
            let request = try? Request(json: json)
            blackHole(request.map { single.evaluate($0) })
        }
    }

    for n in [1000, 10000] {
        let text = Policies.many(n)
        Benchmark("compile \(n) rules from YAML",
                  configuration: .init(metrics: [.wallClock, .mallocCountTotal], timeUnits: .milliseconds, warmupIterations: 1,
                                       scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 5, thresholds: [:])) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(Compiler.compile(source: text).program)
            }
        }
    }

    regexBudgetBenchmarks()
    decodeBenchmarks()
}
