import RingfenceDiagnostics

/// Turns the YAML tree of a saga definition into a `SagaDocument` (SPEC §5): the seed's format
/// (no `ringfence:` key, recognised by `steps` and `session_id`) or a `kind: saga` file, which
/// may add `retry` and `on_compensation_failure`. Reports every problem in one pass: structure,
/// ranges, unknown step names, duplicate ids and dependency cycles.
public enum SagaParser {
    /// The keys a seed saga may hold.
    static let seedKeys = ["name", "session_id", "saga_id", "steps", "fan_out", "fan_outs", "metadata"]
    /// The keys a `kind: saga` document may hold.
    static let nativeKeys = ["ringfence", "kind", "description"] + seedKeys + ["retry", "on_compensation_failure", "base_url", "max_concurrency"]
    /// The keys a seed step may hold.
    static let seedStepKeys = ["id", "action_id", "agent", "execute_api", "undo_api", "timeout", "retries", "checkpoint_goal", "depends_on"]
    /// The keys a step of a `kind: saga` document may hold.
    static let nativeStepKeys = seedStepKeys + ["description", "retry"]
    /// The keys a fan-out group may hold.
    static let fanOutKeys = ["policy", "branches", "branch_step_ids"]
    /// The keys a `retry` block may hold.
    static let retryKeys = ["backoff", "initial", "multiplier", "max", "jitter"]
    /// The keys an `on_compensation_failure` block may hold.
    static let escalationKeys = ["escalate", "attempts"]
    /// The longest timeout or retry delay, in seconds (one day).
    static let maxSeconds = 86_400
    /// The most retries a step may declare.
    static let maxRetries = 10
    /// The most steps a saga may run at once.
    static let maxConcurrency = 64

    /// True when a document without `ringfence:` has the seed saga's shape: `steps` and `session_id`.
    public static func looksLikeSeedSaga(_ root: YAMLNode) -> Bool {
        root["steps"] != nil && root["session_id"] != nil
    }

    /// Parses a seed saga (a file without `ringfence:`); returns nil when there are errors.
    public static func parseSeed(_ root: YAMLNode, file: String) -> (SagaDocument?, [Diagnostic]) {
        parse(root, file: file, native: false)
    }

    /// Parses a `kind: saga` document (its envelope already read); returns nil when there are errors.
    public static func parse(_ root: YAMLNode, file: String) -> (SagaDocument?, [Diagnostic]) {
        parse(root, file: file, native: true)
    }

    /// Parses either form; the document is returned only when no error was found.
    private static func parse(_ root: YAMLNode, file: String, native: Bool) -> (SagaDocument?, [Diagnostic]) {
        var reader = StructureReader(file: file)
        let document = parseSaga(root, native: native, &reader)
        let diagnostics = reader.diagnostics.sortedForOutput()
        return (diagnostics.containsErrors ? nil : document, diagnostics)
    }

