import RingfenceBytecode
import RingfenceMatch
import RingfenceSyntax

/// Builds a `Program`: interns slots, constants, globs, regexes and source texts, and emits each
/// rule's body as jumping code whose labels are all placed after the jumps that target them (so
/// every jump goes forward, as the verifier demands). A class, so rule emitters append to one
/// program in place (a struct copied into each emitter made compiling quadratic through
/// copy-on-write).
final class ProgramBuilder {
    var program = Program()
    /// The compilation's patterns, every one compiled by the check stage already.
    let patterns: PatternCache
    private var slotIndex: [SlotEntry: UInt32] = [:]
    private var constantIndex: [Constant: UInt32] = [:]
    private var globIndex: [GlobEntry: UInt32] = [:]
    private var globSetIndex: [[UInt32]: Int] = [:]
    /// The most glob sets a program holds (MACT/MRES address them with 24 bits).
    static let maxGlobSets = 1 << 24
    /// True once a rule needed a glob set past `maxGlobSets`.
    private(set) var tooManyGlobSets = false
    private var regexIndex: [String: UInt32] = [:]
    private var sourceTextIndex: [String: UInt32] = [:]
    private var globSetTexts: [Int: UInt32] = [:]

    /// Starts an empty program whose patterns come from `patterns`.
    init(patterns: PatternCache) {
        self.patterns = patterns
    }

    /// Returns the index of `entry`, adding it when new.
    func slot(_ entry: SlotEntry) -> UInt32 {
        intern(entry, &slotIndex) { program.slots.append($0) }
    }

    /// Returns the index of constant `k`, adding it when new.
    func constant(_ k: Constant) -> UInt32 {
        intern(k, &constantIndex) { program.constants.append($0) }
    }

    /// Returns the index of glob `g` (stored in its canonical form, so a URL pattern's literal
    /// prefix is a prefix of every resource it matches), adding it when new. The canonical text
    /// comes from the glob the check stage compiled, so nothing is parsed again.
    func glob(_ g: GlobEntry) -> UInt32 {
        var canonical = g
        if let compiled = try? patterns.glob(g.pattern, separator: g.separator, starCrossesSeparator: g.starCrossesSeparator) {
            canonical.pattern = compiled.canonicalText
        }
        return intern(canonical, &globIndex) { program.globs.append($0) }
    }

