import RingfenceBytecode
import RingfenceMatch

/// A verified program made ready to run: patterns compiled (regexes JIT-ed) once, constants laid
/// out flat, evaluation orders and generated reasons precomputed. Immutable and shared by any
/// number of threads without locks. It takes a `VerifiedProgram`, so it never verifies a program
/// the verifier has already accepted.
public final class Machine: Sendable {
    /// The program this machine runs.
    public let program: Program
    let code: [Instruction]
    let constantRegisters: [Register]
    let constantArena: Arena
    let globs: [Glob]
    let globSets: [[Int]]
    let regexes: [Regex]
    /// First-match policies in file order, each with its rules in evaluation order.
    let firstMatch: [(policy: Int, rules: [Int], defaultAllow: Bool)]
    /// True when `firstMatch` is not empty (read without touching the array).
    let hasFirstMatch: Bool
    let maxRegisters: Int
    /// The immutable tables in stable buffers (owner).
    let tables: MachineTables
    /// Their pointers, read by the decision path: code, patterns, rule gates and texts, the
    /// action index (which deny-overrides rules an action can reach, in file order).
    let view: TableViewRef
    /// True when some rule declares a rate limit (only then does deciding need the time).
    public let usesRateLimits: Bool

    /// Why a program could not be made ready.
    public struct LoadError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What failed.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Verifies the program, then makes it ready as `init(verified:patterns:)` does; for callers
    /// holding a program no verifier has seen.
    public convenience init(program: Program, patterns: PatternCache? = nil) throws(LoadError) {
        let verified: VerifiedProgram
        do {
            verified = try Verifier.verify(program)
        } catch {
            throw LoadError(message: "the program failed verification: \(error.message)")
        }
        try self.init(verified: verified, patterns: patterns)
    }

    /// Makes a verified program ready without verifying it again: takes each glob and regex from
    /// `patterns` (the cache of the compilation that produced the program, so nothing is compiled
    /// twice), compiling into a fresh cache what it lacks — each pattern once.
    public init(verified: VerifiedProgram, patterns: PatternCache? = nil) throws(LoadError) {
        let program = verified.program
        let patterns = patterns ?? PatternCache()
        self.program = program
        self.code = program.code
        var arena = Arena()
        var constants: [Register] = []
        for k in program.constants { constants.append(Machine.register(for: k, in: &arena)) }
        self.constantRegisters = constants
        self.constantArena = arena
        var globs: [Glob] = []
        for g in program.globs {
            let glob: Glob
            do {
                glob = try patterns.glob(g.pattern, separator: g.separator, starCrossesSeparator: g.starCrossesSeparator)
            } catch {
                throw LoadError(message: "glob `\(g.pattern)` does not compile: \(error.message)")
            }
            // The resource index derives prefixes from the stored text: it must be canonical.
            guard glob.canonicalText == g.pattern else {
                throw LoadError(message: "the program failed verification: url pattern `\(g.pattern)` is not in canonical form")
            }
            globs.append(glob)
        }
        self.globs = globs
        self.globSets = program.globSets.map { $0.map(Int.init) }
        var regexes: [Regex] = []
        for (i, x) in program.regexes.enumerated() {
            let regex: Regex
            do {
                regex = try patterns.regex(x)
            } catch {
                throw LoadError(message: "regex `\(x)` does not compile: \(error.message)")
            }
            // The stored literal is derived data: it must be the one this build derives and searches.
            guard program.regexLiterals[i] == regex.prefilter.map({ RegexLiteral(bytes: $0.literal, caseless: $0.caseless) }) else {
                throw LoadError(message: "the program failed verification: the literal of regex `\(x)` does not match the pattern")
            }
            regexes.append(regex)
        }
        self.regexes = regexes
        self.tables = MachineTables(program: program, constants: constants, arena: arena, globs: globs,
                                    globSets: self.globSets, regexes: regexes, texts: DecisionTextsTable(program: program))
        self.view = tables.view
        self.firstMatch = program.policies.indices.compactMap { p in
            let combining = program.policies[p].combining
            guard combining != .denyOverrides else { return nil }
            return (p, program.rules.indices.filter { Int(program.rules[$0].policy) == p }, combining == .firstMatchDefaultAllow)
        }
        self.hasFirstMatch = !firstMatch.isEmpty
        self.maxRegisters = max(1, program.maxRegisters)
        self.usesRateLimits = program.rules.contains { $0.limit != nil }
    }

    private static func register(for k: Constant, in arena: inout Arena) -> Register {
        switch k {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let x): return .number(x)
        case .string(let s): return arena.string(s, space: Register.constantSpace)
        case .list(let items):
            let regs = items.map { register(for: $0, in: &arena) }
            let offset = arena.items.count
            arena.items.append(contentsOf: regs)
            return Register(tag: .list, space: Register.constantSpace, boolean: false, number: 0,
                            offset: Int32(truncatingIfNeeded: offset), count: Int32(truncatingIfNeeded: regs.count))
        }
    }
}
