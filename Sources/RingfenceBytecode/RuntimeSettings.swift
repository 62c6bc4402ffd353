import RingfenceDiagnostics

/// The runtime's settings (SPEC §7), compiled from the deployment's `kind: runtime` file into
/// every bundle; a program compiled without one holds these defaults (the seed system's numbers)
/// under the name `default`. Durations are whole milliseconds.
///
/// `validate()` holds every range and relation rule, once: the compiler turns its problems into
/// located diagnostics, and the bundle verifier refuses a bundle that has any.
///
/// ```
/// section     settings (defaults)                                     used by
/// rings       privileged 0.95 · standard 0.60                         the ring at join (§8.2)
/// limits      ring0 100/200 · ring1 50/100 · ring2 20/40 · ring3 5/10   ring buckets, rate/burst (§8.4)
/// elevation   ring1 0.85 · ring2 0.50 · default_ttl 5m · max_ttl 1h   elevations (§8.6)
/// sessions    max_participants 10 · ttl 1h · min_trust 0.60           sessions (§8.1, §8.2)
/// breach      window 60s · min_calls 5 · 0.3/0.5/0.7/0.9 · cooldown 30s · on_critical trip
/// liability   min_voucher_trust 0.50 · bond 0.20 · max_exposure 0.80 · vouch_weight 0.20 ·
///             slash_floor 0.05 · cascade_below 0.06 · max_cascade_depth 2 · quarantine 5m ·
///             deny_risk 0.60 · probation_risk 0.30 · escalation_severity 0.50   the ledger (§11)
/// audit       durability group · checkpoint_every 1000 · checkpoint_interval 10s ·
///             origin ringfence.local/audit                            the audit log (§9)
/// ```
public struct RuntimeSettings: Sendable, Hashable {
    /// The deployment's name (`default` when no runtime file was compiled in).
    public var name = "default"
    /// The ring an agent gets at join.
    public var rings = Rings()
    /// The per-ring token buckets.
    public var limits = Limits()
    /// Temporary rings.
    public var elevation = Elevation()
    /// Session size, lifetime and trust floor.
    public var sessions = Sessions()
    /// The breach detector.
    public var breach = Breach()
    /// The joint-liability ledger.
    public var liability = Liability()
    /// The audit log.
    public var audit = Audit()

    /// The defaults of SPEC §7.
    public init() {}

    /// The largest refill rate of a ring bucket, in tokens per second.
    public static let maxRate: Double = 1_000_000_000
    /// The largest bucket capacity, `min_calls` and `checkpoint_every`.
    public static let maxCount = 1_000_000_000
    /// The most participants a session may be configured for.
    public static let maxParticipants = 1_000
    /// The deepest slash cascade.
    public static let maxCascadeDepth = 10
    /// The shortest session lifetime (1s), in milliseconds.
    public static let minSessionTTL: Int64 = 1_000
    /// The longest session lifetime (7d), in milliseconds.
    public static let maxSessionTTL: Int64 = 7 * 86_400_000
    /// The longest of every other duration (365d), in milliseconds: far beyond any sensible
    /// setting, and small enough that clock arithmetic in nanoseconds never overflows.
    public static let maxDuration: Int64 = 365 * 86_400_000

    /// `rings`: σ_eff > privileged with consensus joins at ring 1, σ_eff > standard at ring 2,
    /// else ring 3 (ring 0 only ever explicitly).
    public struct Rings: Sendable, Hashable {
        /// The least trust (exclusive) for ring 1.
        public var privileged = 0.95
        /// The least trust (exclusive) for ring 2.
        public var standard = 0.60
        /// The defaults.
        public init() {}
    }

    /// One ring's token bucket: refill per second and capacity.
    public struct RingLimit: Sendable, Hashable {
        /// Tokens refilled per second (may be fractional: 0.5 is one token every two seconds).
        public var rate: Double
        /// Tokens the bucket holds when full.
        public var burst: Int
        /// Creates a bucket shape.
        public init(rate: Double, burst: Int) {
            self.rate = rate
            self.burst = burst
        }
    }

