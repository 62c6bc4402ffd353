import RingfenceVM

// The two passes of `PreparedRequestDecoder`'s fast path: `RequestScanner` checks a request's
// text with exactly the syntax rules of `JSONReader` and its shape with the rules of
// `RequestDecoder`, noting where the fields and the slots' values are; `ValueEmitter` then reads
// those values (already known valid) into a `PreparedRequestBuilder`. The scanner gives up
// (throws) on anything the general path must read: every error, and the few valid inputs listed
// at the top of PreparedRequestDecoding.swift.

/// A string in the request text.
struct StringSpan {
    /// The offset of its opening quote.
    var quote: Int32
    /// The offset of its closing quote (its bytes are `quote + 1 ..< end`); meaningful only when
    /// it has no escape.
    var end: Int32
    /// True when it has an escape, so its bytes are decoded rather than read in place.
    var escaped: Bool
}

/// An object key in the request text: ASCII, without escapes.
struct KeySpan {
    /// The offset of its first byte.
    var start: Int32
    /// Its length in bytes.
    var count: Int32
}

/// The request's fixed fields as the scanner found them.
struct RequestFields {
    /// `action`.
    var action: StringSpan?
    /// `agent.id`.
    var id: StringSpan?
    /// `resource`, when present and not null.
    var resource: StringSpan?
    /// `agent.trust`, when present and not null.
    var trust: Double?
    /// `agent.ring`, when present and not null.
    var ring: Int?
    /// `agent.consensus` (false when absent or null).
    var consensus = false
    /// The offset of the `agent.roles` list, or -1 when absent or null.
    var roles: Int32 = -1
    /// True once `agent` has been read.
    var hasAgent = false
}

/// Pass one: checks the text and the request's shape, noting the fields and the offsets of the
/// values at the slots' paths. Throws (with no message: the general path reports) on anything
/// the fast path does not take.
struct RequestScanner {
    /// The reader whose syntax rules the scanner follows, and whose number and escaped-string
    /// parsing it uses.
    var reader: JSONReader
    /// The decoder's path nodes.
    let nodes: UnsafeBufferPointer<PathNode>
    /// The decoder's path steps.
    let children: UnsafeBufferPointer<PathChild>
    /// The steps' names.
    let names: UnsafeBufferPointer<UInt8>
    /// The steps' non-ASCII names.
    let unicodeNames: UnsafeBufferPointer<String>
    /// Per path node, the offset of its value in the text, or -1 when absent.
    let values: UnsafeMutableBufferPointer<Int32>
    /// The keys of the objects being read, innermost last (duplicates are searched here).
    let keys: UnsafeMutableBufferPointer<KeySpan>
    /// The number of keys in `keys`.
    var keyCount = 0
    /// What was found.
    var fields = RequestFields()

    /// Creates a scanner over `bytes`.
    init(bytes: UnsafeBufferPointer<UInt8>, nodes: UnsafeBufferPointer<PathNode>, children: UnsafeBufferPointer<PathChild>,
         names: UnsafeBufferPointer<UInt8>, unicodeNames: UnsafeBufferPointer<String>, values: UnsafeMutableBufferPointer<Int32>,
         keys: UnsafeMutableBufferPointer<KeySpan>) {
        reader = JSONReader(bytes)
        self.nodes = nodes
        self.children = children
        self.names = names
        self.unicodeNames = unicodeNames
        self.values = values
        self.keys = keys
    }

    /// The signal to leave the input to the general path.
    static var notTaken: JSONScanError { JSONScanError(message: "", offset: 0) }

    /// The byte at the reader's position; the caller has checked there is one.
    var byte: UInt8 {
        @inline(__always) get { reader.bytes[reader.index] }
    }

    /// Throws unless a byte is left to read.
    @inline(__always)
    func needByte() throws(JSONScanError) {
        if reader.index >= reader.end { throw Self.notTaken }
    }

    // MARK: The request

    /// Skips a byte order mark and whitespace; an object must follow.
    mutating func openDocument() throws(JSONScanError) {
        let bytes = reader.bytes
        if reader.end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { reader.index = 3 }
        reader.skipWhitespace()
        try needByte()
        guard byte == UInt8(ascii: "{") else { throw Self.notTaken }
    }

