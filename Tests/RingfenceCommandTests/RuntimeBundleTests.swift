import Foundation
import Ringfence
import RingfenceCLITestSupport
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing

/// Runtime settings through the command line: `compile` writes a runtime file beside the
/// policies into the bundle, `check` counts runtime files and fails on their errors, `inspect`
/// shows every setting (the compiler's `RuntimeBundleTests` cover the bundle format itself).
@Suite struct RuntimeBundleTests {
    /// A runtime file compiled beside a policy ends up in the bundle `compile` writes.
    @Test func aRuntimeFileBesidePoliciesIsCompiledIntoTheBundle() throws {
        let dir = try Scratch("runtime-compile")
        try Data("ringfence: 1\nkind: policy\nname: p\nrules:\n  - { id: r, effect: allow, action: a }\n".utf8)
            .write(to: dir.url("policy.yaml"))
        try Data("ringfence: 1\nkind: runtime\nname: prod\nbreach: { window: 90s, on_critical: kill }\n".utf8)
            .write(to: dir.url("runtime.yaml"))
        let check = ringfence(["check", dir.path])
        #expect(check.status == 0)
        #expect(check.stdout == "checked 2 files: 1 policy, 1 rule, 1 runtime file, 0 errors, 0 warnings\n")
        let out = dir.url("out.rfb").path
        let compile = ringfence(["compile", dir.path, "-o", out])
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
        let dir = try Scratch("runtime-check")
        let file = dir.url("runtime.yaml")
        try Data("ringfence: 1\nkind: runtime\nsessions:\n  max_participants: 0\n".utf8).write(to: file)
        let run = ringfence(["check", file.path])
        #expect(run.status == 1)
        #expect(run.stdout == "checked 1 file: 0 policies, 0 rules, 1 runtime file, 1 error, 0 warnings\n")
        #expect(run.stderr.hasPrefix("\(file.path):4:21: error[RF4009]: `sessions.max_participants` must be a whole number from 1 to 1000, found `0`"))
        let saga = dir.url("saga.yaml")
        try Data("name: s\nsession_id: x\nsteps:\n  - { id: a, action_id: x, agent: g, undo_api: /u }\n".utf8).write(to: saga)
        #expect(ringfence(["check", saga.path]).stdout == "checked 1 file: 0 policies, 0 rules, 1 saga, 0 errors, 0 warnings\n")
        let example = Repository.url("examples/runtime").path
        let clean = ringfence(["check", example])
        #expect(clean.status == 0 && clean.stderr == "")
        #expect(clean.stdout == "checked 1 file: 0 policies, 0 rules, 1 runtime file, 0 errors, 0 warnings\n")
    }

    /// `inspect` shows every setting, one line per section, durations as a file writes them.
    @Test func inspectShowsTheRuntimeSettings() throws {
        let dir = try Scratch("runtime-inspect")
        var program = Program()
        program.runtime = Samples.customRuntimeSettings
        let path = dir.url("custom.rfb").path
        try Data(RingfenceBytecode.Bundle.encode(program)).write(to: URL(fileURLWithPath: path))
        let run = ringfence(["inspect", path])
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
        let defaults = dir.url("defaults.rfb").path
        try Data(RingfenceBytecode.Bundle.encode(Program())).write(to: URL(fileURLWithPath: defaults))
        let plain = ringfence(["inspect", defaults])
        #expect(plain.stdout.contains("\nruntime settings \"default\"\n  rings      privileged=0.95 standard=0.6\n"))
        #expect(plain.stdout.contains("\n  breach     window=1m min_calls=5 low=0.3 medium=0.5 high=0.7 critical=0.9 cooldown=30s on_critical=trip\n"))
        #expect(plain.stdout.contains("\n  audit      durability=group checkpoint_every=1000 checkpoint_interval=10s origin=\"ringfence.local/audit\"\n"))
    }
}
