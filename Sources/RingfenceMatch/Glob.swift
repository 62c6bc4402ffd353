// Globs compiled to a flat instruction list and matched without allocating.
//
// Compilation: the pattern is parsed, `{…}` alternatives are expanded (at most 256), and each
// alternative becomes a run of `GlobOp`s over bytes:
//
//   literal      exact bytes (adjacent literal scalars, separators included, are merged)
//   anyScalar    `?`: one UTF-8 sequence that is not the separator
//   scalarClass  `[…]`: one scalar in / not in a list of ranges, never the separator
//   segmentStar  `*`: any bytes without a separator
//   anyStar      `*` with starCrossesSeparator, or a pattern that is only `**`: any bytes
//   directoryStar `**/`: empty, or any bytes ending with a separator (whole segments)
//   tailStar     a final `/**`: succeeds when the subject ends here or continues with a separator
//
// `a/**/b` compiles to literal `a/`, directoryStar, literal `b`; `a/**` to literal `a`, tailStar,
// so `a/**` matches `a`, `a/x`, `a/x/y` but not `ab`.
//
// Matching is the classic two-pointer wildcard algorithm with two backtrack points: the last
// segmentStar (extended one scalar at a time, never across a separator, and forgotten once a
// literal separator is passed, since segments align rigidly), and the last crossing star
// (anyStar / directoryStar, extended one scalar or one segment at a time). A block of pattern
// after a crossing star is always matched at its leftmost position, which is safe because a
// later crossing star can absorb whatever an earlier choice skipped (a directoryStar always
// follows a literal separator). Cost: O(p·s) per alternative without `**`, O(p·s²) at worst with
// it (p = ops, s = subject bytes); never exponential. No allocation, no String, no recursion.
// Shortcuts that keep common shapes near one pass: a glob that is one literal, or a literal then a
// final `/**`, never enters the machine (a prefix compare, then an end-or-separator check); a
// final `*` or `*suffix` is checked directly
// (suffix compare + memchr for the separator), and a star backtrack skips straight to the next
// occurrence of the following literal's first byte.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A compiled glob: immutable, `Sendable`, matched over raw UTF-8 bytes without allocating.
public struct Glob: Sendable {
    /// The source pattern as written.
    public let pattern: String
    /// Bytes every matching subject starts with (the common prefix of all alternatives).
    public let literalPrefix: [UInt8]
    /// True when the pattern has no wildcards and one alternative, so it matches one exact string.
    public let isLiteral: Bool
    /// The pattern in the canonical form compilers store (`canonicalPattern(_:separator:)`),
    /// derived while compiling, so storing it needs no second parse.
    public let canonicalText: String
    /// The segment separator byte (`/` for resources, `.` for actions).
    let separator: UInt8
    /// The compiled instructions (immutable, shared by copies of this value).
    let program: GlobProgram

    /// Compiles `pattern` with segments split by `separator` (an ASCII byte); with
    /// `starCrossesSeparator`, `*` also matches separators. A `/`-separated pattern of the form
    /// `scheme://…` is a URL pattern, matched part by part (`GlobURLPattern.swift`).
    public static func compile(_ pattern: String, separator: UInt8,
                               starCrossesSeparator: Bool = false) throws(GlobSyntaxError) -> Glob {
        if separator == 0x2F, let url = try URLGlobPattern.parse(pattern) {
            let matcher = try URLGlobMatcher(url, starCrossesSeparator: starCrossesSeparator)
            return Glob(pattern: pattern, url: matcher, canonical: url.text)
        }
        return try compileParts(pattern, separator: separator, starCrossesSeparator: starCrossesSeparator)
    }

    /// The canonical text of `pattern` (SPEC §3.1): a URL pattern with its scheme and host
    /// lower-cased, a trailing host dot and the default port dropped, an empty path written `/`;
    /// any other pattern unchanged. Compilers store this form.
    public static func canonicalPattern(_ pattern: String, separator: UInt8) throws(GlobSyntaxError) -> String {
        separator == 0x2F ? try URLGlobPattern.canonical(pattern) : pattern
    }

    /// Assembles a URL pattern's glob.
    private init(pattern: String, url: URLGlobMatcher, canonical: String) {
        self.pattern = pattern
        canonicalText = canonical
        separator = 0x2F
        program = GlobProgram(url: url)
        var prefix = Array(canonical.utf8)
        let meta = prefix.firstIndex { [0x2A, 0x3F, 0x5B, 0x5D, 0x7B, 0x7D, 0x5C].contains($0) }
        if let meta {
            prefix.removeSubrange(meta...)
            // `a/**` also matches `a`; `host:*` also matches the default port.
            if prefix.last == 0x2F || prefix.last == 0x3A { prefix.removeLast() }
        }
        literalPrefix = prefix
        isLiteral = meta == nil
    }

