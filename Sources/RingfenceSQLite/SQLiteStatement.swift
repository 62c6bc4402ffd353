import GRDB
import GRDBSQLite
import RingfenceAudit
import RingfenceRuntime

/// SQLite's "copy the buffer now" destructor (`SQLITE_TRANSIENT`), which Swift cannot import as a macro.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A statement prepared (and cached) by GRDB, bound and stepped through SQLite's C API: writes
/// and log scans then build no argument arrays and no row objects, and allocate only what they
/// return.
struct RawStatement {
    /// The prepared statement.
    let handle: OpaquePointer

    /// Takes `statement` and clears it for new bindings.
    init(_ statement: Statement) {
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Binding (parameters count from 1)

    /// Binds an integer.
    func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds text, or NULL for nil; the bytes are copied.
    func bind(_ index: Int32, text: String?) throws {
        guard var text else { return try check(sqlite3_bind_null(handle, index)) }
        try text.withUTF8 { (utf8: UnsafeBufferPointer<UInt8>) throws in
            try bind(index, textBytes: UnsafeRawBufferPointer(utf8))
        }
    }

    /// Binds bytes as text (the store keeps JSON as text); the bytes are copied.
    func bind(_ index: Int32, textBytes bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            return try check(sqlite3_bind_text(handle, index, "", 0, transientDestructor))
        }
        try check(sqlite3_bind_text64(handle, index, base.assumingMemoryBound(to: CChar.self), sqlite3_uint64(bytes.count),
                                      transientDestructor, UInt8(SQLITE_UTF8)))
    }

