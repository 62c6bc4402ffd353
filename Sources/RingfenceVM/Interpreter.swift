#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RingfenceBytecode
import RingfenceMatch

/// Observes a rule body's run: the last conditional branch taken and the instruction that
/// failed. The decision path uses `NoTrace`, whose empty methods specialise away.
protocol RuleTrace {
    /// The conditional instruction at `pc` branches to `target` (for MACT/MRES: nothing
    /// matched); returns the target.
    mutating func branch(from pc: Int, to target: UInt32) -> Int
    /// The instruction at `pc` hit a run-time error (`fault`); returns `.error(fault)`.
    mutating func failed(at pc: Int, _ fault: RuleFault) -> RuleOutcome
}

/// The trace of the decision path: records nothing.
struct NoTrace: RuleTrace {
    @inline(__always) mutating func branch(from pc: Int, to target: UInt32) -> Int { Int(target) }
    @inline(__always) mutating func failed(at pc: Int, _ fault: RuleFault) -> RuleOutcome { .error(fault) }
}

/// How a rule body ended.
enum RuleOutcome: Equatable {
    case applies, doesNotApply, error(RuleFault)
}

/// The dispatch loop over one verified rule body.
///
/// Every pointer below addresses storage the verifier or the request decoder sized, so the loop
/// checks nothing but the values' tags; `assert`s document the invariants in debug builds.
struct Interpreter {
    let code: UnsafeBufferPointer<Instruction>
    let slots: UnsafeBufferPointer<Register>
    let constants: UnsafeBufferPointer<Register>
    let requestBytes: UnsafeBufferPointer<UInt8>
    let constantBytes: UnsafeBufferPointer<UInt8>
    let requestItems: UnsafeBufferPointer<Register>
    let constantItems: UnsafeBufferPointer<Register>
    let registers: UnsafeMutableBufferPointer<Register>
    let globs: UnsafeBufferPointer<Unmanaged<GlobProgram>>
    let globSetStarts: UnsafeBufferPointer<Int32>
    let globSetMembers: UnsafeBufferPointer<Int32>
    let regexes: UnsafeBufferPointer<Unmanaged<Regex>>
    let action: UnsafeBufferPointer<UInt8>
    /// The normalised resource's bytes; nil when the request has none or it cannot be placed.
    let resource: UnsafeBufferPointer<UInt8>?
    /// True when the request has a resource that cannot be placed (matching on it is an error).
    let resourceUnplaceable: Bool
    /// The decision's regex work budget, shared by every `=~` the decision evaluates (SPEC §3.2).
    let regexBudget: UnsafeMutablePointer<RegexBudget>

    /// A full regex work budget for one decision (`withInterpreter` keeps it on the stack).
    @inline(__always)
    static func decisionRegexBudget() -> RegexBudget { RegexBudget() }

    /// The opcode of a verified instruction. Opcodes are numbered from 0 in declaration order
    /// (`InstructionSetTests` pins this), so the byte is the enum's own representation; reading
    /// it directly avoids a call per instruction to the cross-module `init(rawValue:)`.
    @inline(__always)
    static func opcode(_ ins: Instruction) -> Opcode {
        assert(Opcode(rawValue: ins.opcode) != nil)
        return unsafeBitCast(ins.opcode, to: Opcode.self)
    }

    /// The bytes of a string register.
    @inline(__always)
    func bytes(_ r: Register) -> UnsafeBufferPointer<UInt8> {
        let base = r.space == Register.requestSpace ? requestBytes : constantBytes
        assert(Int(r.offset) + Int(r.count) <= base.count)
        return UnsafeBufferPointer(start: base.baseAddress.map { $0 + Int(r.offset) }, count: Int(r.count))
    }

    /// The items of a list register.
    @inline(__always)
    func items(_ r: Register) -> UnsafeBufferPointer<Register> {
        let base = r.space == Register.requestSpace ? requestItems : constantItems
        assert(Int(r.offset) + Int(r.count) <= base.count)
        return UnsafeBufferPointer(start: base.baseAddress.map { $0 + Int(r.offset) }, count: Int(r.count))
    }

