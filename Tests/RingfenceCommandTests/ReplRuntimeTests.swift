import Foundation
import Ringfence
import RingfenceCommands
import RingfenceTestSupport
import Testing

/// The REPL's session commands: the runtime driven by hand through the operation dispatcher.
@Suite struct ReplRuntimeTests {
    static func run(_ lines: [String]) -> [String] {
        var session = ReplSession()
        return lines.map { session.handle($0) }
    }

    @Test func aSessionByHand() {
        let policies = Repository.url("policies").path
        let out = Self.run([
            ":decide", ":load \(policies)", ":decide", ":at 2026-11-21T10:00:00Z", ":session s1", ":join a1 0.85", ":join a2 0.4 parent=a1",
            ":activate", "agent.id = a1", "action = fs.read", "resource = /workspace/a.csv", ":decide",
            ":elevate a1 1", ":kill a1", ":decide", ":terminate", ":op {\"op\":\"session.get\",\"session\":\"s1\"}", ":op", ":join a3",
        ])
        #expect(out[0].hasPrefix("error: no policies are loaded"))
        #expect(out[2].hasPrefix("error: no session yet"))
        #expect(out[4] == #"{"op":"session.create","ok":true,"result":{"session":"s1","state":"handshaking"}}"# + "\n")
        #expect(out[5].contains(#""ring":2"#) && out[6].contains(#""ring":3"#))
        #expect(out[11].contains(#""decision":"allow""#) && out[11].contains(#""ring":2"#))
        #expect(out[12].contains(#""code":"no_sponsorship""#) || out[12].contains(#""code":"insufficient_trust""#))
        #expect(out[14].contains(#""code":"killed""#))
        #expect(out[15].contains(#""audit_root""#) && out[15].contains(#""state":"archived""#))
        #expect(out[16].contains(#""op":"session.get","ok":true"#))
        #expect(out[17].hasPrefix("error: usage: `:op {JSON}`"))
        #expect(out[18].hasPrefix("error: usage: `:join"))
    }

    @Test func reloadingStartsSessionsOver() {
        let policies = Repository.url("policies").path
        let out = Self.run([":load \(policies)", ":session s1", ":reload", ":session s1"])
        #expect(out[1].contains(#""ok":true"#) && out[3].contains(#""ok":true"#))
    }
}
