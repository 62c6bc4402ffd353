/// An entry's time: whole microseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds).
///
/// Its text form is fixed-width RFC 3339 in UTC with exactly six fractional digits:
///
/// ```
/// 2026-11-21T10:00:00.000000Z
/// YYYY-MM-DD "T" hh:mm:ss "." ffffff "Z"      (27 ASCII bytes)
/// ```
/// Years run from 0001 to 9999 on the proleptic Gregorian calendar; seconds run 00–59 (no leap
/// second); lowercase `t`/`z`, offsets, other precisions and anything else are refused, so a
/// time has exactly one spelling.
public struct AuditTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since the Unix epoch.
    public let microseconds: Int64

    /// The earliest representable time, 0001-01-01T00:00:00.000000Z.
    public static let earliest = AuditTime(unchecked: -62_135_596_800_000_000)
    /// The latest representable time, 9999-12-31T23:59:59.999999Z.
    public static let latest = AuditTime(unchecked: 253_402_300_799_999_999)

    /// The number of bytes in the text form.
    static let textLength = 27

    /// Creates a time without checking its range.
    init(unchecked microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// Creates a time from microseconds since the epoch; outside years 0001–9999 is an error.
    public init(microseconds: Int64) throws(AuditError) {
        guard microseconds >= Self.earliest.microseconds, microseconds <= Self.latest.microseconds else {
            throw AuditError(.entry, AuditMessages.timeOutOfRange(microseconds))
        }
        self.microseconds = microseconds
    }

    /// Parses the 27-byte text form.
    public init(parsing text: String) throws(AuditError) {
        let units = Array(text.utf8)
        guard let microseconds = Self.parse(units) else {
            throw AuditError(.entry, AuditMessages.badTime(text))
        }
        self.microseconds = microseconds
    }

    /// The text form, e.g. `2026-11-21T10:00:00.000000Z`.
    public var text: String {
        // Written straight into the string's storage: one allocation.
        String(unsafeUninitializedCapacity: Self.textLength) { buffer in
            var writer = CanonicalWriter(buffer)
            write(to: &writer)
            return writer.count
        }
    }

    /// The text form.
    public var description: String { text }

    /// Orders times chronologically.
    public static func < (lhs: AuditTime, rhs: AuditTime) -> Bool {
        lhs.microseconds < rhs.microseconds
    }

    /// Appends the 27 bytes of the text form to `output`.
    public func append(to output: inout [UInt8]) {
        CanonicalWriter.append(to: &output, bound: Self.textLength) { write(to: &$0) }
    }

    /// Writes the 27 bytes of the text form.
    func write(to writer: inout CanonicalWriter) {
        let perDay: Int64 = 86_400_000_000
        var days = microseconds / perDay
        var rest = microseconds % perDay
        if rest < 0 {
            days -= 1
            rest += perDay
        }
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = rest / 1_000_000
        writer.writeDigits(year, count: 4)
        writer.write(UInt8(ascii: "-"))
        writer.writeDigits(month, count: 2)
        writer.write(UInt8(ascii: "-"))
        writer.writeDigits(day, count: 2)
        writer.write(UInt8(ascii: "T"))
        writer.writeDigits(seconds / 3600, count: 2)
        writer.write(UInt8(ascii: ":"))
        writer.writeDigits(seconds % 3600 / 60, count: 2)
        writer.write(UInt8(ascii: ":"))
        writer.writeDigits(seconds % 60, count: 2)
        writer.write(UInt8(ascii: "."))
        writer.writeDigits(rest % 1_000_000, count: 6)
        writer.write(UInt8(ascii: "Z"))
    }

    /// Reads the 27-byte form into microseconds, or returns nil when it is not exactly that form
    /// or names a date or time that does not exist.
    static func parse(_ units: [UInt8]) -> Int64? {
        guard units.count == textLength else { return nil }
        let separators: [(Int, UInt8)] = [
            (4, UInt8(ascii: "-")), (7, UInt8(ascii: "-")), (10, UInt8(ascii: "T")), (13, UInt8(ascii: ":")),
            (16, UInt8(ascii: ":")), (19, UInt8(ascii: ".")), (26, UInt8(ascii: "Z")),
        ]
        for (offset, expected) in separators where units[offset] != expected { return nil }
        /// Reads `count` digits at `offset`, or nil when one is not a digit.
        func number(_ offset: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for index in offset..<offset + count {
                let digit = units[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              let fraction = number(20, 6) else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60 else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000) + fraction
    }

    /// The number of days in `month` of `year` (Gregorian leap years).
    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11:
            return 30
        default:
            return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (`civil_from_days`).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
