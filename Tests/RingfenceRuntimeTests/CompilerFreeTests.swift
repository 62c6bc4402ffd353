import Foundation
import RingfenceRuntime
import Testing

/// The compiler-free product (`RingfenceRuntime`): a deployment that ships bundles loads one and
/// decides without the compiler or libyaml. This test target links no compiler; the bundle is
/// `policies/workspace.yaml` compiled and committed (`RingfenceCompilerTests`' `CommittedBundleTests`
/// keeps it equal to a fresh compile).
@Suite struct CompilerFreeTests {
    static func bundle() throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "workspace", withExtension: "rfb", subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    @Test func aCommittedBundleDecidesWithoutTheCompiler() throws {
        let engine = try Engine(bundle: try Self.bundle())
        let read = engine.evaluate(Request(agent: Agent(id: "a1", trust: 0.85), action: "fs.read", resource: "/workspace/data/sales.csv"))
        #expect(read.allowed && read.rule == "read-workspace" && read.policy == "workspace")
        let escape = engine.evaluate(Request(agent: Agent(id: "a1", trust: 0.85), action: "fs.read", resource: "/workspace/../etc/passwd"))
        #expect(!escape.allowed && escape.code == .default)
        let secrets = engine.evaluate(Request(agent: Agent(id: "a1", trust: 0.85), action: "fs.read", resource: "/workspace/config/.env"))
        #expect(secrets.code == .denyRule)
        // Requests from JSON, decisions as JSON lines: the wire format without the compiler too.
        let request = try Request(json: #"{"agent":{"id":"a1","trust":0.85},"action":"fs.read","resource":"/workspace/a.csv"}"#)
        #expect(engine.evaluate(request).jsonLine.hasPrefix(#"{"decision":"allow","code":"allow","policy":"workspace""#))
    }

    @Test func aDamagedBundleIsRefused() throws {
        var bytes = try Self.bundle()
        bytes[bytes.count / 2] ^= 0x40
        #expect(throws: RingfenceError.self) { try Engine(bundle: bytes) }
    }
}
