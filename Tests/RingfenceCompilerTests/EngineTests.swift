import Testing
@testable import Ringfence
@testable import RingfenceVM
import RingfenceSyntax
import Dispatch
import Synchronization

/// End-to-end checks of the embedding API on the SPEC §3 example policy.
@Suite struct EngineTests {
    static let workspace = """
    ringfence: 1
    kind: policy
    name: workspace
    rules:
      - id: read-workspace
        effect: allow
        actions: [fs.read]
        resources: ["/workspace/**"]
        ring: 3
        when: params.method == "GET" && agent.trust >= 0.7
        limit: 2/hour
        reason: workspace files are readable
      - id: block-destructive-sql
        effect: deny
        action: database.query
        when: params.query =~ "(?i)\\\\b(DROP|TRUNCATE)\\\\b"
        reason: destructive SQL
      - id: allow-sql
        effect: allow
        action: database.*
        ring: 2
    """

    func engine(clock: Double = 1_000_000) throws -> Engine {
        try Engine(source: Self.workspace, file: "workspace.yaml", clock: { clock })
    }

    @Test func allowsAWorkspaceRead() throws {
        let d = try engine().evaluate(Request(agent: Agent(id: "a", trust: 0.85), action: "fs.read",
                                              resource: "/workspace/data/sales.csv", params: ["method": .string("GET")]))
        #expect(d == Decision(allowed: true, code: .allow, policy: "workspace", rule: "read-workspace",
                              reason: "workspace files are readable", ring: 2))
    }

    /// Decisions refer to their machine's texts: two engines of the same policies hold equal
    /// texts, a machine's decision equals one built from the same strings, and generated reasons
    /// read right.
    @Test func decisionTextsCompareByContent() throws {
        let request = Request(agent: Agent(id: "a", trust: 0.85), action: "fs.read", resource: "/workspace/a", params: ["method": .string("GET")])
        let first = try engine().evaluate(request), second = try engine().evaluate(request)
        guard case .rule(let a) = first.source, case .rule(let b) = second.source else {
            Issue.record("machine decisions should name their rule's texts")
            return
        }
        #expect(a.texts == b.texts)
        let given = Decision(allowed: true, code: .allow, policy: "workspace", rule: "read-workspace",
                             reason: "workspace files are readable", ring: 2)
        #expect(first == given && given == first)
        #expect(first.hashValue == given.hashValue)
        #expect(first != Decision(allowed: true, code: .allow, policy: "workspace", rule: "read-workspace", reason: "other", ring: 2))
        #expect(Set([first, second, given]).count == 1)

        let e = try engine()
        let lowTrust = e.evaluate(Request(agent: Agent(id: "a", trust: 0.5), action: "database.query", params: ["query": .string("SELECT 1")]))
        #expect(lowTrust.reason == "ring 3 is not privileged enough for rule `allow-sql` (it needs ring 2 or lower)")
        let wrongType = e.evaluate(Request(agent: Agent(id: "a", trust: 0.9), action: "database.query", params: ["query": .number(3)]))
        #expect(wrongType.reason == "rule `block-destructive-sql` could not be evaluated (a value in `when` has the wrong type); denied to fail closed")
        _ = e.evaluate(request)
        _ = e.evaluate(request)
        #expect(e.evaluate(request).reason == "rate limit of rule `read-workspace` is exhausted (2 per 3600s per agent)")
        let none = e.evaluate(Request(agent: Agent(id: "a"), action: "net.http"))
        #expect(none.policy == nil && none.rule == nil && none.reason == Decision.defaultReason)
        let select = e.evaluate(Request(agent: Agent(id: "a", trust: 0.9), action: "database.query", params: ["query": .string("SELECT 1")]))
        #expect(select.reason == "allowed by rule `allow-sql`")
    }

    /// An empty reason (`reason: ""`) is no reason: the decision says which rule decided, as for
    /// a rule without one (a fuzzed bundle held such a rule and decided with an empty reason).
    @Test func anEmptyReasonIsNoReason() throws {
        let blank = try Engine(source: """
            ringfence: 1
            kind: policy
            name: blank
            rules:
              - {id: quiet-deny, effect: deny, actions: ["fs.write"], reason: ""}
              - {id: quiet-allow, effect: allow, actions: ["fs.*"], reason: ""}
            """)
        #expect(blank.evaluate(Request(agent: Agent(id: "a"), action: "fs.write")).reason == "denied by rule `quiet-deny`")
        #expect(blank.evaluate(Request(agent: Agent(id: "a"), action: "fs.read")).reason == "allowed by rule `quiet-allow`")
    }

    @Test func normalisesBeforeMatching() throws {
        let e = try engine()
        let escape = e.evaluate(Request(agent: Agent(id: "a", trust: 0.85), action: "fs.read",
                                        resource: "/workspace/../etc/passwd", params: ["method": .string("GET")]))
        #expect(escape.code == .default)
        let above = e.evaluate(Request(agent: Agent(id: "a", trust: 0.85), action: "fs.read",
                                       resource: "/../workspace/a", params: ["method": .string("GET")]))
        #expect(above.code == .allow, "`..` at the root stays at the root")
        let relative = e.evaluate(Request(agent: Agent(id: "a", trust: 0.85), action: "fs.read",
                                          resource: "../workspace/a", params: ["method": .string("GET")]))
        #expect(relative.code == .default, "a relative path climbing above its start cannot be placed")
    }

    @Test func denyOverridesAndRingGates() throws {
        let e = try engine()
        let drop = e.evaluate(Request(agent: Agent(id: "a", trust: 0.9), action: "database.query",
                                      params: ["query": .string("drop table users")]))
        #expect(drop.code == .denyRule && drop.rule == "block-destructive-sql")
        let select = e.evaluate(Request(agent: Agent(id: "a", trust: 0.9), action: "database.query",
                                        params: ["query": .string("SELECT 1")]))
        #expect(select.code == .allow && select.rule == "allow-sql")
        let lowTrust = e.evaluate(Request(agent: Agent(id: "a", trust: 0.5), action: "database.query",
                                          params: ["query": .string("SELECT 1")]))
        #expect(lowTrust.code == .ring && lowTrust.rule == "allow-sql" && lowTrust.ring == 3 && !lowTrust.allowed)
    }

    @Test func denyRuleThatErrorsFailsClosed() throws {
        let e = try engine()
        let d = e.evaluate(Request(agent: Agent(id: "a", trust: 0.9), action: "database.query", params: ["query": .number(3)]))
        #expect(d.code == .error && d.rule == "block-destructive-sql" && !d.allowed)
    }

    @Test func rateLimitsPerAgentAndRule() throws {
        let e = try engine()
        let r = Request(agent: Agent(id: "a", trust: 0.85), action: "fs.read", resource: "/workspace/x", params: ["method": .string("GET")])
        #expect(e.evaluate(r).code == .allow)
        #expect(e.evaluate(r).code == .allow)
        #expect(e.evaluate(r).code == .rateLimit)
        var other = r
        other.agent.id = "b"
        #expect(e.evaluate(other).code == .allow)
    }

    @Test func bundleRoundTripDecidesTheSame() throws {
        let e = try engine()
        let loaded = try Engine(bundle: e.bundle(), clock: { 1_000_000 })
        #expect(loaded.program == e.program)
        let r = Request(agent: Agent(id: "a", trust: 0.9), action: "database.query", params: ["query": .string("TRUNCATE x")])
        #expect(loaded.evaluate(r) == e.evaluate(r))
    }
}

