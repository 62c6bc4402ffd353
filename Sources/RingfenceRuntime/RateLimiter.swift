import RingfenceBytecode
import RingfenceVM
import Synchronization

// The one rate limiter (SPEC §8.4): token buckets in GCRA form, shared by per-rule `limit`s and
// the runtime's ring buckets.
//
// GCRA keeps one number per key, the theoretical arrival time (TAT): the time at which the
// bucket would be full again. A bucket of capacity B refilled one token every T admits a
// request at time t when
//
//     new = max(TAT, t) + T      and      new − t ≤ B·T
//
// and then sets TAT = new; otherwise the request is refused and `new − t − B·T` is how long to
// wait. This admits exactly what a token bucket admits, with no refill arithmetic and no fixed
// windows (which admit twice the limit across a window edge). `max(TAT, t)` means a clock that
// goes backwards can never mint tokens: an earlier time only finds the bucket emptier.
//
// Times are integer nanoseconds, so decisions are exact and reproducible; T is rounded up
// (`limit: 7/second` refills every 142,857,143 ns), which errs on the side of admitting less.
//
// Keys are (namespace, agent id bytes): a per-rule limit uses the rule's index as namespace,
// ring buckets another namespace per session. Keys live in shards chosen by a fixed hash of the
// key, each with its own lock, so threads deciding for different agents rarely meet on a lock.
// Each shard keeps at most `capacity / shardCount` keys in least-recently-used order; past that,
// the least recently used key is dropped. Dropping a key whose bucket is full again (TAT ≤ now)
// loses nothing; dropping one whose bucket is still draining refills it early — the documented
// bound on over-admission: it happens only when more than `capacity` keys were used more
// recently than the dropped one within its refill time. A lookup of a known key allocates
// nothing; only a new key copies its agent id.

/// A shared, bounded table of GCRA token buckets keyed by namespace and agent id.
public final class RateLimiter: @unchecked Sendable {
    // Safety: `shards` is written only in `init`/`deinit`; every access after that goes through
    // the shard's own mutex.
    /// The result of asking for a token.
    public struct Admission: Sendable, Hashable {
        /// True when a token was taken.
        public var admitted: Bool
        /// When refused: nanoseconds until a token will be available (0 when admitted).
        public var retryAfterNanoseconds: Int64

        /// `retryAfterNanoseconds` in seconds.
        public var retryAfter: Double { Double(retryAfterNanoseconds) / 1e9 }
    }

    /// A bucket's shape: capacity and refill interval.
    public struct Bucket: Sendable, Hashable {
        /// Tokens the bucket holds when full (at least 1).
        public var capacity: Int64
        /// Nanoseconds to refill one token (at least 1).
        public var interval: Int64

        /// A bucket of `capacity` tokens refilled one every `interval` nanoseconds.
        public init(capacity: Int64, interval: Int64) {
            self.capacity = max(1, capacity)
            self.interval = max(1, interval)
        }

        /// `count` tokens per `seconds`, refilled evenly (`limit: N/unit`): capacity N, one token
        /// every ⌈seconds / N⌉ nanoseconds.
        public init(count: UInt32, per seconds: UInt32) {
            let n = Int64(max(1, count))
            let period = Int64(seconds) * 1_000_000_000
            self.init(capacity: n, interval: (period + n - 1) / n)
        }

        /// A ring bucket: `rate` tokens per second, `burst` tokens when full.
        public init(rate: Double, burst: Int) {
            let interval = rate > 0 && rate.isFinite ? Int64((1e9 / rate).rounded(.up)) : Int64.max / 4
            self.init(capacity: Int64(max(1, burst)), interval: max(1, interval))
        }
    }

    /// The number of shards (a power of two).
    static let shardCount = 16
    /// The keys kept by default across all shards.
    public static let defaultCapacity = 1 << 20

    /// The shards, in memory allocated once (a mutex must not move, and reading a shard must
    /// not touch a reference count that every thread shares).
    private let shards: UnsafeMutablePointer<Mutex<Shard>>
    /// The most keys kept across all shards.
    public let capacity: Int

    /// Creates an empty limiter keeping at most `capacity` keys (rounded up to a multiple of the shard count).
    public init(capacity: Int = RateLimiter.defaultCapacity) {
        let perShard = max(1, (capacity + Self.shardCount - 1) / Self.shardCount)
        self.capacity = perShard * Self.shardCount
        shards = .allocate(capacity: Self.shardCount)
        for i in 0..<Self.shardCount { (shards + i).initialize(to: Mutex(Shard(capacity: perShard))) }
    }

