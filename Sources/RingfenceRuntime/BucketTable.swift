import Synchronization

// The rate limiter's table (see `RateLimiter.swift` for why it is set-associative).
//
// Memory, taken a chunk of up to 16 sets at a time on first use and never moved:
//
//     chunk  = [ live keys: Atomic<Int>, padded to 64 bytes ] [ set ] [ set ] …
//     set    = [ lock: Mutex<recency order>, 16-bit tag ×16 ]  64 bytes, one cache line
//              [ slot ×16 ]                                    48 bytes each (12 cache lines)
//     slot   = namespace (8) · TAT (8) · interval (8) · id length (4) · id bytes (20)
//
// A set is 832 bytes, a multiple of the cache line, and starts on a line of its own, so no two
// sets share a line. A tag is 16 bits of the key's hash (never 0; 0 marks a free slot), so a
// lookup compares the stored key only where the tag matches. An id longer than 20 bytes is
// copied to a block of its own (its length, then its bytes) whose address takes the id bytes'
// place, and the length field says so. The recency order is 16 slot numbers of 4 bits in one
// word, most recently used first; free slots always sit at its end, so a new key takes the last
// slot of the order, free or least recently used.

/// Sets of 16 bucket slots, each set with its own lock, allocated a chunk at a time.
struct BucketTable: ~Copyable {
    /// Slots per set.
    static let ways = 16
    /// Bytes from a set's start to its first slot (the lock and tags line).
    static let headerBytes = 64
    /// Bytes from a set's lock to its tags.
    static let tagsOffset = 32
    /// Bytes per slot.
    static let slotStride = 48
    /// Bytes per set.
    static let setStride = headerBytes + ways * slotStride
    /// Bytes before a chunk's first set (its live-key count, on a line of its own).
    static let chunkHeaderBytes = 64
    /// Most sets per chunk.
    static let chunkSets = 16
    /// Slot offsets: the namespace, the theoretical arrival time, the refill interval, the id's
    /// length (or `longID`), and the id bytes (or, for a long id, its block's address).
    static let namespaceOffset = 0, tatOffset = 8, intervalOffset = 16, lengthOffset = 24, idOffset = 28, blockOffset = 32
    /// Longest id kept in the slot itself.
    static let inlineID = 20
    /// The length field of a slot whose id lives in a block of its own.
    static let longID = UInt32.max
    /// Most slots a table holds.
    static let maximumSlots = 1 << 30

    /// Number of sets (a power of two).
    let sets: Int
    /// The right shift that turns a hash into a set index (its high bits).
    private let setShift: UInt64
    /// Sets per chunk (a power of two) and its base-2 logarithm.
    private let setsPerChunk: Int, chunkShift: Int
    /// Bytes per chunk.
    private let chunkBytes: Int
    /// Number of chunks.
    private let chunkCount: Int
    /// Each chunk's address, 0 until a key first lands in it.
    private let chunks: UnsafeMutablePointer<Atomic<Int>>
    /// The chunks allocated so far, in allocation order (for `count` and `removeAll`).
    private let allocated = Mutex<[Int]>([])

    /// A table of at least `slots` slots (at least one set, at most `maximumSlots`), as a power of two number of sets.
    init(slots: Int) {
        precondition(MemoryLayout<Mutex<UInt64>>.size <= Self.tagsOffset && MemoryLayout<Mutex<UInt64>>.alignment <= 64,
                     "a set's lock does not fit before its tags")
        let wanted = min(max(slots, 1), Self.maximumSlots)
        var sets = 1
        while sets * Self.ways < wanted { sets <<= 1 }
        self.sets = sets
        setShift = UInt64(64 - sets.trailingZeroBitCount)
        setsPerChunk = min(Self.chunkSets, sets)
        chunkShift = setsPerChunk.trailingZeroBitCount
        chunkBytes = Self.chunkHeaderBytes + setsPerChunk * Self.setStride
        chunkCount = sets / setsPerChunk
        chunks = .allocate(capacity: chunkCount)
        for i in 0..<chunkCount { (chunks + i).initialize(to: Atomic(0)) }
    }

    deinit {
        for c in 0..<chunkCount {
            guard let chunk = UnsafeMutableRawPointer(bitPattern: chunks[c].load(ordering: .acquiring)) else { continue }
            for s in 0..<setsPerChunk {
                let set = BucketSet(chunk: chunk, index: s)
                for i in 0..<Self.ways where set.tags[i] != 0 { set.release(i) }
                set.lock.deinitialize(count: 1)
            }
            chunk.assumingMemoryBound(to: Atomic<Int>.self).deinitialize(count: 1)
            chunk.deallocate()
        }
        chunks.deinitialize(count: chunkCount)
        chunks.deallocate()
    }

