/// Why a runtime operation failed (SPEC §13): a stable code and one lowercase line.
///
/// The codes and their meanings are one table (`Code.meaning`); `docs/runtime.md` lists them
/// from it, and a test keeps the two equal.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable code.
    public var code: Code
    /// One lowercase line, user input in backticks.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// Every error code an operation can fail with.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The line is not a JSON object.
        case invalidJSON = "invalid_json"
        /// The `op` is absent or names no operation.
        case unknownOp = "unknown_op"
        /// A field the operation does not take.
        case unknownField = "unknown_field"
        /// A required field is absent.
        case missingField = "missing_field"
        /// A field has the wrong type or is out of range.
        case invalidField = "invalid_field"
        /// An id does not have the id shape.
        case invalidID = "invalid_id"
        /// A `decide` request is not a request.
        case invalidRequest = "invalid_request"
        /// `at` is earlier than the runtime clock.
        case clockBackwards = "clock_backwards"
        /// An id given for something new is taken.
        case idTaken = "id_taken"
        /// No session has the id.
        case sessionNotFound = "session_not_found"
        /// The session's state does not allow the operation.
        case sessionState = "session_state"
        /// Activation without participants.
        case sessionEmpty = "session_empty"
        /// The agent is a participant already.
        case alreadyJoined = "already_joined"
        /// The session holds `max_participants` agents.
        case sessionFull = "session_full"
        /// The agent (or parent, or substitute) is not a participant.
        case notAParticipant = "not_a_participant"
        /// The agent was killed in the session.
        case agentKilled = "agent_killed"
        /// The agent is quarantined.
        case quarantined
        /// The ledger refuses the agent.
        case admissionDenied = "admission_denied"
        /// The target ring is not more privileged than the agent's ring.
        case invalidTarget = "invalid_target"
        /// Elevation to ring 0.
        case ring0Forbidden = "ring_0_forbidden"
        /// The agent has an active elevation in the session.
        case duplicateElevation = "duplicate_elevation"
        /// σ_eff is below the target ring's threshold.
        case insufficientTrust = "insufficient_trust"
        /// Ring 1 without an attestation.
        case noSponsorship = "no_sponsorship"
        /// No elevation has the id.
        case elevationNotFound = "elevation_not_found"
        /// The elevation expired or was revoked.
        case elevationEnded = "elevation_ended"
        /// `audit.append` with a kind the runtime writes itself.
        case reservedKind = "reserved_kind"
        /// The ledger does not know the agent.
        case unknownAgent = "unknown_agent"
        /// A vouch for oneself.
        case selfVouch = "self_vouch"
        /// The voucher's σ is below `min_voucher_trust`.
        case voucherTrust = "voucher_trust"
        /// The vouch would close a cycle of vouches.
        case vouchCycle = "vouch_cycle"
        /// The voucher's bonds would exceed `σ × max_exposure`.
        case exposure
        /// No vouch has the id.
        case vouchNotFound = "vouch_not_found"
        /// The audit log or the store failed.
        case auditFailed = "audit_failed"
        /// A shared store could not be reached; the operation changed nothing.
        case storeUnavailable = "store_unavailable"
        /// No saga has the id, or the bundle no saga of the name.
        case sagaNotFound = "saga_not_found"
        /// A saga cannot run: a step no executor can run, an endpoint that does not resolve, an agent not in the session.
        case invalidSaga = "invalid_saga"
        /// The saga is being run already.
        case sagaRunning = "saga_running"

        /// What the code means, in one line (the table `docs/runtime.md` shows).
        public var meaning: String {
            switch self {
            case .invalidJSON: "the line is not a JSON object"
            case .unknownOp: "`op` is absent, not a string, or names no operation"
            case .unknownField: "the operation takes no field of that name"
            case .missingField: "a required field is absent (or `null`)"
            case .invalidField: "a field has the wrong type or a value out of its range"
            case .invalidID: "an id is not 1–256 bytes of `A–Z a–z 0–9 . _ : -` starting and ending with a letter or digit"
            case .invalidRequest: "the `request` of `decide` is not a request (SPEC §1); the message says why"
            case .clockBackwards: "`at` is earlier than the time of an earlier operation"
            case .idTaken: "an id given for a new session, elevation or kill is already used"
            case .sessionNotFound: "no session has that id"
            case .sessionState: "the session's state does not allow the operation (the message lists the states that do)"
            case .sessionEmpty: "a session cannot be activated before an agent has joined it"
            case .alreadyJoined: "the agent is a participant of the session already"
            case .sessionFull: "the session holds `max_participants` agents"
            case .notAParticipant: "the agent, parent or substitute is not a participant of the session"
            case .agentKilled: "the agent was killed in the session: it cannot rejoin, be elevated, be killed again or have its breaker reset there"
            case .quarantined: "the agent is quarantined: it cannot join or be elevated"
            case .admissionDenied: "the ledger's risk for the agent is at or above `deny_risk`"
            case .invalidTarget: "the target ring is not more privileged than the agent's ring at join"
            case .ring0Forbidden: "ring 0 is never granted by elevation"
            case .duplicateElevation: "the agent has an active elevation in the session"
            case .insufficientTrust: "the agent's σ_eff is below the target ring's `elevation` threshold"
            case .noSponsorship: "an elevation to ring 1 needs an `attestation`"
            case .elevationNotFound: "no elevation has that id"
            case .elevationEnded: "the elevation has expired or was revoked already"
            case .reservedKind: "`audit.append` cannot write a kind the runtime writes itself"
            case .unknownAgent: "the ledger does not know the agent: it has never joined a session nor been given a trust with `ledger.trust`"
            case .selfVouch: "an agent cannot vouch for itself"
            case .voucherTrust: "the voucher's σ is below `liability.min_voucher_trust`"
            case .vouchCycle: "the vouchee already reaches the voucher through a chain of active vouches (of any length): the vouch would close a cycle"
            case .exposure: "the voucher's active bonds plus this one would exceed σ × `liability.max_exposure` (the message gives current, requested and limit)"
            case .vouchNotFound: "no vouch has that id"
            case .auditFailed: "the audit log or the store could not record the operation; the runtime stops taking operations"
            case .storeUnavailable: "a store shared with other runtimes could not be reached; the operation changed nothing"
            case .sagaNotFound: "no saga has that id (`saga.get`, `saga.resume`), or the bundle has no saga of that name (`saga.start`)"
            case .invalidSaga: "the saga cannot run: a step no executor can run, a path with no base url, a url that does not parse, or a step agent that is not a participant"
            case .sagaRunning: "the saga is being run already (by this runtime)"
            }
        }
    }
}
