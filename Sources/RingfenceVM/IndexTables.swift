import RingfenceBytecode
import RingfenceMatch

/// The action index laid out for lookups without allocation: an open-addressing hash table over
/// the bucket names (a word-at-a-time multiplicative hash of the action's bytes), and each bucket's deny and allow rules as
/// runs in two flat lists. Wildcard rules are kept apart and merged in file order while deciding.
/// A trivially copyable value over buffers it allocates; its owner (`MachineTables`) frees them
/// with `deallocate()`.
struct IndexTables: @unchecked Sendable {
    // Safety: written once in `init`, read-only afterwards, freed by the owner.
    /// Slot → bucket number, or -1 when empty; the capacity is a power of two.
    let slots: UnsafeBufferPointer<Int32>
    /// Bucket names, back to back.
    let names: UnsafeBufferPointer<UInt8>
    /// Bucket `b`'s name is `names[nameStarts[b] ..< nameStarts[b + 1]]`.
    let nameStarts: UnsafeBufferPointer<Int32>
    /// Bucket `b`'s deny rules are `deny[denyStarts[b] ..< denyStarts[b + 1]]`; the last run is the wildcards.
    let deny: UnsafeBufferPointer<Int32>
    let denyStarts: UnsafeBufferPointer<Int32>
    /// As `deny`, for allow rules.
    let allow: UnsafeBufferPointer<Int32>
    let allowStarts: UnsafeBufferPointer<Int32>
    /// The bucket number whose runs hold the wildcard rules.
    let wildcardBucket: Int
    /// The resource-prefix trees: list `2b` is bucket `b`'s deny rules, `2b + 1` its allow rules.
    let tries: PrefixTries
    /// Runs one decision may collect per effect before falling back to the whole lists (two
    /// halves of this many runs stay under the 1 KiB a temporary buffer may take on the stack).
    static let maxRuns = 16

    /// Lays out `index` for a program whose rules' effects are `isDeny`, counting only rules of
    /// deny-overrides policies (the index holds no others).
    init(_ index: ActionIndex, isDeny: [Bool]) {
        let count = index.buckets.count
        var capacity = 1
        while capacity < max(2, count * 2) { capacity <<= 1 }
        var table = [Int32](repeating: -1, count: capacity)
        var names: [UInt8] = []
        var nameStarts: [Int32] = [0]
        var deny: [Int32] = [], denyStarts: [Int32] = [0]
        var allow: [Int32] = [], allowStarts: [Int32] = [0]
        func append(_ rules: [UInt32]) {
            for r in rules {
                if isDeny[Int(r)] { deny.append(Int32(r)) } else { allow.append(Int32(r)) }
            }
            denyStarts.append(Int32(deny.count))
            allowStarts.append(Int32(allow.count))
        }
        for (b, bucket) in index.buckets.enumerated() {
            let bytes = Array(bucket.action.utf8)
            names += bytes
            nameStarts.append(Int32(names.count))
            var slot = bytes.withUnsafeBufferPointer { Int(truncatingIfNeeded: IndexTables.hash($0)) } & (capacity - 1)
            while table[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            table[slot] = Int32(b)
            append(bucket.rules)
        }
        append(index.wildcards)
        self.wildcardBucket = count
        var lists: [[Int32]] = []
        for b in 0...count {
            lists.append(Array(deny[Int(denyStarts[b])..<Int(denyStarts[b + 1])]))
            lists.append(Array(allow[Int(allowStarts[b])..<Int(allowStarts[b + 1])]))
        }
        let prefixes = index.resourcePrefixes.count == isDeny.count ? index.resourcePrefixes : Array(repeating: nil, count: isDeny.count)
        self.tries = PrefixTries(lists: lists, prefixes: prefixes)
        self.slots = UnsafeBufferPointer(stableCopy(table))
        self.names = UnsafeBufferPointer(stableCopy(names))
        self.nameStarts = UnsafeBufferPointer(stableCopy(nameStarts))
        self.deny = UnsafeBufferPointer(stableCopy(deny))
        self.denyStarts = UnsafeBufferPointer(stableCopy(denyStarts))
        self.allow = UnsafeBufferPointer(stableCopy(allow))
        self.allowStarts = UnsafeBufferPointer(stableCopy(allowStarts))
    }

    /// A 64-bit hash of `bytes`, a word at a time (action names are short: one or two rounds).
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(base[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 29)
    }

    /// The bucket for `action`, or nil when no rule names it exactly.
    @inline(__always)
    func bucket(for action: UnsafeBufferPointer<UInt8>) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: IndexTables.hash(action)) & mask
        while true {
            let b = Int(slots[slot])
            if b < 0 { return nil }
            let start = Int(nameStarts[b]), end = Int(nameStarts[b + 1])
            if end - start == action.count,
               action.isEmpty || shortBytesEqual(names.baseAddress.unsafelyUnwrapped + start, action.baseAddress.unsafelyUnwrapped,
                                                 count: action.count) {
                return b
            }
            slot = (slot + 1) & mask
        }
    }

    /// Frees the buffers (trivial element types only, so deallocating is enough).
    func deallocate() {
        for buffer in [slots, nameStarts, deny, denyStarts, allow, allowStarts] { buffer.deallocateStable() }
        names.deallocateStable()
        tries.deallocate()
    }
}

