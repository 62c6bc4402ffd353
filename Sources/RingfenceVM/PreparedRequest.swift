import RingfenceBytecode
import RingfenceMatch

/// A request decoded once against a machine's slot table: every value a rule can read sits in a
/// flat array of registers, strings in one byte arena, the resource already normalised and the
/// effective ring computed. Deciding on a prepared request allocates nothing.
public struct PreparedRequest: Sendable {
    var slots: [Register]
    var arena: Arena
    /// The action's bytes in the arena.
    var action: (offset: Int, count: Int)
    /// The normalised resource's bytes (a URL's canonical form without query and fragment), or
    /// nil when absent or unplaceable.
    var resource: (offset: Int, count: Int)?
    /// The agent's effective ring (SPEC §3.3).
    public private(set) var ring: Int
    /// True when the request has a resource that cannot be placed (SPEC §3.1): every rule that
    /// matches on the resource then errors.
    public private(set) var resourceUnplaceable = false
    /// True when the request is too large to decide (SPEC §3.1): it is refused, never decided.
    public private(set) var tooLarge = false
    /// The agent id, the rate limiter's key.
    public private(set) var agentID: String
    /// The agent id's bytes in the arena (what deciding reads, so it copies no string).
    var agent: (offset: Int, count: Int)
    /// `context.time` as seconds since 1970, when the caller read one (the VM keeps no clock and
    /// reads no dates: `Engine.prepare` fills it in for rate limits that follow request time).
    public var time: Double?

    /// The most string bytes a request may hold once decoded (documented in docs/language.md).
    public static let maxRequestBytes = 16 << 20
    /// The most list items a request may hold once decoded.
    public static let maxRequestItems = 1 << 20

    /// Decodes `request` into the slot layout of `machine`.
    public init(_ request: Request, for machine: Machine) {
        self.init(request, for: machine, supplying: nil)
    }

    /// Decodes `request` with the agent's trust, ring and consensus replaced by `supplied`, as a
    /// runtime session supplies them (SPEC §8.3), without copying the request.
    public init(_ request: borrowing Request, for machine: Machine, supplying supplied: (trust: Double, ring: Int, consensus: Bool)?) {
        self.init()
        // One allocation for the strings every request brings, instead of a few regrowths.
        arena.bytes.reserveCapacity(request.action.utf8.count + request.agent.id.utf8.count + 2 * (request.resource?.utf8.count ?? 0) + 64)
        slots.reserveCapacity(machine.program.slots.count)
        lay(request, for: machine, supplying: supplied)
    }

    /// Storage for `refill`: a request with no slots, never to be decided until refilled.
    package init() {
        slots = []
        arena = Arena()
        action = (0, 0)
        resource = nil
        ring = 3
        agentID = ""
        agent = (0, 0)
    }

    /// Lays out `request` (as `init(_:for:supplying:)` does) in this request's own storage,
    /// keeping the capacity of its slots and arena: a caller that decides one request after
    /// another under its own lock (a runtime session) allocates nothing here once the storage
    /// has grown to its requests' size. Storage grown past `keptBytes` by a large request is
    /// let go rather than held.
    package mutating func refill(_ request: borrowing Request, for machine: Machine,
                                 supplying supplied: (trust: Double, ring: Int, consensus: Bool)?) {
        if arena.bytes.capacity > Self.keptBytes || arena.items.capacity > Self.keptBytes / 16 {
            arena = Arena()
        } else {
            arena.bytes.removeAll(keepingCapacity: true)
            arena.items.removeAll(keepingCapacity: true)
        }
        slots.removeAll(keepingCapacity: true)
        resourceUnplaceable = false
        tooLarge = false
        time = nil
        lay(request, for: machine, supplying: supplied)
    }

    /// The most arena bytes `refill` keeps between requests.
    static let keptBytes = 64 << 10

