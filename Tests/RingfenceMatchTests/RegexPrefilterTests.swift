import Testing
import RingfenceMatch
import RingfenceTestSupport

@Suite struct RegexPrefilterTests {
    /// Pattern, expected literal (nil: no prefilter), expected caseless flag.
    @Test(arguments: [
        // Plain literals and the leading (?i).
        ("forbidden_table_7", "forbidden_table_7", false),
        ("(?i)\\bforbidden_table_7\\b", "forbidden_table_7", true),
        ("(?i)DROP TABLE", "drop table", true),
        ("^/etc/passwd$", "/etc/passwd", false),
        ("a]b}c", "a]b}c", false),
        ("(?i)a\\.B_c", "a.b_c", true),
        // Under (?i), k and s also match U+212A and U+017F, so they split runs.
        ("(?i)drop_tasks", "drop_ta", true),
        ("(?i)Ask_Kit", "it", true),
        ("(?i)kelvin", "elvin", true),
        ("(?i)ks", nil, false),
        ("drop_tasks", "drop_tasks", false),
        // Escapes.
        ("a\\.b\\.c", "a.b.c", false),
        ("\\n\\tab", "\n\tab", false),
        ("\\bselect\\s+\\*\\s+from\\b", "select", false),
        ("\\p{Lu}abc\\pLde", "abc", false),
        // Quantifiers.
        ("abc?d", "ab", false),
        ("ab*cd", "cd", false),
        ("ab+cd", "ab", false),
        ("abc{2}", "abc", false),
        ("xy{2,3}z", "xy", false),
        ("xy{0,3}zw", "zw", false),
        ("ab{0}cde", "cde", false),
        ("ab*?cd", "cd", false),
        ("xab??cde", "cde", false),
        ("abc++de", "abc", false),
        ("abc?+de", "ab", false),
        ("ab{1,2}?cd", "ab", false),
        // Groups and classes end runs.
        ("abc(def)ghij", "ghij", false),
        ("abc[de]fg", "abc", false),
        ("[]abc]xyz", "xyz", false),
        ("[^]x]xyz", "xyz", false),
        ("[[:alpha:]]+_id", "_id", false),
        ("(?:a|b)cd\\d+", "cd", false),
        ("(?i:abc)de", "de", false),
        ("([)]abc)def", "def", false),
        ("(a\\)bc)de", "de", false),
        ("(?(?=a)ab|cd)ef", "ef", false),
        ("ab.cd.efg", "efg", false),
        ("a(?=bcd)", nil, false),
        // Refused constructs.
        ("DROP|DELETE", nil, false),
        ("(?x)abc", nil, false),
        ("abc(?i)def", nil, false),
        ("(?i)abc(?-i)def", nil, false),
        ("((?x)a)bcd", nil, false),
        ("café_latte", nil, false),
        ("(ab)\\1cd", nil, false),
        ("\\Qa.b\\E", nil, false),
        ("ab\\Ecd", nil, false),
        ("a\\x41bc", nil, false),
        ("a\\Kbc", nil, false),
        ("a\\N{U+41}bc", nil, false),
        ("(*UCP)abc", nil, false),
        ("abc(?#comment)def", nil, false),
        ("(?C1)abc", nil, false),
        ("a{x", nil, false),
        ("abc{,2}", nil, false),
        ("abc{2", nil, false),
        ("*abc", nil, false),
        ("(?i)+ab", nil, false),
        ("ab**", nil, false),
        ("[[:a]b:]]cd", nil, false),
        ("x", nil, false),
        ("", nil, false),
    ] as [(String, String?, Bool)])
    func extracts(_ pattern: String, _ literal: String?, _ caseless: Bool) throws {
        let prefilter = RegexPrefilter.extract(from: pattern)
        if let literal {
            #expect(prefilter == RegexPrefilter(literal: Array(literal.utf8), caseless: caseless))
            _ = try Regex.compile(pattern)
        } else {
            #expect(prefilter == nil)
        }
    }

