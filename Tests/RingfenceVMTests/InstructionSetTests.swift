import Foundation
import RingfenceBytecode
import Testing

/// The instruction set: opcode numbering, and every opcode of `Opcode.table` through the bundle
/// writer and reader and the disassembler, and back.
@Suite struct InstructionSetTests {
    /// The interpreter reads a verified instruction's opcode byte as the `Opcode` itself, which
    /// holds only while opcodes are numbered from 0 in declaration order.
    @Test func opcodesAreNumberedInDeclarationOrder() {
        for (index, opcode) in Opcode.allCases.enumerated() {
            #expect(Int(opcode.rawValue) == index, "\(opcode) has raw value \(opcode.rawValue), declared at \(index)")
            #expect(unsafeBitCast(opcode.rawValue, to: Opcode.self) == opcode)
        }
        #expect(MemoryLayout<Opcode>.size == 1)
    }

    /// The glob set an `MACT`/`MRES` names: above 2^16, so its high byte travels in A.
    static let wideGlobSet = 65_538

    /// An instruction of `opcode` with every operand field its format uses set to a value no
    /// other field or opcode uses (jumps target `end`, the rule's final `NO`).
    static func instruction(_ opcode: Opcode, end: UInt32) -> Instruction {
        let i = Int(opcode.rawValue)
        let a = UInt8((100 + i) % 256), b = UInt16((150 + i) % 256), register = UInt32((200 + i) % 256)
        switch opcode.info.format {
        case .none: return Instruction(opcode)
        case .j: return Instruction(opcode, c: end)
        case .gj: return Instruction(opcode, globSet: wideGlobSet - i % 2, target: end)
        case .as: return Instruction(opcode, a: a, c: 2)
        case .ak: return Instruction(opcode, a: a, c: 1)
        case .abc: return Instruction(opcode, a: a, b: b, c: register)
        case .ab: return Instruction(opcode, a: a, b: b)
        case .abx: return Instruction(opcode, a: a, b: b, c: 1)
        case .abp: return Instruction(opcode, a: a, b: b, c: 2)
        case .aj: return Instruction(opcode, a: a, c: end)
        case .abk: return Instruction(opcode, a: a, b: b, c: 2)
        }
    }

    /// A program that verifies: one rule whose body holds one instruction of every opcode, in
    /// table order, then `NO`, with the tables those instructions index.
    static func everyOpcodeProgram() -> Program {
        let end = UInt32(Opcode.allCases.count)
        var program = Program(policies: [PolicyEntry(name: "isa", file: "isa.yaml")])
        program.code = Opcode.allCases.map { instruction($0, end: end) } + [Instruction(.no)]
        program.codeLines = program.code.indices.map { UInt32(10 + $0) }
        // Each instruction stands for its mnemonic and reads the one before it, so the source
        // table's texts and inputs take the round trip too.
        program.sourceTable = SourceTable(texts: Opcode.allCases.map(\.info.mnemonic), entries: program.code.indices.map { pc in
            SourceTable.Entry(text: pc < Opcode.allCases.count ? UInt32(pc) : SourceTable.none,
                              left: pc > 0 ? UInt32(pc - 1) : SourceTable.none)
        })
        program.rules = [RuleEntry(id: "every-opcode", policy: 0, isDeny: false, ring: nil, limit: nil, reason: nil,
                                   entry: 0, end: end + 1, registers: 256, line: 3, column: 5)]
        program.slots = [SlotEntry(root: .action), SlotEntry(root: .resource), SlotEntry(root: .params, path: ["query"], transforms: [.lower])]
        program.constants = [.null, .string("fs.read"), .list([.number(1), .bool(true)])]
        program.globs = [GlobEntry(pattern: "fs.*", separator: 0x2E), GlobEntry(pattern: "/workspace/**", separator: 0x2F),
                         GlobEntry(pattern: "*.csv", separator: 0x2F)]
        program.globSets = Array(repeating: [0], count: wideGlobSet + 1)
        program.regexes = ["(?i)drop", "^a+$"]
        program.regexLiterals = [nil, nil]
        program.actionIndex = ActionIndex.build(program)
        return program
    }

