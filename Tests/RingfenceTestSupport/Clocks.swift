import Foundation

/// A clock the tests set by hand; engines and runtimes read it through `closure`.
public final class TestClock<Reading: Sendable>: @unchecked Sendable {
    // Safety: `value` is only touched under `lock`.
    /// Guards `value`.
    private let lock = NSLock()
    /// The time shown.
    private var value: Reading

    /// Creates a clock showing `reading`.
    public init(_ reading: Reading) { value = reading }

    /// The time shown now.
    public var now: Reading {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }

    /// A closure reading this clock.
    public var closure: @Sendable () -> Reading { { self.now } }
}

/// A clock that moves forward by a fixed step at every reading, in microseconds.
public final class SteppingClock: @unchecked Sendable {
    // Safety: `value` is only touched under `lock`.
    /// Guards `value`.
    private let lock = NSLock()
    /// The last reading.
    private var value: Int64
    /// The step per reading.
    private let step: Int64

    /// Creates a clock at `start` (2026-11-21T10:00:00Z by default) stepping `step` microseconds
    /// (1 ms by default) before each reading.
    public init(start: Int64 = 1_795_255_200_000_000, step: Int64 = 1_000) {
        value = start
        self.step = step
    }

    /// The next reading.
    public func next() -> Int64 {
        lock.withLock {
            value += step
            return value
        }
    }

    /// A closure giving each reading converted by `convert` (e.g. into an audit time).
    public func closure<Reading>(_ convert: @escaping @Sendable (Int64) -> Reading) -> @Sendable () -> Reading {
        { convert(self.next()) }
    }
}

/// Times written the way requests and the corpora write them.
public enum TestTime {
    /// Seconds since 1970 as an RFC 3339 UTC timestamp (`1970-01-13T12:00:00Z`).
    public static func rfc3339(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}
