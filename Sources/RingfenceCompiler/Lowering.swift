import RingfenceBytecode
import RingfenceMatch
import RingfenceSyntax

/// Builds a `Program`: interns slots, constants, globs and regexes, and emits each rule's body as
/// jumping code whose labels are all placed after the jumps that target them (so every jump goes
/// forward, as the verifier demands). A class, so rule emitters append to one program in place
/// (a struct copied into each emitter made compiling quadratic through copy-on-write).
final class ProgramBuilder {
    var program = Program()
    private var slotIndex: [SlotEntry: UInt32] = [:]
    private var constantIndex: [Constant: UInt32] = [:]
    private var globIndex: [GlobEntry: UInt32] = [:]
    private var globSetIndex: [[UInt32]: Int] = [:]
    /// The most glob sets a program holds (MACT/MRES address them with 24 bits).
    static let maxGlobSets = 1 << 24
    /// True once a rule needed a glob set past `maxGlobSets`.
    private(set) var tooManyGlobSets = false
    private var regexIndex: [String: UInt32] = [:]

    /// Returns the index of `entry`, adding it when new.
    func slot(_ entry: SlotEntry) -> UInt32 {
        intern(entry, &slotIndex) { program.slots.append($0) }
    }

    /// Returns the index of constant `k`, adding it when new.
    func constant(_ k: Constant) -> UInt32 {
        intern(k, &constantIndex) { program.constants.append($0) }
    }

    /// Returns the index of glob `g` (stored in its canonical form, so a URL pattern's literal
    /// prefix is a prefix of every resource it matches), adding it when new.
    func glob(_ g: GlobEntry) -> UInt32 {
        var canonical = g
        // The checker has compiled every pattern already, so canonicalising cannot fail here.
        canonical.pattern = (try? Glob.canonicalPattern(g.pattern, separator: g.separator)) ?? g.pattern
        return intern(canonical, &globIndex) { program.globs.append($0) }
    }

    /// Returns the index of regex `x`, adding it when new.
    func regex(_ x: String) -> UInt32 {
        intern(x, &regexIndex) {
            program.regexes.append($0)
            program.regexLiterals.append(RegexPrefilter.extract(from: $0).map { RegexLiteral(bytes: $0.literal, caseless: $0.caseless) })
        }
    }

    /// Returns the index of the glob set made of `patterns`, adding it when new. A program holds
    /// at most 2^24 glob sets (the width of `MACT`/`MRES`'s operand): past that, `tooManyGlobSets`
    /// is set and the compiler reports it.
    func globSet(_ patterns: [String], separator: UInt8, starCrossesSeparator: Bool = false) -> Int {
        let members = patterns.map { glob(GlobEntry(pattern: $0, separator: separator, starCrossesSeparator: starCrossesSeparator)) }
        if let i = globSetIndex[members] { return i }
        guard program.globSets.count < ProgramBuilder.maxGlobSets else {
            tooManyGlobSets = true
            return 0
        }
        let i = program.globSets.count
        program.globSets.append(members)
        globSetIndex[members] = i
        return i
    }

    private func intern<K: Hashable>(_ key: K, _ table: inout [K: UInt32], _ append: (K) -> Void) -> UInt32 {
        if let i = table[key] { return i }
        let i = UInt32(table.count)
        table[key] = i
        append(key)
        return i
    }
}

/// Emits one rule body.
struct RuleEmitter {
    /// A forward jump waiting for its label's position.
    struct Label {
        var id: Int
    }

    let builder: ProgramBuilder
    let line: UInt32
    private var code: [Instruction] = []
    private var lines: [UInt32] = []
    private var labelPositions: [Int?] = []
    private var fixups: [(pc: Int, label: Int)] = []
    private(set) var registers = 0
    /// Set when the body needs more registers than a rule may have.
    private(set) var overflow = false
    private let base: Int

    /// Starts a body at the end of the builder's code.
    init(builder: ProgramBuilder, line: UInt32) {
        self.builder = builder
        self.line = line
        self.base = builder.program.code.count
    }

    mutating func newLabel() -> Label {
        labelPositions.append(nil)
        return Label(id: labelPositions.count - 1)
    }

    mutating func place(_ label: Label) { labelPositions[label.id] = code.count }

    mutating func emit(_ ins: Instruction, jumpingTo label: Label? = nil) {
        if let label { fixups.append((code.count, label.id)) }
        code.append(ins)
        lines.append(line)
    }

    mutating func newRegister() -> UInt8 {
        if registers >= Verifier.maxRegisters {
            overflow = true
            return UInt8(Verifier.maxRegisters - 1)
        }
        registers += 1
        return UInt8(registers - 1)
    }

