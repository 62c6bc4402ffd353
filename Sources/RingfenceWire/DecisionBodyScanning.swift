// Finding the decisions in a server request body without building a `Value` tree (SPEC §14.1).
//
// A body `{"ops": [item, …]}` (or an AuthZEN batch's list) is checked whole with the syntax
// rules of `JSONReader` — through `RequestScanner`, which follows them exactly — and split into
// its items' byte ranges. An item, or a single decision body, of the plain decision shape
//
//   {"op"?: "decide", "session"?: "<id text>", "request": {…}}
//
// has its parts located so the request can be decoded from its own bytes. Anything the scanner
// does not take — every syntax error, a key with an escape or a non-ASCII byte, another member,
// a duplicate, a string with an escape where a plain one is expected — is reported as `nil`, and
// the caller reads the body the general way, which gives every error its usual wording.

/// Where the parts of one decision lie in a body's bytes.
public struct DecisionSpans: Sendable, Hashable {
    /// The whole decision object, braces included.
    public var object: Range<Int>
    /// The request object, braces included.
    public var request: Range<Int>
    /// The session's text (between its quotes, no escapes), when given.
    public var session: Range<Int>?
    /// True when the object names its operation (`"op": "decide"`).
    public var namesOperation: Bool
}

/// One item of a batch: a plain decision, or any other valid JSON value left to the general path.
public enum BatchItemSpans: Sendable, Hashable {
    /// `{"op": "decide", "request": {…}, "session"?: …}`.
    case decision(DecisionSpans)
    /// Anything else, by its byte range.
    case other(Range<Int>)
}

/// Splits server request bodies into their decisions (see the top of this file).
public enum DecisionBodyScanner {
    /// The items of `{"<listKey>": [item, …]}` when the text is valid JSON of exactly that shape
    /// (one member, a list), each a plain decision or another value; nil otherwise.
    public static func batchItems(_ bytes: UnsafeBufferPointer<UInt8>, listKey: StaticString) -> [BatchItemSpans]? {
        var items: [BatchItemSpans] = []
        let taken = withScanner(bytes) { (scanner: inout RequestScanner) throws(JSONScanError) in
            try scanner.scanBatch(listKey: listKey, into: &items)
        }
        return taken ? items : nil
    }

    /// The parts of a body that is exactly one plain decision object; nil otherwise.
    public static func decision(_ bytes: UnsafeBufferPointer<UInt8>) -> DecisionSpans? {
        var spans: DecisionSpans?
        let taken = withScanner(bytes) { (scanner: inout RequestScanner) throws(JSONScanError) in
            try scanner.openDocument()
            spans = try scanner.scanDecision()
            try scanner.closeDocument()
        }
        return taken ? spans : nil
    }

    /// Runs `body` with a scanner that checks syntax only (no slot paths); false when it threw.
    private static func withScanner(_ bytes: UnsafeBufferPointer<UInt8>,
                                    _ body: (inout RequestScanner) throws(JSONScanError) -> Void) -> Bool {
        withUnsafeTemporaryAllocation(of: KeySpan.self, capacity: PreparedRequestDecoder.maximumOpenKeys) { keys in
            let noNodes = UnsafeMutableBufferPointer<Int32>(start: nil, count: 0)
            var scanner = RequestScanner(bytes: bytes, nodes: UnsafeBufferPointer(start: nil, count: 0),
                                         children: UnsafeBufferPointer(start: nil, count: 0), names: UnsafeBufferPointer(start: nil, count: 0),
                                         unicodeNames: UnsafeBufferPointer(start: nil, count: 0), values: noNodes, keys: keys)
            do throws(JSONScanError) {
                try body(&scanner)
                return true
            } catch {
                return false
            }
        }
    }
}

extension RequestScanner {
    /// `{"<listKey>": [item, …]}`, each item a plain decision or any value.
    mutating func scanBatch(listKey: StaticString, into items: inout [BatchItemSpans]) throws(JSONScanError) {
        try openDocument()
        var seen = false
        try scanObject { (scanner, key) throws(JSONScanError) in
            guard !seen, scanner.isKey(key, listKey), scanner.byte == UInt8(ascii: "[") else { throw Self.notTaken }
            seen = true
            try scanner.scanList { (scanner: inout RequestScanner) throws(JSONScanError) in
                let start = scanner.reader.index
                if scanner.byte == UInt8(ascii: "{") {
                    var attempt = scanner
                    if let spans = try? attempt.scanDecision(), spans.namesOperation {
                        scanner = attempt
                        items.append(.decision(spans))
                        return
                    }
                }
                try scanner.skipValue()
                items.append(.other(start ..< scanner.reader.index))
            }
        }
        guard seen else { throw Self.notTaken }
        try closeDocument()
    }

    /// A plain decision object at the reader's position (its opening brace): `op` (`"decide"`),
    /// `session` (a string without escapes) and `request` (an object), each at most once.
    mutating func scanDecision() throws(JSONScanError) -> DecisionSpans {
        var request: Range<Int>?
        var session: Range<Int>?
        var namesOperation = false
        var seen: UInt8 = 0
        let start = reader.index
        try scanObject { (scanner, key) throws(JSONScanError) in
            let bit: UInt8
            if scanner.isKey(key, "request") {
                bit = 1
                guard scanner.byte == UInt8(ascii: "{") else { throw Self.notTaken }
                let start = scanner.reader.index
                try scanner.skipValue()
                request = start ..< scanner.reader.index
            } else if scanner.isKey(key, "session") {
                bit = 2
                session = try scanner.plainString()
            } else if scanner.isKey(key, "op") {
                bit = 4
                let name = try scanner.plainString()
                guard name.count == 6, scanner.isKey(KeySpan(start: Int32(name.lowerBound), count: 6), "decide") else {
                    throw Self.notTaken
                }
                namesOperation = true
            } else {
                throw Self.notTaken
            }
            if seen & bit != 0 { throw Self.notTaken }
            seen |= bit
        }
        guard let request else { throw Self.notTaken }
        return DecisionSpans(object: start ..< reader.index, request: request, session: session, namesOperation: namesOperation)
    }

    /// A string without escapes at the reader's position: the range of its text.
    private mutating func plainString() throws(JSONScanError) -> Range<Int> {
        guard byte == UInt8(ascii: "\"") else { throw Self.notTaken }
        let span = try scanString()
        guard !span.escaped else { throw Self.notTaken }
        return Int(span.quote) + 1 ..< Int(span.end)
    }
}
