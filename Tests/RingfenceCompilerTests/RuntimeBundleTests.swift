import Foundation
import Testing
import Ringfence
import RingfenceBytecode
import RingfenceCorpusSupport
import RingfenceDiagnostics

/// Runtime settings in bundles (since format version 3): the round trip, the verifier running the same
/// range rules as `check`, refused older versions (the commands' `RuntimeBundleTests` show what
/// `check`, `compile` and `inspect` make of them).
@Suite struct RuntimeBundleTests {
    @Test func nonDefaultSettingsSurviveABundleRoundTrip() throws {
        let custom = Samples.customRuntimeSettings
        #expect(custom.validate().isEmpty, "\(custom.validate())")
        #expect(custom != RuntimeSettings())
        #expect(zip(custom.entries, RuntimeSettings().entries).allSatisfy { $0.0.value != $0.1.value })
        var program = try #require(Compiler.compile(source: "ringfence: 1\nkind: policy\nname: p\nrules:\n  - { id: r, effect: allow, action: a }\n").program)
        program.runtime = custom
        let bytes = RingfenceBytecode.Bundle.encode(program)
        let decoded = try RingfenceBytecode.Bundle.decode(bytes)
        #expect(decoded.header.version == 5)
        #expect(decoded.program.runtime == custom)
        #expect(decoded.program.program == program)
        // A program without a runtime file carries the defaults through a bundle too.
        program.runtime = RuntimeSettings()
        #expect(try RingfenceBytecode.Bundle.decode(RingfenceBytecode.Bundle.encode(program)).program.runtime == RuntimeSettings())
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

    /// Bundles of format versions 1 to 3 (before millisecond saga timeouts and base URLs), 4
    /// (before the source table) and later ones are refused with RF5003.
    @Test func olderFormatVersionsAreRefused() throws {
        let bytes = RingfenceBytecode.Bundle.encode(Program())
        #expect(bytes[8] == 5 && bytes[9] == 0)
        for version: UInt8 in [1, 2, 3, 4, 6] {
            var old = bytes
            old[8] = version
            do {
                _ = try RingfenceBytecode.Bundle.decode(old)
                Issue.record("version \(version) was accepted")
            } catch {
                #expect(error.code == .bundleVersion)
                #expect(error.message == "bundle format version \(version) is not supported (this build reads version 5)")
            }
        }
    }
}
