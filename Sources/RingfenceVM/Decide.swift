import RingfenceBytecode

/// What an allow rule with a `limit` asks before it allows: the caller's rate limiter (SPEC §8.4).
/// The VM keeps no clock and no limiter; a conformer holds both. Calls come only for rules that
/// declare a limit, after the rule applies and its ring gate passes.
public protocol LimitGate {
    /// Takes one token of `limit` for rule `rule` and the agent whose id is `agent`; false when
    /// none is left.
    func admit(rule: Int, limit: Limit, agent: UnsafeBufferPointer<UInt8>) -> Bool
}

/// The gate of a caller that enforces no limits: every token is granted.
public struct UnlimitedGate: LimitGate {
    /// Creates the gate.
    public init() {}

    /// Grants the token.
    @inline(__always)
    public func admit(rule: Int, limit: Limit, agent: UnsafeBufferPointer<UInt8>) -> Bool { true }
}

extension Machine {
    /// Decides on a prepared request (SPEC §3.2): deny rules first in file order (the first that
    /// applies denies, one that errors denies with code `error`), then allow rules in file order
    /// (the first that applies, passes its ring gate and gets a token from `gate` allows). When
    /// no allow rule decides, the first allow rule stopped by its ring or limit names the code;
    /// otherwise the default denies. A request too large to decide is refused with code `error`.
    /// Allocates nothing itself (unless a rule needs more than 42 registers, whose file then
    /// outgrows the 1 KiB kept on the stack); `gate` is asked only for rules with a limit.
    public func decide<Gate: LimitGate>(_ request: borrowing PreparedRequest, gate: Gate) -> Decision {
        // The closures below capture only trivial values and unmanaged references, so deciding
        // retains no shared object (the machine is kept alive by the caller).
        let ring = request.ring
        if request.tooLarge {
            return Decision(allowed: false, code: .error, ring: ring, source: .none, fault: .requestTooLarge)
        }
        let agent = request.agent
        let machine = Unmanaged.passUnretained(self)
        let view = self.view.pointer
        return Machine.withInterpreter(request, view, maxRegisters) { vm in
            let bucket = view.pointee.index.bucket(for: vm.action)
            return withUnsafeTemporaryAllocation(of: CandidateRun.self, capacity: 2 * IndexTables.maxRuns) { runs in
                let candidates = view.pointee.index.candidates(bucket: bucket, resource: vm.resource,
                                                               unplaceable: vm.resourceUnplaceable, runs: runs)
                return Machine.decide(ring: ring, vm, machine, view: view, candidates: candidates) { rule, limit in
                    gate.admit(rule: rule, limit: limit,
                               agent: UnsafeBufferPointer(rebasing: vm.requestBytes[agent.offset ..< agent.offset + agent.count]))
                }
            }
        }
    }

    /// Decides on a prepared request without enforcing rate limits.
    public func decide(_ request: borrowing PreparedRequest) -> Decision {
        decide(request, gate: UnlimitedGate())
    }

    /// Runs `body` with an interpreter over `request`: request buffers pinned, the machine's
    /// tables read from their stable buffers, registers on the stack.
    func withInterpreter<R>(_ request: borrowing PreparedRequest, _ body: (Interpreter) -> R) -> R {
        Machine.withInterpreter(request, view.pointer, maxRegisters, body)
    }

    /// `withInterpreter` over the tables `t`, with `maxRegisters` registers and a fresh regex work
    /// budget on the stack (one per decision, SPEC §3.2).
    @inline(__always)
    private static func withInterpreter<R>(_ request: borrowing PreparedRequest, _ t: UnsafePointer<TableView>, _ maxRegisters: Int,
                                           _ body: (Interpreter) -> R) -> R {
        let actionRange = request.action
        let resourceRange = request.resource
        let resourceUnplaceable = request.resourceUnplaceable
        return request.slots.withUnsafeBufferPointer { slots in
            request.arena.bytes.withUnsafeBufferPointer { requestBytes in
                request.arena.items.withUnsafeBufferPointer { requestItems in
                    withUnsafeTemporaryAllocation(of: Register.self, capacity: maxRegisters) { registers in
                        registers.initialize(repeating: .absent)
                        let action = UnsafeBufferPointer(start: requestBytes.baseAddress.map { $0 + actionRange.offset }, count: actionRange.count)
                        let resource = resourceRange.map { range in
                            UnsafeBufferPointer(start: requestBytes.baseAddress.map { $0 + range.offset }, count: range.count)
                        }
                        var regexBudget = Interpreter.decisionRegexBudget()
                        return withUnsafeMutablePointer(to: &regexBudget) { budget in
                            body(Interpreter(
                                code: t.pointee.code, slots: slots, constants: t.pointee.constants,
                                requestBytes: requestBytes, constantBytes: t.pointee.constantBytes, requestItems: requestItems,
                                constantItems: t.pointee.constantItems, registers: registers,
                                globs: t.pointee.globs, globSetStarts: t.pointee.globSetStarts, globSetMembers: t.pointee.globSetMembers,
                                regexes: t.pointee.regexes,
                                action: action, resource: resource, resourceUnplaceable: resourceUnplaceable,
                                regexBudget: budget))
                        }
                    }
                }
            }
        }
    }

