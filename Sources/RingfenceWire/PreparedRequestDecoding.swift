import RingfenceBytecode
import RingfenceVM

// Decoding JSON requests straight into a machine's slot layout (SPEC §1, §3).
//
// `Request(jsonBytes:)` builds the request whole — every member as a `Value` tree — and
// `PreparedRequest(_:for:)` then copies out what the machine's slots read. The decoder here
// reads the text once and keeps only that: the request's fixed fields, and the values at the
// paths some slot reads (`params`, `context` and `agent.attrs` paths, `agent.roles`). Everything
// else is checked and skipped, building no value. Then it drives a `PreparedRequestBuilder`
// through the slot table, which lays the request out byte for byte as `PreparedRequest(_:for:)`
// lays out the `Request` the old path decodes.
//
// The fast path takes only input it can read exactly as the old path would. Anything else —
// every malformed request (bad JSON, a bad shape, a duplicate key, an unknown field, a bad
// `context.time`, nesting past the limit, a text over `Request.maxJSONBytes`), and the rare
// valid request it does not read itself (a key with an escape or a non-ASCII byte, whose
// comparison Swift makes by canonical equivalence; more than 64 keys in one object) — goes
// through `Request(jsonBytes:)` and `PreparedRequest(_:for:)`. Every error is therefore the
// old path's own: code, message, line and column. `PreparedRequestDecodingTests` checks the two
// paths against each other on the corpora and on tens of thousands of generated and mutated lines.

/// A request read against a machine's slot table, with what `eval` needs besides the slots.
public struct DecodedRequest: Sendable {
    /// The request in the machine's slot layout (`time` set when the decoder reads times).
    public var prepared: PreparedRequest
    /// `context.session` when the decoder reads sessions and it is a string.
    public var session: String?
}

/// Reads JSON requests directly into the slot layout of one machine (see the top of this file).
/// Immutable after `init`, and shared by any number of threads.
public final class PreparedRequestDecoder: @unchecked Sendable {
    // Safety: every buffer is written once in `init`, only read afterwards and freed in `deinit`.
    /// The machine whose slots are read.
    public let machine: Machine
    /// True to set `PreparedRequest.time` from `context.time` (as `Engine.prepare` does for an
    /// engine whose rate limits follow request time).
    public let readsTime: Bool
    /// True to report `context.session`.
    public let readsSession: Bool
    /// The machine's ring thresholds.
    let thresholds: Thresholds
    /// The slot table, in order.
    let slots: [SlotPlan]
    /// The paths read below `agent.attrs` (node 0), `params` (node 1) and `context` (node 2).
    let nodes: UnsafeMutableBufferPointer<PathNode>
    /// Every node's children, by node.
    let children: UnsafeMutableBufferPointer<PathChild>
    /// The children's names (UTF-8), concatenated.
    let names: UnsafeMutableBufferPointer<UInt8>
    /// Names with a non-ASCII byte, compared as Swift strings (canonical equivalence, as the
    /// dictionaries of a decoded `Request` compare keys).
    let unicodeNames: UnsafeMutableBufferPointer<String>
    /// The node of `context.time`.
    let timeNode: Int32
    /// The node of `context.session`, or -1 when sessions are not read.
    let sessionNode: Int32

    /// The most keys one object may have on the fast path (more go the general way).
    static let maximumKeysPerObject = 64
    /// The most keys the open objects may have together on the fast path (their offsets fill
    /// the 1 KiB that `withUnsafeTemporaryAllocation` always keeps on the stack).
    static let maximumOpenKeys = 128

    /// Prepares to decode requests for `machine`.
    public init(machine: Machine, readsTime: Bool = false, readsSession: Bool = false) {
        self.machine = machine
        self.readsTime = readsTime
        self.readsSession = readsSession
        thresholds = machine.program.thresholds
        var paths = PathTable()
        var slots: [SlotPlan] = []
        for entry in machine.program.slots {
            let kind: SlotPlan.Kind
            switch entry.root {
            case .agentRoles:
                kind = .roles
            case .agentAttrs, .params, .context:
                // An empty path reads nothing (`PreparedRequest.lookup` answers nil).
                let root: Int32 = entry.root == .agentAttrs ? 0 : entry.root == .params ? 1 : 2
                kind = .path(entry.path.isEmpty ? -1 : paths.node(entry.path, under: root))
            case .action, .resource, .resourceQuery, .resourceFragment, .agentID, .agentTrust, .agentRing, .agentConsensus:
                kind = .field(entry.root)
            }
            slots.append(SlotPlan(kind: kind, transforms: entry.transforms))
        }
        self.slots = slots
        timeNode = paths.node(["time"], under: 2)
        sessionNode = readsSession ? paths.node(["session"], under: 2) : -1
        nodes = stableCopy(paths.nodes)
        children = stableCopy(paths.children)
        names = stableCopy(paths.names)
        unicodeNames = stableCopy(paths.unicodeNames)
    }

