// The regex work budget of one decision and the cost model that charges it (the measurements
// behind every weight are in the comment atop Regex.swift).
//
// One unit is at most about 0.6 ns of matching on the machine the weights were measured on: the
// budget of a decision, 1,000,000 units, pays for at most about 0.6 ms of matching (0.25–0.55 ms
// measured for the whole budget, depending on the shape). Every charge is
// a function of the pattern, the subject and the budget left, never of a clock, so the same request
// and policies always spend the same units and reach the same decision.

/// The regex work budget of one decision, shared by every `=~` the decision evaluates.
///
/// A decision makes one on its stack and passes it to each search by pointer; a search charges the
/// work it may do before (or, on the exact tier, while) doing it, and answers a budget error when
/// the units left cannot pay for it. Once spent, every later search of the decision errors too,
/// including the literal prefilter's scan (half a unit a byte), which answers most subjects
/// without running PCRE2.
public struct RegexBudget: Sendable, Equatable {
    /// The units a decision starts with (about 0.6 ms of worst-case matching).
    public static let unitsPerDecision = 1_000_000
    /// The longest subject `=~` looks at, in bytes; a longer one is a budget error (never a look at
    /// a prefix, which could let a deny rule miss).
    public static let maxSubjectBytes = 64 * 1024

    /// The units left.
    public internal(set) var remaining: Int

    /// Creates a budget of `units` (a decision's worth by default).
    public init(units: Int = RegexBudget.unitsPerDecision) {
        remaining = max(0, units)
    }

    /// True when nothing is left, so every search that reaches PCRE2 errors.
    public var isExhausted: Bool { remaining <= 0 }

    /// Takes `units` when that many are left and reports whether it did; otherwise spends the
    /// rest, so the decision's later searches error as well.
    @inline(__always)
    mutating func pay(_ units: Int) -> Bool {
        if units <= remaining {
            remaining -= units
            return true
        }
        remaining = 0
        return false
    }
}

/// The weights of the cost model, in budget units (about 0.6 ns each).
enum RegexCost {
    /// Entering PCRE2 once (thread state, match set-up, the JIT's entry and exit).
    static let search = 40
    /// One start position the JIT tier may try (its start-of-match scan and entry).
    static let position = 4
    /// One step that PCRE2's JIT counts against its match limit (a backtrack or group entry).
    static let counted = 3
    /// One callout on the exact tier (PCRE2 fills a block and calls the meter).
    static let callout = 20
    /// The literal prefilter's scan of `bytes` subject bytes: half a unit a byte, the rate of its
    /// worst case (a near-miss subject, about 0.25 ns a byte), plus one.
    static func prefilter(_ bytes: Int) -> Int { bytes >> 1 + 1 }
    /// One capturing group's offsets, which PCRE2 copies into every callout block.
    static let capture = 4
    /// The first per-position match limit the fast tier tries for an unanchored pattern with a
    /// quantifier (ordinary ones need 1–4); one without needs 1. Each retry multiplies it by
    /// `limitGrowth`.
    static let firstLimit: UInt32 = 4
    /// The first limit for an anchored pattern, whose one start position makes a try cheap (a path
    /// regex with a repeated group needs 23).
    static let firstAnchoredLimit: UInt32 = 32
    /// How much the fast tier's per-position limit grows from one try to the next.
    static let limitGrowth: UInt32 = 8
    /// The most one fast-tier try may cost: past it the exact tier is cheaper to pay for.
    static let fastTryMax = 64_000

    /// `a * b`, or `Int.max` when that overflows (costs only ever need to exceed a bound).
    @inline(__always)
    static func product(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : value
    }

    /// `a + b`, or `Int.max` when that overflows.
    @inline(__always)
    static func sum(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : value
    }
}

