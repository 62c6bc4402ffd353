import PostgresNIO
import RingfenceRuntime

// The store's tables (schema version 2), all in the schema `ringfence`, so that other tables of
// the database never meet them. The statements stay in the SQL subset SQLite and PostgreSQL
// share (integer microsecond times, `INSERT … ON CONFLICT`, JSON as text); the declarations are
// PostgreSQL's own, and one choice differs from the SQLite store's: PostgreSQL's `text` cannot
// hold a nul character, which a runtime name may, so collections, keys, kinds, sessions and
// agents are stored as their UTF-8 bytes (`bytea`), ordered byte by byte like SQLite's BINARY
// collation. Entry data (canonical JSON) and checkpoint notes stay text.
//
//   ringfence_meta     key text PK, value text             format, schema_version, store_id
//   state_rows         collection, key (PK), value bytea,  the runtime's records, each with
//                      version bigint; indexed by version  the version of the commit that
//                                                          last wrote it
//   state_deletes      collection, key (PK), version       tombstones: the version of the
//                      bigint; indexed by version          commit that deleted each row (a
//                                                          later put removes its tombstone)
//   audit_head         id = 1 (PK), size, last_hash,       the log's head and the store's
//                      version bigint                      version (the number of commits):
//                                                          one row, locked and moved by every
//                                                          commit (see PostgresStore)
//   audit_entries      seq bigint PK, time (µs), kind,     the envelopes and entry hashes
//                      session, agent, data_hash, prev,
//                      hash (32-byte bytea); indexed by
//                      session, seq
//   audit_data         seq bigint PK, data text            canonical data, purgeable
//   audit_nodes        level, idx (PK), hash bytea         Merkle perfect subtrees (level 4 up, AuditNodes)
//   audit_checkpoints  size bigint PK, root bytea,         checkpoints (note text as signed)
//                      note text, time (µs)
//
// A Merkle node's `idx` is stored as the signed 64-bit integer with the same bits, as in SQLite.
//
// Versions (schema version 2) let a node that takes the store's tenure (SPEC §15) read only
// what changed since the version it last saw: rows and tombstones stamped later than it. A
// database of version 1 is upgraded in place: its rows, and its head, start at version 0.
//
// Migrations run in one transaction under a transaction-level advisory lock, so several
// processes opening a new database at once create the schema once; the others wait, then find
// it. `ringfence_meta.schema_version` records the version reached.

/// The PostgreSQL store's schema: its versions, its migrations and how a database is recognised.
enum PostgresSchema {
    /// The schema (namespace) that holds every table of the store.
    static let name = "ringfence"
    /// The schema version this build writes and reads.
    static let version = 2
    /// The `format` value in `ringfence_meta` that marks a Ringfence state store.
    static let format = "ringfence-state"
    /// The advisory lock key that serialises migrations (the bytes of `ringfenc`).
    static let migrationLock: Int64 = 0x7269_6E67_6665_6E63

    /// The statements of each migration, oldest first; after migration N's statements,
    /// `schema_version` is set to N in the same transaction.
    static let migrations: [[String]] = [
        [
            "CREATE SCHEMA IF NOT EXISTS ringfence",
            "CREATE TABLE ringfence.ringfence_meta (key text NOT NULL PRIMARY KEY, value text NOT NULL)",
            """
            CREATE TABLE ringfence.state_rows (
                collection bytea NOT NULL,
                key bytea NOT NULL,
                value bytea NOT NULL,
                PRIMARY KEY (collection, key)
            )
            """,
            """
            CREATE TABLE ringfence.audit_head (
                id integer NOT NULL PRIMARY KEY CHECK (id = 1),
                size bigint NOT NULL,
                last_hash bytea NOT NULL
            )
            """,
            """
            CREATE TABLE ringfence.audit_entries (
                seq bigint NOT NULL PRIMARY KEY,
                time bigint NOT NULL,
                kind bytea NOT NULL,
                session bytea,
                agent bytea,
                data_hash bytea NOT NULL,
                prev bytea NOT NULL,
                hash bytea NOT NULL
            )
            """,
            "CREATE INDEX audit_entries_by_session ON ringfence.audit_entries (session, seq) WHERE session IS NOT NULL",
            "CREATE TABLE ringfence.audit_data (seq bigint NOT NULL PRIMARY KEY, data text NOT NULL)",
            """
            CREATE TABLE ringfence.audit_nodes (
                level bigint NOT NULL,
                idx bigint NOT NULL,
                hash bytea NOT NULL,
                PRIMARY KEY (level, idx)
            )
            """,
            """
            CREATE TABLE ringfence.audit_checkpoints (
                size bigint NOT NULL PRIMARY KEY,
                root bytea NOT NULL,
                note text NOT NULL,
                time bigint NOT NULL
            )
            """,
            "INSERT INTO ringfence.audit_head (id, size, last_hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'))",
            """
            INSERT INTO ringfence.ringfence_meta (key, value) VALUES
                ('format', 'ringfence-state'), ('schema_version', '0'), ('store_id', replace(gen_random_uuid()::text, '-', ''))
            """,
        ],
        [
            "ALTER TABLE ringfence.audit_head ADD COLUMN version bigint NOT NULL DEFAULT 0",
            "ALTER TABLE ringfence.state_rows ADD COLUMN version bigint NOT NULL DEFAULT 0",
            "CREATE INDEX state_rows_by_version ON ringfence.state_rows (version)",
            """
            CREATE TABLE ringfence.state_deletes (
                collection bytea NOT NULL,
                key bytea NOT NULL,
                version bigint NOT NULL,
                PRIMARY KEY (collection, key)
            )
            """,
            "CREATE INDEX state_deletes_by_version ON ringfence.state_deletes (version)",
        ],
    ]

