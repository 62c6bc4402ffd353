import RingfenceBytecode
import Testing

/// The interpreter reads a verified instruction's opcode byte as the `Opcode` itself, which holds
/// only while opcodes are numbered from 0 in declaration order.
@Suite struct InstructionSetTests {
    @Test func opcodesAreNumberedInDeclarationOrder() {
        for (index, opcode) in Opcode.allCases.enumerated() {
            #expect(Int(opcode.rawValue) == index, "\(opcode) has raw value \(opcode.rawValue), declared at \(index)")
            #expect(unsafeBitCast(opcode.rawValue, to: Opcode.self) == opcode)
        }
        #expect(MemoryLayout<Opcode>.size == 1)
    }
}
