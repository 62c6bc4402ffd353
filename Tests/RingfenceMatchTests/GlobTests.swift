import Testing
@testable import RingfenceMatch

/// One glob case: pattern, subject, expected answer.
struct GlobCase: Sendable, CustomTestStringConvertible {
    /// The pattern.
    let pattern: String
    /// The subject.
    let subject: String
    /// Whether it should match.
    let expected: Bool

    /// Creates a case.
    init(_ pattern: String, _ subject: String, _ expected: Bool) {
        self.pattern = pattern
        self.subject = subject
        self.expected = expected
    }

    /// How the case reads in test output.
    var testDescription: String { "\(pattern) ~ \(subject) → \(expected)" }
}

/// Resource globs (`/` separated).
private let resourceGlobCases: [GlobCase] = [
    // literals
    GlobCase("/workspace/a.txt", "/workspace/a.txt", true),
    GlobCase("/workspace/a.txt", "/workspace/a.tx", false),
    GlobCase("/workspace/a.txt", "/workspace/a.txtx", false),
    GlobCase("/workspace/a.txt", "/Workspace/a.txt", false),
    // `*` within a segment
    GlobCase("/workspace/*", "/workspace/a.txt", true),
    GlobCase("/workspace/*", "/workspace/", true),
    GlobCase("/workspace/*", "/workspace", false),
    GlobCase("/workspace/*", "/workspace/a/b", false),
    GlobCase("/workspace/*.csv", "/workspace/data.csv", true),
    GlobCase("/workspace/*.csv", "/workspace/data.csv.bak", false),
    GlobCase("/workspace/*.csv", "/workspace/sub/data.csv", false),
    GlobCase("/*/data/*.csv", "/x/data/y.csv", true),
    GlobCase("/*/data/*.csv", "/x/y/data/y.csv", false),
    GlobCase("/w/a*b*c", "/w/abc", true),
    GlobCase("/w/a*b*c", "/w/aXbYbZc", true),
    GlobCase("/w/a*b*c", "/w/aXbYc/c", false),
    GlobCase("*", "", true),
    GlobCase("*", "abc", true),
    GlobCase("*", "a/b", false),
    GlobCase("*/b", "a/b", true),
    GlobCase("*ab", "abab", true),
    // `**`
    GlobCase("/a/**", "/a", true),
    GlobCase("/a/**", "/a/b", true),
    GlobCase("/a/**", "/a/b/c", true),
    GlobCase("/a/**", "/ab", false),
    GlobCase("/a/**", "/b/a", false),
    GlobCase("/a/**/z", "/a/z", true),
    GlobCase("/a/**/z", "/a/b/z", true),
    GlobCase("/a/**/z", "/a/b/c/z", true),
    GlobCase("/a/**/z", "/a/b/c/zz", false),
    GlobCase("/a/**/z", "/a/bz", false),
    GlobCase("/a/**/z", "/az", false),
    GlobCase("**", "", true),
    GlobCase("**", "/", true),
    GlobCase("**", "/any/thing/at/all", true),
    GlobCase("**/z", "z", true),
    GlobCase("**/z", "/a/b/z", true),
    GlobCase("**/z", "az", false),
    GlobCase("/**", "/", true),
    GlobCase("/**", "/x/y", true),
    GlobCase("/**", "x", false),
    GlobCase("/a/**/**/z", "/a/z", true),
    GlobCase("/a/**/**/z", "/a/b/c/z", true),
    GlobCase("**/a/**", "x/y/a", true),
    GlobCase("**/a/**", "x/a/y/z", true),
    GlobCase("**/a/**", "ab/x", false),
    GlobCase("**/a*/x", "q/ab/r/ac/x", true),
    GlobCase("**/a*/x", "q/ab/r/bc/x", false),
    GlobCase("/a/**/b/**/c", "/a/x/b/y/b/z/c", true),
    GlobCase("/a/**/b/**/c", "/a/x/c/b", false),
    GlobCase("/a/**/*.csv", "/a/x/y/data.csv", true),
    GlobCase("/a/**/*.csv", "/a/data.csv", true),
    GlobCase("/a/**/*.csv", "/a/x/data.txt", false),
    // `?`
    GlobCase("/f?le", "/file", true),
    GlobCase("/f?le", "/fle", false),
    GlobCase("/f?le", "/fiile", false),
    GlobCase("/f?le", "/f/le", false),
    GlobCase("/caf?", "/café", true),
    GlobCase("/caf??", "/café", false),
    GlobCase("/?", "/😀", true),
    GlobCase("/*?", "/é", true),
    GlobCase("/*??", "/é", false),
    // classes
    GlobCase("/log[0-9]", "/log7", true),
    GlobCase("/log[0-9]", "/logx", false),
    GlobCase("/log[abc]", "/logb", true),
    GlobCase("/log[abc]", "/logd", false),
    GlobCase("/log[!a-z]", "/log1", true),
    GlobCase("/log[!a-z]", "/logq", false),
    GlobCase("/log[^a-z]", "/log1", true),
    GlobCase("/log[!a]", "/log/", false),
    GlobCase("/x[!a]y", "/x/y", false),
    GlobCase("/caf[é]", "/café", true),
    GlobCase("/caf[à-ê]", "/café", true),
    GlobCase("/caf[!é]", "/café", false),
    GlobCase("/caf[!a]", "/café", true),
    GlobCase("/a[-]b", "/a-b", true),
    GlobCase("/a[a-]b", "/a-b", true),
    GlobCase("/a[\\]]b", "/a]b", true),
    GlobCase("/a[*]b", "/a*b", true),
    GlobCase("/a[*]b", "/axb", false),
    // braces
    GlobCase("/{a,b}/x", "/a/x", true),
    GlobCase("/{a,b}/x", "/b/x", true),
    GlobCase("/{a,b}/x", "/c/x", false),
    GlobCase("/data.{csv,json}", "/data.json", true),
    GlobCase("/data.{csv,json}", "/data.xml", false),
    GlobCase("/{a/b,c}/x", "/a/b/x", true),
    GlobCase("/{a/b,c}/x", "/c/x", true),
    GlobCase("/{a,b{1,2}}/x", "/b2/x", true),
    GlobCase("/{a,b{1,2}}/x", "/b3/x", false),
    GlobCase("/{*.csv,logs/**}", "/logs/a/b", true),
    GlobCase("/{*.csv,logs/**}", "/x.csv", true),
    GlobCase("/{*.csv,logs/**}", "/x/y.csv", false),
    GlobCase("/a{,b}", "/a", true),
    GlobCase("/a{,b}", "/ab", true),
    GlobCase("/a,b", "/a,b", true),
    // escapes
    GlobCase("/a\\*b", "/a*b", true),
    GlobCase("/a\\*b", "/axb", false),
    GlobCase("/a\\?", "/a?", true),
    GlobCase("/a\\?", "/ab", false),
    GlobCase("/\\[x\\]", "/[x]", true),
    GlobCase("/\\{a,b\\}", "/{a,b}", true),
    GlobCase("/a\\\\b", "/a\\b", true),
]

