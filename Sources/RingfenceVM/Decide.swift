import RingfenceBytecode

extension Machine {
    /// Decides on a prepared request (SPEC §3.2): deny rules first in file order (the first that
    /// applies denies, one that errors denies with code `error`), then allow rules in file order
    /// (the first that applies, passes its ring gate and gets a rate-limit token allows). When no
    /// allow rule decides, the first allow rule stopped by its ring or limit names the code;
    /// otherwise the default denies. Allocates nothing unless a rate limit is consulted.
    public func decide(_ request: borrowing PreparedRequest, limiter: RateLimiter? = nil, now: Double = 0) -> Decision {
        // `now` (the caller's choice of clock, see `Engine.TimeSource`) is read only for rules with
        // limits; callers may skip the clock when `usesRateLimits` is false.
        // Only these fields are captured, so deciding never copies the request's arrays.
        let facts = RequestFacts(ring: request.ring, time: request.time)
        let agentID = request.agentID
        return withInterpreter(request) { decide(facts, agentID, $0, limiter: limiter, now: now) }
    }

    /// Runs `body` with an interpreter over `request`: request buffers pinned, the machine's
    /// tables read from their stable buffers, registers on the stack.
    func withInterpreter<R>(_ request: borrowing PreparedRequest, _ body: (Interpreter) -> R) -> R {
        let t = tables
        let actionRange = request.action
        let resourceRange = request.resource
        return request.slots.withUnsafeBufferPointer { slots in
            request.arena.bytes.withUnsafeBufferPointer { requestBytes in
                request.arena.items.withUnsafeBufferPointer { requestItems in
                    withUnsafeTemporaryAllocation(of: Register.self, capacity: maxRegisters) { registers in
                        registers.initialize(repeating: .absent)
                        let action = UnsafeBufferPointer(start: requestBytes.baseAddress.map { $0 + actionRange.offset }, count: actionRange.count)
                        let resource = resourceRange.map { range in
                            UnsafeBufferPointer(start: requestBytes.baseAddress.map { $0 + range.offset }, count: range.count)
                        }
                        return body(Interpreter(
                            code: UnsafeBufferPointer(t.code), slots: slots, constants: UnsafeBufferPointer(t.constants),
                            requestBytes: requestBytes, constantBytes: UnsafeBufferPointer(t.constantBytes), requestItems: requestItems,
                            constantItems: UnsafeBufferPointer(t.constantItems), registers: registers,
                            globs: t.globs, globSetStarts: t.globSetStarts, globSetMembers: t.globSetMembers, regexes: t.regexes,
                            action: action, resource: resource))
                    }
                }
            }
        }
    }

    /// The request facts a decision needs besides the interpreter.
    private struct RequestFacts {
        let ring: Int
        let time: Double?
    }

    private func decide(_ request: RequestFacts, _ agentID: String, _ vm: Interpreter, limiter: RateLimiter?, now: Double) -> Decision {
        let rules = program.rules
        let entries = ruleEntries
        let candidates = actionTable.candidates(bucket: actionTable.bucket(for: vm.action))
        for index in candidates.deny {
            switch vm.run(entry: entries[index]) {
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
                switch vm.run(entry: entries[index]) {
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
        for index in candidates.allow {
            guard vm.run(entry: entries[index]) == .applies else { continue }
            // Read the gates in place: copying the rule would retain its strings.
            if let gate = rules[index].ring, request.ring > Int(gate) {
                if stopped == nil { stopped = (index, .ring) }
                continue
            }
            if let limit = rules[index].limit {
                let granted = limiter?.consume(rule: index, agent: agentID, limit: limit, now: now) ?? true
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
