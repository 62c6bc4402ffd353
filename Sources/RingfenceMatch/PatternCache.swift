import Synchronization

/// Compiled globs and regexes keyed by their source, so each pattern is compiled at most once
/// however many stages ask for it (SPEC §3.5: checking, the shadowing analysis, lowering and the
/// machine a compilation builds all share one cache).
///
/// ```
/// key                                               value
/// glob   (pattern text, separator, star semantics)  the compiled glob, or its syntax error
/// regex  pattern text                                the compiled (JIT-ed) regex, or its syntax error
/// ```
///
/// Failures are remembered as well, so a bad pattern is reported from one compilation. A URL
/// pattern is also filed under its canonical text (the form a program stores), which matches
/// the same resources, so the machine finds it without compiling the canonical spelling again.
/// Thread-safe: a compilation happens under the cache's lock, so two threads asking for the same
/// new pattern still compile it once.
public final class PatternCache: Sendable {
    /// A glob's identity: its text and how it is matched.
    private struct GlobKey: Hashable {
        /// The pattern text.
        var pattern: String
        /// The segment separator byte.
        var separator: UInt8
        /// True when `*` also crosses separators.
        var starCrossesSeparator: Bool
    }

    /// The cached results and the compile counters.
    private struct State {
        /// Globs by key.
        var globs: [GlobKey: Result<Glob, GlobSyntaxError>] = [:]
        /// Regexes by pattern text.
        var regexes: [String: Result<Regex, RegexSyntaxError>] = [:]
        /// Glob compilations run so far.
        var globCompiles = 0
        /// Regex compilations run so far.
        var regexCompiles = 0
    }

    /// The cache's state, behind its lock.
    private let state = Mutex(State())

    /// Creates an empty cache.
    public init() {}

    /// The glob for `pattern` over `separator` (`Glob.compile`), compiled on first use.
    public func glob(_ pattern: String, separator: UInt8, starCrossesSeparator: Bool = false) throws(GlobSyntaxError) -> Glob {
        let key = GlobKey(pattern: pattern, separator: separator, starCrossesSeparator: starCrossesSeparator)
        let result = state.withLock { state -> Result<Glob, GlobSyntaxError> in
            if let cached = state.globs[key] { return cached }
            state.globCompiles += 1
            let compiled = PatternCache.compileGlob(key)
            state.globs[key] = compiled
            if case .success(let glob) = compiled, glob.canonicalText != pattern {
                var canonical = key
                canonical.pattern = glob.canonicalText
                if state.globs[canonical] == nil { state.globs[canonical] = compiled }
            }
            return compiled
        }
        return try result.get()
    }

    /// The regex for `pattern` (`Regex.compile`), compiled and JIT-ed on first use.
    public func regex(_ pattern: String) throws(RegexSyntaxError) -> Regex {
        let result = state.withLock { state -> Result<Regex, RegexSyntaxError> in
            if let cached = state.regexes[pattern] { return cached }
            state.regexCompiles += 1
            let compiled = PatternCache.compileRegex(pattern)
            state.regexes[pattern] = compiled
            return compiled
        }
        return try result.get()
    }

    /// Compiles the glob `key` names, as a result.
    private static func compileGlob(_ key: GlobKey) -> Result<Glob, GlobSyntaxError> {
        do {
            return .success(try Glob.compile(key.pattern, separator: key.separator, starCrossesSeparator: key.starCrossesSeparator))
        } catch {
            return .failure(error)
        }
    }

    /// Compiles `pattern` as a regex, as a result.
    private static func compileRegex(_ pattern: String) -> Result<Regex, RegexSyntaxError> {
        do {
            return .success(try Regex.compile(pattern))
        } catch {
            return .failure(error)
        }
    }

    /// How many globs this cache has compiled (each distinct key once, failures included).
    public var globCompiles: Int { state.withLock { $0.globCompiles } }

    /// How many regexes this cache has compiled (each distinct pattern once, failures included).
    public var regexCompiles: Int { state.withLock { $0.regexCompiles } }
}
