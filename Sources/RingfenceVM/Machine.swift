import RingfenceBytecode
import RingfenceMatch

/// A verified program made ready to run: patterns compiled (regexes JIT-ed) once, constants laid
/// out flat, evaluation orders and generated reasons precomputed. Immutable and shared by any
/// number of threads without locks.
public final class Machine: Sendable {
    /// The program this machine runs.
    public let program: Program
    let code: [Instruction]
    let constantRegisters: [Register]
    let constantArena: Arena
    let globs: [Glob]
    let globSets: [[Int]]
    let regexes: [Regex]
    /// The action index: which deny-overrides rules an action can reach, in file order.
    let actionTable: IndexTables
    /// First-match policies in file order, each with its rules in evaluation order.
    let firstMatch: [(policy: Int, rules: [Int], defaultAllow: Bool)]
    let maxRegisters: Int
    let reasons: [RuleReasons]
    /// Each rule's first instruction.
    let ruleEntries: [Int]
    /// The immutable tables in stable buffers, read by the dispatch loop.
    let tables: MachineTables
    /// True when some rule declares a rate limit (only then does deciding need the time).
    public let usesRateLimits: Bool

    /// Generated texts for a rule's decisions, made once so deciding never formats strings.
    struct RuleReasons: Sendable {
        let policy: String
        let decided: String
        let ring: [String]
        let rateLimit: String
        let error: String
    }

    /// Why a program could not be made ready.
    public struct LoadError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What failed.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Verifies the program and compiles its patterns.
    public init(program: Program) throws(LoadError) {
        do {
            try Verifier.verify(program)
        } catch {
            throw LoadError(message: "the program failed verification: \(error.message)")
        }
        self.program = program
        self.code = program.code
        var arena = Arena()
        var constants: [Register] = []
        for k in program.constants { constants.append(Machine.register(for: k, in: &arena)) }
        self.constantRegisters = constants
        self.constantArena = arena
        var globs: [Glob] = []
        for g in program.globs {
            do {
                globs.append(try Glob.compile(g.pattern, separator: g.separator, starCrossesSeparator: g.starCrossesSeparator))
            } catch {
                throw LoadError(message: "glob `\(g.pattern)` does not compile: \(error.message)")
            }
        }
        self.globs = globs
        self.globSets = program.globSets.map { $0.map(Int.init) }
        var regexes: [Regex] = []
        for x in program.regexes {
            do {
                regexes.append(try Regex.compile(x))
            } catch {
                throw LoadError(message: "regex `\(x)` does not compile: \(error.message)")
            }
        }
        self.regexes = regexes
        self.ruleEntries = program.rules.map { Int($0.entry) }
        self.tables = MachineTables(code: program.code, constants: constants, arena: arena, globs: globs,
                                    globSets: self.globSets, regexes: regexes)
        self.actionTable = IndexTables(program.actionIndex, isDeny: program.rules.map(\.isDeny))
        self.firstMatch = program.policies.indices.compactMap { p in
            let combining = program.policies[p].combining
            guard combining != .denyOverrides else { return nil }
            return (p, program.rules.indices.filter { Int(program.rules[$0].policy) == p }, combining == .firstMatchDefaultAllow)
        }
        self.maxRegisters = max(1, program.maxRegisters)
        self.usesRateLimits = program.rules.contains { $0.limit != nil }
        self.defaultAllowReasons = program.policies.map { "no rule of policy `\($0.name)` matched; its default allows" }
        self.reasons = program.rules.map { rule in
            let id = "`\(rule.id)`"
            let needed = rule.ring.map(Int.init) ?? 3
            return RuleReasons(
                policy: program.policies[Int(rule.policy)].name,
                decided: rule.reason ?? (rule.isDeny ? "denied by rule \(id)" : "allowed by rule \(id)"),
                ring: (0...3).map { "ring \($0) is not privileged enough for rule \(id) (it needs ring \(needed) or lower)" },
                rateLimit: rule.limit.map { "rate limit of rule \(id) is exhausted (\($0.count) per \($0.seconds)s per agent)" } ?? "",
                error: "rule \(id) could not be evaluated (a value in `when` has the wrong type); denied to fail closed")
        }
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

    /// Per policy: the reason reported when a first-match policy's default allows.
    let defaultAllowReasons: [String]

    /// The reason text reported when no rule decides.
    public static let defaultReason = "no rule allowed the request (default deny)"
}
