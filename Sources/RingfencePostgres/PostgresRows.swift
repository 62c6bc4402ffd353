import PostgresNIO
import RingfenceAudit
import RingfenceRuntime

/// What is wrong with one column of a stored row (becomes part of a `foreignSchema` message
/// naming the record).
struct ColumnProblem: Error {
    /// One lowercase phrase.
    let detail: String

    /// A problem described by `detail`.
    init(_ detail: String) { self.detail = detail }
}

/// Reads result cells strictly: each column must hold the type the schema declares, in binary
/// format, or the read names the column and what it found instead of trusting it.
enum PostgresRows {
    /// Every row of a result, each as random-access cells.
    static func all(_ rows: PostgresRowSequence) async throws -> [PostgresRandomAccessRow] {
        var result: [PostgresRandomAccessRow] = []
        for try await row in rows { result.append(row.makeRandomAccess()) }
        return result
    }

    /// A name for a column's type in messages.
    static func typeName(_ cell: PostgresCell) -> String {
        guard cell.bytes != nil else { return "null" }
        switch cell.dataType {
        case .int8: return "a bigint"
        case .int4: return "an integer"
        case .int2: return "a smallint"
        case .text, .varchar, .name: return "text"
        case .bytea: return "bytea"
        case .bool: return "a boolean"
        default: return "a value of type \(cell.dataType.rawValue)"
        }
    }

    /// The cell's bytes when it is binary and of `type`; nil for SQL null.
    static func raw(_ cell: PostgresCell, _ types: [PostgresDataType], expected: String) throws(ColumnProblem) -> ByteBuffer? {
        guard let bytes = cell.bytes else { return nil }
        guard types.contains(cell.dataType), cell.format == .binary else {
            throw ColumnProblem(StoreMessages.wrongType(cell.columnName, expected: expected, found: typeName(cell)))
        }
        return bytes
    }

    /// A non-null bigint.
    static func int64(_ cell: PostgresCell) throws(ColumnProblem) -> Int64 {
        guard var bytes = try raw(cell, [.int8], expected: "a bigint") else {
            throw ColumnProblem(StoreMessages.wrongType(cell.columnName, expected: "a bigint", found: "null"))
        }
        guard bytes.readableBytes == 8, let value = bytes.readInteger(as: Int64.self) else {
            throw ColumnProblem("`\(cell.columnName)` holds \(bytes.readableBytes) bytes, not the 8 of a bigint")
        }
        return value
    }

    /// A non-null boolean.
    static func bool(_ cell: PostgresCell) throws(ColumnProblem) -> Bool {
        guard var bytes = try raw(cell, [.bool], expected: "a boolean"), bytes.readableBytes == 1, let byte = bytes.readInteger(as: UInt8.self) else {
            throw ColumnProblem(StoreMessages.wrongType(cell.columnName, expected: "a boolean", found: typeName(cell)))
        }
        return byte != 0
    }

    /// The bytes of a non-null bytea.
    static func bytes(_ cell: PostgresCell) throws(ColumnProblem) -> [UInt8] {
        guard let bytes = try optionalBytes(cell) else {
            throw ColumnProblem(StoreMessages.wrongType(cell.columnName, expected: "bytea", found: "null"))
        }
        return bytes
    }

    /// The bytes of a bytea, nil for null.
    static func optionalBytes(_ cell: PostgresCell) throws(ColumnProblem) -> [UInt8]? {
        guard let buffer = try raw(cell, [.bytea], expected: "bytea") else { return nil }
        return Array(buffer.readableBytesView)
    }

    /// A 32-byte hash held in a non-null bytea.
    static func hash(_ cell: PostgresCell) throws(ColumnProblem) -> AuditHash {
        let bytes = try bytes(cell)
        guard let hash = AuditHash(bytes: bytes) else { throw ColumnProblem(StoreMessages.wrongHashLength(cell.columnName, bytes.count)) }
        return hash
    }

    /// UTF-8 text held in a non-null bytea (a name the store keeps as bytes).
    static func name(_ cell: PostgresCell) throws(ColumnProblem) -> String {
        guard let name = try optionalName(cell) else {
            throw ColumnProblem(StoreMessages.wrongType(cell.columnName, expected: "bytea", found: "null"))
        }
        return name
    }

    /// UTF-8 text held in a bytea, nil for null.
    static func optionalName(_ cell: PostgresCell) throws(ColumnProblem) -> String? {
        guard let bytes = try optionalBytes(cell) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ColumnProblem(PostgresMessages.notText(cell.columnName)) }
        return text
    }

    /// A non-null text column.
    static func text(_ cell: PostgresCell) throws(ColumnProblem) -> String {
        guard let buffer = try raw(cell, [.text, .varchar, .name], expected: "text") else {
            throw ColumnProblem(StoreMessages.wrongType(cell.columnName, expected: "text", found: "null"))
        }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw ColumnProblem(PostgresMessages.notText(cell.columnName))
        }
        return text
    }

    /// The UTF-8 bytes of a text column, nil for null.
    static func optionalTextBytes(_ cell: PostgresCell) throws(ColumnProblem) -> [UInt8]? {
        guard let buffer = try raw(cell, [.text, .varchar, .name], expected: "text") else { return nil }
        return Array(buffer.readableBytesView)
    }
}

/// A one-dimensional `bytea[]` bind whose elements may be null (postgres-nio's own array
/// encoding has no nulls). Wire format: dimensions, has-null flag, element type, then length
/// and lower bound, then each element as a length (−1 for null) and its bytes.
struct ByteaArray: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    /// The elements.
    var elements: [[UInt8]?]

    /// An array of these elements.
    init(_ elements: [[UInt8]?]) { self.elements = elements }

    /// `bytea[]`.
    static var psqlType: PostgresDataType { .byteaArray }
    /// Binary.
    static var psqlFormat: PostgresFormat { .binary }

    /// Writes the array in PostgreSQL's binary array format.
    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        buffer.writeInteger(PostgresDataType.bytea.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            if let element {
                buffer.writeInteger(Int32(element.count))
                buffer.writeBytes(element)
            } else {
                buffer.writeInteger(-1, as: Int32.self)
            }
        }
    }
}

/// A one-dimensional `text[]` bind of UTF-8 bytes already checked to be text without nul, written
/// as they are (postgres-nio's `[String]` would first copy each entry's data into a `String`).
struct TextArray: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    /// The elements' UTF-8 bytes.
    var elements: [[UInt8]]

    /// An array of these elements.
    init(_ elements: [[UInt8]]) { self.elements = elements }

    /// `text[]`.
    static var psqlType: PostgresDataType { .textArray }
    /// Binary.
    static var psqlFormat: PostgresFormat { .binary }

    /// Writes the array in PostgreSQL's binary array format.
    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(0, as: Int32.self)
        buffer.writeInteger(PostgresDataType.text.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            buffer.writeInteger(Int32(element.count))
            buffer.writeBytes(element)
        }
    }
}
