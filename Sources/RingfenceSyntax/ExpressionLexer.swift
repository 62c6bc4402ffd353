import RingfenceDiagnostics

/// One token of a `when` expression and the span it was read from.
struct ExpressionToken: Sendable, Hashable {
    /// The words that the lexer reads as keywords rather than identifiers.
    enum Keyword: String, Sendable, Hashable {
        case and, or, not, `in`, `true`, `false`, null
    }

    /// The operators and delimiters of the language.
    enum Punctuation: String, Sendable, Hashable {
        case bang = "!"
        case ampersands = "&&"
        case bars = "||"
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        case matches = "=~"
        case leftParen = "("
        case rightParen = ")"
        case leftBracket = "["
        case rightBracket = "]"
        case comma = ","
        case dot = "."
    }

    /// What kind of token it is, with its decoded value.
    enum Kind: Sendable, Hashable {
        /// A name such as `params` or `has`.
        case identifier(String)
        /// One of `and or not in true false null`.
        case keyword(Keyword)
        /// A number literal (a leading `-` is part of it).
        case number(Double)
        /// A string literal with its escapes decoded.
        case string(String)
        /// An operator or delimiter.
        case punctuation(Punctuation)
        /// The end of the expression text.
        case end
    }

    /// The token's kind and value.
    var kind: Kind
    /// Where it was written.
    var span: Span
}

/// Reads `when` expression text one token at a time (see `grammar/when.ebnf`, lexical part).
///
/// The lexer is pulled by the parser, so the first error reported is the first one in the text.
/// It is a value type: copying it and reading ahead does not disturb the original.
struct ExpressionLexer: Sendable {
    /// The text as Unicode scalars; every offset and span indexes this array.
    let scalars: [Unicode.Scalar]
    /// The offset of the next scalar to read.
    private(set) var position = 0

    /// Creates a lexer over `text`.
    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// The longest piece of source text quoted verbatim in a message.
    static let excerptLimit = 24

    /// The source text of `span`, shortened with `…` when long, for use inside backticks.
    func excerpt(_ span: Span) -> String {
        let lower = max(0, min(span.start, scalars.count))
        let upper = max(lower, min(span.end, scalars.count))
        var out = String.UnicodeScalarView()
        let limit = Self.excerptLimit
        out.append(contentsOf: scalars[lower..<min(upper, lower + limit)])
        var text = String(out)
        if upper - lower > limit { text += "…" }
        return text
    }

    /// Reads the next token, skipping whitespace; returns `.end` at the end of the text.
    mutating func next() throws(ExpressionSyntaxError) -> ExpressionToken {
        while position < scalars.count, Self.isWhitespace(scalars[position]) { position += 1 }
        let start = position
        guard position < scalars.count else { return ExpressionToken(kind: .end, span: Span(start: start, length: 0)) }
        let c = scalars[position]
        let following = peek(1)

        if Self.isLetter(c) { return identifierOrKeyword() }
        if Self.isDigit(c) || (c == "-" && following.map(Self.isDigit) == true) { return try number() }
        if c == "\"" || c == "'" { return try string() }

        /// Emits a punctuation token of `width` scalars.
        func punctuation(_ p: ExpressionToken.Punctuation, width: Int = 1) -> ExpressionToken {
            position += width
            return ExpressionToken(kind: .punctuation(p), span: Span(start: start, length: width))
        }
        switch c {
        case "!": return following == "=" ? punctuation(.notEqual, width: 2) : punctuation(.bang)
        case "&" where following == "&": return punctuation(.ampersands, width: 2)
        case "|" where following == "|": return punctuation(.bars, width: 2)
        case "=" where following == "=": return punctuation(.equal, width: 2)
        case "=" where following == "~": return punctuation(.matches, width: 2)
        case "<": return following == "=" ? punctuation(.lessOrEqual, width: 2) : punctuation(.less)
        case ">": return following == "=" ? punctuation(.greaterOrEqual, width: 2) : punctuation(.greater)
        case "(": return punctuation(.leftParen)
        case ")": return punctuation(.rightParen)
        case "[": return punctuation(.leftBracket)
        case "]": return punctuation(.rightBracket)
        case ",": return punctuation(.comma)
        case ".": return punctuation(.dot)
        default: throw unexpectedCharacter(c, at: start)
        }
    }

