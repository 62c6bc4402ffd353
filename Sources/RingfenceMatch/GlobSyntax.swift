// Glob pattern syntax: parsing a pattern into atoms, expanding `{…}` alternatives, and checking
// that `**` only ever appears as a whole segment.
//
//   pattern      = sequence
//   sequence     = { atom | alternation }
//   alternation  = "{" sequence { "," sequence } "}"
//   atom         = "*" | "?" | class | "\" any | any other scalar
//   class        = "[" [ "!" | "^" ] item { item } "]"
//   item         = scalar [ "-" scalar ]          (a scalar may be written "\" any)

/// A syntax error in a glob pattern, with the Unicode-scalar offset into the pattern where it lies.
public struct GlobSyntaxError: Error, Sendable, Hashable {
    /// What is wrong: one lowercase line, user input in backticks.
    public var message: String
    /// Offset of the offending construct, counted in Unicode scalars from the pattern's start.
    public var offset: Int

    /// Creates an error with its message and scalar offset.
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
}

/// Limits that keep glob compilation bounded on hostile patterns.
enum GlobLimits {
    /// The most alternatives a pattern may expand to.
    static let maxAlternatives = 256
    /// The deepest `{…}` nesting accepted.
    static let maxBraceDepth = 16
}

/// One parsed glob element before compilation.
struct GlobAtom {
    /// What the element matches.
    enum Kind {
        /// This exact scalar (escaped or not).
        case scalar(Unicode.Scalar)
        /// `?`: any one scalar except the separator.
        case anyScalar
        /// `*`: a run of scalars.
        case star
        /// `[…]`: a scalar in (or, when negated, not in) the inclusive ranges.
        case scalarClass(negated: Bool, ranges: [ClosedRange<UInt32>])
    }

    /// What the element matches.
    var kind: Kind
    /// Scalar offset of the element in the pattern.
    var offset: Int
}

/// A parsed sequence element: an atom or a `{…}` alternation of sequences.
enum GlobPiece {
    /// A single element.
    case atom(GlobAtom)
    /// `{a,b,…}` with the offset of its `{`.
    case alternation([[GlobPiece]], offset: Int)
}

/// Recursive-descent parser over a pattern's Unicode scalars.
struct GlobParser {
    /// Why `parseSequence` stopped.
    enum Terminator { case end, comma, closeBrace }

    /// The pattern's scalars.
    let scalars: [Unicode.Scalar]
    /// The current scalar offset.
    var index = 0

