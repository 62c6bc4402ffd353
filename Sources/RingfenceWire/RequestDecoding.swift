import RingfenceDiagnostics
import RingfenceVM

// Decoding requests (SPEC §1) from JSON text or from an already-parsed `Value`.
//
// The shape, checked in this order so the reported error is deterministic:
//
//   1. the request is an object                                   RF6002
//   2. no unknown top-level field (the first in sorted order)     RF6006
//   3. `agent`: present (RF6003), an object (RF6004), no unknown field (RF6006),
//      `id` a non-empty string (RF6003/RF6004), `trust` a number in [0, 1] (RF6004/RF6005),
//      `ring` an integer 0–3 (RF6004/RF6005), `consensus` a boolean, `roles` a list of
//      strings, `attrs` an object (RF6004)
//   4. `action` a non-empty string (RF6003/RF6004)
//   5. `resource` a string; `params`, `context` objects                     RF6004
//   6. `context.time`, when present, an RFC 3339 date-time string             RF6005
//
// `null` for an optional field means the field is absent; `null` for a required field is a
// wrong type. Decoding works on the parsed `Value` only, so the hot path pays nothing for
// positions: when decoding fails on JSON text, the offending key or value is found by a second
// walk over the (already known valid) text.

/// A request that could not be read: bad JSON or a bad shape, with the position in the JSON text.
public struct RequestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The diagnostic code (RF6001–RF6006).
    public var code: DiagnosticCode
    /// The one-line lowercase message.
    public var message: String
    /// The 1-based line in the JSON text (1 when not known).
    public var line: Int
    /// The 1-based column in Unicode scalars (1 when not known).
    public var column: Int

    /// Creates a request error.
    public init(code: DiagnosticCode, message: String, line: Int = 1, column: Int = 1) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }

    /// The `line:column: error[CODE]: message` form.
    public var description: String { "\(line):\(column): error[\(code.rawValue)]: \(message)" }

    /// This error as a diagnostic located in `file`.
    public func diagnostic(file: String) -> Diagnostic {
        Diagnostic(code, message, at: SourceLocation(file: file, line: line, column: column))
    }
}

extension Request {
    /// The field names a request object may have.
    public static let fieldNames = ["agent", "action", "resource", "params", "context"]
    /// The field names a request's `agent` object may have.
    public static let agentFieldNames = ["id", "trust", "ring", "consensus", "roles", "attrs"]

    /// Parses and decodes a request from JSON text; JSON syntax errors are RF6001.
    public init(json: String) throws(RequestError) {
        var text = json
        let result = text.withUTF8 { bytes in
            Result { () throws(RequestError) -> Request in try Request(jsonBytes: bytes) }
        }
        self = try result.get()
    }

    /// The longest request text accepted (SPEC §3.1: a larger request is refused, never decided).
    public static let maxJSONBytes = 16 << 20

    /// Parses and decodes a request from UTF-8 JSON bytes; JSON syntax errors are RF6001, a text
    /// longer than `maxJSONBytes` is RF6007.
    ///
    /// A request object is read straight into its members (no dictionaries for the request and
    /// its agent); anything else goes through the general parser to get the same errors.
    public init(jsonBytes bytes: UnsafeBufferPointer<UInt8>) throws(RequestError) {
        guard bytes.count <= Request.maxJSONBytes else {
            throw RequestError(code: .requestTooLarge,
                               message: "the request is too large to decide (\(bytes.count) bytes; the limit is \(Request.maxJSONBytes)); refused")
        }
        var reader = JSONReader(bytes)
        var members: RequestMembers?
        do throws(JSONScanError) {
            members = try reader.parseRequestDocument()
        } catch {
            let located = error.located(in: bytes)
            throw RequestError(code: .requestJSON, message: located.message, line: located.line, column: located.column)
        }
        guard let members else {
            // Not an object: the general parser reports any syntax error, then the shape error.
            let value: Value
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                throw RequestError(code: .requestJSON, message: error.message, line: error.line, column: error.column)
            }
            do {
                self = try RequestDecoder.decode(value)
            } catch {
                throw error.located(in: bytes)
            }
            return
        }
        do {
            self = try RequestDecoder.decode(members)
        } catch {
            throw error.located(in: bytes)
        }
    }

    /// Decodes a request from an already-parsed value (JSON, or a request written in YAML);
    /// errors are positioned at 1:1.
    public init(value: Value) throws(RequestError) {
        do {
            self = try RequestDecoder.decode(value)
        } catch {
            throw RequestError(code: error.code, message: error.message)
        }
    }
}

