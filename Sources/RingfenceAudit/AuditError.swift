/// An audit-format error: what was malformed and why, in one lowercase line.
///
/// Every failure of the audit primitives is one of these; nothing here traps on bad input. The
/// `kind` says which format was at fault, so a caller can tell unreadable input from a broken
/// chain; the wording lives in `AuditMessages`.
public struct AuditError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The format an error belongs to.
    public enum Kind: String, Sendable, Hashable {
        /// A value that RFC 8785 cannot canonicalise (a non-finite number, nesting too deep).
        case canonicalJSON = "canonical_json"
        /// A malformed entry envelope.
        case entry
        /// A malformed hex or base64 text.
        case encoding
        /// A Merkle size, index or proof that cannot be used.
        case merkle
        /// A node missing from or inconsistent with a Merkle node store.
        case nodeStore = "node_store"
        /// A malformed signed note.
        case note
        /// A malformed signer or verifier key.
        case key
        /// A malformed checkpoint body.
        case checkpoint
    }

    /// Which format was at fault.
    public let kind: Kind
    /// The one-line lowercase message, user input in backticks.
    public let message: String

    /// Creates an error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
