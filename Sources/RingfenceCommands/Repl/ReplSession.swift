import Ringfence

/// The REPL's state machine: one line in, the text to print out. It holds the loaded
/// policies and the request being built, and never touches a terminal, so tests drive it
/// directly and `ReplCommand` only adds line editing around it.
///
/// Every line is one of: a `:command`, `path = value` (setting one request field), a pasted
/// JSON object (the whole request), a `#` comment or blank. Anything else gets a one-line
/// error with a did-you-mean, and the session carries on.
public struct ReplSession {
    /// The value that stands in for a missing `agent.id` or `action` in `:when`.
    public static let placeholder = "repl"

    /// One command: its name, how it is called and what it does (for `:help`).
    struct Command: Sendable {
        /// The name, with its colon.
        var name: String
        /// The call with its arguments.
        var usage: String
        /// One line on what it does.
        var summary: String
    }

    /// Every command, in the order `:help` lists them.
    static let commands: [Command] = [
        Command(name: ":load", usage: ":load PATH…", summary: "compile policy files or directories (replaces the loaded ones)"),
        Command(name: ":reload", usage: ":reload", summary: "compile the last loaded paths again"),
        Command(name: ":policies", usage: ":policies", summary: "list the loaded policies"),
        Command(name: ":rules", usage: ":rules", summary: "list every rule with its location, effect, ring, limit and reason"),
        Command(name: ":request", usage: ":request", summary: "show the current request as json"),
        Command(name: ":clear", usage: ":clear", summary: "forget the current request"),
        Command(name: ":eval", usage: ":eval", summary: "decide the current request: the decision json line, then why each rule did or did not decide"),
        Command(name: ":bytecode", usage: ":bytecode RULE", summary: "show one rule's bytecode (RULE is `id` or `policy/id`)"),
        Command(name: ":when", usage: ":when EXPR", summary: "evaluate a `when` expression against the current request"),
    ] + runtimeCommands + [
        Command(name: ":help", usage: ":help", summary: "show this help"),
        Command(name: ":quit", usage: ":quit", summary: "leave (ctrl-d too)"),
    ]

    /// The paths of the last `:load`.
    public private(set) var paths: [String] = []
    /// The engine built from the loaded policies, if any loaded without errors.
    private(set) var engine: Engine?
    /// The request being built.
    private(set) var request = ReplRequest()
    /// The runtime behind the session commands, made on first use for the loaded engine.
    private var runtime: ReplRuntime?
    /// True once `:quit` was given.
    public private(set) var isFinished = false

    /// Creates a session with nothing loaded.
    public init() {}

    /// Handles one line and returns what to print (empty, or lines each ending in a newline).
    public mutating func handle(_ line: String) -> String {
        let text = line.replTrimmed()
        if text.isEmpty || text.hasPrefix("#") { return "" }
        let output: String
        if text.hasPrefix(":") {
            output = command(text)
        } else if text.hasPrefix("{") {
            output = paste(text)
        } else if let equals = text.firstIndex(of: "=") {
            output = assign(path: String(text[..<equals]), rest: String(text[text.index(after: equals)...]))
        } else {
            let word = String(text.prefix { !$0.isWhitespace })
            let names = Self.commands.map { String($0.name.dropFirst()) }
            output = ReplMessages.notUnderstood(text, suggestion: Suggestions.closest(to: word, among: names).map { ":" + $0 })
        }
        return output.isEmpty || output.hasSuffix("\n") ? output : output + "\n"
    }

    /// Compiles `paths` and, when they have no errors, makes them the loaded policies.
    public mutating func load(_ paths: [String]) -> String {
        self.paths = paths
        let result = Compiler.compile(paths: paths)
        var out: [String] = []
        if !result.diagnostics.isEmpty {
            out.append(DiagnosticRenderer.text(result.diagnostics, sources: result.sources))
        }
        let errors = result.diagnostics.count(where: \.isError)
        let warnings = result.diagnostics.count { $0.severity == .warning }
        guard errors == 0, let program = result.program else {
            out.append(ReplMessages.loadFailed(errors: max(errors, 1), kept: engine != nil))
            return out.joined(separator: "\n")
        }
        do {
            engine = try Engine(compilation: result, timeSource: .requestTimeOrClock)
            runtime = nil  // sessions start over on the new policies
        } catch {
            out.append(error.description)
            out.append(ReplMessages.loadFailed(errors: 1, kept: engine != nil))
            return out.joined(separator: "\n")
        }
        out.append(ReplMessages.loaded(files: result.sources.count, policies: program.policies.count,
                                       rules: program.rules.count, warnings: warnings))
        return out.joined(separator: "\n")
    }

    /// Runs a `:command` line.
    private mutating func command(_ text: String) -> String {
        let name = String(text.prefix { !$0.isWhitespace })
        let argument = String(text.dropFirst(name.count)).replTrimmed()
        let words = argument.split(whereSeparator: \.isWhitespace).map(String.init)
        func noArguments(_ body: () -> String) -> String {
            words.isEmpty ? body() : ReplMessages.usage(name)
        }
        switch name {
        case ":load":
            return words.isEmpty ? ReplMessages.usage(":load PATH…") : load(words)
        case ":reload":
            guard words.isEmpty else { return ReplMessages.usage(":reload") }
            return paths.isEmpty ? ReplMessages.nothingToReload : load(paths)
        case ":policies": return noArguments(policies)
        case ":rules": return noArguments(rules)
        case ":request": return noArguments { request.jsonText }
        case ":clear":
            guard words.isEmpty else { return ReplMessages.usage(":clear") }
            request.clear()
            return ""
        case ":eval": return noArguments(evaluate)
        case ":bytecode": return words.count == 1 ? bytecode(words[0]) : ReplMessages.usage(":bytecode RULE")
        case ":when": return argument.isEmpty ? ReplMessages.usage(":when EXPR") : ReplWhen.evaluate(argument, request: request, engine: engine)
        case ":help": return noArguments(Self.help)
        case ":quit":
            guard words.isEmpty else { return ReplMessages.usage(":quit") }
            isFinished = true
            return ""
        default:
            if let output = runtimeCommand(name, words, argument) { return output }
            return ReplMessages.unknownCommand(name, suggestion: Suggestions.closest(to: name, among: Self.commands.map(\.name)))
        }
    }

