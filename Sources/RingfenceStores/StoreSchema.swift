import Foundation
import RingfencePostgres
import RingfenceRuntime
import RingfenceSQLite

/// A store's schema version as found, beside the version this build writes
/// (`ringfence store check|migrate`).
public struct StoreSchemaStatus: Sendable, Equatable {
    /// The version stored; nil when there is no store yet (a missing or empty file, a database
    /// without the store's tables).
    public var found: Int?
    /// The version this build writes and reads.
    public var current: Int

    /// A status from its parts.
    public init(found: Int?, current: Int) {
        self.found = found
        self.current = current
    }
}

extension Stores {
    /// The schema of the store `url` names, read without creating or changing anything. A
    /// database of something else or a newer store throws, as opening it would.
    public static func schemaStatus(url: String) throws(StoreError) -> StoreSchemaStatus {
        switch try locate(url, workingDirectory: FileManager.default.currentDirectoryPath) {
        case .memory:
            throw StoreError(.badURL, "`memory:` keeps nothing, so it has no schema: name a `sqlite:PATH` or `postgres://…` store")
        case .sqlite(let path):
            return StoreSchemaStatus(found: try SQLiteStore.storedSchemaVersion(path: path, url: url), current: SQLiteStore.schemaVersion)
        case .postgres(let location):
            return StoreSchemaStatus(found: try PostgresStore.storedSchemaVersion(location: location), current: PostgresStore.schemaVersion)
        }
    }

    /// Creates or upgrades the schema of the store `url` names (opening a store migrates it)
    /// and returns the status found before; the store is then at `current`.
    public static func migrate(url: String) throws(StoreError) -> StoreSchemaStatus {
        let before = try schemaStatus(url: url)
        switch try open(url: url) {
        case let store as SQLiteStore: try store.close()
        case let store as PostgresStore: store.close()
        default: break
        }
        return before
    }
}