    deinit {
        shards.deinitialize(count: Self.shardCount)
        shards.deallocate()
    }

    /// Takes one token from the bucket of (`namespace`, `agent`) shaped `bucket`, at time `now`
    /// (nanoseconds on any clock that the caller uses consistently).
    ///
    /// When the same key is used with another shape (a ring change), the bucket keeps its level:
    /// the tokens it owes are carried over at the new interval.
    public func take(namespace: UInt64, agent: UnsafeBufferPointer<UInt8>, bucket: Bucket, now: Int64) -> Admission {
        let hash = Self.hash(namespace: namespace, agent: agent)
        return shards[Int(truncatingIfNeeded: hash >> 60) & (Self.shardCount - 1)].withLock { $0.take(Key(namespace: namespace, borrowing: agent, hash: hash), bucket: bucket, now: now) }
    }

    /// Takes one token, with the agent id given as a string.
    public func take(namespace: UInt64, agent: String, bucket: Bucket, now: Int64) -> Admission {
        var id = agent
        return id.withUTF8 { take(namespace: namespace, agent: $0, bucket: bucket, now: now) }
    }

    /// The number of keys held now (for tests and metrics).
    public var count: Int {
        (0..<Self.shardCount).reduce(0) { total, i in total + shards[i].withLock { $0.count } }
    }

    /// Forgets every bucket in `namespace` (a session ending); O(keys held).
    public func removeAll(namespace: UInt64) {
        for i in 0..<Self.shardCount { shards[i].withLock { $0.removeAll(namespace: namespace) } }
    }

    /// FNV-1a over the namespace and the id bytes: a fixed hash, so which keys share a shard (and
    /// so which are dropped first under pressure) is the same on every run.
    static func hash(namespace: UInt64, agent: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var n = namespace
        for _ in 0..<8 {
            h = (h ^ (n & 0xFF)) &* 0x0000_0100_0000_01B3
            n >>= 8
        }
        for byte in agent { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        // Mix the high bits, which pick the shard.
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }
}

/// A bucket key: a namespace and an agent id's bytes. Stored keys own their bytes; lookups borrow
/// the caller's, so finding a known key allocates nothing.
struct Key: Hashable, @unchecked Sendable {
    // Safety: a borrowing key lives only for one lookup inside the shard's lock; stored keys own.
    let namespace: UInt64
    let hash: UInt64
    private let owned: [UInt8]
    private let borrowed: UnsafeBufferPointer<UInt8>?

    /// A key that borrows `agent` for one lookup.
    init(namespace: UInt64, borrowing agent: UnsafeBufferPointer<UInt8>, hash: UInt64) {
        self.namespace = namespace
        self.hash = hash
        owned = []
        borrowed = agent
    }

    /// A key owning a copy of `other`'s bytes.
    init(owning other: Key) {
        namespace = other.namespace
        hash = other.hash
        owned = other.withBytes { Array($0) }
        borrowed = nil
    }

    static func == (a: Key, b: Key) -> Bool {
        guard a.hash == b.hash, a.namespace == b.namespace else { return false }
        return a.withBytes { x in b.withBytes { y in x.elementsEqual(y) } }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// Runs `body` over the id bytes (kept alive for the call).
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let borrowed { return body(borrowed) }
        return owned.withUnsafeBufferPointer(body)
    }
}

/// One shard: a dictionary from key to slot, and slots in a doubly linked LRU list.
struct Shard: ~Copyable {
    /// Most keys kept.
    let capacity: Int
    private var slotOf: [Key: Int32] = [:]
    private var keys: [Key] = []
    private var tat: [Int64] = []
    private var interval: [Int64] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    /// Most recently used slot, least recently used slot (-1 when empty).
    private var head: Int32 = -1
    private var tail: Int32 = -1
    /// Slots freed by `removeAll`, reused first.
    private var free: [Int32] = []

    /// Creates an empty shard.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Keys held.
    var count: Int { slotOf.count }

