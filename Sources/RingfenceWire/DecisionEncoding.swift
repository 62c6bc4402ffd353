import RingfenceDiagnostics
import RingfenceVM

// Compact JSON output for values, requests and decisions. Output never depends on dictionary
// order: object keys are written in sorted order, and the fields of requests and decisions in
// the fixed order of SPEC §1.

/// Helpers that write compact JSON text.
enum JSONWriter {
    /// Returns `text` as a JSON string literal.
    static func quote(_ text: String) -> String {
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal to `out`; text that needs no escapes is copied
    /// whole, anything else goes through `JSONText.quote`.
    static func appendQuoted(_ text: String, to out: inout String) {
        if JSONText.isPlain(text) {
            out += "\""
            out += text
            out += "\""
        } else {
            out += JSONText.quote(text)
        }
    }

    /// Seconds in plain decimal notation with at most six fractional digits (`0.2`, `20`,
    /// `0.000001`; never an exponent), as RFC 8785 writes such a number.
    static func seconds(_ x: Double) -> String {
        guard x.isFinite, abs(x) < 9e12 else { return JSONText.number(x) }
        let micros = Int64((abs(x) * 1e6).rounded())
        var text = (x < 0 && micros > 0 ? "-" : "") + String(micros / 1_000_000)
        var fraction = micros % 1_000_000
        if fraction > 0 {
            var digits = 6
            while fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
            let raw = String(fraction)
            text += "." + String(repeating: "0", count: digits - raw.count) + raw
        }
        return text
    }

    /// Appends the compact JSON text of `value` to `out`, with object keys sorted.
    static func write(_ value: Value, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number): out += JSONText.number(number)
        case .string(let text): appendQuoted(text, to: &out)
        case .list(let elements):
            out += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { out += "," }
                write(element, into: &out)
            }
            out += "]"
        case .object(let members):
            write(members, into: &out)
        }
    }

    /// Appends the compact JSON text of an object to `out`, with keys sorted.
    static func write(_ members: [String: Value], into out: inout String) {
        out += "{"
        var first = true
        for key in members.keys.sorted() {
            if !first { out += "," }
            first = false
            appendQuoted(key, to: &out)
            out += ":"
            if let member = members[key] { write(member, into: &out) }
        }
        out += "}"
    }
}

extension Value {
    /// This value as compact JSON text with object keys sorted (non-finite numbers become `null`).
    public var jsonText: String {
        var out = ""
        JSONWriter.write(self, into: &out)
        return out
    }
}

extension Decision {
    /// The decision as one line of JSON, fields in the order `decision`, `code`, `policy`,
    /// `rule`, `reason`, `ring` (`policy` and `rule` are `null` when no rule decided).
    public var jsonLine: String { jsonLine(retryAfter: nil) }

    /// The decision as one line of JSON, followed by `retry_after` (seconds) when given: the
    /// form of a rate-limited decision made by the runtime (SPEC §8.3). Without it, exactly `jsonLine`.
    public func jsonLine(retryAfter: Double?) -> String {
        var out = ""
        out.reserveCapacity(96 + reason.utf8.count + (policy?.utf8.count ?? 0) + (rule?.utf8.count ?? 0))
        appendJSONLine(retryAfter: retryAfter, to: &out)
        return out
    }

    /// Appends `jsonLine(retryAfter:)` to `out` (a batch's answer writes its decisions in place).
    public func appendJSONLine(retryAfter: Double?, to out: inout String) {
        out += "{\"decision\":\""
        out += allowed ? "allow" : "deny"
        out += "\",\"code\":\""
        out += code.rawValue
        out += "\",\"policy\":"
        if let policy { JSONWriter.appendQuoted(policy, to: &out) } else { out += "null" }
        out += ",\"rule\":"
        if let rule { JSONWriter.appendQuoted(rule, to: &out) } else { out += "null" }
        out += ",\"reason\":"
        JSONWriter.appendQuoted(reason, to: &out)
        out += ",\"ring\":"
        out += String(ring)
        if let retryAfter {
            out += ",\"retry_after\":"
            out += JSONWriter.seconds(retryAfter)
        }
        out += "}"
    }
}

extension Request {
    /// The request as compact JSON text that `Request(json:)` reads back to an equal request.
    ///
    /// Fields are written in the order of SPEC §1; absent optional fields (nil, `false`, empty
    /// lists and objects) are left out.
    public var jsonText: String {
        var out = "{\"agent\":{\"id\":"
        out += JSONWriter.quote(agent.id)
        if let trust = agent.trust { out += ",\"trust\":" + JSONText.number(trust) }
        if let ring = agent.ring { out += ",\"ring\":" + String(ring) }
        if agent.consensus { out += ",\"consensus\":true" }
        if !agent.roles.isEmpty {
            out += ",\"roles\":["
            out += agent.roles.map(JSONWriter.quote).joined(separator: ",")
            out += "]"
        }
        if !agent.attrs.isEmpty {
            out += ",\"attrs\":"
            JSONWriter.write(agent.attrs, into: &out)
        }
        out += "},\"action\":"
        out += JSONWriter.quote(action)
        if let resource { out += ",\"resource\":" + JSONWriter.quote(resource) }
        if !params.isEmpty {
            out += ",\"params\":"
            JSONWriter.write(params, into: &out)
        }
        if !context.isEmpty {
            out += ",\"context\":"
            JSONWriter.write(context, into: &out)
        }
        out += "}"
        return out
    }
}