/// The candidate rules of one effect, in file order, without allocating: the runs collected from
/// the action's bucket and the wildcards (narrowed by the resource-prefix trees), merged. Each
/// comes with `exact`: true for a rule from the action's bucket, whose action test is then known
/// to pass (the verifier rebuilt the index: such a rule's body starts with `MACT` over literal
/// patterns only, one of them the action itself), so its body may be entered after it.
struct Candidates: Sequence, IteratorProtocol {
    private let runs: UnsafeMutableBufferPointer<CandidateRun>
    private let count: Int
    private var last = -1

    /// Merges the first `count` runs of `runs`.
    init(_ runs: UnsafeMutableBufferPointer<CandidateRun>, count: Int) {
        self.runs = runs
        self.count = count
    }

    /// The next rule index in file order (a rule filed under several prefixes comes once), and
    /// whether it came from the action's bucket.
    @inline(__always)
    mutating func next() -> (rule: Int, exact: Bool)? {
        while true {
            var best = -1
            var lowest = Int32.max
            for k in 0..<count where runs[k].next < runs[k].end {
                let rule = runs[k].next.pointee
                if rule < lowest {
                    lowest = rule
                    best = k
                }
            }
            guard best >= 0 else { return nil }
            runs[best].next += 1
            if Int(lowest) == last { continue }
            last = Int(lowest)
            return (last, runs[best].exact)
        }
    }
}

extension IndexTables {
    /// The deny and allow candidates of `bucket` (nil: the action has no bucket) and the wildcards
    /// for `resource`, collected into the two halves of `runs` (at least `2 * maxRuns` long).
    @inline(__always)
    func candidates(bucket: Int?, resource: UnsafeBufferPointer<UInt8>?, unplaceable: Bool = false,
                    runs: UnsafeMutableBufferPointer<CandidateRun>) -> (deny: Candidates, allow: Candidates) {
        let half = runs.count / 2
        let w = wildcardBucket
        func gather(_ effect: Int, _ list: UnsafeBufferPointer<Int32>, _ starts: UnsafeBufferPointer<Int32>,
                    into buffer: UnsafeMutableBufferPointer<CandidateRun>) -> Candidates {
            var n = 0
            // An unplaceable resource makes every rule with a resource test an error, so those
            // rules must run: take the whole lists.
            var collected = !unplaceable
            if collected, let bucket { collected = tries.collect(list: 2 * bucket + effect, resource: resource, exact: true, into: buffer, count: &n) }
            if collected { collected = tries.collect(list: 2 * w + effect, resource: resource, exact: false, into: buffer, count: &n) }
            if !collected {
                // More prefix nodes on the path than runs: take the whole lists (always correct).
                func whole(_ b: Int, exact: Bool) -> CandidateRun {
                    CandidateRun(list.baseAddress.unsafelyUnwrapped + Int(starts[b]), Int(starts[b + 1] - starts[b]), exact: exact)
                }
                n = 0
                if let bucket {
                    buffer[n] = whole(bucket, exact: true)
                    n += 1
                }
                buffer[n] = whole(w, exact: false)
                n += 1
            }
            return Candidates(buffer, count: n)
        }
        return (gather(0, deny, denyStarts, into: UnsafeMutableBufferPointer(rebasing: runs[0..<half])),
                gather(1, allow, allowStarts, into: UnsafeMutableBufferPointer(rebasing: runs[half..<runs.count])))
    }
}