    /// Compiles `pattern` as a plain glob over `separator`-delimited segments (never a URL pattern).
    static func compileParts(_ pattern: String, separator: UInt8,
                             starCrossesSeparator: Bool = false) throws(GlobSyntaxError) -> Glob {
        precondition(separator < 0x80, "glob separator must be ASCII")
        let alternatives = try GlobParser.alternatives(of: pattern)
        var builder = GlobBuilder(separator: separator, starCrossesSeparator: starCrossesSeparator)
        for atoms in alternatives { try builder.add(atoms) }
        return Glob(pattern: pattern, builder: builder)
    }

    /// Assembles the compiled glob from a finished builder.
    private init(pattern: String, builder: GlobBuilder) {
        self.pattern = pattern
        canonicalText = pattern
        separator = builder.separator
        program = GlobProgram(builder, separator: separator)
        var prefix: [UInt8]? = nil
        var literal = builder.alternatives.count == 1
        for alternative in builder.alternatives {
            var own: [UInt8] = []
            if alternative.lowerBound < alternative.upperBound {
                let first = builder.ops[Int(alternative.lowerBound)]
                if first.kind == .literal {
                    own = Array(builder.bytes[Int(first.start) ..< Int(first.start + first.count)])
                }
            }
            if alternative.count > 1 || (alternative.count == 1 && builder.ops[Int(alternative.lowerBound)].kind != .literal) {
                literal = false
            }
            if let current = prefix {
                let shared = zip(current, own).prefix { $0 == $1 }.count
                prefix = Array(current.prefix(shared))
            } else {
                prefix = own
            }
        }
        literalPrefix = prefix ?? []
        isLiteral = literal
    }

    /// True when the UTF-8 bytes of `subject` match the pattern; allocation-free.
    public func matches(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        program.matches(subject)
    }

    /// The compiled matcher, a reference that hot loops can hold unretained.
    public var matcher: GlobProgram { program }

    /// True when `subject` matches the pattern (convenience for tests and tools).
    public func matches(_ subject: String) -> Bool {
        var copy = subject
        return copy.withUTF8 { matches($0) }
    }
}

/// A glob's instructions in fixed, manually managed buffers: no array copies or bounds checks on
/// the hot path, a single reference to retain; immutable after `init`, hence safely `Sendable`.
public final class GlobProgram: @unchecked Sendable {
    /// The segment separator.
    let separator: UInt8
    /// Every alternative's ops, back to back.
    let ops: UnsafeMutableBufferPointer<GlobOp>
    /// `[start, end)` op ranges, one per alternative.
    let alternatives: UnsafeMutableBufferPointer<Range<Int32>>
    /// Literal byte pool referenced by literal ops.
    let bytes: UnsafeMutableBufferPointer<UInt8>
    /// Scalar range pool referenced by class ops.
    let ranges: UnsafeMutableBufferPointer<ClosedRange<UInt32>>

    /// The two commonest shapes, matched without the general machine: one alternative that is
    /// a single literal (`/etc/passwd`), or a literal then a final `/**` (`/workspace/**`); and
    /// URL patterns, matched part by part.
    enum Shape {
        case general, exact, literalThenTail, url
    }
    let shape: Shape
    /// For `url`: the parts' matchers.
    let url: URLGlobMatcher?
    /// For `exact` and `literalThenTail`: the literal's bytes in the pool.
    let literalStart: Int
    let literalCount: Int

    /// Copies a finished builder's tables into owned buffers.
    init(_ builder: GlobBuilder, separator: UInt8) {
        self.separator = separator
        ops = Self.copy(builder.ops)
        alternatives = Self.copy(builder.alternatives)
        bytes = Self.copy(builder.bytes)
        ranges = Self.copy(builder.ranges)
        var shape = Shape.general
        var start = 0, count = 0
        if builder.alternatives.count == 1, let only = builder.alternatives.first, only.count >= 1,
           builder.ops[Int(only.lowerBound)].kind == .literal {
            let first = builder.ops[Int(only.lowerBound)]
            start = Int(first.start)
            count = Int(first.count)
            if only.count == 1 {
                shape = .exact
            } else if only.count == 2, builder.ops[Int(only.lowerBound) + 1].kind == .tailStar {
                shape = .literalThenTail
            }
        }
        self.shape = shape
        literalStart = start
        literalCount = count
        url = nil
    }

