import Foundation
import Ringfence
import RingfenceMatch
import RingfenceCorpusSupport
import Testing
import RingfenceTestSupport

/// Every input a fuzzer once found (`Tests/Fixtures/regressions/fuzz/<target>/`, docs/fuzzing.md) stays
/// handled: replayed with the invariants its harness checks.
@Suite struct FuzzFindingTests {
    /// The finding files, `target/name`; throws when there are none.
    static func findings() throws -> [String] { try Fixtures.paths(under: "regressions/fuzz") }

    @Test func findingsExist() throws {
        let findings = try Self.findings()
        #expect(findings.count >= 2, "only \(findings.count) fuzz findings under Tests/Fixtures/regressions/fuzz")
    }

    @Test(arguments: try findings())
    func findingStaysHandled(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: Fixtures.url("regressions/fuzz").appendingPathComponent(name)))
        let text = String(decoding: bytes, as: UTF8.self)
        switch name.split(separator: "/").first {
        case "normalizer":
            Self.checkNormalization(text)
        case "request":
            let engine = try Engine(source: Samples.workspacePolicy)
            do {
                let decision = engine.evaluate(try Request(json: text))
                #expect(decision.allowed == (decision.code == .allow), "\(name): \(decision.jsonLine)")
            } catch {
                #expect(error.code.rawValue.hasPrefix("RF6"), "\(name): \(error)")
            }
        case "policy":
            let result = Compiler.compile(source: text)
            #expect(result.program != nil || result.hasErrors)
        case "bundle":
            // A `.content` file is a bundle's content, wrapped in a fresh header and checksum as
            // the harness wraps it; a bundle that loads decides with a reason for every request
            // of the evaluation corpus.
            let requests = try RobustnessTests.probeRequests()
            do {
                let engine = try Engine(bundle: name.hasSuffix(".content") ? RobustnessTests.wrap(bytes) : bytes)
                for request in requests {
                    let decision = engine.evaluate(request)
                    #expect(!decision.reason.isEmpty && decision.allowed == (decision.code == .allow), "\(name): \(decision.jsonLine)")
                }
            } catch {
                switch error {
                case .bundle(let e): #expect(e.code.rawValue.hasPrefix("RF5"), "\(name): \(e)")
                case .load: break
                case .compile: Issue.record("\(name): a bundle produced compile diagnostics")
                }
            }
        default:
            Issue.record("unknown fuzz target in \(name)")
        }
    }

    /// A normal form normalises to itself (paths), or to the same components (URLs).
    static func checkNormalization(_ resource: String) {
        let result = ResourceNormalizer.normalize(resource)
        switch result {
        case .path(let text):
            #expect(ResourceNormalizer.normalize(text) == result, "`\(resource)` → `\(text)`")
        case .url(let url):
            let again = ResourceNormalizer.normalize(url.canonical)
            #expect(again == .url(ResourceURL(scheme: url.scheme, host: url.host, port: url.port, path: url.path, query: nil, fragment: nil)),
                    "`\(resource)` → `\(url.canonical)` → \(again)")
        case .unplaceable(let reason):
            #expect(!reason.isEmpty)
        }
    }
}
