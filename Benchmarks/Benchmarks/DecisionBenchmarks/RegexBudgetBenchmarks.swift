import Benchmark
import Ringfence

// The regex work budget against a catastrophic corpus: nested quantifiers, alternation explosions,
// polynomial `.*x.*y` shapes, uncounted scans and backreferences, each on subjects from 16 bytes to
// 1 MiB. Every iteration is one whole decision (a deny rule with the shape's `=~`, an allow rule
// behind it) on the next subject of the shape, so a benchmark's p50 is its median decision and its
// p100 its worst. The names start with `regex budget:` so the zero-allocation gate's filter
// `(decide|resource test).*` leaves them out (they allocate nothing all the same).

/// One shape of the corpus: a pattern and the text a subject repeats, with the tail that keeps it
/// from matching (or, for a few, lets it match late).
struct CatastrophicShape {
    /// What the shape stands for (the benchmark's name).
    var name: String
    /// The PCRE2 pattern.
    var pattern: String
    /// The text repeated to fill a subject.
    var unit: String
    /// The text that ends every subject.
    var tail: String
    /// A fixed text that starts every subject.
    var head = ""

    /// A subject of about `length` bytes: the head, the unit repeated, the tail.
    func subject(length: Int) -> String {
        let fill = max(0, length - head.utf8.count - tail.utf8.count)
        let repeats = max(1, fill / max(1, unit.utf8.count))
        return head + String(repeating: unit, count: repeats) + tail
    }
}

/// The corpus: at least 20 shapes that backtrack catastrophically or scan polynomially.
let catastrophicShapes: [CatastrophicShape] = [
    CatastrophicShape(name: "nested plus (a+)+$", pattern: "(a+)+$", unit: String(repeating: "a", count: 18) + "!", tail: "!"),
    CatastrophicShape(name: "nested star (a*)*b", pattern: "(a*)*b", unit: "a", tail: "cb"),
    CatastrophicShape(name: "overlapping alternation (a|aa)+$", pattern: "(a|aa)+$", unit: "a", tail: "!"),
    CatastrophicShape(name: "identical alternation (a|a)*b", pattern: "(a|a)*b", unit: "a", tail: "cb"),
    CatastrophicShape(name: "words (\\w+\\s?)+$", pattern: "(\\w+\\s?)+$", unit: "word ", tail: "!"),
    CatastrophicShape(name: "anchored words ^(\\w+\\s?)*$", pattern: "^(\\w+\\s?)*$", unit: "word ", tail: "!"),
    CatastrophicShape(name: "counted dot (.*a){12}", pattern: "(.*a){12}", unit: "x", tail: "", head: String(repeating: "a", count: 11)),
    CatastrophicShape(name: "pairs (x+x+)+y", pattern: "(x+x+)+y", unit: "x", tail: "!y"),
    CatastrophicShape(name: "polynomial .*x.*y.*z\\d", pattern: ".*x.*y.*z\\d", unit: "xy", tail: "z!"),
    CatastrophicShape(name: "polynomial a.*b.*c.*d[0-9]", pattern: "a.*b.*c.*d[0-9]", unit: "abc", tail: "d!"),
    CatastrophicShape(name: "trailing space \\s+$", pattern: "\\s+$", unit: " ", tail: "!"),
    CatastrophicShape(name: "repeated group scan (?:x.*c)+[de]", pattern: "(?:x.*c)+[de]", unit: "x", tail: "c"),
    CatastrophicShape(name: "lookahead scan x(?=[ax]*c)[de]", pattern: "x(?=[ax]*c)[de]", unit: "x", tail: "c"),
    CatastrophicShape(name: "possessive scan (?:x[ax]*+[cd])+e", pattern: "(?:x[ax]*+[cd])+e", unit: "x", tail: "c"),
    CatastrophicShape(name: "class scan [ab]*[cd]", pattern: "[ab]*[cd]", unit: "a", tail: "e"),
    CatastrophicShape(name: "backreference (a+)+\\1c", pattern: "(a+)+\\1c", unit: "a", tail: "bc"),
    CatastrophicShape(name: "backreference (.+)\\1\\1x", pattern: "(.+)\\1\\1x", unit: "ab", tail: "cx"),
    CatastrophicShape(name: "alternation explosion (a|aa)×14 b", pattern: String(repeating: "(a|aa)", count: 14) + "b", unit: "a", tail: "cb"),
    CatastrophicShape(name: "optional chain (a?){25}a{25}", pattern: "(?:a?){25}a{25}", unit: "a", tail: "!"),
    CatastrophicShape(name: "digits ^(\\d+)*$", pattern: "^(\\d+)*$", unit: "1", tail: "x"),
    CatastrophicShape(name: "overlapping classes (\\w|\\d)+!", pattern: "(?i)(?:\\w|\\d|[a-z0-9])+!", unit: "a1", tail: "?"),
    CatastrophicShape(name: "email ReDoS", pattern: "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
                      unit: "a", tail: "!"),
    CatastrophicShape(name: "class ReDoS ^(([a-z])+.)+[A-Z]([a-z])+$", pattern: "^(([a-z])+.)+[A-Z]([a-z])+$", unit: "a", tail: "!"),
    CatastrophicShape(name: "nested JSON-like braces", pattern: "\\{(?:[^{}]|\\{(?:[^{}]|\\{[^{}]*\\})*\\})*\\}x", unit: "{a{b{c}d}e", tail: "}"),
]