    /// Literal, caseless, subject, expected `mayMatch`.
    @Test(arguments: [
        ("abc", false, "xxabcxx", true),
        ("abc", false, "abc", true),
        ("abc", false, "abcxx", true),
        ("abc", false, "xxabc", true),
        ("abc", false, "xxABCxx", false),
        ("abc", false, "xxabxcx", false),
        ("abc", false, "ab", false),
        ("abc", false, "", false),
        ("aab", false, "aaab", true),
        ("aab", false, "aaaa", false),
        ("a.b", false, "a.b", true),
        ("a.b", false, "axb", false),
        ("aab", true, "AaAB", true),
        ("aab", true, "AaAa", false),
        ("drop table", true, "please DROP Table now", true),
        ("drop table", true, "please DROP_Table now", false),
        ("drop", true, "dRo", false),
        ("drop", true, "", false),
        ("_id", true, "user_ID", true),
        ("_id", true, "user_IX", false),
        ("ab", true, "xxAB", true),
        ("ab", true, "ABxx", true),
        ("ab", true, "aAaAaB", true),
        ("ab", true, "aAaAaC", false),
        ("_x", true, "__X", true),
        ("@a", true, "`a", false),
        ("[a", true, "{A", false),
        ("elvin", true, "\u{212A}ELVIN", true),
        // The search starts from the last byte that is neither a letter nor a space.
        ("a_b_c", false, "a_b_a_b_c", true),
        ("a_b_c", false, "a_b_xc_b_c", false),
        ("a_b_c", true, "A_B_A_B_C", true),
        ("ab_cd", false, "_ab_cd", true),
        ("ab_cd", false, "ab_c_cd", false),
        ("ab_", false, "_ab", false),
        ("ab_", false, "xab_", true),
        ("_ab", false, "ab_ab", true),
        ("_ab", false, "ab_", false),
        ("x_y", true, "__X_Y", true),
        ("x_y", true, "_x__y", false),
        ("forbidden_table_7", true, "select * from Forbidden_Table_42", false),
        ("forbidden_table_7", true, "select * from Forbidden_Table_7", true),
        ("forbidden_table_7", false, "forbidden_table_forbidden_table_7", true),
    ])
    func searches(_ literal: String, _ caseless: Bool, _ subject: String, _ expected: Bool) {
        let prefilter = RegexPrefilter(literal: Array(literal.utf8), caseless: caseless)
        #expect(prefilter.mayMatch(subject) == expected)
        let bytes = Array(subject.utf8)
        #expect(bytes.withUnsafeBufferPointer { prefilter.mayMatch($0) } == expected)
    }

    @Test func caselessLiteralsAreStoredLowerCased() {
        let prefilter = RegexPrefilter(literal: Array("DROP_Table".utf8), caseless: true)
        #expect(prefilter.literal == Array("drop_table".utf8))
        #expect(RegexPrefilter(literal: Array("DROP".utf8), caseless: false).literal == Array("DROP".utf8))
        #expect(RegexPrefilter(literal: [], caseless: false).mayMatch(""))
    }

    @Test func nonASCIICaseFoldingNeverHidesAMatch() throws {
        for (pattern, subject) in [("(?i)drop_tasks", "DROP_TAſ\u{212A}S"), ("(?i)kelvin", "\u{212A}ELVIN"),
                                   ("(?i)\\bpass_key\\b", "PAſſ_\u{212A}EY")] {
            let regex = try Regex.compile(pattern)
            #expect(regex.searchWithPCRE2(subject) == .match)
            let prefilter = try #require(RegexPrefilter.extract(from: pattern))
            #expect(prefilter.mayMatch(subject), "\(pattern) on \(subject)")
        }
    }

