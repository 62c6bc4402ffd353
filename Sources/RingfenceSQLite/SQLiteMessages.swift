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

    /// The store was written by a newer Ringfence.
    static func newerSchema(_ url: String, found: Int, supported: Int) -> String {
        "the store `\(url)` has schema version \(found), newer than version \(supported) that this ringfence reads: "
            + "upgrade ringfence to open it"
    }

    /// Migration left the store at an unexpected version.
    static func migrationFailed(_ url: String, _ detail: String) -> String {
        "cannot bring the store `\(url)` to the current schema: \(detail)"
    }

    /// The database is locked by another connection for longer than the busy timeout.
    static func busy(_ url: String, _ action: String, seconds: Int) -> String {
        "cannot \(action) in `\(url)`: the database stayed locked by another process for \(seconds) s"
    }

    /// The file cannot be opened or written.
    static func unavailable(_ url: String, _ action: String, _ reason: String) -> String {
        "cannot \(action) in `\(url)`: \(reason)"
    }

    /// SQLite reports damage (corrupt pages, missing tables).
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
    static func badNode(_ url: String, level: Int, index: UInt64, _ detail: String) -> String {
        "merkle node \(level)/\(index) in `\(url)` is damaged: \(detail)"
    }

    /// A stored checkpoint cannot be read back.
    static func badCheckpoint(_ url: String, size: Int64, _ detail: String) -> String {
        "the checkpoint of size \(size) in `\(url)` is damaged: \(detail)"
    }

    /// A stored state row cannot be read back.
    static func badRow(_ url: String, _ detail: String) -> String {
        "a state row in `\(url)` is damaged: \(detail)"
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
}
