import Foundation
import Testing
import Ringfence
import RingfenceCorpusSupport
import RingfenceTestSupport

/// Seeded, deterministic fuzzing: thousands of mutated policies, bundles and requests must each
/// end in a result or a clean error — never a crash, a hang or a trap.
@Suite struct RobustnessTests {
    /// Iterations per loop: `RINGFENCE_FUZZ_SCALE` (default 1) multiplies the defaults, and
    /// `RINGFENCE_FUZZ_SEED` shifts every seed, for longer local hunts.
    static func iterations(_ base: Int) -> Int {
        base * max(1, Int(ProcessInfo.processInfo.environment["RINGFENCE_FUZZ_SCALE"] ?? "") ?? 1)
    }

    /// The seed for loop `n`.
    static func seed(_ n: UInt64) -> UInt64 {
        0x5EED_0000 + n &+ (UInt64(ProcessInfo.processInfo.environment["RINGFENCE_FUZZ_SEED"] ?? "") ?? 0) &* 0x1_0000
    }

    /// Policy texts to mutate: the golden policies and the corpus policies (all valid); a
    /// fixture that cannot be read fails the test rather than shrinking the seeds.
    static func seedPolicies() throws -> [String] {
        var texts: [String] = []
        for name in try Fixtures.names(in: "golden") {
            texts.append(try Fixtures.text(Fixtures.url("golden").appendingPathComponent(name)))
        }
        for name in try EvalCorpus.files() {
            texts += try EvalCorpus.load(name).policies
        }
        return texts
    }

    /// Requests that reach many kinds of value: strings, numbers, lists, objects, nulls, climbing paths.
    static func probeRequests() throws -> [Request] {
        var out: [Request] = []
        for name in try EvalCorpus.files() {
            out += try EvalCorpus.load(name).cases.map(\.request)
        }
        let odd: [String: Value] = [
            "query": .number(3), "method": .list([.string("GET")]), "url": .object(["a": .null]), "n": .string("x"),
            "s": .bool(true), "x": .null, "path": .string("/../../etc"), "tags": .number(1), "q": .string(String(repeating: "a", count: 200) + "b"),
        ]
        out.append(Request(agent: Agent(id: "z", trust: 1, consensus: true, roles: ["admin"], attrs: ["team": .list([])]),
                           action: "database.query", resource: "/../x", params: odd, context: ["time": .string("2026-11-21T10:00:00Z")]))
        out.append(Request(agent: Agent(id: "ü", ring: 0), action: "…", resource: "https://h/%2e%2e/%2e%2e", params: ["query": .string("DROP")]))
        return out
    }

    /// YAML punctuation and fragments likely to upset a parser.
    static let fragments: [String] = [
        "[", "]", "{", "}", ":", ": ", ",", "-", "- ", "#", "&a", "*a", "!", "!!str ", "|", ">", "'", "\"", "%", "@", "`",
        "\t", "\n", "  ", "---\n", "...\n", "? ", "<<: ", "\\", "\\u{", "(", ")", "&&", "||", "=~", "**", "{a,", "[!",
        "yes", "null", "~", "0x", "1e999", "\u{FEFF}", "é", "\u{0}", "ringfence: 1\n", "when: ", "limit: ", "ring: ",
    ]

