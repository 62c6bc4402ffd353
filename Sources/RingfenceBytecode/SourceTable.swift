/// The pc-to-source table: what each instruction stands for in the policy source, written by the
/// compiler so explanations never rebuild expression text from bytecode.
///
/// One entry per instruction (parallel to `Program.code`, like `codeLines`):
///
/// ```
/// field   meaning
/// text    index into `texts`: the canonical spelling of the expression the instruction
///         computes (`params["method"] == "GET"`), the expression a JF/JT tests, or the
///         pattern list a MACT/MRES matches (`["fs.read"]`); `none` for JMP, YES and NO
/// left    pc of the instruction that wrote the first register this one reads (R[B], or the
///         register a JF/JT tests), or `none`
/// right   pc of the instruction that wrote the second (R[C] of a two-register operation)
/// ```
///
/// In a bundle each entry is three LEB128 numbers (`BinaryWriter.varint`): `text + 1`, then for
/// `left` and `right` the distance back to that pc (`pc − left`, zigzag-coded so that a table
/// the verifier must refuse still round-trips) plus 1. Zero stands for `none` in all three.
/// Inputs sit a few instructions back and texts are interned, so an entry takes 3 to 5 bytes
/// instead of 12.
public struct SourceTable: Sendable, Hashable {
    /// The marker for an absent text or input.
    public static let none = UInt32.max
    /// How many levels of nested operands a text spells out before writing `condition`.
    public static let maxDepth = 16

    /// What one instruction stands for.
    public struct Entry: Sendable, Hashable {
        /// Index into `texts`, or `none`.
        public var text: UInt32
        /// The pc whose value is this instruction's first operand, or `none`.
        public var left: UInt32
        /// The pc whose value is this instruction's second operand, or `none`.
        public var right: UInt32

        /// An entry without text or inputs (JMP, YES, NO).
        public static let empty = Entry(text: SourceTable.none, left: SourceTable.none, right: SourceTable.none)

        /// Creates an entry.
        public init(text: UInt32, left: UInt32 = SourceTable.none, right: UInt32 = SourceTable.none) {
            self.text = text
            self.left = left
            self.right = right
        }

        /// The pcs of the instructions whose values this one reads, first operand first.
        public var inputs: [Int] {
            [left, right].compactMap { $0 == SourceTable.none ? nil : Int($0) }
        }
    }

    /// The distinct texts, in order of first use.
    public var texts: [String]
    /// One entry per instruction.
    public var entries: [Entry]

    /// Creates a table.
    public init(texts: [String] = [], entries: [Entry] = []) {
        self.texts = texts
        self.entries = entries
    }

    /// The text instruction `pc` stands for, or nil when it has none.
    public func text(at pc: Int) -> String? {
        guard pc >= 0, pc < entries.count else { return nil }
        let index = entries[pc].text
        guard index != SourceTable.none, Int(index) < texts.count else { return nil }
        return texts[Int(index)]
    }
}

extension SourceTable {
    /// Writes the entry of instruction `pc` (see the layout at the top of the file).
    static func encode(_ entry: Entry, at pc: Int, _ w: inout BinaryWriter) {
        w.varint(entry.text == none ? 0 : UInt64(entry.text) + 1)
        for input in [entry.left, entry.right] {
            guard input != none else {
                w.varint(0)
                continue
            }
            w.varint(zigzag(Int64(pc) - Int64(input)) + 1)
        }
    }

    /// Reads the entry of instruction `pc`; an input outside 0..<`none` is malformed.
    static func decode(at pc: Int, _ r: inout BinaryReader) throws(BinaryReader.Malformed) -> Entry {
        let text = try r.varint()
        guard text <= UInt64(none) else { throw BinaryReader.Malformed(message: "a source-table text index out of range at byte \(r.offset)") }
        var inputs: [UInt32] = [none, none]
        for i in 0..<2 {
            let coded = try r.varint()
            guard coded > 0 else { continue }
            let (input, overflow) = Int64(pc).subtractingReportingOverflow(unzigzag(coded - 1))
            guard !overflow, input >= 0, input < Int64(none) else {
                throw BinaryReader.Malformed(message: "a source-table input out of range at byte \(r.offset)")
            }
            inputs[i] = UInt32(input)
        }
        return Entry(text: text == 0 ? none : UInt32(text - 1), left: inputs[0], right: inputs[1])
    }
}