/// What the cost model needs to know about a pattern, read once when it is compiled.
struct RegexWorkProfile: Sendable, Equatable {
    /// The pattern's length in bytes.
    var patternBytes: Int
    /// The bytes of the longest single path through the pattern (one alternative of each
    /// alternation, a bounded repeat's body as often as it may repeat): a bound on the compares one
    /// combination of choices makes (half a unit each).
    var longestPath: Int
    /// How many items may scan the rest of the subject between two counted steps: every `*`, `+`
    /// and `{` byte (a quantifier, or an over-count), every backreference and every `\X`.
    var scanners: Int
    /// The largest number written after a `{` (how far a counted repeat can compare before it
    /// fails), at least 1.
    var largestRepeat: Int
    /// A bound on the combinations of choices the JIT explores without a counted step: the
    /// product of the alternatives of every group (and of the whole pattern), times 2 for every
    /// `?`, every lazy or possessive mark and every group repeated with `*` or `+`, times
    /// b − a + 1 for every `{a,b}`.
    var choices: Int
    /// The capturing groups of the exact tier's code: PCRE2 copies their offsets into every
    /// callout block, about 1.6 ns each.
    var meteredCaptures: Int
    /// True when PCRE2 anchors the pattern, so only the first start position is tried.
    var anchored: Bool
    /// The fast tier's first per-position limit: `RegexCost.firstAnchoredLimit` for an anchored
    /// pattern, 1 for one without quantifiers, else `RegexCost.firstLimit`.
    var firstLimit: UInt32
    /// True when the fast tier's bound holds for the pattern: JIT-compiled, with no recursion or
    /// subroutine call (which re-runs groups without a counted step of its own).
    var fastTier: Bool
    /// The part of one counted step's bound that does not grow with the subject: the step and
    /// every combination of choices making the longest path's compares (set by `of`).
    var stepBase = 0
    /// The part of one counted step's bound per subject byte: every combination of choices making
    /// one forward scan and one backward search per scanning item (set by `of`).
    var stepPerByte = 0

    /// The cost of one exact-tier callout: its fixed weight, the copy of every capture into the
    /// callout block, and the compares one pattern item can make before it fails without reaching
    /// the next callout (a counted repeat's minimum; a character class's ranges, bounded by the
    /// pattern's length).
    var calloutCost: Int {
        let copies = RegexCost.product(RegexCost.capture, meteredCaptures)
        return RegexCost.sum(RegexCost.sum(RegexCost.callout, copies), RegexCost.sum(largestRepeat, patternBytes / 16))
    }

    /// A bound on the fast tier's work on a subject of `length` bytes when no start position takes
    /// more than `limit` counted steps: per position tried, its entry plus, for each counted step
    /// and the stretch before the first, the step and every combination of uncounted choices, each
    /// making the pattern's compares (half a unit a byte) and one forward scan and one backward
    /// search of the subject per scanning item (a unit a byte).
    /// Computed in floating point (exact below 2^53, and only ever compared with bounds far
    /// below that), so no product can overflow.
    @inline(__always)
    func fastCost(limit: UInt32, length: Int) -> Double {
        let positions = anchored ? 1 : Double(length + 1)
        let step = Double(stepBase) + Double(stepPerByte) * Double(length)
        return Double(RegexCost.search) + positions * (Double(RegexCost.position) + (Double(limit) + 1) * step)
    }



    /// The exact tier's charge before it runs: entering PCRE2 and the start-of-match scans, which
    /// visit each subject byte at most twice in one search.
    func exactBaseCost(length: Int) -> Int {
        RegexCost.sum(RegexCost.search, RegexCost.product(2, length))
    }

