import RingfenceDiagnostics

// The one place that says which runtime settings are valid (SPEC §7). `ringfence check` reports
// each problem at the setting it names; the bundle verifier refuses a bundle with any.
//
// Decisions the contract leaves open, documented in docs/runtime-file.md:
// - `elevation.ring1 ≥ elevation.ring2`: ring 1 is more privileged than ring 2, so being
//   elevated to it cannot need less trust (equal is allowed: ring 1 also needs an attestation).
// - `slash_floor < cascade_below` while `max_cascade_depth > 0`: a slash never leaves a voucher
//   below `slash_floor`, so otherwise no voucher could ever fall below `cascade_below` and the
//   cascade the file asks for could never happen. Depth 0 turns cascading off explicitly.
// - `bond ≤ max_exposure`: otherwise every vouch with the default bond exceeds the exposure cap
//   and is refused.
// - Counts and rates have upper bounds (1,000,000,000) and durations one of 365d, so no setting
//   can overflow the runtime's integer clock arithmetic.

extension RuntimeSettings {
    /// One thing wrong with a set of settings: a stable code, a one-line message, an optional
    /// help line and the settings involved (dotted paths, the one to point at first).
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The diagnostic code (RF1009, RF1013, RF4002, RF4009 or RF4010).
        public var code: DiagnosticCode
        /// One lowercase line.
        public var message: String
        /// A hint on how to fix it, when there is one.
        public var help: String?
        /// The settings involved, e.g. `["breach.medium", "breach.low"]`.
        public var keys: [String]

        /// Creates a problem.
        public init(_ code: DiagnosticCode, _ message: String, keys: [String], help: String? = nil) {
            self.code = code
            self.message = message
            self.help = help
            self.keys = keys
        }

