import Foundation
import Ringfence
import RingfenceSyntax

/// Writes the fuzzers' seed corpora from the project's own fixtures: requests from
/// `examples/requests` and every test case, policies from `policies/`, `examples/broken` and the
/// test fixtures, resources from the requests plus hand-picked edge cases, and bundles compiled
/// from the policies (whole, and as content for the bundle fuzzer's re-hashing mode).
///
/// Usage: `fuzz-seeds REPO_ROOT OUT_DIR [request|policy|normalizer|bundle]…` (all four by default).
@main enum SeedCorpus {
    /// Reads the command line and writes the requested corpora.
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            FileHandle.standardError.write(Data("usage: fuzz-seeds REPO_ROOT OUT_DIR [request|policy|normalizer|bundle]…\n".utf8))
            exit(2)
        }
        let seeds = SeedSources(root: URL(fileURLWithPath: arguments[1]))
        let out = URL(fileURLWithPath: arguments[2])
        let targets = arguments.count > 3 ? Array(arguments[3...]) : ["request", "policy", "normalizer", "bundle"]
        for target in targets {
            let files: [(String, [UInt8])]
            switch target {
            case "request": files = try seeds.requests()
            case "policy": files = try seeds.policies()
            case "normalizer": files = try seeds.resources()
            case "bundle": files = try seeds.bundles()
            default:
                FileHandle.standardError.write(Data("error: unknown target `\(target)`\n".utf8))
                exit(2)
            }
            let folder = out.appendingPathComponent(target)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (name, bytes) in files { try Data(bytes).write(to: folder.appendingPathComponent(name)) }
            print("\(target): \(files.count) seeds in \(folder.path)")
        }
    }
}

/// Reads the repository's fixtures and turns them into named seed files.
struct SeedSources {
    /// The repository root.
    let root: URL

    /// Policy folders and files whose YAML documents seed the policy fuzzer.
    static let policyFolders = ["policies", "examples/broken", "Tests/Fixtures/check", "Tests/Fixtures/golden",
                                "Tests/Fixtures/dialects", "Tests/Fixtures/sagas"]

    /// Fixtures holding test cases (each with a `request`) and, for the evaluation corpus, policies.
    static let caseFolders = ["Tests/Fixtures/eval", "policies/tests"]

    /// Resources that stress normalisation: dot segments, escapes, URLs with ports, userinfo,
    /// IPv6 hosts, queries and fragments, odd schemes, and text that only looks like a path.
    static let edgeResources = [
        "", "/", ".", "..", "./", "../a", "a/../..", "/..", "/../..", "//", "///a//b//", "/a/./b/../c/", "a/b/../../..",
        "/workspace/%2e%2e/etc", "/workspace/%2E%2e/%2f", "https://h/%2e%2e/%2E./x", "https://h/a/%2%41/%/x",
        "https://API.Example.COM:443/v1/../v2/?q=/../#/..", "http://user:pw@h/a", "HTTP://h:80", "https://h:65536/x",
        "https://[::1]:8080/a/b/..", "https://[::1/x", "file:///etc/passwd", "file://host/a/../b", "s3://bucket/key/../k2",
        "a+b.c-d://x/y", "1http://x/y", "https:/one-slash/a", "https:///no-host/a", "https://h?q", "https://h#f",
        "https://h./a", "https://xn--bcher-kva.example/a", "https://h/\u{0}/a", "https://h/é/%C3%A9", "mailto:a@b/c",
        "C:\\Windows\\..\\x", "/a\\..\\b", "users:42", "sales_db", "/a/b;c=d/../e", String(repeating: "../", count: 50),
        "/" + String(repeating: "a/", count: 200), "https://h/" + String(repeating: "%2e%2e/", count: 40),
    ]

    /// Hand-written requests for decoder paths the fixtures do not reach: escapes, numbers,
    /// a byte-order mark, nulls for optional fields, deep nesting and JSON Lines.
    static let edgeRequests = [
        #"{"agent":{"id":"a\u00e9\ud83d\ude00\n\"\\\/","trust":1e-1,"ring":0,"consensus":true,"roles":["r"],"attrs":{"k":[1,-2.5e+3,null,true,{}]}},"action":"x","resource":null,"params":{"a":{"b":[[]]}},"context":{"time":"2026-11-21T10:00:00Z"}}"#,
        "\u{FEFF}{\"agent\":{\"id\":\"a\"},\"action\":\"fs.read\",\"resource\":\"/workspace/a\"}",
        #"{"agent":{"id":"a","trust":null,"ring":null},"action":"fs.read","params":null,"context":null}"#,
        #"{"agent":{"id":"a"},"action":"x","params":{"p":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}"#,
        "{\"agent\":{\"id\":\"a\"},\"action\":\"x\"}\n{\"agent\":{\"id\":\"b\"},\"action\":\"y\"}\n",
        #"{"agent":{"id":"a","trust":1.0000000000000002},"action":"x"}"#,
        #"{"agent":{"id":"a","ring":3.0},"action":"x","params":{"n":-0,"m":123456789012345678901234567890}}"#,
        #"[{"agent":{"id":"a"},"action":"x"}]"#, "null", "\"x\"", "{}", "{\"agent\":{}}",
    ]

