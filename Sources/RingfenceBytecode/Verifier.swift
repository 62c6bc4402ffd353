/// A program the verifier accepted. Only `Verifier.verify` makes one, so whoever holds one — a
/// machine, an engine, a decoded bundle — knows the program was verified once and need not
/// verify it again. Reads through to the program's fields (`verified.rules`, `verified.code`).
@dynamicMemberLookup
public struct VerifiedProgram: Sendable, Hashable {
    /// The program, exactly as verified.
    public let program: Program

    /// Wraps a program the verifier has just accepted.
    fileprivate init(accepted program: Program) {
        self.program = program
    }

    /// A field of the verified program.
    public subscript<T>(dynamicMember field: KeyPath<Program, T>) -> T { program[keyPath: field] }
}

/// Proves, once, everything the VM's dispatch loop assumes about a program: every opcode is
/// known, every register, slot, constant, glob, glob set and regex index is in range, every jump
/// goes forward inside its rule, every rule body ends in `YES` or `NO`, and the source table's
/// texts and inputs exist. The VM then runs without bounds checks.
public enum Verifier {
    /// The most registers one rule may use.
    public static let maxRegisters = 256

    /// Why a program was refused.
    public struct Failure: Error, Sendable, Hashable {
        /// What is wrong, naming the rule and instruction.
        public var message: String
    }

    /// Throws the first problem found, or returns the program as verified when it is sound.
    @discardableResult
    public static func verify(_ p: Program) throws(Failure) -> VerifiedProgram {
        func fail(_ message: String) -> Failure { Failure(message: message) }
        let t = p.thresholds
        guard t.privileged.isFinite, t.standard.isFinite, (0...1).contains(t.privileged), (0...1).contains(t.standard) else {
            throw fail("ring thresholds are outside [0, 1]")
        }
        guard p.codeLines.count == p.code.count else { throw fail("the line table does not match the code") }
        guard p.sourceTable.entries.count == p.code.count else { throw fail("the source table does not match the code") }
        for (i, g) in p.globs.enumerated() where g.separator != 0x2F && g.separator != 0x2E {
            throw fail("glob \(i) has an invalid separator")
        }
        for (i, set) in p.globSets.enumerated() {
            guard !set.isEmpty else { throw fail("glob set \(i) is empty") }
            for g in set where Int(g) >= p.globs.count { throw fail("glob set \(i) names glob \(g), which does not exist") }
        }
        for (i, k) in p.constants.enumerated() {
            if case .list(let items) = k {
                for item in items {
                    if case .list = item { throw fail("constant \(i) nests a list in a list") }
                }
            }
        }
        for (i, s) in p.slots.enumerated() where s.root.takesPath == s.path.isEmpty {
            throw fail("slot \(i) has a path that does not fit its root")
        }
        var seen = Set<String>()
        var previousEnd: UInt32 = 0
        for (ruleIndex, rule) in p.rules.enumerated() {
            let name = "rule \(ruleIndex) (`\(rule.id)`)"
            guard Int(rule.policy) < p.policies.count else { throw fail("\(name) names a policy that does not exist") }
            if p.policies[Int(rule.policy)].combining != .denyOverrides, rule.ring != nil || rule.limit != nil {
                throw fail("\(name) has a ring or limit in a first-match policy")
            }
            guard seen.insert("\(rule.policy)/\(rule.id)").inserted else { throw fail("\(name) repeats a rule id") }
            if let ring = rule.ring, ring > 3 { throw fail("\(name) has ring \(ring)") }
            if let l = rule.limit, l.count == 0 || l.seconds == 0 { throw fail("\(name) has an empty rate limit") }
            guard Int(rule.registers) <= maxRegisters else { throw fail("\(name) uses too many registers") }
            guard rule.entry == previousEnd, rule.entry < rule.end, Int(rule.end) <= p.code.count else {
                throw fail("\(name) has an invalid code range")
            }
            previousEnd = rule.end
            try verifyBody(p, rule: rule, name: name)
        }
        guard Int(previousEnd) == p.code.count else { throw fail("code follows the last rule") }
        // The index is derived data: rebuild it and demand the stored one be identical, so the
        // VM may trust every bucket and rule index in it.
        guard p.actionIndex == ActionIndex.build(p) else { throw fail("the action index does not match the rules") }
        // Regex literals are derived from the patterns too; the machine re-derives them with the
        // regex library when it loads the program and refuses any difference.
        guard p.regexLiterals.count == p.regexes.count else { throw fail("the regex literals do not match the regexes") }
        try verifySagas(p)
        try verifyRuntime(p)
        return VerifiedProgram(accepted: p)
    }

    private static func verifyBody(_ p: Program, rule: RuleEntry, name: String) throws(Failure) {
        let registers = Int(rule.registers)
        for pc in Int(rule.entry)..<Int(rule.end) {
            let ins = p.code[pc]
            let at = "\(name), instruction \(pc)"
            guard let op = ins.op else { throw Failure(message: "\(at): unknown opcode \(ins.opcode)") }
            try verifySource(p.sourceTable.entries[pc], texts: p.sourceTable.texts.count, rule: rule, pc: pc, at: at)
            func register(_ r: Int) throws(Failure) {
                guard r < registers else { throw Failure(message: "\(at): register \(r) is out of range") }
            }
            func target(_ c: UInt32) throws(Failure) {
                guard Int(c) > pc, c < rule.end else { throw Failure(message: "\(at): jump target \(c) is not forward inside the rule") }
            }
            func index(_ c: UInt32, _ count: Int, _ what: String) throws(Failure) {
                guard Int(c) < count else { throw Failure(message: "\(at): \(what) \(c) does not exist") }
            }
            switch op.info.format {
            case .none: break
            case .j: try target(ins.c)
            case .gj:
                try index(UInt32(ins.globSet), p.globSets.count, "glob set")
                try target(ins.c)
            case .as:
                try register(Int(ins.a))
                try index(ins.c, p.slots.count, "slot")
            case .ak:
                try register(Int(ins.a))
                try index(ins.c, p.constants.count, "constant")
            case .abc:
                try register(Int(ins.a))
                try register(Int(ins.b))
                try index(ins.c, registers, "register")
            case .ab:
                try register(Int(ins.a))
                try register(Int(ins.b))
            case .abx:
                try register(Int(ins.a))
                try register(Int(ins.b))
                try index(ins.c, p.regexes.count, "regex")
            case .abp:
                try register(Int(ins.a))
                try register(Int(ins.b))
                try index(ins.c, p.globs.count, "glob")
            case .aj:
                try register(Int(ins.a))
                try target(ins.c)
            case .abk:
                try register(Int(ins.a))
                try register(Int(ins.b))
                try index(ins.c, p.constants.count, "constant")
            }
        }
        let last = p.code[Int(rule.end) - 1].op
        guard last == .yes || last == .no else {
            throw Failure(message: "\(name) does not end in YES or NO")
        }
    }

    /// Checks one source-table entry: its text exists, and its inputs are earlier instructions of
    /// the same rule (so explanations that follow them stay inside the rule and terminate).
    private static func verifySource(_ entry: SourceTable.Entry, texts: Int, rule: RuleEntry, pc: Int, at: String) throws(Failure) {
        guard entry.text == SourceTable.none || Int(entry.text) < texts else {
            throw Failure(message: "\(at): source text \(entry.text) does not exist")
        }
        for input in [entry.left, entry.right] where input != SourceTable.none {
            guard input >= rule.entry, Int(input) < pc else {
                throw Failure(message: "\(at): source input \(input) is not an earlier instruction of the rule")
            }
        }
    }
}