    /// saga := { name, session_id, saga_id?, steps, (fan_out | fan_outs)?, metadata?,
    /// retry?, on_compensation_failure?, base_url?, max_concurrency? } — the last four in
    /// `kind: saga` files only.
    private static func parseSaga(_ root: YAMLNode, native: Bool, _ reader: inout StructureReader) -> SagaDocument? {
        guard let pairs = root.mapping else {
            reader.error(.wrongType, Messages.rootNotMapping(found: root.typeName), at: root)
            return nil
        }
        reader.checkKeys(pairs, allowed: native ? nativeKeys : seedKeys, context: "saga")
        var name: Located<String>?, sessionID: Located<String>?, sagaID: Located<String>?
        var steps: [SagaStep] = []
        var fanOuts: [FanOutGroup] = []
        var fanOutPair: YAMLPair?
        var metadata: [SagaMetadataEntry] = []
        var retry: RetryPolicy?
        var escalation: CompensationFailurePolicy?
        var baseURL: Located<String>?
        var maxConcurrency: Int?
        var sawSteps = false
        for pair in pairs {
            switch pair.key {
            case "name": name = requiredString(pair, what: "saga `name`", &reader)
            case "session_id": sessionID = requiredString(pair, what: "`session_id`", &reader)
            case "saga_id": sagaID = requiredString(pair, what: "`saga_id`", &reader)
            case "description": _ = reader.string(pair)
            case "steps":
                sawSteps = true
                steps = parseSteps(pair, native: native, &reader)
            case "fan_out", "fan_outs":
                if let first = fanOutPair {
                    reader.error(.conflictingKeys, Messages.conflictingKeys(pair.key, first.key), atKey: pair,
                                 help: Messages.keepOneOf(first.key, pair.key))
                    continue
                }
                fanOutPair = pair
                fanOuts = parseFanOuts(pair, &reader)
            case "metadata": metadata = parseMetadata(pair, &reader)
            case "retry": retry = parseRetry(pair, &reader)
            case "on_compensation_failure": escalation = parseEscalation(pair, &reader)
            case "base_url":
                guard let text = requiredString(pair, what: "`base_url`", &reader) else { continue }
                if let problem = SagaURLSyntax.problem(url: text.value) {
                    reader.error(.invalidSagaURL, Messages.invalidBaseURL(Messages.excerpt(text.value), problem), at: pair.value,
                                 help: Messages.endpointHelp)
                } else {
                    baseURL = text
                }
            case "max_concurrency":
                maxConcurrency = wholeNumber(pair, in: 1...Self.maxConcurrency, code: .concurrencyOutOfRange,
                                             message: Messages.concurrencyOutOfRange, &reader)
            default: break
            }
        }
        if pairs.first(where: { $0.key == "name" }) == nil {
            reader.error(.sagaMissingKey, Messages.sagaMissingKey("name", in: "saga"), at: root.location)
        }
        if pairs.first(where: { $0.key == "session_id" }) == nil {
            reader.error(.sagaMissingKey, Messages.sagaMissingKey("session_id", in: "saga"), at: root.location)
        }
        if !sawSteps {
            reader.error(.sagaMissingKey, Messages.sagaMissingKey("steps", in: "saga"), at: root.location)
        }
        checkRelations(steps, fanOuts, &reader)
        guard let name, let sessionID else { return nil }
        return SagaDocument(file: reader.file, name: name, sessionID: sessionID, sagaID: sagaID, steps: steps,
                            fanOuts: fanOuts, metadata: metadata, retry: retry, onCompensationFailure: escalation,
                            baseURL: baseURL, maxConcurrency: maxConcurrency, dialect: native ? nil : "seed", location: root.location)
    }

    // MARK: Steps

    /// steps := [ step, … ] with at least one step and unique ids.
    private static func parseSteps(_ pair: YAMLPair, native: Bool, _ reader: inout StructureReader) -> [SagaStep] {
        guard let items = reader.list(pair) else { return [] }
        guard !items.isEmpty else {
            reader.error(.emptyList, Messages.emptySteps, at: pair.value)
            return []
        }
        var steps: [SagaStep] = []
        var firstLine: [String: Int] = [:]
        for item in items {
            guard let step = parseStep(item, native: native, &reader) else { continue }
            if let line = firstLine[step.id.value] {
                reader.error(.duplicateStepID, Messages.duplicateStepID(Messages.excerpt(step.id.value)),
                             at: step.id.location, length: step.id.length, help: Messages.firstDefined(atLine: line))
                continue
            }
            firstLine[step.id.value] = step.id.location.line
            steps.append(step)
        }
        return steps
    }