    /// Nothing but whitespace may follow the document's value.
    mutating func closeDocument() throws(JSONScanError) {
        reader.skipWhitespace()
        guard reader.index == reader.end else { throw Self.notTaken }
    }

    /// JSON-text = ws object ws, the object a request.
    mutating func scanDocument() throws(JSONScanError) {
        try openDocument()
        try scanRequest()
        try closeDocument()
        guard fields.hasAgent, fields.id != nil, fields.action != nil else { throw Self.notTaken }
    }

    /// The request object: `agent`, `action`, `resource`, `params`, `context`, each at most once.
    private mutating func scanRequest() throws(JSONScanError) {
        var seen: UInt8 = 0
        try scanObject { (scanner, key) throws(JSONScanError) in
            let bit: UInt8
            if scanner.isKey(key, "agent") {
                bit = 1
                guard scanner.byte == UInt8(ascii: "{") else { throw Self.notTaken }
                try scanner.scanAgent()
                scanner.fields.hasAgent = true
            } else if scanner.isKey(key, "action") {
                bit = 2
                let span = try scanner.requiredString()
                scanner.fields.action = span
            } else if scanner.isKey(key, "resource") {
                bit = 4
                if scanner.byte == UInt8(ascii: "n") {
                    try scanner.literal("null")
                } else {
                    guard scanner.byte == UInt8(ascii: "\"") else { throw Self.notTaken }
                    scanner.fields.resource = try scanner.scanString()
                }
            } else if scanner.isKey(key, "params") {
                bit = 8
                try scanner.optionalObject(node: 1)
            } else if scanner.isKey(key, "context") {
                bit = 16
                try scanner.optionalObject(node: 2)
            } else {
                throw Self.notTaken
            }
            if seen & bit != 0 { throw Self.notTaken }
            seen |= bit
        }
    }

    /// The `agent` object: `id`, `trust`, `ring`, `consensus`, `roles`, `attrs`, each at most once.
    private mutating func scanAgent() throws(JSONScanError) {
        var seen: UInt8 = 0
        try scanObject { (scanner, key) throws(JSONScanError) in
            let bit: UInt8
            if scanner.isKey(key, "id") {
                bit = 1
                let span = try scanner.requiredString()
                scanner.fields.id = span
            } else if scanner.isKey(key, "trust") {
                bit = 2
                if let trust = try scanner.optionalNumber() {
                    guard trust >= 0, trust <= 1 else { throw Self.notTaken }
                    scanner.fields.trust = trust
                }
            } else if scanner.isKey(key, "ring") {
                bit = 4
                if let ring = try scanner.optionalNumber() {
                    guard ring == ring.rounded(), ring.isFinite, ring >= 0, ring <= 3 else { throw Self.notTaken }
                    scanner.fields.ring = Int(ring)
                }
            } else if scanner.isKey(key, "consensus") {
                bit = 8
                switch scanner.byte {
                case UInt8(ascii: "n"): try scanner.literal("null")
                case UInt8(ascii: "t"): try scanner.literal("true"); scanner.fields.consensus = true
                case UInt8(ascii: "f"): try scanner.literal("false")
                default: throw Self.notTaken
                }
            } else if scanner.isKey(key, "roles") {
                bit = 16
                if scanner.byte == UInt8(ascii: "n") {
                    try scanner.literal("null")
                } else {
                    guard scanner.byte == UInt8(ascii: "[") else { throw Self.notTaken }
                    scanner.fields.roles = Int32(scanner.reader.index)
                    try scanner.scanRoles()
                }
            } else if scanner.isKey(key, "attrs") {
                bit = 32
                try scanner.optionalObject(node: 0)
            } else {
                throw Self.notTaken
            }
            if seen & bit != 0 { throw Self.notTaken }
            seen |= bit
        }
    }

    /// `agent.roles`: a list of strings.
    private mutating func scanRoles() throws(JSONScanError) {
        try scanList { scanner throws(JSONScanError) in
            guard scanner.byte == UInt8(ascii: "\"") else { throw Self.notTaken }
            _ = try scanner.scanString()
        }
    }

