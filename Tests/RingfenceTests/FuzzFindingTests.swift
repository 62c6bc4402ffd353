import Foundation
import Ringfence
import RingfenceMatch
import Testing

/// Every input a fuzzer once found (`Fixtures/regressions/fuzz/<target>/`, docs/fuzzing.md) stays
/// handled: replayed with the invariants its harness checks.
@Suite struct FuzzFindingTests {
    /// The targets and their finding files, `target/name`.
    static let findings: [String] = ["request", "policy", "normalizer", "bundle"].flatMap { target in
        CorpusSupport.fixtureNames(in: "regressions/fuzz/\(target)", suffixes: [""]).map { "\(target)/\($0)" }
    }

    @Test func findingsExist() {
        #expect(Self.findings.count >= 2, "no fuzz findings found under Fixtures/regressions/fuzz")
    }

    @Test(arguments: findings)
    func findingStaysHandled(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: CorpusSupport.fixtures("regressions/fuzz").appendingPathComponent(name)))
        let text = String(decoding: bytes, as: UTF8.self)
        switch name.split(separator: "/").first {
        case "normalizer":
            Self.checkNormalization(text)
        case "request":
            if let request = try? Request(json: text) {
                _ = try Engine(source: CLITests.policy).evaluate(request)
            }
        case "policy":
            let result = Compiler.compile(source: text)
            #expect(result.program != nil || result.hasErrors)
        case "bundle":
            _ = try? Engine(bundle: bytes)
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
