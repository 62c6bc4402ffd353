import RingfenceDiagnostics

/// Parses `when` expressions into syntax trees (grammar: `grammar/when.ebnf`).
///
/// A hand-written recursive-descent parser with one token of lookahead. Precedence, lowest
/// first: `||`/`or`, `&&`/`and`, `!`/`not`, comparisons (non-associative), postfix field access.
/// Recursion is bounded: nesting deeper than `maximumDepth` or trees taller than
/// `maximumHeight` are rejected with RF2006 before the stack is at risk.
public enum ExpressionParser {
    /// How many parentheses, lists, calls and `!`s may enclose one another.
    static let maximumDepth = 64
    /// How tall the finished tree may be (long `&&`/`||` chains add one level per operator).
    static let maximumHeight = 256

    /// Parses a `when` expression; spans count Unicode scalars from the start of `text`.
    public static func parse(_ text: String) -> Result<Expression, ExpressionSyntaxError> {
        var parser = Parser(text)
        do {
            return .success(try parser.parseWhole())
        } catch {
            return .failure(error)
        }
    }
}

/// The parser's state: the lexer, the current token and how deeply it has descended.
private struct Parser {
    /// A parsed node with the height of its tree (a leaf is 1).
    struct Built {
        /// The node.
        var expression: Expression
        /// The height of the tree rooted at the node.
        var height: Int
        /// True when the node is a path, so `.field` and `["key"]` may follow it.
        var isPath = false
    }

    /// The token source.
    var lexer: ExpressionLexer
    /// The token under consideration.
    var current = ExpressionToken(kind: .end, span: Span(start: 0, length: 0))
    /// How many parentheses, lists, calls and `!`s enclose the current position.
    var depth = 0

    /// Creates a parser over `text`.
    init(_ text: String) {
        lexer = ExpressionLexer(text)
    }

    /// Parses the whole text: exactly one expression followed by the end.
    mutating func parseWhole() throws(ExpressionSyntaxError) -> Expression {
        try advance()
        if current.kind == .end {
            throw ExpressionSyntaxError(code: .emptyExpression, message: "empty expression",
                                        span: Span(start: 0, length: lexer.scalars.count))
        }
        let result = try parseExpression()
        guard current.kind == .end else { throw expected("an operator or the end of the expression") }
        return result.expression
    }

    // MARK: - Productions

    /// expression = or_expr ;
    mutating func parseExpression() throws(ExpressionSyntaxError) -> Built {
        try parseOr()
    }

    /// or_expr = and_expr , { ( "||" | "or" ) , and_expr } ;
    mutating func parseOr() throws(ExpressionSyntaxError) -> Built {
        var left = try parseAnd()
        while current.kind == .punctuation(.bars) || current.kind == .keyword(.or) {
            let op = current
            try advance()
            let right = try parseAnd()
            left = try node(.or(left.expression, right.expression), from: left, right, at: op)
        }
        return left
    }

    /// and_expr = not_expr , { ( "&&" | "and" ) , not_expr } ;
    mutating func parseAnd() throws(ExpressionSyntaxError) -> Built {
        var left = try parseNot()
        while current.kind == .punctuation(.ampersands) || current.kind == .keyword(.and) {
            let op = current
            try advance()
            let right = try parseNot()
            left = try node(.and(left.expression, right.expression), from: left, right, at: op)
        }
        return left
    }

    /// not_expr = ( "!" | "not" ) , not_expr | comparison ;
    mutating func parseNot() throws(ExpressionSyntaxError) -> Built {
        guard current.kind == .punctuation(.bang) || current.kind == .keyword(.not) else {
            return try parseComparison()
        }
        let op = current
        try enter(op)
        defer { depth -= 1 }
        try advance()
        let operand = try parseNot()
        return try node(.not(operand.expression), span: op.span.merged(with: operand.expression.span),
                        height: operand.height + 1, at: op)
    }

    /// comparison = postfix , [ comparison_operator , postfix ] ;  (non-associative)
    mutating func parseComparison() throws(ExpressionSyntaxError) -> Built {
        let left = try parsePostfix()
        guard let comparison = comparisonOperator(current) else { return left }
        let op = current
        try advance()
        let right = try parsePostfix()
        if comparisonOperator(current) != nil {
            throw ExpressionSyntaxError(code: .chainedComparison,
                                        message: "comparisons do not chain; join them with `&&`", span: current.span)
        }
        return try node(.compare(comparison, left.expression, right.expression), from: left, right, at: op)
    }

