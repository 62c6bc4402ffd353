import Ringfence
@testable import RingfenceMatch
import Testing
import RingfenceTestSupport

/// The regex work budget (SPEC §3.2): per decision, counted across every start position, shared by
/// all of a decision's regexes, deterministic, and invisible to ordinary patterns.
@Suite struct RegexBudgetTests {
    /// The subject of the issue: `("a" * 18 + "!") * 1000`, 19 KB.
    static let verbatimSubject = String(repeating: String(repeating: "a", count: 18) + "!", count: 1000)

    /// A policy with one rule of `effect` on `tool.call` whose `when` is `params.text =~ pattern`,
    /// then `rest` (more rules).
    static func policy(_ effect: String, _ pattern: String, rules count: Int = 1, rest: String = "") -> String {
        var text = "ringfence: 1\nkind: policy\nname: budget\nrules:\n"
        for i in 0 ..< count {
            text += """
              - id: \(effect)-\(i)
                effect: \(effect)
                action: tool.call
                when: 'params.text =~ "\(pattern.replacingOccurrences(of: "\\", with: "\\\\"))"'

            """
        }
        return text + rest
    }

    /// An allow rule for every `tool.call`.
    static let allowRest = """
          - id: allow-rest
            effect: allow
            action: tool.call

        """

    /// A `tool.call` request with `params.text`.
    static func request(_ text: String) -> Request {
        Request(agent: Agent(id: "a", trust: 0.9), action: "tool.call", params: ["text": .string(text)])
    }

    /// The units one search of `pattern` on `subject` spends from a full budget, and its outcome.
    static func cost(_ pattern: String, _ subject: String) throws -> (units: Int, outcome: RegexOutcome) {
        let regex = try Regex.compile(pattern)
        var budget = RegexBudget()
        let outcome = regex.search(subject, budget: &budget)
        return (RegexBudget.unitsPerDecision - budget.remaining, outcome)
    }

    @Test func theIssuesCaseIsABudgetErrorForADenyRule() throws {
        let engine = try Engine(source: Self.policy("deny", "(a+)+$", rest: Self.allowRest))
        let decision = engine.evaluate(Self.request(Self.verbatimSubject))
        #expect(!decision.allowed)
        #expect(decision.code == .error)
        #expect(decision.fault == .regexBudget)
        #expect(decision.rule == "deny-0")
        #expect(decision.reason.contains("regex matching went over its work budget"), "\(decision.reason)")
        // A subject it does not trouble is decided as usual.
        #expect(engine.evaluate(Self.request("aaaa!")).code == .allow)
        #expect(engine.evaluate(Self.request("aaaa")).code == .denyRule)
    }

    @Test func theIssuesCaseMakesAnAllowRuleNotApply() throws {
        let engine = try Engine(source: Self.policy("allow", "(a+)+$"))
        let decision = engine.evaluate(Self.request(Self.verbatimSubject))
        #expect(!decision.allowed)
        #expect(decision.code == .default)
        #expect(decision.fault == nil)
        #expect(engine.evaluate(Self.request("aaaa")).code == .allow)
        // A later allow rule still decides.
        let withFallback = try Engine(source: Self.policy("allow", "(a+)+$", rest: Self.allowRest))
        let fallback = withFallback.evaluate(Self.request(Self.verbatimSubject))
        #expect(fallback.allowed && fallback.rule == "allow-rest")
    }

    @Test func theBudgetCountsEveryStartPosition() throws {
        // No start position exceeds PCRE2's per-position limit, so PCRE2 alone would run on.
        let regex = try Regex.compile("(a+)+$")
        let short = String(repeating: "a", count: 12) + "!"
        #expect(regex.searchWithPCRE2(short) == .noMatch)
        #expect(regex.search(short) == .noMatch)
        var budget = RegexBudget()
        #expect(regex.search(Self.verbatimSubject, budget: &budget) == .overBudget)
        #expect(budget.isExhausted)
    }