    /// Binds bytes as a blob (an empty array binds an empty blob, not NULL); the bytes are copied.
    func bind(_ index: Int32, blob bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            return try check(sqlite3_bind_zeroblob(handle, index, 0))
        }
        try check(sqlite3_bind_blob64(handle, index, base, sqlite3_uint64(bytes.count), transientDestructor))
    }

    /// Binds a hash as a 32-byte blob.
    func bind(_ index: Int32, hash: AuditHash) throws {
        try hash.withUnsafeBytes { try bind(index, blob: $0) }
    }

    /// Steps once: true when a row is ready, false when the statement is done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw failure(code)
        }
    }

    /// Steps a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    /// Throws the connection's error unless `code` is `SQLITE_OK`.
    private func check(_ code: Int32) throws {
        if code != SQLITE_OK { throw failure(code) }
    }

    /// The connection's error for `code`, as GRDB reports it.
    private func failure(_ code: Int32) -> DatabaseError {
        let message = sqlite3_errmsg(sqlite3_db_handle(handle)).map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
    }

    // MARK: Columns of the current row (count from 0)

    /// The storage class of column `index`.
    func type(_ index: Int32) -> Int32 {
        sqlite3_column_type(handle, index)
    }

    /// Column `index` as an integer (call after checking its type).
    func int64(_ index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// Column `index` as UTF-8 text (invalid sequences are repaired).
    func text(_ index: Int32) -> String {
        guard let base = sqlite3_column_text(handle, index) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    /// Column `index` as a hash; throws when it is not a 32-byte blob.
    func hash(_ index: Int32, column: String) throws(ColumnProblem) -> AuditHash {
        let storage = type(index)
        guard storage == SQLITE_BLOB else {
            throw ColumnProblem(StoreMessages.wrongType(column, expected: "a 32-byte blob", found: Self.typeName(storage)))
        }
        let bytes = columnBytes(index)
        guard bytes.count == AuditHash.byteCount else {
            throw ColumnProblem(StoreMessages.wrongHashLength(column, bytes.count))
        }
        return Self.hash(copying: bytes)
    }

    /// Column `index`'s bytes as SQLite holds them (empty for none), valid until the statement
    /// steps or resets. (The pointer is asked for before the length, as SQLite requires.)
    private func columnBytes(_ index: Int32) -> UnsafeRawBufferPointer {
        let base = sqlite3_column_blob(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        guard let base, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    /// A hash holding the 32 bytes of `raw`. `AuditHash` keeps its bytes inline and in order
    /// (its documented layout), so they are copied in with one move; the element-by-element
    /// initialiser, generic and not specialised across modules, took a third of a log scan.
    /// `copyingIsExact` checks the layout once; without it the generic path is taken.
    @inline(__always)
    static func hash(copying raw: UnsafeRawBufferPointer) -> AuditHash {
        guard copyingIsExact else { return AuditHash(bytes: raw) ?? .zero }
        var hash = AuditHash.zero
        withUnsafeMutableBytes(of: &hash) { $0.copyMemory(from: raw) }
        return hash
    }

    /// True when copying 32 bytes into an `AuditHash` gives the hash of those bytes.
    static let copyingIsExact: Bool = {
        guard MemoryLayout<AuditHash>.size == AuditHash.byteCount else { return false }
        let pattern = (0..<UInt8(AuditHash.byteCount)).map { $0 &* 37 &+ 1 }
        var copied = AuditHash.zero
        pattern.withUnsafeBytes { raw in withUnsafeMutableBytes(of: &copied) { $0.copyMemory(from: raw) } }
        return copied == AuditHash(bytes: pattern) && copied.bytes == pattern
    }()

    /// Column `index` as an integer; throws when it holds another type.
    func integer(_ index: Int32, column: String) throws(ColumnProblem) -> Int64 {
        let storage = type(index)
        guard storage == SQLITE_INTEGER else {
            throw ColumnProblem(StoreMessages.wrongType(column, expected: "an integer", found: Self.typeName(storage)))
        }
        return int64(index)
    }

    /// Column `index` as text; throws when it holds another type.
    func string(_ index: Int32, column: String) throws(ColumnProblem) -> String {
        let storage = type(index)
        guard storage == SQLITE_TEXT else {
            throw ColumnProblem(StoreMessages.wrongType(column, expected: "text", found: Self.typeName(storage)))
        }
        return text(index)
    }

    /// Column `index` as text, or nil for NULL; throws when it holds another type.
    func optionalString(_ index: Int32, column: String) throws(ColumnProblem) -> String? {
        let storage = type(index)
        if storage == SQLITE_NULL { return nil }
        guard storage == SQLITE_TEXT else {
            throw ColumnProblem(StoreMessages.wrongType(column, expected: "text or null", found: Self.typeName(storage)))
        }
        return text(index)
    }

    /// Column `index` as SQLite's own bytes, valid until the statement steps or resets; throws
    /// when it is not a blob.
    func blob(_ index: Int32, column: String) throws(ColumnProblem) -> UnsafeRawBufferPointer {
        let storage = type(index)
        guard storage == SQLITE_BLOB else {
            throw ColumnProblem(StoreMessages.wrongType(column, expected: "a blob", found: Self.typeName(storage)))
        }
        return columnBytes(index)
    }

    /// Column `index` as bytes (text or blob), or nil for NULL; throws for a number.
    func optionalBytes(_ index: Int32, column: String) throws(ColumnProblem) -> [UInt8]? {
        try optionalBuffer(index, column: column).map { Array($0) }
    }

    /// Column `index` as SQLite's own bytes (text or blob), valid until the statement steps or
    /// resets, or nil for NULL; throws for a number.
    func optionalBuffer(_ index: Int32, column: String) throws(ColumnProblem) -> UnsafeRawBufferPointer? {
        let storage = type(index)
        if storage == SQLITE_NULL { return nil }
        guard storage == SQLITE_TEXT || storage == SQLITE_BLOB else {
            throw ColumnProblem(StoreMessages.wrongType(column, expected: "text or a blob", found: Self.typeName(storage)))
        }
        return columnBytes(index)
    }

    /// Resets the statement, ending its read of the database (also after a failed step).
    func reset() {
        sqlite3_reset(handle)
    }

    /// How a storage class reads in messages.
    static func typeName(_ storage: Int32) -> String {
        switch storage {
        case SQLITE_INTEGER: return "an integer"
        case SQLITE_FLOAT: return "a real number"
        case SQLITE_TEXT: return "text"
        case SQLITE_BLOB: return "a blob"
        default: return "null"
        }
    }
}

/// Why a column's value cannot be read as the store wrote it.
struct ColumnProblem: Error {
    /// One lowercase line naming the column and what it holds.
    let detail: String

    /// Creates a problem.
    init(_ detail: String) { self.detail = detail }
}