/// One step of the path from the request root to an offending key or value.
enum RequestPathComponent: Hashable {
    /// An object member.
    case key(String)
    /// A list element.
    case index(Int)
}

/// A shape error found while decoding, addressed by path until it is positioned.
struct RequestDecodingFailure: Error {
    /// The diagnostic code.
    var code: DiagnosticCode
    /// The one-line message.
    var message: String
    /// The path to the offending member (empty for the request itself).
    var path: [RequestPathComponent]
    /// True to point at the member's key rather than its value.
    var pointsAtKey = false

    /// Positions this failure in the JSON text it was decoded from.
    func located(in bytes: UnsafeBufferPointer<UInt8>) -> RequestError {
        var reader = JSONReader(bytes)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { reader.index = 3 }
        guard let offset = reader.offset(of: path[...], pointsAtKey: pointsAtKey) else {
            return RequestError(code: code, message: message)
        }
        let (line, column) = JSONParser.position(ofOffset: offset, in: bytes)
        return RequestError(code: code, message: message, line: line, column: column)
    }
}

/// The request shape checker: `Value` in, `Request` out.
///
/// Each object is walked once, matching member names by string comparison (no hashing), and
/// paths for error positions are only built when an error is thrown.
enum RequestDecoder {
    /// Decodes the request shape of SPEC §1 from `value`.
    static func decode(_ value: Value) throws(RequestDecodingFailure) -> Request {
        guard case .object(let fields) = value else {
            throw RequestDecodingFailure(code: .requestNotObject,
                                         message: "a request must be a json object, found \(value.typeName)", path: [])
        }
        var members = RequestMembers()
        for (key, member) in fields where members.set(key, member) == 0 {
            members.noteUnknown(key)
        }
        return try decode(members)
    }

    /// Checks and converts the collected members of a request object.
    static func decode(_ members: RequestMembers) throws(RequestDecodingFailure) -> Request {
        if let unknown = members.unknown {
            throw unknownField(unknown, known: Request.fieldNames, owner: "request", inAgent: false)
        }
        let agent = try decodeAgent(members.agent)
        let action = try requiredString(members.action, name: "action", key: "action", inAgent: false)
        var resource: String?
        switch members.resource {
        case nil, .null?: resource = nil
        case .string(let text)?: resource = text
        case let other?: throw wrongType("resource", expected: "a string", found: other, path: [.key("resource")])
        }
        let params = try optionalObject(members.params, name: "params", key: "params", inAgent: false)
        let context = try optionalObject(members.context, name: "context", key: "context", inAgent: false)
        if let time = context["time"], time != .null {
            // Rate limits read the request's clock: a time that cannot be read is an error for
            // this request, never a silent fall-back to another clock.
            guard case .string(let text) = time, Timestamp.parse(text) != nil else {
                let found = if case .string(let text) = time { "`\(Messages.excerpt(text))`" } else { time.typeName }
                throw RequestDecodingFailure(code: .requestOutOfRange,
                                             message: "`context.time` must be an rfc 3339 date-time such as `2026-11-21T10:00:00Z`, found \(found)",
                                             path: [.key("context"), .key("time")])
            }
        }
        return Request(agent: agent, action: action, resource: resource, params: params, context: context)
    }

