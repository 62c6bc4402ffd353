import RingfenceVM

// The fields of operations (SPEC §13): each field has a type, and the dispatcher turns a JSON
// value into a typed argument — or the error code of what is wrong with it — before any
// handler runs. `null` counts as absent.

/// A field an operation takes.
public struct OperationField: Sendable {
    /// Its name in the operation's JSON object.
    public var name: String
    /// What it holds.
    public var type: OperationFieldType
    /// True when the operation needs it.
    public var required: Bool

    /// A required field.
    static func required(_ name: String, _ type: OperationFieldType) -> OperationField {
        OperationField(name: name, type: type, required: true)
    }

    /// An optional field.
    static func optional(_ name: String, _ type: OperationFieldType) -> OperationField {
        OperationField(name: name, type: type, required: false)
    }
}

/// The types a field may have.
public enum OperationFieldType: Sendable {
    /// An id (SPEC §8.1): `invalid_id` when it does not have the shape.
    case id
    /// A string of at most `OperationFieldType.maxText` bytes.
    case text
    /// A number from 0 to 1.
    case trust
    /// A whole number from 0 to 3.
    case ring
    /// `true` or `false`.
    case bool
    /// A number of seconds, or a duration text (`500ms`, `30s`, `5m`, `1h`, `7d`).
    case duration
    /// One of the listed strings.
    case choice([String])
    /// Any JSON value.
    case json
    /// A request (SPEC §1): `invalid_request` when it is not one.
    case request
    /// The `sessions` keys of SPEC §7: `{max_participants?, ttl?, min_trust?}`.
    case sessionConfig
    /// A type with its own check (`summary` is how the docs write it).
    case custom(String, @Sendable (Value, String) throws(RuntimeError) -> ArgumentValue)

    /// The longest `text`, in bytes.
    public static let maxText = 4_096

    /// How the docs write the type.
    public var summary: String {
        switch self {
        case .id: "id"
        case .text: "string"
        case .trust: "number 0–1"
        case .ring: "ring 0–3"
        case .bool: "boolean"
        case .duration: "seconds or duration"
        case .choice(let words): words.map { "`\($0)`" }.joined(separator: " \\| ")
        case .json: "any JSON"
        case .request: "a request"
        case .sessionConfig: "`{max_participants?, ttl?, min_trust?}`"
        case .custom(let summary, _): summary
        }
    }
}

/// A field's value once checked.
public enum ArgumentValue: Sendable {
    /// An id, text or choice.
    case string(String)
    /// A trust.
    case number(Double)
    /// A ring.
    case integer(Int)
    /// A boolean.
    case bool(Bool)
    /// A duration, in milliseconds.
    case milliseconds(Int64)
    /// Any JSON.
    case json(Value)
    /// A request.
    case request(Request)
    /// Session settings.
    case overrides(SessionOverrides)
}

/// An operation's checked fields, by name.
public struct OperationArguments: Sendable {
    /// The values present.
    public var values: [String: ArgumentValue]

    /// A string field.
    public func string(_ name: String) -> String? {
        if case .string(let s)? = values[name] { return s }
        return nil
    }

    /// A required string field (the dispatcher checked it is there).
    func requiredString(_ name: String) throws(RuntimeError) -> String {
        guard let s = string(name) else { throw RuntimeError(.missingField, OperationMessages.missingField(name)) }
        return s
    }

    /// A number field.
    public func number(_ name: String) -> Double? {
        if case .number(let x)? = values[name] { return x }
        return nil
    }

    /// An integer field.
    public func integer(_ name: String) -> Int? {
        if case .integer(let n)? = values[name] { return n }
        return nil
    }

    /// A boolean field.
    public func bool(_ name: String) -> Bool? {
        if case .bool(let b)? = values[name] { return b }
        return nil
    }

    /// A duration field, in milliseconds.
    public func milliseconds(_ name: String) -> Int64? {
        if case .milliseconds(let ms)? = values[name] { return ms }
        return nil
    }

    /// A JSON field.
    public func json(_ name: String) -> Value? {
        if case .json(let v)? = values[name] { return v }
        return nil
    }

    /// A request field.
    public func request(_ name: String) -> Request? {
        if case .request(let r)? = values[name] { return r }
        return nil
    }