    /// Random patterns from a small grammar, each searched in subjects sampled from the pattern,
    /// mutated samples, near-variants of the literal and random strings: whenever the prefilter
    /// says "cannot match", PCRE2 must agree.
    @Test func prefilterNeverRejectsAMatch() {
        var random = SeededGenerator(seed: 0x52_69_6E_67_66_65_6E_63)
        var compiled = 0
        var prefiltered = 0
        var rejected = 0
        var matchedWithPrefilter = 0
        var failures: [String] = []
        for _ in 0 ..< 6_000 {
            let pattern = PatternGenerator.pattern(&random)
            guard let regex = try? Regex.compile(pattern.text) else { continue }
            compiled += 1
            guard let prefilter = RegexPrefilter.extract(from: pattern.text) else { continue }
            prefiltered += 1
            for subject in subjects(for: pattern, prefilter: prefilter, &random) {
                let outcome = regex.searchWithPCRE2(subject)
                if outcome == .match { matchedWithPrefilter += 1 }
                if !prefilter.mayMatch(subject) {
                    rejected += 1
                    if outcome != .noMatch, failures.count < 10 {
                        failures.append("\(pattern.text) literal \(prefilter) subject \(subject.debugDescription) \(outcome)")
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(compiled >= 4_000, "compiled \(compiled)")
        #expect(prefiltered * 4 >= compiled, "prefiltered \(prefiltered) of \(compiled)")
        #expect(rejected >= 20_000, "rejected \(rejected)")
        #expect(matchedWithPrefilter >= 15_000, "matched \(matchedWithPrefilter)")
    }

    /// At least 30 subjects for one generated pattern.
    private func subjects(for pattern: GeneratedPattern, prefilter: RegexPrefilter,
                          _ random: inout SeededGenerator) -> [String] {
        var result: [String] = []
        for _ in 0 ..< 10 {
            result.append(PatternGenerator.noise(&random) + pattern.sample(&random) + PatternGenerator.noise(&random))
        }
        for _ in 0 ..< 10 {
            result.append(PatternGenerator.mutate(pattern.sample(&random), &random))
        }
        for _ in 0 ..< 6 {
            result.append(PatternGenerator.noise(&random, length: random.below(14)))
        }
        let literal = String(decoding: prefilter.literal, as: UTF8.self)
        for _ in 0 ..< 8 {
            var variant = PatternGenerator.recase(literal, &random)
            if random.below(4) != 0 { variant = PatternGenerator.mutate(variant, &random) }
            result.append(PatternGenerator.noise(&random) + variant + PatternGenerator.noise(&random))
        }
        return result
    }
}

/// One node of a generated pattern: its text and a way to sample strings it (probably) matches.
private indirect enum PatternNode {
    /// A literal pattern character (or escape) and the subject text it stands for.
    case literal(text: String, value: String)
    /// A non-literal atom with strings it may match.
    case atom(text: String, samples: [String])
    /// A group: its opening (`(`, `(?:`, `(?i:`…) and alternatives.
    case group(opening: String, alternatives: [[PatternNode]])
    /// A quantified node with its bounds (max nil: unbounded) and suffix text.
    case quantified(PatternNode, text: String, min: Int, max: Int?)

    var text: String {
        switch self {
        case .literal(let text, _), .atom(let text, _): return text
        case .group(let opening, let alternatives):
            return opening + alternatives.map { $0.map(\.text).joined() }.joined(separator: "|") + ")"
        case .quantified(let node, let text, _, _): return node.text + text
        }
    }

    func sample(_ random: inout SeededGenerator, caseless: Bool) -> String {
        switch self {
        case .literal(_, let value):
            return caseless ? PatternGenerator.recase(value, &random) : value
        case .atom(_, let samples):
            return random.pick(samples)
        case .group(let opening, let alternatives):
            if opening.hasPrefix("(?!") { return "" }
            let inner = opening == "(?i:" ? true : opening == "(?-i:" ? false : caseless
            let sampled = random.pick(alternatives).map { $0.sample(&random, caseless: inner) }.joined()
            return opening.hasPrefix("(?=") ? "" : sampled
        case .quantified(let node, _, let min, let max):
            let count = min + random.below((max ?? min + 2) - min + 1)
            return (0 ..< count).map { _ in node.sample(&random, caseless: caseless) }.joined()
        }
    }
}

/// A generated pattern: an optional leading `(?i)` and top-level alternatives.
private struct GeneratedPattern {
    var caseless: Bool
    var alternatives: [[PatternNode]]

    var text: String {
        (caseless ? "(?i)" : "") + alternatives.map { $0.map(\.text).joined() }.joined(separator: "|")
    }

    func sample(_ random: inout SeededGenerator) -> String {
        random.pick(alternatives).map { $0.sample(&random, caseless: caseless) }.joined()
    }
}

/// Patterns from a small grammar over the letters that matter for case folding (`k`, `s`).
private enum PatternGenerator {
    static let letters = ["a", "b", "k", "K", "s", "S", "x", "_", "a", "b", "k", "s", "x", "]", "}", " "]
    static let subjectAlphabet = ["a", "b", "k", "K", "s", "S", "x", "X", "A", "B", "_", ".", "ſ", "\u{212A}",
                                  "]", "}", " ", "\n", "1", "*", "{", "\\", "\t", ")"]

    static func pattern(_ random: inout SeededGenerator) -> GeneratedPattern {
        let caseless = random.chance(40, in: 100)
        var alternatives = [sequence(&random, depth: 0)]
        if random.chance(8, in: 100) { alternatives.append(sequence(&random, depth: 0)) }
        return GeneratedPattern(caseless: caseless, alternatives: alternatives)
    }

    static func sequence(_ random: inout SeededGenerator, depth: Int) -> [PatternNode] {
        let length = 1 + random.below(depth == 0 ? 9 : 4)
        return (0 ..< length).map { _ in node(&random, depth: depth) }
    }

    static func node(_ random: inout SeededGenerator, depth: Int) -> PatternNode {
        let base: PatternNode
        let roll = random.below(100)
        switch roll {
        case 0 ..< 55:
            let letter = random.pick(letters)
            base = .literal(text: letter, value: letter)
        case 55 ..< 62:
            base = random.pick([
                PatternNode.literal(text: "\\.", value: "."), .literal(text: "\\*", value: "*"),
                .literal(text: "\\{", value: "{"), .literal(text: "\\\\", value: "\\"),
                .literal(text: "\\n", value: "\n"), .literal(text: "\\t", value: "\t"),
                .literal(text: "\\)", value: ")"), .literal(text: "\\_", value: "_"),
            ])
        case 62 ..< 70:
            base = random.pick([
                PatternNode.atom(text: "[ab]", samples: ["a", "b"]), .atom(text: "[^k]", samples: ["a", "x", "_"]),
                .atom(text: "[]a]", samples: ["]", "a"]), .atom(text: "[[:alpha:]]", samples: ["a", "Q"]),
                .atom(text: "[kK]", samples: ["k", "K"]), .atom(text: "[a-c]", samples: ["a", "b", "c"]),
                .atom(text: "[\\]x]", samples: ["]", "x"]), .atom(text: "[)(]", samples: [")", "("]),
                .atom(text: "[sſ]", samples: ["s", "ſ"]),
            ])
        case 70 ..< 76:
            base = random.pick([
                PatternNode.atom(text: ".", samples: ["a", "ſ", "\u{212A}", "_"]), .atom(text: "\\d", samples: ["1", "7"]),
                .atom(text: "\\w", samples: ["a", "_", "K"]), .atom(text: "\\s", samples: [" ", "\t"]),
                .atom(text: "\\S", samples: ["x", "ſ"]), .atom(text: "\\W", samples: [".", "ſ"]),
            ])
        case 76 ..< 80:
            base = random.pick([
                PatternNode.atom(text: "\\b", samples: [""]), .atom(text: "\\B", samples: [""]),
                .atom(text: "^", samples: [""]), .atom(text: "$", samples: [""]),
            ])
        case 80 ..< 92 where depth < 2:
            let opening = random.pick(["(", "(?:", "(?i:", "(?-i:", "(?>", "(?=", "(?!", "(?|"])
            var alternatives = [sequence(&random, depth: depth + 1)]
            if random.chance(35, in: 100) { alternatives.append(sequence(&random, depth: depth + 1)) }
            base = .group(opening: opening, alternatives: alternatives)
        case 92 ..< 97:
            // Constructs the extractor refuses (some of them invalid): they must never yield a wrong
            // prefilter, wherever they appear.
            base = random.pick([
                PatternNode.atom(text: "(?x)", samples: [""]), .atom(text: "(?-i)", samples: [""]),
                .atom(text: "(?i)", samples: [""]), .atom(text: "\\1", samples: [""]),
                .atom(text: "\\Q.*\\E", samples: [".*"]), .atom(text: "\\x{4B}", samples: ["K"]),
                .atom(text: "{x", samples: ["{x"]), .atom(text: "\\K", samples: [""]),
                .atom(text: "(?#c)", samples: [""]), .atom(text: "(*ACCEPT)", samples: [""]),
                .atom(text: "\\E", samples: [""]), .atom(text: "{,2}", samples: ["{,2}"]),
                .atom(text: "\\N", samples: ["a"]), .atom(text: "\\R", samples: ["\n"]),
                .atom(text: "(?s)", samples: [""]), .atom(text: "\\x4b", samples: ["K"]),
                .atom(text: "(?x: a # ) \n )", samples: ["a"]), .atom(text: "\\cA", samples: ["\u{1}"]),
                .atom(text: "(?#c)?", samples: [""]), .atom(text: "\\E*", samples: [""]),
            ])
        default:
            let letter = random.pick(letters)
            base = .literal(text: letter, value: letter)
        }
        guard random.chance(22, in: 100) else { return base }
        let (text, min, max): (String, Int, Int?) = random.pick([
            ("?", 0, 1), ("*", 0, nil), ("+", 1, nil), ("{2}", 2, 2), ("{0,2}", 0, 2), ("{1,}", 1, nil),
            ("{0}", 0, 0), ("{2,3}", 2, 3), ("??", 0, 1), ("*?", 0, nil), ("+?", 1, nil), ("++", 1, nil),
            ("*+", 0, nil), ("?+", 0, 1), ("{1,2}?", 1, 2), ("{0,}", 0, nil),
        ])
        return .quantified(base, text: text, min: min, max: max)
    }

    /// Random subject text of `length` characters (default 0 to 4).
    static func noise(_ random: inout SeededGenerator, length: Int? = nil) -> String {
        let count = length ?? random.below(5)
        return (0 ..< count).map { _ in random.pick(subjectAlphabet) }.joined()
    }

    /// `text` with letters randomly re-cased, and `k`/`s` sometimes replaced by the Kelvin sign or
    /// long s, which `(?i)` also matches.
    static func recase(_ text: String, _ random: inout SeededGenerator) -> String {
        var result = ""
        for character in text {
            let lower = character.lowercased()
            if lower == "k", random.chance(20, in: 100) {
                result += "\u{212A}"
            } else if lower == "s", random.chance(20, in: 100) {
                result += "ſ"
            } else if character.isASCII, character.isLetter, random.chance(50, in: 100) {
                result += character.isUppercase ? character.lowercased() : character.uppercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// `text` with one or two random edits: a deletion, an insertion, a substitution or a case flip.
    static func mutate(_ text: String, _ random: inout SeededGenerator) -> String {
        var characters = Array(text)
        for _ in 0 ..< 1 + random.below(2) {
            let position = random.below(characters.count + 1)
            switch random.below(4) {
            case 0 where position < characters.count:
                characters.remove(at: position)
            case 1:
                characters.insert(Character(random.pick(subjectAlphabet)), at: position)
            case 2 where position < characters.count:
                characters[position] = Character(random.pick(subjectAlphabet))
            default:
                if position < characters.count {
                    characters[position] = Character(recase(String(characters[position]), &random))
                }
            }
        }
        return String(characters)
    }
}

/// `Regex.search` consults the prefilter before PCRE2; its answers equal PCRE2's alone.
@Suite struct RegexSearchUsesPrefilterTests {
    @Test func searchAgreesWithPCRE2() throws {
        let patterns = [#"(?i)\bforbidden_table_7\b"#, "DROP TABLE", #"(?i)from\s+users"#, #"^/etc/passwd$"#, "a[bc]+d", #"(?i)ta(sk)s"#]
        let subjects = ["SELECT region FROM sales", "select * from FORBIDDEN_TABLE_7", "drop table x", "DROP TABLE x", "FROM   Users",
                        "/etc/passwd", "xabcbd", "TAſKS", "tasks", "", "forbidden_table_70"]
        for pattern in patterns {
            let regex = try Regex.compile(pattern)
            for subject in subjects {
                #expect(regex.search(subject) == regex.searchWithPCRE2(subject), "\(pattern) on \(subject)")
            }
        }
        #expect(try Regex.compile(#"(?i)\bforbidden_table_7\b"#).prefilter == RegexPrefilter(literal: Array("forbidden_table_7".utf8), caseless: true))
    }
}
