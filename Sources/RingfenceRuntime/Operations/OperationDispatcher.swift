import RingfenceWire
import RingfenceAudit
import RingfenceDiagnostics
import RingfenceVM

// The one dispatcher behind every transport (SPEC §13): a JSON object in, a result out.
//
// Checks, in order, each with its code: the line is a JSON object (`invalid_json`); `op` names
// an operation (`unknown_op`); every field is one the operation takes, or `at` (`unknown_field`,
// the first in sorted order); `at` is an RFC 3339 time (`invalid_field`); every required field
// is present (`missing_field`, in the table's order); every field has its type (`invalid_field`,
// `invalid_id`, `invalid_request`, in the table's order). Only then is the clock moved to `at`
// (`clock_backwards`) and the handler run. A failed check changes nothing.

/// What one operation gave: its name (when the line named one) and its result or error.
public struct OperationOutcome: Sendable {
    /// The `op` as given (nil when the line had none).
    public var op: String?
    /// The result, or why it failed.
    public var result: Result<Value, RuntimeError>

    /// An outcome (for transports that run an operation themselves and print its line).
    public init(op: String?, result: Result<Value, RuntimeError>) {
        self.op = op
        self.result = result
    }

    /// True when the operation succeeded.
    public var ok: Bool {
        if case .success = result { return true }
        return false
    }

    /// The result line: `{"op":…,"ok":true,"result":{…}}` or
    /// `{"op":…,"ok":false,"error":{"code":…,"message":…}}`.
    public var line: String {
        var out = "{\"op\":"
        if let op { out += JSONText.quote(op) } else { out += "null" }
        switch result {
        case .success(let value):
            out += ",\"ok\":true,\"result\":"
            ResultWriter.write(value, into: &out)
        case .failure(let error):
            out += ",\"ok\":false,\"error\":{\"code\":"
            out += JSONText.quote(error.code.rawValue)
            out += ",\"message\":"
            out += JSONText.quote(error.message)
            out += "}"
        }
        out += "}"
        return out
    }
}

/// Runs operations given as JSON against one runtime.
public struct OperationDispatcher: Sendable {
    /// The runtime operations run against.
    public let runtime: Runtime

    /// A dispatcher over `runtime`.
    public init(_ runtime: Runtime) {
        self.runtime = runtime
    }

    /// Parses one line of JSON and runs it.
    public func dispatch(line bytes: UnsafeBufferPointer<UInt8>) -> OperationOutcome {
        do {
            return dispatch(try JSONParser.parse(bytes))
        } catch {
            return OperationOutcome(op: nil, result: .failure(RuntimeError(.invalidJSON, "the line is not json: \(error.message)")))
        }
    }

    /// Parses one line of JSON text and runs it.
    public func dispatch(line text: String) -> OperationOutcome {
        var text = text
        return text.withUTF8 { dispatch(line: $0) }
    }

    /// Runs one operation given as a JSON object.
    public func dispatch(_ value: Value) -> OperationOutcome {
        guard case .object(let members) = value else {
            return OperationOutcome(op: nil, result: .failure(RuntimeError(.invalidJSON, "the line is a json \(value.typeName), not an object")))
        }
        guard case .string(let name)? = members["op"] else {
            return OperationOutcome(op: nil, result: .failure(RuntimeError(.unknownOp, OperationMessages.missingOp)))
        }
        guard let operation = Operation.byName[name] else {
            return OperationOutcome(op: name, result: .failure(RuntimeError(.unknownOp, OperationMessages.unknownOp(name))))
        }
        do {
            let (arguments, at) = try Self.arguments(of: operation, members)
            if let at { try runtime.advanceClock(to: at) }
            return OperationOutcome(op: name, result: .success(try operation.handler(runtime, arguments)))
        } catch {
            return OperationOutcome(op: name, result: .failure(error))
        }
    }

    /// Checks `members` against `operation`'s fields; returns them typed, and `at` in µs.
    static func arguments(of operation: Operation, _ members: [String: Value]) throws(RuntimeError) -> (OperationArguments, Int64?) {
        let names = operation.fields.map(\.name)
        if let unknown = members.keys.sorted().first(where: { $0 != "op" && $0 != Operation.atField && !names.contains($0) }) {
            throw RuntimeError(.unknownField, OperationMessages.unknownField(unknown, op: operation.name, known: names))
        }
        var at: Int64?
        if let value = members[Operation.atField], value != .null {
            guard case .string(let text) = value, let micros = RuntimeTime.parse(text) else {
                let found = if case .string(let text) = value { text } else { value.jsonText }
                throw RuntimeError(.invalidField, OperationMessages.badTime(found))
            }
            at = micros
        }
        for field in operation.fields where field.required {
            if members[field.name] == nil || members[field.name] == .null {
                throw RuntimeError(.missingField, OperationMessages.missingField(field.name))
            }
        }
        var values: [String: ArgumentValue] = [:]
        for field in operation.fields {
            guard let value = members[field.name], value != .null else { continue }
            values[field.name] = try field.type.check(value, field: field.name)
        }
        return (OperationArguments(values: values), at)
    }
}

/// Compact JSON for results: numbers as RFC 8785 writes them (ECMAScript's shortest form, so
/// `0.000001`, never `1e-06`), object keys sorted, except that a decision's keys come in the
/// order of SPEC §1 (`decision`, `code`, `policy`, `rule`, `reason`, `ring`, then
/// `retry_after`), so a decision reads as `ringfence eval` prints it.
enum ResultWriter {
    /// The decision's keys in their order.
    static let decisionKeys = ["decision", "code", "policy", "rule", "reason", "ring", "retry_after"]

    /// Appends `value` to `out`.
    static func write(_ value: Value, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let x): out += ECMAScriptNumber.format(x) ?? "null"
        case .string(let s): out += JSONText.quote(s)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in orderedKeys(members).enumerated() {
                if i > 0 { out += "," }
                out += JSONText.quote(key)
                out += ":"
                if let member = members[key] { write(member, into: &out) }
            }
            out += "}"
        }
    }

    /// The keys in writing order.
    static func orderedKeys(_ members: [String: Value]) -> [String] {
        let sorted = members.keys.sorted()
        guard members["decision"] != nil, members["code"] != nil, members["reason"] != nil else { return sorted }
        let leading = decisionKeys.filter { members[$0] != nil }
        return leading + sorted.filter { !decisionKeys.contains($0) }
    }
}
