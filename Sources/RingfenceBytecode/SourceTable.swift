/// The pc-to-source table: what each instruction stands for in the policy source, written by the
/// compiler so explanations never rebuild expression text from bytecode.
///
/// One entry per instruction (parallel to `Program.code`, like `codeLines`):
///
/// ```
/// field   u32   meaning
/// text          index into `texts`: the canonical spelling of the expression the instruction
///               computes (`params["method"] == "GET"`), the expression a JF/JT tests, or the
///               pattern list a MACT/MRES matches (`["fs.read"]`); `none` for JMP, YES and NO
/// left          pc of the instruction that wrote the first register this one reads (R[B], or the
///               register a JF/JT tests), or `none`
/// right         pc of the instruction that wrote the second (R[C] of a two-register operation)
/// ```
///
/// `left` and `right` always name earlier instructions of the same rule (the verifier proves it),
/// so following them from any instruction visits the expression tree beneath it and stops.
/// Texts spell nested operands down to `maxDepth` levels below the instruction; deeper ones read
/// `condition`, as explanations always showed them.
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