    /// A URL pattern's program: no instructions of its own, its parts match.
    init(url: URLGlobMatcher) {
        let empty = GlobBuilder(separator: 0x2F, starCrossesSeparator: false)
        separator = 0x2F
        ops = Self.copy(empty.ops)
        alternatives = Self.copy(empty.alternatives)
        bytes = Self.copy(empty.bytes)
        ranges = Self.copy(empty.ranges)
        shape = .url
        literalStart = 0
        literalCount = 0
        self.url = url
    }

    /// True when `subject` matches one of the glob's alternatives. Allocates nothing.
    public func matches(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        switch shape {
        case .exact:
            return subject.count == literalCount && startsWithLiteral(subject)
        case .literalThenTail:
            // A final `/**` succeeds where the subject ends or continues with a separator.
            return subject.count >= literalCount && startsWithLiteral(subject)
                && (subject.count == literalCount || subject[literalCount] == separator)
        case .url:
            return url.unsafelyUnwrapped.matches(subject)
        case .general:
            break
        }
        return matchesWithMachine(subject)
    }

    /// `matches` through the general machine, whatever the shape (tests compare the two).
    func matchesWithMachine(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        let machine = GlobMachine(ops: UnsafeBufferPointer(ops), bytes: UnsafeBufferPointer(bytes),
                                  ranges: UnsafeBufferPointer(ranges), subject: subject, separator: separator)
        for alternative in alternatives {
            if machine.run(Int(alternative.lowerBound), Int(alternative.upperBound)) { return true }
        }
        return false
    }

    /// True when `subject` (at least `literalCount` bytes long) starts with the literal.
    @inline(__always)
    private func startsWithLiteral(_ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        guard literalCount > 0, let a = subject.baseAddress else { return true }
        return shortBytesEqual(a, bytes.baseAddress.unsafelyUnwrapped + literalStart, count: literalCount)
    }

    deinit {
        ops.deallocate()
        alternatives.deallocate()
        bytes.deallocate()
        ranges.deallocate()
    }

    /// Allocates a buffer holding `elements` (at least one slot, so the base address is never nil).
    private static func copy<T>(_ elements: ContiguousArray<T>) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, elements.count))
        _ = buffer.initialize(from: elements)
        return UnsafeMutableBufferPointer(rebasing: buffer[0 ..< elements.count])
    }
}

/// What a compiled glob instruction does.
enum GlobOpKind: UInt8 {
    /// Exact bytes.
    case literal
    /// One scalar that is not the separator.
    case anyScalar
    /// One scalar (not the separator) in or out of a range list.
    case scalarClass
    /// Any bytes within one segment.
    case segmentStar
    /// Any bytes at all.
    case anyStar
    /// Empty, or any bytes ending with a separator.
    case directoryStar
    /// End of subject or a separator next; ends the pattern.
    case tailStar
}

/// One compiled glob instruction (a plain value; operands index the byte and range pools).
struct GlobOp: Sendable {
    /// The instruction.
    var kind: GlobOpKind
    /// For classes: match scalars outside the ranges.
    var negated = false
    /// For literals: the bytes contain the separator.
    var containsSeparator = false
    /// First byte (literal) or range (class) in its pool.
    var start: Int32 = 0
    /// Number of bytes (literal) or ranges (class).
    var count: Int32 = 0
}

/// Turns brace-expanded alternatives into ops, checking `**` placement.
struct GlobBuilder {
    /// The separator byte.
    let separator: UInt8
    /// Whether `*` crosses separators.
    let starCrossesSeparator: Bool
    /// Ops of every alternative so far.
    var ops = ContiguousArray<GlobOp>()
    /// Op range of every alternative so far.
    var alternatives = ContiguousArray<Range<Int32>>()
    /// Literal byte pool.
    var bytes = ContiguousArray<UInt8>()
    /// Class range pool.
    var ranges = ContiguousArray<ClosedRange<UInt32>>()
    /// Literal bytes not yet flushed into an op.
    private var pending: [UInt8] = []

    /// Creates an empty builder.
    init(separator: UInt8, starCrossesSeparator: Bool) {
        self.separator = separator
        self.starCrossesSeparator = starCrossesSeparator
    }

