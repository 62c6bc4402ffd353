// The generated part of `docs/sagas.md`: the step and saga state machines drawn from the tables
// the executor checks every transition against, and the audit entry kinds sagas write. A test
// compares the document with this text.

/// Markdown written from the saga tables.
public enum SagaReference {
    /// The markers around the generated text in `docs/sagas.md`.
    public static let begin = "<!-- generated: SagaReference.markdown; edit the tables in the code -->"
    /// The end marker.
    public static let end = "<!-- end generated -->"

    /// The two state machines (a diagram and a table each) and the entry kinds.
    public static var markdown: String {
        var lines: [String] = []
        lines.append("### Step states")
        lines.append("")
        lines.append("A step starts `pending`.")
        lines.append("")
        lines.append("```mermaid")
        lines.append("stateDiagram-v2")
        lines.append("    [*] --> pending")
        for row in StepMachine.table {
            for from in row.from { lines.append("    \(from.rawValue) --> \(row.to.rawValue): \(row.event.rawValue)") }
        }
        lines.append("```")
        lines.append("")
        lines.append("| event | from | to | what happens |")
        lines.append("|---|---|---|---|")
        for row in StepMachine.table {
            lines.append("| `\(row.event.rawValue)` | \(row.from.map { "`\($0.rawValue)`" }.joined(separator: ", ")) | `\(row.to.rawValue)` | \(meaning(row.event)) |")
        }
        lines.append("")
        lines.append("### Saga states")
        lines.append("")
        lines.append("A saga starts `running`; `completed`, `compensated` and `escalated` are final.")
        lines.append("")
        lines.append("```mermaid")
        lines.append("stateDiagram-v2")
        lines.append("    [*] --> running")
        for row in SagaMachine.table {
            for from in row.from { lines.append("    \(from.rawValue) --> \(row.to.rawValue): \(row.event.rawValue)") }
        }
        for state in SagaState.allCases where state.isFinal { lines.append("    \(state.rawValue) --> [*]") }
        lines.append("```")
        lines.append("")
        lines.append("| event | from | to | what happens |")
        lines.append("|---|---|---|---|")
        for row in SagaMachine.table {
            lines.append("| `\(row.event.rawValue)` | \(row.from.map { "`\($0.rawValue)`" }.joined(separator: ", ")) | `\(row.to.rawValue)` | \(meaning(row.event)) |")
        }
        lines.append("")
        lines.append("### Audit entries")
        lines.append("")
        lines.append("| kind | written when |")
        lines.append("|---|---|")
        for kind in SagaEntryKind.allCases { lines.append("| `\(kind.rawValue)` | \(meaning(kind)) |") }
        return lines.joined(separator: "\n")
    }

    /// What a step event means.
    static func meaning(_ event: StepEvent) -> String {
        switch event {
        case .attempt: "the policies allow the attempt (the decision and `executing` commit together); or, after a crash, the attempt in doubt runs again"
        case .commit: "the attempt succeeded (HTTP 2xx): output and checkpoint goal recorded"
        case .fail: "denied (`policy_denied`), a failure that is not retryable, the last retry failing, or the saga compensating while the step waits to retry"
        case .compensate: "the saga compensates and this committed step's undo attempt starts (again, for later attempts)"
        case .undone: "an undo attempt succeeded"
        case .undoFailed: "the undo attempts are spent or the failure is not retryable, or the step has no `undo_api`; the step's escalation is raised"
        }
    }

    /// What a saga event means.
    static func meaning(_ event: SagaEvent) -> String {
        switch event {
        case .complete: "every step settled: committed, or failed in a fan-out group whose policy held"
        case .compensate: "a step failed, a fan-out group's policy was not met, or the agent of an unsettled step was killed without a substitute"
        case .undone: "every committed step was undone"
        case .escalate: "some committed step could not be undone"
        }
    }

    /// When a kind of entry is written.
    static func meaning(_ kind: SagaEntryKind) -> String {
        switch kind {
        case .started: "`saga.start`: the saga, its session, steps, input and base URL"
        case .stepExecuting: "before an attempt runs, in the transaction of the `decision` that allowed it"
        case .stepRetrying: "an attempt (or undo attempt) failed and will be retried after `retry_in` seconds"
        case .stepCommitted: "a step committed, with its `checkpoint_goal`"
        case .stepFailed: "a step failed, with its error (and the decision, for `policy_denied`)"
        case .stepHandedOff: "a kill handed a step of the killed agent to its substitute"
        case .compensating: "the saga starts compensating, and why"
        case .stepCompensating: "before an undo attempt runs"
        case .stepCompensated: "a step was undone"
        case .stepCompensationFailed: "a step could not be undone"
        case .escalation: "once per `<saga>/<step>` that could not be undone, with the severity; the ledger's slash and quarantine commit with it"
        case .ended: "the saga ended `completed`, `compensated` or `escalated`"
        }
    }
}
