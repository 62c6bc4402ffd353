/// A compiled set of policies: the rules, their bytecode and every table the bytecode indexes.
///
/// The compiler produces a `Program`; a bundle is a `Program` serialised with a header and a
/// checksum; the VM loads a verified `Program`. All arrays are in file order of the sources.
public struct Program: Sendable, Hashable {
    /// Ring thresholds shared by every policy in the program.
    public var thresholds: Thresholds
    /// The policies, in the order their files were given.
    public var policies: [PolicyEntry]
    /// Every rule of every policy, in file order (policy by policy).
    public var rules: [RuleEntry]
    /// The instructions of all rule bodies, rule after rule.
    public var code: [Instruction]
    /// The source line each instruction came from (parallel to `code`).
    public var codeLines: [UInt32]
    /// What each instruction stands for in the source (parallel to `code`), read by explanations.
    public var sourceTable = SourceTable()
    /// The constant pool.
    public var constants: [Constant]
    /// Glob patterns.
    public var globs: [GlobEntry]
    /// Sets of globs that match when any member matches (a rule's `actions` or `resources`).
    public var globSets: [[UInt32]]
    /// Regex patterns (compiled with PCRE2 and JIT-ed once at load).
    public var regexes: [String]
    /// Per regex (parallel to `regexes`): a literal every match contains, or nil when none can be
    /// proven. Searched before PCRE2 runs; derived from the pattern by the compiler and checked
    /// against a fresh derivation when a machine loads the program.
    public var regexLiterals: [RegexLiteral?] = []
    /// The request values rules read; a request is decoded into one value per slot.
    public var slots: [SlotEntry]
    /// Compiled saga definitions (SPEC §5), in file order; the VM does not read them.
    public var sagas: [SagaPlan] = []
    /// Which rules each action can reach (built by the compiler, verified on load).
    public var actionIndex = ActionIndex()
    /// The runtime's settings (SPEC §7): the deployment's runtime file, or the defaults.
    public var runtime = RuntimeSettings()

    /// Creates a program.
    public init(
        thresholds: Thresholds = Thresholds(), policies: [PolicyEntry] = [], rules: [RuleEntry] = [],
        code: [Instruction] = [], codeLines: [UInt32] = [], constants: [Constant] = [], globs: [GlobEntry] = [],
        globSets: [[UInt32]] = [], regexes: [String] = [], slots: [SlotEntry] = [], sagas: [SagaPlan] = [],
        runtime: RuntimeSettings = RuntimeSettings()
    ) {
        self.thresholds = thresholds
        self.policies = policies
        self.rules = rules
        self.code = code
        self.codeLines = codeLines
        self.constants = constants
        self.globs = globs
        self.globSets = globSets
        self.regexes = regexes
        self.slots = slots
        self.sagas = sagas
        self.runtime = runtime
    }

    /// The largest register count any rule needs.
    public var maxRegisters: Int { rules.map { Int($0.registers) }.max() ?? 0 }
}

/// A literal that every match of a regex contains (ASCII; lower-cased when `caseless`).
public struct RegexLiteral: Sendable, Hashable {
    /// The literal's bytes.
    public var bytes: [UInt8]
    /// True when it is matched without regard to ASCII case.
    public var caseless: Bool

    /// Creates a literal.
    public init(bytes: [UInt8], caseless: Bool) {
        self.bytes = bytes
        self.caseless = caseless
    }
}

/// Trust thresholds that map trust scores to rings (SPEC §3.3).
public struct Thresholds: Sendable, Hashable {
    /// trust > privileged and consensus → ring 1.
    public var privileged: Double
    /// trust > standard → ring 2; otherwise 3.
    public var standard: Double
    /// Creates thresholds (defaults 0.95 and 0.60).
    public init(privileged: Double = 0.95, standard: Double = 0.60) {
        self.privileged = privileged
        self.standard = standard
    }
}

/// A policy's name, source file and how its rules combine.
public struct PolicyEntry: Sendable, Hashable {
    /// The policy's name.
    public var name: String
    /// The file it was compiled from.
    public var file: String
    /// How the policy's rules combine into a decision.
    public var combining: Combining
    /// Creates a policy entry.
    public init(name: String, file: String, combining: Combining = .denyOverrides) {
        self.name = name
        self.file = file
        self.combining = combining
    }
}

/// How a policy's rules combine (see docs/language.md).
public enum Combining: UInt8, Sendable, Hashable {
    /// Native policies: any applying deny denies; otherwise an applying allow allows.
    case denyOverrides = 0
    /// Rule documents: rules in stored order, the first that applies decides; if none does, deny.
    case firstMatchDefaultDeny = 1
    /// Rule documents with `defaults: {action: allow}`: as above, but if none applies, allow.
    case firstMatchDefaultAllow = 2
}

