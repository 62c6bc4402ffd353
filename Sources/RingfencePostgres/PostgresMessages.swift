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

    /// The audit head row disagrees with the log.
    static func badHead(_ url: String, _ detail: String) -> String {
        "the audit head of `\(url)` is damaged: \(detail)"
    }

    /// Entry data that the store cannot keep as text.
    static func dataNotText(seq: UInt64) -> String {
        "the data of audit entry \(seq) is not utf-8 text free of nul characters, which the store keeps it as"
    }

    /// A column that must hold UTF-8 text does not.
    static func notText(_ column: String) -> String {
        "`\(column)` does not hold utf-8 text"
    }

    /// The tenure stayed taken by someone else for the whole wait (`holder` says who).
    static func tenureBusy(_ url: String, seconds: Int, holder: String) -> String {
        "cannot take the tenure of `\(url)`: \(holder) held it for longer than \(seconds) s"
    }

    /// The tenure's connection closed while the tenure was held, which released its lock.
    static func tenureLost(_ url: String) -> String {
        "lost the tenure of `\(url)` while holding it: its database connection closed, which let another node take it; "
            + "nothing may be committed until the tenure is taken again"
    }

    /// `release` without a held tenure.
    static func tenureNotHeld(_ url: String) -> String {
        "cannot give up the tenure of `\(url)`: this store does not hold it"
    }

    /// A store call made on the store's own event loop thread, where it would wait for itself.
    static let calledFromEventLoop = "a postgresql store was called from its own event loop thread, where it would wait for itself"
}
