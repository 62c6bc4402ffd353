import Foundation
import Testing
import RingfenceCLITestSupport
import RingfenceCommands
import RingfenceTestSupport

/// `ringfence ledger show|vouch|slash` over a SQLite store written by `ringfence ops`.
@Suite struct LedgerCommandTests {
    @Test func ledgerCommandsWorkOverASQLiteStore() throws {
        let directory = try Scratch("ledger")
        let state = "sqlite:" + directory.file("state.db")
        let ops = try directory.write("ops.jsonl", """
            {"op":"session.create","session":"s1"}
            {"op":"session.join","session":"s1","agent":"v","trust":0.9}
            {"op":"session.join","session":"s1","agent":"a","trust":0.6}
            """)
        let policies = Fixtures.url("ops/standard/policies").path
        let setup = CommandCapture()
        #expect(RingfenceCLI.run(["ops", "-p", policies, "--state", state, "-i", ops], io: setup.io) == 0)

        let vouch = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "vouch", "v", "a", "--bond", "0.5", "--vouch", "v-a", "--state", state], io: vouch.io) == 0)
        #expect(vouch.stdout == #"{"op":"ledger.vouch","ok":true,"result":{"bonded":0.45,"vouch":"v-a"}}"# + "\n")
        let refused = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "vouch", "a", "v", "--state", state], io: refused.io) == 1)
        #expect(refused.stdout.contains(#""code":"vouch_cycle""#))
        let slash = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "slash", "a", "--severity", "0.5", "--violation", "a-1", "-p", policies, "--state", state],
                                 io: slash.io) == 0)
        #expect(slash.stdout.contains(#"{"after":0.45,"agent":"v","before":0.9,"depth":1}"#))

        let show = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "show", "v", "--state", state], io: show.io) == 0)
        #expect(show.stdout.contains("trust      0.45 (effective 0.45)"))
        #expect(show.stdout.contains("slash") && show.stdout.contains("violation a-1"))
        let json = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "show", "a", "--format", "json", "--state", state], io: json.io) == 0)
        #expect(json.stdout.contains(#""standing":"admit""#) && json.stdout.contains(#""trust":0"#))
        let unknown = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "show", "ghost", "--state", state], io: unknown.io) == 1)
        #expect(unknown.stderr.hasPrefix("error[unknown_agent]: "))
        let usage = CommandCapture()
        #expect(RingfenceCLI.run(["ledger", "slash", "a", "--violation", "x", "--state", state], io: usage.io) == 2)

        let audit = CommandCapture()
        #expect(RingfenceCLI.run(["audit", "verify", "--state", state], io: audit.io) == 0)
    }
}
