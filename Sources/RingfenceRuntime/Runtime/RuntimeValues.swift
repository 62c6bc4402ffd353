import RingfenceAudit
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The runtime's small value types: times (whole microseconds since 1970, written as the audit
// log writes them), durations (whole milliseconds, as the runtime file writes them), ids and
// their generators (SPEC Part II preamble).

/// Times as the runtime reads and writes them.
public enum RuntimeTime {
    /// The system clock (CLOCK_REALTIME), in microseconds since 1970.
    public static let system: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    /// `microseconds` in the audit log's form, `2026-11-21T10:00:00.000000Z` (clamped to the
    /// years 0001–9999).
    public static func text(_ microseconds: Int64) -> String {
        auditTime(microseconds).text
    }

    /// `microseconds` as an audit time, clamped to the years 0001–9999.
    static func auditTime(_ microseconds: Int64) -> AuditTime {
        let clamped = min(max(microseconds, AuditTime.earliest.microseconds), AuditTime.latest.microseconds)
        return (try? AuditTime(microseconds: clamped)) ?? .earliest
    }

    /// Parses an RFC 3339 date-time — `2026-11-21T10:00:00Z`, with an optional fraction and a
    /// `Z` or `±hh:mm` offset — into microseconds since 1970, or nil. Digits of the fraction past
    /// the sixth are dropped; a time outside the years 0001–9999 (after the offset) is refused.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        /// Reads `n` digits at `at`.
        func digits(_ at: Int, _ n: Int) -> Int64? {
            guard at + n <= b.count else { return nil }
            var v: Int64 = 0
            for i in at..<at + n {
                let d = b[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            return v
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
              let second = digits(17, 2), year >= 1, (1...12).contains(month), day >= 1,
              day <= AuditTimeCalendar.daysInMonth(year: year, month: month), hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000
            let start = i
            while i < b.count, b[i] &- UInt8(ascii: "0") < 10 {
                fraction += Int64(b[i] - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), let oh = digits(i + 1, 2), i + 3 < b.count,
                  b[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2), oh < 24, om < 60 {
            offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = AuditTimeCalendar.days(year: year, month: month, day: day)
        let micros = ((days * 86_400 + hour * 3_600 + minute * 60 + second - offset) * 1_000_000) + fraction
        guard micros >= AuditTime.earliest.microseconds, micros <= AuditTime.latest.microseconds else { return nil }
        return micros
    }
}

/// The proleptic Gregorian calendar arithmetic `RuntimeTime.parse` needs.
enum AuditTimeCalendar {
    /// The number of days in `month` of `year`.
    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Durations as operations give them: a number of seconds (`300`, `0.5`) or a text with a unit
/// (`500ms`, `30s`, `5m`, `1h`, `7d`), the way the runtime file writes them (SPEC §7).
public enum RuntimeDuration {
    /// The longest duration an operation may name: 365 days, in milliseconds.
    public static let maximum: Int64 = 365 * 86_400_000

    /// `value` in whole milliseconds (a fraction of a millisecond rounds down), or nil when it
    /// is neither a finite number of seconds nor a duration text, or is longer than `maximum`
    /// (numbers may be negative: an elevation reads a TTL ≤ 0 as "the default").
    public static func milliseconds(_ seconds: Double) -> Int64? {
        guard seconds.isFinite, abs(seconds) <= Double(maximum / 1_000) else { return nil }
        return Int64((seconds * 1_000).rounded(.towardZero))
    }

    /// A duration text (`500ms`, `30s`, `1.5h`) in milliseconds, or nil.
    public static func milliseconds(text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (unit, length) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            // `5ms` also ends in `s`: the longer unit is tried first, and the rest must be a number.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                  number.first != ".", number.last != ".", number.filter({ $0 == "." }).count <= 1,
                  let value = Double(number) else { continue }
            let ms = value * Double(length)
            guard ms <= Double(maximum), ms == ms.rounded(.towardZero) else { return nil }
            return Int64(ms)
        }
        return nil
    }
}

/// Ids of sessions, agents, elevations and kills (SPEC §8.1): 1–256 bytes of ASCII letters,
/// digits, `.`, `_`, `:` and `-`, starting and ending with a letter or digit.
public enum RuntimeID {
    /// The longest id, in bytes.
    public static let maxBytes = 256

    /// True when `id` has the id shape: `^[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9])?$`, ≤ 256 bytes.
    public static func isValid(_ id: String) -> Bool {
        // Read from the string's contiguous UTF-8 (every operation checks its ids; stepping a
        // `UTF8View` costs several times the comparisons).
        var id = id
        return id.withUTF8 { bytes in
            guard let first = bytes.first, let last = bytes.last, bytes.count <= maxBytes,
                  isAlphanumeric(first), isAlphanumeric(last) else { return false }
            for byte in bytes where !isAlphanumeric(byte) {
                guard byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-") else {
                    return false
                }
            }
            return true
        }
    }

    /// True for an ASCII letter or digit.
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte &- UInt8(ascii: "0")) < 10 || ((byte | 0x20) &- UInt8(ascii: "a")) < 26
    }
}

/// Makes the ids the runtime generates: `<kind>:<16 lowercase hex>` from 64 random bits.
public struct IDGenerator: Sendable {
    /// Where the 64 random bits come from.
    private let source: @Sendable () -> UInt64