    /// Reads `pattern` (its UTF-8 bytes) conservatively: over-counting only makes charges larger.
    static func of(_ pattern: [UInt8], anchored: Bool, jit: Bool, meteredCaptures: Int) -> RegexWorkProfile {
        var scanners = 0
        var largestRepeat = 1
        var recursion = false
        let count = pattern.count
        var i = 0
        while i < count {
            let byte = pattern[i]
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "+"):
                scanners += 1
            case UInt8(ascii: "{"):
                scanners += 1
                var j = i + 1
                var value = 0
                while j < count {
                    let digit = pattern[j]
                    if digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") {
                        value = min(1 << 20, value * 10 + Int(digit - UInt8(ascii: "0")))
                        largestRepeat = max(largestRepeat, value)
                    } else if digit == UInt8(ascii: ",") {
                        value = 0
                    } else {
                        break
                    }
                    j += 1
                }
            case UInt8(ascii: "\\") where i + 1 < count:
                let next = pattern[i + 1]
                if (next >= UInt8(ascii: "1") && next <= UInt8(ascii: "9")) || next == UInt8(ascii: "k") || next == UInt8(ascii: "X") {
                    scanners += 1
                } else if next == UInt8(ascii: "g") {
                    scanners += 1
                    // `\g<…>` and `\g'…'` call a group (Oniguruma syntax); `\g{…}` and `\gN` refer back.
                    if i + 2 < count, pattern[i + 2] == UInt8(ascii: "<") || pattern[i + 2] == UInt8(ascii: "'") { recursion = true }
                }
                i += 2
                continue
            case UInt8(ascii: "(") where i + 2 < count && pattern[i + 1] == UInt8(ascii: "?"):
                let kind = pattern[i + 2]
                if kind == UInt8(ascii: "R") || kind == UInt8(ascii: "&") || (kind >= UInt8(ascii: "0") && kind <= UInt8(ascii: "9")) {
                    recursion = true
                } else if kind == UInt8(ascii: "+") || kind == UInt8(ascii: "-") {
                    if i + 3 < count, pattern[i + 3] >= UInt8(ascii: "0"), pattern[i + 3] <= UInt8(ascii: "9") { recursion = true }
                } else if kind == UInt8(ascii: "P"), i + 3 < count {
                    if pattern[i + 3] == UInt8(ascii: ">") { recursion = true }
                    if pattern[i + 3] == UInt8(ascii: "=") { scanners += 1 }
                }
            default:
                break
            }
            i += 1
        }
        let (choices, longestPath) = choiceBound(pattern)
        // Only a first guess (a wrong one costs a retry, never soundness): a `?` not opening a group
        // kind is a quantifier.
        let optional = pattern.indices.contains { pattern[$0] == UInt8(ascii: "?") && ($0 == 0 || pattern[$0 - 1] != UInt8(ascii: "(")) }
        let quantified = scanners > 0 || optional
        var profile = RegexWorkProfile(patternBytes: count, longestPath: longestPath, scanners: scanners, largestRepeat: largestRepeat,
                                       choices: choices, meteredCaptures: meteredCaptures, anchored: anchored,
                                       firstLimit: anchored ? RegexCost.firstAnchoredLimit : (quantified ? RegexCost.firstLimit : 1),
                                       fastTier: jit && !recursion)
        profile.stepBase = RegexCost.sum(RegexCost.counted, RegexCost.product(choices, (longestPath + 1) / 2))
        profile.stepPerByte = RegexCost.product(choices, RegexCost.product(2, scanners))
        return profile
    }

    /// True when `pattern` may refer to a group by number or name (a backreference, a condition on
    /// a group, a recursion or subroutine call); over-detection only costs speed. Without such a
    /// reference, the exact tier's code may drop the numbered captures (PCRE2_NO_AUTO_CAPTURE),
    /// whose copies make each callout slower, without changing what matches.
    static func refersToGroups(_ pattern: [UInt8]) -> Bool {
        let count = pattern.count
        for i in 0 ..< count {
            let next = i + 1 < count ? pattern[i + 1] : 0
            if pattern[i] == UInt8(ascii: "\\") {
                if (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) || next == UInt8(ascii: "g") || next == UInt8(ascii: "k") { return true }
            } else if pattern[i] == UInt8(ascii: "("), next == UInt8(ascii: "?"), i + 2 < count {
                let kind = pattern[i + 2]
                if kind == UInt8(ascii: "(") || kind == UInt8(ascii: "R") || kind == UInt8(ascii: "&") || kind == UInt8(ascii: "P")
                    || kind == UInt8(ascii: "+") || kind == UInt8(ascii: "-") || (kind >= UInt8(ascii: "0") && kind <= UInt8(ascii: "9")) {
                    return true
                }
            }
        }
        return false
    }

    /// `choices` for `pattern`, read group by group; when the reading is unsure (extended mode,
    /// whose comments may hide parentheses, `\Q…\E`, unbalanced parentheses) the coarser bound
    /// 2^(every `|`, `?`, `*` and `+`) × every `{a,b}` range, which no grouping of the same bytes
    /// exceeds.
    static func choiceBound(_ pattern: [UInt8]) -> (choices: Int, longestPath: Int) {
        let reader = ChoiceReader(pattern)
        if let bound = reader.read() { return bound }
        var coarse = 1
        for (i, byte) in pattern.enumerated() {
            switch byte {
            case UInt8(ascii: "|"), UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"):
                coarse = RegexCost.product(coarse, 2)
            case UInt8(ascii: "{"):
                if let repeatCount = reader.repeatRange(from: i) { coarse = RegexCost.product(coarse, repeatCount.range) }
            default:
                break
            }
        }
        return (coarse, pattern.count)
    }
}

