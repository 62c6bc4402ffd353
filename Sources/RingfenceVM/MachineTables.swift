import RingfenceBytecode
import RingfenceMatch

/// The machine's immutable tables in buffers allocated once at load and freed with the
/// machine, so deciding reads code, constants, patterns, rule metadata and the index through
/// plain pointers: no array bounds checks beyond the verifier's, and no reference counting per
/// access or per decision.
final class MachineTables: @unchecked Sendable {
    // Safety: every buffer is written once in `init` and only read afterwards; `deinit` frees them.
    /// The pointers, as one value in a buffer of its own: the decision path passes its address
    /// (eight bytes) rather than copying a few hundred bytes of pointers per call.
    let view: TableViewRef
    /// The machine's decision texts (decisions keep them alive through their threads' holds).
    let decisionTexts: DecisionTextsTable

    /// Copies the tables into fresh buffers; the patterns are retained until `deinit`.
    init(program: Program, constants: [Register], arena: Arena, globs: [Glob], globSets: [[Int]], regexes: [Regex],
         texts: DecisionTextsTable) {
        decisionTexts = texts
        var starts: [Int32] = [0]
        var members: [Int32] = []
        for set in globSets {
            members += set.map { Int32(truncatingIfNeeded: $0) }
            starts.append(Int32(truncatingIfNeeded: members.count))
        }
        let view = UnsafeMutablePointer<TableView>.allocate(capacity: 1)
        view.initialize(to: TableView(
            code: UnsafeBufferPointer(stableCopy(program.code)),
            constants: UnsafeBufferPointer(stableCopy(constants)),
            constantBytes: UnsafeBufferPointer(stableCopy(arena.bytes)),
            constantItems: UnsafeBufferPointer(stableCopy(arena.items)),
            globs: UnsafeBufferPointer(stableCopy(globs.map { Unmanaged.passRetained($0.matcher) })),
            globSetStarts: UnsafeBufferPointer(stableCopy(starts)),
            globSetMembers: UnsafeBufferPointer(stableCopy(members)),
            regexes: UnsafeBufferPointer(stableCopy(regexes.map { Unmanaged.passRetained($0) })),
            rules: UnsafeBufferPointer(stableCopy(program.rules.indices.map { i in
                RuleGates(entry: Int32(truncatingIfNeeded: program.rules[i].entry), ring: program.rules[i].ring.map(Int8.init) ?? -1,
                          limited: program.rules[i].limit != nil, isDeny: program.rules[i].isDeny, texts: texts.rule(i))
            })),
            policyTexts: UnsafeBufferPointer(stableCopy(program.policies.indices.map { texts.policyDefault($0) })),
            decisionTexts: Unmanaged.passUnretained(texts),
            index: IndexTables(program.actionIndex, isDeny: program.rules.map(\.isDeny))))
        self.view = TableViewRef(pointer: UnsafePointer(view))
    }

    deinit {
        // No decision will name these texts again: threads let go of their holds on them.
        decisionTexts.retired.store(true, ordering: .relaxed)
        let view = self.view.pointer.pointee
        for r in view.regexes { r.release() }
        for g in view.globs { g.release() }
        // Every element type here is trivial (the references are unmanaged, the texts owned by
        // `decisionTexts`),
        // so deallocating is enough.
        view.code.deallocateStable()
        view.constants.deallocateStable()
        view.constantBytes.deallocateStable()
        view.constantItems.deallocateStable()
        view.globs.deallocateStable()
        view.globSetStarts.deallocateStable()
        view.globSetMembers.deallocateStable()
        view.regexes.deallocateStable()
        view.rules.deallocateStable()
        view.policyTexts.deallocateStable()
        view.index.deallocate()
        self.view.pointer.deallocate()
    }
}

/// What deciding needs to know about one rule, besides its code.
struct RuleGates {
    /// The rule's first instruction.
    let entry: Int32
    /// The least-privileged ring allowed, or -1 for no gate.
    let ring: Int8
    /// True when the rule declares a rate limit.
    let limited: Bool
    /// True for deny rules.
    let isDeny: Bool
    /// The texts its decisions name.
    let texts: DecisionTexts.Pointer
}

/// The address of a `MachineTables`' view, valid while the tables live.
struct TableViewRef: @unchecked Sendable {
    // Safety: points at an immutable value owned by a `MachineTables`, which outlives every use.
    let pointer: UnsafePointer<TableView>
}

/// Read-only views of a `MachineTables`' buffers, valid while the tables live.
struct TableView: @unchecked Sendable {
    // Safety: views of immutable buffers owned by a `MachineTables`, which outlives every use.
    let code: UnsafeBufferPointer<Instruction>
    let constants: UnsafeBufferPointer<Register>
    let constantBytes: UnsafeBufferPointer<UInt8>
    let constantItems: UnsafeBufferPointer<Register>
    let globs: UnsafeBufferPointer<Unmanaged<GlobProgram>>
    /// Glob set `s` is `globSetMembers[globSetStarts[s] ..< globSetStarts[s + 1]]`.
    let globSetStarts: UnsafeBufferPointer<Int32>
    let globSetMembers: UnsafeBufferPointer<Int32>
    let regexes: UnsafeBufferPointer<Unmanaged<Regex>>
    /// Per rule, in program order.
    let rules: UnsafeBufferPointer<RuleGates>
    /// Per policy: the texts of its default allow (used by first-match policies).
    let policyTexts: UnsafeBufferPointer<DecisionTexts.Pointer>
    /// The table holding the texts (unretained: `MachineTables.decisionTexts` owns it).
    let decisionTexts: Unmanaged<DecisionTextsTable>
    /// The action index.
    let index: IndexTables
}

/// A buffer holding a copy of `array`, allocated with at least one slot so its base address is
/// never nil; the caller owns it and frees it with `deallocateStable()`.
func stableCopy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
    let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
    _ = buffer.initialize(from: array)
    return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
}

extension UnsafeBufferPointer {
    /// Frees a buffer made by `stableCopy` (trivial elements only).
    func deallocateStable() {
        baseAddress?.deallocate()
    }
}
