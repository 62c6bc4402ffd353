// Every message the PostgreSQL store gives, in one place: one lowercase line, no final period,
// user input (URLs, table names) in backticks. URLs in messages never show a password.

/// The wording of the PostgreSQL store's errors.
enum PostgresMessages {
    /// The URL is not a `postgres://` URL at all.
    static func notPostgresURL(_ url: String) -> String {
        "`\(url)` is not a postgresql url: write `postgres://USER@HOST:PORT/DB`"
    }

    /// The URL is malformed.
    static func badURL(_ url: String, _ detail: String) -> String {
        "`\(url)` is not a usable postgresql url: \(detail)"
    }

    /// The URL carries a parameter the store does not know.
    static func unknownParameter(_ url: String, _ name: String, known: [String]) -> String {
        "`\(url)` is not a usable postgresql url: it has the unknown parameter `\(name)` (known: \(known.map { "`\($0)`" }.joined(separator: ", ")))"
    }

    /// The server cannot be reached or refused the session.
    static func unavailable(_ url: String, _ action: String, _ reason: String) -> String {
        "cannot \(action) in `\(url)`: \(reason)"
    }

    /// No answer within the store's timeout; nothing was committed.
    static func timedOut(_ url: String, _ action: String, seconds: Int, _ reason: String?) -> String {
        "cannot \(action) in `\(url)`: the database did not answer within \(seconds) s" + (reason.map { " (\($0))" } ?? "")
    }

    /// The connection was lost while the server was committing.
    static func outcomeUnknown(_ url: String, _ reason: String) -> String {
        "cannot tell whether a batch was committed in `\(url)`: \(reason); the batch holds no audit entries by which a retry could recognise it"
    }

    /// The database holds tables of something else and no ringfence schema.
    static func foreignTables(_ url: String, _ tables: [String]) -> String {
        let shown = tables.prefix(5).map { "`\($0)`" }.joined(separator: ", ")
        let more = tables.count > 5 ? " and \(tables.count - 5) more" : ""
        return "`\(url)` is not a ringfence store: its database holds other tables (\(shown)\(more)); "
            + "name a database of its own, or create the schema `\(PostgresSchema.name)` in it to share it"
    }

    /// The ringfence schema holds something else.
    static func foreignSchema(_ url: String, _ detail: String) -> String {
        "`\(url)` is not a ringfence store: \(detail)"
    }

    /// The store was written by a newer Ringfence.
    static func newerSchema(_ url: String, found: Int, supported: Int) -> String {
        "the store `\(url)` has schema version \(found), newer than version \(supported) that this ringfence reads: "
            + "upgrade ringfence to open it"
    }

    /// Migration left the store at an unexpected version.
    static func migrationFailed(_ url: String, _ detail: String) -> String {
        "cannot bring the store `\(url)` to the current schema: \(detail)"
    }

    /// The schema is damaged (a table or column is missing).
    static func damaged(_ url: String, _ reason: String) -> String {
        "the store `\(url)` is damaged: \(reason)"
    }

    /// Any other database failure.
    static func failed(_ url: String, _ action: String, _ reason: String) -> String {
        "cannot \(action) in `\(url)`: \(reason)"
    }

    /// A stored audit entry cannot be read back.
    static func badEntry(_ url: String, seq: Int64, _ detail: String) -> String {
        "audit entry \(seq) in `\(url)` is damaged: \(detail)"
    }

    /// A stored Merkle node cannot be read back.
    static func badNode(_ url: String, level: Int64, index: Int64, _ detail: String) -> String {
        "merkle node \(level)/\(UInt64(bitPattern: index)) in `\(url)` is damaged: \(detail)"
    }

    /// A stored checkpoint cannot be read back.
    static func badCheckpoint(_ url: String, size: Int64, _ detail: String) -> String {
        "the checkpoint of size \(size) in `\(url)` is damaged: \(detail)"
    }

    /// A stored state row cannot be read back.
    static func badRow(_ url: String, _ detail: String) -> String {
        "a state row in `\(url)` is damaged: \(detail)"
    }

    /// The audit head row disagrees with the log.
    static func badHead(_ url: String, _ detail: String) -> String {
        "the audit head of `\(url)` is damaged: \(detail)"
    }

    /// Entry data that the store cannot keep as text.
    static func dataNotText(seq: UInt64) -> String {
        "the data of audit entry \(seq) is not utf-8 text free of nul characters, which the store keeps it as"
    }

    /// A value to write does not fit a signed 64-bit column.
    static func outOfRange(_ what: String, _ value: UInt64) -> String {
        "\(what) \(value) does not fit the store (at most \(Int64.max))"
    }

    /// A column holds the wrong type.
    static func wrongType(_ column: String, expected: String, found: String) -> String {
        "`\(column)` holds \(found), not \(expected)"
    }

    /// A hash column holds the wrong number of bytes.
    static func wrongHashLength(_ column: String, _ count: Int) -> String {
        "`\(column)` holds \(count) bytes, not 32"
    }

    /// A column that must hold UTF-8 text does not.
    static func notText(_ column: String) -> String {
        "`\(column)` does not hold utf-8 text"
    }

    /// A store call made on the store's own event loop thread, where it would wait for itself.
    static let calledFromEventLoop = "a postgresql store was called from its own event loop thread, where it would wait for itself"
}