    deinit {
        nodes.baseAddress?.deallocate()
        children.baseAddress?.deallocate()
        names.baseAddress?.deallocate()
        unicodeNames.deinitialize()
        unicodeNames.baseAddress?.deallocate()
    }

    /// Decodes one request from UTF-8 JSON `bytes`; errors are exactly those of
    /// `Request(jsonBytes:)`.
    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(RequestError) -> DecodedRequest {
        if let decoded = decodeFast(bytes) { return decoded }
        return try decodeGenerally(bytes)
    }

    /// The request read through `Request(jsonBytes:)` and `PreparedRequest(_:for:)`.
    func decodeGenerally(_ bytes: UnsafeBufferPointer<UInt8>) throws(RequestError) -> DecodedRequest {
        let request = try Request(jsonBytes: bytes)
        var prepared = PreparedRequest(request, for: machine)
        if readsTime { prepared.time = Timestamp.time(of: request) }
        var session: String?
        if readsSession, case .string(let text)? = request.context["session"] { session = text }
        return DecodedRequest(prepared: prepared, session: session)
    }

    /// The request read on the fast path, or nil when the input is not for the fast path.
    func decodeFast(_ bytes: UnsafeBufferPointer<UInt8>) -> DecodedRequest? {
        guard bytes.count <= Request.maxJSONBytes else { return nil }
        // The closures return nothing: a request handed back through them would be copied at
        // every level.
        var decoded: DecodedRequest?
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: nodes.count) { values in
            values.initialize(repeating: -1)
            withUnsafeTemporaryAllocation(of: KeySpan.self, capacity: Self.maximumOpenKeys) { keys in
                var scanner = RequestScanner(bytes: bytes, nodes: UnsafeBufferPointer(nodes), children: UnsafeBufferPointer(children),
                                             names: UnsafeBufferPointer(names), unicodeNames: UnsafeBufferPointer(unicodeNames),
                                             values: values, keys: keys)
                guard (try? scanner.scanDocument()) != nil else { return }
                decoded = assemble(scanner.fields, values: UnsafeBufferPointer(values), bytes: bytes)
            }
        }
        return decoded
    }

    /// Lays out a request the scanner has read and checked; nil when its `context.time` is not a
    /// date-time (the general path reports it).
    private func assemble(_ fields: RequestFields, values: UnsafeBufferPointer<Int32>, bytes: UnsafeBufferPointer<UInt8>) -> DecodedRequest? {
        var emitter = ValueEmitter(bytes)
        var time: Double?
        let timeAt = values[Int(timeNode)]
        if timeAt >= 0, bytes[Int(timeAt)] != UInt8(ascii: "n") {
            guard bytes[Int(timeAt)] == UInt8(ascii: "\""),
                  let seconds = emitter.withString(at: Int(timeAt), { Timestamp.parse(utf8: $0) }) else { return nil }
            time = seconds
        }
        guard let id = fields.id, let actionSpan = fields.action else { return nil }
        let agentID = emitter.string(id)
        let resource = fields.resource.map { emitter.string($0) }
        var builder: PreparedRequestBuilder
        if actionSpan.escaped {
            var action = emitter.string(actionSpan)
            builder = action.withUTF8 { action in
                PreparedRequestBuilder(action: action, agentID: agentID, resource: resource, trust: fields.trust, ring: fields.ring,
                                       consensus: fields.consensus, thresholds: thresholds, slotCount: slots.count)
            }
        } else {
            builder = PreparedRequestBuilder(action: UnsafeBufferPointer(rebasing: bytes[Int(actionSpan.quote) + 1 ..< Int(actionSpan.end)]),
                                             agentID: agentID, resource: resource, trust: fields.trust, ring: fields.ring,
                                             consensus: fields.consensus, thresholds: thresholds, slotCount: slots.count)
        }
        for slot in slots {
            switch slot.kind {
            case .field(let root):
                builder.appendFieldSlot(root, transforms: slot.transforms)
            case .roles:
                builder.beginValue(transforms: slot.transforms)
                if fields.roles >= 0 {
                    emitter.emit(at: Int(fields.roles), into: &builder)
                } else {
                    builder.beginList()
                    builder.endList()
                }
                builder.endValue()
            case .path(let node):
                builder.beginValue(transforms: slot.transforms)
                if node >= 0, values[Int(node)] >= 0 { emitter.emit(at: Int(values[Int(node)]), into: &builder) }
                builder.endValue()
            }
        }
        var prepared = builder.finish()
        if readsTime { prepared.time = time }
        var session: String?
        if sessionNode >= 0, case let at = values[Int(sessionNode)], at >= 0, bytes[Int(at)] == UInt8(ascii: "\"") {
            session = emitter.withString(at: Int(at)) { String(decoding: $0, as: UTF8.self) }
        }
        return DecodedRequest(prepared: prepared, session: session)
    }
}