/// First-match policies (the rule-document dialect's combining) through the compiler and VM.
@Suite struct FirstMatchTests {
    static let rules = """
    ringfence: 1
    kind: policy
    name: doc
    rules:
      - id: block-big
        effect: deny
        action: payments.send
        when: params.amount > 1000
      - id: audit-all
        effect: allow
        action: payments.send
      - id: never-reached
        effect: deny
        action: payments.send
    """

    func engine(defaultAllow: Bool, extra: String? = nil) throws -> Engine {
        var documents: [PolicyDocument] = []
        guard case .policy(var doc)? = DocumentParser.parse(text: Self.rules, file: "doc.yaml").document else {
            Issue.record("fixture does not parse")
            throw RingfenceError.load("fixture")
        }
        doc.combining = .firstMatch(defaultAllow: defaultAllow)
        documents.append(doc)
        if let extra, case .policy(let native)? = DocumentParser.parse(text: extra, file: "native.yaml").document {
            documents.append(native)
        }
        let (program, diagnostics) = Compiler.compile(documents)
        #expect(!diagnostics.containsErrors, "\(diagnostics)")
        return try Engine(program: try #require(program))
    }

    func send(_ amount: Value?, action: String = "payments.send") -> Request {
        Request(agent: Agent(id: "a"), action: action, params: amount.map { ["amount": $0] } ?? [:])
    }

    @Test func firstApplyingRuleDecides() throws {
        let e = try engine(defaultAllow: false)
        #expect(e.evaluate(send(.number(5000))).rule == "block-big")
        let small = e.evaluate(send(.number(5)))
        #expect(small.allowed && small.rule == "audit-all" && small.code == .allow)
        let other = e.evaluate(send(nil, action: "payments.refund"))
        #expect(!other.allowed && other.code == .default && other.rule == nil)
    }

    @Test func errorsDenyAndDefaultsCanAllow() throws {
        let e = try engine(defaultAllow: true)
        let broken = e.evaluate(send(.string("lots")))
        #expect(!broken.allowed && broken.code == .error && broken.rule == "block-big")
        let other = e.evaluate(send(nil, action: "payments.refund"))
        #expect(other.allowed && other.code == .default && other.policy == "doc" && other.rule == nil)
    }

    @Test func nativeDeniesOverrideADocumentAllow() throws {
        let native = """
        ringfence: 1
        kind: policy
        name: native
        rules:
          - id: freeze
            effect: deny
            action: "payments.*"
        """
        let e = try engine(defaultAllow: true, extra: native)
        #expect(e.evaluate(send(.number(5))).rule == "freeze")
        let loaded = try Engine(bundle: e.bundle())
        #expect(loaded.evaluate(send(.number(5))) == e.evaluate(send(.number(5))))
        #expect(loaded.program.policies.map(\.combining) == [.firstMatchDefaultAllow, .denyOverrides])
    }
}

/// `Engine.explain`: every rule's result and the detail people read.
@Suite struct ExplainTests {
    @Test func explainsEveryRule() throws {
        let e = try Engine(source: EngineTests.workspace, file: "workspace.yaml", clock: { 1_000_000 })
        let x = e.explain(Request(agent: Agent(id: "a", trust: 0.5), action: "database.query", params: ["query": .string("SELECT 1")]))
        #expect(x.decision.code == .ring)
        let byRule = Dictionary(uniqueKeysWithValues: x.rules.map { ($0.rule, $0) })
        #expect(byRule["read-workspace"]?.result == .actionMismatch)
        #expect(byRule["read-workspace"]?.detail == #"action `database.query` matches none of ["fs.read"]"#)
        #expect(byRule["block-destructive-sql"]?.result == .whenFalse)
        #expect(byRule["block-destructive-sql"]?.detail.hasPrefix(#"`params["query"] =~ "#) == true)
        #expect(byRule["block-destructive-sql"]?.detail.hasSuffix(#"is false (params["query"] is "SELECT 1")"#) == true)
        #expect(byRule["allow-sql"]?.result == .ring && byRule["allow-sql"]?.decided == true)
        #expect(byRule["allow-sql"]?.detail == "agent ring 3 is above the rule's ring 2")
    }

