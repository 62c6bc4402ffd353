import RingfenceBytecode

/// Why one rule did or did not decide a request (`eval --explain`, `Engine.explain`).
public struct RuleExplanation: Sendable, Hashable {
    /// What happened to the rule.
    public enum Result: String, Sendable, Hashable {
        /// The rule applied (and, for allow rules, passed its gates).
        case applied
        /// No action pattern matched.
        case actionMismatch = "action_mismatch"
        /// The request has no resource, or no resource pattern matched it.
        case resourceMismatch = "resource_mismatch"
        /// `when` was false.
        case whenFalse = "when_false"
        /// `when` could not be evaluated.
        case whenError = "when_error"
        /// The rule applied but the agent's ring is not privileged enough.
        case ring
        /// The rule applied but its rate limit is exhausted.
        case rateLimit = "rate_limit"
    }

    /// The rule's policy.
    public var policy: String
    /// The rule's id.
    public var rule: String
    /// `allow` or `deny`.
    public var effect: String
    /// What happened.
    public var result: Result
    /// A one-line account, e.g. "`params.method == "GET"` is false (params.method is "POST")".
    public var detail: String
    /// True for the rule the decision names.
    public var decided: Bool
    /// The rule's source line.
    public var line: Int
}

/// Records the last branch and the failing instruction of one rule body.
private struct RecordingTrace: RuleTrace {
    var lastBranch: Int?
    var failedAt: Int?

    mutating func branch(from pc: Int, to target: UInt32) -> Int {
        lastBranch = pc
        return Int(target)
    }

    mutating func failed(at pc: Int, _ fault: RuleFault) -> RuleOutcome {
        failedAt = pc
        return .error(fault)
    }
}

extension Machine {
    /// Explains, rule by rule in file order, why each rule did or did not decide `request`,
    /// given the `decision` it received. Reads the rate limiter's state without consuming.
    public func explain(_ request: PreparedRequest, decision: Decision) -> [RuleExplanation] {
        withInterpreter(request) { vm in
            program.rules.indices.map { index in
                vm.registers.update(repeating: .absent)
                // Each rule is explained with a budget of its own (a decision shares one across its
                // rules, deny rules first, so only a rule that alone exhausts it is shown as such).
                vm.regexBudget.pointee = Interpreter.decisionRegexBudget()
                let rule = program.rules[index]
                var trace = RecordingTrace()
                let outcome = vm.run(rule, trace: &trace)
                let decided = decision.rule == rule.id && decision.policy == view.pointer.pointee.rules[index].texts.texts.policy
                var result: RuleExplanation.Result
                var detail: String
                switch outcome {
                case .applies:
                    result = .applied
                    detail = rule.isDeny ? "the rule applies" : "the rule applies and its gates pass"
                    if !rule.isDeny, let gate = rule.ring, request.ring > Int(gate) {
                        result = .ring
                        detail = "agent ring \(request.ring) is above the rule's ring \(gate)"
                    } else if decided, decision.code == .rateLimit {
                        result = .rateLimit
                        detail = view.pointer.pointee.rules[index].texts.texts.rateLimitReason
                    }
                case .error(let fault):
                    result = .whenError
                    detail = trace.failedAt.map { describeError(at: $0, fault, rule: rule, vm) } ?? fault.phrase
                case .doesNotApply:
                    (result, detail) = describeMiss(trace.lastBranch, rule: rule, request: request, vm)
                }
                return RuleExplanation(policy: view.pointer.pointee.rules[index].texts.texts.policy, rule: rule.id, effect: rule.isDeny ? "deny" : "allow",
                                       result: result, detail: detail, decided: decided, line: Int(rule.line))
            }
        }
    }

    private func describeMiss(_ pc: Int?, rule: RuleEntry, request: PreparedRequest, _ vm: Interpreter) -> (RuleExplanation.Result, String) {
        guard let pc, let op = code[pc].op else { return (.whenFalse, "`when` is false") }
        switch op {
        case .matchAction:
            return (.actionMismatch, "action `\(text(vm.action))` matches none of \(patterns(code[pc].globSet))")
        case .matchResource:
            guard let resource = vm.resource else {
                return (.resourceMismatch, "the request has no resource; the rule needs one of \(patterns(code[pc].globSet))")
            }
            return (.resourceMismatch, "resource `\(text(resource))` matches none of \(patterns(code[pc].globSet))")
        case .jumpIfTrue:
            return (.whenFalse, "`\(describe(Int(code[pc].a), rule: rule, before: pc))` is true\(values(Int(code[pc].a), rule: rule, before: pc, vm))")
        default:
            let r = Int(code[pc].a)
            let absent = vm.registers[r].tag == .absent
            return (.whenFalse, "`\(describe(r, rule: rule, before: pc))` is \(absent ? "absent" : "false")\(values(r, rule: rule, before: pc, vm))")
        }
    }

