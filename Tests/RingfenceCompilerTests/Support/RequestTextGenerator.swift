import RingfenceTestSupport

/// Seeded request texts for differential tests of request decoding: mostly valid requests over
/// the paths `PreparedRequestDecodingTests.wide` reads, written with varied whitespace, member
/// order, escapes and Unicode, and now and then broken the ways requests break — wrong types,
/// values out of range, unknown and duplicate fields, bad `context.time`, bad JSON.
struct RequestTextGenerator {
    /// The seeded source of choices.
    private var random: SeededGenerator
    /// False to keep each request on one line (for JSON Lines).
    private let newlines: Bool

    /// A generator seeded with `seed`.
    init(seed: UInt64, newlines: Bool = true) {
        random = SeededGenerator(seed: seed)
        self.newlines = newlines
    }

    /// One request text.
    mutating func request() -> String {
        if random.chance(1, in: 100) { return value(depth: 1) }
        var members: [(String, String)] = []
        if !random.chance(1, in: 60) { members.append(("agent", agent())) }
        if !random.chance(1, in: 60) { members.append(("action", action())) }
        if random.chance(3, in: 4) { members.append(("resource", resource())) }
        if random.chance(2, in: 3) { members.append(("params", params())) }
        if random.chance(1, in: 2) { members.append(("context", context())) }
        if random.chance(1, in: 50) { members.append((pick(["resouce", "zzz", "Agent", "agents"]), value(depth: 2))) }
        if random.chance(1, in: 60), let member = members.first { members.append((member.0, value(depth: 2))) }
        if random.chance(1, in: 2) { members.shuffle(using: &random) }
        var text = random.chance(1, in: 80) ? "\u{FEFF}" : ""
        text += space() + object(members) + space()
        return text
    }

    // MARK: The request's members

