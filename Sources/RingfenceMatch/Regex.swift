// PCRE2 regexes: compiled once (JIT when available), matched allocation-free from many threads,
// under a work budget shared by every `=~` of one decision (SPEC §3.2).
//
// Options: PCRE2_UTF (patterns and subjects are UTF-8; `.` and classes work on scalars; `(?i)`
// folds non-ASCII case too) and PCRE2_NEVER_BACKSLASH_C (`\C` could split a UTF-8 sequence).
// PCRE2_UCP is off for speed: `\b`, `\w`, `\d`, `\s` and POSIX classes are ASCII-only; a pattern
// may opt in with a leading `(*UCP)`.
//
// Matching state: compiled patterns are immutable and shared. Each thread owns one match-data block,
// three match contexts and one JIT stack (RegexMetering.swift), created on its first search and
// freed when it exits, so a search allocates nothing after the thread's first.
//
// ## The work budget, measured (PCRE2 10.42 with JIT, this project's 2-core x86-64 machine)
//
// PCRE2's match limit is not a budget. Probed with a C program against libpcre2-8:
// - It counts per start position, with and without JIT: `(a+)+$` against ("a"×k + "!")×r needs
//   the same smallest limit for r = 1, 4 and 16 (k = 14: 32,766 with JIT, 40,960 without), so one
//   search may do (subject length × limit). `(a+)+$` against ("a"×18 + "!")×1000 hits 1,000,000 at
//   no position and runs for seconds.
// - The JIT counts iterations of repeated groups and backtracking steps of repeats, about
//   1.2–1.3 ns each (a hit limit of 1,000,000 takes 1.2–1.3 ms); a tried start position costs
//   1.5–1.8 ns.
// - It does not count scanning: a repeat's forward scan, a possessive or lookahead scan, the
//   backward search for the character after `.*`, a backreference compare. `(?:x.*c)+[de]`
//   against "x"×20,000 + "c" takes 350 ms with at most 2 counted steps per position, and
//   `x(?=[ax]*c)` against "x"×100,000 2.9 s with 1 (PCRE2_NO_AUTO_POSSESS changes nothing).
// - Nor does it count backtracking into the alternatives of a group that is not repeated:
//   `(a|aa)`×12 + `b` against 100 × "a" + "cb" takes 0.84 ms with 1 counted step per position.
// - PCRE2_AUTO_CALLOUT puts a callout before every pattern item, and `callout_flags`,
//   `current_position` and `pattern_position` let it charge exactly: the item, how far the
//   position moved forward since the previous item (the scan that item made), and the rest of the
//   subject before a backreference. A callout costs 4–10 ns plus about 1.6 ns per capturing group
//   (PCRE2 copies the offsets into the callout block: 21 groups, 38 ns), and the callout code loses
//   the JIT's shortcuts: ordinary patterns run 2–10× slower (`(?i)\b(DROP|TRUNCATE)\b` on 70 bytes
//   42 → 111 ns, a path regex 47 → 292 ns), and shapes the plain JIT finishes in microseconds
//   (`\s*$` against 10,000 spaces, 24 µs) are quadratic again.
// - pcre2_dfa_match also tries one start position after another, and has no backreferences.
//
// So a search takes one of two tiers, both paid from the decision's `RegexBudget` (1,000,000
// units; a unit is about 0.6 ns or less of the work it pays for; weights in RegexBudget.swift):
// 1. A subject over `RegexBudget.maxSubjectBytes` (64 KiB) is the budget error, never a look at a
//    prefix. Then the literal prefilter answers, for nothing, every subject lacking its literal.
// 2. Fast tier, the plain JIT code. A try with per-position match limit L is paid before it runs
//    with a bound that holds whatever the JIT leaves uncounted: per start position (1 when PCRE2
//    anchors the pattern, else length + 1), its entry plus (L + 1) × (a counted step + every
//    combination of the choices the JIT does not count — alternatives of groups, `?`, `{a,b}` —
//    each making the compares of the longest path through the pattern and one forward scan and one
//    backward search of the subject per repeat or backreference). L starts at 32 for an anchored
//    pattern, at 1 for one without quantifiers, else at 4 (ordinary patterns need 1–4 per
//    position, a path regex with a repeated group 23) and grows 8× per try while a try costs at
//    most 64,000 units and the budget can pay. Over 36 catastrophic and ordinary shapes at 15
//    lengths (8 B to 64 KiB), no fast try took over 0.2 of its charge (at 0.6 ns a unit).
//    Ordinary patterns on short subjects stay here, at the plain JIT's speed.
// 3. Exact tier, the auto-callout code (JIT-compiled, without numbered captures when the pattern
//    refers to no group): 2 units a subject byte up front for the start-of-match scans, then the
//    meter charges every callout 20 units + 4 per capture + the longest counted repeat's minimum
//    + the forward distance moved (+ the rest of the subject before a backreference), and stops
//    the match with the budget error when it cannot pay. It takes the searches whose fast bound is
//    too large (long subjects; unanchored patterns with repeats beyond about a hundred bytes) or
//    whose fast tries hit their limits. Spending the whole budget takes 0.25–0.55 ms (release,
//    unloaded): about 0.35 ns a unit when callouts dominate, 0.53 when scans do.
// Charges depend on pattern, subject and the units left, never on a clock: the same request and
// policies always give the same decision. Once the budget is spent, every further search of the
// decision that reaches PCRE2 is the budget error.
//
// Without JIT (a platform PCRE2 has no JIT for) every search takes the exact tier on the
// interpreter, which is slower per unit.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CPCRE2