    // MARK: - Tokens

    /// identifier = letter , { letter | digit } ;  (a keyword when it spells one)
    private mutating func identifierOrKeyword() -> ExpressionToken {
        let start = position
        while position < scalars.count, Self.isLetter(scalars[position]) || Self.isDigit(scalars[position]) {
            position += 1
        }
        let name = text(from: start, to: position)
        let span = Span(start: start, length: position - start)
        if let keyword = ExpressionToken.Keyword(rawValue: name) {
            return ExpressionToken(kind: .keyword(keyword), span: span)
        }
        return ExpressionToken(kind: .identifier(name), span: span)
    }

    /// number = [ "-" ] , digits , [ "." , digits ] , [ exponent ] ;
    private mutating func number() throws(ExpressionSyntaxError) -> ExpressionToken {
        let start = position
        if scalars[position] == "-" { position += 1 }
        skipDigits()
        if peek(0) == "." {
            guard peek(1).map(Self.isDigit) == true else {
                position += 1
                throw invalidNumber(from: start, "a digit must follow the decimal point")
            }
            position += 1
            skipDigits()
        }
        if peek(0) == "e" || peek(0) == "E" {
            var index = position + 1
            if index < scalars.count, scalars[index] == "+" || scalars[index] == "-" { index += 1 }
            guard index < scalars.count, Self.isDigit(scalars[index]) else {
                position = index
                throw invalidNumber(from: start, "the exponent needs digits")
            }
            position = index
            skipDigits()
        }
        if let c = peek(0), Self.isLetter(c) || Self.isDigit(c) {
            while let c = peek(0), Self.isLetter(c) || Self.isDigit(c) { position += 1 }
            throw invalidNumber(from: start, "a number cannot run into a name")
        }
        let span = Span(start: start, length: position - start)
        guard let value = Double(text(from: start, to: position)), value.isFinite else {
            throw ExpressionSyntaxError(code: .invalidNumber,
                                        message: "number `\(excerpt(span))` is out of range", span: span)
        }
        return ExpressionToken(kind: .number(value), span: span)
    }

    /// string = '"' , { character | escape } , '"' | "'" , { character | escape } , "'" ;
    private mutating func string() throws(ExpressionSyntaxError) -> ExpressionToken {
        let start = position
        let quote = scalars[position]
        position += 1
        var value = String.UnicodeScalarView()
        while true {
            guard position < scalars.count else { throw unterminatedString(from: start) }
            let c = scalars[position]
            if c == quote {
                position += 1
                break
            }
            guard c == "\\" else {
                value.append(c)
                position += 1
                continue
            }
            guard let escaped = peek(1) else { throw unterminatedString(from: start) }
            switch escaped {
            case "\\", "\"", "'":
                value.append(escaped)
                position += 2
            case "n":
                value.append("\n")
                position += 2
            case "t":
                value.append("\t")
                position += 2
            case "r":
                value.append("\r")
                position += 2
            case "u":
                value.append(try unicodeEscape())
            default:
                // Any other sequence is kept as written, so regexes read naturally: "\d+" is `\d+`.
                value.append(c)
                value.append(escaped)
                position += 2
            }
        }
        return ExpressionToken(kind: .string(String(value)), span: Span(start: start, length: position - start))
    }

