import Foundation
import Testing
import Ringfence
import RingfenceTestSupport

/// Golden disassembly: each `Tests/Fixtures/golden/*.yaml` compiles to exactly the program its
/// `.disasm` file shows. With `RINGFENCE_RECORD=1` the goldens are rewritten and the test
/// fails, so a fresh recording is always reviewed before it can pass.
@Suite struct GoldenTests {
    /// The golden policies, sorted; throws when the folder holds none.
    static func policies() throws -> [String] { try Fixtures.names(in: "golden", suffixes: [".yaml"]) }

    /// True when the run should rewrite the goldens.
    static var recording: Bool { ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == "1" }

    /// The golden set is not accidentally empty.
    @Test func thereAreFiveGoldens() throws {
        #expect(try Self.policies().count >= 5)
    }

    /// The disassembly equals the committed golden, and survives a bundle round trip.
    @Test(arguments: try policies())
    func disassemblyMatchesTheGolden(_ name: String) throws {
        let url = Fixtures.url("golden").appendingPathComponent(name)
        let result = Compiler.compile(paths: [url.path])
        let program = try #require(result.program, "\(name) does not compile: \(result.diagnostics)")
        #expect(result.diagnostics.isEmpty, "\(name): \(result.diagnostics)")
        let rendered = Disassembler.render(program) + "\n"
        let golden = url.deletingPathExtension().appendingPathExtension("disasm")
        if Self.recording {
            try rendered.write(to: golden, atomically: true, encoding: .utf8)
            Issue.record("recorded \(golden.lastPathComponent); review and rerun without RINGFENCE_RECORD")
            return
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(rendered == expected, "\(name): disassembly differs from \(golden.lastPathComponent); rerun with RINGFENCE_RECORD=1 and review the diff")
        // A golden program also survives the bundle round trip unchanged.
        let loaded = try RingfenceBytecode.Bundle.decode(RingfenceBytecode.Bundle.encode(program)).program.program
        #expect(Disassembler.render(loaded) + "\n" == rendered)
    }
}
