import Foundation
import Testing
@testable import RingfenceMatch
import RingfenceTestSupport

/// Builds URL-shaped resources from tricky pieces with a seeded generator: mixed-case schemes and
/// hosts, userinfo, `@ # ? \`, escapes (`%2e %2E %2f %00 %zz`), dot segments, `//`, IPv4 in
/// decimal, octal, hex and short forms, IPv6, ports (default, leading zeros, huge, empty),
/// trailing dots, special and non-special schemes, broken `scheme:` separators, spaces, tabs,
/// newlines and non-ASCII text.
struct URLCorpusGenerator {
    /// The seeded source of every choice.
    var random: SeededGenerator

    /// Creates a generator whose output is fixed by `seed`.
    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    /// Schemes, special and not.
    static let schemes = ["http", "https", "ws", "wss", "ftp", "file", "s3", "postgres", "git+ssh", "redis", "x-y.z"]

    /// What follows the scheme: mostly `://`, sometimes a form only some parsers read as a URL.
    static let separators = ["://", "://", "://", "://", "://", "://", ":///", ":/", ":", ":\\\\", ":/\\", "://\\", ":\t//"]

    /// Userinfo, mostly none.
    static let userinfos = ["user@", "user:pw@", "@", ":@", "a%40b@", "evil.com@"]

    /// Hosts: names, numbers browsers read as IPv4, IPv6 literals, and broken ones.
    static let hosts = [
        "example.com", "api.example.com", "API.Example.COM", "evil.com", "a.b.c.d.e", "localhost", "LocalHost",
        "my_host.example.com", "-a-.com", "a-.com", "ab--cd.com", "x", "1.2.3.4x", "0x1g.com", "1.example",
        "127.0.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.1", "1.2.3.4.", "0x7f.1", "127.1", "0177.0.0.1",
        "2130706433", "0x7F000001", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "0x", "0X.1", "09.1.1.1", "a.1",
        "1.a", "1..2.3.4", "0", "[::1]", "[0:0:0:0:0:0:0:1]", "[::FFFF:1.2.3.4]", "[::1.2.3.4]", "[1:2:3:4:5:6:7:8]",
        "[1:2:3:4:5:6:7::]", "[::1:2:3:4:5:6:7]", "[1::2::3]", "[fe80::1%25eth0]", "[v1.x]", "[::1]x", "[1.2.3.4]",
        "[12345::]", "[::01.2.3.4]", "[2001:DB8:0:0:1:0:0:1]", "[1:0:0:2:0:0:0:3]", "[::]", "[", "[::1", "::1]", "",
        ".", "a..b", ".a", "a.", "a..", "xn--bcher-kva.example", "xn--abc.com", "ex%61mple.com", "exa mple.com",
        "exämple.com", "ｅxample.com", "example。com", "evil.com\\.example.com", "evil.com%2f.example.com",
        "evil.com%00", "%65vil.com", "ex\tample.com",
    ]

    /// Ports, mostly none.
    static let ports = [
        ":", ":80", ":443", ":0443", ":00080", ":21", ":8080", ":65535", ":65536", ":99999999999999999999", ":-1",
        ":+80", ":8a", ": 80", ":0", "::80", ":80:90",
    ]

    /// Path segments.
    static let segments = [
        "a", "B", "admin", "v1", "users", ".", "..", "%2e", "%2E", "%2e%2E", ".%2e", "%2e.", "%2f", "%2F", "..%2f", "%00",
        "%zz", "%4", "%41", "%7e", "%7E", "~", "", "a;b=c", "@", ":", "C:", "c|", "\\", " ", "\t", "é", "%C3%A9", "a b",
        "[x]", "|", "^", "`", "{x}", "\"", "'", "!$&()*+,", "%25", "%252e", "...", "..;", "index.html", "..\\admin",
    ]

    /// Queries, mostly none.
    static let queries = ["", "q=1", "a/../b", "x?y", "é", "a b", "%zz", "\\", ".example.com/", "next=https://evil.com"]

    /// Fragments, mostly none.
    static let fragments = ["", "frag", ".example.com/", "a#b", "x?y", "é", "\\", "/../admin"]

    /// Text spliced into a finished resource at a random place.
    static let insertions = [
        "@", "#", "?", "\\", "%2e", "%2E", "%2f", "%00", "%zz", "/", "//", "..", ".", ":", " ", "\t", "\n", "\r", "é",
        "\u{7F}", "\u{0}", "[", "]", "%", "/..", "/./",
    ]

    /// Text put before a resource, rarely.
    static let prefixes = [" ", "\t", "\u{0}", "\n"]