    /// Returns the index of regex `x`, adding it when new with the literal prefilter of its
    /// compiled form.
    func regex(_ x: String) -> UInt32 {
        intern(x, &regexIndex) {
            program.regexes.append($0)
            let prefilter = (try? patterns.regex($0))?.prefilter
            program.regexLiterals.append(prefilter.map { RegexLiteral(bytes: $0.literal, caseless: $0.caseless) })
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

    /// Returns the index of source text `text` in the source table, adding it when new.
    func sourceText(_ text: String) -> UInt32 {
        intern(text, &sourceTextIndex) { program.sourceTable.texts.append($0) }
    }

    /// The source text of glob set `set`: its stored patterns as a list, e.g. `["fs.read"]`.
    func globSetText(_ set: Int) -> UInt32 {
        if let text = globSetTexts[set] { return text }
        let members = set < program.globSets.count ? program.globSets[set] : []
        let text = sourceText(SourceSpelling.list(members.map { program.globs[Int($0)].pattern }))
        globSetTexts[set] = text
        return text
    }

    private func intern<K: Hashable>(_ key: K, _ table: inout [K: UInt32], _ append: (K) -> Void) -> UInt32 {
        if let i = table[key] { return i }
        let i = UInt32(table.count)
        table[key] = i
        append(key)
        return i
    }
}

/// Emits one rule body, with a source-table entry for every instruction.
struct RuleEmitter {
    /// A forward jump waiting for its label's position.
    struct Label {
        var id: Int
    }

    /// A value computed into a register: the register, and the pc of the instruction that wrote it
    /// last (the one explanations name it by).
    struct Operand {
        var register: UInt8
        var definition: Int
    }

    let builder: ProgramBuilder
    let line: UInt32
    private var code: [Instruction] = []
    private var lines: [UInt32] = []
    private var sources: [SourceTable.Entry] = []
    /// How each value instruction's text is spelled (indexed by pc − `base`; nil for the rest).
    private var spellings: [SourceSpelling?] = []
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

    /// Appends `ins` with its source-table entry; returns its pc.
    @discardableResult
    mutating func emit(_ ins: Instruction, jumpingTo label: Label? = nil, source: SourceTable.Entry = .empty,
                       spelling: SourceSpelling? = nil) -> Int {
        if let label { fixups.append((code.count, label.id)) }
        code.append(ins)
        lines.append(line)
        sources.append(source)
        spellings.append(spelling)
        return base + code.count - 1
    }

    /// Appends a `MACT` or `MRES` over glob set `set`, whose text is the set's pattern list.
    mutating func emitMatch(_ op: Opcode, globSet set: Int, jumpingTo label: Label) {
        emit(Instruction(op, globSet: set), jumpingTo: label, source: SourceTable.Entry(text: builder.globSetText(set)))
    }

    /// Appends a value instruction spelled by `parts` around the texts of `inputs`, recording
    /// its text and inputs in the source table.
    private mutating func emitValue(_ ins: Instruction, _ parts: [String], inputs: [Operand] = []) -> Operand {
        let spelling = SourceSpelling(parts: parts, inputs: inputs.map(\.definition), spellings: spellings, base: base)
        let text = spelling.height <= SourceTable.maxDepth ? spelling.text : spelled(spelling, depth: 0)
        let pcs = inputs.map { UInt32($0.definition) }
        let entry = SourceTable.Entry(text: builder.sourceText(text), left: pcs.first ?? SourceTable.none,
                                      right: pcs.count > 1 ? pcs[1] : SourceTable.none)
        return Operand(register: ins.a, definition: emit(ins, source: entry, spelling: spelling))
    }

    /// Appends a conditional jump testing `tested`, whose text is the tested expression's.
    private mutating func emitTest(_ op: Opcode, _ tested: Operand, jumpingTo label: Label) {
        let text = sources[tested.definition - base].text
        emit(Instruction(op, a: tested.register), jumpingTo: label,
             source: SourceTable.Entry(text: text, left: UInt32(tested.definition)))
    }

    /// `spelling` written with nested operands down to `SourceTable.maxDepth` levels below
    /// `depth`, deeper ones as `condition` (how explanations have always shown them).
    private func spelled(_ spelling: SourceSpelling, depth: Int) -> String {
        guard depth < SourceTable.maxDepth else { return "condition" }
        if depth + spelling.height <= SourceTable.maxDepth { return spelling.text }
        var out = spelling.parts[0]
        for (i, input) in spelling.inputs.enumerated() {
            out += spellings[input - base].map { spelled($0, depth: depth + 1) } ?? "condition"
            out += spelling.parts[i + 1]
        }
        return out
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
            emitTest(.jumpIfFalse, value(e), jumpingTo: whenFalse)
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
            emitTest(.jumpIfTrue, value(e), jumpingTo: target)
        }
    }

    /// Emits code that leaves the value of `e` in a fresh register and returns it.
    mutating func value(_ e: TypedExpression) -> Operand {
        switch e {
        case .constant(let k):
            let r = newRegister()
            return emitValue(Instruction(.loadConstant, a: r, c: builder.constant(k)), [Disassembler.describe(k)])
        case .slot(let s):
            let r = newRegister()
            return emitValue(Instruction(.loadSlot, a: r, c: builder.slot(s)), [s.description])
        case .has(let s):
            let r = newRegister()
            return emitValue(Instruction(.has, a: r, c: builder.slot(s)), ["has(\(s))"])
        case .and, .or, .not:
            // The register is written twice; the `false` load, last in code order, names it.
            let r = newRegister()
            let isFalse = newLabel(), done = newLabel()
            condition(e, whenFalse: isFalse)
            _ = emitValue(Instruction(.loadConstant, a: r, c: builder.constant(.bool(true))), ["true"])
            emit(Instruction(.jump), jumpingTo: done)
            place(isFalse)
            let result = emitValue(Instruction(.loadConstant, a: r, c: builder.constant(.bool(false))), ["false"])
            place(done)
            return result
        case .compare(let op, let a, let b):
            if op == .equal || op == .notEqual, case .constant(let k) = b {
                let ra = value(a)
                let r = newRegister()
                let ins = Instruction(op == .equal ? .equalConstant : .notEqualConstant, a: r, b: UInt16(ra.register), c: builder.constant(k))
                return emitValue(ins, ["", " \(op.rawValue) \(Disassembler.describe(k))"], inputs: [ra])
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
            return emitValue(Instruction(opcode, a: r, b: UInt16(ra.register), c: UInt32(rb.register)), ["", " \(op.rawValue) ", ""], inputs: [ra, rb])
        case .regex(let subject, let pattern):
            let rs = value(subject)
            let r = newRegister()
            let ins = Instruction(.regex, a: r, b: UInt16(rs.register), c: builder.regex(pattern))
            return emitValue(ins, ["", " =~ \(Disassembler.describe(.string(pattern)))"], inputs: [rs])
        case .glob(let subject, let pattern):
            let rs = value(subject)
            let r = newRegister()
            let glob = builder.glob(GlobEntry(pattern: pattern, separator: 0x2F))
            let stored = builder.program.globs[Int(glob)].pattern
            return emitValue(Instruction(.glob, a: r, b: UInt16(rs.register), c: glob),
                             ["glob(", ", \(Disassembler.describe(.string(stored))))"], inputs: [rs])
        case .builtin(let f, let args):
            let operands = args.map { value($0) }
            let r = newRegister()
            let regs = operands.map(\.register)
            switch f {
            case .length:
                return emitValue(Instruction(.length, a: r, b: UInt16(regs[0])), ["len(", ")"], inputs: operands)
            case .startsWith:
                return emitValue(Instruction(.startsWith, a: r, b: UInt16(regs[0]), c: UInt32(regs[1])), ["startsWith(", ", ", ")"], inputs: operands)
            case .endsWith:
                return emitValue(Instruction(.endsWith, a: r, b: UInt16(regs[0]), c: UInt32(regs[1])), ["endsWith(", ", ", ")"], inputs: operands)
            case .contains:
                return emitValue(Instruction(.contains, a: r, b: UInt16(regs[0]), c: UInt32(regs[1])), ["contains(", ", ", ")"], inputs: operands)
            }
        }
    }

    /// Resolves labels, appends the body and its source entries to the program and returns its
    /// code range.
    mutating func finish() -> (entry: UInt32, end: UInt32) {
        for (pc, label) in fixups {
            code[pc].c = UInt32(base + (labelPositions[label] ?? code.count))
        }
        builder.program.code.append(contentsOf: code)
        builder.program.codeLines.append(contentsOf: lines)
        builder.program.sourceTable.entries.append(contentsOf: sources)
        return (UInt32(base), UInt32(base + code.count))
    }
}

/// How one value instruction's source text is put together: fixed parts around the texts of
/// the instructions whose values it reads (`parts.count == inputs.count + 1`), e.g.
/// `["startsWith(", ", ", ")"]` around two operands.
struct SourceSpelling {
    /// The fixed text before, between and after the operands.
    let parts: [String]
    /// The pcs of the operands' instructions.
    let inputs: [Int]
    /// Levels of operands, this instruction included (1 for a load).
    let height: Int
    /// The text with every operand spelled in full.
    let text: String

    /// Spells an instruction over operands whose spellings are in `spellings` (indexed by
    /// pc − `base`).
    init(parts: [String], inputs: [Int], spellings: [SourceSpelling?], base: Int) {
        self.parts = parts
        self.inputs = inputs
        var text = parts[0]
        var height = 1
        for (i, input) in inputs.enumerated() {
            let operand = spellings[input - base]
            text += operand?.text ?? "condition"
            text += parts[i + 1]
            height = max(height, (operand?.height ?? 0) + 1)
        }
        self.text = text
        self.height = height
    }

    /// Patterns written as a list of string literals, e.g. `["fs.read", "fs.list"]`.
    static func list(_ patterns: [String]) -> String {
        "[" + patterns.map { Disassembler.describe(.string($0)) }.joined(separator: ", ") + "]"
    }
}