    /// Mutates `bytes` with one to three random edits.
    static func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = bytes
        for _ in 0...rng.below(3) {
            switch rng.below(7) {
            case 0 where !b.isEmpty: // flip a byte
                let i = rng.below(b.count)
                b[i] ^= UInt8(truncatingIfNeeded: 1 << rng.below(8))
            case 1: // insert a fragment
                let f = Array(fragments[rng.below(fragments.count)].utf8)
                b.insert(contentsOf: f, at: rng.below(b.count + 1))
            case 2 where !b.isEmpty: // delete a range
                let i = rng.below(b.count)
                b.removeSubrange(i..<min(b.count, i + 1 + rng.below(8)))
            case 3: // duplicate a line
                let lines = b.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                guard !lines.isEmpty else { break }
                var copy = lines.map(Array.init)
                let i = rng.below(copy.count)
                copy.insert(copy[i], at: rng.below(copy.count + 1))
                b = Array(copy.joined(separator: [UInt8(ascii: "\n")]))
            case 4 where !b.isEmpty: // truncate
                b = Array(b[0..<rng.below(b.count)])
            case 5: // random byte
                b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(b.count + 1))
            default: // swap two lines' indentation by inserting or removing spaces
                let i = rng.below(b.count + 1)
                b.insert(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: 1 + rng.below(4)), at: i)
            }
        }
        return b
    }

    /// Evaluates three of the probe `requests`, picked at random, on `engine`.
    static func probe(_ engine: Engine, _ requests: [Request], _ rng: inout SeededGenerator) {
        for _ in 0..<3 {
            let r = requests[rng.below(requests.count)]
            let d = engine.evaluate(r)
            #expect((0...3).contains(d.ring))
            #expect(d.allowed == (d.code == .allow))
        }
    }

    /// Mutated policies give a program or at least one error, and programs evaluate.
    @Test func mutatedPoliciesCompileOrReportErrors() throws {
        var rng = SeededGenerator(seed: Self.seed(1))
        let seeds = try Self.seedPolicies()
        let requests = try Self.probeRequests()
        var programs = 0
        for iteration in 0..<Self.iterations(2_500) {
            let base = Array(seeds[rng.below(seeds.count)].utf8)
            let mutated = Self.mutate(base, &rng)
            let text = String(decoding: mutated, as: UTF8.self)
            let result = Compiler.compile(source: text, file: "fuzz-\(iteration).yaml")
            #expect(result.program != nil || result.hasErrors, "iteration \(iteration): no program and no error for:\n\(text)")
            for d in result.diagnostics {
                #expect(d.location.line >= 1 && d.location.column >= 1, "iteration \(iteration): \(d)")
            }
            if let program = result.program {
                programs += 1
                let engine = try Engine(program: program, clock: { 1_000_000 })
                Self.probe(engine, requests, &rng)
            }
        }
        #expect(programs > 100, "mutations too destructive: only \(programs) programs")
    }

    /// Random sequences of YAML and expression fragments never crash the compiler.
    @Test func randomTokenSoupNeverCrashesTheCompiler() {
        var rng = SeededGenerator(seed: Self.seed(2))
        for iteration in 0..<Self.iterations(2_000) {
            var text = rng.chance(1, in: 2) ? "ringfence: 1\nkind: policy\nname: p\nrules:\n  - id: r\n    effect: allow\n    action: x\n    when: " : ""
            for _ in 0..<rng.below(40) {
                text += Self.fragments[rng.below(Self.fragments.count)]
                if rng.chance(1, in: 3) { text += ["params.x", " == ", "\"a\"", " in ", "has(", "1", "agent.trust", " "][rng.below(8)] }
            }
            let result = Compiler.compile(source: text, file: "soup-\(iteration).yaml")
            #expect(result.program != nil || result.hasErrors, "iteration \(iteration): \(text)")
        }
    }

    /// Bundles of the golden policies and the corpus policies.
    static func seedBundles() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for name in try Fixtures.names(in: "golden") {
            let result = Compiler.compile(paths: [Fixtures.url("golden").appendingPathComponent(name).path])
            out.append(RingfenceBytecode.Bundle.encode(try #require(result.program, "golden \(name) does not compile")))
        }
        for name in try EvalCorpus.files() {
            let corpus = try EvalCorpus.load(name)
            out.append(try corpus.engine(clock: TestClock(0)).bundle())
        }
        return out
    }

    /// Wraps `content` in a valid header and checksum, so the decoder and verifier see it.
    static func wrap(_ content: [UInt8]) -> [UInt8] {
        var out = RingfenceBytecode.Bundle.magic
        let version = RingfenceBytecode.Bundle.formatVersion
        out += [UInt8(truncatingIfNeeded: version), UInt8(truncatingIfNeeded: version >> 8), 0, 0, 0, 0, 0, 0]
        out += RingfenceBytecode.Bundle.fingerprint
        var length = UInt64(content.count)
        for _ in 0..<8 {
            out.append(UInt8(truncatingIfNeeded: length))
            length >>= 8
        }
        out += content
        out += RingfenceBytecode.Bundle.sha256(content)
        return out
    }

    /// Loads `bytes` as a bundle: a refusal must carry an RF5xxx code; a load must evaluate.
    static func load(_ bytes: [UInt8], _ requests: [Request], _ rng: inout SeededGenerator, _ label: String) {
        do {
            let engine = try Engine(bundle: bytes, clock: { 1_000_000 })
            probe(engine, requests, &rng)
        } catch {
            switch error {
            case .bundle(let e): #expect(e.code.rawValue.hasPrefix("RF5"), "\(label): \(e)")
            case .load: break
            case .compile: Issue.record("\(label): a bundle produced compile diagnostics")
            }
        }
    }

    /// Flipped, truncated, extended, zeroed and random bundles are refused with an RF5xxx code.
    @Test func corruptedBundlesAreRefused() throws {
        var rng = SeededGenerator(seed: Self.seed(3))
        let seeds = try Self.seedBundles()
        for s in seeds { #expect(throws: Never.self) { _ = try Engine(bundle: s) } }
        for iteration in 0..<Self.iterations(3_000) {
            let base = seeds[rng.below(seeds.count)]
            var b = base
            switch rng.below(6) {
            case 0: b[rng.below(b.count)] ^= UInt8(truncatingIfNeeded: 1 << rng.below(8))
            case 1: b = Array(b[0..<rng.below(b.count)])
            case 2: b += (0..<1 + rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 3:
                let i = rng.below(b.count)
                for j in i..<min(b.count, i + 1 + rng.below(32)) { b[j] = 0 }
            case 4: b = (0..<rng.below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            default: b = RingfenceBytecode.Bundle.magic + (0..<rng.below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            if b == base { continue }
            do {
                _ = try Engine(bundle: b)
                let changed = (0..<min(b.count, base.count)).filter { b[$0] != base[$0] }
                Issue.record("iteration \(iteration): a corrupted bundle loaded (bytes changed: \(changed), sizes \(base.count) → \(b.count))")
            } catch {
                if case .bundle(let e) = error {
                    #expect(e.code.rawValue.hasPrefix("RF5"))
                } else {
                    Issue.record("iteration \(iteration): refused without a bundle error: \(error)")
                }
            }
        }
    }

    /// A header whose flags or reserved bytes are not zero is refused.
    @Test func headerFlagsAndReservedBytesMustBeZero() throws {
        let bundle = try #require(try Self.seedBundles().first)
        for offset in 10..<16 {
            var b = bundle
            b[offset] = 0x01
            #expect(throws: (any Error).self, "header byte \(offset) = 1 must be refused") { _ = try Engine(bundle: b) }
        }
    }

    /// Mutated content with a recomputed header and SHA-256 reaches the decoder and verifier.
    @Test func rehashedBundlesWithMutatedContentNeverCrash() throws {
        var rng = SeededGenerator(seed: Self.seed(4))
        let seeds = try Self.seedBundles().map { Array($0[RingfenceBytecode.Bundle.headerSize..<($0.count - 32)]) }
        let requests = try Self.probeRequests()
        var loaded = 0
        for iteration in 0..<Self.iterations(3_000) {
            var content = seeds[rng.below(seeds.count)]
            for _ in 0...rng.below(3) {
                switch rng.below(5) {
                case 0 where !content.isEmpty: content[rng.below(content.count)] ^= UInt8(truncatingIfNeeded: 1 << rng.below(8))
                case 1 where !content.isEmpty: content[rng.below(content.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 2 where !content.isEmpty: content = Array(content[0..<rng.below(content.count)])
                case 3: content.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(content.count + 1))
                default:
                    if !content.isEmpty {
                        let i = rng.below(content.count)
                        for j in i..<min(content.count, i + 4) { content[j] = [0x00, 0xFF, 0x7F, 0x80][rng.below(4)] }
                    }
                }
            }
            let bytes = Self.wrap(content)
            let before = loaded
            do {
                _ = try RingfenceBytecode.Bundle.decode(bytes)
                loaded += 1
            } catch {
                #expect(error.code.rawValue.hasPrefix("RF5"), "iteration \(iteration): \(error)")
            }
            if loaded > before { Self.load(bytes, requests, &rng, "iteration \(iteration)") }
        }
        #expect(loaded > 100, "only \(loaded) mutated bundles got past the decoder; the test exercises too little")
    }

    /// Mutates one field of a decoded program to a boundary or random value, re-encodes it with a
    /// correct header and checksum, and loads it: the verifier must refuse it or the VM must run it.
    @Test func structurallyMutatedProgramsAreVerifiedOrRun() throws {
        var rng = SeededGenerator(seed: Self.seed(6))
        let programs = try Self.seedBundles().map { try RingfenceBytecode.Bundle.decode($0).program.program }
        let requests = try Self.probeRequests()
        var ran = 0
        for iteration in 0..<Self.iterations(3_000) {
            var p = programs[rng.below(programs.count)]
            func pick(_ count: Int) -> UInt32 {
                let choices: [UInt32] = [0, 1, UInt32(max(count, 1) - 1), UInt32(count), UInt32(count + 1), 255, 256, 65_535, UInt32.max,
                                         UInt32(truncatingIfNeeded: rng.next())]
                return choices[rng.below(choices.count)]
            }
            switch rng.below(9) {
            case 0 where !p.code.isEmpty:
                let i = rng.below(p.code.count)
                switch rng.below(4) {
                case 0: p.code[i].opcode = UInt8(truncatingIfNeeded: pick(Opcode.allCases.count))
                case 1: p.code[i].a = UInt8(truncatingIfNeeded: pick(Int(p.maxRegisters)))
                case 2: p.code[i].b = UInt16(truncatingIfNeeded: pick(max(p.globSets.count, p.maxRegisters)))
                default: p.code[i].c = pick(max(p.code.count, p.slots.count, p.constants.count))
                }
            case 1 where !p.rules.isEmpty:
                let i = rng.below(p.rules.count)
                switch rng.below(6) {
                case 0: p.rules[i].entry = pick(p.code.count)
                case 1: p.rules[i].end = pick(p.code.count)
                case 2: p.rules[i].registers = UInt16(truncatingIfNeeded: pick(Int(p.rules[i].registers)))
                case 3: p.rules[i].policy = pick(p.policies.count)
                case 4: p.rules[i].ring = UInt8(truncatingIfNeeded: pick(4))
                default: p.rules[i].limit = Limit(count: pick(2), seconds: pick(60))
                }
            case 2 where !p.globs.isEmpty:
                let i = rng.below(p.globs.count)
                p.globs[i].pattern = ["", "**", "[", "{a,", "\\", "a/**b", String(repeating: "{a,b}", count: 9), "é*?"][rng.below(8)]
                if rng.chance(1, in: 4) { p.globs[i].separator = UInt8(truncatingIfNeeded: rng.next()) }
            case 3 where !p.regexes.isEmpty:
                p.regexes[rng.below(p.regexes.count)] = ["(", "(a+)+$", "\\", "", "(?<n>a)\\k<m>", "[z-a]"][rng.below(6)]
            case 4:
                p.thresholds = Thresholds(privileged: [Double.nan, .infinity, -1, 2, 0.5, 0][rng.below(6)],
                                          standard: [Double.nan, 0.6, 1, -0.0][rng.below(4)])
            case 5 where !p.slots.isEmpty:
                let i = rng.below(p.slots.count)
                p.slots[i] = SlotEntry(root: SlotRoot.allCases[rng.below(SlotRoot.allCases.count)],
                                       path: rng.chance(1, in: 2) ? [] : ["a"], transforms: rng.chance(1, in: 2) ? [] : [.lower])
            case 6 where !p.globSets.isEmpty:
                let i = rng.below(p.globSets.count)
                p.globSets[i] = rng.chance(1, in: 3) ? [] : [pick(p.globs.count)]
            case 7 where !p.constants.isEmpty:
                p.constants[rng.below(p.constants.count)] = [.null, .list([.list([])]), .number(.nan), .string(""), .list([])][rng.below(5)]
            default:
                if !p.code.isEmpty, rng.chance(1, in: 2) { p.code.removeLast() } else { p.codeLines.append(0) }
            }
            let bytes = RingfenceBytecode.Bundle.encode(p)
            do {
                let engine = try Engine(bundle: bytes, clock: { 1_000_000 })
                Self.probe(engine, requests, &rng)
                ran += 1
            } catch {
                // The verifier refuses (RF5xxx) or the machine cannot load a pattern; a bundle never
                // produces compile diagnostics.
                switch error {
                case .bundle(let e): #expect(e.code.rawValue.hasPrefix("RF5"), "iteration \(iteration): \(e)")
                case .load: break
                case .compile: Issue.record("iteration \(iteration): a bundle produced compile diagnostics")
                }
            }
        }
        #expect(ran > 100, "only \(ran) mutated programs ran")
    }

    /// Requests nested deeper than the JSON limit are errors, even at 100,000 levels.
    @Test func deeplyNestedRequestsAreRefused() {
        for depth in [65, 1_000, 100_000] {
            let json = "{\"agent\":{\"id\":\"a\"},\"action\":\"x\",\"params\":{\"p\":" + String(repeating: "[", count: depth)
                + String(repeating: "]", count: depth) + "}}"
            #expect(throws: RequestError.self, "depth \(depth)") { _ = try Request(json: json) }
        }
    }

    /// Mutated request JSON decodes (and then evaluates and round-trips) or fails with RF6xxx.
    @Test func mutatedRequestsDecodeOrFailCleanly() throws {
        var rng = SeededGenerator(seed: Self.seed(5))
        let corpus = try EvalCorpus.load("34-paths.yaml")
        let engine = try corpus.engine(clock: TestClock(0))
        let seeds = try Self.probeRequests().map { Array($0.jsonText.utf8) }
        let jsonFragments = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "null", "true", "1e999", "-", "0", ".5", "\"agent\"", " ", "\n", "\u{0}"]
        var decoded = 0
        for iteration in 0..<Self.iterations(3_000) {
            var b = seeds[rng.below(seeds.count)]
            if rng.chance(1, in: 2) {
                b = Self.mutate(b, &rng)
            } else {
                for _ in 0...rng.below(3) {
                    let f = Array(jsonFragments[rng.below(jsonFragments.count)].utf8)
                    let i = rng.below(b.count + 1)
                    if rng.chance(1, in: 2), i < b.count { b.removeSubrange(i..<min(b.count, i + f.count)) }
                    b.insert(contentsOf: f, at: min(i, b.count))
                }
            }
            let text = String(decoding: b, as: UTF8.self)
            do {
                let request = try Request(json: text)
                decoded += 1
                let d = engine.evaluate(request)
                #expect((0...3).contains(d.ring))
                // What decodes re-encodes to an equal request.
                #expect(try Request(json: request.jsonText) == request, "iteration \(iteration): \(text)")
            } catch {
                #expect(error.code.rawValue.hasPrefix("RF6"), "iteration \(iteration): \(error)")
                #expect(error.line >= 1 && error.column >= 1)
            }
        }
        #expect(decoded > 100)
    }
}