    /// The set index of `hash`: its high bits.
    func setIndex(hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> setShift)
    }

    /// The tag of `hash`: its low 16 bits, never 0.
    static func tag(hash: UInt64) -> UInt16 {
        UInt16(truncatingIfNeeded: hash) | 1
    }

    /// The set `hash` belongs to, allocating its chunk on first use.
    @inline(__always)
    func set(hash: UInt64) -> BucketSet {
        let index = setIndex(hash: hash)
        let address = chunks[index >> chunkShift].load(ordering: .acquiring)
        let chunk = UnsafeMutableRawPointer(bitPattern: address) ?? allocateChunk(index >> chunkShift)
        return BucketSet(chunk: chunk, index: index & (setsPerChunk - 1))
    }

    /// Allocates chunk `index` with every set empty and publishes it; when another thread
    /// published it first, frees this copy and returns that one.
    @inline(never)
    private func allocateChunk(_ index: Int) -> UnsafeMutableRawPointer {
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes, alignment: 64)
        fresh.bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        for s in 0..<setsPerChunk {
            let set = fresh + Self.chunkHeaderBytes + s * Self.setStride
            set.bindMemory(to: Mutex<UInt64>.self, capacity: 1).initialize(to: Mutex(Recency.initial))
            (set + Self.tagsOffset).initializeMemory(as: UInt16.self, repeating: 0, count: Self.ways)
        }
        let (published, current) = chunks[index].compareExchange(expected: 0, desired: Int(bitPattern: fresh), ordering: .acquiringAndReleasing)
        if published {
            allocated.withLock { $0.append(index) }
            return fresh
        }
        for s in 0..<setsPerChunk { BucketSet(chunk: fresh, index: s).lock.deinitialize(count: 1) }
        fresh.assumingMemoryBound(to: Atomic<Int>.self).deinitialize(count: 1)
        fresh.deallocate()
        return UnsafeMutableRawPointer(bitPattern: current).unsafelyUnwrapped
    }

    /// The allocated chunks' addresses.
    private var allocatedChunks: [UnsafeMutableRawPointer] {
        allocated.withLock { $0 }.map { UnsafeMutableRawPointer(bitPattern: chunks[$0].load(ordering: .acquiring)).unsafelyUnwrapped }
    }

    /// Keys held, summed over the allocated chunks.
    var count: Int {
        allocatedChunks.reduce(0) { $0 + $1.assumingMemoryBound(to: Atomic<Int>.self).pointee.load(ordering: .relaxed) }
    }

    /// Frees every slot whose namespace satisfies `drop`, one set's lock at a time, skipping the
    /// chunks that hold no keys.
    func removeAll(where drop: (UInt64) -> Bool) {
        for chunk in allocatedChunks where chunk.assumingMemoryBound(to: Atomic<Int>.self).pointee.load(ordering: .relaxed) > 0 {
            for s in 0..<setsPerChunk {
                let set = BucketSet(chunk: chunk, index: s)
                set.lock.pointee.withLock { order in
                    for i in 0..<Self.ways where set.tags[i] != 0 && drop(set.slot(i).load(fromByteOffset: Self.namespaceOffset, as: UInt64.self)) {
                        set.remove(i)
                        order = Recency.movingToBack(i, in: order)
                    }
                }
            }
        }
    }
}

/// One set of a `BucketTable`: its lock, tags and slots. Everything but `lock` is read and
/// written only with the lock held.
struct BucketSet {
    /// The set's first byte.
    let base: UnsafeMutableRawPointer
    /// The first byte of the chunk holding the set.
    let chunk: UnsafeMutableRawPointer

    /// Set `index` of the chunk at `chunk`.
    init(chunk: UnsafeMutableRawPointer, index: Int) {
        self.chunk = chunk
        base = chunk + BucketTable.chunkHeaderBytes + index * BucketTable.setStride
    }

    /// The set's lock, guarding its recency order.
    var lock: UnsafeMutablePointer<Mutex<UInt64>> { base.assumingMemoryBound(to: Mutex<UInt64>.self) }
    /// The slots' tags (0 for a free slot).
    var tags: UnsafeMutablePointer<UInt16> { (base + BucketTable.tagsOffset).assumingMemoryBound(to: UInt16.self) }
    /// The chunk's count of keys held.
    private var live: UnsafeMutablePointer<Atomic<Int>> { chunk.assumingMemoryBound(to: Atomic<Int>.self) }

    /// Slot `i`'s first byte.
    func slot(_ i: Int) -> UnsafeMutableRawPointer {
        base + BucketTable.headerBytes + i * BucketTable.slotStride
    }

    /// The slot holding (`namespace`, `agent`), if any.
    func find(tag: UInt16, namespace: UInt64, agent: UnsafeBufferPointer<UInt8>) -> Int? {
        for i in 0..<BucketTable.ways where tags[i] == tag && holds(i, namespace: namespace, agent: agent) { return i }
        return nil
    }

    /// True when slot `i` holds (`namespace`, `agent`).
    private func holds(_ i: Int, namespace: UInt64, agent: UnsafeBufferPointer<UInt8>) -> Bool {
        let slot = slot(i)
        guard slot.load(fromByteOffset: BucketTable.namespaceOffset, as: UInt64.self) == namespace else { return false }
        let length = slot.load(fromByteOffset: BucketTable.lengthOffset, as: UInt32.self)
        guard agent.count > BucketTable.inlineID else {
            return length == UInt32(agent.count) && Self.equal(UnsafeRawPointer(slot + BucketTable.idOffset), agent)
        }
        guard length == BucketTable.longID else { return false }
        let block = slot.load(fromByteOffset: BucketTable.blockOffset, as: UnsafeMutableRawPointer.self)
        return block.load(as: Int.self) == agent.count && Self.equal(UnsafeRawPointer(block + 8), agent)
    }

