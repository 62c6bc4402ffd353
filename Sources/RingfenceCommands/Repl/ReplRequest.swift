import Ringfence

/// The request a REPL session builds field by field: a JSON object that may still lack
/// required fields, checked against the request shape after every change.
struct ReplRequest: Sendable {
    /// The request's members as set so far.
    private(set) var members: [String: Value] = [:]

    /// The request as compact JSON text (keys sorted), `{}` when nothing is set.
    var jsonText: String { Value.object(members).jsonText }

    /// True when no field is set.
    var isEmpty: Bool { members.isEmpty }

    /// Forgets every field.
    mutating func clear() { members = [:] }

    /// The request decoded for evaluation, or the request shape's error.
    func decoded() -> Result<Request, RequestError> {
        Result { () throws(RequestError) -> Request in try Request(value: .object(members)) }
    }

    /// The request decoded with placeholders for a missing `agent.id` or `action` (for `:when`),
    /// and the names of the fields that were filled in.
    func decodedWithPlaceholders() -> (Result<Request, RequestError>, filled: [String]) {
        let (object, filled) = Self.withPlaceholders(members)
        return (Result { () throws(RequestError) -> Request in try Request(value: .object(object)) }, filled)
    }

    /// Sets the field at `path` (already checked by `ReplPath.parse`) to `value`; refuses values
    /// the request shape does not accept and leaves the request unchanged then.
    mutating func set(_ value: Value, at path: [String]) -> RequestError? {
        let updated = Self.setting(value, at: path[...], in: members)
        if let error = Self.shapeError(updated) { return error }
        members = updated
        return nil
    }

    /// Replaces the whole request with a pasted JSON object; refuses shapes it cannot take.
    mutating func replace(with object: [String: Value]) -> RequestError? {
        if let error = Self.shapeError(object) { return error }
        members = object
        return nil
    }

    /// The shape error `object` has once its missing required fields are filled in, if any.
    private static func shapeError(_ object: [String: Value]) -> RequestError? {
        do {
            _ = try Request(value: .object(withPlaceholders(object).object))
            return nil
        } catch {
            return error
        }
    }

    /// `object` with `agent.id` and `action` set to the placeholder where they are absent.
    private static func withPlaceholders(_ object: [String: Value]) -> (object: [String: Value], filled: [String]) {
        var object = object
        var filled: [String] = []
        switch object["agent"] {
        case nil:
            object["agent"] = .object(["id": .string(ReplSession.placeholder)])
            filled.append("agent.id")
        case .object(var agent)? where agent["id"] == nil:
            agent["id"] = .string(ReplSession.placeholder)
            object["agent"] = .object(agent)
            filled.append("agent.id")
        default: break
        }
        if object["action"] == nil {
            object["action"] = .string(ReplSession.placeholder)
            filled.append("action")
        }
        return (object, filled)
    }

    /// `object` with `value` stored at `path`, creating (or replacing) objects along the way.
    private static func setting(_ value: Value, at path: ArraySlice<String>, in object: [String: Value]) -> [String: Value] {
        guard let key = path.first else { return object }
        var object = object
        if path.count == 1 {
            object[key] = value
        } else {
            var inner: [String: Value] = [:]
            if case .object(let existing)? = object[key] { inner = existing }
            object[key] = .object(setting(value, at: path.dropFirst(), in: inner))
        }
        return object
    }
}

/// Reading the two halves of `path = value`.
enum ReplPath {
    /// The roots of a request path.
    static let roots = ["agent", "action", "resource", "params", "context"]
    /// The fields of `agent`.
    static let agentFields = ["id", "trust", "ring", "consensus", "roles", "attrs"]

    /// Why a path was refused.
    enum Failure: Error, Equatable {
        /// The text is not a path at all.
        case malformed
        /// A name the request does not have, with the closest known spelling.
        case unknown(suggestion: String?)
    }

    /// Parses and checks a field path.
    ///
    /// ```
    /// path     = name { "." name | "[" string "]" }
    /// name     = 1*( letter | digit | "_" | "-" | ":" )
    /// ```
    /// The root must be a request field; `agent` takes one of its fields (`attrs` any depth
    /// below it); `action` and `resource` take nothing below; `params` and `context` any depth.
    static func parse(_ text: String) -> Result<[String], Failure> {
        guard let segments = segments(of: text), let root = segments.first else { return .failure(.malformed) }
        guard roots.contains(root) else {
            return .failure(.unknown(suggestion: Suggestions.closest(to: root, among: roots).map {
                ([$0] + segments.dropFirst()).joined(separator: ".")
            }))
        }
        switch root {
        case "action", "resource":
            if segments.count > 1 { return .failure(.unknown(suggestion: root)) }
        case "agent":
            if segments.count >= 2 {
                let field = segments[1]
                guard agentFields.contains(field) else {
                    return .failure(.unknown(suggestion: Suggestions.closest(to: field, among: agentFields).map {
                        (["agent", $0] + segments.dropFirst(2)).joined(separator: ".")
                    }))
                }
                if field != "attrs", segments.count > 2 { return .failure(.unknown(suggestion: "agent.\(field)")) }
            }
        default: break
        }
        return .success(segments)
    }

    /// The names in a path, or nil when it does not scan.
    private static func segments(of text: String) -> [String]? {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        var out: [String] = []
        func name() -> String? {
            var s = String.UnicodeScalarView()
            while i < scalars.count, isNameScalar(scalars[i]) {
                s.append(scalars[i])
                i += 1
            }
            return s.isEmpty ? nil : String(s)
        }
        guard let first = name() else { return nil }
        out.append(first)
        while i < scalars.count {
            if scalars[i] == "." {
                i += 1
                guard let next = name() else { return nil }
                out.append(next)
            } else if scalars[i] == "[" {
                i += 1
                guard i < scalars.count, scalars[i] == "\"" || scalars[i] == "'" else { return nil }
                let quote = scalars[i]
                i += 1
                var key = String.UnicodeScalarView()
                while i < scalars.count, scalars[i] != quote {
                    if scalars[i] == "\\", i + 1 < scalars.count { i += 1 }
                    key.append(scalars[i])
                    i += 1
                }
                guard i + 1 < scalars.count, scalars[i + 1] == "]" else { return nil }
                i += 2
                out.append(String(key))
            } else {
                return nil
            }
        }
        return out
    }

    /// True for the scalars a bare path name may hold.
    private static func isNameScalar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ":": true
        default: false
        }
    }

    /// Reads a value: a JSON literal, or (when it is not one and does not look like one) a bare
    /// word taken as a string, so `action = fs.read` needs no quotes.
    static func value(_ text: String) -> Result<Value, JSONParseError> {
        do {
            return .success(try JSONParser.parse(text))
        } catch {
            if let first = text.unicodeScalars.first, ["\"", "[", "{"].contains(first) { return .failure(error) }
            return .success(.string(text))
        }
    }
}
