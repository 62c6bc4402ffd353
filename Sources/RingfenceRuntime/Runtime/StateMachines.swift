// The runtime's state machines (SPEC §8.1, §8.6), each one table: the checks the runtime makes
// and the lists `docs/runtime.md` shows both read these tables, so they cannot disagree.

/// A session's state (SPEC §8.1).
public enum SessionPhase: String, Sendable, Hashable, CaseIterable {
    /// Created; agents may join.
    case handshaking
    /// Agents act: decide, elevate, start sagas.
    case active
    /// Being terminated (inside one `session.terminate`, or an expiry).
    case terminating
    /// Terminated; only readable.
    case archived
}

/// What happens to a session: the operations that need a state, and the runtime's own steps.
public enum SessionEvent: String, Sendable, Hashable, CaseIterable {
    /// `session.join`.
    case join = "session.join"
    /// `session.activate`.
    case activate = "session.activate"
    /// `decide` in the session.
    case decide
    /// `elevate`.
    case elevate
    /// `kill`.
    case kill
    /// `breaker.reset`.
    case breakerReset = "breaker.reset"
    /// `audit.append` naming the session.
    case append = "audit.append"
    /// `saga.start` (SPEC §10).
    case sagaStart = "saga.start"
    /// `session.terminate`, or the runtime at the session's expiry.
    case terminate = "session.terminate"
    /// The runtime, once a terminating session's last entry is written.
    case archive
}

/// One row of a state machine's table (steps, sagas, elevations): an event, the states it is
/// allowed in, the state it leads to.
public struct StateTransition<Event: Sendable & Hashable, State: Sendable & Hashable>: Sendable, Hashable {
    /// The event.
    public var event: Event
    /// The states it is allowed in.
    public var from: [State]
    /// The state after it.
    public var to: State

    /// The state `event` leads to from `state` in `table`, or nil when the table has no such row.
    public static func next(_ event: Event, from state: State, in table: [Self]) -> State? {
        table.first { $0.event == event && $0.from.contains(state) }?.to
    }
}

/// The session state machine: which events each state allows, and where they lead.
public enum SessionMachine {
    /// One row: an event, the states it is allowed in, the state it leads to (nil: unchanged).
    public struct Transition: Sendable, Hashable {
        /// The event.
        public var event: SessionEvent
        /// The states it is allowed in.
        public var from: [SessionPhase]
        /// The state after it; nil when it leaves the state as it was.
        public var to: SessionPhase?
    }

    /// The table (`session.get` is allowed in every state and is not listed).
    public static let table: [Transition] = [
        Transition(event: .join, from: [.handshaking, .active], to: nil),
        Transition(event: .activate, from: [.handshaking], to: .active),
        Transition(event: .decide, from: [.active], to: nil),
        Transition(event: .elevate, from: [.active], to: nil),
        Transition(event: .sagaStart, from: [.active], to: nil),
        Transition(event: .kill, from: [.handshaking, .active], to: nil),
        Transition(event: .breakerReset, from: [.handshaking, .active], to: nil),
        Transition(event: .append, from: [.handshaking, .active], to: nil),
        Transition(event: .terminate, from: [.handshaking, .active], to: .terminating),
        Transition(event: .archive, from: [.terminating], to: .archived),
    ]

    /// The state `event` leads to from `phase`, or `session_state` naming the states that allow it.
    public static func next(_ event: SessionEvent, from phase: SessionPhase) throws(RuntimeError) -> SessionPhase {
        // Every operation asks: the table is read in place (`first(where:)` would copy each row
        // it passes, retaining its list of states). An event the table does not list is allowed
        // in no state.
        var allowed: [SessionPhase] = []
        if let index = table.indices.first(where: { table[$0].event == event }) {
            if table[index].from.contains(phase) { return table[index].to ?? phase }
            allowed = table[index].from
        }
        let names = allowed.map { "`\($0.rawValue)`" }.joined(separator: ", ")
        throw RuntimeError(.sessionState, "operation `\(event.rawValue)` is not allowed in state `\(phase.rawValue)`; allowed in \(names)")
    }
}

/// An elevation's state (SPEC §8.6).
public enum ElevationPhase: String, Sendable, Hashable, CaseIterable {
    /// Granted and not yet ended: the agent's effective ring is the elevated one.
    case active
    /// Ended at `expires_at` (the time itself is no longer inside the elevation).
    case expired
    /// Ended early: `elevation.revoke`, a kill of its agent, or its session's termination.
    case revoked
}

/// What ends an elevation.
public enum ElevationEvent: String, Sendable, Hashable, CaseIterable {
    /// The clock reaches `expires_at`.
    case expiry
    /// `elevation.revoke`.
    case revoke = "elevation.revoke"
    /// `kill` of the elevated agent.
    case kill
    /// The session terminates.
    case terminate = "session.terminate"
}

/// The elevation state machine.
public enum ElevationMachine {
    /// One row: an event, the states it is allowed in, the state it leads to.
    public typealias Transition = StateTransition<ElevationEvent, ElevationPhase>

    /// The table: an elevation is granted `active`; every way out is listed here.
    public static let table: [Transition] = [
        Transition(event: .expiry, from: [.active], to: .expired),
        Transition(event: .revoke, from: [.active], to: .revoked),
        Transition(event: .kill, from: [.active], to: .revoked),
        Transition(event: .terminate, from: [.active], to: .revoked),
    ]

    /// The state `event` leads to from `phase`, or nil when the table has no such row.
    public static func next(_ event: ElevationEvent, from phase: ElevationPhase) -> ElevationPhase? {
        Transition.next(event, from: phase, in: table)
    }
}