    /// The `agent` member.
    private mutating func agent() -> String {
        if random.chance(1, in: 50) { return pick([#""x""#, "null", "[]", "3"]) }
        var members: [(String, String)] = []
        if !random.chance(1, in: 40) {
            members.append(("id", random.chance(1, in: 40) ? pick([#""""#, "7", "null"]) : string(from: [
                "agent-1", "did:mesh:agent-1", "Root", "root", "a", "\\u00e9tienne", "agent \\\"q\\\"", "𝒶gent",
            ])))
        }
        if random.chance(2, in: 3) {
            members.append(("trust", random.chance(1, in: 30) ? pick(["1.5", "-0.25", #""high""#, "1e400"]) :
                pick(["0", "1", "0.5", "0.85", "0.99", "0.6", "0.61", "1e-1", "null", "0.950"])))
        }
        if random.chance(1, in: 4) {
            members.append(("ring", random.chance(1, in: 10) ? pick(["4", "-1", "1.5", #""2""#]) : pick(["0", "1", "2", "3", "2.0", "null"])))
        }
        if random.chance(1, in: 3) {
            members.append(("consensus", random.chance(1, in: 20) ? pick([#""yes""#, "1"]) : pick(["true", "false", "null"])))
        }
        if random.chance(1, in: 3) {
            members.append(("roles", random.chance(1, in: 20) ? pick([#""a""#, #"["a",3]"#, "{}"]) :
                list((0..<random.below(4)).map { _ in string(from: ["analyst", "admin", "ops", "Ünïcödé"]) })))
        }
        if random.chance(1, in: 3) { members.append(("attrs", random.chance(1, in: 30) ? "[]" : attrs())) }
        if random.chance(1, in: 60) { members.append((pick(["trst", "name", "rolez"]), value(depth: 3))) }
        if random.chance(1, in: 2) { members.shuffle(using: &random) }
        return object(members)
    }

    /// `agent.attrs`.
    private mutating func attrs() -> String {
        var members: [(String, String)] = []
        if random.chance(2, in: 3) { members.append(("team", string(from: ["data", "ops", "DATA"]))) }
        if random.chance(1, in: 2) {
            members.append(("org", random.chance(4, in: 5) ? object([("unit", string(from: ["r&d", "ops", "sales"]))]) : value(depth: 3)))
        }
        if random.chance(1, in: 3) { members.append(("name", random.chance(4, in: 5) ? string(from: ["X", "Émile", "x"]) : value(depth: 3))) }
        if random.chance(1, in: 4) { members.append((pick(["extra", "level", "team2"]), value(depth: 3))) }
        return object(members)
    }

    /// The `action` member.
    private mutating func action() -> String {
        if random.chance(1, in: 40) { return pick([#""""#, "5", "null", "[]"]) }
        return string(from: ["fs.read", "fs.write", "database.query", "http.get", "http.delete", "tool.call", "clock.read", "db.x",
                             "FS.Read", "fs\\u002eread", "fs.drop"])
    }

    /// The `resource` member.
    private mutating func resource() -> String {
        if random.chance(1, in: 40) { return pick(["5", "{}", "true"]) }
        if random.chance(1, in: 10) { return "null" }
        return string(from: [
            "/workspace/a.csv", "/workspace/../etc/passwd", "/workspace/./data//x.csv/", "https://Example.COM:443/a/./b?debug=1#admin",
            "http://evil.example/?DEBUG=1", "https://evil.example/", "../../x", "docs/a", "", "/a//../b", "file:///etc/passwd",
            "/tmp/x%2e%2e/y", "sales_db", "https://user@host/x", "/workspace/\\u00e9.txt", "/workspace/ä/ö", "HTTPS://EVIL.EXAMPLE",
        ])
    }

    /// The `params` member.
    private mutating func params() -> String {
        if random.chance(1, in: 40) { return pick(["[]", #""p""#, "7"]) }
        if random.chance(1, in: 15) { return "null" }
        let keys = ["query", "method", "content-type", "é", "K", "\u{212A}", "name", "nested", "list", "flag", "path", "tags", "n", "other"]
        var members: [(String, String)] = []
        for key in keys where random.chance(1, in: 3) {
            let text: String
            switch key {
            case "query": text = string(from: ["SELECT 1", "DROP TABLE x", "select * from t; drop table t", "Robert'); DROP TABLE students;--"])
            case "method": text = random.chance(1, in: 10) ? value(depth: 3) : string(from: ["GET", "delete", "DeLeTe", "POST"])
            case "content-type": text = string(from: ["application/json", "application/x-evil", "Application/X-Evil"])
            case "nested":
                text = random.chance(3, in: 4) ? object([("deep", object([("value", pick(["1", "4", "3.5", #""9""#, "null"]))]))])
                    : value(depth: 2)
            case "list": text = random.chance(4, in: 5) ? list((0..<random.below(4)).map { _ in value(depth: 4) }) : value(depth: 2)
            case "tags": text = list((0..<random.below(3)).map { _ in string(from: ["pii", "public", "PII"]) })
            case "path": text = string(from: ["/tmp/a/b.log", "/etc/x", "/tmp"])
            default: text = value(depth: 2)
            }
            members.append((key, text))
        }
        if random.chance(1, in: 50), let member = members.first { members.append((member.0, value(depth: 3))) }
        if random.chance(1, in: 2) { members.shuffle(using: &random) }
        return object(members)
    }

    /// The `context` member.
    private mutating func context() -> String {
        if random.chance(1, in: 40) { return pick(["[]", #""now""#]) }
        var members: [(String, String)] = []
        if random.chance(1, in: 2) { members.append(("env", string(from: ["prod", "dev"]))) }
        if random.chance(1, in: 2) { members.append(("region", string(from: ["eu", "us", "apac"]))) }
        if random.chance(1, in: 3) { members.append(("session", random.chance(5, in: 6) ? string(from: ["s1", "ss-1", "BAD", "s\\u00e9"]) : value(depth: 3))) }
        if random.chance(1, in: 3) {
            members.append(("time", random.chance(1, in: 8) ? pick([#""yesterday""#, "5", #""2026-13-01T00:00:00Z""#, "true"]) :
                pick([#""2026-11-21T10:00:00Z""#, #""2026-11-21T10:00:00.5+02:00""#, #""2026-11-21t10:00:00z""#, "null"])))
        }
        if random.chance(1, in: 3) { members.append(("deep", object([("a", random.chance(3, in: 4) ? object([("b", value(depth: 4))]) : value(depth: 3))]))) }
        if random.chance(1, in: 4) { members.append((pick(["trace", "time2", "x"]), value(depth: 2))) }
        return object(members)
    }

    // MARK: JSON

    /// A random value, nesting at most until `depth` reaches 5.
    private mutating func value(depth: Int) -> String {
        switch random.below(depth >= 5 ? 4 : 6) {
        case 0: return pick(["null", "true", "false"])
        case 1: return number()
        case 2, 3: return string(from: ["x", "kelvin", "Émile", "émile", "X", "pii", "a\\nb", "\\ud83d\\ude00", "tab\\t", "😀", "", "2"])
        case 4: return list((0..<random.below(4)).map { _ in value(depth: depth + 1) })
        default:
            let keys = ["a", "b", "deep", "value", "x", "é", "\\u0061", "list"]
            var members: [(String, String)] = []
            for _ in 0..<random.below(4) { members.append((pick(keys), value(depth: depth + 1))) }
            return object(members)
        }
    }

    /// A number as JSON writes it, now and then malformed.
    private mutating func number() -> String {
        if random.chance(1, in: 60) { return pick(["01", "1.", "-", "1e", "+1", ".5", "1e400", "NaN"]) }
        return pick(["0", "-0", "1", "3", "4", "2.5", "1e3", "1E-2", "-2", "0.85", "12345678901234567890", "1.5e300", "123.456"])
    }

    /// A string literal: one of `texts` (already escaped as JSON), now and then malformed.
    private mutating func string(from texts: [String]) -> String {
        if random.chance(1, in: 120) { return pick([#""\ud800""#, #""\x""#, "\"a\u{01}b\"", #""unterminated"#, #""\u12""#]) }
        if random.chance(1, in: 20) { return "\"" + String(repeating: pick(["a", "é", "/", " "]), count: 10 + random.below(200)) + "\"" }
        return "\"" + pick(texts) + "\""
    }

    /// An object with `members` (keys unquoted), now and then with a key written with an escape
    /// or a trailing comma.
    private mutating func object(_ members: [(String, String)]) -> String {
        let parts = members.map { member -> String in
            var key = member.0
            if random.chance(1, in: 40), let first = key.unicodeScalars.first, first.isASCII {
                key = "\\u00" + String(first.value, radix: 16) + String(key.unicodeScalars.dropFirst())
            }
            return "\"" + key + "\"" + space() + ":" + space() + member.1
        }
        let trailing = random.chance(1, in: 150) ? "," : ""
        return "{" + space() + parts.joined(separator: "," + space()) + trailing + space() + "}"
    }

    /// A list of `elements`.
    private mutating func list(_ elements: [String]) -> String {
        "[" + space() + elements.joined(separator: "," + space()) + space() + "]"
    }

    /// Whitespace between tokens: mostly none.
    private mutating func space() -> String {
        guard random.chance(1, in: 6) else { return "" }
        return newlines ? pick([" ", "\t", "  ", "\n", "\r\n "]) : pick([" ", "\t", "  ", "\r "])
    }

    /// One of `choices`.
    private mutating func pick(_ choices: [String]) -> String {
        choices[random.below(choices.count)]
    }
}