/// Reads a pattern's groups to bound its uncounted choices (`RegexWorkProfile.choices`).
struct ChoiceReader {
    /// The pattern's bytes.
    let pattern: [UInt8]

    /// Creates a reader over `pattern`.
    init(_ pattern: [UInt8]) {
        self.pattern = pattern
    }

    /// The choices bound and the longest path, or nil when the pattern is outside what this
    /// reading understands.
    func read() -> (choices: Int, longestPath: Int)? {
        // Each open group: its alternatives so far, the product of the choices inside it, and the
        // length of its current alternative and of its longest one.
        var stack: [(alternatives: Int, inner: Int, current: Int, longest: Int)] = [(1, 1, 0, 0)]
        var i = 0
        let count = pattern.count
        while i < count {
            let byte = pattern[i]
            let atomStart = i
            var closed: (choices: Int, length: Int)?
            switch byte {
            case UInt8(ascii: "\\"):
                if i + 1 < count, pattern[i + 1] == UInt8(ascii: "Q") { return nil }
                i += 2
            case UInt8(ascii: "["):
                i = endOfClass(from: i)
            case UInt8(ascii: "("):
                if i + 2 < count, pattern[i + 1] == UInt8(ascii: "?"), pattern[i + 2] == UInt8(ascii: "#") {
                    while i < count, pattern[i] != UInt8(ascii: ")") { i += 1 }
                    i += 1
                    continue
                }
                if optionsEnableExtended(at: i) { return nil }
                stack.append((1, 1, 0, 0))
                i += 1
                // `(?` and `(*` start a kind or a verb, not a quantifier.
                if i < count, pattern[i] == UInt8(ascii: "?") || pattern[i] == UInt8(ascii: "*") { i += 1 }
                continue
            case UInt8(ascii: ")"):
                guard stack.count > 1 else { return nil }
                let group = stack.removeLast()
                closed = (RegexCost.product(group.alternatives, group.inner), max(group.longest, group.current) + 2)
                i += 1
            case UInt8(ascii: "|"):
                let top = stack.count - 1
                stack[top].alternatives += 1
                stack[top].longest = max(stack[top].longest, stack[top].current)
                stack[top].current = 0
                i += 1
                continue
            default:
                i += 1
            }
            // A quantifier after the atom that ended at `i`.
            var factor = closed?.choices ?? 1
            var length = closed?.length ?? (i - atomStart)
            if i < count {
                switch pattern[i] {
                case UInt8(ascii: "?"):
                    factor = RegexCost.product(factor, 2)
                    i += 1
                case UInt8(ascii: "*"), UInt8(ascii: "+"):
                    if closed != nil {
                        // Iterations are counted steps; one stretch between two may hold the end of
                        // one iteration and the start of the next.
                        factor = RegexCost.product(factor, 2)
                        length = RegexCost.product(length, 2)
                    }
                    i += 1
                case UInt8(ascii: "{"):
                    if let (range, most, end) = repeatRange(from: i) {
                        factor = RegexCost.product(factor, range)
                        length = RegexCost.product(length, closed == nil ? 1 : most)
                        i = end
                    }
                default:
                    break
                }
                // A lazy or possessive mark.
                if i < count, pattern[i] == UInt8(ascii: "?") || pattern[i] == UInt8(ascii: "+") {
                    factor = RegexCost.product(factor, 2)
                    i += 1
                }
            }
            let top = stack.count - 1
            stack[top].inner = RegexCost.product(stack[top].inner, factor)
            stack[top].current = RegexCost.sum(stack[top].current, length)
        }
        guard stack.count == 1 else { return nil }
        return (RegexCost.product(stack[0].alternatives, stack[0].inner), max(stack[0].longest, stack[0].current))
    }

