import RingfenceAudit
import RingfenceRuntime
import RingfenceStores
import RingfenceVM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// ringfence-store-crash-probe STORE_URL SEED
//
// Appends to the store's audit log under `strict` durability until it is killed (or has made
// 100,000 appends), the way the crash-safety test drives it. Each append queues one to eight
// records (the count drawn from a generator seeded with SEED) together with the state row
// `probe/SEED` holding the append's round, and, once the log acknowledges them as durable,
// prints one line:
//
//   acked <first seq> <last seq> <round>
//
// (the records of one append are committed in one batch, so their seqs are consecutive)
// written straight to the standard output, so a line the parent reads is an acknowledgement the
// store has made durable. Exit status: 2 for bad arguments, 1 when the store fails.

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

let arguments = CommandLine.arguments
guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
    fail("usage: ringfence-store-crash-probe STORE_URL SEED", status: 2)
}
let store: StateStore
do {
    store = try Stores.open(url: arguments[1])
} catch {
    fail(error.message, status: 1)
}
/// A fixed starting time, one microsecond later for every record: the probe needs no wall clock.
let start: Int64 = 1_800_000_000_000_000
let log: AuditLog
do {
    log = try AuditLog(store: store, settings: AuditSettings(durability: .strict, checkpointEvery: 16),
                       clock: { (try? AuditTime(microseconds: start)) ?? .earliest })
} catch {
    fail(error.message, status: 1)
}
var generator = SplitMix(state: seed)
let rowKey = StateKey("probe", String(seed))
for round in 0..<100_000 {
    let count = Int(generator.next() % 8) + 1
    let time = (try? AuditTime(microseconds: start + Int64(round))) ?? .earliest
    let records = (0..<count).map { index in
        AuditRecord(kind: "probe", session: "probe-\(seed)", agent: index.isMultiple(of: 2) ? nil : "agent-\(index)", time: time,
                    value: .object(["round": .number(Double(round)), "index": .number(Double(index))]))
    }
    do {
        let receipts = try log.append(records, rows: [StateRow(rowKey, Array(String(round).utf8))])
        guard let first = receipts.first, let last = receipts.last, receipts.count == count,
              last.seq - first.seq == UInt64(count - 1) else {
            fail("the log acknowledged \(receipts.count) of \(count) records, not consecutively", status: 1)
        }
        emit("acked \(first.seq) \(last.seq) \(round)\n", to: 1)
    } catch {
        fail(error.message, status: 1)
    }
}
log.close()