    /// Stores (`namespace`, `agent`) with `tag` in slot `i`, dropping the key it held, and
    /// returns the slot (its bucket is for the caller to fill).
    func store(at i: Int, tag: UInt16, namespace: UInt64, agent: UnsafeBufferPointer<UInt8>) -> UnsafeMutableRawPointer {
        if tags[i] != 0 {
            release(i)
        } else {
            live.pointee.wrappingAdd(1, ordering: .relaxed)
        }
        let slot = slot(i)
        slot.storeBytes(of: namespace, toByteOffset: BucketTable.namespaceOffset, as: UInt64.self)
        if agent.count <= BucketTable.inlineID {
            slot.storeBytes(of: UInt32(agent.count), toByteOffset: BucketTable.lengthOffset, as: UInt32.self)
            if let bytes = agent.baseAddress { (slot + BucketTable.idOffset).copyMemory(from: bytes, byteCount: agent.count) }
        } else {
            let block = UnsafeMutableRawPointer.allocate(byteCount: 8 + agent.count, alignment: 8)
            block.storeBytes(of: agent.count, as: Int.self)
            if let bytes = agent.baseAddress { (block + 8).copyMemory(from: bytes, byteCount: agent.count) }
            slot.storeBytes(of: BucketTable.longID, toByteOffset: BucketTable.lengthOffset, as: UInt32.self)
            slot.storeBytes(of: block, toByteOffset: BucketTable.blockOffset, as: UnsafeMutableRawPointer.self)
        }
        tags[i] = tag
        return slot
    }

    /// Frees slot `i` (held) and counts it out.
    func remove(_ i: Int) {
        release(i)
        tags[i] = 0
        live.pointee.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Frees what slot `i`'s key owns outside the slot (a long id's block).
    func release(_ i: Int) {
        let slot = slot(i)
        guard slot.load(fromByteOffset: BucketTable.lengthOffset, as: UInt32.self) == BucketTable.longID else { return }
        slot.load(fromByteOffset: BucketTable.blockOffset, as: UnsafeMutableRawPointer.self).deallocate()
    }

    /// True when the `bytes.count` bytes at `stored` equal `bytes`.
    private static func equal(_ stored: UnsafeRawPointer, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let given = bytes.baseAddress.map(UnsafeRawPointer.init) else { return true }
        var offset = 0
        while offset + 8 <= bytes.count {
            guard stored.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == given.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
            offset += 8
        }
        while offset < bytes.count {
            guard stored.load(fromByteOffset: offset, as: UInt8.self) == given.load(fromByteOffset: offset, as: UInt8.self) else { return false }
            offset += 1
        }
        return true
    }
}

/// A set's recency order: 16 slot numbers of 4 bits in one word, position 0 (the low bits) the
/// most recently used, position 15 the least; free slots are kept at the end.
enum Recency {
    /// Slot i at position i.
    static let initial: UInt64 = 0xFEDC_BA98_7654_3210
    /// Every nibble 1.
    private static let ones: UInt64 = 0x1111_1111_1111_1111

    /// The slot at the last position: free if any slot is, else the least recently used.
    static func last(_ order: UInt64) -> Int {
        Int(truncatingIfNeeded: order >> 60)
    }

    /// The position of `slot` in `order` (its only zero nibble after an xor with `slot` in every
    /// nibble; the lowest zero nibble is found exactly by the borrow trick).
    static func position(of slot: Int, in order: UInt64) -> Int {
        let x = order ^ (UInt64(truncatingIfNeeded: slot) &* ones)
        let zeros = (x &- ones) & ~x & (ones << 3)
        return zeros.trailingZeroBitCount >> 2
    }

    /// `order` with `slot` moved to the front, the slots before it shifted back by one.
    static func movingToFront(_ slot: Int, in order: UInt64) -> UInt64 {
        let p = position(of: slot, in: order)
        guard p > 0 else { return order }
        let before = order & ((1 << UInt64(4 * p)) - 1)
        let after = p == 15 ? 0 : order & ~((1 << UInt64(4 * p + 4)) - 1)
        return after | before << 4 | UInt64(truncatingIfNeeded: slot)
    }

    /// `order` with `slot` moved to the end, the slots after it shifted forward by one.
    static func movingToBack(_ slot: Int, in order: UInt64) -> UInt64 {
        let p = position(of: slot, in: order)
        guard p < 15 else { return order }
        let before = order & ((1 << UInt64(4 * p)) - 1)
        let after = (order >> UInt64(4 * p + 4)) << UInt64(4 * p)
        return before | after & ~(0xF << 60) | UInt64(truncatingIfNeeded: slot) << 60
    }
}