    /// Decodes the `agent` member.
    private static func decodeAgent(_ member: AgentMember) throws(RequestDecodingFailure) -> Agent {
        let members: AgentMembers
        switch member {
        case .absent:
            throw RequestDecodingFailure(code: .requestMissingField, message: "missing required field `agent`", path: [])
        case .value(let value):
            throw wrongType("agent", expected: "an object", found: value, path: [.key("agent")])
        case .members(let collected):
            members = collected
        }
        if let unknown = members.unknown {
            throw unknownField(unknown, known: Request.agentFieldNames, owner: "`agent`", inAgent: true)
        }
        let idValue = members.id, trustValue = members.trust, ringValue = members.ring
        let consensusValue = members.consensus, rolesValue = members.roles, attrsValue = members.attrs

        let id = try requiredString(idValue, name: "agent.id", key: "id", inAgent: true)

        var trust: Double?
        switch trustValue {
        case nil, .null?: trust = nil
        case .number(let number)?:
            guard number >= 0, number <= 1 else {
                throw RequestDecodingFailure(code: .requestOutOfRange,
                                             message: "`agent.trust` must be between 0 and 1, found `\(JSONText.number(number))`",
                                             path: [.key("agent"), .key("trust")])
            }
            trust = number
        case let other?: throw wrongType("agent.trust", expected: "a number", found: other, path: [.key("agent"), .key("trust")])
        }

        var ring: Int?
        switch ringValue {
        case nil, .null?: ring = nil
        case .number(let number)?:
            guard number == number.rounded(), number.isFinite else {
                throw RequestDecodingFailure(code: .requestWrongType,
                                             message: "`agent.ring` must be an integer, found `\(JSONText.number(number))`",
                                             path: [.key("agent"), .key("ring")])
            }
            guard number >= 0, number <= 3 else {
                throw RequestDecodingFailure(code: .requestOutOfRange,
                                             message: "`agent.ring` must be 0, 1, 2 or 3, found `\(JSONText.number(number))`",
                                             path: [.key("agent"), .key("ring")])
            }
            ring = Int(number)
        case let other?: throw wrongType("agent.ring", expected: "an integer", found: other, path: [.key("agent"), .key("ring")])
        }

        var consensus = false
        switch consensusValue {
        case nil, .null?: consensus = false
        case .bool(let flag)?: consensus = flag
        case let other?:
            throw wrongType("agent.consensus", expected: "a boolean", found: other, path: [.key("agent"), .key("consensus")])
        }

        var roles: [String] = []
        switch rolesValue {
        case nil, .null?: break
        case .list(let elements)?:
            roles.reserveCapacity(elements.count)
            for (position, element) in elements.enumerated() {
                guard case .string(let role) = element else {
                    throw wrongType("agent.roles[\(position)]", expected: "a string", found: element,
                                    path: [.key("agent"), .key("roles"), .index(position)])
                }
                roles.append(role)
            }
        case let other?:
            throw wrongType("agent.roles", expected: "a list of strings", found: other, path: [.key("agent"), .key("roles")])
        }

        let attrs = try optionalObject(attrsValue, name: "agent.attrs", key: "attrs", inAgent: true)
        return Agent(id: id, trust: trust, ring: ring, consensus: consensus, roles: roles, attrs: attrs)
    }

    /// The path to member `key` of the request (or of its agent when `inAgent`).
    private static func path(_ key: String, inAgent: Bool) -> [RequestPathComponent] {
        inAgent ? [.key("agent"), .key(key)] : [.key(key)]
    }

    /// The RF6006 failure for an unknown member, with a "did you mean" suggestion when one is close.
    private static func unknownField(_ key: String, known: [String], owner: String, inAgent: Bool) -> RequestDecodingFailure {
        var message = "unknown field `\(Messages.excerpt(key))` in \(owner)"
        if let suggestion = Suggestions.closest(to: key, among: known) {
            message += "; did you mean `\(suggestion)`?"
        }
        return RequestDecodingFailure(code: .requestUnknownField, message: message,
                                      path: path(key, inAgent: inAgent), pointsAtKey: true)
    }