    /// Every `*.yaml`/`*.yml` file below `folder` (relative to the root), sorted.
    func yamlFiles(below folder: String) -> [URL] {
        let base = root.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }
            .filter { ["yaml", "yml"].contains($0.pathExtension) }
            .sorted { $0.path < $1.path }
    }

    /// `url`'s path below the root, with `/` turned into `_`, for a seed file name.
    func seedName(_ url: URL, prefix: String = "") -> String {
        let relative = url.path.hasPrefix(root.path + "/") ? String(url.path.dropFirst(root.path.count + 1)) : url.lastPathComponent
        let fixtures = "Tests/Fixtures/"
        let short = relative.hasPrefix(fixtures) ? "fixtures/" + relative.dropFirst(fixtures.count) : relative
        return prefix + short.replacingOccurrences(of: "/", with: "_")
    }

    /// The parsed YAML document of `url`, when it loads.
    func yaml(_ url: URL) throws -> YAMLNode? {
        YAMLLoader.load(bytes: Array(try Data(contentsOf: url)), file: url.path).document
    }

    /// The policy texts embedded in the evaluation corpus (`policies:` lists of strings), per file.
    func embeddedPolicies() throws -> [(name: String, texts: [String])] {
        try yamlFiles(below: Self.caseFolders[0]).compactMap { url in
            let texts = try yaml(url)?["policies"]?.sequence?.compactMap { node -> String? in
                if case .string(let text)? = node.scalar?.value { return text }
                return nil
            } ?? []
            return texts.isEmpty ? nil : (seedName(url), texts)
        }
    }

    /// Every test case's request as JSON (re-encoded when it decodes, else as written), in order.
    func caseRequests() throws -> [(name: String, json: String)] {
        var out: [(String, String)] = []
        for folder in Self.caseFolders {
            for url in yamlFiles(below: folder) {
                for (index, item) in (try yaml(url)?["cases"]?.sequence ?? []).enumerated() {
                    guard let node = item["request"] else { continue }
                    let value = Value(yaml: node)
                    let json = (try? Request(value: value))?.jsonText ?? value.jsonText
                    out.append(("\(seedName(url))-\(index).json", json))
                }
            }
        }
        return out
    }

    /// Request seeds: the example JSON Lines, every case request and the edge cases.
    func requests() throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        let lines = try String(contentsOf: root.appendingPathComponent("examples/requests/mixed.jsonl"), encoding: .utf8)
        for (index, line) in lines.split(separator: "\n").enumerated() { out.append(("example-\(index).json", Array(line.utf8))) }
        out += try caseRequests().map { ($0.name, Array($0.json.utf8)) }
        out += Self.edgeRequests.enumerated().map { ("edge-\($0.offset).json", Array($0.element.utf8)) }
        return unique(out)
    }

    /// Policy seeds: every policy-like YAML file and the evaluation corpus's embedded policies.
    func policies() throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for folder in Self.policyFolders {
            for url in yamlFiles(below: folder) { out.append((seedName(url), Array(try Data(contentsOf: url)))) }
        }
        for (name, texts) in try embeddedPolicies() {
            for (index, text) in texts.enumerated() { out.append(("\(name)-policy-\(index).yaml", Array(text.utf8))) }
        }
        return unique(out)
    }

    /// Resource seeds: every resource in a case request or the example requests, and the edge cases.
    func resources() throws -> [(String, [UInt8])] {
        var texts = Self.edgeResources
        for (_, json) in try caseRequests() {
            if let resource = (try? Request(json: json))?.resource { texts.append(resource) }
        }
        let lines = try String(contentsOf: root.appendingPathComponent("examples/requests/mixed.jsonl"), encoding: .utf8)
        for line in lines.split(separator: "\n") {
            if let resource = (try? Request(json: String(line)))?.resource { texts.append(resource) }
        }
        return unique(texts.enumerated().map { ("resource-\($0.offset)", Array($0.element.utf8)) })
    }

    /// Bundle seeds: each policy file of `policies/` and the golden fixtures alone, `policies/`
    /// whole, and each evaluation corpus's policies; each as a whole bundle and as its content
    /// (which the bundle fuzzer wraps in a fresh header and checksum).
    func bundles() throws -> [(String, [UInt8])] {
        var programs: [(String, Program)] = []
        let singles = yamlFiles(below: "policies").filter { !$0.path.contains("/tests/") }
            + yamlFiles(below: "Tests/Fixtures/golden")
        for url in singles {
            if let program = Compiler.compile(paths: [url.path]).program { programs.append((seedName(url, prefix: "policy-"), program)) }
        }
        if let program = Compiler.compile(paths: singles.filter { $0.path.hasPrefix(root.appendingPathComponent("policies").path) }.map(\.path)).program {
            programs.append(("policies-all", program))
        }
        for (name, texts) in try embeddedPolicies() {
            let sources = texts.enumerated().map { (path: "\(name)-\($0.offset).yaml", text: $0.element) }
            if let program = Compiler.compile(sources: sources).program { programs.append(("eval-" + name, program)) }
        }
        var out: [(String, [UInt8])] = []
        for (name, program) in programs {
            let bundle = RingfenceBytecode.Bundle.encode(program)
            out.append(("raw-\(name)", bundle))
            out.append(("content-\(name)", Array(bundle[RingfenceBytecode.Bundle.headerSize ..< bundle.count - 32])))
        }
        return unique(out)
    }

    /// `files` without repeated contents (the first name wins).
    func unique(_ files: [(String, [UInt8])]) -> [(String, [UInt8])] {
        var seen = Set<[UInt8]>()
        return files.filter { seen.insert($0.1).inserted }
    }
}

/// The package is built with `-sanitize=fuzzer`, which links libFuzzer's own `main` object into
/// every program (this one's `main` takes precedence) and that object names this symbol; this
/// program never fuzzes, so the test accepts every input.
@_cdecl("LLVMFuzzerTestOneInput")
public func seedCorpusTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { 0 }
