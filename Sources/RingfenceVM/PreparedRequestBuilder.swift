import RingfenceBytecode

/// Builds a `PreparedRequest` from parts a decoder has read, laid out exactly as
/// `PreparedRequest(_:for:)` lays out the same request: the action, the agent id and the resource
/// first, then one register per slot in the order of the machine's slot table.
///
/// The VM reads no JSON: a decoder drives the builder. It passes the request's fixed fields to
/// `init`, then walks the slot table: `appendFieldSlot` for a slot the builder fills from those
/// fields (the action, the resource and its query and fragment, the agent's id, trust, ring and
/// consensus), `beginValue` … `endValue` around the value of any other slot, written with
/// `null()`, `bool(_:)`, `number(_:)`, `string(_:)`, `object()` and `beginList()` … `endList()`
/// (nothing written: the value is absent). `lower`/`upper` are applied here, as they are when a
/// `Request` is prepared.
public struct PreparedRequestBuilder {
    /// The request's bytes and list items.
    private var arena = Arena()
    /// The registers of the slots appended so far.
    private var slots: [Register] = []
    /// The action's register.
    private let actionRegister: Register
    /// The agent id's register.
    private let agentRegister: Register
    /// The normalised resource, a URL's query and fragment, in the arena.
    private var placed: PlacedResource
    /// The agent's effective ring.
    private let ring: Int
    /// The agent id.
    private let agentID: String
    /// The agent's trust, when given.
    private let trust: Double?
    /// The agent's consensus flag.
    private let consensus: Bool

    /// The transforms of the value being written (empty: the value is kept as written).
    private var transforms: [StringTransform] = []
    /// The value written so far for the current slot; nil while absent.
    private var value: Register?
    /// The items of the lists still open, outermost first.
    private var pending: [Register] = []
    /// Where each open list's items start in `pending`.
    private var frames: [Int] = []
    /// How many lists deep the writer is inside a list whose contents are not kept.
    private var ignoring = 0

    /// Starts a request: lays out `action`, `agentID` and the normalised `resource` and computes
    /// the effective ring from `ring`, `trust` and `consensus` under `thresholds` (SPEC §3.3).
    /// `slotCount` and `extraBytes` size the buffers (the bytes of the values still to come).
    public init(action: UnsafeBufferPointer<UInt8>, agentID: String, resource rawResource: String?, trust: Double?, ring: Int?,
                consensus: Bool, thresholds: Thresholds, slotCount: Int, extraBytes: Int = 0) {
        arena.bytes.reserveCapacity(action.count + agentID.utf8.count + 2 * (rawResource?.utf8.count ?? 0) + 64 + extraBytes)
        actionRegister = arena.append(action)
        agentRegister = arena.string(agentID, space: Register.requestSpace)
        placed = PlacedResource(rawResource, in: &arena)
        self.ring = PreparedRequest.effectiveRing(ring: ring, trust: trust, consensus: consensus, thresholds)
        self.agentID = agentID
        self.trust = trust
        self.consensus = consensus
        slots.reserveCapacity(slotCount)
    }

    // MARK: Slots

    /// Appends a slot read from the fields given to `init`: `action`, `resource`,
    /// `resource_query`, `resource_fragment`, `agent.id`, `agent.trust`, `agent.ring` or
    /// `agent.consensus`. Any other root has a value of its own (`beginValue`); given here, it
    /// is appended absent.
    public mutating func appendFieldSlot(_ root: SlotRoot, transforms: [StringTransform]) {
        var reg = Register.absent
        var source: Value?
        switch root {
        case .action: reg = actionRegister
        case .resource: reg = placed.resource
        case .resourceQuery: reg = placed.query
        case .resourceFragment: reg = placed.fragment
        case .agentRing: reg = .number(Double(ring))
        case .agentID: reg = agentRegister
        case .agentTrust: source = trust.map(Value.number)
        case .agentConsensus: source = .bool(consensus)
        case .agentRoles, .agentAttrs, .params, .context: break
        }
        if transforms.isEmpty {
            if let source { reg = arena.value(source, space: Register.requestSpace) }
        } else if reg.tag != .error {
            var text: String?
            if let source {
                if case .string(let s) = source { text = s }
            } else if reg.tag == .string {
                text = String(decoding: arena.bytes[Int(reg.offset) ..< Int(reg.offset) + Int(reg.count)], as: UTF8.self)
            }
            if let text {
                reg = arena.string(Self.transformed(text, transforms), space: Register.requestSpace)
            } else if source != nil || reg.tag != .absent {
                reg = .error
            }
        }
        slots.append(reg)
    }

