import Testing
@testable import RingfenceMatch

/// Resource normalisation of paths and names (SPEC §3.1, rules P0–P3 in ResourceNormalizer.swift),
/// and the shape of URL results.
@Suite struct NormalizationTests {
    @Test(arguments: [
        // absolute paths
        ("/workspace/./data//a/../b.csv", "/workspace/data/b.csv"),
        ("/workspace/../etc/passwd", "/etc/passwd"),
        ("/a/b/", "/a/b"),
        ("/", "/"),
        ("//", "/"),
        ("/./", "/"),
        ("/a/..", "/"),
        ("/a/b/../..", "/"),
        ("///a///b", "/a/b"),
        ("/a/./././b/.", "/a/b"),
        ("/a//../b", "/b"),
        ("/a/...", "/a/..."),
        ("/a/..b/c", "/a/..b/c"),
        ("/a/%2e%2e/b", "/a/%2e%2e/b"),
        ("/a/%2F/b", "/a/%2F/b"),
        ("/café/./x", "/café/x"),
        ("/a\\..\\b", "/a\\..\\b"),
        // relative paths
        ("a/b", "a/b"),
        ("a/./b/", "a/b"),
        ("./a", "a"),
        ("a/..", "."),
        ("./", "."),
        ("a/b/../c", "a/c"),
        ("a//b", "a/b"),
        // names and other resources without a URL's `scheme://`
        ("sales_db", "sales_db"),
        ("users:42", "users:42"),
        ("..", ".."),
        (".", "."),
        ("", ""),
        ("urn:isbn:0451450523", "urn:isbn:0451450523"),
        ("s3:/bucket/./key", "s3:/bucket/key"),
        ("C:/x/../y", "C:/y"),
        ("1http://h/a/../b", "1http:/h/b"),
        ("//workspace//a", "/workspace/a"),
    ])
    func normalizesPaths(_ input: String, _ expected: String) {
        #expect(ResourceNormalizer.normalize(input) == .path(expected))
    }

    @Test(arguments: [
        ("/../etc", "/etc"),
        ("/..", "/"),
        ("/a/../../b", "/b"),
        ("/../../../x/./y", "/x/y"),
    ])
    func dotDotAtTheRootStaysAtTheRoot(_ input: String, _ expected: String) {
        #expect(ResourceNormalizer.normalize(input) == .path(expected))
    }

    @Test(arguments: ["a/../../b", "..//x", "../", "a/b/../../..", "./../x"])
    func relativePathsClimbingAboveTheirStartAreRefused(_ input: String) {
        #expect(ResourceNormalizer.normalize(input) == .unplaceable(reason: "the path climbs above its root"))
    }

    @Test(arguments: ["/etc/pass\u{0}wd", "\u{0}", "name\u{0}", "a/\u{0}/.."])
    func nulIsRefused(_ input: String) {
        #expect(ResourceNormalizer.normalize(input) == .unplaceable(reason: "the path contains a nul byte"))
    }

    @Test(arguments: [
        " https://evil.com/x", "\thttps://evil.com", "\u{0}http://evil.com", "ht\ttps://evil.com", "htt\nps://evil.com",
        "https:evil.com", "https:/evil.com", "HTTPS:\\\\evil.com", "http:\\/evil.com", "file:C:/x", "FTP:x", "wss:",
        " s3://bucket/key", "s3:/\t/bucket", "\ngit+ssh://h/x",
    ])
    func resourcesBrowsersReadAsURLsAreRefused(_ input: String) {
        #expect(ResourceNormalizer.normalize(input)
            == .unplaceable(reason: "the resource reads as a url but is not written `scheme://host`"))
    }

    @Test func canonicalPathsAreReturnedAsGiven() {
        for path in ["/workspace/data/sales.csv", "docs/a.md", "/", "name", "/a/b c/d", "/x/%2e"] {
            #expect(ResourceNormalizer.normalize(path) == .path(path))
        }
    }

    @Test func urlsAreParsedIntoComponents() {
        let result = ResourceNormalizer.normalize("HTTPS://API.Example.com:8443/v1/../v2/x?q=/../y#frag/../x")
        #expect(result == .url(ResourceURL(
            scheme: "https", host: "api.example.com", port: 8443, path: "/v2/x", query: "q=/../y", fragment: "frag/../x")))
        #expect(result.matchText == "https://api.example.com:8443/v2/x")
    }
}
