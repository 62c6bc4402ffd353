import CYAML
import RingfenceDiagnostics

/// The result of loading one YAML file: the document (nil when it could not be built) and every diagnostic.
///
/// The document is nil when loading stopped early (file too large, invalid UTF-8, a YAML syntax
/// error, nesting too deep, the node budget exceeded, or no document at all). Other problems
/// (duplicate keys, YAML 1.1 booleans, tags, merge keys, complex keys, unknown aliases) are
/// reported while the document is still built as far as it sensibly can be: the first of two
/// duplicate keys is kept, a YAML 1.1 boolean or mistagged scalar stays a string, a merge-key or
/// complex-key pair is left out, and an unknown alias becomes a null.
public struct YAMLLoadResult: Sendable {
    /// The document's root node, or nil when it could not be built.
    public var document: YAMLNode?
    /// Every problem found, in the order found.
    public var diagnostics: [Diagnostic]

    /// Creates a result.
    public init(document: YAMLNode?, diagnostics: [Diagnostic]) {
        self.document = document
        self.diagnostics = diagnostics
    }
}

/// Loads YAML files into positioned `YAMLNode` trees using libyaml's event API.
public enum YAMLLoader {
    /// Loads one YAML document from raw file bytes.
    public static func load(bytes: [UInt8], file: String, limits: YAMLLimits = .default) -> YAMLLoadResult {
        let start = SourceLocation(file: file, line: 1, column: 1)
        if bytes.count > limits.maxBytes {
            let message = Messages.fileTooLarge(file, bytes: bytes.count, limit: limits.maxBytes)
            return YAMLLoadResult(document: nil, diagnostics: [Diagnostic(.fileTooLarge, message, at: start)])
        }
        if let bad = UTF8Validation.firstInvalidByte(in: bytes) {
            let location = UTF8Validation.location(ofByte: bad, in: bytes, file: file)
            let byte = String(bytes[bad], radix: 16, uppercase: true)
            let diagnostic = Diagnostic(
                .invalidUTF8, "file is not valid UTF-8: invalid byte `0x\(byte.count == 1 ? "0" : "")\(byte)`",
                at: location, help: "save the file as UTF-8 text")
            return YAMLLoadResult(document: nil, diagnostics: [diagnostic])
        }
        if bytes.isEmpty {
            return YAMLLoadResult(document: nil, diagnostics: [YAMLTreeBuilder.noDocument(at: start)])
        }
        var builder = YAMLTreeBuilder(file: file, limits: limits)
        parse(bytes, into: &builder)
        return builder.result
    }

    /// Loads one YAML document from text.
    public static func load(text: String, file: String, limits: YAMLLimits = .default) -> YAMLLoadResult {
        load(bytes: Array(text.utf8), file: file, limits: limits)
    }

    /// Runs libyaml's event loop over `bytes` (non-empty, valid UTF-8), feeding `builder`.
    private static func parse(_ bytes: [UInt8], into builder: inout YAMLTreeBuilder) {
        // libyaml's parser points into itself, so it must not move: it lives on the heap.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            builder.fail(.yamlSyntax, "could not start the YAML parser (out of memory)",
                         at: SourceLocation(file: builder.file, line: 1, column: 1))
            return
        }
        defer { yaml_parser_delete(parser) }
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else {
                builder.failNoDocument()
                return
            }
            // The buffer outlives the whole parse: every `yaml_parser_parse` call is inside here.
            yaml_parser_set_input_string(parser, base, buffer.count)
            while true {
                guard yaml_parser_parse(parser, event) != 0 else {
                    // On failure the event is not filled and the parser stays in its error state.
                    builder.syntaxError(parser.pointee, bytes: buffer)
                    return
                }
                let proceed = builder.handle(event.pointee)
                yaml_event_delete(event)
                if !proceed { return }
            }
        }
    }
}

