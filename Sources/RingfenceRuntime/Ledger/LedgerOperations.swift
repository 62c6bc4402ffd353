import RingfenceVM

// The `ledger.*` rows of the operation table (SPEC §13); `Operation.all` lists them after the
// session runtime's own.

extension Operation {
    /// The ledger's operations, in the order SPEC §13 lists them.
    static let ledgerOperations: [Operation] = [
        Operation(name: "ledger.vouch", summary: "bonds σ_voucher × bond for the vouchee → `{vouch, bonded}`",
                  fields: [.required("voucher", .id), .required("vouchee", .id), .optional("session", .id), .optional("bond", .trust),
                           .optional("vouch", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.vouch(voucher: a.requiredString("voucher"), vouchee: a.requiredString("vouchee"), session: a.string("session"),
                              bond: a.number("bond"), id: a.string("vouch")).value
        },
        Operation(name: "ledger.release", summary: "ends a vouch early → `{vouch, state: \"released\"}`",
                  fields: [.required("vouch", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.releaseVouch(a.requiredString("vouch"))
        },
        Operation(name: "ledger.slash", summary: "σ to 0 and the cascade to its vouchers, once per violation → `{violation, touched: [{agent, before, after, depth}]}`",
                  fields: [.required("agent", .id), .required("severity", severity), .required("violation", .id),
                           .optional("reason", .text)]) { runtime, a throws(RuntimeError) in
            try runtime.slash(agent: a.requiredString("agent"), severity: a.number("severity") ?? 0, violation: a.requiredString("violation"),
                              reason: a.string("reason")).value
        },
        Operation(name: "ledger.quarantine", summary: "quarantines an agent, or extends its quarantine → `{agent, until}`",
                  fields: [.required("agent", .id), .optional("duration", .duration), .optional("reason", .text)]) { runtime, a throws(RuntimeError) in
            try runtime.quarantine(agent: a.requiredString("agent"), duration: a.milliseconds("duration"), reason: a.string("reason")).value
        },
        Operation(name: "ledger.unquarantine", summary: "ends an agent's quarantine → `{agent, until: null}`",
                  fields: [.required("agent", .id), .optional("reason", .text)]) { runtime, a throws(RuntimeError) in
            try runtime.unquarantine(agent: a.requiredString("agent"), reason: a.string("reason")).value
        },
        Operation(name: "ledger.trust", summary: "an operator sets an agent's σ → `{agent, trust}`",
                  fields: [.required("agent", .id), .required("trust", .trust)]) { runtime, a throws(RuntimeError) in
            try runtime.setTrust(agent: a.requiredString("agent"), trust: a.number("trust") ?? 0)
        },
        Operation(name: "ledger.get", summary: "→ `{agent, trust, trust_eff, bonds_out, bonds_in, exposure: {current, limit}, risk, standing, quarantined_until?, history}`",
                  fields: [.required("agent", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.ledgerStatement(agent: a.requiredString("agent"))
        },
        Operation(name: "ledger.attribute", summary: "each agent's share of the blame for a failure, recorded as faults with `record` → `{failure, shares: [{agent, share}]}`",
                  fields: [.required("failure", .id), .required("actions", actions), .optional("record", .bool)]) { runtime, a throws(RuntimeError) in
            let list = try AttributionAction.list(a.json("actions") ?? .null)
            return try runtime.attribute(failure: a.requiredString("failure"), actions: list, record: a.bool("record") ?? false).value
        },
    ]

    /// A severity: a number above 0, at most 1.
    static let severity = OperationFieldType.custom("number above 0, at most 1") { value, name throws(RuntimeError) in
        guard case .number(let x) = value else { throw OperationFieldType.wrongType(name, "a number") }
        _ = try Ledger.severity(x, field: name)
        return .number(x)
    }

    /// The actions of `ledger.attribute`.
    static let actions = OperationFieldType.custom("list of `{agent, action, failed, root_cause?, risk_weight?}`") { value, name throws(RuntimeError) in
        _ = try AttributionAction.list(value, field: name)
        return .json(value)
    }
}
