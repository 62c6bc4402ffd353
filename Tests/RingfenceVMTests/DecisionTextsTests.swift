import Foundation
import RingfenceBytecode
import RingfenceRuntime
import RingfenceTestSupport
import Testing
@testable import RingfenceVM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decision texts belong to their machine and live as long as something holds them: the machine,
/// a decision naming them, or a thread's hold. Reloading policies does not grow memory, and a
/// decision stays readable after its engine is gone.
@Suite struct DecisionTextsTests {
    /// The committed bundle of policies/workspace.yaml, whose first rule (`read-workspace`)
    /// allows `request`, with that rule's reason set to `reason`.
    static func program(reason: String) throws -> Program {
        let bytes = Array(try Data(contentsOf: Repository.url("Tests/RingfenceRuntimeTests/Fixtures/workspace.rfb")))
        var program = try RingfenceBytecode.Bundle.decode(bytes).program.program
        try #require(program.rules.first?.id == "read-workspace")
        program.rules[0].reason = reason
        return program
    }

    /// A request the rule allows.
    static let request = Request(agent: Agent(id: "a", trust: 0.9), action: "fs.read", resource: "/workspace/a.csv")

    /// A weak reference to a machine's texts.
    final class Watch {
        /// The texts, while they live.
        weak var table: DecisionTextsTable?

        /// Watches `machine`'s texts.
        init(_ machine: Machine) { table = machine.tables.decisionTexts }
    }

    @Test func reloadingWithChangingReasonsKeepsTheTextsBounded() throws {
        var base = try Self.program(reason: "reason 0")
        var firstEngine: Engine? = try Engine(program: base)
        let first = Watch(try #require(firstEngine).machine)
        var kept: Decision? = firstEngine?.evaluate(Self.request)
        firstEngine = nil
        var reloaded: [Watch] = []
        for i in 1...1_000 {
            base.rules[0].reason = "reason \(i)"
            let engine = try Engine(program: base)
            reloaded.append(Watch(engine.machine))
            let decision = engine.evaluate(Self.request)
            #expect(decision.reason == "reason \(i)")
        }
        // Alive: the first engine's texts (the kept decision holds them) and at most the last
        // engine's (this thread's hold, dropped when the thread next meets another table).
        let live = reloaded.filter { $0.table != nil }.count
        #expect(live <= 1, "\(live) of 1,000 reloaded tables are alive")
        #expect(first.table != nil)
        #expect(kept?.reason == "reason 0")
        #expect(kept?.rule == "read-workspace")
        #expect(kept?.policy == "workspace")
        kept = nil
        #expect(first.table == nil, "the first texts outlived the last decision naming them")
    }

    @Test func aDecisionOutlivesItsEngineAndItsThread() throws {
        var engine: Engine? = try Engine(program: try Self.program(reason: "made on another thread"))
        let watch = Watch(try #require(engine).machine)
        let box = DecisionBox()
        let thread: PlainThread
        do {
            let shared = try #require(engine)
            thread = try PlainThread { box.decision = shared.evaluate(Self.request) }
        }
        thread.join()
        engine = nil
        // The thread has ended (its holds with it) and the engine is gone: only the decision
        // keeps the texts.
        #expect(watch.table != nil)
        #expect(box.decision?.reason == "made on another thread")
        box.decision = nil
        #expect(watch.table == nil)
    }

    @Test func decisionsOfOneEngineShareTheirTexts() throws {
        let engine = try Engine(program: try Self.program(reason: "shared"))
        let a = engine.evaluate(Self.request), b = engine.evaluate(Self.request)
        #expect(a == b)
        guard case .rule(let x) = a.source, case .rule(let y) = b.source else {
            Issue.record("the decisions name no rule")
            return
        }
        #expect(x.pointer.address == y.pointer.address)
        #expect(x.hold === y.hold, "two decisions on one thread hold the texts through different holds")
    }
}

/// A decision handed from one thread to another (written before `join`, read after).
final class DecisionBox: @unchecked Sendable {
    /// The decision.
    var decision: Decision?
}

/// A POSIX thread running one closure, joined explicitly (its thread-local destructors have run
/// when `join` returns).
final class PlainThread: @unchecked Sendable {
    /// The thread.
    private var thread = pthread_t()

    /// A start failure.
    struct StartError: Error {}

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) throws {
        /// The closure, boxed to cross into the thread.
        final class Work {
            /// The closure.
            let body: @Sendable () -> Void
            /// Boxes `body`.
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Work(body)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            throw StartError()
        }
    }

    /// Waits for the thread to end.
    func join() {
        pthread_join(thread, nil)
    }
}
