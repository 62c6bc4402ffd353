import Foundation
import Testing
import Ringfence
import RingfenceBytecode
import RingfenceCommands
import RingfenceDiagnostics

/// Runtime settings in bundles (since format version 3): the round trip, the verifier running the same
/// range rules as `check`, refused older versions, and what `check`, `compile` and `inspect` show.
@Suite struct RuntimeBundleTests {
    /// Settings with every value moved off its default (and still valid).
    static var custom: RuntimeSettings {
        var s = RuntimeSettings()
        s.name = "prod"
        s.rings.privileged = 0.9
        s.rings.standard = 0.55
        s.limits.ring0 = .init(rate: 1_000, burst: 5_000)
        s.limits.ring1 = .init(rate: 0.5, burst: 1)
        s.limits.ring2 = .init(rate: 7, burst: 9)
        s.limits.ring3 = .init(rate: 1, burst: 2)
        s.elevation.ring1 = 0.8
        s.elevation.ring2 = 0.4
        s.elevation.defaultTTL = 60_000
        s.elevation.maxTTL = 86_400_000
        s.sessions.maxParticipants = 3
        s.sessions.ttl = 1_000
        s.sessions.minTrust = 0.2
        s.breach.window = 1_500
        s.breach.minCalls = 50
        s.breach.low = 0.1
        s.breach.medium = 0.2
        s.breach.high = 0.3
        s.breach.critical = 1
        s.breach.cooldown = 604_800_000
        s.breach.onCritical = .kill
        s.liability.minVoucherTrust = 0.9
        s.liability.bond = 0.05
        s.liability.maxExposure = 0.1
        s.liability.vouchWeight = 1
        s.liability.slashFloor = 0
        s.liability.cascadeBelow = 0.5
        s.liability.maxCascadeDepth = 10
        s.liability.quarantine = 1
        s.liability.denyRisk = 1
        s.liability.probationRisk = 0.99
        s.liability.escalationSeverity = 0.01
        s.audit.durability = .relaxed
        s.audit.checkpointEvery = 1_000_000_000
        s.audit.checkpointInterval = 250
        s.audit.origin = "example.com/log42 — ünïcode"
        return s
    }

    /// The result of one in-process run of `ringfence`.
    static func ringfence(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let capture = CommandCapture()
        let status = RingfenceCLI.run(arguments, io: capture.io)
        return (status, capture.stdout, capture.stderr)
    }

    @Test func nonDefaultSettingsSurviveABundleRoundTrip() throws {
        let custom = Self.custom
        #expect(custom.validate().isEmpty, "\(custom.validate())")
        #expect(custom != RuntimeSettings())
        #expect(zip(custom.entries, RuntimeSettings().entries).allSatisfy { $0.0.value != $0.1.value })
        var program = try #require(Compiler.compile(source: "ringfence: 1\nkind: policy\nname: p\nrules:\n  - { id: r, effect: allow, action: a }\n").program)
        program.runtime = custom
        let bytes = RingfenceBytecode.Bundle.encode(program)
        let decoded = try RingfenceBytecode.Bundle.decode(bytes)
        #expect(decoded.header.version == 4)
        #expect(decoded.program.runtime == custom)
        #expect(decoded.program.program == program)
        // A program without a runtime file carries the defaults through a bundle too.
        program.runtime = RuntimeSettings()
        #expect(try RingfenceBytecode.Bundle.decode(RingfenceBytecode.Bundle.encode(program)).program.runtime == RuntimeSettings())
    }