/// A rule: its identity, effect, gates and the code range of its body.
public struct RuleEntry: Sendable, Hashable {
    /// The rule's id, unique within its policy.
    public var id: String
    /// Index into `Program.policies`.
    public var policy: UInt32
    /// True for deny rules.
    public var isDeny: Bool
    /// The least-privileged ring allowed (0–3), or nil for no gate.
    public var ring: UInt8?
    /// The rate limit, if any.
    public var limit: Limit?
    /// The reason reported with decisions, if the rule gives one.
    public var reason: String?
    /// First instruction of the body.
    public var entry: UInt32
    /// One past the last instruction of the body.
    public var end: UInt32
    /// Registers the body uses.
    public var registers: UInt16
    /// Source line of the rule.
    public var line: UInt32
    /// Source column of the rule.
    public var column: UInt32

    /// Creates a rule entry.
    public init(id: String, policy: UInt32, isDeny: Bool, ring: UInt8?, limit: Limit?, reason: String?,
                entry: UInt32, end: UInt32, registers: UInt16, line: UInt32, column: UInt32) {
        self.id = id
        self.policy = policy
        self.isDeny = isDeny
        self.ring = ring
        self.limit = limit
        self.reason = reason
        self.entry = entry
        self.end = end
        self.registers = registers
        self.line = line
        self.column = column
    }
}

/// A rate limit: `count` allows per `seconds`-long window.
public struct Limit: Sendable, Hashable {
    /// Allows per window.
    public var count: UInt32
    /// The window's length in seconds.
    public var seconds: UInt32
    /// Creates a limit.
    public init(count: UInt32, seconds: UInt32) {
        self.count = count
        self.seconds = seconds
    }
}

/// A constant: a scalar or a list of scalars.
public indirect enum Constant: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([Constant])
}

/// A glob pattern and how it is matched.
public struct GlobEntry: Sendable, Hashable {
    /// The pattern as written.
    public var pattern: String
    /// The segment separator: `/` (0x2F) for resources and `glob()`, `.` (0x2E) for actions.
    public var separator: UInt8
    /// True when `*` also crosses separators (a seed dialect's meaning).
    public var starCrossesSeparator: Bool
    /// Creates a glob entry.
    public init(pattern: String, separator: UInt8, starCrossesSeparator: Bool = false) {
        self.pattern = pattern
        self.separator = separator
        self.starCrossesSeparator = starCrossesSeparator
    }
}

/// A value read from the request, named by a path and optionally transformed.
public struct SlotEntry: Sendable, Hashable, CustomStringConvertible {
    /// Where the value lives in the request.
    public var root: SlotRoot
    /// Field names below the root (for `params`, `context` and `agent.attrs`).
    public var path: [String]
    /// String transforms applied when the request is decoded (`lower`, `upper`), in order.
    public var transforms: [StringTransform]

    /// Creates a slot entry.
    public init(root: SlotRoot, path: [String] = [], transforms: [StringTransform] = []) {
        self.root = root
        self.path = path
        self.transforms = transforms
    }

    /// The slot as an expression, e.g. `lower(params.method)`.
    public var description: String {
        var base = root.spelling
        for name in path { base += "[\(quoted(name))]" }
        for t in transforms { base = "\(t.rawValue)(\(base))" }
        return base
    }

    private func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            if c == "\"" || c == "\\" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(c)
        }
        return out + "\""
    }
}

/// The request fields a slot can read.
public enum SlotRoot: UInt8, Sendable, Hashable, CaseIterable {
    case agentID = 0, agentTrust, agentRing, agentConsensus, agentRoles, agentAttrs, action, resource, params, context
    /// A URL resource's query and fragment (SPEC §3.1: readable in `when`, never matched).
    case resourceQuery, resourceFragment

    /// How the root is written in expressions.
    public var spelling: String {
        switch self {
        case .agentID: "agent.id"
        case .agentTrust: "agent.trust"
        case .agentRing: "agent.ring"
        case .agentConsensus: "agent.consensus"
        case .agentRoles: "agent.roles"
        case .agentAttrs: "agent.attrs"
        case .action: "action"
        case .resource: "resource"
        case .params: "params"
        case .context: "context"
        case .resourceQuery: "resource_query"
        case .resourceFragment: "resource_fragment"
        }
    }

    /// True for roots whose values are free-form maps reached by field names.
    public var takesPath: Bool { self == .agentAttrs || self == .params || self == .context }
}

/// A string transform applied once, when a request is decoded.
public enum StringTransform: String, Sendable, Hashable {
    case lower, upper
}
