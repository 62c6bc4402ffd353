import RingfenceSyntax

extension Value {
    /// Converts a YAML node into a request value (mappings become objects, sequences lists,
    /// core-schema scalars their values). Depth is bounded by the YAML loader's nesting limit.
    public init(yaml node: YAMLNode) {
        switch node.content {
        case .scalar(let s):
            switch s.value {
            case .null: self = .null
            case .bool(let b): self = .bool(b)
            case .integer(let i): self = .number(Double(i))
            case .float(let x): self = .number(x)
            case .string(let text): self = .string(text)
            }
        case .sequence(let items): self = .list(items.map(Value.init(yaml:)))
        case .mapping(let pairs):
            var object: [String: Value] = [:]
            for pair in pairs where object[pair.key] == nil { object[pair.key] = Value(yaml: pair.value) }
            self = .object(object)
        }
    }
}
