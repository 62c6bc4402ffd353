import Foundation
import Testing
import RingfenceSyntax
import RingfenceTestSupport

/// Prints expression trees as s-expressions so tests can compare whole trees in one string.
enum ExpressionSExpression {
    /// The s-expression for `expression`, e.g. `(or a (and b c))`.
    static func print(_ expression: RingfenceSyntax.Expression) -> String {
        switch expression.kind {
        case .literal(.string(let s)): return "\"" + s + "\""
        case .literal(.number(let n)):
            return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .literal(.bool(let b)): return String(b)
        case .literal(.null): return "null"
        case .list(let elements): return "(list" + elements.map { " " + print($0) }.joined() + ")"
        case .path(let path): return path.description
        case .not(let operand): return "(not \(print(operand)))"
        case .and(let a, let b): return "(and \(print(a)) \(print(b)))"
        case .or(let a, let b): return "(or \(print(a)) \(print(b)))"
        case .compare(let op, let a, let b): return "(\(op.rawValue) \(print(a)) \(print(b)))"
        case .call(let name, _, let arguments): return "(\(name)" + arguments.map { " " + print($0) }.joined() + ")"
        }
    }

    /// Parses `text` and prints the tree, or `error RFxxxx@start` when it does not parse.
    static func parse(_ text: String) -> String {
        switch ExpressionParser.parse(text) {
        case .success(let expression): return print(expression)
        case .failure(let error): return "error \(error.code.rawValue)@\(error.span.start)"
        }
    }
}

/// Keeps `grammar/when.ebnf`, `grammar/examples.txt` and the parser in step.
@Suite struct GrammarTests {
    /// The repository root.
    static let root = Repository.root

    /// The contents of a file under `grammar/`.
    static func grammarFile(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("grammar").appendingPathComponent(name), encoding: .utf8)
    }

    /// The production names defined in `when.ebnf`, in file order.
    static func productionNames() throws -> [String] {
        var text = try grammarFile("when.ebnf")
        // Drop `(* … *)` comments.
        while let open = text.range(of: "(*") {
            guard let close = text.range(of: "*)", range: open.upperBound..<text.endIndex) else {
                text.removeSubrange(open.lowerBound..<text.endIndex)
                break
            }
            text.removeSubrange(open.lowerBound..<close.upperBound)
        }
        var names: [String] = []
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) { names.append(name) }
        }
        return names
    }

    /// The examples from `examples.txt` as (line number, production, expression text).
    static func examples() throws -> [(line: Int, production: String, text: String)] {
        var out: [(Int, String, String)] = []
        for (index, line) in try grammarFile("examples.txt").split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                out.append((index + 1, String(line), ""))
                continue
            }
            let production = line[..<colon].trimmingCharacters(in: .whitespaces)
            let text = String(line[line.index(after: colon)...])
            out.append((index + 1, production, text))
        }
        return out
    }

    @Test func ebnfDefinesTheExpectedProductions() throws {
        let names = try Self.productionNames()
        #expect(names.first == "expression")
        #expect(Set(names).count == names.count, "a production is defined twice")
        for required in ["or_expr", "and_expr", "not_expr", "comparison", "postfix", "primary", "call", "list",
                         "literal", "identifier", "keyword", "number", "string", "escape"] {
            #expect(names.contains(required), "when.ebnf lacks `\(required)`")
        }
    }

    @Test func everyProductionHasTwoExamples() throws {
        let names = try Self.productionNames()
        let examples = try Self.examples()
        for name in names {
            let count = examples.filter { $0.production == name }.count
            #expect(count >= 2, "production `\(name)` has \(count) example(s) in grammar/examples.txt")
        }
        for example in examples {
            #expect(names.contains(example.production),
                    "examples.txt:\(example.line) names `\(example.production)`, which is not in when.ebnf")
        }
    }

    @Test func everyExampleParses() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 60)
        for example in examples {
            if case .failure(let error) = ExpressionParser.parse(example.text) {
                Issue.record("examples.txt:\(example.line) `\(example.text)` fails: \(error.code.rawValue) \(error.message)")
            }
        }
    }

    @Test func ebnfSpellsEveryOperatorAndKeyword() throws {
        let text = try Self.grammarFile("when.ebnf")
        let terminals = ComparisonOperator.allCases.map(\.rawValue) + ["!", "&&", "||", "(", ")", "[", "]", ",", "."]
        for terminal in terminals + Path.keywords.sorted() {
            #expect(text.contains("\"\(terminal)\""), "when.ebnf never spells `\(terminal)`")
        }
    }

    @Test(arguments: [
        ("a || b && c", "(or a (and b c))"),
        ("a && b || c", "(or (and a b) c)"),
        ("a and b or c", "(or (and a b) c)"),
        ("a or b and c or d", "(or (or a (and b c)) d)"),
        ("a && b && c", "(and (and a b) c)"),
        ("a || b || c", "(or (or a b) c)"),
        ("!a == b", "(not (== a b))"),
        ("not a == b", "(not (== a b))"),
        ("not not x", "(not (not x))"),
        ("!!x", "(not (not x))"),
        ("!a && b", "(and (not a) b)"),
        ("!(a && b)", "(not (and a b))"),
        ("(a || b) && c", "(and (or a b) c)"),
        ("a in [1,2]", "(in a (list 1 2))"),
        ("a in [1, 2,]", "(in a (list 1 2))"),
        ("x =~ \"^a\" || y", "(or (=~ x \"^a\") y)"),
        ("a == -1", "(== a -1)"),
        ("a <= 2.5", "(<= a 2.5)"),
        ("has(params.q) && params.q != \"\"", "(and (has params.q) (!= params.q \"\"))"),
        ("glob(resource, \"/w/**\")", "(glob resource \"/w/**\")"),
        ("agent.attrs[\"team\"] == 'data'", "(== agent.attrs.team \"data\")"),
        ("params[\"a-b\"] in []", "(in params[\"a-b\"] (list))"),
        ("len([]) > 0 == true", "error RF2008@12"),
        ("a == (!b)", "(== a (not b))"),
        ("f()", "(f)"),
        ("true or false and null", "(or true (and false null))"),
    ])
    func precedence(text: String, expected: String) {
        #expect(ExpressionSExpression.parse(text) == expected)
    }
}