    /// postfix = primary , { "." , field_name | "[" , string , "]" } ;  (only after a path)
    mutating func parsePostfix() throws(ExpressionSyntaxError) -> Built {
        var base = try parsePrimary()
        while current.kind == .punctuation(.dot) || current.kind == .punctuation(.leftBracket) {
            guard base.isPath, case .path(var path) = base.expression.kind else {
                throw ExpressionSyntaxError(code: .notAPath,
                                            message: "field access needs a path such as `params.x`", span: current.span)
            }
            let segment: Path.Segment
            let end: Span
            if current.kind == .punctuation(.dot) {
                try advance()
                switch current.kind {
                case .identifier(let name): segment = Path.Segment(name: name, span: current.span)
                case .keyword(let word): segment = Path.Segment(name: word.rawValue, span: current.span)
                default: throw expected("a field name after `.`")
                }
                end = current.span
                try advance()
            } else {
                try advance()
                guard case .string(let key) = current.kind else {
                    throw expected("a quoted key such as `[\"name\"]`")
                }
                segment = Path.Segment(name: key, span: current.span, bracketed: true)
                try advance()
                guard current.kind == .punctuation(.rightBracket) else { throw expected("`]`") }
                end = current.span
                try advance()
            }
            path.segments.append(segment)
            base.expression = Expression(.path(path), span: base.expression.span.merged(with: end))
        }
        return base
    }

    /// primary = literal | list | call | identifier | "(" , expression , ")" ;
    mutating func parsePrimary() throws(ExpressionSyntaxError) -> Built {
        let token = current
        switch token.kind {
        case .number(let value): return try literal(.number(value), token)
        case .string(let value): return try literal(.string(value), token)
        case .keyword(.true): return try literal(.bool(true), token)
        case .keyword(.false): return try literal(.bool(false), token)
        case .keyword(.null): return try literal(.null, token)
        case .punctuation(.leftBracket): return try parseList()
        case .punctuation(.leftParen): return try parseParenthesised()
        case .identifier(let name):
            try advance()
            if current.kind == .punctuation(.leftParen) { return try parseCall(name: name, nameToken: token) }
            let path = Path(segments: [Path.Segment(name: name, span: token.span)])
            return Built(expression: Expression(.path(path), span: token.span), height: 1, isPath: true)
        case .punctuation(.dot) where isNumberAfterDot():
            throw ExpressionSyntaxError(code: .invalidNumber,
                                        message: "invalid number: write a digit before the decimal point, as in `0.5`",
                                        span: token.span)
        case .punctuation(.bang), .keyword(.not):
            // Only reachable as a comparison's right operand: `!` binds looser than comparisons.
            throw ExpressionSyntaxError(code: .unexpectedToken,
                                        message: "expected an expression, found \(describe(token)); put the negation in parentheses",
                                        span: token.span)
        default:
            throw expected("an expression")
        }
    }

    /// list = "[" , [ expression , { "," , expression } , [ "," ] ] , "]" ;
    mutating func parseList() throws(ExpressionSyntaxError) -> Built {
        let open = current
        try enter(open)
        defer { depth -= 1 }
        try advance()
        var elements: [Expression] = []
        var height = 0
        while current.kind != .punctuation(.rightBracket) {
            let element = try parseExpression()
            elements.append(element.expression)
            height = max(height, element.height)
            if current.kind == .punctuation(.comma) {
                try advance()
            } else if current.kind != .punctuation(.rightBracket) {
                throw expected("`,` or `]`")
            }
        }
        let span = open.span.merged(with: current.span)
        try advance()
        return try node(.list(elements), span: span, height: height + 1, at: open)
    }

    /// "(" , expression , ")"  — the node keeps its kind and its span grows to cover the parentheses.
    mutating func parseParenthesised() throws(ExpressionSyntaxError) -> Built {
        let open = current
        try enter(open)
        defer { depth -= 1 }
        try advance()
        var inner = try parseExpression()
        guard current.kind == .punctuation(.rightParen) else { throw expected("`)`") }
        inner.expression.span = open.span.merged(with: current.span)
        inner.isPath = false
        try advance()
        return inner
    }

