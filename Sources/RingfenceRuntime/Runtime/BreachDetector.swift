import RingfenceBytecode

// The breach detector (SPEC §8.5). Per (session, agent) it counts, over a sliding window, the
// calls decided by the rules and those that aimed at a ring more privileged than the agent's
// (decided `ring`). Once the window holds `min_calls` calls, the share that aimed above gives
// the severity: `low`, `medium`, `high`, `critical` at the thresholds (inclusive), nothing
// below `low`.
//
// The window is 64 slots of 1/64 of its length each, like the partial buckets of resilience4j's
// time-based sliding window: a call counts while its slot is one of the 64 newest, so the window
// slides in steps of 1/64 of its length and its memory is fixed whatever the call rate.
//
// Verdicts: a severity is only ever raised by an aimed-above call (a legitimate call can only
// lower the share), and a `breach` entry is written when it rises above the severity last
// reported — not on every call. A lower share lowers the reported severity, so a later rise is
// reported again; when a breaker closes at the end of its cooldown the detector re-arms (the
// next aimed-above call at `high` or more trips it again, whatever was reported before).

/// A breach's severity.
public enum BreachSeverity: Int, Sendable, Hashable, Comparable, CaseIterable {
    /// Below `low`, or fewer than `min_calls` calls.
    case none
    /// At or above `low`.
    case low
    /// At or above `medium`.
    case medium
    /// At or above `high`: trips the breaker.
    case high
    /// At or above `critical`: trips the breaker, and kills when `on_critical: kill`.
    case critical

    /// The word entries use.
    public var name: String {
        switch self {
        case .none: "none"
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        case .critical: "critical"
        }
    }

    /// Orders by severity.
    public static func < (a: BreachSeverity, b: BreachSeverity) -> Bool { a.rawValue < b.rawValue }

    /// The severity of `aimed` aimed-above calls among `calls`, under `settings`.
    public static func of(aimed: Int, calls: Int, settings: RuntimeSettings.Breach) -> BreachSeverity {
        guard calls >= settings.minCalls, calls > 0 else { return .none }
        // A quotient, not `threshold × calls`: 7/10 is the double nearest 0.7, as the setting is.
        let share = Double(aimed) / Double(calls)
        if share >= settings.critical { return .critical }
        if share >= settings.high { return .high }
        if share >= settings.medium { return .medium }
        if share >= settings.low { return .low }
        return .none
    }
}

/// One (session, agent)'s sliding window of calls (memory only; a restart starts it empty).
final class BreachWindow: @unchecked Sendable {
    // Safety: touched only under the runtime's lock; its state is `@exclusivity(unchecked)`, as
    // the runtime's own is (`Runtime.mutex`).
    /// Slots in the window.
    static let slotCount = 64
    /// The length of one slot (µs).
    let slotLength: Int64
    /// The counters, one value, so a call reads or updates the object once.
    @exclusivity(unchecked) private var counts = BreachCounts()
    /// The severity last reported.
    @exclusivity(unchecked) var reported = BreachSeverity.none
    /// When the breaker this window tripped closes: from then on the detector is re-armed.
    @exclusivity(unchecked) var rearmAt: Int64?

    /// A window of `length` microseconds (at least 64).
    init(length: Int64) {
        slotLength = max(1, (max(length, 1) + Int64(Self.slotCount) - 1) / Int64(Self.slotCount))
    }

    /// Calls over the slots in the window.
    var totalCalls: Int { counts.totalCalls }
    /// Aimed-above calls over the slots in the window.
    var totalAimed: Int { counts.totalAimed }

    /// The totals in the window at `now` (nothing is recorded).
    func totals(at now: Int64) -> (calls: Int, aimed: Int) {
        counts.totals(at: slotIndex(now))
    }

    /// The totals the window would hold after a call at `now` (nothing is recorded).
    func preview(at now: Int64, aimedAbove: Bool) -> (calls: Int, aimed: Int) {
        let (c, a) = totals(at: now)
        return (c + 1, a + (aimedAbove ? 1 : 0))
    }

    /// Records a call at `now`.
    func record(at now: Int64, aimedAbove: Bool) {
        counts.record(at: slotIndex(now), aimedAbove: aimedAbove)
    }

    /// The slot index of `time` (floor division, so times before 1970 work too).
    private func slotIndex(_ time: Int64) -> Int64 {
        let q = time / slotLength
        return time % slotLength < 0 ? q - 1 : q
    }

    /// Empties the window and re-arms the detector (`breaker.reset`, a kill).
    func clear() {
        counts = BreachCounts()
        reported = .none
        rearmAt = nil
    }
}

/// A window's counters by slot index (time / slot length): the calls and aimed-above calls of
/// the 64 newest slots, and their totals.
struct BreachCounts {
    /// Calls and aimed-above calls per slot, side by side (slot position p at 2p and 2p + 1);
    /// allocated at the first call.
    private var slots: [UInt32] = []
    /// The newest slot index counted.
    private var newest: Int64 = .min
    /// Calls over the slots in the window.
    private(set) var totalCalls = 0
    /// Aimed-above calls over the slots in the window.
    private(set) var totalAimed = 0

    /// The totals at slot index `current` (nothing is recorded).
    func totals(at current: Int64) -> (calls: Int, aimed: Int) {
        if current == newest { return (totalCalls, totalAimed) }
        if slots.isEmpty || newest == .min || current - newest >= Int64(BreachWindow.slotCount) { return (0, 0) }
        var c = totalCalls, a = totalAimed
        var slot = newest + 1
        while slot <= current {
            let p = Self.position(slot)
            c -= Int(slots[p])
            a -= Int(slots[p + 1])
            slot += 1
        }
        return (c, a)
    }

    /// Records a call at slot index `current`.
    mutating func record(at current: Int64, aimedAbove: Bool) {
        advance(to: current)
        let p = Self.position(newest)
        guard slots[p] < UInt32.max else { return }
        slots[p] += 1
        totalCalls += 1
        if aimedAbove {
            slots[p + 1] += 1
            totalAimed += 1
        }
    }

    /// Drops the slots that left the window by slot index `current`.
    private mutating func advance(to current: Int64) {
        if slots.isEmpty { slots = Array(repeating: 0, count: 2 * BreachWindow.slotCount) }
        guard current > newest else { return }
        if newest == .min || current - newest >= Int64(BreachWindow.slotCount) {
            for i in slots.indices { slots[i] = 0 }
            totalCalls = 0
            totalAimed = 0
        } else {
            var slot = newest + 1
            while slot <= current {
                let p = Self.position(slot)
                totalCalls -= Int(slots[p])
                totalAimed -= Int(slots[p + 1])
                slots[p] = 0
                slots[p + 1] = 0
                slot += 1
            }
        }
        newest = current
    }

    /// Where slot index `slot`'s calls live in `slots` (its aimed-above calls follow).
    private static func position(_ slot: Int64) -> Int {
        let count = Int64(BreachWindow.slotCount)
        return 2 * Int(((slot % count) + count) % count)
    }
}
