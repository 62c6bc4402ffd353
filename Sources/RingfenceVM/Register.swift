/// A VM register or decoded request slot: a tagged value with no owned storage.
///
/// ```
/// +-----+-------+---------+----------------+---------+---------+
/// | tag | space | boolean |     number     | offset  |  count  |
/// | u8  |  u8   |  u8     |      f64       |  i32    |  i32    |
/// +-----+-------+---------+----------------+---------+---------+
/// ```
/// Strings are `count` bytes at `offset` in the request's byte arena (space 0) or the program's
/// constant arena (space 1); lists are `count` items at `offset` in the matching item table.
/// Registers hold no references, so filling and copying them never retains or allocates.
struct Register {
    /// The value's type.
    var tag: Tag
    /// Which arena a string or list lives in.
    var space: UInt8
    /// A boolean's value.
    var boolean: Bool
    /// A number's value.
    var number: Double
    /// A string's or list's start.
    var offset: Int32
    /// A string's byte length or a list's item count.
    var count: Int32

    /// The value kinds a register can hold.
    enum Tag: UInt8 {
        /// The path was not in the request.
        case absent = 0
        case null, bool, number, string, list, object
        /// The value could not be computed (e.g. `lower` of a number); reading it is a rule error.
        case error
    }

    /// The arena of request data.
    static let requestSpace: UInt8 = 0
    /// The arena of program constants.
    static let constantSpace: UInt8 = 1

    /// An absent value.
    static let absent = Register(tag: .absent, space: 0, boolean: false, number: 0, offset: 0, count: 0)
    /// The error marker for a value of the wrong type.
    static let error = Register.error(.typeMismatch)

    /// The error marker for `fault` (kept in `space`, which errors do not otherwise use).
    static func error(_ fault: RuleFault) -> Register {
        Register(tag: .error, space: fault.rawValue, boolean: false, number: 0, offset: 0, count: 0)
    }

    /// The fault an error marker carries.
    var fault: RuleFault { RuleFault(rawValue: space) ?? .typeMismatch }

    /// A boolean value.
    static func bool(_ b: Bool) -> Register { Register(tag: .bool, space: 0, boolean: b, number: 0, offset: 0, count: 0) }
    /// A number value.
    static func number(_ x: Double) -> Register { Register(tag: .number, space: 0, boolean: false, number: x, offset: 0, count: 0) }
    /// A null value.
    static let null = Register(tag: .null, space: 0, boolean: false, number: 0, offset: 0, count: 0)
    /// An object marker (objects are reached field by field through slots, never as a whole).
    static let object = Register(tag: .object, space: 0, boolean: false, number: 0, offset: 0, count: 0)
}

/// Byte and item storage that registers point into, built once (request decode or program load).
struct Arena {
    /// UTF-8 bytes of every string.
    var bytes: [UInt8] = []
    /// Items of every list.
    var items: [Register] = []

    /// Appends a string and returns its register.
    mutating func string(_ s: String, space: UInt8) -> Register {
        let offset = bytes.count
        bytes.append(contentsOf: s.utf8)
        return Register(tag: .string, space: space, boolean: false, number: 0, offset: Int32(truncatingIfNeeded: offset), count: Int32(truncatingIfNeeded: s.utf8.count))
    }

    /// Appends a request value (lists recursively) and returns its register.
    mutating func value(_ v: Value, space: UInt8, depth: Int = 0) -> Register {
        switch v {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let x): return .number(x)
        case .string(let s): return string(s, space: space)
        case .object: return .object
        case .list(let list):
            // Items are converted first so nested lists land before the outer list's own run.
            guard depth < 64 else { return .error }
            let converted = list.map { value($0, space: space, depth: depth + 1) }
            let offset = items.count
            items.append(contentsOf: converted)
            return Register(tag: .list, space: space, boolean: false, number: 0, offset: Int32(truncatingIfNeeded: offset), count: Int32(truncatingIfNeeded: converted.count))
        }
    }
}