    /// A runtime file compiled beside a policy ends up in the bundle `compile` writes.
    @Test func aRuntimeFileBesidePoliciesIsCompiledIntoTheBundle() throws {
        let dir = try CorpusSupport.temporaryDirectory("runtime-compile")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("ringfence: 1\nkind: policy\nname: p\nrules:\n  - { id: r, effect: allow, action: a }\n".utf8)
            .write(to: dir.appendingPathComponent("policy.yaml"))
        try Data("ringfence: 1\nkind: runtime\nname: prod\nbreach: { window: 90s, on_critical: kill }\n".utf8)
            .write(to: dir.appendingPathComponent("runtime.yaml"))
        let check = Self.ringfence(["check", dir.path])
        #expect(check.status == 0)
        #expect(check.stdout == "checked 2 files: 1 policy, 1 rule, 1 runtime file, 0 errors, 0 warnings\n")
        let out = dir.appendingPathComponent("out.rfb").path
        let compile = Self.ringfence(["compile", dir.path, "-o", out])
        #expect(compile.status == 0, "\(compile.stderr)")
        let program = try RingfenceBytecode.Bundle.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))).program
        var expected = RuntimeSettings()
        expected.name = "prod"
        expected.breach.window = 90_000
        expected.breach.onCritical = .kill
        #expect(program.runtime == expected)
        // The engine built from the same files holds the same settings.
        #expect(try Engine(paths: [dir.path]).program.runtime == expected)
    }

    /// `check` counts runtime files and sagas only when there are any; errors in a runtime file fail it.
    @Test func checkCountsRuntimeFilesAndFailsOnTheirErrors() throws {
        let dir = try CorpusSupport.temporaryDirectory("runtime-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("runtime.yaml")
        try Data("ringfence: 1\nkind: runtime\nsessions:\n  max_participants: 0\n".utf8).write(to: file)
        let run = Self.ringfence(["check", file.path])
        #expect(run.status == 1)
        #expect(run.stdout == "checked 1 file: 0 policies, 0 rules, 1 runtime file, 1 error, 0 warnings\n")
        #expect(run.stderr.hasPrefix("\(file.path):4:21: error[RF4009]: `sessions.max_participants` must be a whole number from 1 to 1000, found `0`"))
        let saga = dir.appendingPathComponent("saga.yaml")
        try Data("name: s\nsession_id: x\nsteps:\n  - { id: a, action_id: x, agent: g, undo_api: u }\n".utf8).write(to: saga)
        #expect(Self.ringfence(["check", saga.path]).stdout == "checked 1 file: 0 policies, 0 rules, 1 saga, 0 errors, 0 warnings\n")
        let example = CorpusSupport.repoRoot.appendingPathComponent("examples/runtime").path
        let clean = Self.ringfence(["check", example])
        #expect(clean.status == 0 && clean.stderr == "")
        #expect(clean.stdout == "checked 1 file: 0 policies, 0 rules, 1 runtime file, 0 errors, 0 warnings\n")
    }

    /// Every range rule is re-checked on load: a program whose settings break one is refused by
    /// the verifier, and a bundle carrying it by the loader (RF5006), never run.
    @Test func theVerifierRefusesOutOfRangeSettings() throws {
        let breakages: [(String, (inout RuntimeSettings) -> Void)] = [
            ("privileged above one", { $0.rings.privileged = 1.5 }),
            ("privileged not above standard", { $0.rings.standard = 0.95 }),
            ("nan threshold", { $0.rings.standard = .nan }),
            ("zero rate", { $0.limits.ring2.rate = 0 }),
            ("infinite rate", { $0.limits.ring0.rate = .infinity }),
            ("zero burst", { $0.limits.ring3.burst = 0 }),
            ("negative burst", { $0.limits.ring1.burst = -4 }),
            ("ring1 below ring2", { $0.elevation.ring1 = 0.1 }),
            ("default ttl above max", { $0.elevation.defaultTTL = $0.elevation.maxTTL + 1 }),
            ("zero max ttl", { $0.elevation.maxTTL = 0 }),
            ("no participants", { $0.sessions.maxParticipants = 0 }),
            ("too many participants", { $0.sessions.maxParticipants = 1_001 }),
            ("session ttl below 1s", { $0.sessions.ttl = 999 }),
            ("session ttl above 7d", { $0.sessions.ttl = 604_800_001 }),
            ("negative window", { $0.breach.window = -1 }),
            ("zero min calls", { $0.breach.minCalls = 0 }),
            ("thresholds out of order", { $0.breach.high = 0.95 }),
            ("critical above one", { $0.breach.critical = 1.01 }),
            ("zero low", { $0.breach.low = 0 }),
            ("zero cooldown", { $0.breach.cooldown = 0 }),
            ("share above one", { $0.liability.vouchWeight = 2 }),
            ("negative share", { $0.liability.minVoucherTrust = -0.1 }),
            ("cascade depth 11", { $0.liability.maxCascadeDepth = 11 }),
            ("unreachable cascade", { $0.liability.slashFloor = 0.07 }),
            ("bond above exposure", { $0.liability.bond = 0.81 }),
            ("probation at deny", { $0.liability.probationRisk = 0.6 }),
            ("zero severity", { $0.liability.escalationSeverity = 0 }),
            ("zero quarantine", { $0.liability.quarantine = 0 }),
            ("duration beyond 365d", { $0.liability.quarantine = RuntimeSettings.maxDuration + 1 }),
            ("zero checkpoint count", { $0.audit.checkpointEvery = 0 }),
            ("zero checkpoint interval", { $0.audit.checkpointInterval = 0 }),
            ("empty origin", { $0.audit.origin = "" }),
            ("origin with a newline", { $0.audit.origin = "a\nb" }),
            ("origin with a control character", { $0.audit.origin = "a\u{7F}b" }),
            ("empty name", { $0.name = "" }),
            ("name with a space", { $0.name = "a b" }),
        ]
        let program = Program()
        #expect(throws: Never.self) { try Verifier.verify(program) }
        for (label, breakage) in breakages {
            var broken = program
            breakage(&broken.runtime)
            #expect(!broken.runtime.validate().isEmpty, "\(label)")
            #expect(throws: Verifier.Failure.self, "\(label)") { try Verifier.verify(broken) }
            do {
                _ = try RingfenceBytecode.Bundle.decode(RingfenceBytecode.Bundle.encode(broken))
                Issue.record("\(label): the bundle was accepted")
            } catch {
                #expect(error.code == .bundleMalformed, "\(label)")
                #expect(error.message.contains("the runtime settings are invalid"), "\(label): \(error.message)")
            }
        }
    }

    /// Unknown words in the runtime section and a section cut short are refused as malformed.
    @Test func malformedRuntimeSectionsAreRefused() throws {
        let bytes = RingfenceBytecode.Bundle.encode(Program())
        let content = Array(bytes[RingfenceBytecode.Bundle.headerSize ..< bytes.count - 32])
        // The section ends: durability u8 · checkpoint_every i64 · checkpoint_interval i64 · origin (u32 + bytes).
        let origin = RuntimeSettings().audit.origin.utf8.count
        let durability = content.count - (1 + 8 + 8 + 4 + origin)
        #expect(content[durability] == RuntimeSettings.Audit.Durability.group.rawValue)
        var unknownWord = content
        unknownWord[durability] = 7
        for (label, forged) in [("unknown durability", unknownWord), ("cut short", Array(content.dropLast(5))),
                                ("trailing byte", content + [0])] {
            do {
                _ = try RingfenceBytecode.Bundle.decode(RobustnessTests.wrap(forged))
                Issue.record("\(label): the bundle was accepted")
            } catch {
                #expect(error.code == .bundleMalformed, "\(label): \(error)")
            }
        }
        #expect(throws: Never.self) { try RingfenceBytecode.Bundle.decode(RobustnessTests.wrap(content)) }
    }

    /// Bundles of format versions 1 and 2 (before the runtime section) and 3 (before the source
    /// table) are refused with RF5003, as is any later version.
    @Test func olderFormatVersionsAreRefused() throws {
        let bytes = RingfenceBytecode.Bundle.encode(Program())
        #expect(bytes[8] == 4 && bytes[9] == 0)
        for version: UInt8 in [1, 2, 3, 5] {
            var old = bytes
            old[8] = version
            do {
                _ = try RingfenceBytecode.Bundle.decode(old)
                Issue.record("version \(version) was accepted")
            } catch {
                #expect(error.code == .bundleVersion)
                #expect(error.message == "bundle format version \(version) is not supported (this build reads version 4)")
            }
        }
    }

    /// `inspect` shows every setting, one line per section, durations as a file writes them.
    @Test func inspectShowsTheRuntimeSettings() throws {
        let dir = try CorpusSupport.temporaryDirectory("runtime-inspect")
        defer { try? FileManager.default.removeItem(at: dir) }
        var program = Program()
        program.runtime = Self.custom
        let path = dir.appendingPathComponent("custom.rfb").path
        try Data(RingfenceBytecode.Bundle.encode(program)).write(to: URL(fileURLWithPath: path))
        let run = Self.ringfence(["inspect", path])
        #expect(run.status == 0 && run.stderr == "")
        let expected = """

            runtime settings "prod"
              rings      privileged=0.9 standard=0.55
              limits     ring0.rate=1000 ring0.burst=5000 ring1.rate=0.5 ring1.burst=1 ring2.rate=7 ring2.burst=9 ring3.rate=1 ring3.burst=2
              elevation  ring1=0.8 ring2=0.4 default_ttl=1m max_ttl=1d
              sessions   max_participants=3 ttl=1s min_trust=0.2
              breach     window=1500ms min_calls=50 low=0.1 medium=0.2 high=0.3 critical=1 cooldown=7d on_critical=kill
              liability  min_voucher_trust=0.9 bond=0.05 max_exposure=0.1 vouch_weight=1 slash_floor=0 cascade_below=0.5 \
            max_cascade_depth=10 quarantine=1ms deny_risk=1 probation_risk=0.99 escalation_severity=0.01
              audit      durability=relaxed checkpoint_every=1000000000 checkpoint_interval=250ms origin="example.com/log42 — ünïcode"

            tables and disassembly

            """
        #expect(run.stdout.contains(expected), "\(run.stdout)")
        // A bundle compiled without a runtime file shows the defaults under `default`.
        let defaults = dir.appendingPathComponent("defaults.rfb").path
        try Data(RingfenceBytecode.Bundle.encode(Program())).write(to: URL(fileURLWithPath: defaults))
        let plain = Self.ringfence(["inspect", defaults])
        #expect(plain.stdout.contains("\nruntime settings \"default\"\n  rings      privileged=0.95 standard=0.6\n"))
        #expect(plain.stdout.contains("\n  breach     window=1m min_calls=5 low=0.3 medium=0.5 high=0.7 critical=0.9 cooldown=30s on_critical=trip\n"))
        #expect(plain.stdout.contains("\n  audit      durability=group checkpoint_every=1000 checkpoint_interval=10s origin=\"ringfence.local/audit\"\n"))
    }
}
