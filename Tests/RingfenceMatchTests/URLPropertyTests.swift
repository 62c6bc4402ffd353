import Testing
@testable import RingfenceMatch
import RingfenceTestSupport

/// Properties of resource normalisation over seeded random inputs: the result is canonical
/// (normalising it again gives it back), its path has no dot or empty segments, and a refusal says
/// why in a short lowercase phrase.
@Suite struct URLPropertyTests {
    /// Path segments for the random paths.
    static let pathSegments = ["a", "b", "data", ".", "..", "", "%2e", "%2E%2e", "café", "x y", "\\", ":", "~", "...", "a.b"]

    /// A random path or name: absolute or relative, with dot segments, `//` and a trailing `/`.
    static func randomPath(_ random: inout SeededGenerator) -> String {
        var text = random.chance(1, in: 2) ? "/" : ""
        for index in 0 ..< random.below(7) {
            if index > 0 { text += random.chance(1, in: 6) ? "//" : "/" }
            text += pathSegments[random.below(pathSegments.count)]
        }
        if random.chance(1, in: 6) { text += "/" }
        if random.chance(1, in: 200) { text.insert("\u{0}", at: text.startIndex) }
        return text
    }

    /// The schemes' default ports, which a canonical URL never names.
    static let defaultPorts = ["http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21]

    /// Checks that the text of a canonical path has no empty, `.` or `..` segment and no trailing
    /// `/`, except `/` itself and `.`.
    static func expectCanonicalPath(_ path: String, of resource: String) {
        guard path != "/", path != "." else { return }
        let body = path.hasPrefix("/") ? path.dropFirst() : path[...]
        for segment in body.split(separator: "/", omittingEmptySubsequences: false) {
            #expect(!segment.isEmpty && segment != "." && segment != "..", "`\(resource)` → `\(path)`")
        }
    }

    /// Checks the invariants of the normal form `result` of `resource`; returns its kind.
    @discardableResult
    static func expectCanonical(_ resource: String, _ result: NormalizedResource) -> String {
        switch result {
        case .path(let text):
            #expect(ResourceNormalizer.normalize(text) == result, "`\(resource)` → `\(text)` → \(ResourceNormalizer.normalize(text))")
            if text.contains("/") { expectCanonicalPath(text, of: resource) }
            return "path"
        case .url(let url):
            let rewritten = url.canonical + (url.query.map { "?" + $0 } ?? "") + (url.fragment.map { "#" + $0 } ?? "")
            #expect(ResourceNormalizer.normalize(rewritten) == result, "`\(resource)` → `\(rewritten)` → \(ResourceNormalizer.normalize(rewritten))")
            #expect(url.path.hasPrefix("/"), "`\(resource)`: path `\(url.path)`")
            expectCanonicalPath(url.path, of: resource)
            #expect(url.scheme == url.scheme.lowercased() && url.host == url.host.lowercased(), "`\(resource)`")
            #expect(!url.host.hasSuffix("."), "`\(resource)`: host `\(url.host)`")
            if let port = url.port { #expect(port >= 0 && port <= 65535 && port != defaultPorts[url.scheme], "`\(resource)`") }
            return "url"
        case .unplaceable(let reason):
            #expect(!reason.isEmpty && reason == reason.lowercased() && !reason.hasSuffix("."), "`\(resource)`: reason `\(reason)`")
            return "refused"
        }
    }

    @Test func pathNormalisationIsIdempotent() {
        var random = SeededGenerator(seed: 0x9A7B_0001)
        var kinds: [String: Int] = [:]
        for _ in 0 ..< 20_000 {
            let path = Self.randomPath(&random)
            kinds[Self.expectCanonical(path, ResourceNormalizer.normalize(path)), default: 0] += 1
        }
        #expect(kinds["path", default: 0] >= 10_000)
        #expect(kinds["refused", default: 0] >= 300)
    }

    @Test func urlNormalisationIsIdempotent() {
        var generator = URLCorpusGenerator(seed: 0x9A7B_0002)
        var kinds: [String: Int] = [:]
        for _ in 0 ..< 20_000 {
            let resource = generator.resource()
            kinds[Self.expectCanonical(resource, ResourceNormalizer.normalize(resource)), default: 0] += 1
        }
        #expect(kinds["url", default: 0] >= 5_000)
        #expect(kinds["refused", default: 0] >= 5_000)
    }

    @Test func everyOrdinaryURLIsAcceptedAndCanonical() {
        for url in URLDifferentialTests.ordinaryURLs {
            #expect(Self.expectCanonical(url, ResourceNormalizer.normalize(url)) == "url", "`\(url)`")
        }
    }
}
