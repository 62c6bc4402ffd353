// The wording every store shares for the same failure — a newer schema, damaged rows, a value
// that does not fit — so `sqlite:` and `postgres://` (and any other implementation of the store
// protocol) say it the same way. One lowercase line, no final period, user input in backticks.
// What only one backend can say (a locked file, an unreachable server) stays in its own
// messages.

/// The wording of the failures every store reports alike.
public enum StoreMessages {
    /// The store was written by a newer Ringfence.
    public static func newerSchema(_ url: String, found: Int, supported: Int) -> String {
        "the store `\(url)` has schema version \(found), newer than version \(supported) that this ringfence reads: "
            + "upgrade ringfence to open it"
    }

    /// Migration left the store at an unexpected version.
    public static func migrationFailed(_ url: String, _ detail: String) -> String {
        "cannot bring the store `\(url)` to the current schema: \(detail)"
    }

    /// The store reports damage (corrupt pages, a missing table or column).
    public static func damaged(_ url: String, _ reason: String) -> String {
        "the store `\(url)` is damaged: \(reason)"
    }

    /// Any other database failure.
    public static func failed(_ url: String, _ action: String, _ reason: String) -> String {
        "cannot \(action) in `\(url)`: \(reason)"
    }

    /// A stored audit entry cannot be read back.
    public static func badEntry(_ url: String, seq: Int64, _ detail: String) -> String {
        "audit entry \(seq) in `\(url)` is damaged: \(detail)"
    }

    /// A stored Merkle node cannot be read back.
    public static func badNode(_ url: String, level: Int, index: UInt64, _ detail: String) -> String {
        "merkle node \(level)/\(index) in `\(url)` is damaged: \(detail)"
    }

    /// A stored checkpoint cannot be read back.
    public static func badCheckpoint(_ url: String, size: Int64, _ detail: String) -> String {
        "the checkpoint of size \(size) in `\(url)` is damaged: \(detail)"
    }

    /// A stored state row cannot be read back.
    public static func badRow(_ url: String, _ detail: String) -> String {
        "a state row in `\(url)` is damaged: \(detail)"
    }

    /// A value to write does not fit a signed 64-bit column.
    public static func outOfRange(_ what: String, _ value: UInt64) -> String {
        "\(what) \(value) does not fit the store (at most \(Int64.max))"
    }

    /// A column holds the wrong type.
    public static func wrongType(_ column: String, expected: String, found: String) -> String {
        "`\(column)` holds \(found), not \(expected)"
    }

    /// A hash column holds the wrong number of bytes.
    public static func wrongHashLength(_ column: String, _ count: Int) -> String {
        "`\(column)` holds \(count) bytes, not 32"
    }
}