extension JSONLinesReader.Element {
    /// Decodes the request into `decoder`'s slot layout, with error lines counted in the whole input.
    public func decode(with decoder: PreparedRequestDecoder) throws(RequestError) -> DecodedRequest {
        // No `Result` here: a request handed back through one is copied twice more.
        var decoded: DecodedRequest?
        let failure = bytes.withUnsafeBufferPointer { buffer -> RequestError? in
            do throws(RequestError) {
                decoded = try decoder.decode(buffer)
                return nil
            } catch {
                return error
            }
        }
        if var failure {
            failure.line += line - 1
            throw failure
        }
        return decoded!
    }
}

/// One slot of the table as the decoder fills it.
struct SlotPlan {
    /// Where the slot's value comes from.
    enum Kind {
        /// A fixed field of the request, laid out by the builder.
        case field(SlotRoot)
        /// `agent.roles`.
        case roles
        /// The value at a path node (-1: a path that reads nothing).
        case path(Int32)
    }

    /// Where the value comes from.
    var kind: Kind
    /// The slot's `lower`/`upper` transforms.
    var transforms: [StringTransform]
}

/// A path the slots read below `agent.attrs`, `params` or `context`.
struct PathNode {
    /// The first of the node's children in `PreparedRequestDecoder.children`.
    var firstChild: Int32
    /// How many children the node has.
    var childCount: Int32
}

/// A named step from one path node to another.
struct PathChild {
    /// The name's first byte in `PreparedRequestDecoder.names`.
    var nameStart: Int32
    /// The name's length in bytes.
    var nameCount: Int32
    /// The index of the name in `unicodeNames` when it has a non-ASCII byte, else -1.
    var unicodeName: Int32
    /// The node the step leads to.
    var node: Int32
}

/// The path nodes while they are collected (children grouped by parent at the end).
struct PathTable {
    /// Each node's parent and name; nodes 0, 1 and 2 are the roots.
    private var steps: [(parent: Int32, name: String)] = [(-1, ""), (-1, ""), (-1, "")]

    /// The node for `path` below root `root`, made when new.
    mutating func node(_ path: [String], under root: Int32) -> Int32 {
        var current = root
        for name in path {
            if let found = steps.indices.first(where: { steps[$0].parent == current && steps[$0].name == name }) {
                current = Int32(found)
            } else {
                steps.append((current, name))
                current = Int32(steps.count - 1)
            }
        }
        return current
    }

    /// The nodes, each with its children laid out together.
    var nodes: [PathNode] {
        var nodes: [PathNode] = []
        var first: Int32 = 0
        for index in steps.indices {
            let count = Int32(steps.indices.filter { steps[$0].parent == Int32(index) }.count)
            nodes.append(PathNode(firstChild: first, childCount: count))
            first += count
        }
        return nodes
    }

    /// The children of every node, grouped by parent in node order.
    var children: [PathChild] {
        var children: [PathChild] = []
        var nameStart: Int32 = 0
        var unicode: Int32 = 0
        for parent in steps.indices {
            for index in steps.indices where steps[index].parent == Int32(parent) {
                let name = steps[index].name
                let ascii = name.utf8.allSatisfy { $0 < 0x80 }
                children.append(PathChild(nameStart: nameStart, nameCount: Int32(name.utf8.count), unicodeName: ascii ? -1 : unicode,
                                          node: Int32(index)))
                nameStart += Int32(name.utf8.count)
                if !ascii { unicode += 1 }
            }
        }
        return children
    }

    /// The children's names, concatenated in the order of `children`.
    var names: [UInt8] {
        steps.indices.flatMap { parent in
            steps.indices.filter { steps[$0].parent == Int32(parent) }.flatMap { Array(steps[$0].name.utf8) }
        }
    }

    /// The non-ASCII names, in the order of `children`.
    var unicodeNames: [String] {
        steps.indices.flatMap { parent in
            steps.indices.filter { steps[$0].parent == Int32(parent) }.map { steps[$0].name }
                .filter { !$0.utf8.allSatisfy { $0 < 0x80 } }
        }
    }
}

/// A buffer holding a copy of `array` (at least one element long, so never without an address).
private func stableCopy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
    let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
    _ = buffer.initialize(from: array)
    return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
}
