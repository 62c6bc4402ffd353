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
    /// A one-line account, e.g. "`params["method"] == "GET"` is false (params["method"] is "POST")".
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
                    detail = trace.failedAt.map { describeError(at: $0, fault, vm) } ?? fault.phrase
                case .doesNotApply:
                    (result, detail) = describeMiss(trace.lastBranch, vm)
                }
                return RuleExplanation(policy: view.pointer.pointee.rules[index].texts.texts.policy, rule: rule.id, effect: rule.isDeny ? "deny" : "allow",
                                       result: result, detail: detail, decided: decided, line: Int(rule.line))
            }
        }
    }

    /// Why a rule did not apply: the test that jumped to its `NO` last, with its source text.
    private func describeMiss(_ pc: Int?, _ vm: Interpreter) -> (RuleExplanation.Result, String) {
        guard let pc, let op = code[pc].op else { return (.whenFalse, "`when` is false") }
        switch op {
        case .matchAction:
            return (.actionMismatch, "action `\(text(vm.action))` matches none of \(source(pc))")
        case .matchResource:
            guard let resource = vm.resource else {
                return (.resourceMismatch, "the request has no resource; the rule needs one of \(source(pc))")
            }
            return (.resourceMismatch, "resource `\(text(resource))` matches none of \(source(pc))")
        case .jumpIfTrue:
            return (.whenFalse, "`\(source(pc))` is true\(values(from: inputs(pc), vm))")
        default:
            let absent = vm.registers[Int(code[pc].a)].tag == .absent
            return (.whenFalse, "`\(source(pc))` is \(absent ? "absent" : "false")\(values(from: inputs(pc), vm))")
        }
    }

    /// Why a rule could not be evaluated: the instruction that failed, with its source text.
    private func describeError(at pc: Int, _ fault: RuleFault, _ vm: Interpreter) -> String {
        guard let op = code[pc].op else { return fault.phrase }
        if fault == .unplaceableResource {
            return "the resource cannot be placed (a path climbing above its start, or a url that cannot be parsed), "
                + "so a rule that matches on it cannot be evaluated"
        }
        if fault == .regexBudget {
            return "`\(source(pc))` went over the decision's regex work budget"
        }
        if op == .loadSlot {
            return "`\(source(pc))` cannot be computed (it is not a string)"
        }
        // A failing test names the expression it tests; a failing operation names itself. The values
        // shown are those of the request behind it (for a test, also behind the test itself).
        if op.info.format == .aj {
            return "`\(source(pc))` is not a boolean" + values(from: inputs(pc) + [pc], vm)
        }
        return "`\(source(pc))` has operands of the wrong type" + values(from: [pc, pc], vm)
    }

    /// The source text instruction `pc` stands for, from the program's source table.
    private func source(_ pc: Int) -> String {
        program.sourceTable.text(at: pc) ?? "condition"
    }

    /// The pcs of the instructions whose values instruction `pc` reads, from the source table.
    private func inputs(_ pc: Int) -> [Int] {
        pc < program.sourceTable.entries.count ? program.sourceTable.entries[pc].inputs : []
    }

    /// ` (params["method"] is "POST", agent.trust is 0.5)`: the request values read by the
    /// expressions at `starts` and beneath them (following the source table's inputs, at most 63
    /// instructions), in code order.
    private func values(from starts: [Int], _ vm: Interpreter) -> String {
        var loads: [Int] = []
        var pending = starts
        var seen = Set<Int>()
        while let pc = pending.popLast(), seen.insert(pc).inserted, seen.count < 64 {
            if code[pc].op == .loadSlot {
                loads.append(pc)
            } else {
                pending += inputs(pc)
            }
        }
        let parts = loads.sorted().map { pc in "\(source(pc)) is \(vm.text(of: vm.registers[Int(code[pc].a)]))" }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
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