/// A regex syntax error: PCRE2's message and the Unicode-scalar offset where it was detected.
public struct RegexSyntaxError: Error, Sendable, Hashable {
    /// PCRE2's own message (lowercase, no final period).
    public var message: String
    /// Offset into the pattern, counted in Unicode scalars.
    public var offset: Int

    /// Creates an error with its message and scalar offset.
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
}

/// The result of one search: a match, no match, or a PCRE2 error code (budget, JIT stack…).
public enum RegexOutcome: Sendable, Equatable {
    /// The pattern matched somewhere in the subject.
    case match
    /// The pattern matched nowhere.
    case noMatch
    /// Matching failed with this PCRE2 error code (`overBudget`'s -47 for the work budget or a
    /// subject over the length cap); callers fail closed.
    case error(Int32)

    /// The budget error: the decision's regex work budget could not pay for the search, or the
    /// subject is longer than `RegexBudget.maxSubjectBytes`.
    public static let overBudget = RegexOutcome.error(PCRE2_ERROR_MATCHLIMIT)
}

/// A compiled PCRE2 pattern shared read-only by all threads.
public final class Regex: @unchecked Sendable {
    /// The source pattern as written.
    public let pattern: String
    /// The compiled code (never mutated after compilation).
    private let code: OpaquePointer
    /// The same pattern compiled with PCRE2_AUTO_CALLOUT, for the exact tier (nil if PCRE2 could
    /// not compile it, and then a search the fast tier cannot answer is a budget error).
    private let meteredCode: OpaquePointer?
    /// True when JIT compilation succeeded and `pcre2_jit_match_8` may be used.
    public let isJIT: Bool
    /// True when the auto-callout code is JIT-compiled as well.
    private let isMeteredJIT: Bool
    /// A literal every match contains, when one can be proven (`RegexPrefilter`); a subject
    /// without it cannot match, so PCRE2 is not run.
    public let prefilter: RegexPrefilter?
    /// The prefilter's literal in a buffer owned by this object (empty without a prefilter).
    private let literal: UnsafeMutableBufferPointer<UInt8>
    /// The pattern's bytes in a buffer owned by this object (read by the exact tier's meter).
    private let patternBytes: UnsafeMutableBufferPointer<UInt8>
    /// What the cost model knows about the pattern.
    let profile: RegexWorkProfile

