import RingfenceBytecode
import RingfenceDiagnostics

/// Stage 5, emit: the finished program (rules, tables, index, saga plans, runtime settings) →
/// a `VerifiedProgram`, verified once, and its bundle bytes, encoded once, as the last step of a
/// compilation. A program the compiler's own verifier refuses, or whose bundle would be larger
/// than a bundle may be (`Bundle.maxSize`), is reported, never returned.
enum Emit {
    /// What emitting produced: the verified program and its bundle, or the diagnostics why not.
    struct Output {
        /// The program as verified, or nil.
        var program: VerifiedProgram?
        /// The program's bundle bytes (`Bundle.encode`), or nil.
        var bundle: [UInt8]?
        /// The problems found, placed at the location the stage was given.
        var diagnostics: [Diagnostic]
    }

    /// Verifies and encodes `program`; on failure, a diagnostic at `location`. `maxBundleSize`
    /// is the largest bundle accepted (the loader's limit).
    static func run(_ program: Program, at location: SourceLocation, maxBundleSize: Int = Bundle.maxSize) -> Output {
        let verified: VerifiedProgram
        do {
            verified = try Verifier.verify(program)
        } catch {
            return Output(diagnostics: [Diagnostic(.bundleMalformed, "internal error: the compiled program failed verification: \(error.message)",
                                                   at: location)])
        }
        let bundle = Bundle.encode(program)
        guard bundle.count <= maxBundleSize else {
            return Output(diagnostics: [Diagnostic(.programTooLarge, Messages.bundleTooLarge(bundle.count, limit: maxBundleSize), at: location)])
        }
        return Output(program: verified, bundle: bundle, diagnostics: [])
    }
}
