import Foundation
import Testing
import Ringfence
import RingfenceCorpusSupport
import RingfenceTestSupport

/// One expected diagnostic: file name, code, line, column and severity.
struct ExpectedDiagnostic: Hashable, Comparable, CustomStringConvertible {
    /// The file's name (no folder).
    var file: String
    /// The code, e.g. `RF1004`.
    var code: String
    /// 1-based line.
    var line: Int
    /// 1-based column in Unicode scalars.
    var column: Int
    /// `error` or `warning`.
    var severity: String

    /// Orders by file, position, code and severity.
    static func < (a: Self, b: Self) -> Bool {
        (a.file, a.line, a.column, a.code, a.severity) < (b.file, b.line, b.column, b.code, b.severity)
    }

    /// `file:line:column CODE severity`.
    var description: String { "\(file):\(line):\(column) \(code) \(severity)" }

    /// The comparable form of a produced diagnostic.
    init(_ d: Diagnostic) {
        file = URL(fileURLWithPath: d.location.file).lastPathComponent
        code = d.code.rawValue
        line = d.location.line
        column = d.location.column
        severity = d.severity.rawValue
    }

    /// Creates an expectation.
    init(file: String, code: String, line: Int, column: Int, severity: String) {
        self.file = file
        self.code = code
        self.line = line
        self.column = column
        self.severity = severity
    }
}

/// Runs the diagnostics corpus (`Tests/Fixtures/check/`): every file (or folder, compiled together)
/// declares in leading comments the exact diagnostics `check` must report — no more, no fewer.
@Suite struct CheckCorpusTests {
    /// Single-file fixtures and folder fixtures, by name; throws when the folder holds none.
    static func entries() throws -> [String] { try Fixtures.entries(in: "check") }

    /// Fixtures whose correct expectation the implementation does not meet yet (reported to the lead).
    static let knownIssues: [String: String] = [:]

    /// True when `word` is a diagnostic code (`RF` and four digits).
    static func isCode(_ word: Substring) -> Bool {
        word.count == 6 && word.hasPrefix("RF") && word.dropFirst(2).allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Reads the `# expect: CODE L:C [warning]` / `# expect-none` header of a fixture file: its
    /// leading comment lines. Comments that describe the fixture are skipped, but a header line
    /// that starts with `expect` or names a diagnostic code must be a well-formed expectation, so
    /// a typo is an error instead of an expectation silently dropped.
    static func expectations(_ url: URL) throws -> (expected: [ExpectedDiagnostic], declaredNone: Bool) {
        let bytes = try Data(contentsOf: url)
        let text = String(decoding: bytes, as: UTF8.self)
        var expected: [ExpectedDiagnostic] = []
        var none = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("#") else { break }
            let words = line.dropFirst().split(separator: " ")
            let looksLikeExpectation = words.first?.lowercased().hasPrefix("expect") == true || words.contains(where: isCode)
            guard looksLikeExpectation else { continue }
            func malformed(_ why: String) -> CorpusError {
                CorpusError("\(url.lastPathComponent): \(why) `\(line)` (write `# expect: RF1234 LINE:COLUMN [warning]` or `# expect-none`)")
            }
            if words == ["expect-none"] {
                none = true
                continue
            }
            guard words.first == "expect:", (3...4).contains(words.count), isCode(words[1]) else {
                throw malformed("malformed expectation")
            }
            let position = words[2].split(separator: ":")
            guard position.count == 2, let l = Int(position[0]), let c = Int(position[1]), l >= 1, c >= 1 else {
                throw malformed("bad position in")
            }
            let severity = words.count == 4 ? String(words[3]) : "error"
            guard severity == "error" || severity == "warning" else { throw malformed("unknown severity in") }
            expected.append(ExpectedDiagnostic(file: url.lastPathComponent, code: String(words[1]), line: l, column: c, severity: severity))
        }
        if none && !expected.isEmpty {
            throw CorpusError("\(url.lastPathComponent): declares `# expect-none` and expectations")
        }
        return (expected, none)
    }