    /// Runs the body of `rule` and reports whether it applies.
    @inline(__always)
    func run(_ rule: RuleEntry) -> RuleOutcome {
        var trace = NoTrace()
        return run(entry: Int(rule.entry), trace: &trace)
    }

    /// Runs the body that starts at `entry` (the decision path passes only the index, so no
    /// rule metadata is copied).
    @inline(__always)
    func run(entry: Int) -> RuleOutcome {
        var trace = NoTrace()
        return run(entry: entry, trace: &trace)
    }

    /// Runs the body of `rule`, telling `trace` which instruction failed or branched last.
    func run<T: RuleTrace>(_ rule: RuleEntry, trace: inout T) -> RuleOutcome {
        run(entry: Int(rule.entry), trace: &trace)
    }

    /// Runs the body that starts at `entry`, telling `trace` which instruction failed or branched last.
    func run<T: RuleTrace>(entry: Int, trace: inout T) -> RuleOutcome {
        var pc = entry
        let regs = registers
        while true {
            let ins = code[pc]
            pc += 1
            switch Interpreter.opcode(ins) {
            case .yes: return .applies
            case .no: return .doesNotApply
            case .jump: pc = Int(ins.c)
            case .matchAction:
                if !matchesAny(ins.globSet, action) { pc = trace.branch(from: pc - 1, to: ins.c) }
            case .matchResource:
                if let resource {
                    if !matchesAny(ins.globSet, resource) { pc = trace.branch(from: pc - 1, to: ins.c) }
                } else if resourceUnplaceable {
                    return trace.failed(at: pc - 1, .unplaceableResource)
                } else {
                    pc = trace.branch(from: pc - 1, to: ins.c)
                }
            case .loadSlot:
                let v = slots[Int(ins.c)]
                if v.tag == .error { return trace.failed(at: pc - 1, v.fault) }
                regs[Int(ins.a)] = v
            case .loadConstant:
                regs[Int(ins.a)] = constants[Int(ins.c)]
            case .has:
                regs[Int(ins.a)] = .bool(slots[Int(ins.c)].tag != .absent)
            case .equal, .notEqual:
                let x = regs[Int(ins.b)], y = regs[Int(ins.c)]
                if x.tag == .absent || y.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                } else {
                    let eq = equal(x, y)
                    regs[Int(ins.a)] = .bool(ins.opcode == Opcode.equal.rawValue ? eq : !eq)
                }
            case .equalConstant, .notEqualConstant:
                let x = regs[Int(ins.b)]
                if x.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                } else {
                    let eq = equal(x, constants[Int(ins.c)])
                    regs[Int(ins.a)] = .bool(ins.opcode == Opcode.equalConstant.rawValue ? eq : !eq)
                }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                let x = regs[Int(ins.b)], y = regs[Int(ins.c)]
                if x.tag == .absent || y.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                    continue
                }
                let order: Int
                if x.tag == .number, y.tag == .number {
                    order = x.number < y.number ? -1 : (x.number > y.number ? 1 : 0)
                } else if x.tag == .string, y.tag == .string {
                    order = compareBytes(bytes(x), bytes(y))
                } else {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
                let result: Bool
                switch Interpreter.opcode(ins) {
                case .less: result = order < 0
                case .lessOrEqual: result = order <= 0
                case .greater: result = order > 0
                default: result = order >= 0
                }
                regs[Int(ins.a)] = .bool(result)
            case .inList, .contains:
                // IN: R[B] in R[C]; CONT: R[B] contains R[C].
                let isIn = ins.opcode == Opcode.inList.rawValue
                let needle = isIn ? regs[Int(ins.b)] : regs[Int(ins.c)]
                let haystack = isIn ? regs[Int(ins.c)] : regs[Int(ins.b)]
                if needle.tag == .absent || haystack.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                } else if haystack.tag == .list {
                    var found = false
                    for item in items(haystack) where equal(item, needle) {
                        found = true
                        break
                    }
                    regs[Int(ins.a)] = .bool(found)
                } else if haystack.tag == .string, needle.tag == .string {
                    regs[Int(ins.a)] = .bool(containsBytes(bytes(haystack), bytes(needle)))
                } else {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
            case .startsWith, .endsWith:
                let s = regs[Int(ins.b)], p = regs[Int(ins.c)]
                if s.tag == .absent || p.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                } else if s.tag == .string, p.tag == .string {
                    let sb = bytes(s), pb = bytes(p)
                    var ok = false
                    if pb.count <= sb.count {
                        let start = ins.opcode == Opcode.startsWith.rawValue ? 0 : sb.count - pb.count
                        ok = equalBytes(UnsafeBufferPointer(rebasing: sb[start..<start + pb.count]), pb)
                    }
                    regs[Int(ins.a)] = .bool(ok)
                } else {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
            case .regex:
                let s = regs[Int(ins.b)]
                if s.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                } else if s.tag == .string {
                    let budget = regexBudget
                    switch regexes[Int(ins.c)]._withUnsafeGuaranteedRef({ $0.search(bytes(s), budget: &budget.pointee) }) {
                    case .match: regs[Int(ins.a)] = .bool(true)
                    case .noMatch: regs[Int(ins.a)] = .bool(false)
                    case .error: return trace.failed(at: pc - 1, .regexBudget)
                    }
                } else {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
            case .glob:
                let s = regs[Int(ins.b)]
                if s.tag == .absent {
                    regs[Int(ins.a)] = .bool(false)
                } else if s.tag == .string {
                    regs[Int(ins.a)] = .bool(globs[Int(ins.c)]._withUnsafeGuaranteedRef { $0.matches(bytes(s)) })
                } else {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
            case .length:
                let s = regs[Int(ins.b)]
                switch s.tag {
                case .absent: regs[Int(ins.a)] = .absent
                case .string:
                    var n = 0
                    for byte in bytes(s) where byte & 0xC0 != 0x80 { n += 1 }
                    regs[Int(ins.a)] = .number(Double(n))
                case .list: regs[Int(ins.a)] = .number(Double(s.count))
                default: return trace.failed(at: pc - 1, .typeMismatch)
                }
            case .jumpIfFalse:
                let v = regs[Int(ins.a)]
                if v.tag == .bool {
                    if !v.boolean { pc = trace.branch(from: pc - 1, to: ins.c) }
                } else if v.tag == .absent {
                    pc = trace.branch(from: pc - 1, to: ins.c)
                } else {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
            case .jumpIfTrue:
                let v = regs[Int(ins.a)]
                if v.tag == .bool {
                    if v.boolean { pc = trace.branch(from: pc - 1, to: ins.c) }
                } else if v.tag != .absent {
                    return trace.failed(at: pc - 1, .typeMismatch)
                }
            }
        }
    }

