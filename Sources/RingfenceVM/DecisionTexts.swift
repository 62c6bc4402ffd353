import RingfenceBytecode
import Synchronization

/// The texts a decision can name for one rule, or for one first-match policy's default: the
/// policy's name, the rule's id, the reason given when it decides, and what the generated
/// reasons for its ring gate, rate limit and evaluation errors need.
///
/// Texts are interned for the life of the process (`DecisionTexts.intern`), so a `Decision` refers
/// to them through a plain pointer: making, copying and dropping a decision touches no reference
/// count, and threads sharing one engine do not contend on the rules' strings. Interning is by
/// content, so loading the same policies again adds nothing; each distinct rule text ever loaded
/// stays in memory (about a hundred bytes per rule).
struct DecisionTexts: Sendable, Hashable {
    /// The policy's name.
    let policy: String
    /// The rule's id; nil for a policy's default.
    let rule: String?
    /// The reason reported when the rule decides: its own, or a generated one.
    let decided: String
    /// The least-privileged ring the rule allows (3 when it has no gate).
    let neededRing: Int
    /// The rule's rate limit.
    let limit: Limit?

    /// The texts of `rule` in `program`.
    init(rule: RuleEntry, in program: Program) {
        policy = program.policies[Int(rule.policy)].name
        self.rule = rule.id
        decided = rule.reason ?? (rule.isDeny ? "denied by rule `\(rule.id)`" : "allowed by rule `\(rule.id)`")
        neededRing = rule.ring.map(Int.init) ?? 3
        limit = rule.limit
    }

    /// The texts of a first-match policy's default allow.
    init(defaultOf policy: String) {
        self.policy = policy
        rule = nil
        decided = "no rule of policy `\(policy)` matched; its default allows"
        neededRing = 3
        limit = nil
    }

    /// The reason when the agent's `ring` is not privileged enough for the rule.
    func ringReason(_ ring: Int) -> String {
        "ring \(ring) is not privileged enough for rule `\(rule ?? "")` (it needs ring \(neededRing) or lower)"
    }

    /// The reason when the rule's rate limit is exhausted.
    var rateLimitReason: String {
        limit.map { "rate limit of rule `\(rule ?? "")` is exhausted (\($0.count) per \($0.seconds)s per agent)" } ?? ""
    }

    /// The reason when the rule could not be evaluated because of `fault`.
    func errorReason(_ fault: RuleFault) -> String {
        "rule `\(rule ?? "")` could not be evaluated (\(fault.phrase)); denied to fail closed"
    }

    /// Interned texts by content.
    private static let pool = Mutex<[DecisionTexts: Ref]>([:])

    /// The one process-wide copy of `texts`, made on first use and never freed.
    static func intern(_ texts: DecisionTexts) -> Ref {
        pool.withLock { pool in
            if let ref = pool[texts] { return ref }
            let pointer = UnsafeMutablePointer<DecisionTexts>.allocate(capacity: 1)
            pointer.initialize(to: texts)
            let ref = Ref(pointer: UnsafePointer(pointer))
            pool[texts] = ref
            return ref
        }
    }

    /// A pointer to interned texts. Interning makes equal texts share one address, and the
    /// storage is never freed, so the pointer stays valid wherever a decision travels.
    struct Ref: @unchecked Sendable, Hashable {
        // Safety: the pointee is immutable and lives until the process ends.
        let pointer: UnsafePointer<DecisionTexts>

        /// The texts.
        var texts: DecisionTexts { pointer.pointee }
    }
}
