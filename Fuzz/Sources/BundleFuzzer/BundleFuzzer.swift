import FuzzSupport
import Ringfence

/// Runs libFuzzer over `bundleFuzzerTestOneInput`.
@main enum BundleFuzzerMain {
    /// Hands the command line to libFuzzer.
    static func main() { runFuzzer(bundleFuzzerTestOneInput) }
}

/// libFuzzer's entry point for the bundle loader. An input that starts with the bundle magic is a
/// whole bundle as read from disk (header and checksum checks); any other input is a bundle's
/// content, wrapped here in a valid header with a recomputed SHA-256 so that mutations reach the
/// program decoder and the verifier. A refusal is an RF5xxx error; a bundle that loads re-encodes
/// to an equal program and its engine decides.
@_cdecl("LLVMFuzzerTestOneInput")
public func bundleFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzBytes(data, size)
    let bytes = input.starts(with: Bundle.magic) ? input : BundleChecks.wrap(input)
    BundleChecks.load(bytes, decoded: Result { () throws(BundleError) -> Program in try Bundle.decode(bytes).program.program })
    return 0
}

/// The checks on one bundle.
enum BundleChecks {
    /// `content` behind a valid header (this build's version and fingerprint) and before its SHA-256.
    static func wrap(_ content: [UInt8]) -> [UInt8] {
        var out = Bundle.magic
        out += [UInt8(truncatingIfNeeded: Bundle.formatVersion), UInt8(truncatingIfNeeded: Bundle.formatVersion >> 8), 0, 0, 0, 0, 0, 0]
        out += Bundle.fingerprint
        out += (0..<8).map { UInt8(truncatingIfNeeded: UInt64(content.count) >> (8 * $0)) }
        return out + content + Bundle.sha256(content)
    }

    /// Checks the outcome of decoding `bytes`: a refusal's code, or a program that loads the same
    /// way through `Machine` and `Engine(bundle:)`, round-trips and decides.
    static func load(_ bytes: [UInt8], decoded: Result<Program, BundleError>) {
        let program: Program
        switch decoded {
        case .failure(let error):
            fuzzCheck(error.code.rawValue.hasPrefix("RF5"), "a bundle refused with \(error.code.rawValue): \(error.message)")
            return
        case .success(let p): program = p
        }
        if program == program {
            let again = Result { () throws(BundleError) -> Program in try Bundle.decode(Bundle.encode(program)).program.program }
            fuzzCheck((try? again.get()) == program, "a loaded program does not survive re-encoding: \(again)")
        }
        let machine = Result { () throws(Machine.LoadError) -> Machine in try Machine(program: program) }
        let engine = Result { () throws(RingfenceError) -> Engine in
            try Engine(bundle: bytes, timeSource: .requestTimeOrClock, clock: FuzzFixtures.clock)
        }
        switch (machine, engine) {
        case (.success, .success(let engine)): FuzzFixtures.decideProbes(engine)
        case (.failure, .failure(.load)): break
        default: fuzzCheck(false, "Machine and Engine(bundle:) disagree: \(machine), \(engine)")
        }
    }
}
