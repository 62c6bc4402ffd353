import RingfenceDiagnostics

/// A parsed `kind: runtime` file (SPEC §7): the settings it writes, each nil when the file leaves
/// it to its default, and where each was written.
///
/// Ranges and the relations between settings are not checked here: the compiler fills in the
/// defaults and runs the one set of range rules (`RuntimeSettings.validate()`), which the bundle
/// verifier runs too. Durations are whole milliseconds.
public struct RuntimeDocument: Sendable {
    /// The file it came from.
    public var file: String
    /// Where the document starts.
    public var location: SourceLocation
    /// The deployment's name, when given.
    public var name: Located<String>?
    /// `rings`: the ring an agent gets at join.
    public var rings = Rings()
    /// `limits`: the ring buckets, ring 0 first (always four entries).
    public var limits = [RingLimit](repeating: RingLimit(), count: 4)
    /// `elevation`: temporary rings.
    public var elevation = Elevation()
    /// `sessions`: session size, lifetime and trust floor.
    public var sessions = Sessions()
    /// `breach`: the breach detector.
    public var breach = Breach()
    /// `liability`: the joint-liability ledger.
    public var liability = Liability()
    /// `audit`: the audit log.
    public var audit = Audit()
    /// Where each key was written, by dotted path (`breach.low`): a value's own location, and a
    /// section's (`breach`, `limits.ring0`) key.
    public var spans: [String: SourceSpan] = [:]
    /// The dotted paths whose values could not be read (already reported): checks that involve
    /// them are skipped, so one mistake is reported once.
    public var unreadable: Set<String> = []

    /// Creates a document that writes nothing (every setting at its default).
    public init(file: String, location: SourceLocation) {
        self.file = file
        self.location = location
    }

    /// `rings`: σ_eff > privileged with consensus joins at ring 1, σ_eff > standard at ring 2.
    public struct Rings: Sendable, Hashable {
        /// The least trust (exclusive) for ring 1.
        public var privileged: Double?
        /// The least trust (exclusive) for ring 2.
        public var standard: Double?
        /// Creates an empty section.
        public init() {}
    }

    /// One ring's token bucket.
    public struct RingLimit: Sendable, Hashable {
        /// Tokens refilled per second.
        public var rate: Double?
        /// Tokens the bucket holds when full.
        public var burst: Int?
        /// Creates an empty entry.
        public init() {}
    }

    /// `elevation`: the trust each ring needs and how long an elevation lasts.
    public struct Elevation: Sendable, Hashable {
        /// The least trust to be elevated to ring 1.
        public var ring1: Double?
        /// The least trust to be elevated to ring 2.
        public var ring2: Double?
        /// The TTL of an elevation that names none, in milliseconds.
        public var defaultTTL: Int64?
        /// The longest elevation, in milliseconds.
        public var maxTTL: Int64?
        /// Creates an empty section.
        public init() {}
    }

    /// `sessions`: how many agents a session holds, how long it lives, the trust floor.
    public struct Sessions: Sendable, Hashable {
        /// The most participants of one session.
        public var maxParticipants: Int?
        /// A session's lifetime, in milliseconds.
        public var ttl: Int64?
        /// Below this σ_eff an agent joins at ring 3.
        public var minTrust: Double?
        /// Creates an empty section.
        public init() {}
    }

    /// `breach`: the sliding window, the severity thresholds and what a critical breach does.
    public struct Breach: Sendable, Hashable {
        /// The sliding window, in milliseconds.
        public var window: Int64?
        /// Calls in the window before any verdict.
        public var minCalls: Int?
        /// The share of aimed-above calls that is a low breach.
        public var low: Double?
        /// The share that is a medium breach.
        public var medium: Double?
        /// The share that is a high breach.
        public var high: Double?
        /// The share that is a critical breach.
        public var critical: Double?
        /// How long a tripped breaker stays open, in milliseconds.
        public var cooldown: Int64?
        /// What a critical breach does beyond tripping the breaker.
        public var onCritical: BreachResponse?
        /// Creates an empty section.
        public init() {}
    }

    /// `breach.on_critical`, as written.
    public enum BreachResponse: String, Sendable, Hashable, CaseIterable {
        /// Trip the agent's breaker.
        case trip
        /// Also kill the agent (SPEC §8.6).
        case kill
    }

    /// `liability`: vouching, slashing, quarantine and the admission risks.
    public struct Liability: Sendable, Hashable {
        /// The least σ a voucher needs.
        public var minVoucherTrust: Double?
        /// The share of the voucher's σ one vouch bonds.
        public var bond: Double?
        /// The share of its σ a voucher's bonds never exceed.
        public var maxExposure: Double?
        /// ω in σ_eff = min(1, σ + ω·Σ bonds).
        public var vouchWeight: Double?
        /// The least σ a slash leaves a voucher with.
        public var slashFloor: Double?
        /// A slashed voucher below this is slashed in turn.
        public var cascadeBelow: Double?
        /// The most hops a slash cascades.
        public var maxCascadeDepth: Int?
        /// The default quarantine, in milliseconds.
        public var quarantine: Int64?
        /// Ledger risk at or above which an agent is refused at join.
        public var denyRisk: Double?
        /// Ledger risk at or above which an agent joins at ring 3.
        public var probationRisk: Double?
        /// The slash severity when a saga's compensation fails.
        public var escalationSeverity: Double?
        /// Creates an empty section.
        public init() {}
    }

    /// `audit`: durability, checkpoint cadence and the checkpoint origin.
    public struct Audit: Sendable, Hashable {
        /// When an operation's entries are durable.
        public var durability: Durability?
        /// Entries between checkpoints.
        public var checkpointEvery: Int?
        /// Time between checkpoints, in milliseconds.
        public var checkpointInterval: Int64?
        /// The checkpoint's first line.
        public var origin: String?
        /// Creates an empty section.
        public init() {}
    }

    /// `audit.durability`, as written (SPEC §9.4).
    public enum Durability: String, Sendable, Hashable, CaseIterable {
        /// An operation returns once its entries are durable.
        case strict
        /// An operation returns once its entries are queued; durable within 10 ms.
        case group
        /// The store's cheapest mode.
        case relaxed
    }
}

/// Where something was written: its first character and how many columns to underline.
public struct SourceSpan: Sendable, Hashable {
    /// Where it starts.
    public var location: SourceLocation
    /// How many columns it spans on its first line (at least 1).
    public var length: Int
    /// Creates a span.
    public init(_ location: SourceLocation, length: Int = 1) {
        self.location = location
        self.length = max(1, length)
    }
}
