// Per-thread PCRE2 matching state and the exact tier's meter (see the comment atop Regex.swift).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CPCRE2

/// The exact tier's running charge: PCRE2 calls `regexMeterCallout` before every pattern item of
/// the auto-callout code, and the callout charges the item to this meter.
struct RegexMeter {
    /// Units left; the callout aborts the match when a charge would take it below zero.
    var remaining = 0
    /// The subject position at the previous callout of this start position.
    var last = 0
    /// The subject's length in bytes.
    var subjectLength = 0
    /// The fixed charge of one callout for the pattern being matched (`RegexWorkProfile.calloutCost`).
    var calloutCost = RegexCost.callout
    /// The pattern's bytes, to recognise a backreference as the next item.
    var pattern: UnsafePointer<UInt8>?
    /// The pattern's length in bytes.
    var patternLength = 0
    /// True when the callout stopped the match because the budget ran out.
    var exhausted = false

    /// True when the pattern item at `offset` is a backreference (`\1`…`\9`, `\g…`, `\k…`,
    /// `(?P=…)`), whose compare may read the rest of the subject without moving the position.
    @inline(__always)
    func isBackreference(at offset: Int) -> Bool {
        guard let pattern, offset + 1 < patternLength else { return false }
        let first = pattern[offset], second = pattern[offset + 1]
        if first == UInt8(ascii: "\\") {
            return (second >= UInt8(ascii: "1") && second <= UInt8(ascii: "9")) || second == UInt8(ascii: "g") || second == UInt8(ascii: "k")
        }
        return first == UInt8(ascii: "(") && second == UInt8(ascii: "?") && offset + 3 < patternLength
            && pattern[offset + 2] == UInt8(ascii: "P") && pattern[offset + 3] == UInt8(ascii: "=")
    }
}

/// The exact tier's callout: charges one pattern item (the fixed cost, plus how far the subject
/// position moved forward since the previous item, plus the rest of the subject before a
/// backreference) and stops the match with `PCRE2_ERROR_CALLOUT` once the meter cannot pay.
/// A new start position resets the position without a charge: the scans between start positions
/// are paid up front (`RegexWorkProfile.exactBaseCost`).
let regexMeterCallout: @convention(c) (UnsafeMutablePointer<pcre2_callout_block_8>?, UnsafeMutableRawPointer?) -> Int32 = { block, data in
    guard let block, let data else { return PCRE2_ERROR_CALLOUT }
    let meter = data.assumingMemoryBound(to: RegexMeter.self)
    let position = Int(block.pointee.current_position)
    var cost = meter.pointee.calloutCost
    if block.pointee.callout_flags & UInt32(PCRE2_CALLOUT_STARTMATCH) == 0, position > meter.pointee.last {
        cost += position - meter.pointee.last
    }
    meter.pointee.last = position
    if meter.pointee.isBackreference(at: Int(block.pointee.pattern_position)) {
        cost += max(0, meter.pointee.subjectLength - position)
    }
    if cost > meter.pointee.remaining {
        meter.pointee.remaining = 0
        meter.pointee.exhausted = true
        return PCRE2_ERROR_CALLOUT
    }
    meter.pointee.remaining -= cost
    return 0
}

/// One thread's PCRE2 matching state, reached through a pthread key.
struct RegexThreadState {
    /// Match data with a single ovector pair, reused by every search on the thread.
    var matchData: OpaquePointer
    /// The fast tier's match context: no callout, a per-position match limit set per try.
    var fastContext: OpaquePointer
    /// The match limit `fastContext` holds (set again only when a try needs another).
    var fastLimit: UInt32
    /// The exact tier's match context: the meter's callout, no match limit of its own.
    var exactContext: OpaquePointer
    /// The unbudgeted context of `Regex.searchWithPCRE2`: PCRE2's per-position limit only.
    var plainContext: OpaquePointer
    /// The thread's JIT stack (nil if it could not be created; the default stack is used).
    var jitStack: OpaquePointer?
    /// The exact tier's meter, at a stable address given to PCRE2 as the callout's data.
    var meter: RegexMeter

    /// The calling thread's state, created on first use; nil if PCRE2 could not allocate it.
    @inline(__always)
    static func current() -> UnsafeMutablePointer<RegexThreadState>? {
        if let raw = pthread_getspecific(regexThreadKey) {
            return raw.assumingMemoryBound(to: RegexThreadState.self)
        }
        return create()
    }

    /// A match context with the depth and heap limits, the JIT stack and `matchLimit`.
    private static func context(matchLimit: UInt32, stack: OpaquePointer?) -> OpaquePointer? {
        guard let context = pcre2_match_context_create_8(nil) else { return nil }
        pcre2_set_match_limit_8(context, matchLimit)
        pcre2_set_depth_limit_8(context, Regex.Limits.depth)
        pcre2_set_heap_limit_8(context, Regex.Limits.heapKiB)
        if let stack {
            pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(stack))
        }
        return context
    }

    /// Creates and registers the calling thread's state.
    static func create() -> UnsafeMutablePointer<RegexThreadState>? {
        let stack = pcre2_jit_stack_create_8(Regex.Limits.jitStackStart, Regex.Limits.jitStackMax, nil)
        let data = pcre2_match_data_create_8(1, nil)
        let fast = context(matchLimit: RegexCost.firstLimit, stack: stack)
        let exact = context(matchLimit: UInt32.max, stack: stack)
        let plain = context(matchLimit: Regex.Limits.match, stack: stack)
        guard let matchData = data, let fast, let exact, let plain else {
            if let data { pcre2_match_data_free_8(data) }
            for partial in [fast, exact, plain] {
                if let partial { pcre2_match_context_free_8(partial) }
            }
            if let stack { pcre2_jit_stack_free_8(stack) }
            return nil
        }
        let state = UnsafeMutablePointer<RegexThreadState>.allocate(capacity: 1)
        state.initialize(to: RegexThreadState(matchData: matchData, fastContext: fast, fastLimit: RegexCost.firstLimit,
                                              exactContext: exact, plainContext: plain, jitStack: stack, meter: RegexMeter()))
        let meter = UnsafeMutableRawPointer(state).advanced(by: MemoryLayout<RegexThreadState>.offset(of: \.meter)!)
        pcre2_set_callout_8(exact, regexMeterCallout, meter)
        guard pthread_setspecific(regexThreadKey, state) == 0 else {
            destroy(state)
            return nil
        }
        return state
    }

    /// Frees a thread's state (the pthread-key destructor).
    static func destroy(_ state: UnsafeMutablePointer<RegexThreadState>) {
        pcre2_match_data_free_8(state.pointee.matchData)
        pcre2_match_context_free_8(state.pointee.fastContext)
        pcre2_match_context_free_8(state.pointee.exactContext)
        pcre2_match_context_free_8(state.pointee.plainContext)
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
