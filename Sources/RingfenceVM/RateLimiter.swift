import RingfenceBytecode
import Synchronization

/// Per-agent, per-rule rate limits with fixed windows aligned to the epoch: `100/hour` allows
/// 100 decisions per agent in each clock hour. Shared by threads; only rules that declare a
/// limit ever take its lock.
public final class RateLimiter: Sendable {
    private struct Key: Hashable {
        let rule: Int
        let agent: String
    }

    private struct Window {
        var start: Int64
        var used: UInt32
    }

    private let windows = Mutex<[Key: Window]>([:])
    /// Entries kept before windows that have ended are pruned.
    private let pruneThreshold = 100_000

    /// Creates an empty limiter.
    public init() {}

    /// Takes one token from `agent`'s window of `rule` at time `now` (seconds since 1970);
    /// false when the window is exhausted.
    public func consume(rule: Int, agent: String, limit: Limit, now: Double) -> Bool {
        let length = Int64(limit.seconds)
        let seconds = now.isFinite ? Int64(clamping: Int(now.rounded(.down))) : 0
        let start = seconds >= 0 ? seconds - seconds % length : seconds - ((seconds % length) + length) % length
        let key = Key(rule: rule, agent: agent)
        return windows.withLock { map in
            if map.count > pruneThreshold {
                map = map.filter { $0.value.start + length > start }
            }
            var w = map[key] ?? Window(start: start, used: 0)
            if w.start != start { w = Window(start: start, used: 0) }
            guard w.used < limit.count else {
                map[key] = w
                return false
            }
            w.used += 1
            map[key] = w
            return true
        }
    }
}