    /// `limits`: one bucket per ring, ring 0 first.
    public struct Limits: Sendable, Hashable {
        /// Ring 0's bucket.
        public var ring0 = RingLimit(rate: 100, burst: 200)
        /// Ring 1's bucket.
        public var ring1 = RingLimit(rate: 50, burst: 100)
        /// Ring 2's bucket.
        public var ring2 = RingLimit(rate: 20, burst: 40)
        /// Ring 3's bucket.
        public var ring3 = RingLimit(rate: 5, burst: 10)
        /// The defaults.
        public init() {}

        /// The bucket of `ring` (0–3; anything above 3 is ring 3, the least privileged).
        public subscript(ring ring: Int) -> RingLimit {
            get {
                switch ring {
                case ...0: ring0
                case 1: ring1
                case 2: ring2
                default: ring3
                }
            }
            set {
                switch ring {
                case ...0: ring0 = newValue
                case 1: ring1 = newValue
                case 2: ring2 = newValue
                default: ring3 = newValue
                }
            }
        }
    }

    /// `elevation`: the trust each ring needs and how long an elevation lasts.
    public struct Elevation: Sendable, Hashable {
        /// The least trust to be elevated to ring 1 (an attestation is needed too).
        public var ring1 = 0.85
        /// The least trust to be elevated to ring 2.
        public var ring2 = 0.50
        /// The TTL of an elevation that names none, in milliseconds.
        public var defaultTTL: Int64 = 300_000
        /// The longest elevation, in milliseconds.
        public var maxTTL: Int64 = 3_600_000
        /// The defaults.
        public init() {}
    }

    /// `sessions`: how many agents a session holds, how long it lives, the trust floor.
    public struct Sessions: Sendable, Hashable {
        /// The most participants of one session (1–1000).
        public var maxParticipants = 10
        /// A session's lifetime (1s–7d), in milliseconds.
        public var ttl: Int64 = 3_600_000
        /// Below this σ_eff an agent joins at ring 3.
        public var minTrust = 0.60
        /// The defaults.
        public init() {}
    }

    /// `breach`: the sliding window, the severity thresholds and what a critical breach does.
    public struct Breach: Sendable, Hashable {
        /// The sliding window, in milliseconds.
        public var window: Int64 = 60_000
        /// Calls in the window before any verdict.
        public var minCalls = 5
        /// The share of aimed-above calls that is a low breach.
        public var low = 0.3
        /// The share that is a medium breach.
        public var medium = 0.5
        /// The share that is a high breach (trips the breaker).
        public var high = 0.7
        /// The share that is a critical breach (trips the breaker).
        public var critical = 0.9
        /// How long a tripped breaker stays open, in milliseconds.
        public var cooldown: Int64 = 30_000
        /// What a critical breach does beyond tripping the breaker.
        public var onCritical = Response.trip
        /// The defaults.
        public init() {}

        /// `on_critical`, stored as one byte.
        public enum Response: UInt8, Sendable, Hashable, CaseIterable {
            /// Trip the agent's breaker.
            case trip = 0
            /// Trip it and run the kill switch (SPEC §8.6).
            case kill = 1

            /// The word a runtime file writes.
            public var spelling: String {
                switch self {
                case .trip: "trip"
                case .kill: "kill"
                }
            }
        }
    }

    /// `liability`: vouching, slashing, quarantine and the admission risks (SPEC §11).
    public struct Liability: Sendable, Hashable {
        /// The least σ a voucher needs.
        public var minVoucherTrust = 0.50
        /// The share of the voucher's σ one vouch bonds.
        public var bond = 0.20
        /// The share of its σ a voucher's bonds never exceed.
        public var maxExposure = 0.80
        /// ω in σ_eff = min(1, σ + ω·Σ bonds).
        public var vouchWeight = 0.20
        /// The least σ a slash leaves a voucher with.
        public var slashFloor = 0.05
        /// A slashed voucher left below this is slashed in turn, one hop further.
        public var cascadeBelow = 0.06
        /// The most hops a slash cascades (0–10).
        public var maxCascadeDepth = 2
        /// The default quarantine, in milliseconds.
        public var quarantine: Int64 = 300_000
        /// Ledger risk at or above which an agent is refused at join.
        public var denyRisk = 0.60
        /// Ledger risk at or above which an agent joins at ring 3.
        public var probationRisk = 0.30
        /// The slash severity when a saga's compensation fails (SPEC §10.6).
        public var escalationSeverity = 0.50
        /// The defaults.
        public init() {}
    }