/// A finished node with what the limits need to know about it.
struct BuiltNode {
    /// The node.
    var node: YAMLNode
    /// How many nodes it holds, itself, keys and alias expansions included.
    var size: Int
    /// How many collections deep it nests (0 for a scalar).
    var height: Int
}

/// Builds a node tree from libyaml events with an explicit stack of frames (no recursion).
struct YAMLTreeBuilder {
    /// What a mapping frame does with the next node it receives.
    enum PendingKey {
        /// The next node is a key.
        case none
        /// The next node is the value of this key.
        case key(String, SourceLocation)
        /// The next node is the value of a rejected key and is discarded.
        case dropped
    }

    /// One open collection: its children are appended here, in place.
    struct Frame {
        /// True for a mapping, false for a sequence.
        var isMapping: Bool
        /// Where the collection starts.
        var location: SourceLocation
        /// The anchor to record the finished node under.
        var anchor: String?
        /// A sequence's items so far.
        var items: [YAMLNode] = []
        /// A mapping's pairs so far.
        var pairs: [YAMLPair] = []
        /// The line each key of a mapping was first defined on.
        var keyLines: [String: Int] = [:]
        /// What to do with the next node of a mapping.
        var pendingKey: PendingKey = .none
        /// Nodes held so far, this one included.
        var size = 1
        /// Nesting height so far, this collection included.
        var height = 1

        /// True when the next node this frame receives is a mapping key.
        var expectsKey: Bool {
            if isMapping, case .none = pendingKey { return true }
            return false
        }
    }

    /// The file name put in every location.
    let file: String
    /// The limits in force.
    let limits: YAMLLimits
    /// Every diagnostic so far.
    private(set) var diagnostics: [Diagnostic] = []
    /// The open collections, outermost first.
    private var frames: [Frame] = []
    /// Finished anchored nodes by anchor name.
    private var anchors: [String: BuiltNode] = [:]
    /// Nodes created so far, alias expansions included.
    private var nodeCount = 0
    /// Documents started so far.
    private var documentCount = 0
    /// The first document's root, once finished.
    private var root: YAMLNode?
    /// True when loading stopped before the stream was complete.
    private var aborted = false

    /// Creates a builder for `file`.
    init(file: String, limits: YAMLLimits) {
        self.file = file
        self.limits = limits
    }

    /// The document and diagnostics built so far.
    var result: YAMLLoadResult {
        let document = aborted ? nil : root
        var diagnostics = diagnostics
        if document == nil && !diagnostics.containsErrors {
            // Never hand back neither a document nor a reason (no known input gets here).
            let start = SourceLocation(file: file, line: 1, column: 1)
            diagnostics.append(Diagnostic(.yamlSyntax, "could not read a YAML document", at: start))
        }
        return YAMLLoadResult(document: document, diagnostics: diagnostics)
    }

    /// The diagnostic for a file that holds no document.
    static func noDocument(at location: SourceLocation) -> Diagnostic {
        Diagnostic(.emptyDocument, "file holds no YAML document", at: location)
    }

    /// Records that the file holds no document and stops loading.
    mutating func failNoDocument() {
        aborted = true
        diagnostics.append(Self.noDocument(at: SourceLocation(file: file, line: 1, column: 1)))
    }

    // MARK: Events

