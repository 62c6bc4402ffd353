import Foundation
@testable import RingfenceAudit
import RingfenceTestSupport
import RingfenceVM

/// Where the audit fixtures live and how to read them.
enum AuditFixtures {
    /// `Tests/RingfenceAuditTests/Fixtures` in the source tree.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The URL of fixture `path` (relative to the fixtures folder).
    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// The bytes of fixture `path`; empty when it cannot be read (the callers expect content).
    static func bytes(_ path: String) -> [UInt8] {
        (try? Data(contentsOf: url(path))).map { Array($0) } ?? []
    }

    /// The UTF-8 text of fixture `path`; empty when it cannot be read.
    static func text(_ path: String) -> String {
        String(decoding: bytes(path), as: UTF8.self)
    }

    /// The names of the files directly in fixture folder `folder` ending in `suffix`, sorted;
    /// throws when there are none, so a test driven by them fails instead of running no case.
    static func names(in folder: String, suffix: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: url(folder).path)
            .filter { !$0.hasPrefix(".") && $0.hasSuffix(suffix) }.sorted()
        guard !names.isEmpty else { throw FixtureError("Fixtures/\(folder) holds no `\(suffix)` file") }
        return names
    }

    /// The paths (relative to the fixtures folder) of every file under `folder` ending in
    /// `suffix`, sorted; throws when there are none.
    static func paths(under folder: String, suffix: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: url(folder).path) else { throw FixtureError("cannot list Fixtures/\(folder)") }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(suffix) { found.append(folder + "/" + relative) }
        }
        guard !found.isEmpty else { throw FixtureError("Fixtures/\(folder) holds no `\(suffix)` file") }
        return found.sorted()
    }
}

/// Small utilities shared by the audit tests.
enum AuditTestSupport {
    /// The bytes of a hex string written in a test (lowercase or uppercase).
    static func hex(_ text: String) -> [UInt8] {
        Hex.decodeAnyCase(text) ?? []
    }

    /// The hash written as 64 hex digits in a test.
    static func hash(_ text: String) -> AuditHash {
        AuditHash(bytes: hex(text)) ?? .zero
    }

    /// The message of the `AuditError` that `body` throws, or nil when it throws none.
    static func auditError(_ body: () throws -> Void) -> AuditError? {
        do {
            try body()
            return nil
        } catch let error as AuditError {
            return error
        } catch {
            return AuditError(.entry, "unexpected error \(error)")
        }
    }

    /// A random string mixing ASCII, escapes, controls and non-ASCII scalars.
    static func randomString(_ generator: inout SeededGenerator, maxLength: Int = 12) -> String {
        let pool: [Unicode.Scalar] = [
            "a", "b", "Z", "0", " ", "/", "\"", "\\", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}",
            "\u{D}", "\u{1F}", "\u{7F}", "\u{80}", "é", "€", "\u{2028}", "\u{FB33}", "\u{1F602}", "\u{10FFFF}",
        ]
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...maxLength, using: &generator) {
            text.append(pool[Int.random(in: 0..<pool.count, using: &generator)])
        }
        return String(text)
    }

    /// A random JSON value at most `depth` levels deep.
    static func randomValue(_ generator: inout SeededGenerator, depth: Int) -> Value {
        let choice = Int.random(in: 0..<(depth > 0 ? 7 : 5), using: &generator)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(randomNumber(&generator))
        case 3: return .string(randomString(&generator))
        case 4: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)))
        case 5:
            return .list((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(&generator, depth: depth - 1) })
        default:
            var members: [String: Value] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                members[randomString(&generator, maxLength: 6)] = randomValue(&generator, depth: depth - 1)
            }
            return .object(members)
        }
    }

    /// A random finite double: any finite bit pattern, or a short decimal.
    static func randomNumber(_ generator: inout SeededGenerator) -> Double {
        if Bool.random(using: &generator) {
            while true {
                let value = Double(bitPattern: generator.next())
                if value.isFinite { return value }
            }
        }
        return Double(Int.random(in: -99_999...99_999, using: &generator)) / 1000
    }
}