    @inline(__always)
    private func matchesAny(_ set: Int, _ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in Int(globSetStarts[set])..<Int(globSetStarts[set + 1]) where globs[Int(globSetMembers[i])]._withUnsafeGuaranteedRef({ $0.matches(subject) }) {
            return true
        }
        return false
    }

    /// Structural equality; different types are unequal, objects never equal anything.
    func equal(_ x: Register, _ y: Register) -> Bool {
        guard x.tag == y.tag else { return false }
        switch x.tag {
        case .null: return true
        case .bool: return x.boolean == y.boolean
        case .number: return x.number == y.number
        case .string: return equalBytes(bytes(x), bytes(y))
        case .list:
            guard x.count == y.count else { return false }
            let a = items(x), b = items(y)
            for i in 0..<a.count where !equal(a[i], b[i]) { return false }
            return true
        case .absent, .object, .error: return false
        }
    }
}

@inline(__always)
func equalBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    return memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
}

@inline(__always)
func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let c = memcmp(a.baseAddress!, b.baseAddress!, n)
        if c != 0 { return c < 0 ? -1 : 1 }
    }
    return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
}

func containsBytes(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
    if needle.isEmpty { return true }
    guard needle.count <= haystack.count else { return false }
    let first = needle[0]
    var i = 0
    let last = haystack.count - needle.count
    while i <= last {
        if haystack[i] == first, memcmp(haystack.baseAddress! + i, needle.baseAddress!, needle.count) == 0 { return true }
        i += 1
    }
    return false
}
