/// Wording of the expression checker's messages (RF3xxx).
extension Messages {
    /// `when` must be boolean.
    public static func whenNotBoolean(_ found: String) -> String { "`when` must be a boolean expression, found \(found)" }
    /// An operand of a boolean operator is not boolean.
    public static func operandNotBoolean(_ op: String, _ found: String) -> String { "operand of `\(op)` must be a boolean, found \(found)" }
    /// A list literal holds a non-literal.
    public static let listItemNotLiteral = "list items must be literals (strings, numbers, booleans or null)"
    /// `=~` needs a literal pattern.
    public static let regexNotLiteral = "the pattern of `=~` must be a string literal"
    /// `glob` needs a literal pattern.
    public static let globNotLiteral = "the pattern of `glob` must be a string literal"
    /// An operator applied to the wrong type.
    public static func operatorNeeds(_ op: String, _ wanted: String, _ found: String) -> String { "`\(op)` needs \(wanted), found \(found)" }
    /// `==`/`!=` between types that can never be equal.
    public static func cannotCompare(_ a: String, _ b: String) -> String { "cannot compare \(a) with \(b): they can never be equal" }
    /// Ordering between unorderable types.
    public static func cannotOrder(_ op: String, _ a: String, _ b: String) -> String { "`\(op)` cannot order \(a) and \(b); it takes two numbers or two strings" }
    /// `in` with a right side that is neither list nor string.
    public static func cannotTestMembership(_ a: String, _ b: String) -> String { "`in` cannot look for \(a) in \(b); it takes a list, or a string in a string" }
    /// Unknown function.
    public static func unknownFunction(_ name: String) -> String { "unknown function `\(name)`" }
    /// Wrong number of arguments.
    public static func argumentCount(_ name: String, expected: Int, found: Int) -> String {
        "`\(name)` takes \(expected) argument\(expected == 1 ? "" : "s"), found \(found)"
    }
    /// `has` needs a path.
    public static let hasNeedsPath = "`has` takes a path such as `params.query`"
    /// A function argument of the wrong type.
    public static func functionArgument(_ name: String, _ wanted: String, _ found: String) -> String { "`\(name)` needs \(wanted), found \(found)" }
    /// lower/upper of something that is neither path nor literal.
    public static func transformNeedsPath(_ name: String) -> String { "`\(name)` takes a path or a string literal" }
    /// A field access on a root without fields.
    public static func noFields(_ name: String) -> String { "`\(name)` has no fields" }
    /// A root used without a field.
    public static func needsField(_ name: String) -> String { "`\(name)` needs a field, e.g. `\(name).name`" }
    /// Unknown agent field.
    public static func unknownAgentField(_ name: String) -> String { "unknown field `agent.\(name)`; agents have `id`, `trust`, `ring`, `consensus`, `roles` and `attrs`" }
    /// Unknown path root.
    public static func unknownRoot(_ name: String) -> String { "unknown name `\(name)`; paths start with `agent`, `action`, `resource`, `params` or `context`" }
    /// PCRE2 rejected a regex.
    public static func invalidRegex(_ pattern: String, _ message: String, offset: Int) -> String { "invalid regex `\(pattern)`: \(message) at offset \(offset)" }
    /// Top-level alternation warning.
    public static func regexAlternation(_ pattern: String) -> String { "`|` at the top level of `\(pattern)` splits the whole pattern into alternatives" }
    /// A deny rule's `!=` reads a value that may be absent.
    public static func absentComparison(_ path: String) -> String {
        "`!=` is false when `\(path)` is absent, so this deny rule does not apply to requests without it"
    }
    /// How to make such a deny rule apply to requests without the value.
    public static func absentComparisonHelp(_ path: String) -> String {
        "write `!has(\(path)) || …` to deny those requests too, or `has(\(path)) && …` to state that they are allowed"
    }
    /// A regex nests unbounded quantifiers.
    public static func regexNestedQuantifier(_ group: String) -> String {
        "`\(group)` repeats a repeat: on some inputs it backtracks until the regex work budget runs out, which fails the rule"
    }
    /// A glob failed to compile.
    public static func invalidGlob(_ pattern: String, _ message: String) -> String { "invalid glob `\(pattern)`: \(message)" }
    /// The program needs more glob sets than instructions can address.
    public static func tooManyGlobSets(_ limit: Int) -> String {
        "the policies need more than \(limit) distinct action and resource pattern sets, more than a bundle can address; split them into several bundles"
    }
    /// The program's bundle would be larger than a bundle may be.
    public static func bundleTooLarge(_ bytes: Int, limit: Int) -> String {
        "the policies compile to a bundle of \(bytes) bytes, more than the \(limit) bytes a bundle may hold; split them into several bundles"
    }
    /// Too many registers.
    public static let expressionTooLarge = "the rule's `when` is too large (it needs more than 256 registers)"
    /// Allow rule fully shadowed by a deny.
    public static func shadowed(_ allow: String, by deny: String, line: Int) -> String {
        "allow rule `\(allow)` can never decide: deny rule `\(deny)` (line \(line)) applies wherever it does"
    }
    /// Two policies with one name.
    public static func duplicatePolicy(_ name: String) -> String { "duplicate policy name `\(name)`" }
    /// Ring thresholds disagree.
    public static func conflictingThresholds(_ name: String, _ other: String) -> String {
        "policy `\(name)` declares ring thresholds that differ from those of policy `\(other)`"
    }
}