    /// What a database holds.
    enum Contents: Equatable {
        /// No ringfence schema (or an empty one) and no other tables: the migrations will
        /// create the store.
        case empty
        /// A Ringfence store at this schema version.
        case ringfence(version: Int)
        /// Something else; the message says what.
        case foreign(String)
    }

    /// Whether the schema and its meta table exist.
    static let presenceSQL = """
        SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'ringfence'),
               to_regclass('ringfence.ringfence_meta') IS NOT NULL
        """

    /// The relations in the ringfence schema (a table, view, sequence …), by name.
    static let schemaRelationsSQL = """
        SELECT c.relname::text FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'ringfence' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY 1
        """

    /// The relations of the database outside the system's schemas, as `schema.name`.
    static let otherRelationsSQL = """
        SELECT n.nspname::text || '.' || c.relname::text FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'ringfence')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        ORDER BY 1
        """

    /// The meta values that identify the store.
    static let metaSQL = "SELECT key::text, value::text FROM ringfence.ringfence_meta WHERE key IN ('format', 'schema_version')"

    /// Reads what the database behind `connection` holds, without changing it. A database with
    /// other tables is a store only when it already has the schema `ringfence` (with a store in
    /// it, or empty: an operator who creates the empty schema opts in to sharing the database).
    static func contents(_ connection: PostgresConnection, url: String, logger: Logger) async throws -> Contents {
        let presence = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: presenceSQL), logger: logger))
        guard let first = presence.first, first.count == 2 else {
            throw StoreError(.database, StoreMessages.failed(url, "read the database's schemas", "the catalog query returned no row"))
        }
        let hasSchema = try PostgresRows.bool(first[0]), hasMeta = try PostgresRows.bool(first[1])
        if hasSchema && !hasMeta {
            let names = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: schemaRelationsSQL), logger: logger))
                .map { try PostgresRows.text($0[0]) }
            if names.isEmpty { return .empty }
            return .foreign(PostgresMessages.foreignSchema(url, "its schema `ringfence` holds other tables (\(names.prefix(5).map { "`\($0)`" }.joined(separator: ", ")))"))
        }
        if !hasSchema {
            let names = try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: otherRelationsSQL), logger: logger))
                .map { try PostgresRows.text($0[0]) }
            return names.isEmpty ? .empty : .foreign(PostgresMessages.foreignTables(url, names))
        }
        var values: [String: String] = [:]
        for row in try await PostgresRows.all(connection.query(PostgresQuery(unsafeSQL: metaSQL), logger: logger)) {
            values[try PostgresRows.text(row[0])] = try PostgresRows.text(row[1])
        }
        guard values["format"] == format else {
            return .foreign(PostgresMessages.foreignSchema(url, "its `ringfence.ringfence_meta` table does not mark it as a ringfence state store"))
        }
        guard let text = values["schema_version"], let version = Int(text), version >= 1 else {
            return .foreign(PostgresMessages.foreignSchema(url, "its schema version `\(values["schema_version"] ?? "")` is not a positive integer"))
        }
        return .ringfence(version: version)
    }

    /// Creates or upgrades the schema in one transaction under the migration lock; refuses a
    /// newer or foreign database. Returns the version found before migrating.
    @discardableResult
    static func migrate(_ connection: PostgresConnection, url: String, logger: Logger) async throws -> Contents {
        _ = try await connection.query("BEGIN", logger: logger)
        do {
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            let found = try await contents(connection, url: url, logger: logger)
            let from: Int
            switch found {
            case .foreign(let message):
                throw StoreError(.foreignSchema, message)
            case .ringfence(let version) where version > Self.version:
                throw StoreError(.newerSchema, StoreMessages.newerSchema(url, found: version, supported: Self.version))
            case .ringfence(let version):
                from = version
            case .empty:
                from = 0
            }
            for (index, statements) in migrations.enumerated() where index + 1 > from {
                for statement in statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query(
                    "UPDATE ringfence.ringfence_meta SET value = \(String(index + 1)) WHERE key = 'schema_version'", logger: logger)
            }
            _ = try await connection.query("COMMIT", logger: logger)
            return found
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