    /// The next resource.
    mutating func resource() -> String {
        var text = ""
        if random.chance(1, in: 50) { text += pick(Self.prefixes) }
        text += mixCase(pick(Self.schemes))
        text += random.chance(5, in: 6) ? "://" : pick(Self.separators)
        if random.chance(1, in: 10) { text += pick(Self.userinfos) }
        text += mixCase(random.chance(1, in: 2) ? pick(Array(Self.hosts.prefix(20))) : pick(Self.hosts))
        if random.chance(1, in: 4) { text += random.chance(1, in: 2) ? pick(Array(Self.ports.prefix(8))) : pick(Self.ports) }
        let segmentCount = random.below(6)
        for _ in 0 ..< segmentCount {
            text += random.chance(1, in: 12) ? "//" : "/"
            text += random.chance(2, in: 3) ? pick(Array(Self.segments.prefix(8))) : pick(Self.segments)
        }
        if segmentCount > 0, random.chance(1, in: 8) { text += "/" }
        if random.chance(1, in: 6) { text += "?" + pick(Self.queries) }
        if random.chance(1, in: 8) { text += "#" + pick(Self.fragments) }
        if random.chance(1, in: 5) {
            var characters = Array(text)
            characters.insert(contentsOf: pick(Self.insertions), at: random.below(characters.count + 1))
            text = String(characters)
        }
        return text
    }

    /// A uniformly chosen element of `items`.
    mutating func pick<Element>(_ items: [Element]) -> Element { items[random.below(items.count)] }

    /// `text` with its letters' case changed at random, a third of the time.
    mutating func mixCase(_ text: String) -> String {
        guard random.chance(1, in: 3) else { return text }
        return String(text.map { random.chance(1, in: 2) ? Character($0.uppercased()) : $0 })
    }
}

/// One reference parser's reading of one resource, as its script prints it (normalised the way
/// Ringfence normalises URLs).
struct ReferenceReading: Decodable, Equatable {
    /// True when the reference parsed the resource and it has no userinfo.
    var ok: Bool
    /// The scheme, lower-cased.
    var scheme: String?
    /// The host, canonical.
    var host: String?
    /// The port, nil when absent or the scheme's default.
    var port: Int?
    /// The normalised path.
    var path: String?
    /// Why the reference refused it.
    var why: String?

    /// True when the reading names the same scheme, host, port and path as `url`.
    func agrees(with url: ResourceURL) -> Bool {
        ok && scheme == url.scheme && host == url.host && port == url.port && path == url.path
    }

    /// True when the reference reads a URL with a scheme and a host.
    var hasSchemeAndHost: Bool { ok && !(scheme ?? "").isEmpty && !(host ?? "").isEmpty }
}

/// Runs the reference scripts in `Tests/Fixtures/url/` over a list of resources.
enum URLReferences {
    /// Writes `resources` to a file, one JSON string a line, runs `interpreter script file` through
    /// `/usr/bin/env`, and returns one reading per resource; any failure to run is an error.
    static func readings(of resources: [String], interpreter: String, script: String) throws -> [ReferenceReading] {
        let folder = try Scratch("url-\(interpreter)")
        let input = folder.url("resources.jsonl")
        let output = folder.url("readings.jsonl")
        let errors = folder.url("errors.txt")
        try Data(resources.map { jsonString($0) + "\n" }.joined().utf8).write(to: input)
        try Data().write(to: output)
        try Data().write(to: errors)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter, Fixtures.url("url").appendingPathComponent(script).path, input.path]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw ReferenceFailure(message: process.terminationStatus == 127
                ? "`\(interpreter)` is not installed: the URL differential test needs python3 and node"
                : "`\(interpreter) \(script)` exited with status \(process.terminationStatus): \(errorText)")
        }
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count == resources.count else {
            throw ReferenceFailure(message: "`\(script)` printed \(lines.count) readings for \(resources.count) resources: \(errorText)")
        }
        let decoder = JSONDecoder()
        return try lines.map { try decoder.decode(ReferenceReading.self, from: Data($0.utf8)) }
    }

    /// `text` as a JSON string literal (control characters escaped, the rest as UTF-8).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A reference script could not be run or printed something unreadable.
struct ReferenceFailure: Error, CustomStringConvertible {
    /// What went wrong.
    var message: String
    /// The message.
    var description: String { message }
}

