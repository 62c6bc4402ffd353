import RingfenceVM

/// RFC 3339 timestamps (`2026-11-21T10:00:00Z`, fractions and offsets allowed).
public enum Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z, or nil when `text` is not an RFC 3339 date-time.
    public static func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    /// Seconds since 1970-01-01T00:00:00Z, or nil when the UTF-8 bytes `b` are not an RFC 3339
    /// date-time.
    public static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> Double? {
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<at + n {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
              let day = digits(8, 2), b[10] == 84 || b[10] == 116 || b[10] == 32, let hour = digits(11, 2), b[13] == 58,
              let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = digits(i + 4, 2) {
            offset = (oh * 60 + om) * 60 * (b[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }

    /// The request's `context.time` in seconds since 1970, when it is a valid RFC 3339 string.
    public static func time(of request: Request) -> Double? {
        guard case .string(let text)? = request.context["time"] else { return nil }
        return parse(text)
    }
}