    @Test func explainsWhichComparisonFailedAndErrors() throws {
        let e = try Engine(source: EngineTests.workspace, file: "workspace.yaml", clock: { 1_000_000 })
        let read = e.explain(Request(agent: Agent(id: "a", trust: 0.9), action: "fs.read", resource: "/workspace/a",
                                     params: ["method": .string("POST")]))
        let rule = try #require(read.rules.first { $0.rule == "read-workspace" })
        #expect(rule.result == .whenFalse)
        #expect(rule.detail == #"`params["method"] == "GET"` is false (params["method"] is "POST")"#)
        let escape = e.explain(Request(agent: Agent(id: "a", trust: 0.9), action: "fs.read", resource: "../etc"))
        #expect(escape.rules.first?.result == .whenError)
        #expect(escape.rules.first?.detail == "the resource cannot be placed (a path climbing above its start, or a url that "
            + "cannot be parsed), so a rule that matches on it cannot be evaluated")
        let broken = e.explain(Request(agent: Agent(id: "a", trust: 0.9), action: "database.query", params: ["query": .number(1)]))
        let deny = try #require(broken.rules.first { $0.rule == "block-destructive-sql" })
        #expect(deny.result == .whenError && deny.decided)
        #expect(deny.detail.contains(#"params["query"] is 1"#), "\(deny.detail)")
        #expect(broken.jsonText.hasPrefix(#"{"decision":{"decision":"deny","code":"error""#))
    }
}

