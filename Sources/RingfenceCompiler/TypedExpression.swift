import RingfenceBytecode
import RingfenceSyntax

/// The static type of a `when` expression (SPEC §3.4). `dynamic` is a value read from
/// `params`, `context` or `agent.attrs`, whose type is only known at run time.
enum StaticType: Equatable, CustomStringConvertible {
    case string, number, bool, null, list, dynamic

    /// The type's name in messages.
    var description: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        case .list: "list"
        case .dynamic: "dynamic value"
        }
    }

    /// True when a value of this type may be a `t` at run time.
    func admits(_ t: StaticType) -> Bool { self == .dynamic || self == t }
}

/// A checked expression: paths resolved to slots, patterns validated, types known.
indirect enum TypedExpression {
    case constant(Constant)
    case slot(SlotEntry)
    case has(SlotEntry)
    case not(TypedExpression)
    case and(TypedExpression, TypedExpression)
    case or(TypedExpression, TypedExpression)
    case compare(ComparisonOperator, TypedExpression, TypedExpression)
    case regex(TypedExpression, pattern: String)
    case glob(TypedExpression, pattern: String)
    case builtin(Builtin, [TypedExpression])

    /// Functions that become a single instruction.
    enum Builtin {
        case startsWith, endsWith, contains, length
    }
}
