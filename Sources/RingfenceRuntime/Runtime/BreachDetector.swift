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
    // Safety: touched only under the runtime's lock.
    /// Slots in the window.
    static let slotCount = 64
    /// The length of one slot (µs).
    let slotLength: Int64
    /// Calls per slot, allocated at the first call.
    private var calls: [UInt32] = []
    /// Aimed-above calls per slot.
    private var aimed: [UInt32] = []
    /// The newest slot index counted (time / slotLength).
    private var newest: Int64 = .min
    /// Calls over the slots in the window.
    private(set) var totalCalls = 0
    /// Aimed-above calls over the slots in the window.
    private(set) var totalAimed = 0
    /// The severity last reported.
    var reported = BreachSeverity.none
    /// When the breaker this window tripped closes: from then on the detector is re-armed.
    var rearmAt: Int64?

    /// A window of `length` microseconds (at least 64).
    init(length: Int64) {
        slotLength = max(1, (max(length, 1) + Int64(Self.slotCount) - 1) / Int64(Self.slotCount))
    }

    /// Drops the slots that left the window by `now`.
    private func advance(to now: Int64) {
        if calls.isEmpty {
            calls = Array(repeating: 0, count: Self.slotCount)
            aimed = Array(repeating: 0, count: Self.slotCount)
        }
        let current = slotIndex(now)
        guard current > newest else { return }
        if newest == .min || current - newest >= Int64(Self.slotCount) {
            for i in 0..<Self.slotCount { calls[i] = 0; aimed[i] = 0 }
            totalCalls = 0
            totalAimed = 0
        } else {
            var slot = newest + 1
            while slot <= current {
                let i = Self.position(slot)
                totalCalls -= Int(calls[i])
                totalAimed -= Int(aimed[i])
                calls[i] = 0
                aimed[i] = 0
                slot += 1
            }
        }
        newest = current
    }

    /// The totals in the window at `now` (nothing is recorded).
    func totals(at now: Int64) -> (calls: Int, aimed: Int) {
        let current = slotIndex(now)
        if calls.isEmpty || newest == .min || current - newest >= Int64(Self.slotCount) { return (0, 0) }
        var c = totalCalls, a = totalAimed
        var slot = newest + 1
        while slot <= current {
            let i = Self.position(slot)
            c -= Int(calls[i])
            a -= Int(aimed[i])
            slot += 1
        }
        return (c, a)
    }

    /// The totals the window would hold after a call at `now` (nothing is recorded).
    func preview(at now: Int64, aimedAbove: Bool) -> (calls: Int, aimed: Int) {
        let (c, a) = totals(at: now)
        return (c + 1, a + (aimedAbove ? 1 : 0))
    }

    /// Records a call at `now`.
    func record(at now: Int64, aimedAbove: Bool) {
        advance(to: now)
        let i = Self.position(newest)
        guard calls[i] < UInt32.max else { return }
        calls[i] += 1
        totalCalls += 1
        if aimedAbove {
            aimed[i] += 1
            totalAimed += 1
        }
    }

    /// The slot index of `time` (floor division, so times before 1970 work too).
    private func slotIndex(_ time: Int64) -> Int64 {
        let q = time / slotLength
        return time % slotLength < 0 ? q - 1 : q
    }

    /// Where slot `slot` lives in the arrays.
    private static func position(_ slot: Int64) -> Int {
        Int(((slot % Int64(slotCount)) + Int64(slotCount)) % Int64(slotCount))
    }

    /// Empties the window and re-arms the detector (`breaker.reset`, a kill).
    func clear() {
        calls = []
        aimed = []
        newest = .min
        totalCalls = 0
        totalAimed = 0
        reported = .none
        rearmAt = nil
    }
}
