import RingfenceBytecode
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The texts a decision can name for one rule, or for one first-match policy's default: the
/// policy's name, the rule's id, the reason given when it decides, and what the generated
/// reasons for its ring gate, rate limit and evaluation errors need.
///
/// Each machine keeps its rules' texts in one `DecisionTextsTable`. A decision points at its
/// rule's texts and holds them alive through its thread's `DecisionTextsHold` on that table (see
/// `DecisionTextsHolds`), so the texts of a machine are freed once the machine, every decision
/// naming them and every thread's hold are gone: reloading policies does not grow memory.
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
        // An empty reason (`reason: ""` in a policy, or in a bundle) counts as none: a decision always says why.
        if let reason = rule.reason, !reason.isEmpty {
            decided = reason
        } else {
            decided = rule.isDeny ? "denied by rule `\(rule.id)`" : "allowed by rule `\(rule.id)`"
        }
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

    /// A decision's texts: where they are, and the hold that keeps them there.
    struct Ref: Sendable, Hashable {
        /// The texts, valid while `hold` lives.
        let pointer: Pointer
        /// The deciding thread's hold on the table the texts belong to.
        let hold: DecisionTextsHold

        /// The texts.
        var texts: DecisionTexts { pointer.address.pointee }

        /// Equal when they point at the same texts.
        static func == (a: Ref, b: Ref) -> Bool { a.pointer.address == b.pointer.address }

        /// Hashes the address.
        func hash(into hasher: inout Hasher) { hasher.combine(pointer.address) }
    }

    /// The address of texts in a `DecisionTextsTable`.
    struct Pointer: @unchecked Sendable {
        // Safety: the pointee is immutable and lives as long as its table, which every holder of
        // a `Ref` keeps alive.
        let address: UnsafePointer<DecisionTexts>

        /// The texts.
        var texts: DecisionTexts { address.pointee }
    }
}

/// One machine's decision texts: its rules' texts, then its policies' default texts, in one
/// buffer freed when the last holder lets go (the machine, and every thread's hold on it).
final class DecisionTextsTable: @unchecked Sendable {
    // Safety: the buffer is written once in `init` and only read afterwards; `retired` is atomic.
    /// The texts: `program.rules.count` rules, then one default per policy.
    let texts: UnsafeMutableBufferPointer<DecisionTexts>
    /// The number of rules (the policies' defaults follow them).
    let ruleCount: Int
    /// Set when the machine is gone: no new decision will name these texts, so threads drop their
    /// holds on them at the next chance.
    let retired = Atomic<Bool>(false)

    /// The texts of `program`'s rules and policies.
    init(program: Program) {
        let all = program.rules.map { DecisionTexts(rule: $0, in: program) } + program.policies.map { DecisionTexts(defaultOf: $0.name) }
        let buffer = UnsafeMutableBufferPointer<DecisionTexts>.allocate(capacity: max(1, all.count))
        _ = buffer.initialize(from: all)
        texts = UnsafeMutableBufferPointer(rebasing: buffer[0..<all.count])
        ruleCount = program.rules.count
    }

    deinit {
        texts.deinitialize()
        texts.baseAddress?.deallocate()
    }

    /// The address of rule `index`'s texts.
    func rule(_ index: Int) -> DecisionTexts.Pointer {
        DecisionTexts.Pointer(address: UnsafePointer(texts.baseAddress! + index))
    }

    /// The address of the default texts of policy `index`.
    func policyDefault(_ index: Int) -> DecisionTexts.Pointer {
        DecisionTexts.Pointer(address: UnsafePointer(texts.baseAddress! + ruleCount + index))
    }
}

/// One thread's hold on one `DecisionTextsTable`. Decisions made on the thread retain the hold,
/// not the table, so two threads deciding on one machine never write the same reference count.
final class DecisionTextsHold: Sendable {
    /// The table held.
    let table: DecisionTextsTable

    /// A hold on `table`.
    init(_ table: DecisionTextsTable) {
        self.table = table
    }
}

/// Each thread's holds, in a small most-recently-used list kept in thread-local storage.
///
/// A decision naming a rule looks up its thread's hold on the machine's table (the first entry,
/// in the steady state) and retains it: an increment of a count only that thread writes. The
/// first decision of a thread on a machine makes a hold (one allocation). A thread keeps at most
/// `capacity` holds; when it meets a new table it first lets go of holds on retired tables
/// (machines that are gone), then of its least recently used hold. A thread's holds go when it
/// ends. So the tables alive are those of live machines, those named by decisions still kept,
/// and at most `capacity` per thread.
enum DecisionTextsHolds {
    /// Holds kept per thread.
    static let capacity = 8

    /// One cached hold.
    struct Entry {
        /// The table's identity.
        var table: UnsafeMutableRawPointer?
        /// The hold (retained by the cache).
        var hold: Unmanaged<DecisionTextsHold>?
    }

    /// The thread-local key of each thread's entries; their destructor releases the holds.
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            let entries = raw.assumingMemoryBound(to: Entry.self)
            for i in 0..<DecisionTextsHolds.capacity { entries[i].hold?.release() }
            entries.deallocate()
        }
        precondition(status == 0, "no thread-local key is left for decision texts")
        return key
    }()

    /// The calling thread's hold on `table` (made, and cached, when it has none).
    @inline(__always)
    static func hold(on table: Unmanaged<DecisionTextsTable>) -> Unmanaged<DecisionTextsHold> {
        if let raw = pthread_getspecific(key) {
            let entries = raw.assumingMemoryBound(to: Entry.self)
            if entries[0].table == table.toOpaque(), let hold = entries[0].hold { return hold }
        }
        return miss(table)
    }

    /// Finds or makes the hold when it is not the most recent one.
    @inline(never)
    private static func miss(_ table: Unmanaged<DecisionTextsTable>) -> Unmanaged<DecisionTextsHold> {
        let entries: UnsafeMutablePointer<Entry>
        if let raw = pthread_getspecific(key) {
            entries = raw.assumingMemoryBound(to: Entry.self)
        } else {
            entries = .allocate(capacity: capacity)
            entries.initialize(repeating: Entry(), count: capacity)
            pthread_setspecific(key, entries)
        }
        let identity = table.toOpaque()
        // Found further down: move it to the front.
        for i in 1..<capacity where entries[i].table == identity {
            let found = entries[i]
            for j in stride(from: i, to: 0, by: -1) { entries[j] = entries[j - 1] }
            entries[0] = found
            return found.hold!
        }
        // Let go of holds on retired tables, keeping the others in order.
        var kept = 0
        for i in 0..<capacity {
            guard let hold = entries[i].hold else { continue }
            if hold._withUnsafeGuaranteedRef({ $0.table.retired.load(ordering: .relaxed) }) {
                hold.release()
            } else {
                entries[kept] = entries[i]
                kept += 1
            }
        }
        for i in kept..<capacity { entries[i] = Entry() }
        if kept == capacity {
            entries[capacity - 1].hold?.release()
            kept -= 1
        }
        for j in stride(from: kept, to: 0, by: -1) { entries[j] = entries[j - 1] }
        let hold = Unmanaged.passRetained(DecisionTextsHold(table.takeUnretainedValue()))
        entries[0] = Entry(table: identity, hold: hold)
        return hold
    }
}