    /// A non-empty string (`action`, `agent.id`).
    private mutating func requiredString() throws(JSONScanError) -> StringSpan {
        guard byte == UInt8(ascii: "\"") else { throw Self.notTaken }
        let span = try scanString()
        // An escape always decodes to at least one byte, so only `""` is empty.
        guard span.escaped || span.end > span.quote + 1 else { throw Self.notTaken }
        return span
    }

    /// A number or null (nil).
    private mutating func optionalNumber() throws(JSONScanError) -> Double? {
        switch byte {
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try reader.parseNumber()
        default:
            throw Self.notTaken
        }
    }

    /// An object read below path node `node`, or null.
    private mutating func optionalObject(node: Int32) throws(JSONScanError) {
        switch byte {
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "{"): try scanPathObject(node: node)
        default: throw Self.notTaken
        }
    }

    // MARK: Values

    /// An object whose members are looked up below path node `node` (-1: none, the object is
    /// only checked): a member that is a node's step has its value's offset noted, and is read
    /// below that node when it is an object and the node has steps of its own.
    private mutating func scanPathObject(node: Int32) throws(JSONScanError) {
        let base = keyCount
        try scanObject { (scanner, key) throws(JSONScanError) in
            var i = base
            while i < scanner.keyCount {
                if scanner.sameKey(scanner.keys[i], key) { throw Self.notTaken }
                i += 1
            }
            guard scanner.keyCount - base < PreparedRequestDecoder.maximumKeysPerObject,
                  scanner.keyCount < scanner.keys.count else { throw Self.notTaken }
            scanner.keys[scanner.keyCount] = key
            scanner.keyCount += 1
            let child = node >= 0 ? scanner.child(of: node, named: key) : -1
            if child >= 0 {
                scanner.values[Int(child)] = Int32(scanner.reader.index)
                if scanner.nodes[Int(child)].childCount > 0, scanner.byte == UInt8(ascii: "{") {
                    try scanner.scanPathObject(node: child)
                    return
                }
            }
            try scanner.skipValue()
        }
        keyCount = base
    }

    /// Checks one value without keeping it.
    mutating func skipValue() throws(JSONScanError) {
        switch byte {
        case UInt8(ascii: "{"): try scanPathObject(node: -1)
        case UInt8(ascii: "["): try skipList()
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try reader.parseNumber()
        default: throw Self.notTaken
        }
    }

    /// Checks a list without keeping it.
    private mutating func skipList() throws(JSONScanError) {
        try scanList { scanner throws(JSONScanError) in try scanner.skipValue() }
    }

    /// list = `[` [ value *( `,` value ) ] `]`, as `JSONReader.parseList` reads it; `item` reads
    /// each value (a byte is there).
    @inline(__always)
    mutating func scanList(_ item: (inout RequestScanner) throws(JSONScanError) -> Void) throws(JSONScanError) {
        guard try openContainer(closing: UInt8(ascii: "]")) else { return }
        repeat {
            try needByte()
            try item(&self)
        } while try nextItem(closing: UInt8(ascii: "]"))
    }

    /// A string at the reader's position (its opening quote), checked as `JSONReader.parseString`
    /// checks it; one with an escape is decoded by `parseString` itself.
    mutating func scanString() throws(JSONScanError) -> StringSpan {
        let bytes = reader.bytes
        let end = reader.end
        let quote = reader.index
        var index = quote + 1
        while index < end {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                reader.index = index + 1
                return StringSpan(quote: Int32(truncatingIfNeeded: quote), end: Int32(truncatingIfNeeded: index), escaped: false)
            } else if b == UInt8(ascii: "\\") {
                reader.index = quote
                _ = try reader.parseString()
                return StringSpan(quote: Int32(truncatingIfNeeded: quote), end: -1, escaped: true)
            } else if b < 0x20 {
                throw Self.notTaken
            } else if b < 0x80 {
                index += 1
            } else {
                index += try reader.utf8SequenceLength(at: index)
            }
        }
        throw Self.notTaken
    }

    // MARK: Objects and keys

    /// object = `{` [ member *( `,` member ) ] `}`, as `JSONReader.parseObject` reads it; `member`
    /// reads each value (a byte is there) given its key.
    @inline(__always)
    mutating func scanObject(_ member: (inout RequestScanner, KeySpan) throws(JSONScanError) -> Void) throws(JSONScanError) {
        guard try openContainer(closing: UInt8(ascii: "}")) else { return }
        repeat {
            try needByte()
            guard byte == UInt8(ascii: "\"") else { throw Self.notTaken }
            let key = try scanKey()
            reader.skipWhitespace()
            try needByte()
            guard byte == UInt8(ascii: ":") else { throw Self.notTaken }
            reader.index += 1
            reader.skipWhitespace()
            try needByte()
            try member(&self, key)
        } while try nextItem(closing: UInt8(ascii: "}"))
    }

    /// Enters the container whose opening bracket is at the reader's position; false when it
    /// closes at once with `closing` (and is left), true when an item follows.
    @inline(__always)
    private mutating func openContainer(closing: UInt8) throws(JSONScanError) -> Bool {
        try enterContainer()
        reader.index += 1
        reader.skipWhitespace()
        try needByte()
        guard byte == closing else { return true }
        reader.index += 1
        reader.depth -= 1
        return false
    }

    /// After an item: true on `,` (another item follows), false on `closing` (the container is
    /// left); anything else is not taken.
    @inline(__always)
    private mutating func nextItem(closing: UInt8) throws(JSONScanError) -> Bool {
        reader.skipWhitespace()
        try needByte()
        if byte == UInt8(ascii: ",") {
            reader.index += 1
            reader.skipWhitespace()
            return true
        }
        guard byte == closing else { throw Self.notTaken }
        reader.index += 1
        reader.depth -= 1
        return false
    }

    /// A key of printable ASCII without escapes (anything else is left to the general path, where
    /// keys compare as Swift strings do).
    private mutating func scanKey() throws(JSONScanError) -> KeySpan {
        let bytes = reader.bytes
        let start = reader.index + 1
        var index = start
        while index < reader.end {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                reader.index = index + 1
                return KeySpan(start: Int32(truncatingIfNeeded: start), count: Int32(truncatingIfNeeded: index - start))
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { throw Self.notTaken }
            index += 1
        }
        throw Self.notTaken
    }

    /// True when `key` is `word`.
    @inline(__always)
    func isKey(_ key: KeySpan, _ word: StaticString) -> Bool {
        guard Int(key.count) == word.utf8CodeUnitCount else { return false }
        let text = word.utf8Start
        var i = 0
        while i < Int(key.count) {
            if reader.bytes[Int(key.start) + i] != text[i] { return false }
            i += 1
        }
        return true
    }

    /// True when two keys have the same bytes.
    private func sameKey(_ a: KeySpan, _ b: KeySpan) -> Bool {
        guard a.count == b.count else { return false }
        var i = 0
        while i < Int(a.count) {
            if reader.bytes[Int(a.start) + i] != reader.bytes[Int(b.start) + i] { return false }
            i += 1
        }
        return true
    }

    /// The step from path node `node` named `key`, or -1.
    private func child(of node: Int32, named key: KeySpan) -> Int32 {
        let entry = nodes[Int(node)]
        var i = Int(entry.firstChild)
        let stop = i + Int(entry.childCount)
        while i < stop {
            let step = children[i]
            if step.unicodeName >= 0 {
                // Keys are ASCII here; a non-ASCII name can still equal one (U+212A KELVIN SIGN is `K`).
                let text = String(decoding: UnsafeBufferPointer(rebasing: reader.bytes[Int(key.start) ..< Int(key.start + key.count)]),
                                  as: UTF8.self)
                if text == unicodeNames[Int(step.unicodeName)] { return step.node }
            } else if step.nameCount == key.count {
                var j = 0
                while j < Int(key.count), names[Int(step.nameStart) + j] == reader.bytes[Int(key.start) + j] { j += 1 }
                if j == Int(key.count) { return step.node }
            }
            i += 1
        }
        return -1
    }

    // MARK: Helpers

    /// Counts one more open container, refusing to go deeper than `JSONParser.maximumDepth`.
    @inline(__always)
    private mutating func enterContainer() throws(JSONScanError) {
        reader.depth += 1
        if reader.depth > JSONParser.maximumDepth { throw Self.notTaken }
    }

    /// Consumes `word` (`true`, `false` or `null`).
    private mutating func literal(_ word: StaticString) throws(JSONScanError) {
        let count = word.utf8CodeUnitCount
        guard reader.index + count <= reader.end else { throw Self.notTaken }
        let text = word.utf8Start
        var i = 0
        while i < count {
            if reader.bytes[reader.index + i] != text[i] { throw Self.notTaken }
            i += 1
        }
        reader.index += count
    }
}