/// Action globs (`.` separated).
private let actionGlobCases: [GlobCase] = [
    GlobCase("fs.read", "fs.read", true),
    GlobCase("fs.read", "fs.reads", false),
    GlobCase("fs.*", "fs.read", true),
    GlobCase("fs.*", "fs.read.all", false),
    GlobCase("fs.*", "fs", false),
    GlobCase("fs.**", "fs", true),
    GlobCase("fs.**", "fs.read.all", true),
    GlobCase("fs.**", "fsx.read", false),
    GlobCase("**.delete", "db.table.delete", true),
    GlobCase("**.delete", "delete", true),
    GlobCase("db.**.delete", "db.delete", true),
    GlobCase("db.**.delete", "db.a.b.delete", true),
    GlobCase("*.read", "fs.read", true),
    GlobCase("*.read", "a.fs.read", false),
    GlobCase("fs.re?d", "fs.read", true),
    GlobCase("fs.re?d", "fs.re.d", false),
    GlobCase("fs.[rw]*", "fs.write", true),
    GlobCase("fs.[rw]*", "fs.delete", false),
    GlobCase("fs.[!.]*", "fs..x", false),
    GlobCase("{fs,db}.{read,write}", "db.write", true),
    GlobCase("{fs,db}.{read,write}", "db.delete", false),
    GlobCase("http.{get,post.*}", "http.post.json", true),
    GlobCase("http.{get,post.*}", "http.get.x", false),
    GlobCase("fs\\.read", "fs.read", true),
    GlobCase("**", "anything.at.all", true),
    GlobCase("*", "fs", true),
    GlobCase("*", "fs.read", false),
]

