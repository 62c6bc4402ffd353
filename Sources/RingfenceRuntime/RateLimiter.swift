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
// ring buckets another namespace with the session in the id. The table is set-associative
// (`BucketTable.swift`): a fixed hash of the key picks one set of 16 slots, and the key lives
// only there. Each set has its own lock and its own cache lines, so taking a token for a known
// key writes nothing but its set — the lock word, the set's recency order and the key's slot —
// and two threads deciding for different agents almost never touch the same line. (A few shared
// locks, list heads and arrays filled in arrival order would move between the cores on nearly
// every take.) A known key allocates nothing; a new key whose id is longer than 20 bytes copies
// it once.
//
// Eviction: a new key takes a free slot of its set, else the slot of the set's least recently
// used key. So a key is dropped only when 16 keys used more recently than it hash to its set.
// Dropping a key whose bucket is full again (TAT ≤ now) loses nothing; dropping one that is still
// draining refills it early — the bound on over-admission. The default table has 2,097,152 slots
// (about 110 MB once every set is in use, taken a chunk of sets at a time): 150,000 live keys
// fill no set past 16, and the benchmark's 1,000,000 drop 515 of theirs (0.05%). The hash is
// fixed and unkeyed, so which keys share a set — and so which are dropped first — is the same on
// every run. Whoever picks agent ids could aim 16 of them at a victim's set and refill the
// victim's buckets early; per-agent limits already assume agent ids are not chosen by an
// attacker (a fresh id gets a fresh, full bucket anyway), so a fixed hash costs nothing there.

/// A shared, bounded table of GCRA token buckets keyed by namespace and agent id.
public final class RateLimiter: @unchecked Sendable {
    // Safety: `table`'s sets are each guarded by their own lock (see `BucketTable`).
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

    /// The slots kept by default: 131,072 sets of 16.
    public static let defaultCapacity = 1 << 21

    /// The sets and their slots.
    private let table: BucketTable
    /// The most keys kept: the number of slots (sets × 16).
    public let capacity: Int
    /// True once `startJournal` was called: every take notes its key (a shared store's runtime
    /// writes the buckets it changed).
    private let journaling = Atomic<Bool>(false)
    /// The keys taken from since the journal was last drained.
    private let journal = Mutex<[BucketKey]>([])

    /// Creates an empty limiter keeping at most `capacity` keys, rounded up to a power of two
    /// number of sets of 16 (and at most 2^30). Memory is taken a chunk of sets at a time as keys
    /// land in them, so a limiter that limits no one costs a table of chunk addresses only.
    public init(capacity: Int = RateLimiter.defaultCapacity) {
        table = BucketTable(slots: capacity)
        self.capacity = table.sets * BucketTable.ways
    }

    /// Takes one token from the bucket of (`namespace`, `agent`) shaped `bucket`, at time `now`
    /// (nanoseconds on any clock that the caller uses consistently).
    ///
    /// When the same key is used with another shape (a ring change), the bucket keeps its level:
    /// the tokens it owes are carried over at the new interval.
    public func take(namespace: UInt64, agent: UnsafeBufferPointer<UInt8>, bucket: Bucket, now: Int64) -> Admission {
        let hash = Self.hash(namespace: namespace, agent: agent)
        let set = table.set(hash: hash)
        let tag = BucketTable.tag(hash: hash)
        let admission = set.lock.pointee.withLock { order in
            let slot: Int, key: UnsafeMutableRawPointer
            if let found = set.find(tag: tag, namespace: namespace, agent: agent) {
                slot = found
                key = set.slot(found)
                BucketSlot.reshape(key, interval: bucket.interval, now: now)
            } else {
                slot = Recency.last(order)
                key = set.store(at: slot, tag: tag, namespace: namespace, agent: agent)
                BucketSlot.fill(key, interval: bucket.interval, now: now)
            }
            order = Recency.movingToFront(slot, in: order)
            return BucketSlot.take(key, bucket: bucket, now: now)
        }
        if journaling.load(ordering: .relaxed) {
            let key = BucketKey(namespace: namespace, agent: Array(agent))
            journal.withLock { $0.append(key) }
        }
        return admission
    }

    // MARK: Sharing buckets (SPEC §15)

    /// A bucket's key: namespace and agent id bytes.
    public struct BucketKey: Sendable, Hashable {
        /// The namespace (a rule's index, or the ring buckets').
        public var namespace: UInt64
        /// The agent id bytes (with the session, for ring buckets).
        public var agent: [UInt8]

        /// A key.
        public init(namespace: UInt64, agent: [UInt8]) {
            self.namespace = namespace
            self.agent = agent
        }
    }

    /// From now on every take notes its key, for `drainJournal`.
    public func startJournal() {
        journaling.store(true, ordering: .relaxed)
    }

    /// The keys taken from since the last drain, each once, in the order first taken.
    public func drainJournal() -> [BucketKey] {
        let keys = journal.withLock { keys in
            defer { keys.removeAll(keepingCapacity: true) }
            return keys
        }
        var seen = Set<BucketKey>()
        return keys.filter { seen.insert($0).inserted }
    }

    /// True when no take was noted since the last drain.
    public var journalIsEmpty: Bool { journal.withLock { $0.isEmpty } }

