import PostgresNIO
import RingfenceRuntime

extension PostgresStore {
    /// The schema version this build writes and reads.
    public static var schemaVersion: Int { PostgresSchema.version }

    /// The schema version of the store at `location`, read over one connection without changing
    /// anything: nil when the database holds no store yet. A database of something else, or a
    /// store newer than this build reads, is refused like opening it would be.
    public static func storedSchemaVersion(location: PostgresLocation) throws(StoreError) -> Int? {
        let bridge = PostgresBridge()
        let url = location.redactedURL
        let outcome = bridge.run(timeout: .seconds(location.connectTimeout + location.timeout)) { _ in
            let connection = try await PostgresConnector.connect(location, on: bridge.loop, connectTimeout: location.connectTimeout)
            do {
                let contents = try await PostgresSchema.contents(connection, url: url, logger: PostgresRecords.logger)
                try? await connection.close()
                return contents
            } catch {
                try? await connection.close()
                throw error
            }
        }
        switch outcome {
        case .finished(.success(.empty)):
            return nil
        case .finished(.success(.foreign(let message))):
            throw StoreError(.foreignSchema, message)
        case .finished(.success(.ringfence(let version))) where version > PostgresSchema.version:
            throw StoreError(.newerSchema, StoreMessages.newerSchema(url, found: version, supported: PostgresSchema.version))
        case .finished(.success(.ringfence(let version))):
            return version
        case .finished(.failure(let error)):
            throw PostgresErrors.storeError(error, location: location, action: "read the store's schema")
        case .abandoned, .unresolved:
            throw StoreError(.unavailable, PostgresMessages.timedOut(url, "read the store's schema", seconds: location.connectTimeout + location.timeout, nil))
        }
    }
}
