import Testing
@testable import RingfenceMatch

/// The URL rules of resource normalisation (SPEC §3.1, U1–U12 in ResourceNormalizer.swift), one
/// group of cases per rule.
@Suite struct URLParsingTests {
    /// The normalised form of `resource` as `scheme://host[:port]path`, or `refused: reason`.
    static func reading(_ resource: String) -> String {
        switch ResourceNormalizer.normalize(resource) {
        case .url(let url): url.canonical
        case .path(let text): "path: \(text)"
        case .unplaceable(let reason): "refused: \(reason)"
        }
    }

    /// Attacks on `resources: ["https://*.example.com/**"]` and on a deny of
    /// `https://api.example.com/admin/**`: each is refused or lands on its real host and path.
    @Test(arguments: [
        ("https://evil.com#.example.com/", "https://evil.com/"),
        ("https://evil.com?.example.com/", "https://evil.com/"),
        ("https://evil.com\\.example.com/", "refused: the url has a backslash before its query"),
        ("https://user:pw@evil.com#.example.com/x", "refused: the url has userinfo"),
        ("https://api.example.com/admin?x=1", "https://api.example.com/admin"),
        ("https://api.example.com/admin#x", "https://api.example.com/admin"),
        ("https://api.example.com/v1/..\\admin", "refused: the url has a backslash before its query"),
        ("HTTPS://api.example.com/admin/users", "https://api.example.com/admin/users"),
        ("https://API.example.com/admin/users", "https://api.example.com/admin/users"),
        ("https://api.example.com:443/admin/users", "https://api.example.com/admin/users"),
        ("https://api.example.com./admin/users", "https://api.example.com/admin/users"),
        ("https://api.example.com/v1/%2e%2e/admin/x", "https://api.example.com/admin/x"),
        ("https://api.example.com/%61dmin/x", "https://api.example.com/admin/x"),
        ("https://api.example.com/ad\nmin/x", "refused: the url contains a control character or space"),
        ("https://api.example.com/ad\tmin/x", "refused: the url contains a control character or space"),
        ("https://api.example.com//admin//x", "https://api.example.com/admin/x"),
        ("https://api.example.com/x//../admin/y", "refused: the url's path has `..` after an empty segment"),
        ("https://evil.com%2f.example.com/", "refused: the url's host is not a plain name or address"),
        ("https://evil.com%23.example.com/", "refused: the url's host is not a plain name or address"),
        ("https://evil.com@api.example.com/", "refused: the url has userinfo"),
        ("https://api.example.com@evil.com/", "refused: the url has userinfo"),
        ("https://evil。example.com/", "refused: the url has non-ascii text before its query"),
        ("https://ｅxample.com/", "refused: the url has non-ascii text before its query"),
        ("https:evil.com", "refused: the resource reads as a url but is not written `scheme://host`"),
    ])
    func bypassesAreClosed(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
        if case .url(let url) = ResourceNormalizer.normalize(resource) {
            #expect(!url.host.hasSuffix("example.com") || resource.lowercased().contains("api.example.com"))
        }
    }

