import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// Stage 3, lower: checked rules → program code and tables (slots, constants, globs, glob sets,
/// regexes with their literals, the source table), one body of jumping code per rule:
///
/// ```
/// MACT  G0, @fail        ; action globs
/// MRES  G1, @fail        ; resource globs (when the rule has any)
/// ...                    ; `when`, so && and || short-circuit by jumps
/// YES
/// fail: NO
/// ```
///
/// Patterns come from the compilation's cache, where the check stage compiled them.
enum Lower {
    /// Lowers `rules` of `policies` into a program sharing `thresholds`; nil with errors (a
    /// `when` needing too many registers, too many glob sets).
    static func run(_ rules: [CheckedRule], policies: [PolicyDocument], thresholds: Thresholds,
                    patterns: PatternCache) -> (program: Program?, diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let builder = ProgramBuilder(patterns: patterns)
        builder.program.thresholds = thresholds
        for document in policies {
            let combining: Combining
            switch document.combining {
            case .denyOverrides: combining = .denyOverrides
            case .firstMatch(let defaultAllow): combining = defaultAllow ? .firstMatchDefaultAllow : .firstMatchDefaultDeny
            }
            builder.program.policies.append(PolicyEntry(name: document.name.value, file: document.file, combining: combining))
        }
        for checked in rules {
            let rule = checked.rule
            var emitter = RuleEmitter(builder: builder, line: UInt32(clamping: rule.location.line))
            let fail = emitter.newLabel()
            let actions = emitter.builder.globSet(rule.actions.map(\.value), separator: 0x2E)
            emitter.emitMatch(.matchAction, globSet: actions, jumpingTo: fail)
            if let resources = rule.resources {
                let set = emitter.builder.globSet(resources.map(\.value), separator: 0x2F, starCrossesSeparator: rule.starCrossesSeparator)
                emitter.emitMatch(.matchResource, globSet: set, jumpingTo: fail)
            }
            if let when = checked.when {
                emitter.condition(when, whenFalse: fail)
            }
            emitter.emit(Instruction(.yes))
            emitter.place(fail)
            emitter.emit(Instruction(.no))
            if emitter.overflow, let source = rule.when {
                diagnostics.append(Diagnostic(.expressionTooLarge, Messages.expressionTooLarge, at: source.location))
            }
            let registers = emitter.registers
            let (entry, end) = emitter.finish()
            builder.program.rules.append(RuleEntry(
                id: rule.id.value, policy: UInt32(checked.policy), isDeny: rule.effect.value == .deny,
                ring: rule.ring.map { UInt8(clamping: $0.value) },
                limit: rule.limit.map { Limit(count: UInt32(clamping: $0.value.count), seconds: UInt32($0.value.unit.seconds)) },
                reason: rule.reason, entry: entry, end: end, registers: UInt16(registers),
                line: UInt32(clamping: rule.location.line), column: UInt32(clamping: rule.location.column)))
        }
        if builder.tooManyGlobSets {
            let at = policies.first?.location ?? SourceLocation(file: "<input>", line: 1, column: 1)
            diagnostics.append(Diagnostic(.programTooLarge, Messages.tooManyGlobSets(ProgramBuilder.maxGlobSets), at: at))
        }
        return (diagnostics.containsErrors ? nil : builder.program, diagnostics)
    }
}