/// One engine shared by many threads decides exactly as it does on one.
@Suite struct ConcurrencyTests {
    @Test func threadsShareOneEngine() throws {
        let e = try Engine(source: EngineTests.workspace, file: "workspace.yaml", clock: { 1_000_000 })
        let requests: [Request] = (0..<64).map { i in
            switch i % 4 {
            case 0: Request(agent: Agent(id: "a\(i)", trust: 0.9), action: "database.query", params: ["query": .string(i % 8 == 0 ? "DROP x" : "SELECT \(i)")])
            case 1: Request(agent: Agent(id: "a\(i)", trust: 0.4), action: "database.query", params: ["query": .number(Double(i))])
            case 2: Request(agent: Agent(id: "a\(i)", trust: 0.8), action: "fs.read", resource: "/workspace/\(i)/../x", params: ["method": .string("GET")])
            default: Request(agent: Agent(id: "a\(i)"), action: "mail.send")
            }
        }
        // Rate-limited decisions depend on order, so compare only requests no limited rule decides.
        let expected = requests.map { e.evaluate($0) }.map { $0.rule == "read-workspace" ? nil : $0 }
        let prepared = requests.map { e.prepare($0) }
        let results = Mutex<[[Decision?]]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            var mine: [Decision?] = []
            for _ in 0..<200 {
                for (i, p) in prepared.enumerated() {
                    let d = e.evaluate(p)
                    mine.append(expected[i] == nil ? nil : d)
                }
            }
            results.withLock { $0.append(mine) }
        }
        let all = results.withLock { $0 }
        #expect(all.count == 8)
        for run in all {
            #expect(run.count == 200 * requests.count)
            for (k, d) in run.enumerated() { #expect(d == expected[k % requests.count]) }
        }
    }
}

/// The action index is compiled into bundles and verified on load.
@Suite struct ActionIndexTests {
    @Test func indexNarrowsCandidatesWithoutChangingDecisions() throws {
        let e = try Engine(source: EngineTests.workspace, file: "workspace.yaml", clock: { 1_000_000 })
        let index = e.program.actionIndex
        #expect(index.buckets.map(\.action) == ["database.query", "fs.read"])
        #expect(index.buckets.map(\.rules) == [[1], [0]])
        #expect(index.wildcards == [2])   // `database.*`
        let sql = e.evaluate(Request(agent: Agent(id: "a", trust: 0.9), action: "database.export"))
        #expect(sql.rule == "allow-sql" && sql.allowed)
    }

    @Test func aTamperedIndexIsRefused() throws {
        let e = try Engine(source: EngineTests.workspace, file: "workspace.yaml")
        var program = e.program
        program.actionIndex.buckets[0].rules = []   // hide the deny rule from `database.query`
        #expect(throws: RingfenceError.self) { _ = try Engine(bundle: Bundle.encode(program)) }
        do {
            _ = try Engine(bundle: Bundle.encode(program))
        } catch {
            guard case .bundle(let refused) = error else { Issue.record("expected a bundle error, got \(error)"); return }
            #expect(refused.code == .bundleMalformed)
            #expect(refused.message.contains("action index"))
        }
    }

    /// A regex with a required word gets a literal prefilter (caseless, split at `s`, which also
    /// matches U+017F), stored in the bundle and re-derived on load; a forged one is refused.
    @Test func regexLiteralsAreStoredAndATamperedOneIsRefused() throws {
        let source = """
        ringfence: 1
        kind: policy
        name: sql
        rules:
          - id: no-users
            effect: deny
            action: database.query
            when: params.query =~ "(?i)\\bfrom users\\b"
          - id: queries
            effect: allow
            action: database.query
        """
        let e = try Engine(source: source, file: "sql.yaml")
        #expect(e.program.regexLiterals == [RegexLiteral(bytes: Array("from u".utf8), caseless: true)])
        let denied = e.evaluate(Request(agent: Agent(id: "a"), action: "database.query", params: ["query": .string("SELECT * FROM Users")]))
        #expect(denied.code == .denyRule)
        let allowed = e.evaluate(Request(agent: Agent(id: "a"), action: "database.query", params: ["query": .string("SELECT 1")]))
        #expect(allowed.code == .allow)
        let roundTrip = try Engine(bundle: Bundle.encode(e.program))
        #expect(roundTrip.program.regexLiterals == e.program.regexLiterals)

        var program = e.program
        program.regexLiterals = [RegexLiteral(bytes: Array("never".utf8), caseless: false)]  // would hide every match
        do {
            _ = try Engine(bundle: Bundle.encode(program))
            Issue.record("a bundle with a forged regex literal loaded")
        } catch {
            #expect(error.description.contains("the literal of regex"), "\(error)")
        }
        program.regexLiterals = []
        #expect(throws: RingfenceError.self) { _ = try Engine(bundle: Bundle.encode(program)) }
    }
}