    private func describeError(at pc: Int, _ fault: RuleFault, rule: RuleEntry, _ vm: Interpreter) -> String {
        let ins = code[pc]
        guard let op = ins.op else { return fault.phrase }
        if fault == .unplaceableResource {
            return "the resource cannot be placed (a path climbing above its start, or a url that cannot be parsed), "
                + "so a rule that matches on it cannot be evaluated"
        }
        if fault == .regexBudget {
            return "`\(describeInstruction(pc, rule: rule))` went over the decision's regex work budget"
        }
        if op == .loadSlot {
            return "`\(program.slots[Int(ins.c)])` cannot be computed (it is not a string)"
        }
        let what = op.info.format == .aj ? "`\(describe(Int(ins.a), rule: rule, before: pc))` is not a boolean"
            : "`\(describeInstruction(pc, rule: rule))` has operands of the wrong type"
        return what + values(Int(ins.a), rule: rule, before: pc + 1, vm, including: pc)
    }

    /// The instruction in `rule` before `pc` that wrote register `r` (registers are written once).
    private func definition(of r: Int, rule: RuleEntry, before pc: Int) -> Int? {
        var i = min(pc, Int(rule.end)) - 1
        while i >= Int(rule.entry) {
            let ins = code[i]
            if let f = ins.op?.info.format, [.as, .ak, .abc, .ab, .abx, .abp, .abk].contains(f), Int(ins.a) == r { return i }
            i -= 1
        }
        return nil
    }

    /// Register `r` written back as an expression.
    private func describe(_ r: Int, rule: RuleEntry, before pc: Int, depth: Int = 0) -> String {
        guard depth < 16, let def = definition(of: r, rule: rule, before: pc) else { return "condition" }
        return describeInstruction(def, rule: rule, depth: depth)
    }

    private func describeInstruction(_ pc: Int, rule: RuleEntry, depth: Int = 0) -> String {
        let ins = code[pc]
        func reg(_ n: Int) -> String { describe(n, rule: rule, before: pc, depth: depth + 1) }
        let b = Int(ins.b), c = Int(ins.c)
        switch ins.op {
        case .loadSlot?: return program.slots[c].description
        case .loadConstant?: return Disassembler.describe(program.constants[c])
        case .has?: return "has(\(program.slots[c]))"
        case .equal?: return "\(reg(b)) == \(reg(c))"
        case .notEqual?: return "\(reg(b)) != \(reg(c))"
        case .less?: return "\(reg(b)) < \(reg(c))"
        case .lessOrEqual?: return "\(reg(b)) <= \(reg(c))"
        case .greater?: return "\(reg(b)) > \(reg(c))"
        case .greaterOrEqual?: return "\(reg(b)) >= \(reg(c))"
        case .inList?: return "\(reg(b)) in \(reg(c))"
        case .contains?: return "contains(\(reg(b)), \(reg(c)))"
        case .startsWith?: return "startsWith(\(reg(b)), \(reg(c)))"
        case .endsWith?: return "endsWith(\(reg(b)), \(reg(c)))"
        case .length?: return "len(\(reg(b)))"
        case .regex?: return "\(reg(b)) =~ \(Disassembler.describe(.string(program.regexes[c])))"
        case .glob?: return "glob(\(reg(b)), \(Disassembler.describe(.string(program.globs[c].pattern))))"
        case .equalConstant?: return "\(reg(b)) == \(Disassembler.describe(program.constants[c]))"
        case .notEqualConstant?: return "\(reg(b)) != \(Disassembler.describe(program.constants[c]))"
        default: return "condition"
        }
    }

    /// ` (params.method is "POST", agent.trust is 0.5)` for the request values behind register `r`.
    private func values(_ r: Int, rule: RuleEntry, before pc: Int, _ vm: Interpreter, including extra: Int? = nil) -> String {
        var loads: [Int] = []
        var pending = [definition(of: r, rule: rule, before: pc)].compactMap { $0 }
        if let extra { pending.append(extra) }
        var seen = Set<Int>()
        while let def = pending.popLast(), seen.insert(def).inserted, seen.count < 64 {
            let ins = code[def]
            switch ins.op?.info.format {
            case .as?: if ins.op == .loadSlot { loads.append(def) }
            case .abc?:
                pending += [definition(of: Int(ins.b), rule: rule, before: def), definition(of: Int(ins.c), rule: rule, before: def)].compactMap { $0 }
            case .ab?, .abx?, .abp?, .abk?:
                pending += [definition(of: Int(ins.b), rule: rule, before: def)].compactMap { $0 }
            default: break
            }
        }
        let parts = loads.sorted().map { def -> String in
            let ins = code[def]
            return "\(program.slots[Int(ins.c)]) is \(vm.text(of: vm.registers[Int(ins.a)]))"
        }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    private func patterns(_ set: Int) -> String {
        "[" + program.globSets[set].map { Disassembler.describe(.string(program.globs[Int($0)].pattern)) }.joined(separator: ", ") + "]"
    }

    private func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}

extension Interpreter {
    /// A register's value written as an expression literal, for explanations.
    func text(of r: Register, depth: Int = 0) -> String {
        switch r.tag {
        case .absent: return "absent"
        case .null: return "null"
        case .bool: return r.boolean ? "true" : "false"
        case .number: return Disassembler.describe(.number(r.number))
        case .string: return Disassembler.describe(.string(String(decoding: bytes(r), as: UTF8.self)))
        case .list:
            guard depth < 4 else { return "[…]" }
            return "[" + items(r).map { text(of: $0, depth: depth + 1) }.joined(separator: ", ") + "]"
        case .object: return "an object"
        case .error: return "an error"
        }
    }
}
