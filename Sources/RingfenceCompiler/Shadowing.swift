import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// Finds allow rules that can never decide because an unconditional deny rule covers every
/// request they could match (SPEC §3.5, a warning). The analysis is conservative: it only
/// warns when coverage is certain (same or literal patterns, `**`, or no resource restriction).
enum Shadowing {
    /// The warnings for every shadowed allow rule across all documents.
    static func warnings(_ documents: [PolicyDocument]) -> [Diagnostic] {
        let denies = documents.flatMap(\.rules).filter { $0.isComplete && $0.effect.value == .deny && $0.when == nil }
        guard !denies.isEmpty else { return [] }
        var out: [Diagnostic] = []
        for document in documents {
            for allow in document.rules where allow.isComplete && allow.effect.value == .allow {
                guard let deny = denies.first(where: { covers($0, allow) }) else { continue }
                out.append(Diagnostic(.shadowedRule, Messages.shadowed(allow.id.value, by: deny.id.value, line: deny.location.line),
                                      at: allow.id.location, length: allow.id.length))
            }
        }
        return out
    }

    private static func covers(_ deny: RuleDeclaration, _ allow: RuleDeclaration) -> Bool {
        guard patterns(deny.actions.map(\.value), cover: allow.actions.map(\.value), separator: 0x2E) else { return false }
        guard let denyResources = deny.resources else { return true }
        guard let allowResources = allow.resources else { return false }
        return patterns(denyResources.map(\.value), cover: allowResources.map(\.value), separator: 0x2F)
    }

    /// True when every pattern in `inner` matches only subjects some pattern in `outer` matches.
    private static func patterns(_ outer: [String], cover inner: [String], separator: UInt8) -> Bool {
        let globs = outer.compactMap { try? Glob.compile($0, separator: separator) }
        guard globs.count == outer.count else { return false }
        return inner.allSatisfy { pattern in
            if outer.contains(pattern) || outer.contains("**") { return true }
            guard let g = try? Glob.compile(pattern, separator: separator), g.isLiteral else { return false }
            return globs.contains { $0.matches(pattern) }
        }
    }
}
