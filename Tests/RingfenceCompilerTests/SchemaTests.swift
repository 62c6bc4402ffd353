import Foundation
import Ringfence
import RingfenceSyntax
import Testing
import RingfenceTestSupport

/// The JSON Schemas in `schemas/`: every bundled YAML file validated against its schema by
/// python3's `jsonschema` (a missing validator fails, never skips), and the schemas reject what
/// `check` rejects (the commands' `SchemaTests` hold `ringfence schema` to the files).
@Suite struct SchemaTests {
    /// `schemas/` in the source tree.
    static let schemasDirectory = Repository.url("schemas")

    /// The kinds with a file in `schemas/` (the commands' `SchemaTests` keep them equal to
    /// `ringfence schema`'s).
    static func kinds() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: schemasDirectory.path).filter { $0.hasSuffix(".schema.json") }
            .map { String($0.dropLast(".schema.json".count)) }.sorted()
    }

    /// A YAML tree as JSON text (core-schema scalars become JSON scalars).
    static func json(_ node: YAMLNode) -> String {
        switch node.content {
        case .scalar(let scalar):
            switch scalar.value {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .integer(let i): return String(i)
            case .float(let x): return JSONText.number(x)
            case .string(let text): return JSONText.quote(text)
            }
        case .sequence(let items):
            return "[" + items.map(json).joined(separator: ",") + "]"
        case .mapping(let pairs):
            return "{" + pairs.map { JSONText.quote($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// The schema a document is checked against: by `kind`, or `saga` for a seed saga; nil for
    /// seed-dialect policies, which have no schema.
    static func schemaKind(of root: YAMLNode) -> String? {
        if root["ringfence"] != nil { return root["kind"]?.stringValue }
        if root["steps"] != nil, root["session_id"] != nil { return "saga" }
        return nil
    }

    /// Validates each `(json, schema kind, should pass)` with python3's `jsonschema` and returns
    /// the lines the validator printed for documents that did not do what was expected.
    static func validate(_ documents: [(name: String, json: String, kind: String, valid: Bool)]) throws -> [String] {
        let directory = try Scratch("schemas")
        var manifest: [String] = []
        for (index, document) in documents.enumerated() {
            let path = directory.url("\(index).json").path
            try Data(document.json.utf8).write(to: URL(fileURLWithPath: path))
            let schema = schemasDirectory.appendingPathComponent("\(document.kind).schema.json").path
            manifest.append("[\(JSONText.quote(document.name)), \(JSONText.quote(path)), \(JSONText.quote(schema)), \(document.valid ? "true" : "false")]")
        }
        let manifestPath = directory.url("manifest.json").path
        try Data(("[" + manifest.joined(separator: ",") + "]").utf8).write(to: URL(fileURLWithPath: manifestPath))
        let script = """
            import json, sys
            try:
                import jsonschema
            except ImportError:
                print("python3 has no `jsonschema` module: install it (pip install jsonschema or apt-get install python3-jsonschema)")
                sys.exit(3)
            problems = 0
            for name, path, schema_path, valid in json.load(open(sys.argv[1])):
                schema = json.load(open(schema_path))
                jsonschema.Draft7Validator.check_schema(schema)
                errors = list(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(path))))
                if valid and errors:
                    problems += 1
                    for e in errors:
                        print(f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
                if not valid and not errors:
                    problems += 1
                    print(f"{name}: the schema accepts it but should not")
            sys.exit(1 if problems else 0)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, manifestPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            Issue.record("cannot run python3 to validate the schemas (install python3 and python3-jsonschema): \(error)")
            return []
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if process.terminationStatus == 127 {
            Issue.record("python3 is not installed; the schema test needs python3 with the `jsonschema` module")
        } else if process.terminationStatus == 3 {
            Issue.record(Comment(rawValue: text))
        } else if process.terminationStatus != 0, text.isEmpty {
            Issue.record("the schema validator exited with status \(process.terminationStatus)")
        }
        return text.split(separator: "\n").map(String.init)
    }

    @Test func bundledFilesMatchTheirSchemas() throws {
        let root = Repository.root
        let (files, _) = SourceLoader.expand([root.appendingPathComponent("policies").path, root.appendingPathComponent("examples/runtime").path,
                                              root.appendingPathComponent("examples/sagas").path])
        var documents: [(name: String, json: String, kind: String, valid: Bool)] = []
        var kinds: Set<String> = []
        let schemaKinds = try Self.kinds()
        for file in files {
            let loaded = YAMLLoader.load(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: file))), file: file)
            let document = try #require(loaded.document, "\(file) is not valid YAML")
            // Seed-dialect policies (SPEC §6) have no schema of their own.
            guard let kind = Self.schemaKind(of: document), schemaKinds.contains(kind) else { continue }
            documents.append((file, Self.json(document), kind, true))
            kinds.insert(kind)
        }
        #expect(kinds.isSuperset(of: ["policy", "tests", "runtime"]))
        let problems = try Self.validate(documents)
        #expect(problems == [])
    }

    @Test func schemasRejectWhatCheckRejects() throws {
        let policy = "ringfence: 1\nkind: policy\nname: p\nrules:\n  - id: r\n    effect: allow\n    action: a\n"
        let tests = "ringfence: 1\nkind: tests\npolicies: [p.yaml]\ncases:\n  - name: c\n    request: { agent: { id: a }, action: fs.read }\n    expect: allow\n"
        let runtime = "ringfence: 1\nkind: runtime\n"
        let saga = "name: s\nsession_id: x\nsteps:\n  - { id: a, action_id: x, agent: g, undo_api: u }\n  - { id: b, action_id: y, agent: g, depends_on: [a] }\n"
        func document(_ text: String) throws -> String {
            Self.json(try #require(YAMLLoader.load(text: text, file: "x.yaml").document))
        }
        let cases: [(String, String, String, Bool)] = [
            ("policy", policy, "policy", true),
            ("policy typo", policy.replacingOccurrences(of: "effect", with: "efect"), "policy", false),
            ("policy bad ring", policy + "    ring: 4\n", "policy", false),
            ("policy limit on deny", policy.replacingOccurrences(of: "allow", with: "deny") + "    limit: 5/hour\n", "policy", false),
            ("policy action and actions", policy + "    actions: [b]\n", "policy", false),
            ("policy bad limit", policy + "    limit: 5 per hour\n", "policy", false),
            ("tests", tests, "tests", true),
            ("tests bad expect", tests.replacingOccurrences(of: "expect: allow", with: "expect: alow"), "tests", false),
            ("tests bad code", tests + "    code: deny-rule\n", "tests", false),
            ("tests request without agent", tests.replacingOccurrences(of: "agent: { id: a }, ", with: ""), "tests", false),
            ("tests request trust out of range", tests.replacingOccurrences(of: "{ id: a }", with: "{ id: a, trust: 2 }"), "tests", false),
            ("saga", saga, "saga", true),
            ("saga native", "ringfence: 1\nkind: saga\n" + saga + "retry: { backoff: exponential, initial: 1, max: 30 }\n", "saga", true),
            ("saga retry in seed file", saga + "retry: { initial: 1 }\n", "saga", false),
            ("saga native with durations, base url and concurrency", "ringfence: 1\nkind: saga\n" + saga.replacingOccurrences(of: "undo_api: u", with: "undo_api: u, timeout: 500ms")
                + "retry: { initial: 200ms, max: 2 }\nbase_url: https://api.example.com/v1\nmax_concurrency: 8\n", "saga", true),
            ("saga base url in seed file", saga + "base_url: https://api.example.com\n", "saga", false),
            ("saga base url not http", "ringfence: 1\nkind: saga\n" + saga + "base_url: ftp://h/x\n", "saga", false),
            ("saga concurrency above 64", "ringfence: 1\nkind: saga\n" + saga + "max_concurrency: 65\n", "saga", false),
            ("saga malformed timeout", saga.replacingOccurrences(of: "undo_api: u", with: "undo_api: u, timeout: soon"), "saga", false),
            ("saga one branch", saga + "fan_out: [{ policy: all_must_succeed, branches: [a] }]\n", "saga", false),
            ("saga bad fan-out policy", saga + "fan_outs: [{ policy: most, branch_step_ids: [a, b] }]\n", "saga", false),
            ("saga step without agent", saga.replacingOccurrences(of: ", agent: g, undo_api: u", with: ""), "saga", false),
            ("runtime empty", runtime, "runtime", true),
            ("runtime numbers of seconds", runtime + "breach: { window: 90, cooldown: 0.5 }\nsessions: { ttl: 86400 }\n", "runtime", true),
            ("runtime durations", runtime + "elevation: { default_ttl: 1.5m, max_ttl: 2h }\naudit: { checkpoint_interval: 500ms }\n", "runtime", true),
            ("runtime typo", runtime + "breach: { windw: 60s }\n", "runtime", false),
            ("runtime section typo", runtime + "sesions: {}\n", "runtime", false),
            ("runtime bad duration", runtime + "breach: { window: 5x }\n", "runtime", false),
            ("runtime compound duration", runtime + "breach: { window: 1h30m }\n", "runtime", false),
            ("runtime negative seconds", runtime + "breach: { window: -5 }\n", "runtime", false),
            ("runtime session ttl too long", runtime + "sessions: { ttl: 691200 }\n", "runtime", false),
            ("runtime bad on_critical", runtime + "breach: { on_critical: kil }\n", "runtime", false),
            ("runtime bad durability", runtime + "audit: { durability: grup }\n", "runtime", false),
            ("runtime participants", runtime + "sessions: { max_participants: 0 }\n", "runtime", false),
            ("runtime fractional burst", runtime + "limits: { ring0: { burst: 2.5 } }\n", "runtime", false),
            ("runtime zero rate", runtime + "limits: { ring1: { rate: 0 } }\n", "runtime", false),
            ("runtime threshold above one", runtime + "breach: { critical: 1.5 }\n", "runtime", false),
            ("runtime zero severity", runtime + "liability: { escalation_severity: 0 }\n", "runtime", false),
            ("runtime cascade depth", runtime + "liability: { max_cascade_depth: 11 }\n", "runtime", false),
            ("runtime origin with a newline", runtime + "audit: { origin: \"a\\nb\" }\n", "runtime", false),
            ("runtime empty origin", runtime + "audit: { origin: '' }\n", "runtime", false),
            ("runtime bad name", runtime + "name: a b\n", "runtime", false),
        ]
        let documents = try cases.map { (name: $0.0, json: try document($0.1), kind: $0.2, valid: $0.3) }
        #expect(try Self.validate(documents) == [])
    }
}