    /// Sets one request field from `path = value`.
    private mutating func assign(path: String, rest: String) -> String {
        if rest.hasPrefix("=") { return ReplMessages.comparisonNotAssignment }
        let pathText = path.replTrimmed()
        let valueText = rest.replTrimmed()
        let segments: [String]
        switch ReplPath.parse(pathText) {
        case .success(let parsed): segments = parsed
        case .failure(.malformed): return ReplMessages.malformedPath(pathText)
        case .failure(.unknown(let suggestion)): return ReplMessages.unknownPath(pathText, suggestion: suggestion)
        }
        switch ReplPath.value(valueText) {
        case .failure(let error): return ReplMessages.malformedValue(valueText, reason: error.message)
        case .success(let value):
            return request.set(value, at: segments).map(ReplMessages.requestRefused) ?? ""
        }
    }

    /// Replaces the request with a pasted JSON object.
    private mutating func paste(_ text: String) -> String {
        let value: Value
        do {
            value = try JSONParser.parse(text)
        } catch {
            return ReplMessages.pastedJSON(error)
        }
        guard case .object(let members) = value else { return "" }
        return request.replace(with: members).map(ReplMessages.requestRefused) ?? ""
    }

    /// The decision on the current request as a JSON line, then the explanation: every rule
    /// and why it did or did not decide.
    private func evaluate() -> String {
        guard let engine else { return ReplMessages.noPolicies }
        switch request.decoded() {
        case .failure(let error): return ReplMessages.requestRefused(error)
        case .success(let decoded):
            let explanation = engine.explain(decoded)
            let rules = explanation.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            return ([explanation.decision.jsonLine] + rules.map(String.init)).joined(separator: "\n")
        }
    }

    /// The loaded policies: name, file, how they combine and how many rules each has.
    private func policies() -> String {
        guard let program = engine?.program else { return ReplMessages.noPolicies }
        let rows = program.policies.enumerated().map { index, policy in
            [policy.name, policy.file, BundleReport.combining(policy.combining),
             CLIMessages.count(program.rules.count { Int($0.policy) == index }, "rule")]
        }
        return BundleReport.table(rows).joined(separator: "\n")
    }

    /// Every loaded rule, as `inspect` lists them.
    private func rules() -> String {
        guard let program = engine?.program else { return ReplMessages.noPolicies }
        let rows = program.rules.map {
            BundleReport.rule($0, policy: Int($0.policy) < program.policies.count ? program.policies[Int($0.policy)] : nil)
        }
        return BundleReport.table(rows).joined(separator: "\n")
    }

    /// The disassembly of one rule, cut from the whole program's disassembly.
    private func bytecode(_ name: String) -> String {
        guard let program = engine?.program else { return ReplMessages.noPolicies }
        let qualified = program.rules.map { rule in
            "\(Int(rule.policy) < program.policies.count ? program.policies[Int(rule.policy)].name : "?")/\(rule.id)"
        }
        let matches = name.contains("/") ? qualified.filter { $0 == name } : qualified.filter { $0.hasSuffix("/" + name) }
        guard let chosen = matches.first else {
            let candidates = name.contains("/") ? qualified : program.rules.map(\.id)
            return ReplMessages.unknownRule(name, suggestion: Suggestions.closest(to: name, among: candidates))
        }
        guard matches.count == 1 else { return ReplMessages.ambiguousRule(name, candidates: matches) }
        var out: [String] = []
        var inRule = false
        for line in Disassembler.render(program).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("rule ") {
                inRule = line.hasPrefix("rule \(chosen) ")
            } else if !line.hasPrefix("  ") {
                inRule = false
            }
            if inRule { out.append(String(line)) }
        }
        return out.joined(separator: "\n")
    }

    /// The `:help` text: every command, then how to build a request.
    public static func help() -> String {
        let width = (commands.map(\.usage.count).max() ?? 0) + 2
        var lines = ["commands:"]
        for c in commands {
            lines.append("  " + c.usage + String(repeating: " ", count: width - c.usage.count) + c.summary)
        }
        lines += [
            "building the request:",
            "  agent.trust = 0.8          set one field; values are json literals, bare words are strings",
            "  action = fs.read           fields: agent.id, agent.trust, agent.ring, agent.consensus,",
            "  params[\"a.b\"] = \"x\"        agent.roles, agent.attrs.X, action, resource, params.X, context.X",
            "  {\"agent\":{\"id\":\"a\"},…}     paste a whole json request to replace the current one",
            "lines starting with # are comments",
        ]
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func replTrimmed() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

extension ReplSession {
    /// The runtime for the loaded engine, made on first use; nil when no policies are loaded.
    mutating func replRuntime() -> ReplRuntime? {
        if let runtime { return runtime }
        guard let engine else { return nil }
        runtime = try? ReplRuntime(engine: engine)
        return runtime
    }
}
