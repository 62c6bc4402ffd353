import Foundation
import GRDB
import RingfenceRuntime

extension SQLiteStore {
    /// The schema version this build writes and reads.
    public static var schemaVersion: Int { SQLiteSchema.version }

    /// The schema version of the store file at `path`, read without changing anything: nil when
    /// there is no file yet or it holds no table. A file of something else, or a store newer
    /// than this build reads, is refused like opening it would be.
    public static func storedSchemaVersion(path: String, url: String) throws(StoreError) -> Int? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        try prepareFile(path, url: url)
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(TimeInterval(busyTimeout))
        let contents: SQLiteSchema.Contents
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            contents = try queue.read { db in try SQLiteSchema.contents(db, path: path) }
            try queue.close()
        } catch {
            throw storeError(error, url: url, action: "read the store's schema")
        }
        switch contents {
        case .empty:
            return nil
        case .foreign(let message):
            throw StoreError(.foreignSchema, message)
        case .ringfence(let version) where version > SQLiteSchema.version:
            throw StoreError(.newerSchema, StoreMessages.newerSchema(url, found: version, supported: SQLiteSchema.version))
        case .ringfence(let version):
            return version
        }
    }
}