    /// The operand prefixes the disassembler writes for each format, in order, with the field
    /// each one fills.
    static func operands(_ format: Opcode.Format) -> [(prefix: String, field: WritableKeyPath<Operands, Int>)] {
        switch format {
        case .none: []
        case .j: [("@", \.c)]
        case .gj: [("G", \.globSet), ("@", \.c)]
        case .as: [("R", \.a), ("S", \.c)]
        case .ak: [("R", \.a), ("K", \.c)]
        case .abc: [("R", \.a), ("R", \.b), ("R", \.c)]
        case .ab: [("R", \.a), ("R", \.b)]
        case .abx: [("R", \.a), ("R", \.b), ("X", \.c)]
        case .abp: [("R", \.a), ("R", \.b), ("P", \.c)]
        case .aj: [("R", \.a), ("@", \.c)]
        case .abk: [("R", \.a), ("R", \.b), ("K", \.c)]
        }
    }

    /// Operand values read back from a disassembled instruction.
    struct Operands {
        /// Operand A.
        var a = 0
        /// Operand B.
        var b = 0
        /// Operand C.
        var c = 0
        /// A 24-bit glob set, split over A (high byte) and B.
        var globSet: Int {
            get { a << 16 | b }
            set {
                a = newValue >> 16
                b = newValue & 0xFFFF
            }
        }
    }

    /// Reads one disassembled instruction (`MNEMONIC op, op ; comment`) back into an instruction
    /// through `Opcode.table`; nil when the text is not one.
    static func assemble(_ text: String) -> Instruction? {
        let code = text.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let words = code.split(separator: " ", maxSplits: 1).map(String.init)
        guard let mnemonic = words.first, let opcode = Opcode.allCases.first(where: { $0.info.mnemonic == mnemonic }) else { return nil }
        let written = words.count > 1 ? words[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : []
        let expected = operands(opcode.info.format)
        guard written.count == expected.count else { return nil }
        var values = Operands()
        for (operand, (prefix, field)) in zip(written, expected) {
            guard operand.hasPrefix(prefix), let value = Int(operand.dropFirst(prefix.count)) else { return nil }
            values[keyPath: field] = value
        }
        guard let a = UInt8(exactly: values.a), let b = UInt16(exactly: values.b), let c = UInt32(exactly: values.c) else { return nil }
        return Instruction(opcode, a: a, b: b, c: c)
    }

    /// Every opcode of the table is encoded into a bundle, read back unchanged, disassembled, and
    /// the disassembly reads back to the same instruction.
    @Test func everyOpcodeRoundTripsThroughABundleAndTheDisassembler() throws {
        #expect(Set(Opcode.table.keys) == Set(Opcode.allCases), "Opcode.table and Opcode differ")
        let mnemonics = Opcode.allCases.map(\.info.mnemonic)
        #expect(Set(mnemonics).count == mnemonics.count, "two opcodes share a mnemonic: \(mnemonics)")
        let program = Self.everyOpcodeProgram()
        #expect(Set(program.code.compactMap(\.op)) == Set(Opcode.allCases))
        let bytes = Bundle.encode(program)
        let decoded = try Bundle.decode(bytes).program.program
        #expect(decoded == program, "the bundle reader gave back another program")
        #expect(Bundle.encode(decoded) == bytes)
        for (pc, original) in program.code.enumerated() {
            let read = decoded.code[pc]
            let opcode = try #require(original.op)
            #expect(read == original, "\(opcode.info.mnemonic): encoded \(original), read back \(read)")
            let text = Disassembler.render(read, in: decoded)
            #expect(text.hasPrefix(opcode.info.mnemonic), "\(opcode.info.mnemonic) disassembles as `\(text)`")
            #expect(Self.assemble(text) == original, "\(opcode.info.mnemonic): `\(text)` does not read back to \(original)")
        }
        // The whole program's listing shows each instruction exactly as rendered alone.
        let listing = Disassembler.render(decoded)
        for instruction in decoded.code {
            let text = Disassembler.render(instruction, in: decoded)
            #expect(listing.contains(text), "the listing lacks `\(text)`")
        }
    }
}
