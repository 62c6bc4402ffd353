import RingfenceDiagnostics

/// Durations as Ringfence files write them (SPEC §7): a number and a unit — `500ms`, `30s`,
/// `5m`, `1h`, `7d` — or a plain YAML number, which counts seconds. Read as whole milliseconds.
///
/// ```
/// duration := digits ("." digits)? unit       text: `30s`, `1.5h`, `250ms`
///           | number                          a YAML number of seconds: `30`, `0.25`
/// unit     := "ms" | "s" | "m" | "h" | "d"    lowercase; `d` is 86,400 s (no calendar days)
/// ```
/// Refused, each with its own reason: a sign (`-1s`, `+1s`), spaces (`5 m`), a missing or
/// unknown unit (`30`, `5x`, `5min`, `5M`), two parts (`1h30m`; write `90m`), a value that is not
/// a whole number of milliseconds (`1.5ms`, `0.0001`), and one beyond `Int64.max` milliseconds.
/// Ranges (what a setting accepts) are not this type's concern: `0s` parses, and the setting
/// that needs more than zero says so.
public enum DurationSyntax {
    /// A duration unit and its length.
    public enum Unit: String, Sendable, CaseIterable {
        /// Milliseconds.
        case ms
        /// Seconds.
        case s
        /// Minutes.
        case m
        /// Hours.
        case h
        /// Days of 24 hours.
        case d

        /// The unit's length in milliseconds.
        public var milliseconds: Int64 {
            switch self {
            case .ms: 1
            case .s: 1_000
            case .m: 60_000
            case .h: 3_600_000
            case .d: 86_400_000
            }
        }
    }

    /// Why a text or number is not a duration.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// The text is empty.
        case empty
        /// The value is negative.
        case negative
        /// A number without a unit, in text (`"30"`).
        case missingUnit
        /// A unit that is not `ms`, `s`, `m`, `h` or `d`.
        case unknownUnit(String)
        /// Not a number followed by a unit at all.
        case notANumber
        /// Two numbers and units run together (`1h30m`).
        case compound
        /// A value that is not a whole number of milliseconds.
        case finerThanMillisecond
        /// A value beyond `Int64.max` milliseconds.
        case tooLong

