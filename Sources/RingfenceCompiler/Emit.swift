import RingfenceBytecode
import RingfenceDiagnostics

/// Stage 5, emit: the finished program (rules, tables, index, saga plans, runtime settings) →
/// a `VerifiedProgram`, verified once, as the last step of a compilation. A program the
/// compiler's own verifier refuses is reported, never returned.
enum Emit {
    /// Verifies `program`; on failure, an internal-error diagnostic at `location`.
    static func run(_ program: Program, at location: SourceLocation) -> (program: VerifiedProgram?, diagnostics: [Diagnostic]) {
        do {
            return (try Verifier.verify(program), [])
        } catch {
            return (nil, [Diagnostic(.bundleMalformed, "internal error: the compiled program failed verification: \(error.message)", at: location)])
        }
    }
}