    /// Limits applied to every search besides the budget.
    public enum Limits {
        /// PCRE2's per-position match limit for `searchWithPCRE2` (unbudgeted reference searches).
        public static let match: UInt32 = 1_000_000
        /// Maximum backtracking depth for the interpreter.
        public static let depth: UInt32 = 100_000
        /// Maximum interpreter heap for backtracking, in KiB.
        public static let heapKiB: UInt32 = 65_536
        /// Initial JIT stack size in bytes.
        public static let jitStackStart = 32 * 1024
        /// Maximum JIT stack size in bytes.
        public static let jitStackMax = 1024 * 1024
    }

    /// Wraps compiled code.
    private init(pattern: String, code: OpaquePointer, isJIT: Bool, meteredCode: OpaquePointer?, isMeteredJIT: Bool, meteredCaptures: Int) {
        self.pattern = pattern
        self.code = code
        self.isJIT = isJIT
        self.meteredCode = meteredCode
        self.isMeteredJIT = isMeteredJIT
        let prefilter = RegexPrefilter.extract(from: pattern)
        self.prefilter = prefilter
        literal = Regex.buffer(prefilter?.literal ?? [])
        let bytes = Array(pattern.utf8)
        patternBytes = Regex.buffer(bytes)
        var options: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_ALLOPTIONS), &options)
        profile = RegexWorkProfile.of(bytes, anchored: options & UInt32(PCRE2_ANCHORED) != 0, jit: isJIT, meteredCaptures: meteredCaptures)
    }

    deinit {
        pcre2_code_free_8(code)
        if let meteredCode { pcre2_code_free_8(meteredCode) }
        literal.baseAddress?.deallocate()
        patternBytes.baseAddress?.deallocate()
    }

    /// A buffer of at least one byte holding `bytes`, viewed as exactly `bytes.count` bytes.
    private static func buffer(_ bytes: [UInt8]) -> UnsafeMutableBufferPointer<UInt8> {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, bytes.count))
        _ = buffer.initialize(from: bytes)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<bytes.count])
    }

    /// Compiles `pattern` with PCRE2_UTF and JIT-compiles it (falling back to the interpreter),
    /// and compiles the exact tier's auto-callout code beside it.
    public static func compile(_ pattern: String) throws(RegexSyntaxError) -> Regex {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_NEVER_BACKSLASH_C)
        var source = pattern
        let compiled: OpaquePointer? = source.withUTF8 { utf8 in
            pcre2_compile_8(utf8.baseAddress ?? UnsafePointer(emptySubject), utf8.count, options,
                            &errorCode, &errorOffset, nil)
        }
        guard let code = compiled else {
            throw RegexSyntaxError(message: errorMessage(errorCode),
                                   offset: scalarOffset(in: pattern, byteOffset: errorOffset))
        }
        let isJIT = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE)) == 0
        var meteredOptions = options | UInt32(PCRE2_AUTO_CALLOUT)
        if !RegexWorkProfile.refersToGroups(Array(pattern.utf8)) { meteredOptions |= UInt32(PCRE2_NO_AUTO_CAPTURE) }
        let metered: OpaquePointer? = source.withUTF8 { utf8 in
            pcre2_compile_8(utf8.baseAddress ?? UnsafePointer(emptySubject), utf8.count, meteredOptions, &errorCode, &errorOffset, nil)
        }
        let isMeteredJIT = metered.map { pcre2_jit_compile_8($0, UInt32(PCRE2_JIT_COMPLETE)) == 0 } ?? false
        var captures: UInt32 = 0
        if let metered { pcre2_pattern_info_8(metered, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures) }
        return Regex(pattern: pattern, code: code, isJIT: isJIT, meteredCode: metered, isMeteredJIT: isMeteredJIT,
                     meteredCaptures: Int(captures))
    }

    /// Searches anywhere in `subject` (valid UTF-8, as from a Swift string), paying from `budget`;
    /// allocation-free after the calling thread's first search. A subject over the length cap is
    /// `.overBudget`; one lacking the prefilter's literal is `.noMatch` for nothing (the true
    /// answer); otherwise the fast tier tries while its bound is affordable, then the exact tier
    /// runs until the budget is spent.
    public func search(_ subject: UnsafeBufferPointer<UInt8>, budget: inout RegexBudget) -> RegexOutcome {
        guard subject.count <= RegexBudget.maxSubjectBytes else { return .overBudget }
        if let prefilter {
            // Scanning for the literal is work too, paid by the byte, so no number of rules on a
            // long subject makes a decision slow.
            guard budget.pay(RegexCost.prefilter(subject.count)) else { return .overBudget }
            if !RegexPrefilter.mayMatch(subject, literal: UnsafeBufferPointer(literal), anchor: prefilter.anchor,
                                        caseless: prefilter.caseless) {
                return .noMatch
            }
        }
        guard let state = RegexThreadState.current() else { return .error(Int32(PCRE2_ERROR_NOMEMORY)) }
        if profile.fastTier, let outcome = fastSearch(subject, budget: &budget, state) {
            return outcome
        }
        return exactSearch(subject, budget: &budget, state)
    }

    /// Searches anywhere in `subject` with a budget of its own (a whole decision's worth).
    public func search(_ subject: UnsafeBufferPointer<UInt8>) -> RegexOutcome {
        var budget = RegexBudget()
        return search(subject, budget: &budget)
    }

    /// The fast tier: plain JIT tries with a growing per-position limit, each paid for before it
    /// runs; nil when the next try costs more than a try may or than the budget has left.
    func fastSearch(_ subject: UnsafeBufferPointer<UInt8>, budget: inout RegexBudget,
                    _ state: UnsafeMutablePointer<RegexThreadState>) -> RegexOutcome? {
        let base = subject.baseAddress ?? UnsafePointer(emptySubject)
        let fast = profile
        var limit = fast.firstLimit
        while true {
            let cost = fast.fastCost(limit: limit, length: subject.count)
            guard cost <= Double(min(RegexCost.fastTryMax, budget.remaining)) else { return nil }
            budget.remaining -= Int(cost)
            if state.pointee.fastLimit != limit {
                pcre2_set_match_limit_8(state.pointee.fastContext, limit)
                state.pointee.fastLimit = limit
            }
            let rc = pcre2_jit_match_8(code, base, subject.count, 0, 0, state.pointee.matchData, state.pointee.fastContext)
            if rc >= 0 { return .match }
            if rc == PCRE2_ERROR_NOMATCH { return .noMatch }
            guard rc == PCRE2_ERROR_MATCHLIMIT else { return .error(rc) }
            guard limit <= UInt32.max / RegexCost.limitGrowth else { return nil }
            limit *= RegexCost.limitGrowth
        }
    }

    /// The exact tier: the auto-callout code, its start-of-match scans paid up front and every
    /// pattern item charged by the meter; `.overBudget` once the budget cannot pay.
    func exactSearch(_ subject: UnsafeBufferPointer<UInt8>, budget: inout RegexBudget,
                     _ state: UnsafeMutablePointer<RegexThreadState>) -> RegexOutcome {
        guard let meteredCode, budget.pay(profile.exactBaseCost(length: subject.count)) else { return .overBudget }
        let base = subject.baseAddress ?? UnsafePointer(emptySubject)
        state.pointee.meter = RegexMeter(remaining: budget.remaining, last: 0, subjectLength: subject.count,
                                         calloutCost: profile.calloutCost, pattern: UnsafePointer(patternBytes.baseAddress),
                                         patternLength: patternBytes.count, exhausted: false)
        let rc: Int32
        if isMeteredJIT {
            rc = pcre2_jit_match_8(meteredCode, base, subject.count, 0, 0, state.pointee.matchData, state.pointee.exactContext)
        } else {
            rc = pcre2_match_8(meteredCode, base, subject.count, 0, UInt32(PCRE2_NO_UTF_CHECK),
                               state.pointee.matchData, state.pointee.exactContext)
        }
        budget.remaining = state.pointee.meter.remaining
        if rc >= 0 { return .match }
        if rc == PCRE2_ERROR_NOMATCH { return .noMatch }
        if state.pointee.meter.exhausted { return .overBudget }
        return .error(rc)
    }

    /// Searches with PCRE2 alone: no prefilter, no budget, no length cap, PCRE2's per-position
    /// match limit (`Limits.match`) only. The reference the budgeted search is tested against.
    public func searchWithPCRE2(_ subject: UnsafeBufferPointer<UInt8>) -> RegexOutcome {
        guard let state = RegexThreadState.current() else { return .error(Int32(PCRE2_ERROR_NOMEMORY)) }
        let base = subject.baseAddress ?? UnsafePointer(emptySubject)
        let rc: Int32
        if isJIT {
            rc = pcre2_jit_match_8(code, base, subject.count, 0, 0, state.pointee.matchData, state.pointee.plainContext)
        } else {
            rc = pcre2_match_8(code, base, subject.count, 0, UInt32(PCRE2_NO_UTF_CHECK),
                               state.pointee.matchData, state.pointee.plainContext)
        }
        if rc >= 0 { return .match }
        if rc == PCRE2_ERROR_NOMATCH { return .noMatch }
        return .error(rc)
    }

    /// Searches anywhere in `subject` with a budget of its own (convenience for tests and tools).
    public func search(_ subject: String) -> RegexOutcome {
        var copy = subject
        return copy.withUTF8 { search($0) }
    }

    /// `search(_:budget:)` on a string.
    public func search(_ subject: String, budget: inout RegexBudget) -> RegexOutcome {
        var copy = subject
        return copy.withUTF8 { search($0, budget: &budget) }
    }

    /// The exact tier alone on `subject`, without the length cap and the prefilter (for tests).
    func searchExactly(_ subject: String, budget: inout RegexBudget) -> RegexOutcome {
        guard let state = RegexThreadState.current() else { return .error(Int32(PCRE2_ERROR_NOMEMORY)) }
        var copy = subject
        return copy.withUTF8 { exactSearch($0, budget: &budget, state) }
    }

    /// The fast tier alone on `subject`: nil when it would hand the search to the exact tier (for tests).
    func searchFast(_ subject: String, budget: inout RegexBudget) -> RegexOutcome? {
        guard profile.fastTier, let state = RegexThreadState.current() else { return nil }
        var copy = subject
        return copy.withUTF8 { fastSearch($0, budget: &budget, state) }
    }

    /// `searchWithPCRE2` on a string.
    public func searchWithPCRE2(_ subject: String) -> RegexOutcome {
        var copy = subject
        return copy.withUTF8 { searchWithPCRE2($0) }
    }

    /// PCRE2's message for an error code.
    static func errorMessage(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        guard length > 0 else { return "invalid regular expression (pcre2 error \(code))" }
        return String(decoding: buffer.prefix(Int(length)), as: UTF8.self)
    }

    /// Converts a UTF-8 byte offset into `text` to a Unicode-scalar offset (clamped to the end).
    static func scalarOffset(in text: String, byteOffset: Int) -> Int {
        var scalars = 0
        for (index, byte) in text.utf8.enumerated() {
            if index >= byteOffset { break }
            if byte & 0xC0 != 0x80 { scalars += 1 }
        }
        return scalars
    }
}

