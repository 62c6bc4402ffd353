import RingfenceAudit
import Testing
@testable import RingfenceRuntime
import RingfenceTestSupport
import RingfenceVM

/// The `saga.*` entries a run writes straight in canonical form (`StepEntryData`,
/// `SagaEntryData`, on `CanonicalObject`) are byte for byte `CanonicalJSON.encode` of the same
/// members built as values — the form they had when they were value trees — over seeded random
/// ids, names and reasons that need escapes or sort differently by UTF-8 and UTF-16, numbers at
/// the edges, and optional members present and absent.
@Suite struct SagaEntryDataTests {
    /// How many random rounds.
    static let rounds = 2_000

    static func text(_ rng: inout SeededGenerator) -> String { LedgerRowTextTests.text(&rng) }

    /// A count as the runtime writes them, from 0 to beyond 2^53.
    static func count(_ rng: inout SeededGenerator) -> Int {
        rng.pick([0, 1, 9, 10, 255, 1_000_000, Int(rng.below(100_000)), 9_007_199_254_740_993, -1])
    }

    @Test func stepEntriesWrittenInCanonicalFormAreTheirValuesEncoded() throws {
        var rng = SeededGenerator(seed: 0x5A6A_E17E)
        for _ in 0..<Self.rounds {
            let saga = Self.text(&rng), step = Self.text(&rng)
            let data: StepEntryData = switch rng.below(5) {
            case 0: .executing(agent: Self.text(&rng), attempt: Self.count(&rng), phase: rng.pick(StepPhase.allCases))
            case 1: .committed(attempt: Self.count(&rng), completion: Self.count(&rng),
                               checkpointGoal: rng.chance(1, in: 2) ? Self.text(&rng) : nil)
            case 2: .compensating(agent: Self.text(&rng), attempt: Self.count(&rng))
            case 3: .compensated(attempts: Self.count(&rng))
            default: .members(["error": SagaRowTextTests.value(&rng), "attempts": .number(Double(Self.count(&rng)))])
            }
            let written = try data.canonical(saga: saga, step: step)
            #expect(written == (try CanonicalJSON.encode(data.value(saga: saga, step: step))), "\(data)")
        }
    }

    /// The value forms are the members the entries always had (`docs/sagas.md`).
    @Test func stepEntryValuesHoldTheDocumentedMembers() {
        let executing = StepEntryData.executing(agent: "did:a", attempt: 2, phase: .execute).value(saga: "s", step: "x")
        #expect(executing == .object(["agent": .string("did:a"), "attempt": .number(2), "phase": .string("execute"),
                                      "saga": .string("s"), "step": .string("x")]))
        let committed = StepEntryData.committed(attempt: 1, completion: 3, checkpointGoal: "goal").value(saga: "s", step: "x")
        #expect(committed == .object(["attempt": .number(1), "completion": .number(3), "checkpoint_goal": .string("goal"),
                                      "saga": .string("s"), "step": .string("x")]))
        let compensating = StepEntryData.compensating(agent: "did:a", attempt: 1).value(saga: "s", step: "x")
        #expect(compensating == .object(["agent": .string("did:a"), "attempt": .number(1), "saga": .string("s"), "step": .string("x")]))
        let compensated = StepEntryData.compensated(attempts: 2).value(saga: "s", step: "x")
        #expect(compensated == .object(["attempts": .number(2), "saga": .string("s"), "step": .string("x")]))
    }

    @Test func sagaEntriesWrittenInCanonicalFormAreTheirValuesEncoded() throws {
        var rng = SeededGenerator(seed: 0x5A6A_E17F)
        for _ in 0..<Self.rounds {
            let saga = Self.text(&rng), name = Self.text(&rng), session = Self.text(&rng), reason = Self.text(&rng)
            let steps = (0..<rng.below(5)).map { _ in Self.text(&rng) }
            let input: Value = rng.chance(1, in: 3) ? .null : SagaRowTextTests.value(&rng)
            let base: String? = rng.chance(1, in: 2) ? "https://svc.example/" + Self.text(&rng) : nil
            var started: [String: Value] = ["saga": .string(saga), "name": .string(name), "session": .string(session),
                                            "steps": .list(steps.map(Value.string))]
            if input != .null { started["input"] = input }
            if let base { started["base_url"] = .string(base) }
            #expect(try SagaEntryData.started(saga: saga, name: name, session: session, steps: steps, input: input, baseURL: base)
                    == CanonicalJSON.encode(.object(started)))
            #expect(SagaEntryData.compensating(saga: saga, reason: reason)
                    == (try CanonicalJSON.encode(.object(["saga": .string(saga), "reason": .string(reason)]))))
            let state = rng.pick([SagaState.completed, .compensated, .escalated])
            #expect(SagaEntryData.ended(saga: saga, state: state, compensated: steps)
                    == (try CanonicalJSON.encode(.object(["saga": .string(saga), "state": .string(state.rawValue),
                                                          "compensated": .list(steps.map(Value.string))]))))
        }
    }

    /// An input that cannot be written fails the entry as the value tree did.
    @Test func anInputThatCannotBeWrittenIsRefused() {
        #expect(throws: AuditError.self) {
            try SagaEntryData.started(saga: "s", name: "n", session: "x", steps: [], input: .number(.nan), baseURL: nil)
        }
    }
}