    /// Compiles one alternative.
    mutating func add(_ atoms: [GlobAtom]) throws(GlobSyntaxError) {
        // Split into segments on the separator (escaped or not) and classify each.
        var segments: [[GlobAtom]] = [[]]
        for atom in atoms {
            if case .scalar(let s) = atom.kind, s.value == UInt32(separator) {
                segments.append([])
            } else {
                segments[segments.count - 1].append(atom)
            }
        }
        var isDouble: [Bool] = []
        for segment in segments {
            isDouble.append(try Self.isDoubleStar(segment))
        }
        // Collapse runs of `**` segments: `a/**/**/b` means `a/**/b`.
        var kept: [Int] = []
        for i in segments.indices where !(isDouble[i] && kept.last.map { isDouble[$0] } == true) {
            kept.append(i)
        }
        let start = Int32(ops.count)
        for (k, i) in kept.enumerated() {
            let last = k == kept.count - 1
            if isDouble[i] {
                if kept.count == 1 {
                    emit(GlobOp(kind: .anyStar))
                } else if last {
                    if pending.last == separator { pending.removeLast() }
                    emit(GlobOp(kind: .tailStar))
                } else {
                    emit(GlobOp(kind: .directoryStar))
                    continue  // the separator after `**` belongs to the directoryStar
                }
            } else {
                for atom in segments[i] { emit(atom) }
            }
            if !last { pending.append(separator) }
        }
        flush()
        alternatives.append(start ..< Int32(ops.count))
    }

    /// True for a segment that is exactly `**`; throws when `**` is mixed into a longer segment.
    static func isDoubleStar(_ segment: [GlobAtom]) throws(GlobSyntaxError) -> Bool {
        for i in segment.indices.dropLast() {
            if case .star = segment[i].kind, case .star = segment[i + 1].kind {
                if segment.count == 2 { return true }
                throw GlobSyntaxError(message: "`**` must be a whole segment", offset: segment[i].offset)
            }
        }
        return false
    }

    /// Emits one atom.
    private mutating func emit(_ atom: GlobAtom) {
        switch atom.kind {
        case .scalar(let s):
            pending.append(contentsOf: String(Character(s)).utf8)
        case .anyScalar:
            emit(GlobOp(kind: .anyScalar))
        case .star:
            emit(GlobOp(kind: starCrossesSeparator ? .anyStar : .segmentStar))
        case .scalarClass(let negated, let list):
            let op = GlobOp(kind: .scalarClass, negated: negated, start: Int32(ranges.count), count: Int32(list.count))
            ranges.append(contentsOf: list)
            emit(op)
        }
    }

    /// Flushes pending literal bytes, then appends a non-literal op.
    private mutating func emit(_ op: GlobOp) {
        flush()
        ops.append(op)
    }

    /// Turns pending literal bytes into a literal op.
    private mutating func flush() {
        guard !pending.isEmpty else { return }
        ops.append(GlobOp(kind: .literal, containsSeparator: pending.contains(separator),
                          start: Int32(bytes.count), count: Int32(pending.count)))
        bytes.append(contentsOf: pending)
        pending.removeAll(keepingCapacity: true)
    }
}

/// The matcher state for one alternative over one subject (lives on the stack).
struct GlobMachine {
    /// The compiled ops.
    let ops: UnsafeBufferPointer<GlobOp>
    /// Literal byte pool.
    let bytes: UnsafeBufferPointer<UInt8>
    /// Class range pool.
    let ranges: UnsafeBufferPointer<ClosedRange<UInt32>>
    /// The subject's UTF-8 bytes.
    let subject: UnsafeBufferPointer<UInt8>
    /// The separator byte.
    let separator: UInt8

