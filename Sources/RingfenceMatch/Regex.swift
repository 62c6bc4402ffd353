// PCRE2 regexes: compiled once (JIT when available), matched allocation-free from many threads.
//
// Options: PCRE2_UTF (patterns and subjects are UTF-8; `.` and classes work on scalars; `(?i)`
// folds non-ASCII case too) and PCRE2_NEVER_BACKSLASH_C (`\C` could split a UTF-8 sequence).
// PCRE2_UCP is off for speed: `\b`, `\w`, `\d`, `\s` and POSIX classes are ASCII-only; a pattern
// may opt in with a leading `(*UCP)`.
//
// Matching state: a compiled pattern is immutable and shared. Each thread owns one match-data
// block (one ovector pair), one match context (match, depth and heap limits) and one JIT stack,
// created on the thread's first search and freed by a pthread-key destructor when the thread
// exits; every Regex on that thread reuses them, so a search allocates nothing after the first.
// The limits make a catastrophic pattern such as `(a+)+$` fail with `.error` instead of hanging.

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

/// The result of one search: a match, no match, or a PCRE2 error code (limit hit, out of memory…).
public enum RegexOutcome: Sendable, Equatable {
    /// The pattern matched somewhere in the subject.
    case match
    /// The pattern matched nowhere.
    case noMatch
    /// Matching failed with this PCRE2 error code (e.g. -47 match limit); callers fail closed.
    case error(Int32)
}

/// A compiled PCRE2 pattern shared read-only by all threads.
public final class Regex: @unchecked Sendable {
    /// The source pattern as written.
    public let pattern: String
    /// The compiled code (never mutated after compilation).
    private let code: OpaquePointer
    /// True when JIT compilation succeeded and `pcre2_jit_match_8` may be used.
    public let isJIT: Bool
    /// A literal every match contains, when one can be proven (`RegexPrefilter`); a subject
    /// without it cannot match, so PCRE2 is not run.
    public let prefilter: RegexPrefilter?
    /// The prefilter's literal in a buffer owned by this object (empty without a prefilter).
    private let literal: UnsafeMutableBufferPointer<UInt8>

    /// Limits applied to every search.
    public enum Limits {
        /// Maximum backtracking steps (PCRE2 match limit).
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
    private init(pattern: String, code: OpaquePointer, isJIT: Bool) {
        self.pattern = pattern
        self.code = code
        self.isJIT = isJIT
        let prefilter = RegexPrefilter.extract(from: pattern)
        self.prefilter = prefilter
        let bytes = prefilter?.literal ?? []
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, bytes.count))
        _ = buffer.initialize(from: bytes)
        literal = UnsafeMutableBufferPointer(rebasing: buffer[0..<bytes.count])
    }

    deinit {
        pcre2_code_free_8(code)
        literal.baseAddress?.deallocate()
    }

    /// Compiles `pattern` with PCRE2_UTF and JIT-compiles it (falling back to the interpreter).
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
        return Regex(pattern: pattern, code: code, isJIT: isJIT)
    }

    /// Searches anywhere in `subject` (valid UTF-8, as from a Swift string); allocation-free after
    /// the calling thread's first search. A subject lacking the prefilter's literal is answered
    /// `.noMatch` without running PCRE2 (the true answer, even where PCRE2 would have stopped at
    /// a resource limit).
    public func search(_ subject: UnsafeBufferPointer<UInt8>) -> RegexOutcome {
        if let prefilter, !RegexPrefilter.mayMatch(subject, literal: UnsafeBufferPointer(literal), anchor: prefilter.anchor,
                                                    caseless: prefilter.caseless) {
            return .noMatch
        }
        return searchWithPCRE2(subject)
    }

    /// Searches with PCRE2 alone, skipping the prefilter (for tests that check the prefilter).
    public func searchWithPCRE2(_ subject: UnsafeBufferPointer<UInt8>) -> RegexOutcome {
        guard let state = RegexThreadState.current() else { return .error(Int32(PCRE2_ERROR_NOMEMORY)) }
        let base = subject.baseAddress ?? UnsafePointer(emptySubject)
        let rc: Int32
        if isJIT {
            rc = pcre2_jit_match_8(code, base, subject.count, 0, 0, state.pointee.matchData, state.pointee.matchContext)
        } else {
            rc = pcre2_match_8(code, base, subject.count, 0, UInt32(PCRE2_NO_UTF_CHECK),
                               state.pointee.matchData, state.pointee.matchContext)
        }
        if rc >= 0 { return .match }
        if rc == PCRE2_ERROR_NOMATCH { return .noMatch }
        return .error(rc)
    }

    /// Searches anywhere in `subject` (convenience for tests and tools).
    public func search(_ subject: String) -> RegexOutcome {
        var copy = subject
        return copy.withUTF8 { search($0) }
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

/// One thread's PCRE2 matching state, reached through a pthread key.
struct RegexThreadState {
    /// Match data with a single ovector pair, reused by every search on the thread.
    var matchData: OpaquePointer
    /// Match context carrying the limits and the thread's JIT stack.
    var matchContext: OpaquePointer
    /// The thread's JIT stack (nil if it could not be created; the default stack is used).
    var jitStack: OpaquePointer?

    /// The calling thread's state, created on first use; nil if PCRE2 could not allocate it.
    @inline(__always)
    static func current() -> UnsafeMutablePointer<RegexThreadState>? {
        if let raw = pthread_getspecific(regexThreadKey) {
            return raw.assumingMemoryBound(to: RegexThreadState.self)
        }
        return create()
    }

    /// Creates and registers the calling thread's state.
    static func create() -> UnsafeMutablePointer<RegexThreadState>? {
        guard let matchData = pcre2_match_data_create_8(1, nil) else { return nil }
        guard let context = pcre2_match_context_create_8(nil) else {
            pcre2_match_data_free_8(matchData)
            return nil
        }
        pcre2_set_match_limit_8(context, Regex.Limits.match)
        pcre2_set_depth_limit_8(context, Regex.Limits.depth)
        pcre2_set_heap_limit_8(context, Regex.Limits.heapKiB)
        let stack = pcre2_jit_stack_create_8(Regex.Limits.jitStackStart, Regex.Limits.jitStackMax, nil)
        if let stack {
            pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(stack))
        }
        let state = UnsafeMutablePointer<RegexThreadState>.allocate(capacity: 1)
        state.initialize(to: RegexThreadState(matchData: matchData, matchContext: context, jitStack: stack))
        guard pthread_setspecific(regexThreadKey, state) == 0 else {
            destroy(state)
            return nil
        }
        return state
    }

    /// Frees a thread's state (the pthread-key destructor).
    static func destroy(_ state: UnsafeMutablePointer<RegexThreadState>) {
        pcre2_match_data_free_8(state.pointee.matchData)
        pcre2_match_context_free_8(state.pointee.matchContext)
        if let stack = state.pointee.jitStack { pcre2_jit_stack_free_8(stack) }
        state.deinitialize(count: 1)
        state.deallocate()
    }
}

/// The pthread key holding each thread's `RegexThreadState`, with a destructor that frees it.
private let regexThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { raw in
        let pointer: UnsafeMutableRawPointer? = raw
        guard let pointer else { return }
        RegexThreadState.destroy(pointer.assumingMemoryBound(to: RegexThreadState.self))
    }
    precondition(status == 0, "pthread_key_create failed")
    return key
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