    /// Index just after the class opening at `start` (`]` first is literal; `\` escapes).
    func endOfClass(from start: Int) -> Int {
        var i = start + 1
        if i < pattern.count, pattern[i] == UInt8(ascii: "^") { i += 1 }
        if i < pattern.count, pattern[i] == UInt8(ascii: "]") { i += 1 }
        while i < pattern.count {
            if pattern[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if pattern[i] == UInt8(ascii: "["), i + 1 < pattern.count, pattern[i + 1] == UInt8(ascii: ":") {
                var j = i + 2
                while j + 1 < pattern.count, !(pattern[j] == UInt8(ascii: ":") && pattern[j + 1] == UInt8(ascii: "]")) { j += 1 }
                i = j + 2
                continue
            }
            if pattern[i] == UInt8(ascii: "]") { return i + 1 }
            i += 1
        }
        return i
    }

    /// True when the `(` at `start` is an option setting that turns on extended mode (`(?x)`,
    /// `(?xx:`, `(?^x)`), whose comments this reading does not follow.
    func optionsEnableExtended(at start: Int) -> Bool {
        guard start + 1 < pattern.count, pattern[start + 1] == UInt8(ascii: "?") else { return false }
        var i = start + 2
        while i < pattern.count {
            let byte = pattern[i]
            if byte == UInt8(ascii: "x") { return true }
            if byte == UInt8(ascii: "-") { return false }
            guard (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || byte == UInt8(ascii: "^") else { return false }
            i += 1
        }
        return false
    }

    /// What the repeat `{a,b}` at `start` allows: how many counts (b − a + 1; 1 for `{a}` and
    /// `{a,}`, whose open end is a counted repeat), the most copies of its body one path holds (b,
    /// or a for `{a,}`), and where it ends; nil when `{` is a literal.
    func repeatRange(from start: Int) -> (range: Int, most: Int, end: Int)? {
        var i = start + 1
        var low = 0, high = -1
        var digits = 0
        while i < pattern.count, pattern[i] >= UInt8(ascii: "0"), pattern[i] <= UInt8(ascii: "9") {
            low = min(1 << 20, low * 10 + Int(pattern[i] - UInt8(ascii: "0")))
            digits += 1
            i += 1
        }
        guard digits > 0, i < pattern.count else { return nil }
        if pattern[i] == UInt8(ascii: "}") { return (1, max(1, low), i + 1) }
        guard pattern[i] == UInt8(ascii: ",") else { return nil }
        i += 1
        while i < pattern.count, pattern[i] >= UInt8(ascii: "0"), pattern[i] <= UInt8(ascii: "9") {
            high = min(1 << 20, max(0, high) * 10 + Int(pattern[i] - UInt8(ascii: "0")))
            i += 1
        }
        guard i < pattern.count, pattern[i] == UInt8(ascii: "}") else { return nil }
        if high < 0 { return (1, max(1, low), i + 1) }
        return (max(1, high - low + 1), max(1, high), i + 1)
    }
}