    /// Decodes a required non-empty string member; a missing one is reported at its object.
    private static func requiredString(_ value: Value?, name: String, key: String,
                                       inAgent: Bool) throws(RequestDecodingFailure) -> String {
        guard let value else {
            throw RequestDecodingFailure(code: .requestMissingField, message: "missing required field `\(name)`",
                                         path: inAgent ? [.key("agent")] : [])
        }
        guard case .string(let text) = value else {
            throw wrongType(name, expected: "a string", found: value, path: path(key, inAgent: inAgent))
        }
        guard !text.isEmpty else {
            throw RequestDecodingFailure(code: .requestMissingField, message: "required field `\(name)` must not be empty",
                                         path: path(key, inAgent: inAgent))
        }
        return text
    }

    /// Decodes an optional object member; null means absent.
    private static func optionalObject(_ value: Value?, name: String, key: String,
                                       inAgent: Bool) throws(RequestDecodingFailure) -> [String: Value] {
        switch value {
        case nil, .null?: return [:]
        case .object(let members)?: return members
        case let other?: throw wrongType(name, expected: "an object", found: other, path: path(key, inAgent: inAgent))
        }
    }

    /// The RF6004 failure for a member of the wrong JSON type.
    private static func wrongType(_ name: String, expected: String, found: Value,
                                  path: [RequestPathComponent]) -> RequestDecodingFailure {
        RequestDecodingFailure(code: .requestWrongType, message: "`\(name)` must be \(expected), found \(found.typeName)", path: path)
    }
}

/// The members of a request object, collected before they are checked.
struct RequestMembers {
    /// `agent`: absent, a non-object value, or the agent's collected members.
    var agent = AgentMember.absent
    /// `action`, when present.
    var action: Value?
    /// `resource`, when present.
    var resource: Value?
    /// `params`, when present.
    var params: Value?
    /// `context`, when present.
    var context: Value?
    /// The first (in sorted order) member name that a request does not have.
    var unknown: String?

    /// Stores a known member and returns its bit (1 << its index in `Request.fieldNames`), or
    /// returns 0 for an unknown name.
    @discardableResult
    mutating func set(_ key: String, _ value: Value) -> UInt8 {
        switch key {
        case "agent":
            if case .object(let fields) = value {
                var members = AgentMembers()
                for (agentKey, member) in fields where members.set(agentKey, member) == 0 {
                    members.noteUnknown(agentKey)
                }
                agent = .members(members)
            } else {
                agent = .value(value)
            }
            return 1
        case "action": action = value; return 2
        case "resource": resource = value; return 4
        case "params": params = value; return 8
        case "context": context = value; return 16
        default: return 0
        }
    }

    /// Remembers an unknown member name, keeping the smallest for a deterministic report.
    mutating func noteUnknown(_ key: String) {
        if unknown.map({ key < $0 }) ?? true { unknown = key }
    }
}

/// The `agent` member of a request as collected.
enum AgentMember {
    /// No `agent` member.
    case absent
    /// An `agent` member that is not an object.
    case value(Value)
    /// An `agent` object's members.
    case members(AgentMembers)
}

/// The members of a request's `agent` object, collected before they are checked.
struct AgentMembers {
    /// `id`, when present.
    var id: Value?
    /// `trust`, when present.
    var trust: Value?
    /// `ring`, when present.
    var ring: Value?
    /// `consensus`, when present.
    var consensus: Value?
    /// `roles`, when present.
    var roles: Value?
    /// `attrs`, when present.
    var attrs: Value?
    /// The first (in sorted order) member name that an agent does not have.
    var unknown: String?

    /// Stores a known member and returns its bit (1 << its index in `Request.agentFieldNames`),
    /// or returns 0 for an unknown name.
    @discardableResult
    mutating func set(_ key: String, _ value: Value) -> UInt8 {
        switch key {
        case "id": id = value; return 1
        case "trust": trust = value; return 2
        case "ring": ring = value; return 4
        case "consensus": consensus = value; return 8
        case "roles": roles = value; return 16
        case "attrs": attrs = value; return 32
        default: return 0
        }
    }

    /// Remembers an unknown member name, keeping the smallest for a deterministic report.
    mutating func noteUnknown(_ key: String) {
        if unknown.map({ key < $0 }) ?? true { unknown = key }
    }
}

