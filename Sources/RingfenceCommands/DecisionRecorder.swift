import Foundation
import Ringfence
import RingfenceStores

/// `eval --state`: every decision appended to the store's audit log (SPEC §4.1, §9), a decision
/// log like OPA's. Entries are appended in input order from the printing thread; the data — the
/// request as read and the decision — is built on the audit writer's thread.
final class DecisionRecorder: @unchecked Sendable {
    // Safety: `log` is thread-safe; the recorder is used from the printing thread only.
    /// The agent and session an entry's envelope names.
    struct Who: Sendable {
        /// The request's `agent.id`.
        var agent: String
        /// The request's `context.session`, when it is a string.
        var session: String?

        /// The names in `request`.
        init(_ request: Request) {
            agent = request.agent.id
            if case .string(let session)? = request.context["session"] { self.session = session } else { session = nil }
        }
    }

    private let log: AuditLog
    private let clock: @Sendable () -> AuditTime

    private init(log: AuditLog, clock: @escaping @Sendable () -> AuditTime) {
        self.log = log
        self.clock = clock
    }

    /// The recorder for `--state` (else `RINGFENCE_STATE`), signing with `--audit-key` (else
    /// `RINGFENCE_AUDIT_KEY`); nil when neither names a store.
    static func open(state: String?, keyFile: String?, settings: RuntimeSettings.Audit,
                     environment: [String: String]) throws(CommandFailure) -> DecisionRecorder? {
        guard let url = state ?? environment[Stores.environmentVariable] else { return nil }
        let key = try (keyFile ?? environment["RINGFENCE_AUDIT_KEY"]).map { (path: String) throws(CommandFailure) -> NoteSigningKey in
            try KeyFiles.signingKey(path)
        }
        let store: StateStore
        do {
            store = try Stores.open(url: url)
        } catch {
            throw CommandFailure(status: 2, message: "\(url): error: \(error.message)")
        }
        let audit = AuditSettings(durability: settings.durability, checkpointEvery: UInt64(max(1, settings.checkpointEvery)),
                                  checkpointInterval: settings.checkpointInterval * 1000, origin: settings.origin, signingKey: key)
        do {
            return DecisionRecorder(log: try AuditLog(store: store, settings: audit, clock: AuditClock.system), clock: AuditClock.system)
        } catch {
            throw CommandFailure(status: 2, message: "\(url): error: \(error.message)")
        }
    }

    /// Appends the decision of the request read from `element`.
    func record(_ element: JSONLinesReader.Element, _ decision: Decision, _ who: Who?) {
        let bytes = element.bytes
        let decisionValue = DecisionRecorder.value(of: decision)
        let record = AuditRecord(kind: "decision", session: who?.session, agent: who?.agent, time: clock()) {
            let request = (try? bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }) ?? .null
            return .object(["request": request, "decision": decisionValue])
        }
        // A failure here resurfaces in `finish`, which reports it.
        _ = try? log.enqueue([record])
    }

    /// Commits everything, signs a checkpoint covering the run, and closes the log; the problem, if any.
    func finish() -> String? {
        defer { log.close() }
        do {
            try log.flush()
            _ = try log.checkpoint()
            return nil
        } catch {
            return "\(log.store.url): error: the decisions could not all be recorded: \(error.message)"
        }
    }

    /// A decision as the JSON object of its line (SPEC §1).
    static func value(of decision: Decision) -> Value {
        .object([
            "decision": .string(decision.decision),
            "code": .string(decision.code.rawValue),
            "policy": decision.policy.map(Value.string) ?? .null,
            "rule": decision.rule.map(Value.string) ?? .null,
            "reason": .string(decision.reason),
            "ring": .number(Double(decision.ring)),
        ])
    }
}
