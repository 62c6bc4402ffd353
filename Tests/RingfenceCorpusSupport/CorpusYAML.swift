import RingfenceSyntax
import RingfenceVM

/// A malformed corpus file or an unexpected harness failure.
public struct CorpusError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String

    /// Creates an error with its description.
    public init(_ description: String) { self.description = description }
}

/// Strict reading of corpus YAML: every mapping may hold only the keys its reader checks, so a
/// misspelt key in a fixture is an error instead of a check silently dropped.
public enum CorpusYAML {
    /// Loads `text` as the YAML of corpus file `file`; throws on any diagnostic.
    public static func document(_ text: String, file: String) throws -> YAMLNode {
        let loaded = YAMLLoader.load(text: text, file: file)
        guard let root = loaded.document, loaded.diagnostics.isEmpty else {
            throw CorpusError("\(file): not valid YAML: \(loaded.diagnostics.map(\.description))")
        }
        return root
    }

    /// Throws unless `node` is a mapping whose keys all come from `known` and which holds every
    /// key of `required`; `context` names the mapping in messages.
    public static func requireKeys(_ node: YAMLNode, known: [String], required: [String] = [], _ context: String) throws {
        guard let pairs = node.mapping else { throw CorpusError("\(context): expected a mapping, found \(node.typeName)") }
        for pair in pairs where !known.contains(pair.key) {
            throw CorpusError("\(context): unknown key `\(pair.key)` at line \(pair.keyLocation.line) (known keys: "
                              + known.map { "`\($0)`" }.joined(separator: ", ") + ")")
        }
        for key in required where node[key] == nil { throw CorpusError("\(context): missing key `\(key)`") }
    }

    /// The request value a YAML node stands for (mappings become objects, sequences lists,
    /// core-schema scalars their values; the first of repeated keys wins) — the same reading as
    /// the facade's `Value(yaml:)`, without linking the compiler.
    public static func value(_ node: YAMLNode) -> Value {
        switch node.content {
        case .scalar(let s):
            switch s.value {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .integer(let i): return .number(Double(i))
            case .float(let x): return .number(x)
            case .string(let text): return .string(text)
            }
        case .sequence(let items): return .list(items.map(value))
        case .mapping(let pairs):
            var object: [String: Value] = [:]
            for pair in pairs where object[pair.key] == nil { object[pair.key] = value(pair.value) }
            return .object(object)
        }
    }
}

extension YAMLNode {
    /// The scalar's text when this is a string scalar (quoted or plain, not null/bool/number).
    public var stringValue: String? {
        guard case .scalar(let s) = content else { return nil }
        switch s.value {
        case .string(let text): return text
        default: return nil
        }
    }

    /// The scalar's text whatever its resolved type (`null` for a null scalar).
    public var scalarText: String? {
        guard case .scalar(let s) = content else { return nil }
        return s.text
    }

    /// True when this is a null scalar.
    public var isNull: Bool {
        guard case .scalar(let s) = content, case .null = s.value else { return false }
        return true
    }

    /// The scalar as a number when it is an integer or float.
    public var numberValue: Double? {
        guard case .scalar(let s) = content else { return nil }
        switch s.value {
        case .integer(let i): return Double(i)
        case .float(let x): return x
        default: return nil
        }
    }
}