    /// The state of a key's bucket — its TAT and refill interval (ns) — or nil when none is held.
    public func state(of key: BucketKey) -> (tat: Int64, interval: Int64)? {
        key.agent.withUnsafeBufferPointer { agent in
            let hash = Self.hash(namespace: key.namespace, agent: agent)
            let set = table.set(hash: hash)
            return set.lock.pointee.withLock { _ in
                guard let found = set.find(tag: BucketTable.tag(hash: hash), namespace: key.namespace, agent: agent) else { return nil }
                let slot = set.slot(found)
                return (slot.load(fromByteOffset: BucketTable.tatOffset, as: Int64.self),
                        slot.load(fromByteOffset: BucketTable.intervalOffset, as: Int64.self))
            }
        }
    }

    /// Sets a key's bucket to `tat` and `interval` (ns), as another runtime on a shared store left it.
    public func setState(of key: BucketKey, tat: Int64, interval: Int64) {
        key.agent.withUnsafeBufferPointer { agent in
            let hash = Self.hash(namespace: key.namespace, agent: agent)
            let set = table.set(hash: hash)
            let tag = BucketTable.tag(hash: hash)
            set.lock.pointee.withLock { order in
                let slot: Int, stored: UnsafeMutableRawPointer
                if let found = set.find(tag: tag, namespace: key.namespace, agent: agent) {
                    slot = found
                    stored = set.slot(found)
                } else {
                    slot = Recency.last(order)
                    stored = set.store(at: slot, tag: tag, namespace: key.namespace, agent: agent)
                }
                BucketSlot.fill(stored, interval: interval, now: tat)
                order = Recency.movingToFront(slot, in: order)
            }
        }
    }

    /// Takes one token, with the agent id given as a string.
    public func take(namespace: UInt64, agent: String, bucket: Bucket, now: Int64) -> Admission {
        var id = agent
        return id.withUTF8 { take(namespace: namespace, agent: $0, bucket: bucket, now: now) }
    }

    /// The number of keys held now (for tests and metrics).
    public var count: Int { table.count }

    /// Forgets every bucket in `namespace` (a session ending). Visits only the chunks of sets that
    /// hold keys — at most 16 sets per key held, never more than all the sets — and locks one set
    /// at a time, so decisions in other sets go on meanwhile.
    public func removeAll(namespace: UInt64) {
        table.removeAll { $0 == namespace }
    }

    /// The set `namespace` and `agent` hash to (for tests of the eviction rule).
    func setIndex(namespace: UInt64, agent: String) -> Int {
        var id = agent
        return id.withUTF8 { table.setIndex(hash: Self.hash(namespace: namespace, agent: $0)) }
    }

    /// FNV-1a over the namespace and the id bytes, then mixed: a fixed hash, so which keys share a
    /// set (and so which are dropped first under pressure) is the same on every run.
    static func hash(namespace: UInt64, agent: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var n = namespace
        for _ in 0..<8 {
            h = (h ^ (n & 0xFF)) &* 0x0000_0100_0000_01B3
            n >>= 8
        }
        for byte in agent { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        // Mix, so the high bits (the set) and the low bits (the tag) both depend on every byte.
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }
}

/// GCRA on one slot's bucket (see the top of `RateLimiter.swift`).
enum BucketSlot {
    /// A new key's bucket: full at `now`, shaped by `interval`.
    static func fill(_ slot: UnsafeMutableRawPointer, interval: Int64, now: Int64) {
        slot.storeBytes(of: now, toByteOffset: BucketTable.tatOffset, as: Int64.self)
        slot.storeBytes(of: interval, toByteOffset: BucketTable.intervalOffset, as: Int64.self)
    }

    /// A known key asked with another refill interval keeps its level: the tokens it owes are
    /// carried at the new interval.
    static func reshape(_ slot: UnsafeMutableRawPointer, interval: Int64, now: Int64) {
        let old = slot.load(fromByteOffset: BucketTable.intervalOffset, as: Int64.self)
        guard old != interval else { return }
        let tat = slot.load(fromByteOffset: BucketTable.tatOffset, as: Int64.self)
        let owed = max(0, tat - now)
        let tokens = (owed + old - 1) / old
        slot.storeBytes(of: now + tokens.multipliedReportingOverflow(by: interval).partialValue,
                        toByteOffset: BucketTable.tatOffset, as: Int64.self)
        slot.storeBytes(of: interval, toByteOffset: BucketTable.intervalOffset, as: Int64.self)
    }

    /// Takes a token when the bucket has one: `max(TAT, now) + T − now ≤ B·T`.
    static func take(_ slot: UnsafeMutableRawPointer, bucket: RateLimiter.Bucket, now: Int64) -> RateLimiter.Admission {
        let tat = slot.load(fromByteOffset: BucketTable.tatOffset, as: Int64.self)
        let start = max(tat, now)
        let (next, overflow) = start.addingReportingOverflow(bucket.interval)
        let window = bucket.capacity.multipliedReportingOverflow(by: bucket.interval)
        let limit = window.overflow ? Int64.max : window.partialValue
        if overflow || next - now > limit {
            return RateLimiter.Admission(admitted: false, retryAfterNanoseconds: overflow ? Int64.max : next - now - limit)
        }
        slot.storeBytes(of: next, toByteOffset: BucketTable.tatOffset, as: Int64.self)
        return RateLimiter.Admission(admitted: true, retryAfterNanoseconds: 0)
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
