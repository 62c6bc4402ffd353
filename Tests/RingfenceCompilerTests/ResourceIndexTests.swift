import Ringfence
import RingfenceBytecode
import Testing
import RingfenceTestSupport

/// The resource-prefix level of the rule index: prefixes err short, and narrowing the candidates
/// by the request's resource never changes a decision.
@Suite struct ResourceIndexTests {
    @Test(arguments: [
        ("/workspace/**", "/workspace"), ("/data/*.csv", "/data"), ("/etc/passwd", "/etc/passwd"), ("**", ""),
        ("/a\\*b", "/a"), ("/x/{a,b}/y", "/x"), ("/a/**/b", "/a"), ("/srv/app?/x", "/srv/app"), ("/v[12]/x", "/v"),
        ("relative/**", "relative"), ("", ""), ("/", "/"),
    ])
    func literalPrefixes(pattern: String, prefix: String) {
        #expect(ActionIndex.literalPrefix(of: GlobEntry(pattern: pattern, separator: UInt8(ascii: "/"))) == Array(prefix.utf8))
    }

    @Test func onlyRulesStartingWithAResourceTestAreFiled() throws {
        let e = try Engine(source: """
            ringfence: 1
            kind: policy
            name: p
            rules:
              - id: files
                effect: allow
                action: fs.read
                resources: ["/workspace/**", "/tmp/*.log"]
              - id: any-resource
                effect: allow
                action: fs.*
              - id: by-when
                effect: deny
                action: fs.read
                when: resource == "/secret"
            """)
        #expect(e.program.actionIndex.resourcePrefixes == [[Array("/workspace".utf8), Array("/tmp".utf8)], nil, nil])
    }

    /// Random policies whose rules share a few actions and differ by resource patterns, against
    /// random resources: the decision must be the one a rule-by-rule reading gives (first applying
    /// deny, else first applying allow, else the default), as `explain` reports every rule
    /// without the index.
    @Test func narrowingNeverChangesADecision() throws {
        var rng = SeededGenerator(seed: 0x5EED_0F_1DE5)
        let segments = ["a", "ab", "abc", "b", "data", "d", "x.csv", "x.log", "srv", "app1", "app12"]
        func pattern() -> String {
            var parts = (0..<(1 + rng.below(3))).map { _ in segments[rng.below(segments.count)] }
            switch rng.below(6) {
            case 0: parts.append("**")
            case 1: parts.append("*")
            case 2: parts[parts.count - 1] += "*"
            case 3: parts.insert("**", at: rng.below(parts.count + 1))
            case 4: parts[0] = "{" + parts[0] + ",b}"
            default: break
            }
            return "/" + parts.joined(separator: "/")
        }
        var checked = 0, decidedByRule = 0
        for round in 0..<40 {
            var yaml = "ringfence: 1\nkind: policy\nname: p\nrules:\n"
            for i in 0..<(5 + rng.below(30)) {
                let action = ["fs.read", "fs.write", "fs.*"][rng.below(3)]
                yaml += "  - id: r\(i)\n    effect: \(rng.below(4) == 0 ? "deny" : "allow")\n    action: \(action)\n"
                if rng.below(5) > 0 {
                    yaml += "    resources: [" + (0...rng.below(2)).map { _ in "\"\(pattern())\"" }.joined(separator: ", ") + "]\n"
                }
            }
            let e = try Engine(source: yaml, file: "round\(round).yaml")
            for _ in 0..<60 {
                let resource = rng.below(10) == 0 ? nil : "/" + (0..<(1 + rng.below(4))).map { _ in segments[rng.below(segments.count)] }.joined(separator: "/")
                let request = Request(agent: Agent(id: "a", trust: 0.9), action: ["fs.read", "fs.write", "net.get"][rng.below(3)], resource: resource)
                let explanation = e.explain(request)
                let applied = explanation.rules.filter { $0.result == .applied }
                let expected = applied.first { $0.effect == "deny" } ?? applied.first { $0.effect == "allow" }
                let decision = e.evaluate(request)
                #expect(decision.rule == expected?.rule, "round \(round), \(request.action) \(resource ?? "-"):\n\(yaml)")
                #expect(decision.allowed == (expected?.effect == "allow"))
                checked += 1
                if expected != nil { decidedByRule += 1 }
            }
        }
        #expect(checked == 2_400)
        #expect(decidedByRule > 600, "only \(decidedByRule) requests were decided by a rule; the generator exercises too little")
    }
}
