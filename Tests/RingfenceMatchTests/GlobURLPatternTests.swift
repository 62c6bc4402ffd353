import Testing
@testable import RingfenceMatch

/// URL resource patterns (SPEC §3.1): matched part by part against canonical URL resources.
@Suite struct GlobURLPatternTests {
    /// Matches `pattern` (as a resource glob) against the canonical form of `resource`.
    static func matches(_ pattern: String, _ resource: String) throws -> Bool {
        let glob = try Glob.compile(pattern, separator: 0x2F)
        guard let text = ResourceNormalizer.normalize(resource).matchText else { return false }
        return glob.matches(text)
    }

    @Test(arguments: [
        ("https://*.example.com/**", "https://files.example.com/a", true),
        ("https://*.example.com/**", "https://a.b.example.com/a", false),
        ("https://*.example.com/**", "https://example.com/a", false),
        ("https://**.example.com/**", "https://a.b.example.com/a", true),
        ("https://**.example.com/**", "https://example.com/", true),
        ("https://*.example.com/**", "https://evil.com#.example.com/", false),
        ("https://*.example.com/**", "https://evil.com?.example.com/", false),
        ("https://api.example.com", "https://api.example.com", true),
        ("https://api.example.com", "https://api.example.com/", true),
        ("https://api.example.com", "https://api.example.com/x", false),
        ("https://api.example.com/**", "https://api.example.com:443/x", true),
        ("https://api.example.com/**", "https://api.example.com:8443/x", false),
        ("https://api.example.com:8443/**", "https://api.example.com:8443/x", true),
        ("https://api.example.com:443/**", "https://api.example.com/x", true),
        ("https://api.example.com:*/**", "https://api.example.com/x", true),
        ("https://api.example.com:*/**", "https://api.example.com:9000/x", true),
        ("HTTPS://API.Example.COM./v1/**", "https://api.example.com/v1/users", true),
        ("http{,s}://api.example.com/**", "http://api.example.com/a", true),
        ("http{,s}://api.example.com/**", "ftp://api.example.com/a", false),
        ("*://api.example.com/**", "wss://api.example.com/a", true),
        ("https://api.example.com/admin/**", "https://api.example.com/admin?x=1", true),
        ("https://api.example.com/admin/**", "https://api.example.com/admin#x", true),
        ("https://api.example.com/v1/*", "https://api.example.com/v1/a/b", false),
        ("http://[0:0::1]:8080/**", "http://[::1]:8080/x", true),
        ("http://[::1]/**", "http://[::1]:8080/x", false),
        ("file:///etc/**", "file:///etc/passwd", true),
        ("file:///etc/**", "file://localhost/etc/passwd", true),
        ("/etc/**", "file:///etc/passwd", false),
        ("https://api.example.com/**", "/api.example.com/x", false),
        ("**", "https://api.example.com/x", true),
    ])
    func urlPatternsMatchByComponent(_ pattern: String, _ resource: String, _ expected: Bool) throws {
        #expect(try Self.matches(pattern, resource) == expected)
    }

    @Test(arguments: [
        ("HTTPS://API.Example.COM./v1/**", "https://api.example.com/v1/**"),
        ("https://api.example.com:443", "https://api.example.com/"),
        ("http://api.example.com:80/x", "http://api.example.com/x"),
        ("https://api.example.com:8443/x", "https://api.example.com:8443/x"),
        ("https://*.Example.com:*/**", "https://*.example.com:*/**"),
        ("http://[0:0::1]/x", "http://[::1]/x"),
        ("/workspace/**", "/workspace/**"),
        ("**", "**"),
    ])
    func patternsAreStoredCanonically(_ pattern: String, _ canonical: String) throws {
        #expect(try Glob.canonicalPattern(pattern, separator: 0x2F) == canonical)
        // The canonical form is a fixed point.
        #expect(try Glob.canonicalPattern(canonical, separator: 0x2F) == canonical)
        // Actions are never URL patterns.
        #expect(try Glob.canonicalPattern(pattern.replacingOccurrences(of: "/", with: "."), separator: 0x2E)
                == pattern.replacingOccurrences(of: "/", with: "."))
    }

    @Test(arguments: [
        ("https://user@api.example.com/**", "userinfo"),
        ("https://api.example.com/a#frag", "fragment"),
        ("https://api.example.com:99999/**", "port"),
        ("https://api.example.com:8x/**", "port"),
        ("https:///x", "needs a host"),
        ("https://127.1/x", "never match"),
        ("http://[1:2:3]/x", "ipv6"),
        ("ht~tp://x.com/", "cannot appear in a url scheme"),
    ])
    func badURLPatternsAreErrors(_ pattern: String, _ fragment: String) {
        do {
            _ = try Glob.compile(pattern, separator: 0x2F)
            Issue.record("`\(pattern)` compiled")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    /// The resource index files a rule under its pattern's literal prefix: it must prefix every
    /// resource the pattern matches, the default port included for `:*`.
    @Test func literalPrefixesPrefixEveryMatch() throws {
        let cases: [(String, [String])] = [
            ("https://api.example.com/v1/**", ["https://api.example.com/v1", "https://api.example.com/v1/x"]),
            ("https://api.example.com:*/v1/**", ["https://api.example.com/v1/x", "https://api.example.com:81/v1/x"]),
            ("https://*.example.com/**", ["https://a.example.com/"]),
        ]
        for (pattern, resources) in cases {
            let glob = try Glob.compile(pattern, separator: 0x2F)
            for resource in resources {
                guard let text = ResourceNormalizer.normalize(resource).matchText else {
                    Issue.record("\(resource) unplaceable")
                    continue
                }
                #expect(glob.matches(text), "\(pattern) vs \(text)")
                #expect(text.utf8.starts(with: glob.literalPrefix), "\(pattern): prefix \(String(decoding: glob.literalPrefix, as: UTF8.self)) vs \(text)")
            }
        }
    }
}
