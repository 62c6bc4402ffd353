import Testing
@testable import RingfenceMatch

@Suite struct NormalizationTests {
    @Test(arguments: [
        // paths
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
        ("/a/...", "/a/..."),
        ("/a/..b/c", "/a/..b/c"),
        ("/a/%2e%2e/b", "/a/%2e%2e/b"),
        ("/café/./x", "/café/x"),
        ("a/b", "a/b"),
        ("a/./b/", "a/b"),
        ("./a", "a"),
        ("a/..", "."),
        ("./", "."),
        ("a/b/../c", "a/c"),
        // opaque names
        ("sales_db", "sales_db"),
        ("users:42", "users:42"),
        ("..", ".."),
        ("", ""),
        // URLs
        ("https://api.example.com/v1/../v2/x?q=/../y", "https://api.example.com/v2/x?q=/../y"),
        ("http://h/a/%2E/b", "http://h/a/b"),
        ("https://x.com", "https://x.com"),
        ("https://x.com/", "https://x.com/"),
        ("https://x.com/a/", "https://x.com/a"),
        ("https://x.com//a//b", "https://x.com/a/b"),
        ("https://x.com/a/..", "https://x.com/"),
        ("HTTPS://User@Example.COM:8443/A/./B", "HTTPS://User@Example.COM:8443/A/B"),
        ("https://x.com?q=/../..", "https://x.com?q=/../.."),
        ("https://x.com/a/b#frag/../x", "https://x.com/a/b#frag/../x"),
        ("https://x.com/a/../b?x#y", "https://x.com/b?x#y"),
        ("https://x.com/%41%7e%5F/%2F/%2f/%20", "https://x.com/A~_/%2F/%2f/%20"),
        ("https://x.com/a%2Fb/../c", "https://x.com/c"),
        ("https://x.com/%zz/%4", "https://x.com/%zz/%4"),
        ("file:///etc/../tmp/x", "file:///tmp/x"),
        ("s3+x.y-z://bucket/k/./v", "s3+x.y-z://bucket/k/v"),
        ("1http://h/a/../b", "1http:/h/b"),
    ])
    func normalizes(_ input: String, _ expected: String) {
        #expect(ResourceNormalizer.normalize(input) == .path(expected))
    }

    @Test(arguments: [
        ("/../etc", "/etc"),
        ("/..", "/"),
        ("/a/../../b", "/b"),
        ("https://h/%2e%2e/x", "https://h/x"),
        ("https://h/..", "https://h/"),
        ("https://h/a/%2E%2e/%2e./b/..", "https://h/"),
        ("file:///../x", "file:///x"),
    ])
    func dotDotAtTheRootStaysAtTheRoot(_ input: String, _ expected: String) {
        #expect(ResourceNormalizer.normalize(input) == .path(expected))
    }

    @Test(arguments: [
        "a/../../b",
        "..//x",
        "../",
    ])
    func climbsAboveRoot(_ input: String) {
        #expect(ResourceNormalizer.normalize(input) == .unplaceable(reason: "the path climbs above its root"))
    }
}
