import Dispatch
@testable import RingfenceRuntime
import RingfenceTestSupport
import Synchronization
import Testing

/// The limiter's set-associative table (SPEC §8.4): a full set drops its own least recently used
/// key and nothing else, freed slots are taken before any key is dropped, ids of every length
/// are kept whole, many threads get exact totals, and the same takes give the same answers.
@Suite struct BucketTableTests {
    /// One token an hour: a key's first take is admitted and every later one refused, so a take
    /// tells whether the key was still held.
    static let hourly = RateLimiter.Bucket(count: 1, per: 3600)

    /// The first `count` ids `prefix0`, `prefix1`, … that hash to `set` of `limiter` in `namespace`.
    static func ids(_ count: Int, in set: Int, of limiter: RateLimiter, namespace: UInt64 = 0, prefix: String = "agent-") -> [String] {
        var found: [String] = []
        var n = 0
        while found.count < count {
            let id = "\(prefix)\(n)"
            if limiter.setIndex(namespace: namespace, agent: id) == set { found.append(id) }
            n += 1
        }
        return found
    }

    /// Takes a token for `id` in `namespace` at time 0.
    static func take(_ limiter: RateLimiter, _ id: String, namespace: UInt64 = 0) -> Bool {
        limiter.take(namespace: namespace, agent: id, bucket: hourly, now: 0).admitted
    }