    /// GCRA on `key`'s bucket (see the top of the file).
    mutating func take(_ key: Key, bucket: RateLimiter.Bucket, now: Int64) -> RateLimiter.Admission {
        let slot: Int
        if let existing = slotOf[key] {
            slot = Int(existing)
            unlink(slot)
            if interval[slot] != bucket.interval {
                // A new shape keeps the level: the tokens owed are carried at the new interval.
                let owed = max(0, tat[slot] - now)
                let tokens = (owed + interval[slot] - 1) / interval[slot]
                tat[slot] = now + tokens.multipliedReportingOverflow(by: bucket.interval).partialValue
                interval[slot] = bucket.interval
            }
        } else {
            slot = insert(Key(owning: key), now: now, interval: bucket.interval)
        }
        pushFront(slot)
        let start = max(tat[slot], now)
        let (next, overflow) = start.addingReportingOverflow(bucket.interval)
        let window = bucket.capacity.multipliedReportingOverflow(by: bucket.interval)
        let limit = window.overflow ? Int64.max : window.partialValue
        if overflow || next - now > limit {
            return RateLimiter.Admission(admitted: false, retryAfterNanoseconds: overflow ? Int64.max : next - now - limit)
        }
        tat[slot] = next
        return RateLimiter.Admission(admitted: true, retryAfterNanoseconds: 0)
    }

    /// Stores a new key with a full bucket, dropping the least recently used key when full.
    private mutating func insert(_ key: Key, now: Int64, interval shape: Int64) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = Int(reused)
            keys[slot] = key
            tat[slot] = now
            interval[slot] = shape
        } else if slotOf.count >= capacity, tail >= 0 {
            slot = Int(tail)
            unlink(slot)
            slotOf[keys[slot]] = nil
            keys[slot] = key
            tat[slot] = now
            interval[slot] = shape
        } else {
            slot = keys.count
            keys.append(key)
            tat.append(now)
            interval.append(shape)
            previous.append(-1)
            next.append(-1)
        }
        slotOf[key] = Int32(slot)
        return slot
    }

    /// Removes every key of `namespace`.
    mutating func removeAll(namespace: UInt64) {
        var slot = head
        while slot >= 0 {
            let following = next[Int(slot)]
            if keys[Int(slot)].namespace == namespace {
                unlink(Int(slot))
                slotOf[keys[Int(slot)]] = nil
                free.append(slot)
            }
            slot = following
        }
    }

    /// Takes `slot` out of the LRU list.
    private mutating func unlink(_ slot: Int) {
        let p = previous[slot], n = next[slot]
        if p >= 0 { next[Int(p)] = n } else if head == Int32(slot) { head = n }
        if n >= 0 { previous[Int(n)] = p } else if tail == Int32(slot) { tail = p }
        previous[slot] = -1
        next[slot] = -1
    }

    /// Puts `slot` at the front (most recently used).
    private mutating func pushFront(_ slot: Int) {
        previous[slot] = -1
        next[slot] = head
        if head >= 0 { previous[Int(head)] = Int32(slot) }
        head = Int32(slot)
        if tail < 0 { tail = Int32(slot) }
    }
}

/// Per-rule `limit`s (`N/unit` per agent) taken from a limiter at one instant: the gate a
/// decision hands the VM. Holds the limiter unretained, so deciding touches no reference count;
/// the caller keeps the limiter alive for the decision.
public struct RuleLimitGate: LimitGate {
    private let limiter: Unmanaged<RateLimiter>
    private let now: Int64

    /// A gate over `limiter` at `now` (nanoseconds).
    public init(_ limiter: RateLimiter, now: Int64) {
        self.limiter = Unmanaged.passUnretained(limiter)
        self.now = now
    }

    /// Takes a token from the bucket of (`rule`, agent), shaped by the rule's limit.
    public func admit(rule: Int, limit: Limit, agent: UnsafeBufferPointer<UInt8>) -> Bool {
        limiter._withUnsafeGuaranteedRef {
            $0.take(namespace: UInt64(rule), agent: agent, bucket: RateLimiter.Bucket(count: limit.count, per: limit.seconds), now: now)
        }.admitted
    }

    /// Seconds since 1970 as integer nanoseconds, clamped to the representable range.
    public static func nanoseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return seconds > 0 ? Int64.max / 2 : Int64.min / 2 }
        let ns = (seconds * 1e9).rounded()
        return ns >= 4.6e18 ? Int64.max / 2 : ns <= -4.6e18 ? Int64.min / 2 : Int64(ns)
    }
}
