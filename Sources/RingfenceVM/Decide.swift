import RingfenceBytecode

extension Machine {
    /// Decides on a prepared request (SPEC §3.2): deny rules first in file order (the first that
    /// applies denies, one that errors denies with code `error`), then allow rules in file order
    /// (the first that applies, passes its ring gate and gets a rate-limit token allows). When no
    /// allow rule decides, the first allow rule stopped by its ring or limit names the code;
    /// otherwise the default denies. Allocates nothing unless a rate limit is consulted.
    public func decide(_ request: PreparedRequest, limiter: RateLimiter? = nil, now: Double = 0) -> Decision {
        // `now` (the caller's choice of clock, see `Engine.TimeSource`) is read only for rules with
        // limits; callers may skip the clock when `usesRateLimits` is false.
        withInterpreter(request) { decide(request, $0, limiter: limiter, now: now) }
    }

    /// Runs `body` with an interpreter over `request`: every buffer pinned, registers on the stack.
    func withInterpreter<R>(_ request: PreparedRequest, _ body: (Interpreter) -> R) -> R {
        request.slots.withUnsafeBufferPointer { slots in
            request.arena.bytes.withUnsafeBufferPointer { requestBytes in
                request.arena.items.withUnsafeBufferPointer { requestItems in
                    constantRegisters.withUnsafeBufferPointer { constants in
                        constantArena.bytes.withUnsafeBufferPointer { constantBytes in
                            constantArena.items.withUnsafeBufferPointer { constantItems in
                                code.withUnsafeBufferPointer { code in
                                    withUnsafeTemporaryAllocation(of: Register.self, capacity: maxRegisters) { registers in
                                        registers.initialize(repeating: .absent)
                                        let action = UnsafeBufferPointer(rebasing: requestBytes[request.action.offset..<request.action.offset + request.action.count])
                                        let resource = request.resource.map {
                                            UnsafeBufferPointer(rebasing: requestBytes[$0.offset..<$0.offset + $0.count])
                                        }
                                        return body(Interpreter(
                                            code: code, slots: slots, constants: constants, requestBytes: requestBytes,
                                            constantBytes: constantBytes, requestItems: requestItems, constantItems: constantItems,
                                            registers: registers, machine: self, action: action, resource: resource))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func decide(_ request: PreparedRequest, _ vm: Interpreter, limiter: RateLimiter?, now: Double) -> Decision {
        let rules = program.rules
        for index in denyRules {
            switch vm.run(rules[index]) {
            case .doesNotApply: continue
            case .applies: return decision(index, allowed: false, code: .denyRule, reason: reasons[index].decided, ring: request.ring)
            case .error: return decision(index, allowed: false, code: .error, reason: reasons[index].error, ring: request.ring)
            }
        }
        // First-match policies (rule documents): the first rule that applies decides for its
        // policy; one that errors denies. Their denies override; their allows wait for native ones.
        var documentAllow: Int?
        var documentDefaultAllow: Int?
        for policy in firstMatch {
            var matched = false
            for index in policy.rules {
                switch vm.run(rules[index]) {
                case .doesNotApply: continue
                case .error: return decision(index, allowed: false, code: .error, reason: reasons[index].error, ring: request.ring)
                case .applies:
                    if rules[index].isDeny {
                        return decision(index, allowed: false, code: .denyRule, reason: reasons[index].decided, ring: request.ring)
                    }
                    if documentAllow == nil { documentAllow = index }
                }
                matched = true
                break
            }
            if !matched, policy.defaultAllow, documentDefaultAllow == nil { documentDefaultAllow = policy.policy }
        }
        var stopped: (index: Int, code: DecisionCode)?
        for index in allowRules {
            guard vm.run(rules[index]) == .applies else { continue }
            let rule = rules[index]
            if let gate = rule.ring, request.ring > Int(gate) {
                if stopped == nil { stopped = (index, .ring) }
                continue
            }
            if let limit = rule.limit {
                let granted = limiter?.consume(rule: index, agent: request.agentID, limit: limit, now: now) ?? true
                if !granted {
                    if stopped == nil { stopped = (index, .rateLimit) }
                    continue
                }
            }
            return decision(index, allowed: true, code: .allow, reason: reasons[index].decided, ring: request.ring)
        }
        if let index = documentAllow {
            return decision(index, allowed: true, code: .allow, reason: reasons[index].decided, ring: request.ring)
        }
        if let policy = documentDefaultAllow {
            return Decision(allowed: true, code: .default, policy: program.policies[policy].name, rule: nil,
                            reason: defaultAllowReasons[policy], ring: request.ring)
        }
        if let (index, code) = stopped {
            let reason = code == .ring ? reasons[index].ring[request.ring] : reasons[index].rateLimit
            return decision(index, allowed: false, code: code, reason: reason, ring: request.ring)
        }
        return Decision(allowed: false, code: .default, policy: nil, rule: nil, reason: Machine.defaultReason, ring: request.ring)
    }

    @inline(__always)
    private func decision(_ index: Int, allowed: Bool, code: DecisionCode, reason: String, ring: Int) -> Decision {
        Decision(allowed: allowed, code: code, policy: reasons[index].policy, rule: program.rules[index].id, reason: reason, ring: ring)
    }
}
