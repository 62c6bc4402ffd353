/// The Ringfence instruction set, defined once.
///
/// Every instruction is 8 bytes:
///
/// ```
/// +--------+--------+----------------+--------------------------------+
/// | opcode |   A    |       B        |               C                |
/// |  u8    |  u8    |      u16       |              u32               |
/// +--------+--------+----------------+--------------------------------+
/// ```
///
/// `R[n]` is register n, `S[n]` request slot n (a value the request was decoded into),
/// `K[n]` constant n, `G[n]` glob set n, `P[n]` glob n, `X[n]` regex n. Jump targets are
/// absolute instruction indexes and always point forward, so every rule body terminates.
/// The encoder, decoder, verifier and disassembler all read `Opcode.table`; nothing else
/// lists the opcodes.
public enum Opcode: UInt8, CaseIterable, Sendable {
    case yes = 0, no, jump, matchAction, matchResource, loadSlot, loadConstant, has
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual, contains, inList
    case regex, glob, startsWith, endsWith, length, jumpIfFalse, jumpIfTrue
    case equalConstant, notEqualConstant

    /// How an opcode uses its operand fields.
    public enum Format: String, Sendable {
        /// No operands.
        case none
        /// C = jump target.
        case j
        /// A:B = glob set (24 bits, A the high byte), C = jump target taken when nothing matches.
        case gj = "gj24"
        /// A = destination register, C = slot.
        case `as`
        /// A = destination register, C = constant.
        case ak
        /// A = destination register, B and C = source registers.
        case abc
        /// A = destination register, B = source register.
        case ab
        /// A = destination register, B = source register, C = regex.
        case abx
        /// A = destination register, B = source register, C = glob.
        case abp
        /// A = register tested, C = jump target.
        case aj
        /// A = destination register, B = source register, C = constant.
        case abk
    }

    /// One row of the instruction-set table.
    public struct Info: Sendable {
        /// The assembler mnemonic.
        public let mnemonic: String
        /// Operand usage.
        public let format: Format
        /// Register transfer, one line.
        public let doc: String
    }

    /// The instruction-set table: mnemonic, operand format and meaning of every opcode.
    public static let table: [Opcode: Info] = [
        .yes: Info(mnemonic: "YES", format: .none, doc: "the rule applies; stop"),
        .no: Info(mnemonic: "NO", format: .none, doc: "the rule does not apply; stop"),
        .jump: Info(mnemonic: "JMP", format: .j, doc: "pc := C"),
        .matchAction: Info(mnemonic: "MACT", format: .gj, doc: "if no glob of G[A:B] matches the action: pc := C"),
        .matchResource: Info(mnemonic: "MRES", format: .gj,
                             doc: "if the resource is absent or no glob of G[A:B] matches it: pc := C (error if it cannot be placed)"),
        .loadSlot: Info(mnemonic: "LDS", format: .as, doc: "R[A] := S[C]"),
        .loadConstant: Info(mnemonic: "LDK", format: .ak, doc: "R[A] := K[C]"),
        .has: Info(mnemonic: "HAS", format: .as, doc: "R[A] := S[C] is present"),
        .equal: Info(mnemonic: "EQ", format: .abc, doc: "R[A] := R[B] == R[C] (false when either is absent)"),
        .notEqual: Info(mnemonic: "NE", format: .abc, doc: "R[A] := R[B] != R[C] (false when either is absent)"),
        .less: Info(mnemonic: "LT", format: .abc, doc: "R[A] := R[B] < R[C] (numbers or strings; error on other types)"),
        .lessOrEqual: Info(mnemonic: "LE", format: .abc, doc: "R[A] := R[B] <= R[C]"),
        .greater: Info(mnemonic: "GT", format: .abc, doc: "R[A] := R[B] > R[C]"),
        .greaterOrEqual: Info(mnemonic: "GE", format: .abc, doc: "R[A] := R[B] >= R[C]"),
        .contains: Info(mnemonic: "CONT", format: .abc, doc: "R[A] := R[B] (string or list) contains R[C]"),
        .inList: Info(mnemonic: "IN", format: .abc, doc: "R[A] := R[B] in R[C] (list membership or substring)"),
        .regex: Info(mnemonic: "RX", format: .abx, doc: "R[A] := X[C] finds a match in R[B]"),
        .glob: Info(mnemonic: "GLOB", format: .abp, doc: "R[A] := P[C] matches R[B]"),
        .startsWith: Info(mnemonic: "SW", format: .abc, doc: "R[A] := R[B] starts with R[C]"),
        .endsWith: Info(mnemonic: "EW", format: .abc, doc: "R[A] := R[B] ends with R[C]"),
        .length: Info(mnemonic: "LEN", format: .ab, doc: "R[A] := length of R[B] (characters of a string, items of a list)"),
        .jumpIfFalse: Info(mnemonic: "JF", format: .aj, doc: "if R[A] is false or absent: pc := C (error unless boolean)"),
        .jumpIfTrue: Info(mnemonic: "JT", format: .aj, doc: "if R[A] is true: pc := C (error unless boolean or absent)"),
        .equalConstant: Info(mnemonic: "EQK", format: .abk, doc: "R[A] := R[B] == K[C] (false when R[B] is absent)"),
        .notEqualConstant: Info(mnemonic: "NEK", format: .abk, doc: "R[A] := R[B] != K[C] (false when R[B] is absent)"),
    ]

    /// This opcode's table row.
    public var info: Info { Opcode.table[self]! }

    /// The canonical text of the table; its SHA-256 prefix is the instruction-set fingerprint.
    public static var tableText: String {
        allCases.map { op in "\(op.rawValue) \(op.info.mnemonic) \(op.info.format.rawValue)" }.joined(separator: "\n")
    }
}

/// One 8-byte instruction (see `Opcode` for the layout).
public struct Instruction: Sendable, Hashable {
    /// The opcode's raw value (verified to be a known opcode before execution).
    public var opcode: UInt8
    /// Operand A (a register).
    public var a: UInt8
    /// Operand B (a register or glob set).
    public var b: UInt16
    /// Operand C (a register, slot, constant, pattern or jump target).
    public var c: UInt32

    /// Creates an instruction.
    public init(_ op: Opcode, a: UInt8 = 0, b: UInt16 = 0, c: UInt32 = 0) {
        self.opcode = op.rawValue
        self.a = a
        self.b = b
        self.c = c
    }

    /// Creates an instruction from raw fields (used by the decoder).
    public init(raw opcode: UInt8, a: UInt8, b: UInt16, c: UInt32) {
        self.opcode = opcode
        self.a = a
        self.b = b
        self.c = c
    }

    /// The decoded opcode, or nil for an unknown byte.
    public var op: Opcode? { Opcode(rawValue: opcode) }

    /// The glob set of an `MACT`/`MRES` (format `gj`): 24 bits, A the high byte.
    @inline(__always)
    public var globSet: Int { Int(a) << 16 | Int(b) }

    /// An `MACT`/`MRES` testing glob set `set` (below 2^24) and jumping to `target` on no match.
    public init(_ op: Opcode, globSet set: Int, target: UInt32 = 0) {
        precondition(set >= 0 && set < 1 << 24, "glob set index out of range")
        self.init(op, a: UInt8(truncatingIfNeeded: set >> 16), b: UInt16(truncatingIfNeeded: set), c: target)
    }
}
