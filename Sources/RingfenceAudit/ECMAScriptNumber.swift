/// ECMAScript's `Number::toString` for finite doubles, the number form of RFC 8785 §3.2.2.3.
///
/// ECMA-262 (§6.1.6.1.20, `Number::toString(x, 10)`) first picks the shortest decimal digits
/// `s` (k digits) and exponent `n` with `s × 10^(n−k)` rounding back to `x` — the closest such
/// digits, ties to even — and then lays them out:
///
/// ```
/// condition          layout                                   example
/// x is ±0            "0"                                      -0 → 0
/// k ≤ n ≤ 21         s, then n−k zeros                        1e20 → 100000000000000000000
/// 0 < n ≤ 21         first n digits, ".", the rest            3.5
/// −6 < n ≤ 0         "0.", −n zeros, s                        0.000001
/// otherwise          d1 ["." rest] "e" ("+"|"-") |n−1|        1e+21, 1e-7, 1.5e+300
/// ```
/// A minus sign precedes a negative value. The shortest round-trip digits come from Swift's own
/// float printing (`Double.description`), which produces the shortest digits that round-trip and,
/// among those, the closest; integers below 2^53 take an exact fast path. The tests check the
/// result against RFC 8785 Appendix B and the first 10,000 lines of its published test file.
public enum ECMAScriptNumber {
    /// The largest magnitude (2^53) below which every integral double is printed from an integer.
    static let exactIntegerLimit: Double = 9_007_199_254_740_992

    /// The ECMAScript form of `value`, or nil when it is NaN or infinite.
    public static func format(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the ECMAScript form of the finite `value` to `output`.
    static func append(_ value: Double, to output: inout [UInt8]) {
        precondition(value.isFinite, "only finite numbers have an ECMAScript form")
        if value == 0 {
            output.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 { output.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        if magnitude < exactIntegerLimit, magnitude == magnitude.rounded(.towardZero) {
            appendDecimal(UInt64(magnitude), to: &output)
            return
        }
        // The digits go through a buffer on the stack: `description` writes at most 17
        // significant digits, plus the zeros of a form such as "0.0001".
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: digitCapacity) { buffer in
            guard let (digits, pointPosition) = shortestDigits(magnitude, into: buffer) else {
                preconditionFailure("`description` of \(magnitude) holds more than \(digitCapacity) digits")
            }
            layOut(digits: digits, n: pointPosition, to: &output)
        }
    }

    /// Room for the digits `description` writes for any finite double.
    static let digitCapacity = 40

    /// Appends the decimal digits of `number`.
    package static func appendDecimal(_ number: UInt64, to output: inout [UInt8]) {
        if number < 10 {
            output.append(UInt8(ascii: "0") + UInt8(number))
            return
        }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var remaining = number
            var start = buffer.count
            while remaining > 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// The shortest round-trip significant digits of the positive finite `magnitude` (no leading
    /// or trailing zeros), written into `buffer`, and `n`, the position of the decimal point:
    /// value = 0.digits × 10^n. Nil when `buffer` is too small.
    static func shortestDigits(_ magnitude: Double, into buffer: UnsafeMutableBufferPointer<UInt8>)
        -> (digits: UnsafeBufferPointer<UInt8>, n: Int)? {
        // `description` writes forms such as "0.001", "1e-05", "1.5", "5e-324" and
        // "1.7976931348623157e+308": digits with an optional point, then an optional exponent.
        var count = 0
        var digitsBeforePoint = 0
        var seenPoint = false
        var exponent = 0
        var exponentSign = 1
        var inExponent = false
        for unit in magnitude.description.utf8 {
            switch unit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if inExponent {
                    exponent = exponent * 10 + Int(unit - UInt8(ascii: "0"))
                } else {
                    guard count < buffer.count else { return nil }
                    buffer[count] = unit
                    count += 1
                    if !seenPoint { digitsBeforePoint += 1 }
                }
            case UInt8(ascii: "."):
                seenPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                inExponent = true
            case UInt8(ascii: "-"):
                exponentSign = -1
            default:
                // "+" in the exponent; nothing else occurs for a finite positive double.
                break
            }
        }
        var leadingZeros = 0
        while leadingZeros < count, buffer[leadingZeros] == UInt8(ascii: "0") { leadingZeros += 1 }
        var end = count
        while end > leadingZeros, buffer[end - 1] == UInt8(ascii: "0") { end -= 1 }
        let significant = UnsafeBufferPointer(rebasing: buffer[leadingZeros..<end])
        return (significant, digitsBeforePoint + exponentSign * exponent - leadingZeros)
    }

    /// Appends digits `s` (k of them) with decimal point position `n` as ECMA-262 lays them out.
    static func layOut(digits: UnsafeBufferPointer<UInt8>, n: Int, to output: inout [UInt8]) {
        let k = digits.count
        if k <= n && n <= 21 {
            output.append(contentsOf: digits)
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[0..<n]))
            output.append(UInt8(ascii: "."))
            output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[n...]))
        } else if -6 < n && n <= 0 {
            output.append(UInt8(ascii: "0"))
            output.append(UInt8(ascii: "."))
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            output.append(contentsOf: digits)
        } else {
            output.append(digits[0])
            if k > 1 {
                output.append(UInt8(ascii: "."))
                output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[1...]))
            }
            output.append(UInt8(ascii: "e"))
            let exponent = n - 1
            output.append(exponent > 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            appendDecimal(UInt64(exponent.magnitude), to: &output)
        }
    }
}