    @Test func aFullSetDropsItsLeastRecentlyUsedKeyAndNothingElse() {
        let limiter = RateLimiter(capacity: 32)  // two sets of 16
        #expect(limiter.capacity == 32)
        let first = Self.ids(17, in: 0, of: limiter), second = Self.ids(5, in: 1, of: limiter)
        for id in first.prefix(16) + second { #expect(Self.take(limiter, id)) }
        #expect(limiter.count == 21)
        // Using the oldest key again makes the second oldest the least recently used.
        #expect(!Self.take(limiter, first[0]))
        #expect(Self.take(limiter, first[16]))
        #expect(limiter.count == 21)
        // Every other key of the full set, and every key of the other set, is still held (its
        // bucket still empty); the dropped key comes back with a full bucket.
        for id in [first[0]] + first[2...16] + second { #expect(!Self.take(limiter, id), "\(id) was dropped") }
        #expect(Self.take(limiter, first[1]))
    }

    @Test func freedSlotsAreTakenBeforeAnyKeyIsDropped() {
        let limiter = RateLimiter(capacity: 16)  // one set
        let kept = Self.ids(8, in: 0, of: limiter, namespace: 2), removed = Self.ids(8, in: 0, of: limiter, namespace: 1)
        for id in removed { #expect(Self.take(limiter, id, namespace: 1)) }
        for id in kept { #expect(Self.take(limiter, id, namespace: 2)) }
        limiter.removeAll(namespace: 1)
        #expect(limiter.count == 8)
        let newcomers = Self.ids(8, in: 0, of: limiter, namespace: 3)
        for id in newcomers { #expect(Self.take(limiter, id, namespace: 3)) }
        #expect(limiter.count == 16)
        for id in kept { #expect(!Self.take(limiter, id, namespace: 2), "\(id) was dropped") }
        for id in newcomers { #expect(!Self.take(limiter, id, namespace: 3), "\(id) was dropped") }
        // The removed keys start again with full buckets.
        #expect(Self.take(limiter, removed[0], namespace: 1))
    }

    @Test func idsOfEveryLengthAreKeptWhole() {
        let limiter = RateLimiter()
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000)
        var ids: [[UInt8]] = [[], [0], [0, 0], Array("a".utf8)]
        for length in [19, 20, 21, 22, 64, 10_000] {
            let base = Array(long.prefix(length))
            ids.append(base)
            ids.append(Array(base.dropLast()) + [UInt8(ascii: "y")])  // differs in the last byte only
            ids.append([UInt8(ascii: "y")] + Array(base.dropFirst()))  // differs in the first byte only
            ids.append(Array(base.prefix(length - 1)) + [0])  // a zero byte at the end
        }
        #expect(Set(ids).count == ids.count)
        func take(_ id: [UInt8], namespace: UInt64 = 7) -> Bool {
            id.withUnsafeBufferPointer { limiter.take(namespace: namespace, agent: $0, bucket: Self.hourly, now: 0).admitted }
        }
        for id in ids { #expect(take(id), "\(id.count)-byte id found another's bucket") }
        for id in ids { #expect(!take(id), "\(id.count)-byte id lost its bucket") }
        #expect(limiter.count == ids.count)
        #expect(take(ids[10], namespace: 8))
        limiter.removeAll(namespace: 7)
        #expect(limiter.count == 1)
        for id in ids { #expect(take(id)) }
    }

    @Test func longIDsAreDroppedAndReplacedLikeShortOnes() {
        let limiter = RateLimiter(capacity: 16)
        let ids = (0..<100).map { "an-agent-id-longer-than-twenty-bytes-\($0)" }
        for id in ids { #expect(Self.take(limiter, id)) }
        #expect(limiter.count == 16)
        for id in ids.suffix(16) { #expect(!Self.take(limiter, id), "\(id) was dropped") }
        #expect(Self.take(limiter, ids[0]))
    }

    /// Eight threads, each with its own 64 keys of 10 tokens and all taking from 4 shared keys of
    /// 100 tokens (two of them with long ids), 50 rounds each at one instant: every own key
    /// admits exactly 10 and every shared key exactly 100, across all threads.
    @Test func threadsTakingDistinctAndSharedKeysGetExactTotals() {
        let limiter = RateLimiter()
        let own = RateLimiter.Bucket(count: 10, per: 3600), shared = RateLimiter.Bucket(count: 100, per: 3600)
        let sharedIDs = ["shared-0", "shared-1", "a-shared-id-longer-than-twenty-bytes-2", "a-shared-id-longer-than-twenty-bytes-3"]
        let threads = 8, keys = 64, rounds = 50
        let totals = Mutex<(own: [Int], shared: [Int])>(([Int](repeating: 0, count: threads * keys), [Int](repeating: 0, count: sharedIDs.count)))
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var ownAdmitted = [Int](repeating: 0, count: keys), sharedAdmitted = [Int](repeating: 0, count: sharedIDs.count)
            let ownIDs = (0..<keys).map { k in k.isMultiple(of: 2) ? "t\(t)-k\(k)" : "thread-\(t)-with-a-long-key-\(k)" }
            for _ in 0..<rounds {
                for k in 0..<keys where limiter.take(namespace: 1, agent: ownIDs[k], bucket: own, now: 0).admitted { ownAdmitted[k] += 1 }
                for s in sharedIDs.indices where limiter.take(namespace: 1, agent: sharedIDs[s], bucket: shared, now: 0).admitted {
                    sharedAdmitted[s] += 1
                }
            }
            totals.withLock { totals in
                for k in 0..<keys { totals.own[t * keys + k] = ownAdmitted[k] }
                for s in sharedIDs.indices { totals.shared[s] += sharedAdmitted[s] }
            }
        }
        let (ownTotals, sharedTotals) = totals.withLock { ($0.own, $0.shared) }
        #expect(ownTotals == [Int](repeating: 10, count: threads * keys))
        #expect(sharedTotals == [100, 100, 100, 100])
        #expect(limiter.count == threads * keys + sharedIDs.count)
    }

    /// Eight threads inserting far more keys than a small table holds, half of them long, while
    /// one namespace is removed meanwhile: the table stays within its capacity, and removing
    /// every namespace empties it.
    @Test func threadsEvictingConcurrentlyStayWithinCapacity() {
        let limiter = RateLimiter(capacity: 64)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<2_000 {
                let id = i.isMultiple(of: 2) ? "t\(t)-\(i)" : "thread-\(t)-a-long-agent-id-\(i)"
                _ = limiter.take(namespace: UInt64(i % 3), agent: id, bucket: Self.hourly, now: 0)
                if t == 0 && i.isMultiple(of: 500) { limiter.removeAll(namespace: 2) }
            }
        }
        #expect(limiter.count <= 64)
        limiter.removeAll(namespace: 0)
        limiter.removeAll(namespace: 1)
        limiter.removeAll(namespace: 2)
        #expect(limiter.count == 0)
    }

    /// The same takes give the same answers, evictions included: the hash is fixed.
    @Test func theSameTakesGiveTheSameAnswers() {
        func run() -> [Bool] {
            let limiter = RateLimiter(capacity: 64)
            var random = SeededGenerator(seed: 9)
            let bucket = RateLimiter.Bucket(count: 3, per: 60)
            return (0..<5_000).map { i in
                limiter.take(namespace: UInt64(random.below(3)), agent: "agent-\(random.below(300))", bucket: bucket,
                             now: Int64(i) * 10_000_000).admitted
            }
        }
        let first = run()
        #expect(first == run())
        #expect(first.contains(true) && first.contains(false))
    }

    /// The recency order stays a permutation of the 16 slots under moves to the front and back,
    /// in the order a list would keep.
    @Test func theRecencyOrderMovesSlotsLikeAList() {
        var random = SeededGenerator(seed: 16)
        var order = Recency.initial
        var model = Array(0..<16)
        func decoded(_ word: UInt64) -> [Int] { (0..<16).map { Int((word >> UInt64(4 * $0)) & 0xF) } }
        #expect(decoded(order) == model)
        for _ in 0..<10_000 {
            let slot = random.below(16)
            #expect(Recency.position(of: slot, in: order) == model.firstIndex(of: slot))
            model.removeAll { $0 == slot }
            if random.chance(3, in: 4) {
                order = Recency.movingToFront(slot, in: order)
                model.insert(slot, at: 0)
            } else {
                order = Recency.movingToBack(slot, in: order)
                model.append(slot)
            }
            #expect(decoded(order) == model)
            #expect(Recency.last(order) == model[15])
        }
    }
}
