import Ringfence

/// Every message the REPL writes itself (compiler and request errors carry their own).
enum ReplMessages {
    /// The prompt shown before each line in a terminal.
    static let prompt = "ringfence> "

    /// The first line of an interactive session.
    static let banner = "ringfence repl — `:help` lists the commands, `:quit` or ctrl-d leaves"

    /// A line that starts with `:` but names no command.
    static func unknownCommand(_ word: String, suggestion: String?) -> String {
        "error: unknown command `\(word)`" + (suggestion.map { "; did you mean `\($0)`?" } ?? "; `:help` lists the commands")
    }

    /// A line that is neither a command, an assignment nor a JSON request.
    static func notUnderstood(_ line: String, suggestion: String?) -> String {
        "error: cannot read `\(line)`" + (suggestion.map { "; did you mean `\($0)`?" }
            ?? "; expected a `:command`, `path = value` or a json request")
    }

    /// A command given arguments it does not take, or missing the ones it needs.
    static func usage(_ usage: String) -> String { "error: usage: `\(usage)`" }

    /// A command that needs policies before any were loaded.
    static let noPolicies = "error: no policies are loaded; load some with `:load PATH…`"

    /// `:reload` before any `:load`.
    static let nothingToReload = "error: nothing to reload; load policies with `:load PATH…`"
    /// A session command without a current session.
    static let noSession = "error: no session yet; create one with `:session [ID]`"

    /// The summary after a successful load.
    static func loaded(files: Int, policies: Int, rules: Int, warnings: Int) -> String {
        "loaded \(CLIMessages.count(files, "file")): \(CLIMessages.count(policies, "policy", "policies")), "
            + "\(CLIMessages.count(rules, "rule")), \(CLIMessages.count(warnings, "warning"))"
    }

    /// The summary after a load that found errors.
    static func loadFailed(errors: Int, kept: Bool) -> String {
        "error: \(CLIMessages.count(errors, "error")) in the policies; "
            + (kept ? "the policies loaded before stay in force" : "no policies are loaded")
    }

    /// An assignment to a path the request shape does not have.
    static func unknownPath(_ path: String, suggestion: String?) -> String {
        "error: `\(path)` is not a request field" + (suggestion.map { "; did you mean `\($0)`?" }
            ?? "; fields are agent.id, agent.trust, agent.ring, agent.consensus, agent.roles, agent.attrs.X, action, resource, params.X, context.X")
    }

    /// An assignment whose path does not parse.
    static func malformedPath(_ path: String) -> String {
        "error: `\(path)` is not a field path; write e.g. `params.query` or `params[\"a.b\"]`"
    }

    /// An assignment whose value looks like JSON but is not.
    static func malformedValue(_ value: String, reason: String) -> String {
        "error: `\(value)` is not a json value: \(reason)"
    }

    /// `path == value` typed where an assignment or `:when` was meant.
    static let comparisonNotAssignment = "error: `==` compares; set a field with `path = value` or test an expression with `:when EXPR`"

    /// A request or assignment the request shape refuses.
    static func requestRefused(_ error: RequestError) -> String {
        "error[\(error.code.rawValue)]: \(error.message)"
    }

    /// A pasted line that is not a JSON object.
    static func pastedJSON(_ error: JSONParseError) -> String {
        "error[\(DiagnosticCode.requestJSON.rawValue)]: \(error.line):\(error.column): \(error.message)"
    }

    /// `:bytecode` naming no rule of the loaded policies.
    static func unknownRule(_ name: String, suggestion: String?) -> String {
        "error: no rule `\(name)` is loaded" + (suggestion.map { "; did you mean `\($0)`?" } ?? "; `:rules` lists them")
    }

    /// `:bytecode` naming a rule id that several policies use.
    static func ambiguousRule(_ name: String, candidates: [String]) -> String {
        "error: rule `\(name)` is in several policies (" + candidates.map { "`\($0)`" }.joined(separator: ", ")
            + "); name one as `policy/id`"
    }

    /// The note under a `:when` result computed with placeholder request fields.
    static func placeholders(_ fields: [String]) -> String {
        "note: the request has no " + fields.map { "`\($0)`" }.joined(separator: " or ")
            + "; evaluated with the placeholder `\(ReplSession.placeholder)`"
    }
}