    /// Starts the value of the next slot; `transforms` are the slot's `lower`/`upper`, applied to
    /// a string value (any other value under a transform is an error, as when a `Request` is
    /// prepared).
    public mutating func beginValue(transforms: [StringTransform]) {
        self.transforms = transforms
        value = nil
        pending.removeAll(keepingCapacity: true)
        frames.removeAll(keepingCapacity: true)
        ignoring = 0
    }

    /// Ends the current slot's value and appends its register (absent when nothing was written).
    public mutating func endValue() {
        slots.append(value ?? .absent)
        value = nil
        transforms = []
    }

    // MARK: Values

    /// Writes `null`.
    public mutating func null() { put(.null) }

    /// Writes a boolean.
    public mutating func bool(_ flag: Bool) { put(.bool(flag)) }

    /// Writes a number.
    public mutating func number(_ number: Double) { put(.number(number)) }

    /// Writes an object (objects are read field by field through their own slots, never whole).
    public mutating func object() { put(.object) }

    /// Writes a string given as UTF-8 bytes.
    public mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard ignoring == 0 else { return }
        if frames.isEmpty, !transforms.isEmpty {
            value = arena.string(Self.transformed(String(decoding: bytes, as: UTF8.self), transforms), space: Register.requestSpace)
            return
        }
        put(arena.append(bytes))
    }

    /// Opens a list; the values written until the matching `endList()` are its items.
    public mutating func beginList() {
        if ignoring > 0 {
            ignoring += 1
        } else if frames.isEmpty, !transforms.isEmpty {
            // A list under `lower`/`upper` is an error; its items are not laid out.
            value = .error
            ignoring = 1
        } else if frames.count >= Self.maximumListDepth {
            put(.error)
            ignoring = 1
        } else {
            frames.append(pending.count)
        }
    }

    /// Closes the innermost open list. Items land in the arena before the list that holds them,
    /// nested lists first, as `Arena.value` lays them out.
    public mutating func endList() {
        if ignoring > 0 {
            ignoring -= 1
            return
        }
        guard let start = frames.popLast() else { return }
        let offset = arena.items.count
        let count = pending.count - start
        arena.items.append(contentsOf: pending[start...])
        pending.removeSubrange(start...)
        put(Register(tag: .list, space: Register.requestSpace, boolean: false, number: 0,
                     offset: Int32(truncatingIfNeeded: offset), count: Int32(truncatingIfNeeded: count)))
    }

    /// The prepared request, its storage moved out of the builder (which is left empty); refused
    /// whole (`tooLarge`) when it holds more than `PreparedRequest.maxRequestBytes` bytes or
    /// `maxRequestItems` list items.
    public mutating func finish() -> PreparedRequest {
        var slots: [Register] = []
        var arena = Arena()
        swap(&slots, &self.slots)
        swap(&arena, &self.arena)
        if arena.bytes.count > PreparedRequest.maxRequestBytes || arena.items.count > PreparedRequest.maxRequestItems {
            return PreparedRequest(slots: slots.map { _ in .error }, arena: Arena(), action: (0, 0), resource: nil, ring: ring,
                                   resourceUnplaceable: placed.unplaceable, tooLarge: true, agentID: agentID, agent: (0, 0))
        }
        return PreparedRequest(slots: slots, arena: arena, action: (Int(actionRegister.offset), Int(actionRegister.count)),
                               resource: placed.span, ring: ring, resourceUnplaceable: placed.unplaceable, tooLarge: false,
                               agentID: agentID, agent: (Int(agentRegister.offset), Int(agentRegister.count)))
    }

    // MARK: Helpers

    /// Lists nested deeper than this below a slot's value are errors (as in `Arena.value`).
    static let maximumListDepth = 64

    /// Records a scalar or finished list: an item of the innermost open list, or the slot's value.
    private mutating func put(_ reg: Register) {
        guard ignoring == 0 else { return }
        if !frames.isEmpty {
            pending.append(reg)
        } else if !transforms.isEmpty, reg.tag != .string {
            value = .error
        } else {
            value = reg
        }
    }

    /// `text` with `transforms` applied in order.
    static func transformed(_ text: String, _ transforms: [StringTransform]) -> String {
        var text = text
        for t in transforms { text = t == .lower ? text.lowercased() : text.uppercased() }
        return text
    }
}

extension Arena {
    /// Appends UTF-8 bytes as a request string and returns its register.
    mutating func append(_ utf8: UnsafeBufferPointer<UInt8>) -> Register {
        let offset = bytes.count
        bytes.append(contentsOf: utf8)
        return Register(tag: .string, space: Register.requestSpace, boolean: false, number: 0,
                        offset: Int32(truncatingIfNeeded: offset), count: Int32(truncatingIfNeeded: utf8.count))
    }
}