    /// The diagnostics compiling `paths` produces, in comparable form.
    static func actual(_ paths: [String]) -> [ExpectedDiagnostic] {
        Compiler.compile(paths: paths).diagnostics.map(ExpectedDiagnostic.init).sorted()
    }

    /// At least 45 fixtures, and every RF1xxx–RF4xxx code is expected by one of them.
    @Test func theCorpusIsLargeEnoughAndCoversEveryCode() throws {
        let entries = try Self.entries()
        #expect(entries.count >= 45, "only \(entries.count) diagnostics fixtures")
        var codes: Set<String> = []
        for name in entries {
            let url = Fixtures.url("check").appendingPathComponent(name)
            let files = name.hasSuffix(".yaml") ? [url] : try Fixtures.names(in: "check/\(name)").map { url.appendingPathComponent($0) }
            for file in files { codes.formUnion(try Self.expectations(file).expected.map(\.code)) }
        }
        // Every RF1xxx–RF4xxx code that a policy file can produce is pinned by at least one fixture.
        // RF4008 needs 16,777,216 pattern sets or a 256 MiB bundle, beyond any fixture (CompilerLimitsTests
        // and CompilerStagesTests cover its thresholds).
        let pinned = DiagnosticCode.catalog.map(\.code.rawValue).filter { $0.hasPrefix("RF1") || $0.hasPrefix("RF2") || $0.hasPrefix("RF3") || $0.hasPrefix("RF4") }
            .filter { $0 != DiagnosticCode.programTooLarge.rawValue }
        for code in pinned {
            #expect(codes.contains(code), "no diagnostics fixture expects \(code)")
        }
    }

    /// Each fixture produces exactly its declared diagnostics (known bugs are marked, not hidden).
    @Test(arguments: try entries())
    func checkReportsExactlyTheDeclaredDiagnostics(_ name: String) throws {
        let url = Fixtures.url("check").appendingPathComponent(name)
        var expected: [ExpectedDiagnostic] = []
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        if isFolder.boolValue {
            for file in try Fixtures.names(in: "check/\(name)") {
                expected += try Self.expectations(url.appendingPathComponent(file)).expected
            }
        } else {
            let header = try Self.expectations(url)
            #expect(header.declaredNone == header.expected.isEmpty, "\(name): declare `# expect-none` or at least one `# expect:`")
            expected = header.expected
        }
        let actual = Self.actual([url.path])
        let compare = {
            #expect(actual == expected.sorted(), "\(name): expected \(expected.sorted()), got \(actual)")
        }
        if let reason = Self.knownIssues[name] {
            withKnownIssue(Comment(rawValue: reason)) { compare() }
        } else {
            compare()
        }
    }

    /// RF0002 points at the first byte that is not UTF-8 (written here, so no binary file is committed).
    @Test func invalidUTF8IsReportedAtTheOffendingByte() throws {
        let dir = try Scratch("check")
        let url = dir.url("latin1.yaml")
        var bytes = Array("ringfence: 1\nkind: policy\nname: caf".utf8)
        bytes.append(0xE9)
        bytes += Array("\nrules: []\n".utf8)
        try Data(bytes).write(to: url)
        let actual = Self.actual([url.path])
        #expect(actual == [ExpectedDiagnostic(file: "latin1.yaml", code: "RF0002", line: 3, column: 10, severity: "error")])
    }

    /// RF0001 (missing), RF0015 (empty folder), RF0011 (no document) and RF0003 (over 16 MiB).
    @Test func unreadableAndEmptyInputsAreReported() throws {
        let dir = try Scratch("check")
        let missing = Self.actual([dir.url("missing.yaml").path])
        #expect(missing.map(\.code) == ["RF0001"])
        let empty = dir.url("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(Self.actual([empty.path]).map(\.code) == ["RF0015"])
        let blank = dir.url("blank.yaml")
        try Data("# nothing here\n".utf8).write(to: blank)
        #expect(Self.actual([blank.path]).map(\.code) == ["RF0011"])
        let huge = dir.url("huge.yaml")
        try Data(repeating: UInt8(ascii: "#"), count: (16 << 20) + 1).write(to: huge)
        #expect(Self.actual([huge.path]).map(\.code) == ["RF0003"])
    }
}