        /// `error[CODE]: message`.
        public var description: String { "error[\(code.rawValue)]: \(message)" }
    }

    /// Every problem with these settings, in the order SPEC §7 writes the keys; empty when they
    /// are valid. Relations are checked only between settings that are each in range.
    public func validate() -> [Problem] {
        var check = Checks()
        check.name(name)
        let privileged = check.threshold("rings.privileged", rings.privileged)
        let standard = check.threshold("rings.standard", rings.standard)
        if privileged, standard, !(rings.privileged > rings.standard) {
            check.problems.append(Problem(.invalidThresholds, Messages.thresholdsOutOfOrder(
                privileged: Self.numberText(rings.privileged), standard: Self.numberText(rings.standard)),
                keys: ["rings.privileged", "rings.standard"]))
        }
        for ring in 0...3 {
            let limit = limits[ring: ring]
            check.rate("limits.ring\(ring).rate", limit.rate)
            check.count("limits.ring\(ring).burst", limit.burst, 1...Self.maxCount, Messages.expectedCount)
        }
        let ring1 = check.unit("elevation.ring1", elevation.ring1)
        let ring2 = check.unit("elevation.ring2", elevation.ring2)
        if ring1, ring2, elevation.ring1 < elevation.ring2 {
            check.problems.append(Problem(.runtimeConflict, Messages.elevationOutOfOrder(
                ring1: Self.numberText(elevation.ring1), ring2: Self.numberText(elevation.ring2)),
                keys: ["elevation.ring1", "elevation.ring2"], help: Messages.elevationOrderHelp))
        }
        let defaultTTL = check.duration("elevation.default_ttl", elevation.defaultTTL)
        let maxTTL = check.duration("elevation.max_ttl", elevation.maxTTL)
        if defaultTTL, maxTTL, elevation.defaultTTL > elevation.maxTTL {
            check.notAbove("elevation.default_ttl", Self.durationText(elevation.defaultTTL),
                           "elevation.max_ttl", Self.durationText(elevation.maxTTL), help: Messages.elevationTTLHelp)
        }
        check.count("sessions.max_participants", sessions.maxParticipants, 1...Self.maxParticipants, Messages.expectedParticipants)
        check.duration("sessions.ttl", sessions.ttl, Self.minSessionTTL...Self.maxSessionTTL, Messages.expectedSessionTTL)
        check.unit("sessions.min_trust", sessions.minTrust)
        check.duration("breach.window", breach.window)
        check.count("breach.min_calls", breach.minCalls, 1...Self.maxCount, Messages.expectedCount)
        let severities = [("breach.low", breach.low), ("breach.medium", breach.medium),
                          ("breach.high", breach.high), ("breach.critical", breach.critical)]
        let inRange = severities.map { check.positiveUnit($0.0, $0.1) }
        for i in 1..<severities.count where inRange[i - 1] && inRange[i] && !(severities[i].1 > severities[i - 1].1) {
            check.problems.append(Problem(.runtimeConflict, Messages.breachThresholdsOutOfOrder(
                severities[i].0, Self.numberText(severities[i].1), severities[i - 1].0, Self.numberText(severities[i - 1].1)),
                keys: [severities[i].0, severities[i - 1].0], help: Messages.breachOrderHelp))
        }
        check.duration("breach.cooldown", breach.cooldown)
        checkLiability(&check)
        check.count("audit.checkpoint_every", audit.checkpointEvery, 1...Self.maxCount, Messages.expectedCount)
        check.duration("audit.checkpoint_interval", audit.checkpointInterval)
        check.origin(audit.origin)
        return check.problems
    }

    /// The `liability` rules: shares and risks in range, risks in order, a cascade that can
    /// happen, a default bond within the exposure cap.
    private func checkLiability(_ check: inout Checks) {
        let l = liability
        check.unit("liability.min_voucher_trust", l.minVoucherTrust)
        let bond = check.unit("liability.bond", l.bond)
        let exposure = check.unit("liability.max_exposure", l.maxExposure)
        if bond, exposure, l.bond > l.maxExposure {
            check.problems.append(Problem(.runtimeConflict, Messages.bondAboveExposure(
                bond: Self.numberText(l.bond), exposure: Self.numberText(l.maxExposure)), keys: ["liability.bond", "liability.max_exposure"]))
        }
        check.unit("liability.vouch_weight", l.vouchWeight)
        let floor = check.unit("liability.slash_floor", l.slashFloor)
        let below = check.unit("liability.cascade_below", l.cascadeBelow)
        let depth = check.count("liability.max_cascade_depth", l.maxCascadeDepth, 0...Self.maxCascadeDepth, Messages.expectedCascadeDepth)
        if floor, below, depth, l.maxCascadeDepth > 0, !(l.slashFloor < l.cascadeBelow) {
            check.problems.append(Problem(.runtimeConflict, Messages.cascadeUnreachable(
                floor: Self.numberText(l.slashFloor), below: Self.numberText(l.cascadeBelow)),
                keys: ["liability.slash_floor", "liability.cascade_below"], help: Messages.cascadeHelp))
        }
        check.duration("liability.quarantine", l.quarantine)
        let deny = check.unit("liability.deny_risk", l.denyRisk)
        let probation = check.unit("liability.probation_risk", l.probationRisk)
        if deny, probation, !(l.probationRisk < l.denyRisk) {
            check.problems.append(Problem(.runtimeConflict, Messages.runtimeNotBelow(
                "liability.probation_risk", Self.numberText(l.probationRisk), "liability.deny_risk", Self.numberText(l.denyRisk)),
                keys: ["liability.probation_risk", "liability.deny_risk"], help: Messages.riskOrderHelp))
        }
        check.positiveUnit("liability.escalation_severity", l.escalationSeverity)
    }
}

/// Collects problems; each check returns whether its value is in range, so relations between
/// values are only judged when both are.
private struct Checks {
    /// The problems found so far.
    var problems: [RuntimeSettings.Problem] = []

