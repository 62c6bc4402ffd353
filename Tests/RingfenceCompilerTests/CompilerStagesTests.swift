import Testing
import Ringfence
import RingfenceBytecode
@testable import RingfenceCompiler
import RingfenceDiagnostics
import RingfenceMatch

/// The compiler's stages run once each: every pattern is compiled once for the whole compilation
/// and the engine built from it, the program is verified once, and the pc-to-source table the
/// lower stage writes is what explanations read.
@Suite struct CompilerStagesTests {
    /// Patterns repeated across rules, in a deny rule the shadowing analysis reads, in `glob()`,
    /// in `=~`, and a URL pattern whose stored (canonical) spelling differs from the written one.
    static let repeated = """
    ringfence: 1
    kind: policy
    name: cache
    rules:
      - id: deny-secrets
        effect: deny
        action: "fs.*"
        resources: ["/secrets/**"]
      - id: read
        effect: allow
        actions: [fs.read, "fs.*"]
        resources: ["/data/**", "HTTPS://API.Example.COM/v1/**"]
        when: params.q =~ "^a+$" && glob(params.path, "/data/**")
      - id: write
        effect: allow
        action: fs.write
        resources: ["/data/**"]
        when: params.q =~ "^a+$" || params.r =~ "b"
    """

    /// Six distinct globs (`/data/**` as a resource and in `glob()` is one) and two distinct
    /// regexes are compiled once each: checking, the shadowing analysis, lowering and the machine
    /// share them, and the engine adds no compilation of its own.
    @Test func eachPatternIsCompiledOnce() throws {
        let result = Compiler.compile(source: Self.repeated, file: "cache.yaml")
        #expect(!result.hasErrors, "\(result.diagnostics)")
        #expect(result.patterns.globCompiles == 6)
        #expect(result.patterns.regexCompiles == 2)
        let program = try #require(result.program)
        #expect(program.globs.contains { $0.pattern == "https://api.example.com/v1/**" })
        let engine = try Engine(compilation: result, clock: { 1_000_000 })
        #expect(result.patterns.globCompiles == 6)
        #expect(result.patterns.regexCompiles == 2)
        let allowed = engine.evaluate(Request(agent: Agent(id: "a"), action: "fs.read", resource: "https://api.example.com/v1/x",
                                              params: ["q": .string("aaa"), "path": .string("/data/y")]))
        #expect(allowed.allowed && allowed.rule == "read")
        #expect(engine.evaluate(Request(agent: Agent(id: "a"), action: "fs.read", resource: "/secrets/k")).code == .denyRule)
    }

    /// A pattern that does not compile is compiled (and reported) once, however often it repeats.
    @Test func aBadPatternIsCompiledAndReportedOncePerUse() {
        let source = """
        ringfence: 1
        kind: policy
        name: bad
        rules:
          - { id: a, effect: allow, action: x, when: 'params.q =~ "(" ' }
          - { id: b, effect: allow, action: y, when: 'params.q =~ "("' }
        """
        let result = Compiler.compile(source: source, file: "bad.yaml")
        #expect(result.program == nil)
        #expect(result.diagnostics.filter { $0.code == .invalidRegex }.count == 2)
        #expect(result.patterns.regexCompiles == 1)
    }

    /// The compiler hands over the program its emit stage verified; replacing the program drops
    /// that, so an engine built from an edited result verifies the replacement itself.
    @Test func theEmittedProgramIsVerifiedAndAReplacementIsNot() throws {
        var result = Compiler.compile(source: EngineTests.workspace, file: "workspace.yaml")
        let verified = try #require(result.verifiedProgram)
        #expect(verified.program == result.program)
        var broken = try #require(result.program)
        broken.code[broken.code.count - 1] = Instruction(.jump)
        result.program = broken
        #expect(result.verifiedProgram == nil)
        #expect(throws: RingfenceError.self) { try Engine(compilation: result) }
    }

    /// The emit stage encodes the bundle once: `compile` writes the result's bytes, which are the
    /// program's encoding; a replaced program drops them.
    @Test func theEmittedBundleIsTheProgramsEncoding() throws {
        var result = Compiler.compile(source: EngineTests.workspace, file: "workspace.yaml")
        let program = try #require(result.program)
        #expect(result.bundle == RingfenceBytecode.Bundle.encode(program))
        result.program = program
        #expect(result.bundle == nil)
    }