    @Test func theBudgetIsSharedByTheRegexesOfOneDecision() throws {
        // A subject on which one search spends between a sixth and a third of the budget, long
        // enough that the search goes straight to the exact tier (so every search costs the same).
        let pattern = "(a|aa)+$"
        let head = String(repeating: "x", count: 2000)
        var length = 8
        var spent = try Self.cost(pattern, head + String(repeating: "a", count: length) + "!")
        while spent.units * 6 < RegexBudget.unitsPerDecision {
            length += 1
            spent = try Self.cost(pattern, head + String(repeating: "a", count: length) + "!")
        }
        #expect(spent.outcome == .noMatch)
        #expect(spent.units * 3 <= RegexBudget.unitsPerDecision, "one search spent \(spent.units)")
        let subject = head + String(repeating: "a", count: length) + "!"
        let affordable = RegexBudget.unitsPerDecision / spent.units
        // As many deny rules as the budget pays for: none applies, the allow rule allows.
        let fits = try Engine(source: Self.policy("deny", pattern, rules: affordable, rest: Self.allowRest))
        #expect(fits.evaluate(Self.request(subject)).code == .allow)
        // One more: the last deny rule finds the budget spent.
        let over = try Engine(source: Self.policy("deny", pattern, rules: affordable + 1, rest: Self.allowRest))
        let decision = over.evaluate(Self.request(subject))
        #expect(decision.code == .error && decision.fault == .regexBudget)
        #expect(decision.rule == "deny-\(affordable)")
        // The same with the Regex API: each search spends the same units from one budget.
        let regex = try Regex.compile(pattern)
        var budget = RegexBudget()
        for round in 1 ... affordable {
            #expect(regex.search(subject, budget: &budget) == .noMatch)
            #expect(budget.remaining == RegexBudget.unitsPerDecision - round * spent.units)
        }
        #expect(regex.search(subject, budget: &budget) == .overBudget)
        #expect(budget.remaining == 0)
    }

    @Test func aSubjectOverTheCapErrors() throws {
        let engine = try Engine(source: Self.policy("deny", "forbidden", rest: Self.allowRest))
        let limit = RegexBudget.maxSubjectBytes
        #expect(engine.evaluate(Self.request(String(repeating: "x", count: limit))).code == .allow)
        #expect(engine.evaluate(Self.request(String(repeating: "x", count: limit - 9) + "forbidden")).code == .denyRule)
        // One byte more is an error, even without the literal (never a look at a prefix).
        let over = engine.evaluate(Self.request(String(repeating: "x", count: limit + 1)))
        #expect(over.code == .error && over.fault == .regexBudget)
        let regex = try Regex.compile("forbidden")
        var budget = RegexBudget()
        #expect(regex.search("forbidden" + String(repeating: "x", count: limit), budget: &budget) == .overBudget)
    }

    @Test func theSameDecisionTwiceIsTheSame() throws {
        let source = Self.policy("deny", "(\\w+\\s?)+$", rules: 3, rest: Self.allowRest)
        let engine = try Engine(source: source)
        let other = try Engine(source: source)
        for text in [Self.verbatimSubject, String(repeating: "word ", count: 40) + "!", "plain words", ""] {
            let prepared = engine.prepare(Self.request(text))
            let first = engine.evaluate(prepared)
            #expect(engine.evaluate(prepared) == first)
            #expect(other.evaluate(Self.request(text)) == first)
        }
        // The units spent are a function of pattern and subject alone.
        let subject = String(repeating: "word ", count: 6) + "!"
        let once = try Self.cost("(\\w+\\s?)+$", subject)
        let again = try Self.cost("(\\w+\\s?)+$", subject)
        #expect(once.units == again.units && once.outcome == again.outcome)
    }

    @Test func aSubjectWithoutThePrefilterLiteralCostsOnlyItsScan() throws {
        let regex = try Regex.compile("(?i)\\bforbidden_(a+)+$")
        var budget = RegexBudget(units: 2501)
        #expect(regex.search(String(repeating: "a", count: 5000), budget: &budget) == .noMatch)
        #expect(budget.remaining == 0)
        #expect(regex.search("forbidden_aaaa", budget: &budget) == .overBudget)
        var full = RegexBudget()
        #expect(regex.search(String(repeating: "a", count: 5000) + "!", budget: &full) == .noMatch)
        #expect(full.remaining == RegexBudget.unitsPerDecision - 2501)
        // Many prefiltered rules on a long near-miss subject exhaust the budget instead of taking long.
        var shared = RegexBudget()
        let long = String(repeating: "forbidden", count: 7000)
        let outcomes = (0..<40).map { _ in regex.search(long, budget: &shared) }
        #expect(outcomes.contains(.overBudget))
    }