    /// escape = "\" , "u" , "{" , hex_digit , [ hex_digit … up to 6 ] , "}" ;  (at the backslash)
    private mutating func unicodeEscape() throws(ExpressionSyntaxError) -> Unicode.Scalar {
        let start = position
        guard peek(2) == "{" else {
            let span = Span(start: start, length: 2)
            throw ExpressionSyntaxError(code: .invalidEscape,
                                        message: "invalid escape `\\u`: write `\\u{…}` with 1 to 6 hex digits", span: span)
        }
        var index = start + 3
        var code: UInt32 = 0
        var digits = 0
        while index < scalars.count, let digit = Self.hexValue(scalars[index]), digits < 6 {
            code = code * 16 + digit
            digits += 1
            index += 1
        }
        guard digits > 0, index < scalars.count, scalars[index] == "}" else {
            let end = min(index + 1, scalars.count)
            let span = Span(start: start, length: end - start)
            throw ExpressionSyntaxError(code: .invalidEscape,
                                        message: "invalid escape `\(excerpt(span))`: write `\\u{…}` with 1 to 6 hex digits",
                                        span: span)
        }
        let span = Span(start: start, length: index + 1 - start)
        guard let scalar = Unicode.Scalar(code) else {
            throw ExpressionSyntaxError(code: .invalidEscape,
                                        message: "invalid escape `\(excerpt(span))`: not a unicode scalar value", span: span)
        }
        position = index + 1
        return scalar
    }

    // MARK: - Errors

    /// RF2001 for a character that starts no token, with a hint for the usual slips.
    private func unexpectedCharacter(_ c: Unicode.Scalar, at offset: Int) -> ExpressionSyntaxError {
        let shown = c.properties.isWhitespace || c.value < 0x20 || c.value == 0x7F || c == "`"
            ? "U+" + String(c.value, radix: 16, uppercase: true).leftPadded(to: 4)
            : String(c)
        let hint: String
        switch c {
        case "=": hint = "; use `==` to compare"
        case "&": hint = "; use `&&` or `and`"
        case "|": hint = "; use `||` or `or`"
        case "-": hint = "; there is no arithmetic, only negative number literals such as `-1`"
        default: hint = ""
        }
        return ExpressionSyntaxError(code: .unexpectedCharacter, message: "unexpected character `\(shown)`\(hint)",
                                     span: Span(start: offset, length: 1))
    }

    /// RF2002 for a string that runs to the end of the text.
    private func unterminatedString(from start: Int) -> ExpressionSyntaxError {
        ExpressionSyntaxError(code: .unterminatedString, message: "unterminated string: add the closing `\(scalars[start])`",
                              span: Span(start: start, length: scalars.count - start))
    }

    /// RF2004 for the malformed number text from `start` to the current position.
    private func invalidNumber(from start: Int, _ reason: String) -> ExpressionSyntaxError {
        let span = Span(start: start, length: position - start)
        return ExpressionSyntaxError(code: .invalidNumber, message: "invalid number `\(excerpt(span))`: \(reason)", span: span)
    }

    // MARK: - Characters

    /// The scalar `offset` places after the current position, if any.
    private func peek(_ offset: Int) -> Unicode.Scalar? {
        let index = position + offset
        return index < scalars.count ? scalars[index] : nil
    }

    /// Advances past a run of decimal digits.
    private mutating func skipDigits() {
        while position < scalars.count, Self.isDigit(scalars[position]) { position += 1 }
    }

    /// The text of the scalars in `start..<end`.
    private func text(from start: Int, to end: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<end])
        return String(view)
    }

    /// True for `A`–`Z`, `a`–`z` and `_`.
    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
    }

    /// True for `0`–`9`.
    static func isDigit(_ c: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(c)
    }

    /// True for space, tab, newline and carriage return.
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r"
    }

    /// The value of a hex digit, or nil.
    static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 0x30
        case "a"..."f": return c.value - 0x61 + 10
        case "A"..."F": return c.value - 0x41 + 10
        default: return nil
        }
    }
}

extension String {
    /// The string with leading zeros added up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
