import Ringfence
import Testing

/// Table limits of a program are diagnostics, never traps.
@Suite struct CompilerLimitsTests {
    /// `check` used to trap on policies needing 65,536 glob sets or more (about 33,000 rules):
    /// the compiler narrowed the count to 16 bits. Glob sets are now addressed with 24 bits.
    @Test func thirtyThreeThousandRulesCompileAndDecide() throws {
        let count = 33_000
        var source = "ringfence: 1\nkind: policy\nname: big\nrules:\n"
        source.reserveCapacity(count * 90)
        for i in 0..<count {
            source += "  - id: r\(i)\n    effect: allow\n    action: tool.a\(i)\n    resources: [\"/data/\(i)/**\"]\n"
        }
        let result = Compiler.compile(source: source, file: "big.yaml")
        #expect(!result.hasErrors, "\(result.diagnostics.prefix(3))")
        let program = try #require(result.program)
        #expect(program.globSets.count == 2 * count)
        #expect(program.code.contains { $0.op == .matchResource && $0.globSet >= 1 << 16 })
        let engine = try Engine(program: program)
        let last = engine.evaluate(Request(agent: Agent(id: "a"), action: "tool.a\(count - 1)", resource: "/data/\(count - 1)/x"))
        #expect(last.allowed && last.rule == "r\(count - 1)")
        #expect(engine.evaluate(Request(agent: Agent(id: "a"), action: "tool.a\(count - 1)", resource: "/data/0/x")).code == .default)
        // The same program survives a bundle round trip.
        let reloaded = try Engine(bundle: engine.bundle())
        #expect(reloaded.evaluate(Request(agent: Agent(id: "a"), action: "tool.a40000", resource: "/data/1/x")).code == .default)
        #expect(reloaded.evaluate(Request(agent: Agent(id: "a"), action: "tool.a32999", resource: "/data/32999/y")).allowed)
    }

    @Test func wideGlobSetOperandsRoundTrip() {
        for set in [0, 1, 65_535, 65_536, 1 << 20, (1 << 24) - 1] {
            let ins = Instruction(.matchResource, globSet: set, target: 7)
            #expect(ins.globSet == set && ins.c == 7 && ins.op == .matchResource)
        }
    }
}