    /// Handles one event; returns false when parsing must stop.
    mutating func handle(_ event: yaml_event_t) -> Bool {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documentCount += 1
            if documentCount > 1 {
                // The first document is complete and kept; the rest of the file is not read.
                diagnostics.append(Diagnostic(
                    .multipleDocuments, "file holds more than one YAML document", at: location(event.start_mark),
                    length: span(event.start_mark, event.end_mark),
                    help: "put each document in a file of its own"))
                return false
            }
            return true
        case YAML_STREAM_END_EVENT:
            if documentCount == 0 {
                failNoDocument()
            }
            return false
        case YAML_SCALAR_EVENT:
            return scalar(event)
        case YAML_ALIAS_EVENT:
            return alias(event)
        case YAML_SEQUENCE_START_EVENT:
            let data = event.data.sequence_start
            return startCollection(event, mapping: false, anchor: string(data.anchor), tag: string(data.tag))
        case YAML_MAPPING_START_EVENT:
            let data = event.data.mapping_start
            return startCollection(event, mapping: true, anchor: string(data.anchor), tag: string(data.tag))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            return endCollection()
        default:
            // Stream start, document end: nothing to do.
            return true
        }
    }

    /// Handles a scalar event: resolves its value, checks its tag, and attaches it.
    private mutating func scalar(_ event: yaml_event_t) -> Bool {
        let data = event.data.scalar
        let location = location(event.start_mark)
        let length = span(event.start_mark, event.end_mark)
        let text: String
        if let value = data.value {
            text = String(decoding: UnsafeBufferPointer(start: value, count: data.length), as: UTF8.self)
        } else {
            text = ""
        }
        let style = Self.style(data.style)
        let isKey = frames.last?.expectsKey ?? false
        let tag = string(data.tag)
        let value: YAMLScalar.Value
        switch YAMLScalarResolution.scalarTag(tag) {
        case .none:
            if style == .plain {
                value = YAMLScalarResolution.resolvePlain(text)
                if !isKey, let meaning = YAMLScalarResolution.yaml11Boolean(text) {
                    diagnostics.append(Diagnostic(
                        .yaml11Boolean,
                        "`\(text)` is a YAML 1.1 boolean; write `\(meaning)` or quote it as `\"\(text)\"`",
                        at: location, length: length))
                }
            } else {
                value = .string(text)
            }
        case .scalar(let wanted):
            if let resolved = YAMLScalarResolution.resolve(text, as: wanted) {
                value = resolved
            } else {
                let shown = YAMLScalarResolution.displayTag(tag ?? "")
                diagnostics.append(Diagnostic(
                    .unsupportedTag, "`\(Messages.excerpt(text))` is not a valid `\(shown)` value", at: location,
                    length: length))
                value = .string(text)
            }
        case .unsupported(let other):
            diagnostics.append(Diagnostic(
                .unsupportedTag, "unsupported tag `\(Messages.excerpt(YAMLScalarResolution.displayTag(other)))`",
                at: location, length: length,
                help: "a scalar may only be tagged `!!str`, `!!int`, `!!float`, `!!bool` or `!!null`"))
            value = .string(text)
        }
        guard count(1, at: location) else { return false }
        let built = BuiltNode(
            node: YAMLNode(location: location, content: .scalar(YAMLScalar(text: text, style: style, value: value))),
            size: 1, height: 0)
        if let anchor = string(data.anchor) { anchors[anchor] = built }
        attach(built, length: length)
        return true
    }

    /// Handles an alias event by attaching a copy of the anchored node.
    private mutating func alias(_ event: yaml_event_t) -> Bool {
        let location = location(event.start_mark)
        let length = span(event.start_mark, event.end_mark)
        let name = string(event.data.alias.anchor) ?? ""
        guard let target = anchors[name] else {
            diagnostics.append(Diagnostic(
                .unknownAlias, "unknown alias `*\(Messages.excerpt(name))`", at: location, length: length,
                help: "an alias must name an anchor (`&\(Messages.excerpt(name))`) on a node that ends before it"))
            guard count(1, at: location) else { return false }
            let null = YAMLNode(location: location, content: .scalar(YAMLScalar(text: "", style: .plain, value: .null)))
            attach(BuiltNode(node: null, size: 1, height: 0), length: length)
            return true
        }
        if frames.count > limits.maxDepth - target.height {
            fail(.nestingTooDeep,
                 "alias `*\(Messages.excerpt(name))` nests collections more than \(limits.maxDepth) levels deep",
                 at: location, length: length)
            return false
        }
        guard count(target.size, at: location, alias: name) else { return false }
        // The copy keeps the anchored node's locations; used as a key, it is located at the alias.
        attach(target, length: length, site: location)
        return true
    }

    /// Opens a sequence or mapping, refusing nesting beyond the limit.
    private mutating func startCollection(_ event: yaml_event_t, mapping: Bool, anchor: String?, tag: String?) -> Bool {
        let location = location(event.start_mark)
        if frames.count >= limits.maxDepth {
            fail(.nestingTooDeep, "collections are nested more than \(limits.maxDepth) levels deep", at: location)
            return false
        }
        if !YAMLScalarResolution.collectionTagIsSupported(tag, mapping: mapping) {
            diagnostics.append(Diagnostic(
                .unsupportedTag,
                "unsupported tag `\(Messages.excerpt(YAMLScalarResolution.displayTag(tag ?? "")))`", at: location,
                help: mapping ? "a mapping may only be tagged `!!map`" : "a list may only be tagged `!!seq`"))
        }
        guard count(1, at: location) else { return false }
        frames.append(Frame(isMapping: mapping, location: location, anchor: anchor))
        return true
    }

    /// Closes the innermost collection and attaches it to its parent.
    private mutating func endCollection() -> Bool {
        guard let frame = frames.popLast() else { return true }
        let content: YAMLNode.Content = frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items)
        let built = BuiltNode(node: YAMLNode(location: frame.location, content: content),
                              size: frame.size, height: frame.height)
        if let anchor = frame.anchor { anchors[anchor] = built }
        attach(built, length: 1)
        return true
    }

    // MARK: Tree

    /// Adds a finished node to the innermost collection (as item, key or value), or makes it the
    /// root; `site` is where it was written when that is not its own location (an alias).
    private mutating func attach(_ built: BuiltNode, length: Int, site: SourceLocation? = nil) {
        guard !frames.isEmpty else {
            if root == nil { root = built.node }
            return
        }
        let top = frames.count - 1
        guard frames[top].isMapping else {
            frames[top].items.append(built.node)
            grow(top, by: built)
            return
        }
        switch frames[top].pendingKey {
        case .none:
            frames[top].pendingKey = acceptKey(built, at: site ?? built.node.location, length: length, in: top)
        case .key(let key, let keyLocation):
            frames[top].pairs.append(YAMLPair(key: key, keyLocation: keyLocation, value: built.node))
            grow(top, by: built)
            frames[top].pendingKey = .none
        case .dropped:
            frames[top].pendingKey = .none
        }
    }

    /// Checks a mapping key, reporting complex, merge and duplicate keys; returns the new pending state.
    private mutating func acceptKey(_ built: BuiltNode, at location: SourceLocation, length: Int, in top: Int) -> PendingKey {
        guard case .scalar(let scalar) = built.node.content else {
            diagnostics.append(Diagnostic(
                .complexKey, "a mapping key must be a scalar, not a \(built.node.typeName)", at: location,
                help: "write the key as a plain or quoted string"))
            return .dropped
        }
        if scalar.style == .plain && scalar.text == "<<" {
            diagnostics.append(Diagnostic(
                .mergeKey, "the merge key `<<` is not supported", at: location, length: 2,
                help: "write the merged keys out in this mapping"))
            return .dropped
        }
        if let firstLine = frames[top].keyLines[scalar.text] {
            diagnostics.append(Diagnostic(
                .duplicateKey, "duplicate key `\(Messages.excerpt(scalar.text))`", at: location, length: length,
                help: "first defined at line \(firstLine)"))
            return .dropped
        }
        frames[top].keyLines[scalar.text] = location.line
        grow(top, by: built)
        return .key(scalar.text, location)
    }

    /// Adds a child's size and height to frame `index`.
    private mutating func grow(_ index: Int, by child: BuiltNode) {
        frames[index].size = Self.saturatingAdd(frames[index].size, child.size)
        frames[index].height = max(frames[index].height, child.height + 1)
    }

    /// Counts `amount` more nodes; reports the node budget and returns false when it is exceeded.
    private mutating func count(_ amount: Int, at location: SourceLocation, alias: String? = nil) -> Bool {
        nodeCount = Self.saturatingAdd(nodeCount, amount)
        guard nodeCount > limits.maxNodes else { return true }
        if let alias {
            fail(.aliasLimit,
                 "alias `*\(Messages.excerpt(alias))` expands the document past \(limits.maxNodes) nodes",
                 at: location, help: "aliases that repeat aliases grow exponentially; write the values out")
        } else {
            fail(.aliasLimit, "document has more than \(limits.maxNodes) nodes", at: location)
        }
        return false
    }

    // MARK: Errors

    /// Records an error that stops loading; the document is then not returned.
    mutating func fail(_ code: DiagnosticCode, _ message: String, at location: SourceLocation,
                       length: Int = 1, help: String? = nil) {
        aborted = true
        diagnostics.append(Diagnostic(code, message, at: location, length: length, help: help))
    }

    /// Records libyaml's error (its problem text at its problem position) and stops loading.
    mutating func syntaxError(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>) {
        if parser.error == YAML_MEMORY_ERROR {
            fail(.yamlSyntax, "out of memory while parsing YAML", at: SourceLocation(file: file, line: 1, column: 1))
            return
        }
        var message = Self.sentence(string(parser.problem) ?? "invalid YAML")
        let location: SourceLocation
        if parser.error == YAML_READER_ERROR {
            // Reader errors carry a byte offset rather than a mark.
            location = UTF8Validation.location(ofByte: parser.problem_offset, in: bytes, file: file)
            if parser.problem_value >= 0 && parser.problem_value <= 0x10FFFF {
                message += " (found U+\(Self.hex(parser.problem_value)))"
            }
        } else {
            location = self.location(parser.problem_mark)
        }
        var help: String?
        if let context = string(parser.context), parser.error != YAML_READER_ERROR {
            // e.g. "while parsing a block mapping that starts at line 1, column 1"
            let at = self.location(parser.context_mark)
            if at != location {
                help = "\(Self.sentence(context)) that starts at line \(at.line), column \(at.column)"
            }
        }
        if help == nil, UTF8Validation.byte(at: location, in: bytes) == UInt8(ascii: "\t") {
            help = "YAML does not allow tabs for indentation; use spaces"
        }
        fail(.yamlSyntax, message, at: location, help: help)
    }

    // MARK: Helpers

    /// The 1-based location of a 0-based libyaml mark.
    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Self.oneBased(mark.line), column: Self.oneBased(mark.column))
    }

    /// The number of columns from `start` to `end` when both are on one line, else 1.
    private func span(_ start: yaml_mark_t, _ end: yaml_mark_t) -> Int {
        guard start.line == end.line, end.column > start.column else { return 1 }
        return end.column - start.column
    }

    /// Copies a NUL-terminated libyaml string, or nil.
    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// Copies a NUL-terminated C string, or nil.
    private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// Converts a 0-based libyaml counter to a 1-based one without trapping.
    private static func oneBased(_ value: Int) -> Int {
        value < Int.max ? value + 1 : value
    }

    /// Adds without trapping, stopping at `Int.max`.
    private static func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    /// The scalar style for libyaml's style constant.
    private static func style(_ style: yaml_scalar_style_t) -> YAMLScalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }

    /// libyaml's message as a diagnostic line: first letter lowercased (unless it starts an
    /// acronym), no final period.
    static func sentence(_ text: String) -> String {
        var result = text
        while result.hasSuffix(".") { result.removeLast() }
        let scalars = Array(result.unicodeScalars.prefix(2))
        if let first = scalars.first, first.properties.isUppercase,
           scalars.count < 2 || !scalars[1].properties.isUppercase {
            result = first.properties.lowercaseMapping + String(result.unicodeScalars.dropFirst())
        }
        return result
    }

    /// A code point in at least four uppercase hex digits.
    private static func hex(_ value: Int32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