    /// Appends `request`'s layout to the (empty) slots and arena and sets the other fields.
    private mutating func lay(_ request: borrowing Request, for machine: Machine,
                              supplying supplied: (trust: Double, ring: Int, consensus: Bool)?) {
        let program = machine.program
        let actionRegister = arena.string(request.action, space: Register.requestSpace)
        action = (Int(actionRegister.offset), Int(actionRegister.count))
        let agentRegister = arena.string(request.agent.id, space: Register.requestSpace)
        agent = (Int(agentRegister.offset), Int(agentRegister.count))
        let placed = PlacedResource(request.resource, in: &arena)
        resource = placed.span
        resourceUnplaceable = placed.unplaceable
        ring = supplied.map { min(max($0.ring, 0), 3) } ?? PreparedRequest.effectiveRing(request.agent, program.thresholds)
        agentID = request.agent.id
        for entry in program.slots {
            var reg: Register
            var source: Value?
            switch entry.root {
            case .action: reg = actionRegister
            case .resource: reg = placed.resource
            case .resourceQuery: reg = placed.query
            case .resourceFragment: reg = placed.fragment
            case .agentRing: reg = .number(Double(ring))
            case .agentID: reg = agentRegister
            case .agentTrust: source = (supplied?.trust ?? request.agent.trust).map(Value.number); reg = .absent
            case .agentConsensus: source = .bool(supplied?.consensus ?? request.agent.consensus); reg = .absent
            case .agentRoles: source = .list(request.agent.roles.map(Value.string)); reg = .absent
            case .agentAttrs: source = PreparedRequest.lookup(entry.path, in: request.agent.attrs); reg = .absent
            case .params: source = PreparedRequest.lookup(entry.path, in: request.params); reg = .absent
            case .context: source = PreparedRequest.lookup(entry.path, in: request.context); reg = .absent
            }
            if entry.transforms.isEmpty {
                if let source { reg = arena.value(source, space: Register.requestSpace) }
            } else if reg.tag != .error {
                // lower/upper are applied here, once, so deciding never builds a string.
                var text: String?
                if let source {
                    if case .string(let s) = source { text = s }
                } else if reg.tag == .string {
                    text = String(decoding: arena.bytes[Int(reg.offset) ..< Int(reg.offset) + Int(reg.count)], as: UTF8.self)
                }
                if var s = text {
                    for t in entry.transforms { s = t == .lower ? s.lowercased() : s.uppercased() }
                    reg = arena.string(s, space: Register.requestSpace)
                } else if source != nil || reg.tag != .absent {
                    reg = .error
                }
            }
            slots.append(reg)
        }
        if arena.bytes.count > PreparedRequest.maxRequestBytes || arena.items.count > PreparedRequest.maxRequestItems {
            // Refused whole (SPEC §3.1): `decide` answers deny with code `error` and reads nothing.
            tooLarge = true
            slots = slots.map { _ in .error }
            arena = Arena()
            action = (0, 0)
            agent = (0, 0)
            resource = nil
        }
    }

    /// Assembles a prepared request from parts already laid out (`PreparedRequestBuilder`).
    init(slots: [Register], arena: Arena, action: (offset: Int, count: Int), resource: (offset: Int, count: Int)?,
         ring: Int, resourceUnplaceable: Bool, tooLarge: Bool, agentID: String, agent: (offset: Int, count: Int)) {
        self.slots = slots
        self.arena = arena
        self.action = action
        self.resource = resource
        self.ring = ring
        self.resourceUnplaceable = resourceUnplaceable
        self.tooLarge = tooLarge
        self.agentID = agentID
        self.agent = agent
    }

    /// Follows `path` through nested objects; nil when any step is missing or not an object.
    static func lookup(_ path: [String], in object: [String: Value]) -> Value? {
        var current: [String: Value] = object
        for (i, name) in path.enumerated() {
            guard let next = member(name, of: current) else { return nil }
            if i == path.count - 1 { return next }
            guard case .object(let inner) = next else { return nil }
            current = inner
        }
        return nil
    }

    /// The member `name` of `object`. A request's objects are mostly empty or small, and a policy
    /// reads many names that are not there: comparing a few names costs less than hashing one.
    @inline(__always)
    static func member(_ name: String, of object: [String: Value]) -> Value? {
        if object.isEmpty { return nil }
        if object.count <= 4 {
            for (key, value) in object where key == name { return value }
            return nil
        }
        return object[name]
    }

    /// SPEC §3.3: an explicit ring is used as is; otherwise trust > privileged with consensus → 1,
    /// trust > standard → 2, else 3 (strict comparisons; ring 0 only when given explicitly).
    public static func effectiveRing(_ agent: Agent, _ t: Thresholds) -> Int {
        effectiveRing(ring: agent.ring, trust: agent.trust, consensus: agent.consensus, t)
    }

    /// SPEC §3.3 from the agent's explicit ring, trust and consensus.
    public static func effectiveRing(ring: Int?, trust: Double?, consensus: Bool, _ t: Thresholds) -> Int {
        if let ring { return min(max(ring, 0), 3) }
        guard let trust else { return 3 }
        if trust > t.privileged && consensus { return 1 }
        if trust > t.standard { return 2 }
        return 3
    }
}

/// A request's resource laid out in an arena (SPEC §3.1): its normal form with a URL's query and
/// fragment beside it, or the unplaceable-resource error in all three registers.
struct PlacedResource {
    /// The normalised resource (absent, a string, or the unplaceable-resource error).
    var resource = Register.absent
    /// A URL resource's query.
    var query = Register.absent
    /// A URL resource's fragment.
    var fragment = Register.absent
    /// The normalised resource's bytes in the arena.
    var span: (offset: Int, count: Int)?
    /// True when the resource cannot be placed.
    var unplaceable = false

    /// Normalises `raw` (nil: the request has no resource) and appends what it yields to `arena`.
    init(_ raw: String?, in arena: inout Arena) {
        guard let raw else { return }
        let text: String
        switch ResourceNormalizer.normalize(raw) {
        case .path(let path):
            text = path
        case .url(let url):
            text = url.canonical
            if let query = url.query { self.query = arena.string(query, space: Register.requestSpace) }
            if let fragment = url.fragment { self.fragment = arena.string(fragment, space: Register.requestSpace) }
        case .unplaceable:
            resource = .error(.unplaceableResource)
            query = .error(.unplaceableResource)
            fragment = .error(.unplaceableResource)
            unplaceable = true
            return
        }
        resource = arena.string(text, space: Register.requestSpace)
        span = (Int(resource.offset), Int(resource.count))
    }
}
