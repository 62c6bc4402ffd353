import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// Finds allow rules that can never decide because an unconditional deny rule covers every
/// request they could match (SPEC §3.5, a warning). The analysis is conservative: it only
/// warns when coverage is certain (same or literal patterns, `**`, or no resource restriction).
enum Shadowing {
    /// An unconditional deny rule with its patterns compiled once.
    private struct Deny {
        let rule: RuleDeclaration
        let actions: Patterns
        let resources: Patterns?
    }

    /// A rule's patterns as written and compiled.
    private struct Patterns {
        let text: [String]
        let globs: [Glob]

        /// Takes the compiled patterns from `cache` (as the check stage compiled them: the
        /// rule's own star semantics); nil when one does not compile.
        init?(_ patterns: [Located<String>], separator: UInt8, starCrossesSeparator: Bool, cache: PatternCache) {
            text = patterns.map(\.value)
            globs = text.compactMap { try? cache.glob($0, separator: separator, starCrossesSeparator: starCrossesSeparator) }
            guard globs.count == text.count else { return nil }
        }

        /// True when every pattern in `inner` (compiled with `starCrossesSeparator`, as its rule
        /// has it) matches only subjects one of these patterns matches.
        func cover(_ inner: [String], separator: UInt8, starCrossesSeparator: Bool, cache: PatternCache) -> Bool {
            inner.allSatisfy { pattern in
                if text.contains(pattern) || text.contains("**") { return true }
                guard let g = try? cache.glob(pattern, separator: separator, starCrossesSeparator: starCrossesSeparator),
                      g.isLiteral else { return false }
                return globs.contains { $0.matches(pattern) }
            }
        }
    }

    /// The warnings for every shadowed allow rule across all documents.
    static func warnings(_ documents: [PolicyDocument], patterns: PatternCache) -> [Diagnostic] {
        // First-match documents decide by order, not by deny-overrides: only native policies count.
        let documents = documents.filter { $0.combining == .denyOverrides }
        let denies: [Deny] = documents.flatMap(\.rules).compactMap { rule in
            guard rule.isComplete, rule.effect.value == .deny, rule.when == nil,
                  let actions = Patterns(rule.actions, separator: 0x2E, starCrossesSeparator: false, cache: patterns) else { return nil }
            var resources: Patterns?
            if let list = rule.resources {
                guard let compiled = Patterns(list, separator: 0x2F, starCrossesSeparator: rule.starCrossesSeparator, cache: patterns)
                else { return nil }
                resources = compiled
            }
            return Deny(rule: rule, actions: actions, resources: resources)
        }
        guard !denies.isEmpty else { return [] }
        var out: [Diagnostic] = []
        for document in documents {
            for allow in document.rules where allow.isComplete && allow.effect.value == .allow {
                guard let deny = denies.first(where: { covers($0, allow, patterns) }) else { continue }
                out.append(Diagnostic(.shadowedRule, Messages.shadowed(allow.id.value, by: deny.rule.id.value, line: deny.rule.location.line),
                                      at: allow.id.location, length: allow.id.length))
            }
        }
        return out
    }

    /// True when `deny` covers every request `allow` could match.
    private static func covers(_ deny: Deny, _ allow: RuleDeclaration, _ patterns: PatternCache) -> Bool {
        guard deny.actions.cover(allow.actions.map(\.value), separator: 0x2E, starCrossesSeparator: false, cache: patterns) else { return false }
        guard let denyResources = deny.resources else { return true }
        guard let allowResources = allow.resources else { return false }
        return denyResources.cover(allowResources.map(\.value), separator: 0x2F, starCrossesSeparator: allow.starCrossesSeparator,
                                   cache: patterns)
    }
}