    @Test(arguments: [
        ("https://x.com", "https://x.com/"),
        ("https://x.com/", "https://x.com/"),
        ("https://x.com/a/", "https://x.com/a"),
        ("https://x.com/a/b/c/../../d", "https://x.com/a/d"),
        ("https://x.com/a/./b/.", "https://x.com/a/b"),
        ("https://x.com/..", "https://x.com/"),
        ("https://x.com/../../a", "https://x.com/a"),
        ("https://x.com/a/%2E%2e/%2e./b/..", "https://x.com/"),
        ("https://x.com/.%2e/a", "https://x.com/a"),
        ("https://x.com/%41%7e%5F%2d%2E", "https://x.com/A~_-."),
        ("https://x.com/%2f/%2F/%20/%c3%a9", "https://x.com/%2F/%2F/%20/%C3%A9"),
        ("https://x.com/a%2Fb/../c", "https://x.com/c"),
        ("https://x.com/%252e%252e/x", "https://x.com/%252e%252e/x"),
        ("https://x.com/a;b=c/@:!$&'()*+,", "https://x.com/a;b=c/@:!$&'()*+,"),
        ("https://x.com/...", "https://x.com/..."),
        ("https://x.com//", "https://x.com/"),
        ("https://x.com//../a", "https://x.com/a"),
        ("https://x.com/a//b/..", "https://x.com/a"),
        ("https://x.com/a/b//", "https://x.com/a/b"),
    ])
    func pathsAreNormalised(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        ("https://x.com/%zz", "refused: the url's path has an invalid percent escape"),
        ("https://x.com/%4", "refused: the url's path has an invalid percent escape"),
        ("https://x.com/a%", "refused: the url's path has an invalid percent escape"),
        ("https://x.com/%00", "refused: the url's path has an escaped nul byte"),
        ("https://x.com/admin%00/x", "refused: the url's path has an escaped nul byte"),
        ("https://x.com/a b", "refused: the url contains a control character or space"),
        ("https://x.com/café", "refused: the url has non-ascii text before its query"),
        ("https://x.com/a|b", "refused: the url's path has a character outside rfc 3986"),
        ("https://x.com/[x]", "refused: the url's path has a character outside rfc 3986"),
        ("https://x.com/{x}", "refused: the url's path has a character outside rfc 3986"),
        ("https://x.com/a^b", "refused: the url's path has a character outside rfc 3986"),
        ("https://x.com/a\"b", "refused: the url's path has a character outside rfc 3986"),
        ("https://x.com/a`b", "refused: the url's path has a character outside rfc 3986"),
        ("https://x.com/a\u{7F}", "refused: the url contains a control character or space"),
        ("https://x.com/a/b//../c", "refused: the url's path has `..` after an empty segment"),
        ("https://x.com/a//./../c", "refused: the url's path has `..` after an empty segment"),
    ])
    func badPathsAreRefused(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test func percentEscapesOfReservedCharactersAreUpperCased() {
        #expect(Self.reading("https://x.com/%2e%2e%2f%3f%23") == "https://x.com/..%2F%3F%23")
    }

    @Test(arguments: [
        ("https://x.com/a?q=1&r=/../é", "a", "q=1&r=/../é", nil),
        ("https://x.com/a?", "a", "", nil),
        ("https://x.com/a#", "a", nil, ""),
        ("https://x.com/a?q#f?g#h", "a", "q", "f?g#h"),
        ("https://x.com/a#f?g", "a", nil, "f?g"),
        ("https://x.com?q\\x#f\\y", "", "q\\x", "f\\y"),
    ] as [(String, String, String?, String?)])
    func queryAndFragmentAreKeptVerbatim(_ resource: String, _ lastSegment: String, _ query: String?, _ fragment: String?) {
        guard case .url(let url) = ResourceNormalizer.normalize(resource) else {
            Issue.record("`\(resource)` is not read as a URL")
            return
        }
        #expect(url.path == "/" + lastSegment)
        #expect(url.query == query)
        #expect(url.fragment == fragment)
    }

    @Test(arguments: ["https://x.com/a?q=a b", "https://x.com/a?q=\t", "https://x.com/a#x\ny", "https://x.com/a#\u{0}"])
    func controlsAndSpacesAreRefusedInQueryAndFragment(_ resource: String) {
        #expect(Self.reading(resource) == "refused: the url contains a control character or space")
    }

    @Test(arguments: [
        ("HtTpS://x.com/", "https://x.com/"),
        ("GIT+SSH://x.com/r", "git+ssh://x.com/r"),
        ("s3.x-y+z://bucket/k", "s3.x-y+z://bucket/k"),
    ])
    func schemesAreLowerCased(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        ("https://Example.COM/", "https://example.com/"),
        ("https://example.com./", "https://example.com/"),
        ("https://my_host-1.example.com/", "https://my_host-1.example.com/"),
        ("https://-a-.com/", "https://-a-.com/"),
        ("s3://Bucket/k", "s3://bucket/k"),
        ("https://1.2.3.4x/", "https://1.2.3.4x/"),
        ("https://0x1g.com/", "https://0x1g.com/"),
        ("https://example.com../", "refused: the url's host has an empty label"),
        ("https://a..b/", "refused: the url's host has an empty label"),
        ("https://.a/", "refused: the url's host has an empty label"),
        ("https://./", "refused: the url's host has an empty label"),
        ("https:///x", "refused: the url's host is empty"),
        ("https://:443/x", "refused: the url's host is empty"),
        ("s3:///key", "refused: the url's host is empty"),
        ("https://ex%61mple.com/", "refused: the url's host is not a plain name or address"),
        ("https://a+b.com/", "refused: the url's host is not a plain name or address"),
        ("https://a*b.com/", "refused: the url's host is not a plain name or address"),
        ("https://exämple.com/", "refused: the url has non-ascii text before its query"),
        ("https://xn--bcher-kva.example/", "refused: the url's host has an `xn--` label"),
        ("https://a.XN--abc.com/", "refused: the url's host has an `xn--` label"),
    ])
    func hostNames(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        ("https://127.0.0.1/", "https://127.0.0.1/"),
        ("https://0.0.0.0/", "https://0.0.0.0/"),
        ("https://255.255.255.255/", "https://255.255.255.255/"),
        ("https://1.2.3.4./", "https://1.2.3.4/"),
        ("s3://10.0.0.1/k", "s3://10.0.0.1/k"),
        ("https://0x7f.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://127.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://0177.0.0.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://2130706433/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://0x7F000001/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://256.1.1.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://01.2.3.4/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://1.2.3.4.5/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://a.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://example.0x/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://0X.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("https://09.1.1.1/", "refused: the url's host is an ipv4 address not written as a dotted quad"),
        ("s3://127.1/k", "refused: the url's host is an ipv4 address not written as a dotted quad"),
    ])
    func ipv4Hosts(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        ("https://[::1]/", "https://[::1]/"),
        ("https://[0:0:0:0:0:0:0:1]:8080/", "https://[::1]:8080/"),
        ("https://[::]/", "https://[::]/"),
        ("https://[2001:DB8:0:0:1:0:0:1]/", "https://[2001:db8::1:0:0:1]/"),
        ("https://[1:0:0:2:0:0:0:3]/", "https://[1:0:0:2::3]/"),
        ("https://[1:0:2:3:4:5:6:7]/", "https://[1:0:2:3:4:5:6:7]/"),
        ("https://[0001:0db8::0000:0001]/", "https://[1:db8::1]/"),
        ("https://[1::]/", "https://[1::]/"),
        ("https://[1:2:3:4:5:6:7::]/", "https://[1:2:3:4:5:6:7:0]/"),
        ("https://[::1:2:3:4:5:6:7]/", "https://[0:1:2:3:4:5:6:7]/"),
        ("https://[::ffff:1.2.3.4]/", "https://[::ffff:102:304]/"),
        ("https://[::1.2.3.4]/", "https://[::102:304]/"),
        ("https://[1:2:3:4:5:6:1.2.3.4]/", "https://[1:2:3:4:5:6:102:304]/"),
        ("https://[::1]:443/", "https://[::1]/"),
        ("https://[::1]:/", "https://[::1]/"),
        ("https://[1::2::3]/", "refused: the url's ipv6 address is invalid"),
        ("https://[12345::]/", "refused: the url's ipv6 address is invalid"),
        ("https://[1:2:3:4:5:6:7:8:9]/", "refused: the url's ipv6 address is invalid"),
        ("https://[1:2:3:4:5:6:7:8::]/", "refused: the url's ipv6 address is invalid"),
        ("https://[:1]/", "refused: the url's ipv6 address is invalid"),
        ("https://[1:]/", "refused: the url's ipv6 address is invalid"),
        ("https://[1:::2]/", "refused: the url's ipv6 address is invalid"),
        ("https://[1.2.3.4]/", "refused: the url's ipv6 address is invalid"),
        ("https://[::01.2.3.4]/", "refused: the url's ipv6 address is invalid"),
        ("https://[::1.2.3]/", "refused: the url's ipv6 address is invalid"),
        ("https://[::1.2.3.4:5]/", "refused: the url's ipv6 address is invalid"),
        ("https://[1:2:3:4:5:6:7:1.2.3.4]/", "refused: the url's ipv6 address is invalid"),
        ("https://[]/", "refused: the url's ipv6 address is invalid"),
        ("https://[::1/", "refused: the url's ipv6 address is invalid"),
        ("https://[fe80::1%25eth0]/", "refused: the url's host is not a plain name or address"),
        ("https://[v1.x]/", "refused: the url's host is not a plain name or address"),
        ("https://[::1]x/", "refused: the url's host is not a plain name or address"),
        ("https://[::1]]/", "refused: the url's host is not a plain name or address"),
        ("https://::1]/", "refused: the url's port is invalid"),
        ("https://[::1]:80:90/", "refused: the url's port is invalid"),
    ])
    func ipv6Hosts(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        ("https://x.com:8443/", "https://x.com:8443/"),
        ("https://x.com:/", "https://x.com/"),
        ("https://x.com:0443/", "https://x.com/"),
        ("https://x.com:000000000000443/", "https://x.com/"),
        ("https://x.com:80/", "https://x.com:80/"),
        ("http://x.com:80/", "http://x.com/"),
        ("ws://x.com:80/", "ws://x.com/"),
        ("wss://x.com:443/", "wss://x.com/"),
        ("ftp://x.com:21/", "ftp://x.com/"),
        ("s3://x.com:443/", "s3://x.com:443/"),
        ("https://x.com:0/", "https://x.com:0/"),
        ("https://x.com:65535/", "https://x.com:65535/"),
        ("https://x.com:65536/", "refused: the url's port is invalid"),
        ("https://x.com:99999999999999999999999/", "refused: the url's port is invalid"),
        ("https://x.com:-1/", "refused: the url's port is invalid"),
        ("https://x.com:+80/", "refused: the url's port is invalid"),
        ("https://x.com:8a/", "refused: the url's port is invalid"),
        ("https://x.com::80/", "refused: the url's port is invalid"),
        ("https://x.com:80:90/", "refused: the url's port is invalid"),
        ("https://x.com: 80/", "refused: the url contains a control character or space"),
    ])
    func ports(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("FILE:///etc/../etc/passwd", "file:///etc/passwd"),
        ("file://localhost/etc/passwd", "file:///etc/passwd"),
        ("file://LOCALHOST/etc/passwd", "file:///etc/passwd"),
        ("file://server/share/x", "file://server/share/x"),
        ("file://", "file:///"),
        ("file:///../x", "file:///x"),
        ("file:///C:/x", "refused: the file url's path names a drive letter"),
        ("file:///c:", "refused: the file url's path names a drive letter"),
        ("file://localhost/%43:/x", "refused: the file url's path names a drive letter"),
        ("file://server/C:/x", "refused: the file url's path names a drive letter"),
        ("file://C:/x", "refused: the file url has a port or a drive letter in its authority"),
        ("file://localhost:80/x", "refused: the file url has a port or a drive letter in its authority"),
        ("file://localhost:/x", "refused: the file url has a port or a drive letter in its authority"),
        ("file://localhost./x", "refused: the file url's host ends with a dot"),
        ("file://user@host/x", "refused: the url has userinfo"),
        ("s3:///C:/x", "refused: the url's host is empty"),
        ("s3://b/C:/x", "s3://b/C:/x"),
    ])
    func fileURLs(_ resource: String, _ expected: String) {
        #expect(Self.reading(resource) == expected)
    }

    @Test(arguments: [
        "https://x.com/\u{0}", "https://x.com/\u{1F}", "https://x .com/", "https://x.com\t/", "https://x.com/a\r",
    ])
    func controlsAndSpacesAreRefusedBeforeTheQuery(_ resource: String) {
        #expect(Self.reading(resource) == "refused: the url contains a control character or space")
    }

    @Test func byteSetsHoldExactlyTheirCharacters() {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let path = unreserved.union("!$&'()*+,;=:@".utf8)
        let host = unreserved.subtracting("~".utf8)
        for value in 0 ... 255 {
            let byte = UInt8(value)
            #expect(ByteClass.unreserved.contains(byte) == unreserved.contains(byte), "byte \(value)")
            #expect(ByteClass.pathBytes.contains(byte) == path.contains(byte), "byte \(value)")
            #expect(ByteClass.hostBytes.contains(byte) == host.contains(byte), "byte \(value)")
        }
    }

    @Test func componentsOfACanonicalURL() {
        let url = ResourceURL(scheme: "https", host: "[::1]", port: 8443, path: "/a", query: "q", fragment: "f")
        #expect(url.canonical == "https://[::1]:8443/a")
        #expect(ResourceNormalizer.normalize("https://[::1]:8443/a?q#f") == .url(url))
    }
}
