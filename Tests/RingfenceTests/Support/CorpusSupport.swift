import Foundation
import Ringfence
import RingfenceSyntax

/// Shared helpers for the corpus, golden and robustness tests: where fixtures live, how to list
/// them, scratch directories, a seeded PRNG and small accessors over YAML trees.
enum CorpusSupport {
    /// The package root, found from this file's path (`Tests/RingfenceTests/Support/…`).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/RingfenceTests/Fixtures` in the source tree.
    static let fixturesRoot: URL = repoRoot.appendingPathComponent("Tests/RingfenceTests/Fixtures")

    /// The fixture folder `name` (e.g. `eval`).
    static func fixtures(_ name: String) -> URL { fixturesRoot.appendingPathComponent(name) }

    /// The names of the entries of fixture folder `folder` whose names end in one of `suffixes`,
    /// sorted; hidden entries are skipped.
    static func fixtureNames(in folder: String, suffixes: [String] = [".yaml", ".yml"]) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures(folder).path)) ?? []
        return names.filter { name in !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) } }.sorted()
    }

    /// The names of the sub-folders of fixture folder `folder`, sorted.
    static func fixtureFolders(in folder: String) -> [String] {
        let base = fixtures(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".")
                && FileManager.default.fileExists(atPath: base.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }

    /// The text of a fixture file.
    static func read(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    /// A fresh empty directory under the system's temporary folder.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ringfence-\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Seconds since 1970 as an RFC 3339 UTC timestamp (`1970-01-13T12:00:00Z`).
    static func rfc3339(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}

/// A clock the tests can move: engines read it through a closure.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double

    /// Creates a clock showing `seconds`.
    init(_ seconds: Double) { value = seconds }

    /// The time shown now.
    var now: Double {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }

    /// A closure reading this clock, for `Engine(clock:)`.
    var closure: @Sendable () -> Double { { self.now } }
}

/// A SplitMix64 generator: a tiny, fast, seeded generator, so random tests are deterministic.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    /// Creates a generator from `seed`.
    init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (`bound` > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with probability `numerator`/`denominator`.
    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool { below(denominator) < numerator }
}

extension YAMLNode {
    /// The scalar's text when this is a string scalar (quoted or plain, not null/bool/number).
    var stringValue: String? {
        guard case .scalar(let s) = content else { return nil }
        switch s.value {
        case .string(let text): return text
        default: return nil
        }
    }

    /// The scalar's text whatever its resolved type (`null` for a null scalar).
    var scalarText: String? {
        guard case .scalar(let s) = content else { return nil }
        return s.text
    }

    /// True when this is a null scalar.
    var isNull: Bool {
        guard case .scalar(let s) = content, case .null = s.value else { return false }
        return true
    }

    /// The scalar as a number when it is an integer or float.
    var numberValue: Double? {
        guard case .scalar(let s) = content else { return nil }
        switch s.value {
        case .integer(let i): return Double(i)
        case .float(let x): return x
        default: return nil
        }
    }
}