    /// Emits code that falls through when `e` is true and jumps to `whenFalse` otherwise.
    mutating func condition(_ e: TypedExpression, whenFalse: Label) {
        switch e {
        case .and(let a, let b):
            condition(a, whenFalse: whenFalse)
            condition(b, whenFalse: whenFalse)
        case .or(let a, let b):
            let done = newLabel()
            jumpIfTrue(a, to: done)
            condition(b, whenFalse: whenFalse)
            place(done)
        case .not(let a):
            jumpIfTrue(a, to: whenFalse)
        default:
            let r = value(e)
            emit(Instruction(.jumpIfFalse, a: r), jumpingTo: whenFalse)
        }
    }

    /// Emits code that jumps to `target` when `e` is true and falls through otherwise.
    mutating func jumpIfTrue(_ e: TypedExpression, to target: Label) {
        switch e {
        case .and(let a, let b):
            let skip = newLabel()
            condition(a, whenFalse: skip)
            jumpIfTrue(b, to: target)
            place(skip)
        case .or(let a, let b):
            jumpIfTrue(a, to: target)
            jumpIfTrue(b, to: target)
        case .not(let a):
            condition(a, whenFalse: target)
        default:
            let r = value(e)
            emit(Instruction(.jumpIfTrue, a: r), jumpingTo: target)
        }
    }

    /// Emits code that leaves the value of `e` in a fresh register and returns it.
    mutating func value(_ e: TypedExpression) -> UInt8 {
        switch e {
        case .constant(let k):
            let r = newRegister()
            emit(Instruction(.loadConstant, a: r, c: builder.constant(k)))
            return r
        case .slot(let s):
            let r = newRegister()
            emit(Instruction(.loadSlot, a: r, c: builder.slot(s)))
            return r
        case .has(let s):
            let r = newRegister()
            emit(Instruction(.has, a: r, c: builder.slot(s)))
            return r
        case .and, .or, .not:
            let r = newRegister()
            let isFalse = newLabel(), done = newLabel()
            condition(e, whenFalse: isFalse)
            emit(Instruction(.loadConstant, a: r, c: builder.constant(.bool(true))))
            emit(Instruction(.jump), jumpingTo: done)
            place(isFalse)
            emit(Instruction(.loadConstant, a: r, c: builder.constant(.bool(false))))
            place(done)
            return r
        case .compare(let op, let a, let b):
            if op == .equal || op == .notEqual, case .constant(let k) = b {
                let ra = value(a)
                let r = newRegister()
                emit(Instruction(op == .equal ? .equalConstant : .notEqualConstant, a: r, b: UInt16(ra), c: builder.constant(k)))
                return r
            }
            let ra = value(a), rb = value(b)
            let r = newRegister()
            let opcode: Opcode
            switch op {
            case .equal: opcode = .equal
            case .notEqual: opcode = .notEqual
            case .less: opcode = .less
            case .lessOrEqual: opcode = .lessOrEqual
            case .greater: opcode = .greater
            case .greaterOrEqual: opcode = .greaterOrEqual
            case .in: opcode = .inList
            case .matches: opcode = .regex // never reached: `=~` is lowered through .regex
            }
            emit(Instruction(opcode, a: r, b: UInt16(ra), c: UInt32(rb)))
            return r
        case .regex(let subject, let pattern):
            let rs = value(subject)
            let r = newRegister()
            emit(Instruction(.regex, a: r, b: UInt16(rs), c: builder.regex(pattern)))
            return r
        case .glob(let subject, let pattern):
            let rs = value(subject)
            let r = newRegister()
            emit(Instruction(.glob, a: r, b: UInt16(rs), c: builder.glob(GlobEntry(pattern: pattern, separator: 0x2F))))
            return r
        case .builtin(let f, let args):
            let regs = args.map { value($0) }
            let r = newRegister()
            switch f {
            case .length: emit(Instruction(.length, a: r, b: UInt16(regs[0])))
            case .startsWith: emit(Instruction(.startsWith, a: r, b: UInt16(regs[0]), c: UInt32(regs[1])))
            case .endsWith: emit(Instruction(.endsWith, a: r, b: UInt16(regs[0]), c: UInt32(regs[1])))
            case .contains: emit(Instruction(.contains, a: r, b: UInt16(regs[0]), c: UInt32(regs[1])))
            }
            return r
        }
    }

    /// Resolves labels, appends the body to the program and returns its code range.
    mutating func finish() -> (entry: UInt32, end: UInt32) {
        for (pc, label) in fixups {
            code[pc].c = UInt32(base + (labelPositions[label] ?? code.count))
        }
        builder.program.code.append(contentsOf: code)
        builder.program.codeLines.append(contentsOf: lines)
        return (UInt32(base), UInt32(base + code.count))
    }
}