    /// A program whose bundle would be larger than a bundle may be is RF4008, not a bundle the
    /// loader refuses later (the limit is lowered here; the real one is 256 MiB).
    @Test func aBundleTooLargeToLoadIsADiagnostic() throws {
        let program = try #require(Compiler.compile(source: EngineTests.workspace, file: "workspace.yaml").program)
        let size = RingfenceBytecode.Bundle.encode(program).count
        let at = SourceLocation(file: "workspace.yaml", line: 1, column: 1)
        let fits = Emit.run(program, at: at, maxBundleSize: size)
        #expect(fits.program != nil && fits.bundle?.count == size && fits.diagnostics.isEmpty)
        let tooLarge = Emit.run(program, at: at, maxBundleSize: size - 1)
        #expect(tooLarge.program == nil && tooLarge.bundle == nil)
        #expect(tooLarge.diagnostics.map(\.code) == [.programTooLarge])
        #expect(tooLarge.diagnostics.first?.message == "the policies compile to a bundle of \(size) bytes, more than the \(size - 1) bytes "
            + "a bundle may hold; split them into several bundles")
        #expect(tooLarge.diagnostics.first?.severity == .error)
    }

    /// Each instruction's source-table entry names what it stands for: the match instructions
    /// their pattern lists, each test the expression it tests, each operation its operands.
    @Test func theSourceTableSpellsEachInstruction() throws {
        let program = try #require(Compiler.compile(source: EngineTests.workspace, file: "workspace.yaml").program)
        let table = program.sourceTable
        #expect(table.entries.count == program.code.count)
        let read = try #require(program.rules.first { $0.id == "read-workspace" })
        let body = Int(read.entry)..<Int(read.end)
        let texts = body.map { table.text(at: $0) }
        #expect(texts.contains(#"["fs.read"]"#))
        #expect(texts.contains(#"["/workspace/**"]"#))
        #expect(texts.contains(#"params["method"] == "GET""#))
        #expect(texts.contains("agent.trust >= 0.7"))
        for pc in body {
            let entry = table.entries[pc]
            for input in entry.inputs {
                #expect(body.contains(input) && input < pc, "instruction \(pc) reads \(input)")
            }
            if program.code[pc].op == .yes || program.code[pc].op == .no {
                #expect(entry == .empty)
            }
        }
        let test = try #require(body.first { program.code[$0].op == .jumpIfFalse && table.text(at: $0) == "agent.trust >= 0.7" })
        let compare = try #require(table.entries[test].inputs.first)
        #expect(table.text(at: compare) == "agent.trust >= 0.7")
        #expect(table.entries[compare].inputs.map { table.text(at: $0) } == ["agent.trust", "0.7"])
    }

    /// Explanations print the table's texts: a program whose texts are rewritten explains itself
    /// with the rewritten texts, so nothing is rebuilt from the bytecode.
    @Test func explanationsReadTheSourceTable() throws {
        var program = try #require(Compiler.compile(source: EngineTests.workspace, file: "workspace.yaml").program)
        program.sourceTable.texts = program.sourceTable.texts.map { "<\($0)>" }
        let engine = try Engine(program: program, clock: { 1_000_000 })
        let request = Request(agent: Agent(id: "a", trust: 0.9), action: "fs.read", resource: "/workspace/a", params: ["method": .string("POST")])
        let rules = Dictionary(uniqueKeysWithValues: engine.explain(request).rules.map { ($0.rule, $0) })
        #expect(rules["read-workspace"]?.detail == #"`<params["method"] == "GET">` is false (<params["method"]> is "POST")"#)
        #expect(rules["allow-sql"]?.detail == #"action `fs.read` matches none of <["database.*"]>"#)
    }

    /// The verifier refuses a source table that does not fit the code: a missing entry, a text
    /// that does not exist, an input that is not an earlier instruction of the same rule.
    @Test func theVerifierRefusesABadSourceTable() throws {
        let program = try #require(Compiler.compile(source: EngineTests.workspace, file: "workspace.yaml").program)
        let second = Int(program.rules[1].entry)
        let valued = try #require(program.sourceTable.entries.indices.first { !program.sourceTable.entries[$0].inputs.isEmpty })
        let cases: [(String, (inout Program) -> Void, String)] = [
            ("short", { $0.sourceTable.entries.removeLast() }, "the source table does not match the code"),
            ("text", { $0.sourceTable.entries[0].text = UInt32($0.sourceTable.texts.count) }, "does not exist"),
            ("itself", { $0.sourceTable.entries[valued].left = UInt32(valued) }, "is not an earlier instruction of the rule"),
            ("later", { $0.sourceTable.entries[valued].right = UInt32(valued + 1) }, "is not an earlier instruction of the rule"),
            ("other rule", { $0.sourceTable.entries[second].left = 0 }, "is not an earlier instruction of the rule"),
        ]
        #expect(throws: Never.self) { try Verifier.verify(program) }
        for (name, damage, message) in cases {
            var damaged = program
            damage(&damaged)
            do {
                try Verifier.verify(damaged)
                Issue.record("\(name): the verifier accepted a bad source table")
            } catch {
                #expect(error.message.contains(message), "\(name): \(error.message)")
            }
            #expect(throws: RingfenceError.self) { try Engine(bundle: RingfenceBytecode.Bundle.encode(damaged)) }
        }
    }
}