/// Which subject of a shape the next iteration decides on (the harness calls a benchmark's body
/// once per iteration, one thread at a time, so the position lives outside the body).
final class SubjectCursor: @unchecked Sendable {
    /// How many subjects there are.
    let count: Int
    /// The next subject's index.
    private var next = 0

    /// Creates a cursor over `count` subjects.
    init(count: Int) {
        self.count = count
    }

    /// The current index, moving on to the next (after the last, the first).
    func advance() -> Int {
        let current = next
        next = current + 1 == count ? 0 : current + 1
        return current
    }
}

/// The subject lengths every shape is decided on: short ones stay on the fast tier, 64 KiB is the
/// longest `=~` looks at, 1 MiB is past it.
let catastrophicLengths = [16, 64, 256, 1024, 4096, 16384, 65536, 1 << 20]

/// A policy denying when `params.text` matches `pattern`, allowing everything else.
func catastrophicPolicy(_ pattern: String) -> String {
    // The expression literal takes `\\` and `\"`; the YAML single-quoted scalar doubles `'`.
    let literal = pattern.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    let when = "params.text =~ \"\(literal)\"".replacingOccurrences(of: "'", with: "''")
    return """
    ringfence: 1
    kind: policy
    name: catastrophic
    rules:
      - id: deny-shape
        effect: deny
        action: tool.call
        when: '\(when)'
      - id: allow-rest
        effect: allow
        action: tool.call

    """
}

/// Registers one benchmark per catastrophic shape, plus the ordinary patterns the budget must not slow.
func regexBudgetBenchmarks() {
    let corpus = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds, warmupIterations: 16,
                                         scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 4000, thresholds: [:])
    for shape in catastrophicShapes {
        let e = engine(catastrophicPolicy(shape.pattern))
        let prepared = catastrophicLengths.map { length in
            e.prepare(Request(agent: Agent(id: "a", trust: 0.9), action: "tool.call", params: ["text": .string(shape.subject(length: length))]))
        }
        let cursor = SubjectCursor(count: prepared.count)
        Benchmark("regex budget: \(shape.name)", configuration: corpus) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(e.evaluate(prepared[cursor.advance()]))
            }
        }
    }

    // The case: one decision, 19 KB.
    let verbatim = engine(catastrophicPolicy("(a+)+$"))
    let verbatimRequest = verbatim.prepare(Request(agent: Agent(id: "a", trust: 0.9), action: "tool.call",
                                                   params: ["text": .string(String(repeating: String(repeating: "a", count: 18) + "!", count: 1000))]))
    precondition(verbatim.evaluate(verbatimRequest).fault == .regexBudget, "(a+)+$ must go over the budget")
    Benchmark("regex budget: (a+)+$ against (a*18+!)*1000", configuration: corpus) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(verbatim.evaluate(verbatimRequest))
        }
    }

    // Ordinary patterns: one deny rule each on a 40-byte query, then every pattern of a typical policy.
    let ordinary = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], timeUnits: .nanoseconds, warmupIterations: 1000,
                                           scalingFactor: .kilo, maxDuration: .seconds(1), maxIterations: .kilo(100), thresholds: [:])
    let query = "SELECT * FROM users WHERE id = 42 LIMIT 1"
    for pattern in ["(?i)DROP|TRUNCATE|ALTER|GRANT", "(?i)\\b(DROP|TRUNCATE)\\b", "(?i)select.*from.*passwords", "(?i)union\\s+select"] {
        let e = engine(catastrophicPolicy(pattern))
        let prepared = e.prepare(Request(agent: Agent(id: "a", trust: 0.9), action: "tool.call", params: ["text": .string(query)]))
        precondition(e.evaluate(prepared).allowed, "\(pattern) must not match \(query)")
        Benchmark("regex budget: ordinary \(pattern) on a 40-byte query", configuration: ordinary) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(e.evaluate(prepared))
            }
        }
    }
}