    /// step := { id, action_id, agent, execute_api?, undo_api?, timeout?, retries?,
    /// checkpoint_goal?, depends_on?, retry? (native), description? (native) }
    private static func parseStep(_ item: YAMLNode, native: Bool, _ reader: inout StructureReader) -> SagaStep? {
        guard let pairs = item.mapping else {
            reader.error(.wrongType, Messages.wrongItemType("steps", expected: "a mapping", found: item.typeName), at: item)
            return nil
        }
        reader.checkKeys(pairs, allowed: native ? nativeStepKeys : seedStepKeys, context: "saga step")
        var id: Located<String>?, actionID: Located<String>?, agent: Located<String>?
        var executeAPI: String?, undoAPI: String?, checkpointGoal: String?
        var malformedUndo = false
        var timeout = SagaStep.defaultTimeout, retries = SagaStep.defaultRetries
        var dependsOn: [Located<String>] = []
        var retry: RetryPolicy?
        var broken = false
        for pair in pairs {
            switch pair.key {
            case "id": id = requiredString(pair, what: "step `id`", &reader)
            case "action_id": actionID = requiredString(pair, what: "`action_id`", &reader)
            case "agent": agent = requiredString(pair, what: "`agent`", &reader)
            case "execute_api", "undo_api":
                let endpoint = optionalString(pair, &reader)
                if let endpoint, let problem = SagaURLSyntax.problem(endpoint: endpoint) {
                    reader.error(.invalidSagaURL, Messages.invalidEndpoint(pair.key, Messages.excerpt(endpoint), problem), at: pair.value,
                                 help: Messages.endpointHelp)
                    // A malformed `undo_api` is that error alone, not also a step without one.
                    if pair.key == "undo_api" { malformedUndo = true }
                } else if pair.key == "execute_api" {
                    executeAPI = endpoint
                } else {
                    undoAPI = endpoint
                }
            case "checkpoint_goal": checkpointGoal = optionalString(pair, &reader)
            case "description": _ = reader.string(pair)
            case "timeout":
                guard let ms = reader.duration(pair, path: "timeout") else {
                    broken = true
                    continue
                }
                if (1...Int64(maxSeconds) * 1_000).contains(ms) {
                    timeout = ms
                } else {
                    reader.error(.timeoutOutOfRange, Messages.timeoutOutOfRange(Messages.excerpt(pair.value.scalar?.text ?? "")), at: pair.value)
                    broken = true
                }
            case "retries":
                if let n = wholeNumber(pair, in: 0...maxRetries, code: .retriesOutOfRange, message: Messages.retriesOutOfRange, &reader) {
                    retries = n
                } else {
                    broken = true
                }
            case "depends_on": dependsOn = parseNames(pair, &reader) ?? []
            case "retry": retry = parseRetry(pair, &reader)
            default: break
            }
        }
        let context = id.map { "step `\(Messages.excerpt($0.value))`" } ?? "saga step"
        for key in ["id", "action_id", "agent"] where !pairs.contains(where: { $0.key == key }) {
            reader.error(.sagaMissingKey, Messages.sagaMissingKey(key, in: context), at: item.location)
        }
        guard let id, let actionID, let agent, !broken else { return nil }
        if undoAPI == nil, !malformedUndo {
            reader.error(.noCompensation, Messages.noUndoAPI(Messages.excerpt(id.value)), at: id.location,
                         length: id.length, help: Messages.noUndoAPIHelp)
        }
        return SagaStep(id: id, actionID: actionID, agent: agent, executeAPI: executeAPI, undoAPI: undoAPI, timeoutMilliseconds: timeout,
                        retries: retries, checkpointGoal: checkpointGoal, dependsOn: dependsOn, retry: retry, location: item.location)
    }

    // MARK: Fan-outs

    /// fan_out := [ { policy?, (branches | branch_step_ids) }, … ] — `policy` defaults to
    /// `all_must_succeed`, as in the seed.
    private static func parseFanOuts(_ pair: YAMLPair, _ reader: inout StructureReader) -> [FanOutGroup] {
        guard let items = reader.list(pair) else { return [] }
        var groups: [FanOutGroup] = []
        for item in items {
            guard let pairs = item.mapping else {
                reader.error(.wrongType, Messages.wrongItemType(pair.key, expected: "a mapping", found: item.typeName), at: item)
                continue
            }
            reader.checkKeys(pairs, allowed: fanOutKeys, context: "fan-out group")
            var policy: Located<FanOutPolicy>? = Located(.allMustSucceed, at: item.location)
            var branchesPair: YAMLPair?
            var branches: [Located<String>]?
            for entry in pairs {
                switch entry.key {
                case "policy": policy = parseFanOutPolicy(entry, &reader)
                case "branches", "branch_step_ids":
                    if let first = branchesPair {
                        reader.error(.conflictingKeys, Messages.conflictingKeys(entry.key, first.key), atKey: entry,
                                     help: Messages.keepOneOf(first.key, entry.key))
                        continue
                    }
                    branchesPair = entry
                    branches = parseNames(entry, &reader)
                    if let names = branches, names.count < 2 {
                        reader.error(.tooFewBranches, Messages.tooFewBranches(names.count), at: entry.value)
                        branches = nil
                    }
                default: break
                }
            }
            if branchesPair == nil {
                reader.error(.sagaMissingKey, Messages.sagaMissingKey("branches", in: "fan-out group"), at: item.location,
                             help: "list the branch step ids in `branches` (or `branch_step_ids`)")
            }
            if let policy, let branches {
                groups.append(FanOutGroup(policy: policy, branches: branches, location: item.location))
            }
        }
        return groups
    }