    /// Runs ops `[first, end)` against the whole subject.
    func run(_ first: Int, _ end: Int) -> Bool {
        let n = subject.count
        var p = first, s = 0
        var starP = -1, starS = 0          // last segmentStar: resume op, subject position
        var crossP = -1, crossS = 0        // last anyStar / directoryStar
        var crossIsDirectory = false
        while true {
            if p < end {
                let op = ops[p]
                switch op.kind {
                case .literal:
                    let count = Int(op.count)
                    if n - s >= count && literalEquals(at: s, start: Int(op.start), count: count) {
                        s += count
                        p += 1
                        if op.containsSeparator { starP = -1 }
                        continue
                    }
                case .anyScalar:
                    if s < n && subject[s] != separator {
                        s += scalarLength(at: s)
                        p += 1
                        continue
                    }
                case .scalarClass:
                    if s < n && subject[s] != separator {
                        let (value, length) = decodeScalar(at: s)
                        if classContains(value, start: Int(op.start), count: Int(op.count)) != op.negated {
                            s += length
                            p += 1
                            continue
                        }
                    }
                case .segmentStar:
                    if p + 1 == end {
                        // A final `*` must absorb the rest of the subject: no separator allowed.
                        if !containsSeparator(from: s, to: n) { return true }
                        starP = -1
                    } else if p + 2 == end && ops[p + 1].kind == .literal {
                        // `*suffix` ending the pattern: the subject must end with the suffix and the
                        // star's share must hold no separator; no backtracking needed here.
                        let suffix = ops[p + 1]
                        let count = Int(suffix.count)
                        if n - s >= count && literalEquals(at: n - count, start: Int(suffix.start), count: count)
                            && !containsSeparator(from: s, to: n - count) { return true }
                        starP = -1
                    } else {
                        starP = p + 1
                        starS = s
                        p += 1
                        continue
                    }
                case .anyStar:
                    if p + 1 == end { return true }
                    crossP = p + 1
                    crossS = s
                    crossIsDirectory = false
                    starP = -1
                    p += 1
                    continue
                case .directoryStar:
                    crossP = p + 1
                    crossS = s
                    crossIsDirectory = true
                    starP = -1
                    p += 1
                    continue
                case .tailStar:
                    if s == n || subject[s] == separator { return true }
                }
            } else if s == n {
                return true
            }
            // Mismatch: extend the last segment star, else the last crossing star, else fail.
            if starP >= 0 && starS < n && subject[starS] != separator {
                starS += scalarLength(at: starS)
                let next = ops[starP]
                if next.kind == .literal {
                    // Skip to the next place the following literal could start (its first byte is
                    // never a UTF-8 continuation byte, so this cannot land mid-scalar).
                    let first = bytes[Int(next.start)]
                    while starS < n && subject[starS] != first && subject[starS] != separator { starS += 1 }
                }
                p = starP
                s = starS
                continue
            }
            guard crossP >= 0, crossS < n else { return false }
            if crossIsDirectory {
                guard let i = firstSeparator(from: crossS, to: n) else { return false }
                crossS = i + 1
            } else {
                crossS += scalarLength(at: crossS)
            }
            p = crossP
            s = crossS
            starP = -1
        }
    }

    /// True when the subject holds `count` pool bytes from `start` at position `at`.
    @inline(__always)
    func literalEquals(at position: Int, start: Int, count: Int) -> Bool {
        guard count > 0, let a = subject.baseAddress, let b = bytes.baseAddress else { return count == 0 }
        return memcmp(a + position, b + start, count) == 0
    }

    /// True when the separator occurs in `[position, end)`.
    @inline(__always)
    func containsSeparator(from position: Int, to end: Int) -> Bool {
        firstSeparator(from: position, to: end) != nil
    }

    /// Index of the first separator in `[position, end)`, or nil.
    @inline(__always)
    func firstSeparator(from position: Int, to end: Int) -> Int? {
        guard position < end, let base = subject.baseAddress,
              let found = memchr(base + position, Int32(separator), end - position) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }

    /// Byte length of the UTF-8 sequence starting at `position` (1 for stray bytes), within bounds.
    @inline(__always)
    func scalarLength(at position: Int) -> Int {
        let lead = subject[position]
        let length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        return min(length, subject.count - position)
    }

    /// Decodes the scalar at `position`; an invalid sequence decodes as one byte with value `UInt32.max`.
    @inline(__always)
    func decodeScalar(at position: Int) -> (UInt32, Int) {
        let lead = UInt32(subject[position])
        if lead < 0x80 { return (lead, 1) }
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2 ... 0xDF: length = 2; value = lead & 0x1F
        case 0xE0 ... 0xEF: length = 3; value = lead & 0x0F
        case 0xF0 ... 0xF4: length = 4; value = lead & 0x07
        default: return (UInt32.max, 1)
        }
        guard subject.count - position >= length else { return (UInt32.max, 1) }
        for i in 1 ..< length {
            let byte = UInt32(subject[position + i])
            guard byte & 0xC0 == 0x80 else { return (UInt32.max, 1) }
            value = value << 6 | (byte & 0x3F)
        }
        return (value, length)
    }

    /// True when `value` lies in one of `count` pool ranges from `start`.
    @inline(__always)
    func classContains(_ value: UInt32, start: Int, count: Int) -> Bool {
        var i = start
        while i < start + count {
            if ranges[i].contains(value) { return true }
            i += 1
        }
        return false
    }
}