/// The keys seen so far in one object: a bit per known name, a hash set for the others (so an
/// object with many unknown keys is read in linear time).
struct KeySet {
    /// The bits of the known names seen.
    var known: UInt8 = 0
    /// The unknown names seen.
    var others: Set<String> = []

    /// Records `key` (whose known-name bit is `bit`, or 0), throwing the duplicate-key error
    /// positioned at `offset` when it was already seen.
    mutating func insert(_ key: String, bit: UInt8, at offset: Int) throws(JSONScanError) {
        let duplicate: Bool
        if bit != 0 {
            duplicate = known & bit != 0
            known |= bit
        } else {
            duplicate = !others.insert(key).inserted
        }
        if duplicate {
            throw JSONScanError(message: "duplicate key `\(Messages.excerpt(key))`", offset: offset)
        }
    }
}

extension JSONReader {
    /// Reads a document whose top-level value is an object straight into request members,
    /// with exactly the syntax rules (and errors) of `parseDocument`; returns nil, having read
    /// nothing, when the top-level value is not an object.
    mutating func parseRequestDocument() throws(JSONScanError) -> RequestMembers? {
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        guard index < end, bytes[index] == UInt8(ascii: "{") else { return nil }
        var members = RequestMembers()
        var seen = KeySet()
        try parseMembers { (reader, key, keyStart) throws(JSONScanError) in
            if key == "agent", reader.index < reader.end, reader.bytes[reader.index] == UInt8(ascii: "{") {
                var agent = AgentMembers()
                var agentSeen = KeySet()
                try reader.parseMembers { (reader, agentKey, agentKeyStart) throws(JSONScanError) in
                    let value = try reader.parseValue()
                    let bit = agent.set(agentKey, value)
                    try agentSeen.insert(agentKey, bit: bit, at: agentKeyStart)
                    if bit == 0 { agent.noteUnknown(agentKey) }
                }
                try seen.insert(key, bit: 1, at: keyStart)
                members.agent = .members(agent)
                return
            }
            let value = try reader.parseValue()
            let bit = members.set(key, value)
            try seen.insert(key, bit: bit, at: keyStart)
            if bit == 0 { members.noteUnknown(key) }
        }
        skipWhitespace()
        if index < end {
            throw JSONScanError(message: "unexpected \(describe(at: index)) after the json value", offset: index)
        }
        return members
    }
}

extension JSONReader {
    /// Returns the byte offset of the member at `path` (its key when `pointsAtKey`, else its
    /// value) in the text, which must already be known to be valid JSON; nil when absent.
    mutating func offset(of path: ArraySlice<RequestPathComponent>, pointsAtKey: Bool) -> Int? {
        skipWhitespace()
        guard let first = path.first else { return index }
        guard index < end else { return nil }
        switch first {
        case .key(let name):
            guard bytes[index] == UInt8(ascii: "{") else { return nil }
            index += 1
            skipWhitespace()
            while index < end, bytes[index] == UInt8(ascii: "\"") {
                let keyStart = index
                guard let key = try? parseString() else { return nil }
                skipWhitespace()
                guard index < end, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                if key == name {
                    if path.count == 1, pointsAtKey { return keyStart }
                    return offset(of: path.dropFirst(), pointsAtKey: pointsAtKey)
                }
                skipWhitespace()
                guard (try? parseValue()) != nil else { return nil }
                skipWhitespace()
                guard index < end, bytes[index] == UInt8(ascii: ",") else { return nil }
                index += 1
                skipWhitespace()
            }
            return nil
        case .index(let wanted):
            guard bytes[index] == UInt8(ascii: "[") else { return nil }
            index += 1
            var position = 0
            while true {
                skipWhitespace()
                if position == wanted { return offset(of: path.dropFirst(), pointsAtKey: pointsAtKey) }
                guard (try? parseValue()) != nil else { return nil }
                skipWhitespace()
                guard index < end, bytes[index] == UInt8(ascii: ",") else { return nil }
                index += 1
                position += 1
            }
        }
    }
}

