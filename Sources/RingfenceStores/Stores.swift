import Foundation
import RingfencePostgres
import RingfenceRuntime
import RingfenceSQLite

// The store locator (SPEC §12): turns `--state URL` or `RINGFENCE_STATE` into a store. It is the
// one place that knows every backend, so the runtime depends on none of them.
//
//   memory:                      nothing persists (tests, benchmarks, the REPL)
//   sqlite:PATH                  one SQLite file; a relative PATH is relative to the working
//                                directory; the default is sqlite:.ringfence/state.db
//   postgres://USER@HOST:PORT/DB PostgreSQL (also postgresql://; `?host=/DIRECTORY` for a unix
//                                socket; the parameters are in PostgresLocation)

/// Opens the store a URL names.
public enum Stores {
    /// The store used when neither `--state` nor `RINGFENCE_STATE` names one.
    public static let defaultURL = "sqlite:.ringfence/state.db"
    /// The environment variable that names the store when `--state` is not given.
    public static let environmentVariable = "RINGFENCE_STATE"
    /// The forms `open(url:)` accepts, for messages.
    public static let acceptedForms = "`memory:`, `sqlite:PATH` (e.g. `\(defaultURL)`) or `postgres://USER@HOST:PORT/DB`"

    /// Where a URL points.
    public enum Location: Sendable, Hashable {
        /// `memory:`.
        case memory
        /// `sqlite:PATH`, with PATH made absolute.
        case sqlite(path: String)
        /// `postgres://…`, read into its parts.
        case postgres(PostgresLocation)
    }

    /// Opens the store `url` names; relative SQLite paths are taken from the working directory.
    public static func open(url: String) throws(StoreError) -> StateStore {
        switch try locate(url, workingDirectory: FileManager.default.currentDirectoryPath) {
        case .memory:
            return MemoryStore()
        case .sqlite(let path):
            return try SQLiteStore(path: path, url: url)
        case .postgres(let location):
            return try PostgresStore(location: location)
        }
    }

    /// Opens the store named by `url` when given, else by `RINGFENCE_STATE` in `environment`,
    /// else the default.
    public static func open(url: String?, environment: [String: String]) throws(StoreError) -> StateStore {
        try open(url: self.url(given: url, environment: environment))
    }

    /// The URL in force: `given` when there is one, else `RINGFENCE_STATE` when set and not
    /// empty, else `defaultURL`.
    public static func url(given: String?, environment: [String: String]) -> String {
        if let given { return given }
        if let named = environment[environmentVariable], !named.isEmpty { return named }
        return defaultURL
    }

    /// Reads `url` without opening anything; a relative SQLite path is joined to `workingDirectory`.
    public static func locate(_ url: String, workingDirectory: String) throws(StoreError) -> Location {
        if url == "memory:" { return .memory }
        let lowered = url.lowercased()
        if lowered.hasPrefix("sqlite:") {
            let path = String(url.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw StoreError(.badURL, "`\(url)` names no file: write `sqlite:PATH`, e.g. `\(defaultURL)`")
            }
            if path.hasPrefix("//") && !path.hasPrefix("///") {
                throw StoreError(.badURL, "`\(url)` names a host, but a sqlite store is a local file: write `sqlite:PATH`, e.g. `sqlite:/var/lib/ringfence/state.db`")
            }
            guard !path.utf8.contains(0) else {
                throw StoreError(.badURL, "`\(url)` holds a nul character")
            }
            if path.hasPrefix("/") { return .sqlite(path: path) }
            let base = workingDirectory.hasSuffix("/") ? String(workingDirectory.dropLast()) : workingDirectory
            return .sqlite(path: base + "/" + path)
        }
        if PostgresLocation.names(url) {
            return .postgres(try PostgresLocation(url: url))
        }
        throw StoreError(.badURL, "`\(url)` is not a store url: use \(acceptedForms)")
    }
}