    /// `audit`: durability, checkpoint cadence and the checkpoint origin (SPEC §9).
    public struct Audit: Sendable, Hashable {
        /// When an operation's entries are durable.
        public var durability = Durability.group
        /// Entries between checkpoints.
        public var checkpointEvery = 1_000
        /// Time between checkpoints, in milliseconds.
        public var checkpointInterval: Int64 = 10_000
        /// The checkpoint's first line (C2SP tlog-checkpoint).
        public var origin = "ringfence.local/audit"
        /// The defaults.
        public init() {}

        /// `durability`, stored as one byte (SPEC §9.4).
        public enum Durability: UInt8, Sendable, Hashable, CaseIterable {
            /// An operation returns once its entries are durable.
            case strict = 0
            /// An operation returns once its entries are queued; durable within 10 ms.
            case group = 1
            /// The store's cheapest mode.
            case relaxed = 2

            /// The word a runtime file writes.
            public var spelling: String {
                switch self {
                case .strict: "strict"
                case .group: "group"
                case .relaxed: "relaxed"
                }
            }
        }
    }
}

// MARK: Text

extension RuntimeSettings {
    /// A duration as a runtime file writes it: the largest unit that divides it (`5m`, `90m`,
    /// `1500ms`), so reading the text back gives the same milliseconds.
    public static func durationText(_ milliseconds: Int64) -> String {
        if milliseconds == 0 { return "0s" }
        if milliseconds < 0 { return "-" + durationText(milliseconds == .min ? .max : -milliseconds) }
        for (unit, length) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] where milliseconds % length == 0 {
            return "\(milliseconds / length)\(unit)"
        }
        return "\(milliseconds)ms"
    }

    /// A number as a runtime file writes it: whole numbers without a fraction (`100`, `0.6`).
    public static func numberText(_ x: Double) -> String {
        Disassembler.describe(.number(x))
    }

    /// Every setting with its value as a runtime file writes it (`breach.window` → `1m`), in
    /// the order SPEC §7 writes them; `name` and `audit.origin` are the raw strings.
    public var entries: [(key: String, value: String)] {
        let n = Self.numberText, d = Self.durationText
        var out: [(key: String, value: String)] = [("name", name),
                                                   ("rings.privileged", n(rings.privileged)), ("rings.standard", n(rings.standard))]
        for ring in 0...3 {
            out.append(("limits.ring\(ring).rate", n(limits[ring: ring].rate)))
            out.append(("limits.ring\(ring).burst", String(limits[ring: ring].burst)))
        }
        out += [("elevation.ring1", n(elevation.ring1)), ("elevation.ring2", n(elevation.ring2)),
                ("elevation.default_ttl", d(elevation.defaultTTL)), ("elevation.max_ttl", d(elevation.maxTTL)),
                ("sessions.max_participants", String(sessions.maxParticipants)), ("sessions.ttl", d(sessions.ttl)),
                ("sessions.min_trust", n(sessions.minTrust)),
                ("breach.window", d(breach.window)), ("breach.min_calls", String(breach.minCalls)),
                ("breach.low", n(breach.low)), ("breach.medium", n(breach.medium)), ("breach.high", n(breach.high)),
                ("breach.critical", n(breach.critical)), ("breach.cooldown", d(breach.cooldown)),
                ("breach.on_critical", breach.onCritical.spelling)]
        let l = liability
        out += [("liability.min_voucher_trust", n(l.minVoucherTrust)), ("liability.bond", n(l.bond)),
                ("liability.max_exposure", n(l.maxExposure)), ("liability.vouch_weight", n(l.vouchWeight)),
                ("liability.slash_floor", n(l.slashFloor)), ("liability.cascade_below", n(l.cascadeBelow)),
                ("liability.max_cascade_depth", String(l.maxCascadeDepth)), ("liability.quarantine", d(l.quarantine)),
                ("liability.deny_risk", n(l.denyRisk)), ("liability.probation_risk", n(l.probationRisk)),
                ("liability.escalation_severity", n(l.escalationSeverity)),
                ("audit.durability", audit.durability.spelling), ("audit.checkpoint_every", String(audit.checkpointEvery)),
                ("audit.checkpoint_interval", d(audit.checkpointInterval)), ("audit.origin", audit.origin)]
        return out
    }
}