/// Splits `eval` input into requests (SPEC §4.1).
///
/// The rule: if the whole input parses as one JSON value, it is one request (so a
/// pretty-printed, multi-line request works). Otherwise, if the first non-blank line is an
/// unfinished JSON value (the input ends inside it when read alone), the input is taken as one
/// broken multi-line document, so its single error points at the right place. Otherwise the
/// input is JSON Lines: each non-blank line (lines end at `\n`; a trailing `\r` is dropped) is
/// one request. Blank lines (only spaces, tabs and `\r`) are skipped. Line numbers are 1-based
/// lines of the whole input.
public struct JSONLinesReader: Sequence, Sendable {
    /// One request's text and where it starts.
    public struct Element: Sendable, Hashable {
        /// The 1-based line of the input where the request's text starts.
        public var line: Int
        /// The request's bytes (a slice of the input, starting at the beginning of `line`).
        public var bytes: ArraySlice<UInt8>

        /// Creates an element.
        public init(line: Int, bytes: ArraySlice<UInt8>) {
            self.line = line
            self.bytes = bytes
        }

        /// Decodes the request, with error lines counted in the whole input.
        public func request() throws(RequestError) -> Request {
            let result = bytes.withUnsafeBufferPointer { buffer in
                Result { () throws(RequestError) -> Request in try Request(jsonBytes: buffer) }
            }
            switch result {
            case .success(let request):
                return request
            case .failure(var error):
                error.line += line - 1
                throw error
            }
        }
    }

    /// Walks the input line by line.
    public struct Iterator: IteratorProtocol, Sendable {
        /// The whole input.
        let buffer: [UInt8]
        /// True when the input is one document.
        let singleDocument: Bool
        /// The offset of the next unread line.
        var position = 0
        /// The 1-based number of the next unread line.
        var line = 1

        /// Returns the next request's text, or nil at the end of the input.
        public mutating func next() -> Element? {
            while position < buffer.count {
                let lineEnd = buffer.withUnsafeBufferPointer { JSONLinesReader.lineFeed(in: $0, from: position) }
                let start = position
                let number = line
                position = lineEnd + 1
                line += 1
                var contentEnd = lineEnd
                if contentEnd > start, buffer[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                let text = buffer[start..<contentEnd]
                if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                if singleDocument {
                    position = buffer.count
                    return Element(line: number, bytes: buffer[start...])
                }
                return Element(line: number, bytes: text)
            }
            return nil
        }
    }

    /// The whole input.
    public let buffer: [UInt8]
    /// True when the input is read as one (possibly multi-line) document rather than JSON Lines.
    public let isSingleDocument: Bool

    /// Prepares to split `buffer`, deciding between one document and JSON Lines.
    public init(_ buffer: [UInt8]) {
        self.buffer = buffer
        self.isSingleDocument = buffer.withUnsafeBufferPointer { bytes in
            var whole = JSONReader(bytes)
            if (try? whole.parseDocument()) != nil { return true }
            var iterator = Iterator(buffer: buffer, singleDocument: false)
            guard let first = iterator.next() else { return false }
            return first.bytes.withUnsafeBufferPointer { lineBytes in
                var reader = JSONReader(lineBytes)
                do throws(JSONScanError) {
                    _ = try reader.parseDocument()
                    return false
                } catch {
                    return error.isEndOfInput
                }
            }
        }
    }

    /// Returns an iterator over the requests' texts.
    public func makeIterator() -> Iterator {
        Iterator(buffer: buffer, singleDocument: isSingleDocument)
    }

    /// The offset of the first line feed in `bytes` at or after `start`, or `bytes.count`; eight
    /// bytes at a time.
    static func lineFeed(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= bytes.count {
                // A byte of `word` is zero where the input holds a line feed; the lowest flagged
                // byte is always a true one.
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ 0x0A0A_0A0A_0A0A_0A0A
                let flags = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
                if flags != 0 { return index + flags.trailingZeroBitCount >> 3 }
                index += 8
            }
        }
        while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
        return index
    }
}
