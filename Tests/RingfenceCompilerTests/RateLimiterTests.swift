import Foundation
import Ringfence
import RingfenceRuntime
import Testing

/// The GCRA limiter (SPEC §8.4): token-bucket admissions, clocks that go backwards, many keys,
/// bounded memory, shape changes that keep the level, and per-rule limits through the engine.
@Suite struct RateLimiterTests {
    static let second: Int64 = 1_000_000_000

    /// Takes a token for `agent` in namespace 0.
    static func take(_ limiter: RateLimiter, _ agent: String, _ bucket: RateLimiter.Bucket, at t: Int64) -> Bool {
        limiter.take(namespace: 0, agent: agent, bucket: bucket, now: t).admitted
    }

    @Test func aBucketAdmitsItsCapacityThenRefillsEvenly() {
        let limiter = RateLimiter()
        let bucket = RateLimiter.Bucket(count: 3, per: 60)  // one token every 20 s
        let t0: Int64 = 1_000 * Self.second
        #expect((0..<5).map { _ in Self.take(limiter, "a", bucket, at: t0) } == [true, true, true, false, false])
        #expect(!Self.take(limiter, "a", bucket, at: t0 + 19 * Self.second))
        #expect(Self.take(limiter, "a", bucket, at: t0 + 20 * Self.second))
        #expect(!Self.take(limiter, "a", bucket, at: t0 + 20 * Self.second))
        // A minute idle fills the bucket again, and never beyond its capacity.
        #expect((0..<4).map { _ in Self.take(limiter, "a", bucket, at: t0 + 600 * Self.second) } == [true, true, true, false])
    }

    @Test func retryAfterIsTheWaitForTheNextToken() {
        let limiter = RateLimiter()
        let bucket = RateLimiter.Bucket(count: 2, per: 10)  // one token every 5 s
        let t0: Int64 = 50 * Self.second
        _ = limiter.take(namespace: 0, agent: "a", bucket: bucket, now: t0)
        _ = limiter.take(namespace: 0, agent: "a", bucket: bucket, now: t0)
        let refused = limiter.take(namespace: 0, agent: "a", bucket: bucket, now: t0 + 2 * Self.second)
        #expect(!refused.admitted && refused.retryAfterNanoseconds == 3 * Self.second && refused.retryAfter == 3)
        #expect(limiter.take(namespace: 0, agent: "a", bucket: bucket, now: t0 + 5 * Self.second).admitted)
    }

    /// The old fixed-window limiter reset when time went backwards: alternating 10:00 and 09:59
    /// under `3/minute` allowed all 20 requests.
    @Test func aClockGoingBackwardsMintsNoTokens() {
        let limiter = RateLimiter()
        let bucket = RateLimiter.Bucket(count: 3, per: 60)
        let ten: Int64 = 36_000 * Self.second, nineFiftyNine = ten - 60 * Self.second
        let admitted = (0..<20).filter { i in Self.take(limiter, "a", bucket, at: i.isMultiple(of: 2) ? ten : nineFiftyNine) }.count
        #expect(admitted == 3)
    }

    /// The old limiter pruned by the current rule's window, so a 1-per-second rule reset other
    /// rules' hourly windows once 100,000 keys were live.
    @Test func manyKeysOfOneRuleNeverResetAnotherRulesBuckets() {
        let limiter = RateLimiter()
        let hourly = RateLimiter.Bucket(count: 1, per: 3600), perSecond = RateLimiter.Bucket(count: 1, per: 1)
        let t0: Int64 = 7_200 * Self.second
        #expect(limiter.take(namespace: 1, agent: "victim", bucket: hourly, now: t0).admitted)
        for i in 0..<150_000 {
            _ = limiter.take(namespace: 2, agent: "agent-\(i)", bucket: perSecond, now: t0 + Int64(i) * 1_000)
        }
        #expect(!limiter.take(namespace: 1, agent: "victim", bucket: hourly, now: t0 + 10 * Self.second).admitted)
        #expect(limiter.count == 150_001)
    }