/// SPEC §3.1's URL parsing, checked against Python's `urllib.parse.urlsplit` (RFC 3986) and
/// Node's `new URL()` (WHATWG): whenever Ringfence accepts a URL, both references parse it and
/// agree with Ringfence on scheme, host, port and path; whenever Ringfence takes a resource as a
/// path or name, neither reference reads it as a URL with a host.
@Suite struct URLDifferentialTests {
    /// Everyday URLs, which must be accepted (so a parser refusing everything fails the test).
    static let ordinaryURLs = [
        "https://example.com/", "https://api.example.com/v1/users", "https://api.example.com/v1/users?id=42",
        "https://api.example.com/v1/users/42#profile", "http://localhost:8080/health", "http://127.0.0.1:5000/api",
        "https://[::1]:8443/status", "https://[2001:db8::1]/", "https://docs.python.org/3/library/urllib.parse.html",
        "https://github.com/apple/swift/blob/main/README.md", "https://www.example.org/search?q=ringfence&lang=en",
        "ftp://ftp.example.com/pub/file.tar.gz", "ws://chat.example.com/socket", "wss://stream.example.com:9443/feed",
        "file:///etc/hosts", "file:///home/user/notes.txt", "file://localhost/var/log/syslog",
        "s3://my-bucket/data/2024/file.csv", "postgres://db.internal:5432/app", "git+ssh://git.example.com/org/repo.git",
        "https://example.com/a/b/c/", "https://example.com/path;params", "https://example.com/~user/",
        "https://example.com/caf%C3%A9", "https://sub.domain.example.co.uk/x", "http://10.0.0.1/admin",
        "https://example.com:8443/", "https://example.com/search?q=%E2%9C%93", "https://example.com/a-b_c.d~e",
        "https://example.com/api/v2/items/123/reviews?page=2&per_page=50", "http://example.com/index.html#section-2",
        "https://my_host.example.com/", "redis://cache.internal:6379/0", "https://example.com/%7Euser/",
        "https://EXAMPLE.com/Path/To/File.TXT", "HTTPS://Example.COM:443/", "https://example.com/a/./b/../c",
        "https://example.com/?", "https://example.com/#", "https://example.com/search?q=caf%C3%A9#résumé",
    ]

    /// How many generated resources the test checks.
    static let generatedCount = 12_000

    @Test func acceptedURLsAgreeWithPythonAndWHATWG() throws {
        var generator = URLCorpusGenerator(seed: 0x5EED_0F_0001)
        let generated = (0 ..< Self.generatedCount).map { _ in generator.resource() }
        let resources = Self.ordinaryURLs + generated
        let python = try URLReferences.readings(of: resources, interpreter: "python3", script: "python_reference.py")
        let whatwg = try URLReferences.readings(of: resources, interpreter: "node", script: "whatwg_reference.mjs")

        var accepted = 0, refused = 0, paths = 0, disagreements = 0
        var violations: [String] = []
        for (index, resource) in resources.enumerated() {
            let py = python[index], js = whatwg[index]
            if py.ok != js.ok || (py.ok && (py.scheme != js.scheme || py.host != js.host || py.port != js.port || py.path != js.path)) {
                disagreements += 1
            }
            switch ResourceNormalizer.normalize(resource) {
            case .url(let url):
                accepted += 1
                if !py.agrees(with: url) || !js.agrees(with: url) {
                    violations.append("\(URLReferences.jsonString(resource)): ringfence \(url), python \(py), whatwg \(js)")
                }
            case .path(let text):
                paths += 1
                if py.hasSchemeAndHost || js.hasSchemeAndHost {
                    violations.append("\(URLReferences.jsonString(resource)): ringfence path `\(text)`, python \(py), whatwg \(js)")
                }
            case .unplaceable:
                refused += 1
            }
        }
        for url in Self.ordinaryURLs {
            guard case .url = ResourceNormalizer.normalize(url) else {
                Issue.record("ordinary URL `\(url)` is refused: \(ResourceNormalizer.normalize(url))")
                continue
            }
        }
        print("url differential: \(resources.count) resources (\(generated.count) generated), \(accepted) accepted, "
            + "\(refused) refused, \(paths) paths or names, \(disagreements) where python and whatwg disagree")
        let violationCount = violations.count
        #expect(violationCount == 0, "resources read differently:\n\(violations.prefix(25).joined(separator: "\n"))")
        // The corpus must exercise both sides: plenty accepted and plenty refused, and the
        // references must disagree somewhere (else the corpus is not tricky enough).
        #expect(accepted >= resources.count / 5, "only \(accepted) of \(resources.count) accepted")
        #expect(refused >= resources.count / 5, "only \(refused) of \(resources.count) refused")
        #expect(disagreements >= 500, "only \(disagreements) reference disagreements")
    }

    @Test func aMissingReferenceFailsTheTest() {
        #expect(throws: ReferenceFailure.self) {
            try URLReferences.readings(of: ["https://example.com/"], interpreter: "ringfence-no-such-interpreter", script: "python_reference.py")
        }
    }

    @Test func referenceScriptsReadTheSameOrdinaryURLs() throws {
        let python = try URLReferences.readings(of: Self.ordinaryURLs, interpreter: "python3", script: "python_reference.py")
        let whatwg = try URLReferences.readings(of: Self.ordinaryURLs, interpreter: "node", script: "whatwg_reference.mjs")
        #expect(python.count == Self.ordinaryURLs.count)
        for (index, url) in Self.ordinaryURLs.enumerated() {
            #expect(python[index].ok && python[index] == whatwg[index], "`\(url)`: python \(python[index]), whatwg \(whatwg[index])")
        }
    }
}