    /// Creates a parser over a pattern.
    init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
    }

    /// Parses the whole pattern into its brace-expanded alternatives, each a list of atoms.
    static func alternatives(of pattern: String) throws(GlobSyntaxError) -> [[GlobAtom]] {
        var parser = GlobParser(pattern)
        if parser.scalars.isEmpty { throw GlobSyntaxError(message: "empty glob pattern", offset: 0) }
        let (pieces, _) = try parser.parseSequence(depth: 0)
        _ = try expansionCount(pieces)
        return expand(pieces)
    }

    /// sequence = { atom | alternation }, stopping at end, or at `,`/`}` inside braces.
    mutating func parseSequence(depth: Int) throws(GlobSyntaxError) -> ([GlobPiece], Terminator) {
        var pieces: [GlobPiece] = []
        while index < scalars.count {
            let start = index
            let c = scalars[index]
            switch c {
            case "\\":
                guard index + 1 < scalars.count else {
                    throw GlobSyntaxError(message: "trailing `\\` escapes nothing", offset: start)
                }
                pieces.append(.atom(GlobAtom(kind: .scalar(scalars[index + 1]), offset: start)))
                index += 2
            case "*":
                pieces.append(.atom(GlobAtom(kind: .star, offset: start)))
                index += 1
            case "?":
                pieces.append(.atom(GlobAtom(kind: .anyScalar, offset: start)))
                index += 1
            case "[":
                pieces.append(.atom(try parseClass()))
            case "{":
                pieces.append(try parseAlternation(depth: depth + 1))
            case "}":
                guard depth > 0 else { throw GlobSyntaxError(message: "unmatched `}`", offset: start) }
                index += 1
                return (pieces, .closeBrace)
            case "," where depth > 0:
                index += 1
                return (pieces, .comma)
            default:
                pieces.append(.atom(GlobAtom(kind: .scalar(c), offset: start)))
                index += 1
            }
        }
        return (pieces, .end)
    }

    /// alternation = "{" sequence { "," sequence } "}"
    mutating func parseAlternation(depth: Int) throws(GlobSyntaxError) -> GlobPiece {
        let open = index
        guard depth <= GlobLimits.maxBraceDepth else {
            throw GlobSyntaxError(message: "`{` nested more than \(GlobLimits.maxBraceDepth) deep", offset: open)
        }
        index += 1
        var options: [[GlobPiece]] = []
        while true {
            let (pieces, terminator) = try parseSequence(depth: depth)
            options.append(pieces)
            switch terminator {
            case .comma: continue
            case .closeBrace: return .alternation(options, offset: open)
            case .end: throw GlobSyntaxError(message: "unclosed `{`", offset: open)
            }
        }
    }

    /// class = "[" [ "!" | "^" ] item { item } "]"
    mutating func parseClass() throws(GlobSyntaxError) -> GlobAtom {
        let open = index
        index += 1
        var negated = false
        if index < scalars.count, scalars[index] == "!" || scalars[index] == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        while true {
            guard index < scalars.count else { throw GlobSyntaxError(message: "unclosed `[`", offset: open) }
            if scalars[index] == "]" {
                index += 1
                guard !ranges.isEmpty else { throw GlobSyntaxError(message: "empty character class `[]`", offset: open) }
                return GlobAtom(kind: .scalarClass(negated: negated, ranges: ranges), offset: open)
            }
            let lowOffset = index
            guard let low = classScalar() else { throw GlobSyntaxError(message: "unclosed `[`", offset: open) }
            if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                index += 1
                guard let high = classScalar() else { throw GlobSyntaxError(message: "unclosed `[`", offset: open) }
                guard low.value <= high.value else {
                    throw GlobSyntaxError(message: "reversed range `\(low)-\(high)` in character class", offset: lowOffset)
                }
                ranges.append(low.value...high.value)
            } else {
                ranges.append(low.value...low.value)
            }
        }
    }

    /// Reads one class member scalar, honouring `\` escapes; nil at the end of the pattern.
    mutating func classScalar() -> Unicode.Scalar? {
        guard index < scalars.count else { return nil }
        if scalars[index] == "\\" {
            guard index + 1 < scalars.count else { return nil }
            index += 2
            return scalars[index - 1]
        }
        index += 1
        return scalars[index - 1]
    }

    /// Counts the alternatives a sequence expands to, failing past the limit.
    static func expansionCount(_ pieces: [GlobPiece]) throws(GlobSyntaxError) -> Int {
        var product = 1
        for piece in pieces {
            guard case .alternation(let options, let offset) = piece else { continue }
            var sum = 0
            for option in options {
                sum += try expansionCount(option)
                if sum > GlobLimits.maxAlternatives { throw tooMany(offset) }
            }
            product *= sum
            if product > GlobLimits.maxAlternatives { throw tooMany(offset) }
        }
        return product
    }

    /// The error for a pattern that expands to too many alternatives.
    static func tooMany(_ offset: Int) -> GlobSyntaxError {
        GlobSyntaxError(message: "pattern expands to more than \(GlobLimits.maxAlternatives) alternatives", offset: offset)
    }

    /// Expands every alternation into the cross product of its options (count already bounded).
    static func expand(_ pieces: [GlobPiece]) -> [[GlobAtom]] {
        var results: [[GlobAtom]] = [[]]
        for piece in pieces {
            switch piece {
            case .atom(let atom):
                for i in results.indices { results[i].append(atom) }
            case .alternation(let options, _):
                let tails = options.flatMap { expand($0) }
                var next: [[GlobAtom]] = []
                next.reserveCapacity(results.count * tails.count)
                for head in results {
                    for tail in tails { next.append(head + tail) }
                }
                results = next
            }
        }
        return results
    }
}
