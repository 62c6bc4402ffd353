/// Renders a program as text: the tables, then every rule's instructions with operands decoded.
public enum Disassembler {
    /// The disassembly of one instruction, e.g. `LDS R0, S2 ; params["method"]`.
    public static func render(_ ins: Instruction, in p: Program) -> String {
        guard let op = ins.op else { return "??? \(ins.opcode)" }
        let m = op.info.mnemonic.padding(6)
        func k(_ i: UInt32) -> String { Int(i) < p.constants.count ? describe(p.constants[Int(i)]) : "?" }
        switch op.info.format {
        case .none: return op.info.mnemonic
        case .j: return "\(m)@\(ins.c)"
        case .gj:
            let set = ins.globSet < p.globSets.count ? p.globSets[ins.globSet] : []
            let pats = set.map { Int($0) < p.globs.count ? "\"\(p.globs[Int($0)].pattern)\"" : "?" }.joined(separator: ", ")
            return "\(m)G\(ins.globSet), @\(ins.c) ; [\(pats)]"
        case .as:
            let slot = Int(ins.c) < p.slots.count ? p.slots[Int(ins.c)].description : "?"
            return "\(m)R\(ins.a), S\(ins.c) ; \(slot)"
        case .ak: return "\(m)R\(ins.a), K\(ins.c) ; \(k(ins.c))"
        case .abc: return "\(m)R\(ins.a), R\(ins.b), R\(ins.c)"
        case .ab: return "\(m)R\(ins.a), R\(ins.b)"
        case .abx:
            let x = Int(ins.c) < p.regexes.count ? describe(.string(p.regexes[Int(ins.c)])) : "?"
            return "\(m)R\(ins.a), R\(ins.b), X\(ins.c) ; \(x)"
        case .abp:
            let g = Int(ins.c) < p.globs.count ? describe(.string(p.globs[Int(ins.c)].pattern)) : "?"
            return "\(m)R\(ins.a), R\(ins.b), P\(ins.c) ; \(g)"
        case .aj: return "\(m)R\(ins.a), @\(ins.c)"
        case .abk: return "\(m)R\(ins.a), R\(ins.b), K\(ins.c) ; \(k(ins.c))"
        }
    }

    /// The whole program's disassembly, rule by rule, each instruction with its source line.
    public static func render(_ p: Program) -> String {
        var out: [String] = []
        out.append("thresholds privileged=\(p.thresholds.privileged) standard=\(p.thresholds.standard)")
        for (i, s) in p.slots.enumerated() { out.append("slot S\(i) = \(s)") }
        for (i, k) in p.constants.enumerated() { out.append("const K\(i) = \(describe(k))") }
        for (i, set) in p.globSets.enumerated() {
            out.append("globset G\(i) = [" + set.map { "\"\(p.globs[Int($0)].pattern)\"" }.joined(separator: ", ") + "]")
        }
        for (i, x) in p.regexes.enumerated() {
            let literal = i < p.regexLiterals.count ? p.regexLiterals[i].map { literal in
                " literal " + describe(.string(String(decoding: literal.bytes, as: UTF8.self))) + (literal.caseless ? " caseless" : "")
            } ?? "" : ""
            out.append("regex X\(i) = \(describe(.string(x)))\(literal)")
        }
        for bucket in p.actionIndex.buckets {
            out.append("index \(describe(.string(bucket.action))) → rules [" + bucket.rules.map(String.init).joined(separator: ", ") + "]")
        }
        if !p.actionIndex.wildcards.isEmpty {
            out.append("index * → rules [" + p.actionIndex.wildcards.map(String.init).joined(separator: ", ") + "]")
        }
        for (rule, prefixes) in p.actionIndex.resourcePrefixes.enumerated() {
            guard let prefixes else { continue }
            out.append("index rule \(rule) resources ← [" + prefixes.map { describe(.string(String(decoding: $0, as: UTF8.self))) }
                .joined(separator: ", ") + "]")
        }
        for policy in p.policies where policy.combining != .denyOverrides {
            out.append("policy \(policy.name) first-match, default \(policy.combining == .firstMatchDefaultAllow ? "allow" : "deny")")
        }
        for rule in p.rules {
            let policy = Int(rule.policy) < p.policies.count ? p.policies[Int(rule.policy)].name : "?"
            var head = "rule \(policy)/\(rule.id) \(rule.isDeny ? "deny" : "allow") line \(rule.line) registers \(rule.registers)"
            if let ring = rule.ring { head += " ring<=\(ring)" }
            if let l = rule.limit { head += " limit \(l.count)/\(l.seconds)s" }
            out.append(head)
            for pc in Int(rule.entry)..<min(Int(rule.end), p.code.count) {
                let line = pc < p.codeLines.count ? p.codeLines[pc] : 0
                out.append("  \(String(pc).leftPadding(4))  \(render(p.code[pc], in: p).padding(44)) line \(line)")
            }
        }
        out += renderSagas(p)
        return out.joined(separator: "\n")
    }

    /// A constant written as an expression literal.
    public static func describe(_ k: Constant) -> String {
        switch k {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
        case .string(let s):
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        case .list(let items): return "[" + items.map(describe).joined(separator: ", ") + "]"
        }
    }
}

extension String {
    /// Pads with spaces on the right to `width` characters.
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
    /// Pads with spaces on the left to `width` characters.
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