/// A one-byte buffer used as the subject/pattern address when a buffer is empty (PCRE2 rejects NULL).
nonisolated(unsafe) private let emptySubject: UnsafeMutablePointer<UInt8> = {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

/// Static checks on regex patterns that `check` reports as warnings.
public enum RegexLint {
    /// True when `pattern` has an unescaped `|` outside every group and class, so the alternation
    /// splits the whole pattern (`DROP|DELETE FROM .* WHERE 1=1` is three alternatives).
    public static func hasTopLevelAlternation(_ pattern: String) -> Bool {
        let s = Array(pattern.unicodeScalars)
        var i = 0
        var depth = 0
        while i < s.count {
            switch s[i] {
            case "\\":
                if i + 1 < s.count, s[i + 1] == "Q" {
                    // \Q…\E quotes everything up to \E (or the end).
                    i += 2
                    while i < s.count, !(s[i] == "\\" && i + 1 < s.count && s[i + 1] == "E") { i += 1 }
                }
                i += 2
                continue
            case "[":
                i = endOfClass(s, from: i)
                continue
            case "(":
                if i + 2 < s.count, s[i + 1] == "?", s[i + 2] == "#" {
                    // (?# comment )
                    while i < s.count, s[i] != ")" { i += 1 }
                    i += 1
                    continue
                }
                depth += 1
            case ")":
                depth = max(0, depth - 1)
            case "|":
                if depth == 0 { return true }
            default:
                break
            }
            i += 1
        }
        return false
    }

    /// The span, in Unicode scalars, of the first group that repeats without bound (`*`, `+`,
    /// `{n,}`) while it can match one text in many ways: it holds a repeat without bound itself
    /// (`(a+)+`, `(a*)*`, `(.*)*`, `(\w+\s?)+`), or alternatives that can start alike (`(a|aa)+`,
    /// `(\w|\d)*`). The span runs from the group's `(` through its quantifier. Such a group backtracks
    /// exponentially on a subject it almost matches. Nil when there is none.
    public static func nestedUnboundedQuantifier(_ pattern: String) -> Range<Int>? {
        let s = Array(pattern.unicodeScalars)
        /// An open group: where it starts, whether it holds an unbounded repeat, and the first atom
        /// of each alternative (a literal scalar, or nil for anything else).
        struct Frame {
            var start: Int
            var holdsUnbounded = false
            var firstAtoms: [Unicode.Scalar?] = []
            var atBranchStart = true
            /// `(?>…)`: once matched, never backtracked into.
            var atomic = false
        }
        var stack: [Frame] = [Frame(start: 0)]
        var i = 0
        while i < s.count {
            var atom: Unicode.Scalar?
            var closed: Frame?
            switch s[i] {
            case "\\":
                if i + 1 < s.count, s[i + 1] == "Q" {
                    i += 2
                    while i < s.count, !(s[i] == "\\" && i + 1 < s.count && s[i + 1] == "E") { i += 1 }
                    i = min(s.count, i + 2)
                    continue
                }
                i = endOfEscape(s, from: i)
            case "[":
                i = endOfClass(s, from: i)
            case "(":
                if i + 2 < s.count, s[i + 1] == "?", s[i + 2] == "#" {
                    while i < s.count, s[i] != ")" { i += 1 }
                    i += 1
                    continue
                }
                if i + 1 < s.count, s[i + 1] == "*" {
                    // (*VERB) or (*OPTION): not a group.
                    while i < s.count, s[i] != ")" { i += 1 }
                    i += 1
                    continue
                }
                if let end = endOfOptionSetting(s, from: i) {
                    i = end
                    continue
                }
                stack.append(Frame(start: i, atomic: i + 2 < s.count && s[i + 1] == "?" && s[i + 2] == ">"))
                i += 1
                continue
            case ")":
                guard stack.count > 1 else {
                    i += 1
                    continue
                }
                closed = stack.removeLast()
                i += 1
            case "|":
                stack[stack.count - 1].atBranchStart = true
                i += 1
                continue
            default:
                atom = s[i]
                if s[i] == "." || s[i] == "^" || s[i] == "$" { atom = nil }
                i += 1
            }
            if stack[stack.count - 1].atBranchStart {
                stack[stack.count - 1].firstAtoms.append(atom)
                stack[stack.count - 1].atBranchStart = false
            }
            let quantifier = readQuantifier(s, from: i)
            i = quantifier.end
            if var group = closed {
                if group.atomic {
                    group.holdsUnbounded = false
                    group.firstAtoms = []
                }
                let ambiguous = group.holdsUnbounded || alternativesOverlap(group.firstAtoms)
                if quantifier.unbounded, ambiguous { return group.start ..< i }
                if group.holdsUnbounded || quantifier.unbounded { stack[stack.count - 1].holdsUnbounded = true }
            } else if quantifier.unbounded {
                stack[stack.count - 1].holdsUnbounded = true
            }
        }
        return nil
    }

    /// True when two alternatives may start with the same text: the same literal first scalar, or
    /// two that start with something other than a literal (a class, an escape, `.`, a group).
    static func alternativesOverlap(_ firstAtoms: [Unicode.Scalar?]) -> Bool {
        guard firstAtoms.count > 1 else { return false }
        var literals: Set<Unicode.Scalar> = []
        var others = 0
        for atom in firstAtoms {
            if let atom {
                if !literals.insert(atom).inserted { return true }
            } else {
                others += 1
                if others > 1 { return true }
            }
        }
        return false
    }

    /// Index just after the escape at `start`: `\` and one scalar, with the braces of `\x{…}`,
    /// `\p{…}`, `\g{…}`, `\k{…}`, `\N{…}`, `\o{…}` or the name of `\k<…>`/`\k'…'`.
    static func endOfEscape(_ s: [Unicode.Scalar], from start: Int) -> Int {
        var i = start + 2
        guard start + 1 < s.count else { return s.count }
        let kind = s[start + 1]
        if "xpPgkNo".unicodeScalars.contains(kind), i < s.count, s[i] == "{" || s[i] == "<" || s[i] == "'" {
            let close: Unicode.Scalar = s[i] == "{" ? "}" : (s[i] == "<" ? ">" : "'")
            while i < s.count, s[i] != close { i += 1 }
            return min(s.count, i + 1)
        }
        if kind == "x" {
            while i < min(s.count, start + 4), s[i].properties.isASCIIHexDigit { i += 1 }
        }
        return i
    }

    /// The end of an inline option setting that opens no group (`(?i)`, `(?-s)`, `(?^)`) at
    /// `start`, or nil when `(` opens a group.
    static func endOfOptionSetting(_ s: [Unicode.Scalar], from start: Int) -> Int? {
        guard start + 1 < s.count, s[start + 1] == "?" else { return nil }
        var i = start + 2
        while i < s.count, s[i].properties.isAlphabetic || s[i] == "-" || s[i] == "^" { i += 1 }
        return i < s.count && s[i] == ")" && i > start + 2 ? i + 1 : nil
    }

    /// The quantifier at `start`, if any: where it ends (after a lazy `?` or possessive `+`) and
    /// whether it repeats without bound (`*`, `+`, `{n,}`).
    static func readQuantifier(_ s: [Unicode.Scalar], from start: Int) -> (end: Int, unbounded: Bool) {
        guard start < s.count else { return (start, false) }
        var i = start
        var unbounded = false
        switch s[i] {
        case "*", "+":
            unbounded = true
            i += 1
        case "?":
            i += 1
        case "{":
            var j = i + 1
            var digits = 0
            while j < s.count, ("0" ... "9").contains(s[j]) {
                j += 1
                digits += 1
            }
            guard digits > 0, j < s.count else { return (start, false) }
            if s[j] == "}" {
                i = j + 1
            } else if s[j] == "," {
                j += 1
                var upper = 0
                while j < s.count, ("0" ... "9").contains(s[j]) {
                    j += 1
                    upper += 1
                }
                guard j < s.count, s[j] == "}" else { return (start, false) }
                unbounded = upper == 0
                i = j + 1
            } else {
                return (start, false)
            }
        default:
            return (start, false)
        }
        if i < s.count, s[i] == "?" { i += 1 }
        // A possessive repeat (`a++`, `a*+`) gives nothing back, so it cannot backtrack.
        if i < s.count, s[i] == "+" { return (i + 1, false) }
        return (i, unbounded)
    }

    /// Index just after the class opening at `start` (`]` right after `[` or `[^` is literal).
    static func endOfClass(_ s: [Unicode.Scalar], from start: Int) -> Int {
        var i = start + 1
        if i < s.count, s[i] == "^" { i += 1 }
        if i < s.count, s[i] == "]" { i += 1 }
        while i < s.count {
            switch s[i] {
            case "\\":
                i += 2
                continue
            case "[":
                if i + 1 < s.count, s[i + 1] == ":" || s[i + 1] == "." || s[i + 1] == "=" {
                    // POSIX class [:alpha:] — skip to its closing `:]`.
                    let delimiter = s[i + 1]
                    var j = i + 2
                    while j + 1 < s.count, !(s[j] == delimiter && s[j + 1] == "]") { j += 1 }
                    if j + 1 < s.count {
                        i = j + 2
                        continue
                    }
                }
            case "]":
                return i + 1
            default:
                break
            }
            i += 1
        }
        return i
    }
}
