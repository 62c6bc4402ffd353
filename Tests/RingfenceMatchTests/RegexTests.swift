import Testing
@testable import RingfenceMatch

@Suite struct RegexTests {
    @Test(arguments: [
        ("DROP", "DROP TABLE users", RegexOutcome.match),
        ("DROP", "drop table users", .noMatch),
        ("(?i)\\b(DROP|TRUNCATE)\\b", "please drop table users", .match),
        ("(?i)\\b(DROP|TRUNCATE)\\b", "SELECT * FROM dropbox", .noMatch),
        ("(?i)\\b(DROP|TRUNCATE)\\b", "truncate logs", .match),
        ("^/workspace/[^/]+$", "/workspace/a.txt", .match),
        ("^/workspace/[^/]+$", "/workspace/a/b.txt", .noMatch),
        ("^abc$", "abc\n", .match),
        ("^abc\\z", "abc\n", .noMatch),
        ("\\d+", "order 42", .match),
        ("\\d+", "order forty-two", .noMatch),
        ("^.$", "é", .match),
        ("^..$", "é", .noMatch),
        ("^.$", "😀", .match),
        ("(?i)CAFÉ", "café", .match),
        ("\\w", "é", .noMatch),
        ("(*UCP)\\w", "é", .match),
        ("[à-ê]", "voilà", .match),
        ("", "", .match),
        ("a", "", .noMatch),
        ("x\\x{0}y", "x\u{0}y", .match),
    ])
    func searches(_ pattern: String, _ subject: String, _ expected: RegexOutcome) throws {
        let regex = try Regex.compile(pattern)
        #expect(regex.search(subject) == expected)
        #expect(regex.pattern == pattern)
    }

    @Test func searchesRawBuffers() throws {
        let regex = try Regex.compile("b+c")
        let bytes = Array("aabbbcd".utf8)
        #expect(bytes.withUnsafeBufferPointer { regex.search($0) } == .match)
        #expect(bytes.prefix(4).withUnsafeBufferPointer { regex.search($0) } == .noMatch)
        let empty: [UInt8] = []
        #expect(empty.withUnsafeBufferPointer { regex.search($0) } == .noMatch)
        #expect(regex.isJIT)
    }

    @Test(arguments: [
        ("(abc", "missing closing parenthesis", 4),
        ("é(", "missing closing parenthesis", 2),
        ("a[b", "missing terminating ] for character class", 3),
        ("éé*+*", "quantifier does not follow a repeatable item", 4),
        ("\\C", "using \\C is disabled by the application", 2),
    ])
    func syntaxErrors(_ pattern: String, _ message: String, _ offset: Int) {
        #expect(throws: RegexSyntaxError(message: message, offset: offset)) {
            _ = try Regex.compile(pattern)
        }
    }

    @Test func catastrophicPatternErrorsInsteadOfHanging() throws {
        // Bounded by the work budget, not by time (timings belong in Benchmarks/).
        let regex = try Regex.compile("(a+)+$")
        let outcome = regex.search(String(repeating: "a", count: 32) + "!")
        guard case .error(let code) = outcome else {
            Issue.record("expected a limit error, got \(outcome)")
            return
        }
        #expect(code < -1)
        // The same thread keeps matching normally afterwards.
        #expect(regex.search("aaa") == .match)
    }

    @Test(arguments: [
        ("DROP|DELETE FROM .* WHERE 1=1", true),
        ("a|b", true),
        ("(a|b)c", false),
        ("[|]", false),
        ("\\|", false),
        ("[]|]", false),
        ("[^]|]x", false),
        ("[[:alpha:]|]", false),
        ("[[:alpha:]]|x", true),
        ("(?:a|b)|c", true),
        ("(?i)a|b", true),
        ("((a)|b)", false),
        ("\\Qa|b\\E", false),
        ("\\Qa|b\\E|c", true),
        ("(?#x|y)z", false),
        ("abc", false),
        ("", false),
        ("a\\", false),
    ])
    func topLevelAlternation(_ pattern: String, _ expected: Bool) {
        #expect(RegexLint.hasTopLevelAlternation(pattern) == expected)
    }

    @Test func concurrentSearchesAgree() async throws {
        let regexes = try [
            Regex.compile("(?i)\\b(DROP|TRUNCATE)\\b"),
            Regex.compile("^/workspace/.*\\.csv\\z"),
            Regex.compile("\\d{3}-\\d{4}"),
        ]
        let subjects = ["drop table x", "/workspace/a/b.csv", "call 555-1234", "nothing here", "/workspace/a.csvx"]
        let expected = regexes.map { regex in subjects.map { regex.search($0) } }
        #expect(expected[0] == [.match, .noMatch, .noMatch, .noMatch, .noMatch])
        #expect(expected[1] == [.noMatch, .match, .noMatch, .noMatch, .noMatch])
        #expect(expected[2] == [.noMatch, .noMatch, .match, .noMatch, .noMatch])
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0 ..< 16 {
                group.addTask {
                    for _ in 0 ..< 200 {
                        for (r, regex) in regexes.enumerated() {
                            for (s, subject) in subjects.enumerated() where regex.search(subject) != expected[r][s] {
                                return false
                            }
                        }
                    }
                    return true
                }
            }
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results == Array(repeating: true, count: 16))
    }

    @Test func oneRegexSharedByManyTasks() async throws {
        let regex = try Regex.compile("needle")
        let answers = await withTaskGroup(of: RegexOutcome.self) { group in
            for i in 0 ..< 8 {
                group.addTask { regex.search(i % 2 == 0 ? "haystack with needle" : "haystack") }
            }
            var all: [RegexOutcome] = []
            for await answer in group { all.append(answer) }
            return all
        }
        #expect(answers.filter { $0 == .match }.count == 4)
        #expect(answers.filter { $0 == .noMatch }.count == 4)
    }
}
