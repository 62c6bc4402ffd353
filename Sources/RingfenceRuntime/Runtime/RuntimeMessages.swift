import RingfenceBytecode

/// Every message the session runtime and its operations write: one lowercase line, user input
/// in backticks, no final period.
enum RuntimeMessages {
    /// An id without the id shape.
    static func invalidID(_ what: String, _ id: String) -> String {
        "\(what) \(quote(id)) is not an id: use 1–256 bytes of letters, digits, `.`, `_`, `:` or `-`, starting and ending with a letter or digit"
    }

    /// No such session.
    static func sessionNotFound(_ id: String) -> String { "no session `\(id)`" }

    /// The agent is not in the session.
    static func notAParticipant(_ role: String, _ agent: String, _ session: String) -> String {
        "\(role) `\(agent)` is not a participant of session `\(session)`"
    }

    /// The agent joined already.
    static func alreadyJoined(_ agent: String, _ session: String) -> String {
        "agent `\(agent)` has already joined session `\(session)`"
    }

    /// The agent was killed in the session.
    static func agentKilled(_ agent: String, _ session: String) -> String {
        "agent `\(agent)` was killed in session `\(session)`"
    }

    /// The session is full.
    static func sessionFull(_ session: String, _ max: Int) -> String {
        "session `\(session)` is full (\(max) \(max == 1 ? "participant" : "participants"))"
    }

    /// Activation of an empty session.
    static func sessionEmpty(_ session: String) -> String {
        "session `\(session)` has no participants; an agent must join before it is activated"
    }

    /// A quarantined agent.
    static func quarantined(_ agent: String, until: Int64) -> String {
        "agent `\(agent)` is quarantined until \(RuntimeTime.text(until))"
    }

    /// The ledger refuses the agent.
    static func admissionDenied(_ agent: String) -> String {
        "the ledger refuses agent `\(agent)`: its risk is at or above `deny_risk`"
    }

    /// `elevate` to a ring that is not more privileged.
    static func invalidTarget(_ target: Int, current: Int) -> String {
        "ring \(target) is not more privileged than the agent's ring \(current)"
    }

    /// `elevate` to ring 0.
    static let ring0Forbidden = "ring 0 is never granted by elevation"

    /// An active elevation exists.
    static func duplicateElevation(_ agent: String, _ session: String, _ id: String, until: Int64) -> String {
        "agent `\(agent)` already has elevation `\(id)` in session `\(session)` until \(RuntimeTime.text(until))"
    }

    /// σ_eff below the target's threshold.
    static func insufficientTrust(_ trust: Double, ring: Int, threshold: Double) -> String {
        "trust \(RuntimeSettings.numberText(trust)) is below \(RuntimeSettings.numberText(threshold)), the least trust for ring \(ring)"
    }

    /// Ring 1 without an attestation.
    static let noSponsorship = "an elevation to ring 1 needs an `attestation`"

    /// No such elevation.
    static func elevationNotFound(_ id: String) -> String { "no elevation `\(id)`" }

    /// The elevation ended already.
    static func elevationEnded(_ id: String, _ phase: ElevationPhase) -> String {
        "elevation `\(id)` has already ended (`\(phase.rawValue)`)"
    }

    /// A host kind the runtime keeps for itself.
    static func reservedKind(_ kind: String) -> String {
        "kind `\(kind)` is written by the runtime itself; choose another (such as `delta`)"
    }

    /// A substitute that is the killed agent.
    static let selfSubstitute = "an agent cannot be its own substitute"

    /// A kill reason that is not one of the six.
    static func unknownKillReason(_ reason: String) -> String {
        "`\(reason)` is not a kill reason; expected one of " + Runtime.killReasons.map { "`\($0)`" }.joined(separator: ", ")
    }

    /// A trust outside [0, 1].
    static func trustOutOfRange(_ field: String) -> String {
        "field `\(field)` must be a number from 0 to 1"
    }

    // MARK: Decisions the runtime makes before the rules (SPEC §8.3)

    /// The reason of a `killed` decision.
    static func killedReason(_ agent: String, _ session: String, _ reason: String) -> String {
        "agent `\(agent)` was killed in session `\(session)` (`\(reason)`)"
    }

    /// The reason of a `quarantine` decision.
    static func quarantineReason(_ agent: String, until: Int64) -> String {
        "agent `\(agent)` is quarantined until \(RuntimeTime.text(until))"
    }

    /// The reason of a `breaker` decision.
    static func breakerReason(_ agent: String, until: Int64) -> String {
        "the breaker of agent `\(agent)` is open until \(RuntimeTime.text(until)) after a ring breach"
    }

    /// The reason of a ring bucket's `rate_limit` decision.
    static func ringBucketReason(ring: Int, _ limit: RuntimeSettings.RingLimit) -> String {
        "the ring \(ring) bucket is empty (\(RuntimeSettings.numberText(limit.rate)) per second, burst \(limit.burst))"
    }

    /// `text` in backticks, cut to 64 characters.
    static func quote(_ text: String) -> String {
        text.count > 64 ? "`\(text.prefix(64))…`" : "`\(text)`"
    }
}
