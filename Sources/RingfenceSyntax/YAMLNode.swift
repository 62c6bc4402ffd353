import RingfenceDiagnostics

/// A YAML node with the location of its first character.
///
/// Built by `YAMLLoader` from libyaml events; aliases are already expanded, keys are scalars,
/// and nesting never exceeds `YAMLLimits.maxDepth`, so recursive walks are bounded.
public struct YAMLNode: Sendable {
    /// Where the node starts (for a scalar: its first character, quote included).
    public var location: SourceLocation
    /// What the node holds.
    public var content: Content

    /// The three YAML node kinds.
    public enum Content: Sendable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    /// Creates a node.
    public init(location: SourceLocation, content: Content) {
        self.location = location
        self.content = content
    }

    /// The scalar, when this node is one.
    public var scalar: YAMLScalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    /// The items, when this node is a sequence.
    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// The pairs, when this node is a mapping.
    public var mapping: [YAMLPair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The value for `key` when this node is a mapping holding it.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key == key }?.value
    }

    /// A short name of the node's type for messages: `string`, `number`, `boolean`, `null`,
    /// `list` or `mapping`.
    public var typeName: String {
        switch content {
        case .sequence: "list"
        case .mapping: "mapping"
        case .scalar(let s):
            switch s.value {
            case .null: "null"
            case .bool: "boolean"
            case .integer, .float: "number"
            case .string: "string"
            }
        }
    }
}

/// One `key: value` entry of a mapping; the key is always a scalar's text.
public struct YAMLPair: Sendable {
    /// The key's text.
    public var key: String
    /// Where the key starts.
    public var keyLocation: SourceLocation
    /// The value node.
    public var value: YAMLNode

    /// Creates a pair.
    public init(key: String, keyLocation: SourceLocation, value: YAMLNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}

/// A scalar: its text as written (after YAML unescaping), its style and its resolved value under
/// the YAML 1.2 core schema (quoted and block scalars are always strings).
public struct YAMLScalar: Sendable, Hashable {
    /// The scalar's text after YAML processing (escapes resolved, folding applied).
    public var text: String
    /// How the scalar was written.
    public var style: Style
    /// The value under the YAML 1.2 core schema.
    public var value: Value

    /// How a scalar was written in the source.
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// A resolved core-schema value.
    public enum Value: Sendable, Hashable {
        case null
        case bool(Bool)
        case integer(Int)
        case float(Double)
        case string(String)
    }

    /// Creates a scalar.
    public init(text: String, style: Style, value: Value) {
        self.text = text
        self.style = style
        self.value = value
    }
}

/// Limits that keep hostile YAML from exhausting time or memory.
public struct YAMLLimits: Sendable {
    /// The deepest nesting of collections allowed.
    public var maxDepth: Int = 64
    /// The most nodes a document may expand to, aliases included.
    public var maxNodes: Int = 1_000_000
    /// The largest file accepted, in bytes.
    public var maxBytes: Int = 16 << 20
    /// The default limits.
    public static let `default` = YAMLLimits()
    /// Creates the default limits.
    public init() {}
}
