import Benchmark
import Dispatch
import Ringfence

// The GCRA limiter (SPEC §8.4): the cost of one token with a million live keys (O(1) per
// decision, bounded memory), and two threads deciding limited rules on one engine (each thread's
// keys live in sets of their own, so the pair should take about half the time of one thread).

/// Agent ids `agent-0000000` … written into one reusable buffer, so the loop allocates nothing.
struct AgentIDs {
    private var buffer: [UInt8] = Array("agent-0000000".utf8)

    /// Runs `body` with the bytes of the id of agent `n`.
    mutating func with<R>(_ n: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var v = n
        for i in stride(from: buffer.count - 1, through: 6, by: -1) {
            buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
        return buffer.withUnsafeBufferPointer(body)
    }
}

func rateLimitBenchmarks() {
    let keys = 1_000_000
    let bucket = RateLimiter.Bucket(count: 100, per: 3600)
    let limiter = RateLimiter()
    var ids = AgentIDs()
    for n in 0..<keys { _ = ids.with(n) { limiter.take(namespace: 1, agent: $0, bucket: bucket, now: 0) } }
    // The default table (2,097,152 slots in sets of 16) holds all but 515 of these keys: the 311
    // sets they fill past 16 keep their 16 most recently used.
    precondition(limiter.count == 999_485)
    Benchmark("rate limit: take a token, 1,000,000 live keys",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput, .peakMemoryResident],
                                   timeUnits: .nanoseconds, warmupIterations: 1000, scalingFactor: .kilo,
                                   maxDuration: .seconds(2), thresholds: [:])) { benchmark in
        var ids = AgentIDs()
        var n = 0
        for _ in benchmark.scaledIterations {
            n = (n &+ 7_919) % keys
            blackHole(ids.with(n) { limiter.take(namespace: 1, agent: $0, bucket: bucket, now: 1_000) })
        }
    }

    // Two threads, each deciding for its own agents on one engine whose rule has a limit.
    let limited = engine("""
        ringfence: 1
        kind: policy
        name: limited
        rules:
          - id: query
            effect: allow
            action: db.query
            limit: 1000000000/second
        """)
    let requests = (0..<2).map { t in (0..<1_000).map { i in limited.prepare(Request(agent: Agent(id: "agent-\(t)-\(i)"), action: "db.query")) } }
    let scaling = Benchmark.Configuration(metrics: [.wallClock, .throughput], timeUnits: .milliseconds, warmupIterations: 3,
                                          scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 30, thresholds: [:])
    Benchmark("200k limited decisions, 1 thread", configuration: scaling) { benchmark in
        let mine = requests[0]
        for _ in benchmark.scaledIterations {
            for k in 0..<200_000 { blackHole(limited.evaluate(mine[k % 1_000])) }
        }
    }
    Benchmark("200k limited decisions, 2 threads sharing one engine", configuration: scaling) { benchmark in
        for _ in benchmark.scaledIterations {
            DispatchQueue.concurrentPerform(iterations: 2) { t in
                // Each thread takes its own list first: indexing `requests[t]` in the loop would
                // retain and release the outer array, one reference count that both threads
                // write, and that shared line (not the engine) held two threads to 1.2×.
                let mine = requests[t]
                for k in 0..<100_000 { blackHole(limited.evaluate(mine[k % 1_000])) }
            }
        }
    }
}
