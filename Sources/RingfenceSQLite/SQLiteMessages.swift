// Every message the SQLite store gives, in one place: one lowercase line, no final period,
// user input (paths, URLs, table names) in backticks.

/// The wording of the SQLite store's errors.
enum SQLiteMessages {
    /// The path names a directory.
    static func pathIsDirectory(_ path: String) -> String {
        "the store path `\(path)` is a directory, not a file"
    }

    /// The store's directory could not be created.
    static func cannotCreateDirectory(_ directory: String, _ reason: String) -> String {
        "cannot create the directory `\(directory)` for the store: \(reason)"
    }

    /// The file does not start with the SQLite header.
    static func notSQLite(_ path: String) -> String {
        "`\(path)` is not a ringfence store: it is not a sqlite database"
    }

    /// SQLite itself refused the file as a database.
    static func notADatabase(_ url: String, _ reason: String) -> String {
        "`\(url)` is not a ringfence store: \(reason)"
    }

    /// The database holds tables of something else.
    static func foreignTables(_ path: String, _ tables: [String]) -> String {
        let shown = tables.prefix(5).map { "`\($0)`" }.joined(separator: ", ")
        let more = tables.count > 5 ? " and \(tables.count - 5) more" : ""
        return "`\(path)` is not a ringfence store: it is a sqlite database holding other tables (\(shown)\(more)); "
            + "name a new file or an existing ringfence store"
    }

    /// The meta table does not describe a Ringfence store.
    static func foreignMeta(_ path: String, _ detail: String) -> String {
        "`\(path)` is not a ringfence store: \(detail)"
    }

    /// The database is locked by another connection for longer than the busy timeout.
    static func busy(_ url: String, _ action: String, seconds: Int) -> String {
        "cannot \(action) in `\(url)`: the database stayed locked by another process for \(seconds) s"
    }

    /// A row listing a session's entries does not read.
    static func badSessionList(_ url: String, _ session: String, first: Int64, _ detail: String) -> String {
        "the list of session `\(session)`'s entries from \(first) in `\(url)` is damaged: \(detail)"
    }

    /// A session's list names an entry the log does not hold.
    static func missingSessionEntry(_ url: String, _ session: String, seq: Int64) -> String {
        "the entries of session `\(session)` in `\(url)` are damaged: they name entry \(seq), which the log does not hold"
    }

    /// A session's lists name one entry twice.
    static func sessionEntryTwice(_ url: String, _ session: String, seq: Int64) -> String {
        "the entries of session `\(session)` in `\(url)` are damaged: they name entry \(seq) twice"
    }

    /// A version-2 entry that does not read, met while moving entries into tiles.
    static func unmigratableEntry(seq: Int64, _ detail: String) -> String {
        "audit entry \(seq) cannot be moved into schema version 3's tiles: it is damaged: \(detail)"
    }

    /// The file cannot be opened or written.
    static func unavailable(_ url: String, _ action: String, _ reason: String) -> String {
        "cannot \(action) in `\(url)`: \(reason)"
    }
}
