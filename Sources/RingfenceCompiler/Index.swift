import RingfenceBytecode

/// Stage 4, index: the lowered program → the same program with its action index and resource
/// prefixes (`ActionIndex`). The derivation lives in the bytecode module because the verifier
/// rebuilds the index from the rules and refuses a program whose stored index differs.
enum Index {
    /// Builds and stores the index of `program`.
    static func run(_ program: inout Program) {
        program.actionIndex = ActionIndex.build(program)
    }
}