    @Test(arguments: [
        ("(a+)+$", String(repeating: "a", count: 40) + "!"),
        ("(a*)*b", String(repeating: "a", count: 40) + "cb"),
        ("(a|aa)+$", String(repeating: "a", count: 60) + "!"),
        ("(\\w+\\s?)+$", String(repeating: "word ", count: 30) + "!"),
        (".*x.*y.*z\\d", String(repeating: "xy", count: 2000) + "z!"),
        ("(?:x.*c)+[de]", String(repeating: "x", count: 20000) + "c"),
        ("x(?=[ax]*c)[de]", String(repeating: "x", count: 20000) + "c"),
        ("(.+)\\1\\1x", String(repeating: "ab", count: 5000) + "cx"),
        (String(repeating: "(a|aa)", count: 14) + "b", String(repeating: "a", count: 100) + "cb"),
        ("(?:a?){25}a{25}", String(repeating: "a", count: 25)),
    ])
    func catastrophicSearchesStopAtTheBudget(_ pattern: String, _ subject: String) throws {
        let regex = try Regex.compile(pattern)
        var budget = RegexBudget()
        #expect(regex.search(subject, budget: &budget) == .overBudget)
        #expect(budget.isExhausted)
        // The thread matches normally afterwards.
        #expect(regex.search("zzz") == regex.searchWithPCRE2("zzz"))
    }

