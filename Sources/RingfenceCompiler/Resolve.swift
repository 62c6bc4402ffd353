import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceSyntax

/// The resolve stage's output: what the documents add up to, before any rule is checked.
struct Resolution {
    /// The policies, in input order (a repeated name is reported, and the policy still checked).
    var policies: [PolicyDocument]
    /// The ring thresholds every policy shares: the first explicit `rings`, or the defaults.
    var thresholds: Thresholds
    /// The saga plans, in file order (a saga repeating a name is reported and left out).
    var sagas: [SagaPlan]
    /// The runtime settings: the first runtime file's, or the defaults.
    var runtime: RuntimeSettings
    /// Repeated policy names and conflicting thresholds.
    var policyDiagnostics: [Diagnostic]
    /// Problems of the sagas (RF7013 and friends).
    var sagaDiagnostics: [Diagnostic]
    /// Problems of the runtime files (each file's own, RF1025 for every file after the first).
    var runtimeDiagnostics: [Diagnostic]
}

/// Stage 1, resolve: documents → the set of policies, the thresholds they share, the saga plans
/// and the runtime settings (SPEC §3.5, §5, §7). Everything that spans files is decided here.
enum Resolve {
    /// Resolves the documents of one compilation.
    static func run(policies: [PolicyDocument], sagas: [SagaDocument], runtimes: [RuntimeDocument]) -> Resolution {
        var diagnostics: [Diagnostic] = []
        var namesSeen: Set<String> = []
        var explicit: (document: PolicyDocument, value: RingThresholds)?
        for document in policies {
            if !namesSeen.insert(document.name.value).inserted {
                diagnostics.append(Diagnostic(.duplicatePolicyName, Messages.duplicatePolicy(document.name.value),
                                              at: document.name.location, length: document.name.length))
            }
            if let rings = document.rings {
                if let (first, value) = explicit, value != rings.value {
                    diagnostics.append(Diagnostic(.conflictingThresholds, Messages.conflictingThresholds(document.name.value, first.name.value),
                                                  at: rings.location, length: rings.length))
                } else if explicit == nil {
                    explicit = (document, rings.value)
                }
            }
        }
        let rings = explicit?.value ?? .default
        let (plans, sagaDiagnostics) = SagaCompiler.compile(sagas)
        let (runtime, runtimeDiagnostics) = RuntimeCompiler.compile(runtimes)
        return Resolution(policies: policies, thresholds: Thresholds(privileged: rings.privileged, standard: rings.standard),
                          sagas: plans, runtime: runtime, policyDiagnostics: diagnostics,
                          sagaDiagnostics: sagaDiagnostics, runtimeDiagnostics: runtimeDiagnostics)
    }
}
