import FuzzSupport
import Ringfence

/// Runs libFuzzer over `policyFuzzerTestOneInput`.
@main enum PolicyFuzzerMain {
    /// Hands the command line to libFuzzer.
    static func main() { runFuzzer(policyFuzzerTestOneInput) }
}

/// libFuzzer's entry point for the YAML loader and the policy front end: the input is a policy
/// file. Compiling gives a program or errors, never both and never neither; every diagnostic is
/// located and renders; a program loads, survives a bundle round trip and decides.
@_cdecl("LLVMFuzzerTestOneInput")
public func policyFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    PolicyChecks.check(Compiler.compile(source: source, file: "fuzz.yaml"))
    return 0
}

/// The checks on one compilation.
enum PolicyChecks {
    /// Checks the result of compiling one file.
    static func check(_ result: CompilationResult) {
        fuzzCheck((result.program != nil) != result.hasErrors,
                  "program \(result.program != nil) with errors \(result.hasErrors)")
        for d in result.diagnostics {
            fuzzCheck(d.location.line >= 1 && d.location.column >= 1, "a diagnostic at \(d.location.line):\(d.location.column): \(d.message)")
            fuzzCheck(!d.message.isEmpty, "a diagnostic without a message")
        }
        fuzzCheck(result.diagnostics.isEmpty || !DiagnosticRenderer.text(result.diagnostics, sources: result.sources).isEmpty,
                  "diagnostics rendered as nothing")
        guard let program = result.program else { return }
        let bundle = Bundle.encode(program)
        let reread = Result { () throws(BundleError) -> Program in try Bundle.decode(bundle).program.program }
        fuzzCheck((try? reread.get()) != nil, "a compiled program's bundle is refused: \(reread)")
        if program == program, let again = try? reread.get() {
            fuzzCheck(again == program, "a compiled program changes through its bundle")
        }
        let engine = Result { () throws(RingfenceError) -> Engine in
            try Engine(program: program, timeSource: .requestTimeOrClock, clock: FuzzFixtures.clock)
        }
        switch engine {
        case .success(let engine): FuzzFixtures.decideProbes(engine)
        case .failure(let error): fuzzCheck(false, "a compiled program does not load: \(error)")
        }
    }
}