        /// The reason, as diagnostics word it.
        public var description: String {
            switch self {
            case .empty: Messages.durationEmpty
            case .negative: Messages.durationNegative
            case .missingUnit: Messages.durationMissingUnit
            case .unknownUnit(let unit): Messages.durationUnknownUnit(Messages.excerpt(unit))
            case .notANumber: Messages.durationNotANumber
            case .compound: Messages.durationCompound
            case .finerThanMillisecond: Messages.durationFinerThanMillisecond
            case .tooLong: Messages.durationTooLong
            }
        }
    }

    /// Reads a duration written as text (`30s`, `1.5h`), in milliseconds.
    public static func milliseconds(_ text: String) -> Result<Int64, Problem> {
        let bytes = Array(text.utf8)
        guard let first = bytes.first else { return .failure(.empty) }
        if first == UInt8(ascii: "-") { return .failure(.negative) }
        var i = 0
        let whole = digits(bytes, &i)
        guard !whole.isEmpty else { return .failure(.notANumber) }
        var fraction: ArraySlice<UInt8> = []
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            fraction = digits(bytes, &i)
            guard !fraction.isEmpty else { return .failure(.notANumber) }
        }
        let unitStart = i
        while i < bytes.count, isLetter(bytes[i]) { i += 1 }
        let unitText = String(decoding: bytes[unitStart..<i], as: UTF8.self)
        if i < bytes.count {
            return .failure(isDigit(bytes[i]) && !unitText.isEmpty ? .compound : .notANumber)
        }
        guard !unitText.isEmpty else { return .failure(.missingUnit) }
        guard let unit = Unit(rawValue: unitText) else { return .failure(.unknownUnit(unitText)) }
        return milliseconds(whole: whole, fraction: fraction, unit: unit)
    }

    /// Reads a duration given as a YAML number of seconds; `text` is the scalar as written, read
    /// exactly when it is a plain decimal (`0.1` is 100 ms, not 100.000000000000006 ms).
    public static func milliseconds(seconds: Double, text: String) -> Result<Int64, Problem> {
        if seconds.isNaN { return .failure(.notANumber) }
        if seconds < 0 || text.hasPrefix("-") { return .failure(.negative) }
        let bytes = Array(text.utf8)
        var i = 0
        let whole = digits(bytes, &i)
        if !whole.isEmpty {
            var fraction: ArraySlice<UInt8> = []
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                fraction = digits(bytes, &i)
            }
            if i == bytes.count { return milliseconds(whole: whole, fraction: fraction, unit: .s) }
        }
        // Another spelling of a number (`1e3`, `0x10`, `.5`): computed in floating point, and
        // accepted only when that lands on a whole millisecond.
        let value = seconds * 1_000
        guard value.isFinite, value < 9.2e18 else { return .failure(.tooLong) }
        guard value == value.rounded() else { return .failure(.finerThanMillisecond) }
        return .success(Int64(value))
    }

    /// Reads a duration given as a YAML integer of seconds.
    public static func milliseconds(seconds: Int) -> Result<Int64, Problem> {
        guard seconds >= 0 else { return .failure(.negative) }
        let (value, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1_000)
        return overflow ? .failure(.tooLong) : .success(value)
    }

    /// `whole.fraction × unit` in milliseconds, exactly: fails when the result is not whole or
    /// does not fit in `Int64`.
    private static func milliseconds(whole: ArraySlice<UInt8>, fraction: ArraySlice<UInt8>, unit: Unit) -> Result<Int64, Problem> {
        var fraction = fraction
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        // A whole number of milliseconds has at most 10 significant decimals (the longest unit,
        // 86,400,000 ms, is divisible by 2^10 and 5^5), so longer fractions fail without arithmetic.
        guard fraction.count <= 10 else { return .failure(.finerThanMillisecond) }
        var scaled: UInt64 = 0
        for digit in whole + fraction {
            let (times10, o1) = scaled.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            if o1 || o2 { return .failure(.tooLong) }
            scaled = sum
        }
        var divisor: UInt64 = 1
        for _ in 0..<fraction.count { divisor *= 10 }
        let product = scaled.multipliedFullWidth(by: UInt64(unit.milliseconds))
        guard product.high < divisor else { return .failure(.tooLong) }
        let (quotient, remainder) = divisor.dividingFullWidth(product)
        guard remainder == 0 else { return .failure(.finerThanMillisecond) }
        guard quotient <= UInt64(Int64.max) else { return .failure(.tooLong) }
        return .success(Int64(quotient))
    }

    /// The ASCII digits at `i`, advancing past them.
    private static func digits(_ bytes: [UInt8], _ i: inout Int) -> ArraySlice<UInt8> {
        let start = i
        while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        return bytes[start..<i]
    }

    /// True for `0`–`9`.
    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// True for ASCII letters.
    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

extension StructureReader {
    /// The value of a pair that must be a duration (`30s`, or a number of seconds), in
    /// milliseconds; reports RF1023 for a malformed duration and RF1006 for another type.
    mutating func duration(_ pair: YAMLPair, path: String) -> Int64? {
        let result: Result<Int64, DurationSyntax.Problem>
        switch pair.value.scalar?.value {
        case .string(let text)?: result = DurationSyntax.milliseconds(text)
        case .integer(let n)?: result = DurationSyntax.milliseconds(seconds: n)
        case .float(let x)?: result = DurationSyntax.milliseconds(seconds: x, text: pair.value.scalar?.text ?? "")
        default:
            error(.wrongType, Messages.wrongType(path, expected: Messages.durationExpected, found: pair.value.typeName), at: pair.value)
            return nil
        }
        switch result {
        case .success(let milliseconds):
            return milliseconds
        case .failure(let problem):
            error(.invalidDuration, Messages.invalidDuration(Messages.excerpt(pair.value.scalar?.text ?? ""), for: path, problem.description),
                  at: pair.value, help: Messages.durationHelp)
            return nil
        }
    }
}