    /// A session-settings field.
    public func overrides(_ name: String) -> SessionOverrides? {
        if case .overrides(let o)? = values[name] { return o }
        return nil
    }
}

extension OperationFieldType {
    /// Checks `value` for field `name` and returns it typed.
    func check(_ value: Value, field name: String) throws(RuntimeError) -> ArgumentValue {
        switch self {
        case .id:
            guard case .string(let s) = value else { throw Self.wrongType(name, "a string") }
            guard RuntimeID.isValid(s) else { throw RuntimeError(.invalidID, RuntimeMessages.invalidID("field `\(name)`:", s)) }
            return .string(s)
        case .text:
            guard case .string(let s) = value else { throw Self.wrongType(name, "a string") }
            guard s.utf8.count <= Self.maxText else {
                throw RuntimeError(.invalidField, "field `\(name)` is longer than \(Self.maxText) bytes")
            }
            return .string(s)
        case .trust:
            guard case .number(let x) = value else { throw Self.wrongType(name, "a number") }
            guard x >= 0, x <= 1 else { throw RuntimeError(.invalidField, RuntimeMessages.trustOutOfRange(name)) }
            return .number(x)
        case .ring:
            guard case .number(let x) = value, x == x.rounded(), x >= 0, x <= 3 else {
                throw RuntimeError(.invalidField, "field `\(name)` must be a whole number from 0 to 3")
            }
            return .integer(Int(x))
        case .bool:
            guard case .bool(let b) = value else { throw Self.wrongType(name, "`true` or `false`") }
            return .bool(b)
        case .duration:
            return .milliseconds(try Self.duration(value, field: name))
        case .choice(let words):
            guard case .string(let s) = value, words.contains(s) else {
                throw RuntimeError(.invalidField, "field `\(name)` must be one of " + words.map { "`\($0)`" }.joined(separator: ", "))
            }
            return .string(s)
        case .json:
            return .json(value)
        case .request:
            do {
                return .request(try Request(value: value))
            } catch {
                throw RuntimeError(.invalidRequest, "field `\(name)`: \(error.message)")
            }
        case .sessionConfig:
            return .overrides(try Self.sessionConfig(value, field: name))
        case .custom(_, let check):
            return try check(value, name)
        }
    }

    /// A duration: a number of seconds, or a duration text.
    static func duration(_ value: Value, field name: String) throws(RuntimeError) -> Int64 {
        let ms: Int64? = switch value {
        case .number(let seconds): RuntimeDuration.milliseconds(seconds)
        case .string(let text): RuntimeDuration.milliseconds(text: text)
        default: nil
        }
        guard let ms else {
            throw RuntimeError(.invalidField, "field `\(name)` must be a number of seconds or a duration such as `30s`, `5m` or `1h` (at most 365d)")
        }
        return ms
    }

    /// `{max_participants?, ttl?, min_trust?}`.
    static func sessionConfig(_ value: Value, field name: String) throws(RuntimeError) -> SessionOverrides {
        guard case .object(let members) = value else { throw wrongType(name, "an object") }
        let known = ["max_participants", "ttl", "min_trust"]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw RuntimeError(.unknownField, "unknown field `\(name).\(unknown)`; expected " + known.map { "`\($0)`" }.joined(separator: ", "))
        }
        var overrides = SessionOverrides()
        if let value = members["max_participants"], value != .null {
            guard case .number(let x) = value, x == x.rounded(), abs(x) < 1e9 else {
                throw RuntimeError(.invalidField, "field `\(name).max_participants` must be a whole number")
            }
            overrides.maxParticipants = Int(x)
        }
        if let value = members["ttl"], value != .null { overrides.ttl = try duration(value, field: "\(name).ttl") }
        if let value = members["min_trust"], value != .null {
            guard case .number(let x) = value else { throw wrongType("\(name).min_trust", "a number") }
            overrides.minTrust = x
        }
        return overrides
    }

    /// `invalid_field`: the field has another type.
    static func wrongType(_ name: String, _ expected: String) -> RuntimeError {
        RuntimeError(.invalidField, "field `\(name)` must be \(expected)")
    }
}