    /// call = identifier , "(" , [ expression , { "," , expression } ] , ")" ;  (at the `(`)
    mutating func parseCall(name: String, nameToken: ExpressionToken) throws(ExpressionSyntaxError) -> Built {
        try enter(current)
        defer { depth -= 1 }
        try advance()
        var arguments: [Expression] = []
        var height = 0
        if current.kind != .punctuation(.rightParen) {
            while true {
                let argument = try parseExpression()
                arguments.append(argument.expression)
                height = max(height, argument.height)
                if current.kind == .punctuation(.comma) {
                    try advance()
                } else if current.kind == .punctuation(.rightParen) {
                    break
                } else {
                    throw expected("`,` or `)`")
                }
            }
        }
        let span = nameToken.span.merged(with: current.span)
        try advance()
        return try node(.call(name: name, nameSpan: nameToken.span, arguments: arguments), span: span,
                        height: height + 1, at: nameToken)
    }

    // MARK: - Helpers

    /// Reads the next token into `current`.
    mutating func advance() throws(ExpressionSyntaxError) {
        current = try lexer.next()
    }

    /// Enters one level of nesting at `token`, failing with RF2006 past the limit.
    mutating func enter(_ token: ExpressionToken) throws(ExpressionSyntaxError) {
        depth += 1
        if depth > ExpressionParser.maximumDepth {
            throw ExpressionSyntaxError(code: .expressionTooDeep,
                                        message: "expression nests more than \(ExpressionParser.maximumDepth) levels deep",
                                        span: token.span)
        }
    }

    /// A literal leaf for `token`, moving past it.
    mutating func literal(_ value: Literal, _ token: ExpressionToken) throws(ExpressionSyntaxError) -> Built {
        try advance()
        return Built(expression: Expression(.literal(value), span: token.span), height: 1)
    }

    /// A binary node spanning both operands, checked against the height limit at `op`.
    func node(_ kind: ExpressionKind, from left: Built, _ right: Built, at op: ExpressionToken)
        throws(ExpressionSyntaxError) -> Built {
        try node(kind, span: left.expression.span.merged(with: right.expression.span),
                 height: max(left.height, right.height) + 1, at: op)
    }

    /// A node of the given height, or RF2006 at `token` when the tree grows too tall.
    func node(_ kind: ExpressionKind, span: Span, height: Int, at token: ExpressionToken)
        throws(ExpressionSyntaxError) -> Built {
        guard height <= ExpressionParser.maximumHeight else {
            throw ExpressionSyntaxError(code: .expressionTooDeep,
                                        message: "expression is more than \(ExpressionParser.maximumHeight) operators deep",
                                        span: token.span)
        }
        return Built(expression: Expression(kind, span: span), height: height)
    }

    /// The comparison operator `token` spells, if it is one.
    func comparisonOperator(_ token: ExpressionToken) -> ComparisonOperator? {
        switch token.kind {
        case .punctuation(.equal): return .equal
        case .punctuation(.notEqual): return .notEqual
        case .punctuation(.less): return .less
        case .punctuation(.lessOrEqual): return .lessOrEqual
        case .punctuation(.greater): return .greater
        case .punctuation(.greaterOrEqual): return .greaterOrEqual
        case .punctuation(.matches): return .matches
        case .keyword(.in): return .in
        default: return nil
        }
    }

    /// True when the current `.` is immediately followed by a digit, as in `.5`.
    func isNumberAfterDot() -> Bool {
        let next = current.span.end
        return next < lexer.scalars.count && ExpressionLexer.isDigit(lexer.scalars[next])
    }

    /// RF2005 "expected X, found Y" at the current token.
    func expected(_ what: String) -> ExpressionSyntaxError {
        ExpressionSyntaxError(code: .unexpectedToken, message: "expected \(what), found \(describe(current))",
                              span: current.span)
    }

    /// How a token is named in messages: its text in backticks, or `end of expression`.
    func describe(_ token: ExpressionToken) -> String {
        token.kind == .end ? "end of expression" : "`\(lexer.excerpt(token.span))`"
    }
}
