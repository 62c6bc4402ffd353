import RingfenceAudit
import RingfenceRuntime
import RingfenceStores
import RingfenceVM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// ringfence-store-crash-probe STORE_URL SEED [log|direct]
//
// Appends to the store's audit log under `strict` durability until it is killed (or has made
// 100,000 appends), the way the crash-safety test drives it. Each append holds one to eight
// records (the count drawn from a generator seeded with SEED, the session `probe-SEED`) and
// writes the state row `probe/SEED` holding the append's round in the same transaction:
//
//   log     through the runtime's audit log (`AuditLog`, strict), as a deployment appends
//   direct  through `StateStore.commit` itself: the probe reads the head, builds the entries,
//           their Merkle nodes and a checkpoint every 16 entries, commits, and on
//           `auditConflict` (another process appended first) reads the head again and rebuilds
//
// Once an append is acknowledged as durable it prints one line, written straight to the
// standard output, so a line the parent reads is an acknowledgement the store has made:
//
//   acked <first seq> <last seq> <round>
//
// Exit status: 2 for bad arguments, 1 when the store fails.

/// Writes `text` to file descriptor `fd` at once, unbuffered.
func emit(_ text: String, to fd: Int32) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}

/// Stops with `message` on the standard error and status `status`.
func fail(_ message: String, status: Int32) -> Never {
    emit("ringfence-store-crash-probe: \(message)\n", to: 2)
    exit(status)
}

/// A SplitMix64 generator, so a seed reproduces the sizes of the appends.
struct SplitMix {
    /// The state.
    var state: UInt64

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The log's head as the direct mode tracks it.
struct Head {
    /// The number of entries.
    var size: UInt64
    /// The last entry's hash.
    var lastHash: AuditHash
    /// The Merkle frontier over the entries.
    var frontier: MerkleFrontier

    /// The head stored in `store` now.
    init(reading store: StateStore) throws {
        let snapshot = try store.load()
        size = snapshot.auditSize
        lastHash = snapshot.lastHash
        frontier = try MerkleFrontier(size: snapshot.auditSize, source: StoreNodeSource(frontierOf: snapshot.auditSize, in: store))
    }
}

/// A fixed starting time, one microsecond later for every round: the probe needs no wall clock.
let start: Int64 = 1_800_000_000_000_000

/// The time of `round`.
func time(_ round: Int) -> AuditTime {
    (try? AuditTime(microseconds: start + Int64(round))) ?? .earliest
}

/// The data of record `index` of `round`.
func value(round: Int, index: Int) -> Value {
    .object(["round": .number(Double(round)), "index": .number(Double(index))])
}

/// Appends through the runtime's audit log until killed.
func appendThroughLog(_ store: StateStore, seed: UInt64) throws {
    let log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, checkpointEvery: 16),
                           clock: { time(0) })
    var generator = SplitMix(state: seed)
    let rowKey = StateKey("probe", String(seed))
    for round in 0..<100_000 {
        let count = Int(generator.next() % 8) + 1
        let records = (0..<count).map { index in
            AuditRecord(kind: "probe", session: "probe-\(seed)", agent: index.isMultiple(of: 2) ? nil : "agent-\(index)",
                        time: time(round), value: value(round: round, index: index))
        }
        let receipts = try log.append(records, rows: [StateRow(rowKey, Array(String(round).utf8))])
        guard let first = receipts.first, let last = receipts.last, receipts.count == count,
              last.seq - first.seq == UInt64(count - 1) else {
            fail("the log acknowledged \(receipts.count) of \(count) records, not consecutively", status: 1)
        }
        emit("acked \(first.seq) \(last.seq) \(round)\n", to: 1)
    }
    log.close()
}

/// Commits `batch` durably; returns the store's error instead of throwing it.
func commitOrConflict(_ store: StateStore, _ batch: StoreBatch) -> StoreError? {
    do {
        try store.commit(batch, durability: .strict)
        return nil
    } catch {
        return error
    }
}

/// Appends through `StateStore.commit` until killed, re-reading the head after a conflict.
func appendDirectly(_ store: StateStore, seed: UInt64) throws {
    var generator = SplitMix(state: seed)
    let rowKey = StateKey("probe", String(seed))
    var head = try Head(reading: store)
    for round in 0..<100_000 {
        let count = Int(generator.next() % 8) + 1
        while true {
            var next = head
            var batch = StoreBatch()
            batch.puts = [StateRow(rowKey, Array(String(round).utf8))]
            for index in 0..<count {
                let data = try CanonicalJSON.encode(value(round: round, index: index))
                let entry = try AuditEntry(seq: next.size, time: time(round), kind: "probe", session: "probe-\(seed)",
                                           agent: nil, dataHash: AuditHash.sha256(data), prev: next.lastHash)
                let hash = entry.hash
                batch.entries.append(StoredAuditEntry(entry: entry, hash: hash, data: data))
                batch.nodes += next.frontier.appendReturningNewNodes(MerkleHash.leaf(entryHash: hash))
                next.size += 1
                next.lastHash = hash
                if next.size.isMultiple(of: 16) {
                    let note = try Checkpoint(origin: "ringfence.probe/audit", size: next.size, root: next.frontier.root).unsignedNote
                    batch.checkpoints.append(StoredCheckpoint(size: next.size, root: next.frontier.root, note: note.formatted,
                                                              time: time(round)))
                }
            }
            if let conflict = commitOrConflict(store, batch) {
                guard conflict.kind == .auditConflict else { throw conflict }
                head = try Head(reading: store)
                continue
            }
            emit("acked \(head.size) \(next.size - 1) \(round)\n", to: 1)
            head = next
            break
        }
    }
}

let arguments = CommandLine.arguments
guard (3...4).contains(arguments.count), let seed = UInt64(arguments[2]) else {
    fail("usage: ringfence-store-crash-probe STORE_URL SEED [log|direct]", status: 2)
}
let mode = arguments.count == 4 ? arguments[3] : "log"
guard mode == "log" || mode == "direct" else {
    fail("unknown mode `\(mode)`: use `log` or `direct`", status: 2)
}
do {
    let store = try Stores.open(url: arguments[1])
    if mode == "log" {
        try appendThroughLog(store, seed: seed)
    } else {
        try appendDirectly(store, seed: seed)
    }
} catch {
    fail("\(error)", status: 1)
}