    /// The decision loop over the index's candidates. Reads only the stable tables, so it
    /// retains nothing; `admit` takes a rate-limit token (called only for limited rules).
    @inline(__always)
    private static func decide(ring: Int, _ vm: Interpreter, _ machine: Unmanaged<Machine>, view t: UnsafePointer<TableView>,
                               candidates: (deny: Candidates, allow: Candidates), admit: (Int, Limit) -> Bool) -> Decision {
        @inline(__always)
        func decision(_ index: Int, allowed: Bool, _ code: DecisionCode, _ fault: RuleFault? = nil) -> Decision {
            let hold = DecisionTextsHolds.hold(on: t.pointee.decisionTexts)
            return Decision(allowed: allowed, code: code, ring: ring,
                            source: .rule(DecisionTexts.Ref(pointer: t.pointee.rules[index].texts, hold: hold.takeUnretainedValue())),
                            fault: fault)
        }
        for (index, exact) in candidates.deny {
            switch vm.run(entry: Int(t.pointee.rules[index].entry) &+ (exact ? 1 : 0)) {
            case .doesNotApply: continue
            case .applies: return decision(index, allowed: false, .denyRule)
            case .error(let fault): return decision(index, allowed: false, .error, fault)
            }
        }
        // First-match policies (rule documents): the first rule that applies decides for its
        // policy; one that errors denies. Their denies override; their allows wait for native ones.
        var documentAllow: Int?
        var documentDefaultAllow: Int?
        if machine._withUnsafeGuaranteedRef(\.hasFirstMatch) {
            for policy in machine._withUnsafeGuaranteedRef(\.firstMatch) {
                var matched = false
                for index in policy.rules {
                    switch vm.run(entry: Int(t.pointee.rules[index].entry)) {
                    case .doesNotApply: continue
                    case .error(let fault): return decision(index, allowed: false, .error, fault)
                    case .applies:
                        if t.pointee.rules[index].isDeny { return decision(index, allowed: false, .denyRule) }
                        if documentAllow == nil { documentAllow = index }
                    }
                    matched = true
                    break
                }
                if !matched, policy.defaultAllow, documentDefaultAllow == nil { documentDefaultAllow = policy.policy }
            }
        }
        var stopped: (index: Int, code: DecisionCode)?
        for (index, exact) in candidates.allow {
            guard vm.run(entry: Int(t.pointee.rules[index].entry) &+ (exact ? 1 : 0)) == .applies else { continue }
            let gates = t.pointee.rules[index]
            if gates.ring >= 0, ring > Int(gates.ring) {
                if stopped == nil { stopped = (index, .ring) }
                continue
            }
            if gates.limited, let limit = machine._withUnsafeGuaranteedRef({ $0.program.rules[index].limit }),
               !admit(index, limit) {
                if stopped == nil { stopped = (index, .rateLimit) }
                continue
            }
            return decision(index, allowed: true, .allow)
        }
        if let index = documentAllow {
            return decision(index, allowed: true, .allow)
        }
        if let policy = documentDefaultAllow {
            let hold = DecisionTextsHolds.hold(on: t.pointee.decisionTexts)
            return Decision(allowed: true, code: .default, ring: ring,
                            source: .policyDefault(DecisionTexts.Ref(pointer: t.pointee.policyTexts[policy], hold: hold.takeUnretainedValue())))
        }
        if let (index, code) = stopped {
            return decision(index, allowed: false, code)
        }
        return Decision(allowed: false, code: .default, ring: ring, source: .none)
    }
}