    /// policy := `all_must_succeed` | `majority_must_succeed` | `any_must_succeed`
    private static func parseFanOutPolicy(_ pair: YAMLPair, _ reader: inout StructureReader) -> Located<FanOutPolicy>? {
        guard let text = reader.string(pair) else { return nil }
        guard let policy = FanOutPolicy(rawValue: text.value) else {
            let names = FanOutPolicy.allCases.map(\.rawValue)
            reader.error(.unknownFanOutPolicy, Messages.unknownFanOutPolicy(Messages.excerpt(text.value)), at: pair.value,
                         help: Suggestions.didYouMean(text.value, among: names) ?? Messages.expectedOneOf(names))
            return nil
        }
        return Located(policy, at: text.location, length: text.length)
    }

    // MARK: Relations

    /// Checks what relates steps to each other: branch and dependency names, branches listed
    /// twice, and dependency cycles (each reported once, where it closes).
    private static func checkRelations(_ steps: [SagaStep], _ fanOuts: [FanOutGroup], _ reader: inout StructureReader) {
        var index: [String: Int] = [:]
        for (i, step) in steps.enumerated() where index[step.id.value] == nil { index[step.id.value] = i }
        let ids = steps.map(\.id.value)
        /// Reports `name` as naming no step, suggesting the closest id.
        func unknown(_ name: Located<String>, _ context: String) {
            reader.error(.unknownStep, Messages.unknownStep(Messages.excerpt(name.value), in: context),
                         at: name.location, length: name.length, help: Suggestions.didYouMean(name.value, among: ids))
        }
        var branched: Set<String> = []
        for group in fanOuts {
            for branch in group.branches {
                if index[branch.value] == nil {
                    unknown(branch, "fan-out branch")
                } else if !branched.insert(branch.value).inserted {
                    reader.error(.duplicateBranch, Messages.duplicateBranch(Messages.excerpt(branch.value)),
                                 at: branch.location, length: branch.length)
                }
            }
        }
        var edges: [[(target: Int, at: Located<String>)]] = Array(repeating: [], count: steps.count)
        for (i, step) in steps.enumerated() {
            for dependency in step.dependsOn {
                if let target = index[dependency.value] {
                    edges[i].append((target, dependency))
                } else {
                    unknown(dependency, "`depends_on` of step `\(Messages.excerpt(step.id.value))`")
                }
            }
        }
        for cycle in cycles(edges) {
            let names = cycle.path.map { Messages.excerpt(ids[$0]) }
            reader.error(.dependencyCycle, Messages.dependencyCycle(names), at: cycle.at.location, length: cycle.at.length,
                         help: Messages.dependencyCycleHelp)
        }
    }