    @Test func theLeastRecentlyUsedKeyIsDroppedPastCapacity() {
        let limiter = RateLimiter(capacity: 64)  // 4 keys per shard
        let bucket = RateLimiter.Bucket(count: 1, per: 60)
        for i in 0..<1_000 { _ = Self.take(limiter, "agent-\(i)", bucket, at: 0) }
        #expect(limiter.count <= limiter.capacity && limiter.capacity == 64)
        // The most recent keys are still held (their buckets are empty); the first were dropped.
        #expect(!Self.take(limiter, "agent-999", bucket, at: 1))
        #expect(Self.take(limiter, "agent-0", bucket, at: 1))
    }

    @Test func aNewShapeKeepsTheLevel() {
        let limiter = RateLimiter()
        let ring2 = RateLimiter.Bucket(rate: 20, burst: 40), ring3 = RateLimiter.Bucket(rate: 5, burst: 10)
        // 8 tokens used at ring 2, then the agent drops to ring 3: 8 of its 10 are used.
        for _ in 0..<8 { #expect(Self.take(limiter, "a", ring2, at: 0)) }
        #expect((0..<3).map { _ in Self.take(limiter, "a", ring3, at: 0) } == [true, true, false])
    }

    @Test func ringBucketParameters() {
        #expect(RateLimiter.Bucket(rate: 5, burst: 10) == RateLimiter.Bucket(capacity: 10, interval: 200_000_000))
        #expect(RateLimiter.Bucket(count: 7, per: 1).interval == 142_857_143)
        #expect(RateLimiter.Bucket(count: 100, per: 3600).interval == 36 * Self.second)
    }

    @Test func namespacesAndAgentsAreSeparate() {
        let limiter = RateLimiter()
        let bucket = RateLimiter.Bucket(count: 1, per: 60)
        #expect(limiter.take(namespace: 1, agent: "a", bucket: bucket, now: 0).admitted)
        #expect(limiter.take(namespace: 2, agent: "a", bucket: bucket, now: 0).admitted)
        #expect(limiter.take(namespace: 1, agent: "b", bucket: bucket, now: 0).admitted)
        #expect(!limiter.take(namespace: 1, agent: "a", bucket: bucket, now: 0).admitted)
        limiter.removeAll(namespace: 1)
        #expect(limiter.take(namespace: 1, agent: "a", bucket: bucket, now: 0).admitted)
        #expect(!limiter.take(namespace: 2, agent: "a", bucket: bucket, now: 0).admitted)
    }

    @Test func threadsSharingALimiterNeverOverAdmit() async {
        let limiter = RateLimiter()
        let bucket = RateLimiter.Bucket(count: 100, per: 3600)
        let admitted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<1_000).filter { _ in Self.take(limiter, "shared", bucket, at: 0) }.count }
            }
            return await group.reduce(0, +)
        }
        #expect(admitted == 100)
    }

    /// Per-rule limits through the engine: `3/minute` per agent on the request's own clock.
    @Test func engineLimitsFollowTheRequestClock() throws {
        let engine = try Engine(source: """
            ringfence: 1
            kind: policy
            name: limits
            rules:
              - id: query
                effect: allow
                action: db.query
                limit: 3/minute
            """, timeSource: .requestTimeOrClock, clock: { 0 })
        func decide(_ agent: String, _ time: String) -> DecisionCode {
            engine.evaluate(Request(agent: Agent(id: agent), action: "db.query", context: ["time": .string(time)])).code
        }
        let codes = (0..<20).map { i in decide("a", i.isMultiple(of: 2) ? "2026-11-21T10:00:00Z" : "2026-11-21T09:59:00Z") }
        #expect(codes.filter { $0 == .allow }.count == 3)
        #expect(codes.filter { $0 == .rateLimit }.count == 17)
        #expect(decide("b", "2026-11-21T10:00:00Z") == .allow)
        #expect(decide("a", "2026-11-21T10:01:00Z") == .allow)
    }
}