    /// Records a value outside its range (RF4009).
    private mutating func outOfRange(_ key: String, _ found: String, _ expected: String) {
        problems.append(RuntimeSettings.Problem(.runtimeOutOfRange, Messages.runtimeOutOfRange(key, found, expected: expected), keys: [key]))
    }

    /// The deployment's name: non-empty (RF1013), of `[A-Za-z0-9_.:-]` like policy names (RF1009).
    mutating func name(_ name: String) {
        if name.isEmpty {
            problems.append(RuntimeSettings.Problem(.emptyString, Messages.emptyString("the runtime name"), keys: ["name"]))
        } else if !name.utf8.allSatisfy(Self.isNameByte) {
            problems.append(RuntimeSettings.Problem(.invalidName, Messages.invalidName("runtime name", Messages.excerpt(name)), keys: ["name"]))
        }
    }

    /// A ring threshold in [0, 1] (RF4002, as for a policy's `rings`).
    mutating func threshold(_ key: String, _ x: Double) -> Bool {
        guard x.isFinite, (0...1).contains(x) else {
            problems.append(RuntimeSettings.Problem(.invalidThresholds, Messages.thresholdOutOfRange(key, RuntimeSettings.numberText(x)), keys: [key]))
            return false
        }
        return true
    }

    /// A trust, share or risk in [0, 1].
    @discardableResult
    mutating func unit(_ key: String, _ x: Double) -> Bool {
        guard x.isFinite, (0...1).contains(x) else {
            outOfRange(key, RuntimeSettings.numberText(x), Messages.expectedUnitInterval)
            return false
        }
        return true
    }

    /// A breach threshold or a severity in (0, 1].
    @discardableResult
    mutating func positiveUnit(_ key: String, _ x: Double) -> Bool {
        guard x.isFinite, x > 0, x <= 1 else {
            outOfRange(key, RuntimeSettings.numberText(x), Messages.expectedPositiveUnitInterval)
            return false
        }
        return true
    }

    /// A ring bucket's refill rate in (0, 1e9].
    mutating func rate(_ key: String, _ x: Double) {
        if !(x.isFinite && x > 0 && x <= RuntimeSettings.maxRate) {
            outOfRange(key, RuntimeSettings.numberText(x), Messages.expectedRate)
        }
    }

    /// A whole number in `range`.
    @discardableResult
    mutating func count(_ key: String, _ n: Int, _ range: ClosedRange<Int>, _ expected: String) -> Bool {
        guard range.contains(n) else {
            outOfRange(key, String(n), expected)
            return false
        }
        return true
    }

    /// A duration in `range` (by default above 0 and at most 365d).
    @discardableResult
    mutating func duration(_ key: String, _ milliseconds: Int64, _ range: ClosedRange<Int64> = 1...RuntimeSettings.maxDuration,
                           _ expected: String = Messages.expectedDuration) -> Bool {
        guard range.contains(milliseconds) else {
            outOfRange(key, RuntimeSettings.durationText(milliseconds), expected)
            return false
        }
        return true
    }

    /// Records `key` above `other` (RF4010).
    mutating func notAbove(_ key: String, _ value: String, _ other: String, _ otherValue: String, help: String) {
        problems.append(RuntimeSettings.Problem(.runtimeConflict, Messages.runtimeNotAbove(key, value, other, otherValue),
                                                keys: [key, other], help: help))
    }

    /// The checkpoint origin: non-empty (RF1013) and one line without control characters (RF4009).
    mutating func origin(_ origin: String) {
        if origin.isEmpty {
            problems.append(RuntimeSettings.Problem(.emptyString, Messages.emptyString("`audit.origin`"), keys: ["audit.origin"],
                                                    help: Messages.originHelp))
        } else if origin.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            problems.append(RuntimeSettings.Problem(.runtimeOutOfRange, Messages.originNotOneLine(Messages.excerpt(origin)),
                                                    keys: ["audit.origin"], help: Messages.originHelp))
        }
    }

    /// True for the bytes a name may hold: `[A-Za-z0-9_.:-]`.
    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