    /// Every back edge of a depth-first walk in step order, as the cycle it closes (`a → b → a`)
    /// and the `depends_on` entry that closes it. Iterative, so deep chains cannot exhaust the stack.
    private static func cycles(_ edges: [[(target: Int, at: Located<String>)]]) -> [(path: [Int], at: Located<String>)] {
        /// A step's state in the walk.
        enum Mark { case unvisited, onStack, done }
        var mark = Array(repeating: Mark.unvisited, count: edges.count)
        var found: [(path: [Int], at: Located<String>)] = []
        for start in edges.indices where mark[start] == .unvisited {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            mark[start] = .onStack
            while let top = stack.last {
                if top.next == edges[top.node].count {
                    mark[top.node] = .done
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let edge = edges[top.node][top.next]
                switch mark[edge.target] {
                case .unvisited:
                    mark[edge.target] = .onStack
                    stack.append((edge.target, 0))
                case .onStack:
                    let from = stack.firstIndex { $0.node == edge.target } ?? 0
                    found.append((stack[from...].map(\.node) + [edge.target], edge.at))
                case .done:
                    break
                }
            }
        }
        return found
    }

    // MARK: Retry and escalation

    /// retry := { backoff?: `exponential`, initial?: time, multiplier?: 1…10, max?: time, jitter?: 0…1 }
    /// — a time is a number of seconds or a duration (`200ms`, `2m`).
    private static func parseRetry(_ pair: YAMLPair, _ reader: inout StructureReader) -> RetryPolicy? {
        guard let pairs = reader.mapping(pair) else { return nil }
        let before = reader.errorCount
        reader.checkKeys(pairs, allowed: retryKeys, context: "retry")
        var policy = RetryPolicy.defaults
        var initialPair: YAMLPair?, maxPair: YAMLPair?
        for entry in pairs {
            switch entry.key {
            case "backoff":
                guard let text = reader.string(entry) else { continue }
                if text.value != "exponential" {
                    reader.error(.invalidRetryPolicy, Messages.invalidRetrySetting("backoff", Messages.excerpt(text.value),
                                                                                   expected: "`exponential`"), at: entry.value)
                }
            case "initial":
                initialPair = entry
                if let x = seconds(entry, &reader) { policy.initial = x }
            case "multiplier":
                if let x = number(entry, in: 1...10, expected: "a number from 1 to 10", &reader) { policy.multiplier = x }
            case "max":
                maxPair = entry
                if let x = seconds(entry, &reader) { policy.max = x }
            case "jitter":
                if let x = number(entry, in: 0...1, expected: "a number from 0 to 1", &reader) { policy.jitter = x }
            default: break
            }
        }
        guard reader.errorCount == before else { return nil }
        if policy.max < policy.initial {
            let at = maxPair ?? initialPair ?? pair
            reader.error(.invalidRetryPolicy, Messages.retryMaxBelowInitial(max: text(maxPair, default: "60"), initial: text(initialPair, default: "1")),
                         at: at.value)
            return nil
        }
        return policy
    }

    /// on_compensation_failure := { escalate?: `liability`, attempts?: 1…10 }
    private static func parseEscalation(_ pair: YAMLPair, _ reader: inout StructureReader) -> CompensationFailurePolicy? {
        guard let pairs = reader.mapping(pair) else { return nil }
        let before = reader.errorCount
        reader.checkKeys(pairs, allowed: escalationKeys, context: "on_compensation_failure")
        var policy = CompensationFailurePolicy.seed
        for entry in pairs {
            switch entry.key {
            case "escalate":
                guard let text = reader.string(entry) else { continue }
                if let target = EscalationTarget(rawValue: text.value) {
                    policy.escalate = target
                } else {
                    let names = EscalationTarget.allCases.map(\.rawValue)
                    reader.error(.invalidEscalation, Messages.invalidEscalation("escalate", Messages.excerpt(text.value),
                                                                                expected: Messages.list(names, conjunction: "or")),
                                 at: entry.value, help: Suggestions.didYouMean(text.value, among: names))
                }
            case "attempts":
                let found = Messages.excerpt(entry.value.scalar?.text ?? entry.value.typeName)
                switch entry.value.scalar?.value {
                case .integer(let n)? where (1...maxRetries).contains(n):
                    policy.attempts = n
                case .integer?, .float?:
                    reader.error(.invalidEscalation, Messages.invalidEscalation("attempts", found, expected: "a whole number from 1 to 10"),
                                 at: entry.value)
                default:
                    reader.error(.wrongType, Messages.wrongType("attempts", expected: "an integer", found: entry.value.typeName), at: entry.value)
                }
            default: break
            }
        }
        return reader.errorCount == before ? policy : nil
    }

    // MARK: Values

    /// metadata := mapping; scalar values are kept as written, nested values are accepted but not kept.
    private static func parseMetadata(_ pair: YAMLPair, _ reader: inout StructureReader) -> [SagaMetadataEntry] {
        guard let pairs = reader.mapping(pair) else { return [] }
        return pairs.compactMap { entry in entry.value.scalar.map { SagaMetadataEntry(key: entry.key, value: $0.text) } }
    }

    /// A required, non-empty string.
    private static func requiredString(_ pair: YAMLPair, what: String, _ reader: inout StructureReader) -> Located<String>? {
        guard let text = reader.string(pair) else { return nil }
        guard !text.value.isEmpty else {
            reader.error(.emptyString, Messages.emptyString(what), at: pair.value)
            return nil
        }
        return text
    }

    /// An optional string: a string, or `null` for none (as the seed allows).
    private static func optionalString(_ pair: YAMLPair, _ reader: inout StructureReader) -> String? {
        if case .scalar(let scalar) = pair.value.content, case .null = scalar.value { return nil }
        return reader.string(pair)?.value
    }

    /// names := string | [ string, … ] — step ids, none empty.
    private static func parseNames(_ pair: YAMLPair, _ reader: inout StructureReader) -> [Located<String>]? {
        if case .scalar(let scalar) = pair.value.content, case .string(let text) = scalar.value, !text.isEmpty {
            return [Located(text, at: pair.value.location, length: StructureReader.extent(of: pair.value))]
        }
        guard let items = reader.list(pair) else { return nil }
        var names: [Located<String>] = []
        var broken = false
        for item in items {
            guard case .scalar(let scalar) = item.content, case .string(let text) = scalar.value, !text.isEmpty else {
                reader.error(.wrongType, Messages.wrongItemType(pair.key, expected: "a step id", found: item.typeName), at: item)
                broken = true
                continue
            }
            names.append(Located(text, at: item.location, length: StructureReader.extent(of: item)))
        }
        return broken ? nil : names
    }

    /// A whole number in `range`; a number outside it (or not whole) is `code`, another type RF1006.
    private static func wholeNumber(_ pair: YAMLPair, in range: ClosedRange<Int>, code: DiagnosticCode,
                                    message: (String) -> String, _ reader: inout StructureReader) -> Int? {
        switch pair.value.scalar?.value {
        case .integer(let n)? where range.contains(n):
            return n
        case .integer?, .float?:
            reader.error(code, message(Messages.excerpt(pair.value.scalar?.text ?? "")), at: pair.value)
        default:
            reader.error(.wrongType, Messages.wrongType(pair.key, expected: "an integer", found: pair.value.typeName), at: pair.value)
        }
        return nil
    }

    /// A finite number in `range` (RF7010 outside it, RF1006 for another type).
    private static func number(_ pair: YAMLPair, in range: ClosedRange<Double>, expected: String, _ reader: inout StructureReader) -> Double? {
        let value: Double
        switch pair.value.scalar?.value {
        case .integer(let n)?: value = Double(n)
        case .float(let x)?: value = x
        default:
            reader.error(.wrongType, Messages.wrongType(pair.key, expected: "a number", found: pair.value.typeName), at: pair.value)
            return nil
        }
        guard value.isFinite, range.contains(value) else {
            reader.error(.invalidRetryPolicy, Messages.invalidRetrySetting(pair.key, text(pair, default: ""), expected: expected), at: pair.value)
            return nil
        }
        return value
    }

    /// A retry time: a number of seconds or a duration text, above 0 and at most one day (RF7010
    /// outside that, RF1023 for a malformed duration, RF1006 for another type).
    private static func seconds(_ pair: YAMLPair, _ reader: inout StructureReader) -> Double? {
        let expected = "a number of seconds or a duration above 0 and at most 86400 seconds"
        guard case .string? = pair.value.scalar?.value else {
            return number(pair, in: 0.001...Double(maxSeconds), expected: expected, &reader)
        }
        guard let ms = reader.duration(pair, path: "retry.\(pair.key)") else { return nil }
        guard (1...Int64(maxSeconds) * 1_000).contains(ms) else {
            reader.error(.invalidRetryPolicy, Messages.invalidRetrySetting(pair.key, text(pair, default: ""), expected: expected), at: pair.value)
            return nil
        }
        return Double(ms) / 1_000
    }

    /// A value's source text for messages, or `fallback` when the key is absent.
    private static func text(_ pair: YAMLPair?, default fallback: String) -> String {
        guard let pair else { return fallback }
        return Messages.excerpt(pair.value.scalar?.text ?? pair.value.typeName)
    }
}
