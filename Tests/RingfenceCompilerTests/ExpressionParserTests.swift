import Testing
import RingfenceDiagnostics
import RingfenceSyntax
import RingfenceTestSupport

/// The `when` expression lexer and parser: values, paths, spans, every error code, limits, fuzz.
@Suite struct ExpressionParserTests {
    /// The tree for `text`, or nil (with a recorded issue) when it does not parse.
    static func tree(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> RingfenceSyntax.Expression? {
        switch ExpressionParser.parse(text) {
        case .success(let expression): return expression
        case .failure(let error):
            Issue.record("`\(text)` failed: \(error.code.rawValue) \(error.message)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// The error for `text`, or nil (with a recorded issue) when it parses.
    static func error(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> ExpressionSyntaxError? {
        switch ExpressionParser.parse(text) {
        case .success(let expression):
            Issue.record("`\(text)` parsed as \(ExpressionSExpression.print(expression))", sourceLocation: sourceLocation)
            return nil
        case .failure(let error): return error
        }
    }

    // MARK: - Literals

    @Test(arguments: [
        (#""a\\b""#, "a\\b"),
        (#""say \"hi\"""#, "say \"hi\""),
        (#"'it\'s'"#, "it's"),
        (#"'\"'"#, "\""),
        (#""\'""#, "'"),
        (#""a\nb""#, "a\nb"),
        (#""a\tb""#, "a\tb"),
        (#""a\rb""#, "a\rb"),
        (#""\u{41}\u{e9}""#, "Aé"),
        (#""\u{1F600}""#, "😀"),
        (#""\u{10FFFF}""#, "\u{10FFFF}"),
        (#""\u{000041}""#, "A"),
        (#""\d+""#, #"\d+"#),
        (#""\.""#, #"\."#),
        (#""(?i)\b(DROP|TRUNCATE)\b""#, #"(?i)\b(DROP|TRUNCATE)\b"#),
        (#""\\d""#, #"\d"#),
        (#""\x""#, #"\x"#),
        ("\"multi\nline\"", "multi\nline"),
        (#""""#, ""),
        (#"''"#, ""),
        (#""'""#, "'"),
    ])
    func stringLiterals(source: String, value: String) {
        #expect(Self.tree(source)?.kind == .literal(.string(value)))
    }

    @Test func backslashDIsKeptAsTwoCharacters() throws {
        let node = try #require(Self.tree(#""\d+""#))
        guard case .literal(.string(let s)) = node.kind else { Issue.record("not a string"); return }
        #expect(Array(s.unicodeScalars) == ["\\", "d", "+"])
    }

    @Test(arguments: [
        ("0", 0.0), ("-7", -7.0), ("3.25", 3.25), ("1e3", 1000.0), ("2.5E-2", 0.025), ("1E+2", 100.0),
        ("-0.5", -0.5), ("007", 7.0), ("1e-400", 0.0), ("123456789012", 123456789012.0),
    ])
    func numberLiterals(source: String, value: Double) {
        #expect(Self.tree(source)?.kind == .literal(.number(value)))
    }

    @Test func keywordLiterals() {
        #expect(Self.tree("true")?.kind == .literal(.bool(true)))
        #expect(Self.tree("false")?.kind == .literal(.bool(false)))
        #expect(Self.tree("null")?.kind == .literal(.null))
        #expect(Self.tree("  true\n")?.span == Span(start: 2, length: 4))
    }

    // MARK: - Paths

    @Test func pathsWithDotsAndBrackets() throws {
        let node = try #require(Self.tree(#"agent.attrs["team-name"].x"#))
        guard case .path(let path) = node.kind else { Issue.record("not a path"); return }
        #expect(path.names == ["agent", "attrs", "team-name", "x"])
        #expect(path.segments.map(\.bracketed) == [false, false, true, false])
        #expect(path.segments.map(\.span) == [Span(start: 0, length: 5), Span(start: 6, length: 5),
                                               Span(start: 12, length: 11), Span(start: 25, length: 1)])
        #expect(node.span == Span(start: 0, length: 26))
        #expect(path.description == #"agent.attrs["team-name"].x"#)
    }

    @Test func keywordsAreFieldNamesAfterADot() {
        #expect(ExpressionSExpression.parse("params.in == params.not") == "(== params[\"in\"] params[\"not\"])")
        #expect(ExpressionSExpression.parse("params.true") == #"params["true"]"#)
        guard case .path(let path)? = Self.tree("params.in")?.kind else { Issue.record("not a path"); return }
        #expect(path.names == ["params", "in"])
    }

    @Test func keywordsAreNeverNamesOrRoots() {
        for keyword in Path.keywords.sorted() {
            switch ExpressionParser.parse("\(keyword)(x)") {
            case .success(let node):
                if case .call = node.kind { Issue.record("`\(keyword)(x)` parsed as a call") }
            case .failure: break
            }
            if case .success(let node) = ExpressionParser.parse(keyword), case .path = node.kind {
                Issue.record("`\(keyword)` parsed as a path")
            }
            #expect(ExpressionSExpression.parse("x.\(keyword)") == "x[\"\(keyword)\"]")
        }
        #expect(ExpressionSExpression.parse("nothing(x)") == "(nothing x)")
        #expect(ExpressionSExpression.parse("not(x)") == "(not x)")
        #expect(ExpressionSExpression.parse("android or inx") == "(or android inx)")
    }

    @Test func bracketKeysUseStringEscapes() {
        guard case .path(let path)? = Self.tree(#"params['a\'b']["\u{41}"]"#)?.kind else { Issue.record("not a path"); return }
        #expect(path.names == ["params", "a'b", "A"])
    }

    @Test func callsAndLists() throws {
        let call = try #require(Self.tree(#"glob(resource, "/w/**")"#))
        guard case .call(let name, let nameSpan, let arguments) = call.kind else { Issue.record("not a call"); return }
        #expect(name == "glob")
        #expect(nameSpan == Span(start: 0, length: 4))
        #expect(arguments.map(\.span) == [Span(start: 5, length: 8), Span(start: 15, length: 7)])
        #expect(call.span == Span(start: 0, length: 23))
        #expect(Self.tree("[1, [2], 'x',]")?.span == Span(start: 0, length: 14))
        #expect(ExpressionSExpression.parse("[1, [2], 'x',]") == "(list 1 (list 2) \"x\")")
    }

    // MARK: - Spans

    @Test func spansCoverTheirSourceText() throws {
        let node = try #require(Self.tree("  params.x == 'a'  "))
        #expect(node.span == Span(start: 2, length: 15))
        guard case .compare(.equal, let left, let right) = node.kind else { Issue.record("not ==") ; return }
        #expect(left.span == Span(start: 2, length: 8))
        #expect(right.span == Span(start: 14, length: 3))

        let not = try #require(Self.tree("!  x"))
        #expect(not.span == Span(start: 0, length: 4))

        let or = try #require(Self.tree("a || b && c"))
        guard case .or(_, let and) = or.kind else { Issue.record("not ||"); return }
        #expect(or.span == Span(start: 0, length: 11))
        #expect(and.span == Span(start: 5, length: 6))
    }

    @Test func parenthesesAreIncludedInTheSpan() throws {
        let node = try #require(Self.tree("( a )"))
        #expect(node.span == Span(start: 0, length: 5))
        guard case .path(let path) = node.kind else { Issue.record("not a path"); return }
        #expect(path.segments[0].span == Span(start: 2, length: 1))
        let and = try #require(Self.tree("(a) && (b || c)"))
        #expect(and.span == Span(start: 0, length: 15))
        guard case .and(let left, let right) = and.kind else { Issue.record("not &&"); return }
        #expect(left.span == Span(start: 0, length: 3))
        #expect(right.span == Span(start: 7, length: 8))
    }

    @Test func spansCountUnicodeScalars() throws {
        // "e\u{301}" is one grapheme but two scalars; 😀 is one scalar but two UTF-16 units.
        let node = try #require(Self.tree("\"e\u{301}😀\" == x"))
        guard case .compare(_, let left, let right) = node.kind else { Issue.record("not =="); return }
        #expect(left.span == Span(start: 0, length: 5))
        #expect(right.span == Span(start: 9, length: 1))
        #expect(Self.error("'😀' # x")?.span == Span(start: 4, length: 1))
    }

    // MARK: - Errors

    @Test(arguments: [
        // RF2001 unexpected character
        ("a # b", "RF2001", 2, 1),
        ("a = b", "RF2001", 2, 1),
        ("a & b", "RF2001", 2, 1),
        ("a | b", "RF2001", 2, 1),
        ("a == - 1", "RF2001", 5, 1),
        ("\u{E9} == x", "RF2001", 0, 1),
        ("a\u{0C}", "RF2001", 1, 1),
        ("x == `a`", "RF2001", 5, 1),
        // RF2002 unterminated string
        ("\"abc", "RF2002", 0, 4),
        ("x == 'abc\\'", "RF2002", 5, 6),
        ("x == \"\\", "RF2002", 5, 2),
        // RF2003 invalid escape
        (#""\u{D800}""#, "RF2003", 1, 8),
        (#""ab\u{110000}""#, "RF2003", 3, 10),
        (#""\u{}""#, "RF2003", 1, 4),
        (#""\u41""#, "RF2003", 1, 2),
        (#""\u{1234567}""#, "RF2003", 1, 10),
        (#""\u{12"#, "RF2003", 1, 5),
        (#""\u{zz}""#, "RF2003", 1, 4),
        // RF2004 invalid number
        ("1e400", "RF2004", 0, 5),
        ("x < -1e999", "RF2004", 4, 6),
        ("x == 1.", "RF2004", 5, 2),
        ("x == 1.y", "RF2004", 5, 2),
        (".5", "RF2004", 0, 1),
        ("x in [.5]", "RF2004", 6, 1),
        ("12ab", "RF2004", 0, 4),
        ("1e+", "RF2004", 0, 3),
        ("1ex", "RF2004", 0, 2),
        // RF2005 unexpected token
        ("a ==", "RF2005", 4, 0),
        ("(a", "RF2005", 2, 0),
        ("a)", "RF2005", 1, 1),
        ("a b", "RF2005", 2, 1),
        ("f(a b)", "RF2005", 4, 1),
        ("f(a,)", "RF2005", 4, 1),
        ("[1 2]", "RF2005", 3, 1),
        ("[1,,2]", "RF2005", 3, 1),
        ("lower(x).y", "RF3012", 8, 1),
        ("\"s\".x", "RF3012", 3, 1),
        ("(a).b", "RF3012", 3, 1),
        ("[1][\"x\"]", "RF3012", 3, 1),
        ("a.", "RF2005", 2, 0),
        ("a.(b)", "RF2005", 2, 1),
        ("a[1]", "RF2005", 2, 1),
        ("a[\"k\"", "RF2005", 5, 0),
        ("a == !b", "RF2005", 5, 1),
        ("a == not b", "RF2005", 5, 3),
        ("and", "RF2005", 0, 3),
        ("a && || b", "RF2005", 5, 2),
        ("in", "RF2005", 0, 2),
        (")", "RF2005", 0, 1),
        ("!", "RF2005", 1, 0),
        // RF2007 empty expression
        ("", "RF2007", 0, 0),
        ("  \n\t ", "RF2007", 0, 5),
        // RF2008 chained comparison
        ("a == b == c", "RF2008", 7, 2),
        ("0 < x < 10", "RF2008", 6, 1),
        ("a in b in c", "RF2008", 7, 2),
    ])
    func errors(text: String, code: String, start: Int, length: Int) {
        guard let error = Self.error(text) else { return }
        #expect(error.code.rawValue == code, "`\(text)`: \(error.message)")
        #expect(error.span == Span(start: start, length: length), "`\(text)`: \(error.message)")
        #expect(!error.message.isEmpty && !error.message.hasSuffix("."))
        #expect(error.message.first.map { !$0.isUppercase } == true)
    }

    @Test func errorMessages() {
        #expect(Self.error("a # b")?.message == "unexpected character `#`")
        #expect(Self.error("a ==")?.message == "expected an expression, found end of expression")
        #expect(Self.error("(a b")?.message == "expected `)`, found `b`")
        #expect(Self.error("a)")?.message == "expected an operator or the end of the expression, found `)`")
        #expect(Self.error("f(x).y")?.message == "field access needs a path such as `params.x`")
        #expect(Self.error("a == b == c")?.message == "comparisons do not chain; join them with `&&`")
        #expect(Self.error("")?.message == "empty expression")
        #expect(Self.error("\"abc")?.message == "unterminated string: add the closing `\"`")
        #expect(Self.error("1e400")?.message == "number `1e400` is out of range")
        #expect(Self.error(#""\u{D800}""#)?.message == "invalid escape `\\u{D800}`: not a unicode scalar value")
        #expect(Self.error("a\u{7}")?.message == "unexpected character `U+0007`")
        let long = String(repeating: "x", count: 100)
        #expect(Self.error("a \(long)")?.message == "expected an operator or the end of the expression, found `\(String(repeating: "x", count: 24))…`")
    }

    @Test func errorCodesAreTheSyntaxCodes() {
        #expect(DiagnosticCode.unexpectedCharacter.rawValue == "RF2001")
        #expect(DiagnosticCode.chainedComparison.rawValue == "RF2008")
        #expect(Self.error("a == b == c")?.code == .chainedComparison)
    }

    // MARK: - Limits

    @Test func nestingUpTo64IsAccepted() {
        #expect(Self.tree(String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)) != nil)
        #expect(Self.tree(String(repeating: "!", count: 64) + "a") != nil)
        #expect(Self.tree(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) != nil)
        #expect(Self.tree(String(repeating: "f(", count: 64) + String(repeating: ")", count: 64)) != nil)
        #expect(Self.tree(String(repeating: "not ", count: 32) + String(repeating: "(", count: 32) + "a" + String(repeating: ")", count: 32)) != nil)
    }

    @Test(arguments: [
        (String(repeating: "(", count: 65) + "a" + String(repeating: ")", count: 65), 64),
        (String(repeating: "!", count: 65) + "a", 64),
        (String(repeating: "[", count: 65) + String(repeating: "]", count: 65), 64),
        (String(repeating: "f(", count: 65) + String(repeating: ")", count: 65), 129),
        ("x == " + String(repeating: "(", count: 100_000), 69),
        (String(repeating: "(", count: 100_000), 64),
        (String(repeating: "!", count: 100_000), 64),
        (String(repeating: "not ", count: 100_000) + "a", 256),
        (String(repeating: "[", count: 100_000), 64),
        (String(repeating: "a(", count: 50_000), 129),
        (String(repeating: "!(", count: 50_000), 64),
    ])
    func tooDeepIsRejectedAtTheOffendingToken(text: String, start: Int) {
        guard let error = Self.error(text) else { return }
        #expect(error.code == .expressionTooDeep)
        #expect(error.span.start == start)
    }

    @Test func longOperatorChainsAreBoundedByTreeHeight() {
        let ok = Array(repeating: "a", count: 256).joined(separator: " && ")
        #expect(Self.tree(ok) != nil)
        let tooLong = Array(repeating: "a", count: 257).joined(separator: " && ")
        #expect(Self.error(tooLong)?.code == .expressionTooDeep)
        #expect(Self.error(tooLong)?.span.start == 255 * 5 + 2)
        let huge = Array(repeating: "a", count: 20_000).joined(separator: " || ")
        #expect(Self.error(huge)?.code == .expressionTooDeep)
        // Wide is fine: long lists and many arguments do not add height.
        let list = "x in [" + Array(repeating: "1", count: 20_000).joined(separator: ",") + "]"
        #expect(Self.tree(list) != nil)
    }

    // MARK: - Fuzz

    @Test func randomInputNeverCrashesAndSpansStayInBounds() {
        let alphabet = [
            "a", "params", "agent", "has", "x_1", ".", "[", "]", "(", ")", ",", "\"s\"", "'t'", "\"\\u{41}\"",
            "\"\\d\"", "\"\\", "\"\\u{", "\"", "'", "1", "-2", "1.5e3", "1e999", "0.", ".5", "==", "!=", "<", "<=",
            ">", ">=", "in", "=~", "!", "not", "&&", "||", "and", "or", "true", "false", "null", " ", " ", "\n",
            "\\", "#", "é", "😀", "\u{0}", "=", "&", "|", "-", "~", "e", "E", "{", "}", "\u{301}",
        ]
        var rng = SeededGenerator(seed: 0x5EED_2026)
        var parsed = 0
        var failed = 0
        for _ in 0..<4000 {
            let length = Int.random(in: 0...14, using: &rng)
            var text = ""
            for _ in 0..<length { text += alphabet.randomElement(using: &rng) ?? "" }
            let scalars = Array(text.unicodeScalars)
            switch ExpressionParser.parse(text) {
            case .success(let expression):
                parsed += 1
                // The root covers everything from the first to the last non-blank scalar.
                let blank: Set<Unicode.Scalar> = [" ", "\n", "\t", "\r"]
                let first = scalars.firstIndex { !blank.contains($0) } ?? 0
                let last = (scalars.lastIndex { !blank.contains($0) } ?? -1) + 1
                #expect(expression.span == Span(start: first, length: last - first), "`\(text)`")
            case .failure(let error):
                failed += 1
                #expect(error.span.start >= 0 && error.span.length >= 0 && error.span.end <= scalars.count, "`\(text)`")
                #expect(error.code.rawValue.hasPrefix("RF200") || error.code == .notAPath, "`\(text)`")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(parsed > 50)
        #expect(failed > 1000)
    }

    @Test func randomWellFormedExpressionsParseToTheirShape() {
        var rng = SeededGenerator(seed: 42)
        /// Builds a random expression and its expected s-expression, at most `depth` deep.
        func generate(_ depth: Int) -> (String, String) {
            let choice = depth == 0 ? Int.random(in: 0...2, using: &rng) : Int.random(in: 0...7, using: &rng)
            switch choice {
            case 0: let n = Int.random(in: -99...99, using: &rng); return ("\(n)", "\(n)")
            case 1: return ("params.p\(depth)", "params.p\(depth)")
            case 2: return ("'s'", "\"s\"")
            case 3: let (a, sa) = generate(depth - 1); let (b, sb) = generate(depth - 1)
                return ("(\(a) && \(b))", "(and \(sa) \(sb))")
            case 4: let (a, sa) = generate(depth - 1); let (b, sb) = generate(depth - 1)
                return ("(\(a) or \(b))", "(or \(sa) \(sb))")
            case 5: let (a, sa) = generate(depth - 1); return ("(!(\(a)))", "(not \(sa))")
            case 6: let (a, sa) = generate(depth - 1); let (b, sb) = generate(depth - 1)
                return ("(\(a) <= \(b))", "(<= \(sa) \(sb))")
            default: let (a, sa) = generate(depth - 1); let (b, sb) = generate(depth - 1)
                return ("f(\(a), [\(b)])", "(f \(sa) (list \(sb)))")
            }
        }
        for _ in 0..<500 {
            let (text, expected) = generate(6)
            #expect(ExpressionSExpression.parse(text) == expected, "`\(text)`")
        }
    }
}