/// Globs whose `*` crosses separators (a seed dialect).
private let crossingGlobCases: [GlobCase] = [
    GlobCase("/a/*", "/a/b/c", true),
    GlobCase("/a/*", "/a", false),
    GlobCase("/a/*.csv", "/a/b/c.csv", true),
    GlobCase("*", "x/y/z", true),
    GlobCase("/a/**", "/a", true),
    GlobCase("/a/**", "/a/b/c", true),
    GlobCase("/a/**", "/ab", false),
    GlobCase("/a/**/z", "/a/z", true),
    GlobCase("/a/**/z", "/a/b/c/z", true),
    GlobCase("/a/**/z", "/a/bz", false),
    GlobCase("*/x/**", "p/q/x", true),
    GlobCase("*/x/**", "p/q/xy", false),
    GlobCase("/a?c", "/a/c", false),
    GlobCase("/a*c", "/a/b/c", true),
    GlobCase("/a*b*c", "/a/c/b/c", true),
    GlobCase("/a*b*c", "/a/c/b/d", false),
]

@Suite struct GlobTests {
    @Test(arguments: resourceGlobCases)
    func resourceGlob(_ c: GlobCase) throws {
        let glob = try Glob.compile(c.pattern, separator: UInt8(ascii: "/"))
        #expect(glob.matches(c.subject) == c.expected)
    }

    @Test(arguments: actionGlobCases)
    func actionGlob(_ c: GlobCase) throws {
        let glob = try Glob.compile(c.pattern, separator: UInt8(ascii: "."))
        #expect(glob.matches(c.subject) == c.expected)
    }

    @Test(arguments: crossingGlobCases)
    func crossingGlob(_ c: GlobCase) throws {
        let glob = try Glob.compile(c.pattern, separator: UInt8(ascii: "/"), starCrossesSeparator: true)
        #expect(glob.matches(c.subject) == c.expected)
    }