    @Test func ordinaryPatternsAnswerAsPCRE2Does() throws {
        var random = SeededGenerator(seed: 0x62_75_64_67_65_74)
        var compared = 0
        var exactCompared = 0
        var fastAnswered = 0
        var failures: [String] = []
        for _ in 0 ..< 2_500 {
            let pattern = BudgetPatterns.pattern(&random)
            guard let regex = try? Regex.compile(pattern) else { continue }
            // A pattern `check` warns about may go over the budget where PCRE2's per-position
            // limit lets it finish; every other pattern must answer as PCRE2 does.
            let flagged = RegexLint.nestedUnboundedQuantifier(pattern) != nil
            for _ in 0 ..< 4 {
                let subject = BudgetPatterns.subject(&random)
                let reference = regex.searchWithPCRE2(subject)
                guard reference == .match || reference == .noMatch else { continue }
                compared += 1
                var budget = RegexBudget()
                let budgeted = regex.search(subject, budget: &budget)
                if budgeted == .overBudget, flagged { continue }
                if budgeted != reference, failures.count < 10 {
                    failures.append("search \(pattern) on \(subject.debugDescription): \(budgeted), pcre2 \(reference)")
                }
                var exactBudget = RegexBudget()
                let exact = regex.searchExactly(subject, budget: &exactBudget)
                if exact != .overBudget || !flagged {
                    exactCompared += 1
                    if exact != reference, failures.count < 10 {
                        failures.append("exact \(pattern) on \(subject.debugDescription): \(exact), pcre2 \(reference)")
                    }
                }
                var fastBudget = RegexBudget()
                if let fast = regex.searchFast(subject, budget: &fastBudget) {
                    fastAnswered += 1
                    if fast != reference, failures.count < 10 {
                        failures.append("fast \(pattern) on \(subject.debugDescription): \(fast), pcre2 \(reference)")
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(compared >= 6_000, "compared \(compared)")
        #expect(exactCompared * 100 >= compared * 99, "exact tier answered \(exactCompared) of \(compared)")
        #expect(fastAnswered * 2 >= compared, "fast tier answered \(fastAnswered) of \(compared)")
    }

    @Test func ordinaryPatternsStayOnTheFastTier() throws {
        let cases = [
            ("(?i)\\b(DROP|TRUNCATE)\\b", "SELECT region, sum(total) FROM sales WHERE year = 2026 GROUP BY region"),
            ("(?i)DROP|TRUNCATE|ALTER|GRANT", "SELECT * FROM users WHERE id = 42 LIMIT 1"),
            ("^/workspace(?:/[^/]*)*/[^/]*\\.csv\\z", "/workspace/data/sales.csv"),
            ("\\d{3}-\\d{4}", "call me at 555-1234 tomorrow"),
            ("(?i)rm\\s+-rf\\s+/", "ls -la /tmp && rm -rf /"),
        ]
        for (pattern, subject) in cases {
            let regex = try Regex.compile(pattern)
            var budget = RegexBudget()
            let fast = regex.searchFast(subject, budget: &budget)
            #expect(fast != nil && fast == regex.searchWithPCRE2(subject), "\(pattern)")
            // Fifty such searches fit in one decision.
            #expect((RegexBudget.unitsPerDecision - budget.remaining) * 50 <= RegexBudget.unitsPerDecision, "\(pattern): \(budget.remaining)")
        }
    }

    @Test func anExhaustedBudgetFailsEveryLaterSearchThatRunsPCRE2() throws {
        let regex = try Regex.compile("b+c")
        var budget = RegexBudget(units: 10)
        #expect(regex.search("abbbc", budget: &budget) == .overBudget)
        #expect(budget.remaining == 0)
        #expect(regex.search("abbbc", budget: &budget) == .overBudget)
        var ample = RegexBudget()
        #expect(regex.search("abbbc", budget: &ample) == .match)
        #expect(ample.remaining < RegexBudget.unitsPerDecision)
    }

    @Test(arguments: [
        ("(a+)+", 0 ..< 5),
        ("(a*)*", 0 ..< 5),
        ("(.*)*", 0 ..< 5),
        ("(a|aa)+", 0 ..< 7),
        ("x(\\w+\\s?)+$", 1 ..< 10),
        ("(?i)(x+)+y", 4 ..< 9),
        ("é(?:a+b)*", 1 ..< 9),
        ("((a+))+", 0 ..< 7),
        ("(a{2,})+", 0 ..< 8),
        ("(\\w|\\d){3,}", 0 ..< 11),
        ("(?:(?>a)+)+", 0 ..< 11),
    ])
    func nestedUnboundedQuantifiersAreFound(_ pattern: String, _ span: Range<Int>) {
        #expect(RegexLint.nestedUnboundedQuantifier(pattern) == span)
    }

    @Test(arguments: [
        "(a+)?", "(ab)+", "a+b+", "(GET|HEAD)+", "[(a+)+]", "\\(a+\\)+", "(?:a{2,5})+", "(a|b)*",
        "\\Q(a+)+\\E", "(?#(a+)+)x", "(?i)abc", "^/workspace(?:/[^/]*)", "(*UCP)\\w+", "(a+){3}", "",
        // Possessive repeats and atomic groups give nothing back, so they cannot backtrack.
        "(?:a+)++", "(a++)+", "(?>a+)+", "(?>\\s+|--[^\\n]*+(?:\\n|$))*", "(?:\\.[A-Za-z0-9-]++)*",
    ])
    func safePatternsAreNotFlagged(_ pattern: String) {
        #expect(RegexLint.nestedUnboundedQuantifier(pattern) == nil)
    }
}

/// Ordinary patterns and subjects from a small grammar: literals, classes, groups of every kind,
/// alternation, bounded and unbounded quantifiers (greedy, lazy, possessive), anchors and
/// backreferences, over an alphabet small enough that matches are common.
enum BudgetPatterns {
    /// Pattern atoms.
    static let atoms = ["a", "b", "c", "x", "-", " ", "\\.", "[ab]", "[^a]", "[a-c]", ".", "\\d", "\\w", "\\s", "\\b", "^", "$", "é"]
    /// Quantifier suffixes.
    static let quantifiers = ["*", "+", "?", "{2}", "{1,3}", "{2,}", "*?", "+?", "*+", "++", "{0,2}?"]
    /// Group openings.
    static let openings = ["(", "(?:", "(?i:", "(?>", "(?=", "(?!", "(?<=a)(?:"]
    /// Subject characters.
    static let alphabet = ["a", "b", "c", "x", "-", " ", ".", "1", "é", "A", "\n"]

    /// A random pattern.
    static func pattern(_ random: inout SeededGenerator) -> String {
        var text = random.below(5) == 0 ? "(?i)" : ""
        text += sequence(&random, depth: 0)
        if random.below(10) == 0 { text += "|" + sequence(&random, depth: 0) }
        if random.below(12) == 0, text.contains("(") { text += "\\1" }
        return text
    }

    /// A random sequence of nodes.
    static func sequence(_ random: inout SeededGenerator, depth: Int) -> String {
        (0 ..< 1 + random.below(depth == 0 ? 6 : 3)).map { _ in node(&random, depth: depth) }.joined()
    }

    /// A random node, sometimes quantified.
    static func node(_ random: inout SeededGenerator, depth: Int) -> String {
        var text: String
        if depth < 2, random.below(5) == 0 {
            text = random.pick(openings) + sequence(&random, depth: depth + 1)
            if random.below(3) == 0 { text += "|" + sequence(&random, depth: depth + 1) }
            text += ")"
        } else {
            text = random.pick(atoms)
        }
        if random.below(3) == 0 { text += random.pick(quantifiers) }
        return text
    }

    /// A random subject of 0 to 40 characters.
    static func subject(_ random: inout SeededGenerator) -> String {
        (0 ..< random.below(41)).map { _ in random.pick(alphabet) }.joined()
    }
}