    /// A generator drawing from `source`.
    public init(_ source: @escaping @Sendable () -> UInt64) {
        self.source = source
    }

    /// A reproducible generator: SplitMix64 from `seed` (the same seed gives the same ids).
    public static func seeded(_ seed: UInt64) -> IDGenerator {
        let state = Mutex(seed)
        return IDGenerator {
            state.withLock { s in
                s &+= 0x9E37_79B9_7F4A_7C15
                var z = s
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
    }

    /// Ids from the system's randomness.
    public static let system = IDGenerator {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }

    /// A new id of `kind`, e.g. `session:9e3779b97f4a7c15`.
    public func make(_ kind: String) -> String {
        RuntimeKeys.numbered(kind, ":", source(), radix: .hexadecimal, width: 16)
    }
}

/// Keys and ids of the form `<prefix><separator><number>`, written into one string.
enum RuntimeKeys {
    /// The bases numbers are written in.
    enum Radix {
        case decimal, hexadecimal
    }

    /// `prefix`, `separator`, then `value`'s digits in `radix` (lowercase), padded with zeros to
    /// `width` digits (more when it has more): one allocation, where concatenating the parts
    /// made one for each (ids, ledger event keys and step row keys are made by every operation
    /// that adds them). Each digit costs a shift (hexadecimal) or a multiplication by a constant
    /// (decimal), not a division.
    static func numbered(_ prefix: String, _ separator: Unicode.Scalar, _ value: UInt64, radix: Radix, width: Int) -> String {
        let hex = radix == .hexadecimal
        var digits = hex ? max(1, (64 - value.leadingZeroBitCount + 3) / 4) : 1
        if !hex {
            var rest = value
            while rest >= 10 {
                rest /= 10
                digits += 1
            }
        }
        let count = max(width, digits)
        var prefix = prefix
        return prefix.withUTF8 { head in
            String(unsafeUninitializedCapacity: head.count + 1 + count) { out in
                _ = out.initialize(fromContentsOf: head)
                out[head.count] = UInt8(ascii: separator)
                var value = value
                for i in stride(from: head.count + count, to: head.count, by: -1) {
                    let digit: UInt8
                    if hex {
                        digit = UInt8(truncatingIfNeeded: value & 15)
                        value >>= 4
                    } else {
                        digit = UInt8(truncatingIfNeeded: value % 10)
                        value /= 10
                    }
                    out[i] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                }
                return head.count + 1 + count
            }
        }
    }
}
