import GRDB
import RingfenceRuntime

// The store's tables (schema version 3). Statements that read and write them stay in the SQL
// subset SQLite and PostgreSQL share (integer microsecond times, `INSERT … ON CONFLICT`, JSON as
// text); only these declarations are SQLite's own (BLOB where PostgreSQL says bytea,
// `WITHOUT ROWID` for the tables keyed by more than one column).
//
//   ringfence_meta     key TEXT PK, value TEXT            format, schema_version, store_id
//   state_rows         collection, key (PK), value BLOB   the runtime's records
//   audit_tiles        first INTEGER PK,                  up to 16 consecutive entries a row
//                      envelopes BLOB, data BLOB          (`AuditTiles`): their envelopes and entry
//                                                         hashes, and their canonical data (purgeable)
//   audit_session_entries  session, first (PK),        each session's entries, one row a session
//                      seqs TEXT                          a committed batch: its first seq and the
//                                                         JSON list of them all
//   audit_nodes        level, idx (PK), hash BLOB         Merkle perfect subtrees (level 4 up, AuditNodes)
//   audit_checkpoints  size INTEGER PK, root BLOB,        checkpoints (note text as signed)
//                      note TEXT, time (µs)
//
// A Merkle node's `idx` is stored as the signed 64-bit integer with the same bits, so every
// address a `MerkleNodeID` can hold round-trips.
//
// Version 1 indexed `audit_entries` by session instead of listing sessions' entries: a B-tree
// insert an entry, about a fifth of what SQLite spends writing a batch of appends. Version 2
// lists them once a batch (`docs/performance.md`, "A session's entries listed once a batch");
// its migration lists a version-1 log's entries one row a session and drops the index. Version
// 2 kept one `audit_entries` row an envelope (seq, time, kind, session, agent, data_hash, prev,
// hash) and one `audit_data` row (seq, data TEXT) an entry's data; version 3 keeps both in tiles
// (`docs/performance.md`, "Envelopes and data in tiles"), and its migration moves a version-2
// log's rows into tiles and drops the two tables.

/// The SQLite store's schema: its versions, its migrations and how an existing file is recognised.
enum SQLiteSchema {
    /// The schema version this build writes and reads.
    static let version = 3
    /// The `format` value in `ringfence_meta` that marks a Ringfence state store.
    static let format = "ringfence-state"
    /// GRDB's bookkeeping table, created by the migrator.
    static let migrationsTable = "grdb_migrations"

    /// The migrations, oldest first; migration N leaves `schema_version` at N.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE ringfence_meta (
                    key TEXT NOT NULL PRIMARY KEY,
                    value TEXT NOT NULL
                );
                CREATE TABLE state_rows (
                    collection TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (collection, key)
                ) WITHOUT ROWID;
                CREATE TABLE audit_entries (
                    seq INTEGER NOT NULL PRIMARY KEY,
                    time INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    session TEXT,
                    agent TEXT,
                    data_hash BLOB NOT NULL,
                    prev BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE INDEX audit_entries_by_session ON audit_entries (session) WHERE session IS NOT NULL;
                CREATE TABLE audit_data (
                    seq INTEGER NOT NULL PRIMARY KEY,
                    data TEXT NOT NULL
                );
                CREATE TABLE audit_nodes (
                    level INTEGER NOT NULL,
                    idx INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (level, idx)
                ) WITHOUT ROWID;
                CREATE TABLE audit_checkpoints (
                    size INTEGER NOT NULL PRIMARY KEY,
                    root BLOB NOT NULL,
                    note TEXT NOT NULL,
                    time INTEGER NOT NULL
                );
                """)
            try db.execute(sql: "INSERT INTO ringfence_meta (key, value) VALUES ('format', ?), ('schema_version', '1'), ('store_id', ?)",
                           arguments: [format, newStoreID()])
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE audit_session_entries (
                    session TEXT NOT NULL,
                    first INTEGER NOT NULL,
                    seqs TEXT NOT NULL,
                    PRIMARY KEY (session, first)
                ) WITHOUT ROWID;
                INSERT INTO audit_session_entries (session, first, seqs)
                    SELECT session, MIN(seq), json_group_array(seq)
                    FROM (SELECT session, seq FROM audit_entries WHERE session IS NOT NULL ORDER BY seq)
                    GROUP BY session;
                DROP INDEX audit_entries_by_session;
                UPDATE ringfence_meta SET value = '2' WHERE key = 'schema_version';
                """)
        }
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE TABLE audit_tiles (
                    first INTEGER NOT NULL PRIMARY KEY,
                    envelopes BLOB NOT NULL,
                    data BLOB NOT NULL
                );
                """)
            try SQLiteRecords.moveEntriesIntoTiles(db)
            try db.execute(sql: """
                DROP TABLE audit_entries;
                DROP TABLE audit_data;
                UPDATE ringfence_meta SET value = '3' WHERE key = 'schema_version';
                """)
        }
        return migrator
    }()

    /// What an opened file holds.
    enum Contents: Equatable {
        /// Nothing yet (a new or empty database): the migrations will create the store.
        case empty
        /// A Ringfence store at this schema version.
        case ringfence(version: Int)
        /// Something else; the message says what.
        case foreign(String)
    }

    /// Reads what the database behind `db` holds, without changing it.
    static func contents(_ db: Database, path: String) throws -> Contents {
        let names = try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name
            """)
        if names.isEmpty { return .empty }
        if names == [migrationsTable], try Int.fetchOne(db, sql: "SELECT count(*) FROM \(migrationsTable)") == 0 {
            // A first migration that died before committing leaves GRDB's empty bookkeeping table.
            return .empty
        }
        guard names.contains("ringfence_meta") else {
            return .foreign(SQLiteMessages.foreignTables(path, names))
        }
        let meta = try Row.fetchAll(db, sql: "SELECT key, value FROM ringfence_meta WHERE key IN ('format', 'schema_version')")
        var values: [String: String] = [:]
        for row in meta {
            // Decoded without GRDB's typed subscripts, which stop the process on a mistyped value.
            if let key = String.fromDatabaseValue(row[0] as DatabaseValue), let value = String.fromDatabaseValue(row[1] as DatabaseValue) {
                values[key] = value
            }
        }
        guard values["format"] == format else {
            return .foreign(SQLiteMessages.foreignMeta(path, "its `ringfence_meta` table does not mark it as a ringfence state store"))
        }
        guard let text = values["schema_version"], let version = Int(text), version >= 1 else {
            return .foreign(SQLiteMessages.foreignMeta(path, "its schema version `\(values["schema_version"] ?? "")` is not a positive integer"))
        }
        return .ringfence(version: version)
    }

    /// A fresh store identifier: 32 random lowercase hex digits.
    static func newStoreID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<32).map { _ in digits[Int(generator.next() % 16)] })
    }
}