    @Test(arguments: [
        ("", "empty glob pattern", 0),
        ("/a/[b", "unclosed `[`", 3),
        ("/a/[b-", "unclosed `[`", 3),
        ("/a/{b,c", "unclosed `{`", 3),
        ("/{a,{b}", "unclosed `{`", 1),
        ("/a/[]", "empty character class `[]`", 3),
        ("/a/[!]", "empty character class `[]`", 3),
        ("/é[z-a]", "reversed range `z-a` in character class", 3),
        ("/a\\", "trailing `\\` escapes nothing", 2),
        ("/a**b", "`**` must be a whole segment", 2),
        ("/é/x**", "`**` must be a whole segment", 4),
        ("/***/x", "`**` must be a whole segment", 1),
        ("/a}", "unmatched `}`", 2),
        ("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", "pattern expands to more than 256 alternatives", 40),
        (String(repeating: "{", count: 20) + String(repeating: "}", count: 20), "`{` nested more than 16 deep", 16),
    ])
    func syntaxErrors(_ pattern: String, _ message: String, _ offset: Int) {
        #expect(throws: GlobSyntaxError(message: message, offset: offset)) {
            _ = try Glob.compile(pattern, separator: UInt8(ascii: "/"))
        }
    }

    @Test func braceExpansionInsideMixedStarSegmentIsRejected() {
        #expect(throws: GlobSyntaxError(message: "`**` must be a whole segment", offset: 2)) {
            _ = try Glob.compile("a{*,b}*", separator: UInt8(ascii: "/"))
        }
    }

    @Test func exactly256AlternativesCompile() throws {
        let pattern = String(repeating: "{a,b}", count: 8)
        let glob = try Glob.compile(pattern, separator: UInt8(ascii: "/"))
        #expect(glob.program.alternatives.count == 256)
        #expect(glob.matches("abababab"))
        #expect(!glob.matches("abababac"))
    }

    @Test func literalPrefixAndIsLiteral() throws {
        let slash = UInt8(ascii: "/")
        let exact = try Glob.compile("/workspace/a.txt", separator: slash)
        #expect(exact.isLiteral)
        #expect(exact.literalPrefix == Array("/workspace/a.txt".utf8))
        let star = try Glob.compile("/workspace/*.csv", separator: slash)
        #expect(!star.isLiteral)
        #expect(star.literalPrefix == Array("/workspace/".utf8))
        let tail = try Glob.compile("/workspace/**", separator: slash)
        #expect(tail.literalPrefix == Array("/workspace".utf8))
        let braces = try Glob.compile("/data/{alpha,also}/x", separator: slash)
        #expect(!braces.isLiteral)
        #expect(braces.literalPrefix == Array("/data/al".utf8))
        let leadingStar = try Glob.compile("*.csv", separator: slash)
        #expect(leadingStar.literalPrefix.isEmpty)
        let escaped = try Glob.compile("/a\\*b", separator: slash)
        #expect(escaped.isLiteral)
        #expect(escaped.pattern == "/a\\*b")
        let single = try Glob.compile("{only}", separator: slash)
        #expect(single.isLiteral)
        #expect(single.matches("only"))
    }

    @Test func pathologicalStarsReturnPromptly() throws {
        let glob = try Glob.compile("*a*a*a*a*a*a*b", separator: UInt8(ascii: "/"))
        let subject = String(repeating: "a", count: 200)
        #expect(!glob.matches(subject))
        #expect(glob.matches(subject + "b"))
        let deep = try Glob.compile("**/a/**/a/**/a/**/a/**/b", separator: UInt8(ascii: "/"))
        let path = Array(repeating: "a", count: 200).joined(separator: "/")
        #expect(!deep.matches(path))
        #expect(deep.matches(path + "/b"))
        let crossing = try Glob.compile("*a*a*a*a*a*a*b", separator: UInt8(ascii: "/"), starCrossesSeparator: true)
        #expect(!crossing.matches(path))
    }

    @Test func matchesRawBytesIncludingInvalidUTF8() throws {
        let glob = try Glob.compile("/a/?", separator: UInt8(ascii: "/"))
        let bytes: [UInt8] = [0x2F, 0x61, 0x2F, 0xFF]
        #expect(bytes.withUnsafeBufferPointer { glob.matches($0) })
        // A truncated sequence at the end counts as one character; two stray bytes count as two.
        let truncated: [UInt8] = [0x2F, 0x61, 0x2F, 0xE2, 0x82]
        #expect(truncated.withUnsafeBufferPointer { glob.matches($0) })
        let stray: [UInt8] = [0x2F, 0x61, 0x2F, 0x82, 0x82]
        #expect(!stray.withUnsafeBufferPointer { glob.matches($0) })
        let negated = try Glob.compile("/a/[!x]", separator: UInt8(ascii: "/"))
        #expect(bytes.withUnsafeBufferPointer { negated.matches($0) })
        let empty: [UInt8] = []
        let any = try Glob.compile("**", separator: UInt8(ascii: "/"))
        #expect(empty.withUnsafeBufferPointer { any.matches($0) })
    }

    /// The shortcut shapes (one literal; a literal then a final `/**`) agree with the general machine.
    @Test func shortcutShapesAgreeWithTheMachine() throws {
        let slash = UInt8(ascii: "/")
        let exact = try Glob.compile("/etc/passwd", separator: slash)
        let tail = try Glob.compile("/workspace/**", separator: slash)
        #expect(exact.matcher.shape == .exact && tail.matcher.shape == .literalThenTail)
        #expect(try Glob.compile("/data/*.csv", separator: slash).matcher.shape == .general)
        let subjects = ["/etc/passwd", "/etc/passwd2", "/etc/passw", "", "/workspace", "/workspace/", "/workspace/a/b.csv",
                        "/workspaces", "/workspace2/a", "/work", "/WORKSPACE/a", "/workspace//x"]
        for glob in [exact, tail] {
            for subject in subjects {
                let bytes = Array(subject.utf8)
                let fast = bytes.withUnsafeBufferPointer { glob.matches($0) }
                let general = bytes.withUnsafeBufferPointer { glob.matcher.matchesWithMachine($0) }
                #expect(fast == general, "\(glob.pattern) on \(subject)")
            }
        }
        #expect(tail.matches("/workspace") && tail.matches("/workspace/a") && !tail.matches("/workspaces"))
        #expect(exact.matches("/etc/passwd") && !exact.matches("/etc/passwd2"))
    }

    /// The shared short compare finds a difference at every position of every length up to 20.
    @Test func shortBytesEqualSeesEveryByte() {
        for n in 0...20 {
            let a = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
            a.withUnsafeBufferPointer { x in
                let same = a
                same.withUnsafeBufferPointer { y in
                    #expect(n == 0 || shortBytesEqual(x.baseAddress!, y.baseAddress!, count: n), "length \(n)")
                }
                for i in 0..<n {
                    var other = a
                    other[i] ^= 0x40
                    other.withUnsafeBufferPointer { y in
                        #expect(!shortBytesEqual(x.baseAddress!, y.baseAddress!, count: n), "length \(n), byte \(i)")
                    }
                }
            }
        }
    }
}
