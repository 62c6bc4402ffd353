import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// `ringfence inspect BUNDLE` (SPEC §4): the header, policies, rules with their source
/// locations, the tables and the disassembly; refused bundles get one RF5xxx line and exit 2.
@Suite struct InspectTests {
    /// A compiled bundle of the workspace policy, in the scratch folder that holds both.
    struct Compiled {
        /// The folder holding `workspace.yaml` and `workspace.rfb` (removed when this goes away).
        let dir: Scratch
        /// The policy file's path.
        let policy: String
        /// The bundle's path.
        let bundle: String
        /// The bundle's bytes.
        let bytes: [UInt8]
    }

    /// A directory holding `workspace.yaml` (CLITests' policy) and its compiled `workspace.rfb`.
    static func bundle() throws -> Compiled {
        let dir = try Scratch("inspect")
        let policy = dir.url("workspace.yaml").path
        try Data(CLITests.policy.utf8).write(to: URL(fileURLWithPath: policy))
        let result = Compiler.compile(paths: [policy])
        let program = try #require(result.program)
        let bytes = Bundle.encode(program)
        let bundle = dir.url("workspace.rfb").path
        try Data(bytes).write(to: URL(fileURLWithPath: bundle))
        return Compiled(dir: dir, policy: policy, bundle: bundle, bytes: bytes)
    }

    @Test func showsHeaderPoliciesRulesTablesAndDisassembly() throws {
        let compiled = try Self.bundle()
        let (policy, bundle, bytes) = (compiled.policy, compiled.bundle, compiled.bytes)
        let run = ringfence(["inspect", bundle])
        #expect(run.status == 0)
        #expect(run.stderr == "")
        let (header, verified) = try Bundle.decode(bytes)
        let program = verified.program
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "bundle \(bundle) (\(bytes.count) bytes)")
        #expect(lines.contains("  format version   5"))
        #expect(lines.contains("  isa fingerprint  \(Bundle.hex(Bundle.fingerprint))"))
        #expect(lines.contains("  content length   \(bytes.count - 64) bytes"))
        #expect(lines.contains("  content sha256   \(Bundle.hex(Bundle.sha256(Array(bytes[32..<(bytes.count - 32)]))))"))
        #expect(header.contentLength == UInt64(bytes.count - 64))
        #expect(lines.contains("policies (1)"))
        #expect(lines.contains("  workspace  \(policy)  deny-overrides"))
        #expect(lines.contains("rules (3)"))
        // Each rule: policy/id, file:line:col, effect, ring gate, limit, reason.
        let rules = lines.filter { $0.hasPrefix("  workspace/") }
        #expect(rules.count == 3)
        #expect(rules[0].contains("workspace/read-workspace") && rules[0].contains("\(policy):5:") && rules[0].contains(" allow ")
            && rules[0].contains("\"workspace files are readable\""))
        #expect(rules[1].contains("workspace/block-destructive-sql") && rules[1].contains("\(policy):11:") && rules[1].contains(" deny "))
        #expect(rules[2].contains("workspace/query") && rules[2].contains("\(policy):16:") && rules[2].contains(" 2/minute "))
        // The tables and the disassembly are the disassembler's own text, with source lines.
        #expect(run.stdout.hasSuffix("tables and disassembly\n" + Disassembler.render(program) + "\n"))
        #expect(run.stdout.contains("regex X0 = "))
        #expect(run.stdout.contains("globset G0 = [\"fs.read\"]"))
        #expect(lines.contains { $0.hasPrefix("rule workspace/block-destructive-sql deny line 11") })
        #expect(lines.contains { $0.hasPrefix("     9  LDS   R0, S1 ; params[\"query\"]") && $0.hasSuffix(" line 11") })
    }

    @Test func ruleLocationsMatchTheSource() throws {
        let compiled = try Self.bundle()
        let policy = compiled.policy
        let run = ringfence(["inspect", compiled.bundle])
        let source = CLITests.policy.split(separator: "\n", omittingEmptySubsequences: false)
        let ruleLines = run.stdout.split(separator: "\n").filter { $0.hasPrefix("  workspace/") }
        #expect(ruleLines.count == 3, "inspect listed \(ruleLines.count) rules: \(run.stdout)")
        for line in ruleLines {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let id = fields[0].dropFirst("workspace/".count)
            let location = fields[1].dropFirst(policy.count + 1).split(separator: ":").compactMap { Int($0) }
            #expect(location.count == 2)
            guard location.count == 2 else { continue }
            let text = source[location[0] - 1]
            #expect(text.contains("id: \(id)"), "rule \(id) points at `\(text)`")
        }
    }

    /// Bundles the loader refuses, each with the code it must report.
    static let refusals: [(name: String, code: String, mutate: @Sendable ([UInt8]) -> [UInt8])] = [
        ("empty", "RF5001", { _ in [] }),
        ("foreign", "RF5002", { _ in Array("ringfence: 1\nkind: policy\n".utf8) }),
        ("truncated", "RF5001", { Array($0.prefix($0.count - 40)) }),
        ("version", "RF5003", { var b = $0; b[8] = 9; return b }),
        // Versions 1 to 4 came before the source table (version 5): recompile them.
        ("version 1", "RF5003", { var b = $0; b[8] = 1; return b }),
        ("version 2", "RF5003", { var b = $0; b[8] = 2; return b }),
        ("version 3", "RF5003", { var b = $0; b[8] = 3; return b }),
        ("version 4", "RF5003", { var b = $0; b[8] = 4; return b }),
        ("fingerprint", "RF5004", { var b = $0; b[16] ^= 0xFF; return b }),
        ("checksum", "RF5005", { var b = $0; b[40] ^= 0x01; return b }),
    ]

    @Test(arguments: refusals.indices) func refusedBundleGetsOneLineWithItsCode(_ index: Int) throws {
        let compiled = try Self.bundle()
        let refusal = Self.refusals[index]
        let path = compiled.dir.url("\(refusal.name).rfb").path
        try Data(refusal.mutate(compiled.bytes)).write(to: URL(fileURLWithPath: path))
        let run = ringfence(["inspect", path])
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(run.stderr.hasPrefix("\(path): error[\(refusal.code)]: "), "\(refusal.name): \(run.stderr)")
        #expect(run.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func missingFileAndMissingArgumentAreUsageErrors() throws {
        let dir = try Scratch("inspect-missing")
        let path = dir.url("absent.rfb").path
        let run = ringfence(["inspect", path])
        #expect(run.status == 2)
        #expect(run.stderr == "\(path):1:1: error[RF0001]: cannot read `\(path)`: no such file or directory\n")
        let bare = ringfence(["inspect"])
        #expect(bare.status == 2)
        #expect(bare.stderr.contains("bundle"))
    }
}
