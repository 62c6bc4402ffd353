import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// A rule that passed checking: its declaration, its policy's index and its typed `when`.
struct CheckedRule {
    /// The rule as parsed.
    var rule: RuleDeclaration
    /// Index of its policy in the resolution's policies.
    var policy: Int
    /// The `when` expression, typed (nil when the rule has none).
    var when: TypedExpression?
}

/// The check stage's output.
struct CheckedPolicies {
    /// The rules that passed, in file order.
    var rules: [CheckedRule]
    /// Every problem found: patterns, expressions, lints, shadowed rules.
    var diagnostics: [Diagnostic]
    /// False when a rule carries structural errors the parser reported: nothing is lowered then.
    var isComplete: Bool
}

/// Stage 2, check: policy ASTs → checked rules with typed `when` (SPEC §3.4, §3.5). Compiles
/// every action and resource glob, and every glob and regex of every `when`, into the
/// compilation's pattern cache, where the later stages and the machine find them.
enum Check {
    /// Checks every rule of `policies`; `sources` let diagnostics inside quoted `when` strings
    /// point at the exact column.
    static func run(_ policies: [PolicyDocument], sources: [String: SourceFile], patterns: PatternCache) -> CheckedPolicies {
        var diagnostics: [Diagnostic] = []
        var checked: [CheckedRule] = []
        for (policyIndex, document) in policies.enumerated() {
            for rule in document.rules {
                var ok = true
                for pattern in rule.actions {
                    ok = checkGlob(pattern, separator: 0x2E, patterns: patterns, &diagnostics) && ok
                }
                for pattern in rule.resources ?? [] {
                    ok = checkGlob(pattern, separator: 0x2F, starCrossesSeparator: rule.starCrossesSeparator, patterns: patterns, &diagnostics) && ok
                }
                var typed: TypedExpression?
                if let when = rule.when {
                    let rawLine = sources[when.location.file]?.line(when.location.line)
                    switch ExpressionParser.parse(when.text) {
                    case .failure(let error):
                        diagnostics.append(Diagnostic(error.code, error.message, at: when.location(at: error.span.start, rawLine: rawLine),
                                                      length: error.span.length))
                        ok = false
                    case .success(let expression):
                        var checker = ExpressionChecker(source: when, rawLine: rawLine, patterns: patterns)
                        typed = checker.checkCondition(expression)
                        if typed != nil, rule.effect.value == .deny { checker.lintAbsentComparisons(expression) }
                        diagnostics += checker.diagnostics
                        if typed == nil { ok = false }
                    }
                }
                if ok { checked.append(CheckedRule(rule: rule, policy: policyIndex, when: typed)) }
            }
        }
        diagnostics += Shadowing.warnings(policies, patterns: patterns)
        let complete = !policies.contains { $0.rules.contains { !$0.isComplete } }
        return CheckedPolicies(rules: checked, diagnostics: diagnostics, isComplete: complete)
    }

    /// Compiles one action or resource pattern into the cache; reports and returns false when
    /// it does not compile.
    private static func checkGlob(_ pattern: Located<String>, separator: UInt8, starCrossesSeparator: Bool = false,
                                  patterns: PatternCache, _ diagnostics: inout [Diagnostic]) -> Bool {
        do {
            _ = try patterns.glob(pattern.value, separator: separator, starCrossesSeparator: starCrossesSeparator)
            return true
        } catch {
            diagnostics.append(Diagnostic(.invalidGlob, Messages.invalidGlob(pattern.value, error.message),
                                          at: pattern.location, length: pattern.length))
            return false
        }
    }
}