/// Pass two: reads values the scanner has checked into a builder.
struct ValueEmitter {
    /// A reader over the same text, for numbers and escaped strings.
    var reader: JSONReader

    /// Creates an emitter over `bytes`.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        reader = JSONReader(bytes)
    }

    /// The text of the string at `span`.
    mutating func string(_ span: StringSpan) -> String {
        withString(span) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the UTF-8 bytes of the string at `span`.
    mutating func withString<R>(_ span: StringSpan, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if !span.escaped {
            return body(UnsafeBufferPointer(rebasing: reader.bytes[Int(span.quote) + 1 ..< Int(span.end)]))
        }
        reader.index = Int(span.quote)
        var text = (try? reader.parseString()) ?? ""
        return text.withUTF8(body)
    }

    /// Calls `body` with the UTF-8 bytes of the (checked) string whose opening quote is at
    /// `quote`, and moves past it.
    mutating func withString<R>(at quote: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let bytes = reader.bytes
        var index = quote + 1
        while bytes[index] != UInt8(ascii: "\"") && bytes[index] != UInt8(ascii: "\\") { index += 1 }
        if bytes[index] == UInt8(ascii: "\"") {
            reader.index = index + 1
            return body(UnsafeBufferPointer(rebasing: bytes[quote + 1 ..< index]))
        }
        reader.index = quote
        var text = (try? reader.parseString()) ?? ""
        return text.withUTF8(body)
    }

    /// Writes the (checked) value at `offset` into `builder`.
    mutating func emit(at offset: Int, into builder: inout PreparedRequestBuilder) {
        reader.index = offset
        emitValue(into: &builder)
    }

    /// Writes the value at the reader's position and moves past it.
    private mutating func emitValue(into builder: inout PreparedRequestBuilder) {
        let bytes = reader.bytes
        switch bytes[reader.index] {
        case UInt8(ascii: "{"):
            builder.object()
            skipObject()
        case UInt8(ascii: "["):
            builder.beginList()
            reader.index += 1
            reader.skipWhitespace()
            if bytes[reader.index] == UInt8(ascii: "]") {
                reader.index += 1
            } else {
                while true {
                    emitValue(into: &builder)
                    reader.skipWhitespace()
                    let separator = bytes[reader.index]
                    reader.index += 1
                    if separator != UInt8(ascii: ",") { break }
                    reader.skipWhitespace()
                }
            }
            builder.endList()
        case UInt8(ascii: "\""):
            withString(at: reader.index) { builder.string($0) }
        case UInt8(ascii: "t"):
            builder.bool(true)
            reader.index += 4
        case UInt8(ascii: "f"):
            builder.bool(false)
            reader.index += 5
        case UInt8(ascii: "n"):
            builder.null()
            reader.index += 4
        default:
            builder.number((try? reader.parseNumber()) ?? 0)
        }
    }

    /// Moves past the (checked) object at the reader's position.
    private mutating func skipObject() {
        let bytes = reader.bytes
        var depth = 0
        repeat {
            let b = bytes[reader.index]
            if b == UInt8(ascii: "\"") {
                reader.index += 1
                while bytes[reader.index] != UInt8(ascii: "\"") {
                    if bytes[reader.index] == UInt8(ascii: "\\") { reader.index += 1 }
                    reader.index += 1
                }
            } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                depth += 1
            } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                depth -= 1
            }
            reader.index += 1
        } while depth > 0
    }
}
