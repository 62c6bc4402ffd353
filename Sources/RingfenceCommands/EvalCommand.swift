import ArgumentParser
import Foundation
import Ringfence
import Synchronization

/// `ringfence eval (-p PATH… | -b BUNDLE) [-i FILE|-] [--explain]`: decides requests (SPEC §4.1).
///
/// The input is one JSON request or JSON Lines; each request gets one decision line on
/// stdout, in input order. A request that cannot be read gets an error on stderr and no
/// decision; the others are still decided, and the run then exits 2.
struct EvalCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Decide requests against policies or a bundle.",
        discussion: """
            Reads one JSON request or JSON Lines (one request per line) and prints one decision \
            per request, in order. Exit status: 0 all allowed, 3 any denied, 1 errors in the \
            policies, 2 a usage error or unreadable input (a bad bundle or a malformed request).
            """)

    /// Policy files or directories to compile.
    @Option(name: [.customShort("p"), .customLong("policy")], parsing: .upToNextOption,
            help: ArgumentHelp("Policy files or directories (repeatable).", valueName: "path"))
    var policies: [String] = []

    /// A compiled bundle.
    @Option(name: [.customShort("b"), .customLong("bundle")], help: ArgumentHelp("A bundle written by `compile`.", valueName: "bundle"))
    var bundle: String?

    /// The request file (`-` or absent: stdin).
    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("The request file; `-` or absent reads stdin.", valueName: "file"))
    var input: String?

    /// Asks for an explanation line after each decision.
    @Flag(help: "After each decision, print one line {\"explain\": …}: every rule and why it did or did not decide.")
    var explain = false

    /// A store whose audit log records every decision (SPEC §4.1).
    @Option(name: .customLong("state"), help: ArgumentHelp("Record every decision in this store's audit log: sqlite:PATH, memory: or postgres://… (default: $RINGFENCE_STATE when set).", valueName: "url"))
    var state: String?

    /// The key that signs the audit log's checkpoints.
    @Option(name: .customLong("audit-key"), help: ArgumentHelp("A signing key file for the audit checkpoints (default: $RINGFENCE_AUDIT_KEY when set).", valueName: "file"))
    var auditKey: String?

    /// Requires exactly one of `-p` and `-b`.
    func validate() throws {
        if !policies.isEmpty, bundle != nil { throw ValidationError(CLIMessages.policiesOrBundle) }
        if policies.isEmpty, bundle == nil { throw ValidationError(CLIMessages.missingPolicies) }
    }

    /// Builds the engine once, then decides every request in order.
    func execute(_ io: CommandIO) -> Int32 {
        let engine: Engine
        switch makeEngine(io) {
        case .success(let built): engine = built
        case .failure(let status): return status.code
        }
        let name: String
        let bytes: [UInt8]
        if let input, input != "-" {
            switch FileAccess.read(input) {
            case .success(let read): bytes = read
            case .failure(let failure):
                let diagnostic = Diagnostic(.fileUnreadable, CLIMessages.cannotRead(failure.path, reason: failure.reason),
                                            at: SourceLocation(file: input, line: 1, column: 1))
                io.err(diagnostic.description + "\n")
                return 2
            }
            name = input
        } else {
            bytes = io.stdin()
            name = "<stdin>"
        }
        let recorder: DecisionRecorder?
        do throws(CommandFailure) {
            recorder = try DecisionRecorder.open(state: state, keyFile: auditKey, settings: engine.program.runtime.audit,
                                                 environment: ProcessInfo.processInfo.environment)
        } catch {
            io.err(error.message + "\n")
            return error.status
        }
        let status = decide(JSONLinesReader(bytes), inputName: name, engine: engine, recorder: recorder, io: io)
        if let recorder, let problem = recorder.finish() {
            io.err(problem + "\n")
            return 2
        }
        return status
    }

    /// Decides each request of `requests`, printing decisions in chunks.
    ///
    /// Requests are taken in batches. Decoding a batch (each JSON line straight into the slot
    /// layout) depends on nothing but the lines, so it is spread over the processors, and so is
    /// deciding, for every request whose decision takes no rate-limit token. A decision that asks
    /// for a token is made on this thread, one at a time in input order, so tokens are taken in
    /// the order of the input (SPEC §4.1). This thread prints batch k while the others decode
    /// batch k + 1, then joins the decoding. Output and error lines come out in input order.
    private func decide(_ requests: JSONLinesReader, inputName: String, engine: Engine, recorder: DecisionRecorder?,
                        io: CommandIO) -> Int32 {
        let output = OutputBuffer(io.out)
        var tally = Tally()
        var rendered = RenderCache()
        var iterator = requests.makeIterator()
        func nextBatch() -> [JSONLinesReader.Element] {
            var batch: [JSONLinesReader.Element] = []
            batch.reserveCapacity(Self.batchSize)
            while batch.count < Self.batchSize, let element = iterator.next() { batch.append(element) }
            return batch
        }
        // Rate limits follow each request's `context.time`, as the engine was made to (`makeEngine`).
        let decoder = PreparedRequestDecoder(machine: engine.machine, readsTime: true, readsSession: recorder != nil)
        if explain {
            while case let batch = nextBatch(), !batch.isEmpty {
                for element in batch {
                    explainOne(element, inputName: inputName, engine: engine, decoder: decoder, recorder: recorder,
                               output: output, io: io, tally: &tally)
                }
            }
        } else {
            var batch = nextBatch()
            var outcomes = Self.decode(batch, engine: engine, decoder: decoder)
            while !outcomes.isEmpty {
                let printing = outcomes, elements = batch
                batch = nextBatch()
                outcomes = Self.decode(batch, engine: engine, decoder: decoder) {
                    for index in printing.indices {
                        switch printing[index] {
                        case .failed(let error):
                            output.flush()
                            io.err(error.diagnostic(file: inputName).description + "\n")
                            tally.malformed = true
                        case .prepared(let pending):
                            let decision = engine.evaluate(pending.prepared)
                            emit(decision, output: output, rendered: &rendered, tally: &tally)
                            recorder?.record(elements[index], decision, pending.who)
                        case .decided(let decision, let who):
                            emit(decision, output: output, rendered: &rendered, tally: &tally)
                            recorder?.record(elements[index], decision, who)
                        }
                    }
                }
            }
        }
        output.flush()
        if tally.decided == 0, !tally.malformed {
            let diagnostic = Diagnostic(.requestJSON, CLIMessages.noRequests, at: SourceLocation(file: inputName, line: 1, column: 1))
            io.err(diagnostic.description + "\n")
            return 2
        }
        if tally.malformed { return 2 }
        return tally.denied ? 3 : 0
    }

    /// Requests per batch: enough to keep every processor busy, few enough to bound memory.
    static let batchSize = 8192
    /// Below this many requests in a batch, decoding stays on the calling thread.
    static let parallelThreshold = 512

    /// What the run has seen so far.
    private struct Tally {
        var decided = 0
        var malformed = false
        var denied = false
    }

    /// One request of a batch after the parallel phase; `Who` names its agent and session when
    /// decisions are recorded.
    enum Outcome: Sendable {
        /// Ready to decide (its decision takes a rate-limit token, so it waits for input order).
        case prepared(Pending)
        /// Decided already (the decision takes no token: it depends on its request alone).
        case decided(Decision, DecisionRecorder.Who?)
        /// The request could not be read.
        case failed(RequestError)
    }

    /// A request whose decision waits for its turn (boxed: most outcomes are decisions, which
    /// are moved around a batch at a fraction of a prepared request's size).
    final class Pending: Sendable {
        /// The request.
        let prepared: PreparedRequest
        /// Its agent and session, when decisions are recorded.
        let who: DecisionRecorder.Who?

        /// Boxes `prepared` and `who`.
        init(_ prepared: PreparedRequest, _ who: DecisionRecorder.Who?) {
            self.prepared = prepared
            self.who = who
        }
    }

    /// Decodes (and, unless a rate-limit token is needed, decides) `batch`, spread over the processors, while
    /// the calling thread first runs `alongside` and then joins in. Work is handed out in chunks
    /// from a shared cursor, so the thread that ran `alongside` simply takes fewer. Each line is
    /// read straight into the machine's slot layout by `decoder` (made for `engine.machine`);
    /// decisions name the agent and session when `decoder` reads sessions.
    static func decode(_ batch: [JSONLinesReader.Element], engine: Engine, decoder: PreparedRequestDecoder,
                       alongside: () -> Void = {}) -> [Outcome] {
        let limited = engine.machine.usesRateLimits
        let auditing = decoder.readsSession
        @Sendable func outcome(_ element: borrowing JSONLinesReader.Element) -> Outcome {
            do {
                let decoded = try element.decode(with: decoder)
                if decoded.prepared.tooLarge { return .failed(tooLarge(element)) }
                let who = auditing ? DecisionRecorder.Who(agent: decoded.prepared.agentID, session: decoded.session) : nil
                guard limited else { return .decided(engine.evaluate(decoded.prepared), who) }
                // A decision that asks for no rate-limit token depends on no other request and
                // changes no limiter state, so it is made here; one that asks waits for its turn.
                var asked = false
                let decision = withUnsafeMutablePointer(to: &asked) { engine.machine.decide(decoded.prepared, gate: TokenProbe(asked: $0)) }
                return asked ? .prepared(Pending(decoded.prepared, who)) : .decided(decision, who)
            } catch {
                return .failed(error)
            }
        }
        let workers = min(Threads.available, 8)
        if workers == 1 || batch.count < parallelThreshold {
            alongside()
            return batch.map(outcome)
        }
        let results = ResultSlots<Outcome>(count: batch.count)
        let cursor = ChunkCursor()
        // The threads borrow the elements in place: copying one out of the array would retain
        // and release the input it slices, one reference count written by every thread for
        // every line (that line moving between the cores cost a tenth of `eval`'s time).
        batch.withUnsafeBufferPointer { buffer in
            let elements = Borrowed(buffer)
            Threads.run(workers, alongside: alongside) { _ in
                while case let start = cursor.take(chunkSize), start < elements.buffer.count {
                    for i in start..<min(elements.buffer.count, start + chunkSize) { results.set(i, outcome(elements.buffer[i])) }
                }
            }
        }
        return results.take()
    }

    /// The error for a request too large to decide (SPEC §3.1: refused, never decided).
    static func tooLarge(_ element: JSONLinesReader.Element) -> RequestError {
        RequestError(code: .requestTooLarge, message: CLIMessages.requestTooLarge, line: element.line)
    }

    /// Requests handed to a thread at a time.
    static let chunkSize = 64

    /// The gate of a decision made ahead of its turn: it notes that a rate-limit token was asked
    /// for (the decision is then made again in input order) and grants none.
    struct TokenProbe: LimitGate {
        /// Set when a token is asked for.
        let asked: UnsafeMutablePointer<Bool>

        /// Notes the request and refuses the token.
        func admit(rule: Int, limit: Limit, agent: UnsafeBufferPointer<UInt8>) -> Bool {
            asked.pointee = true
            return false
        }
    }

    /// Decides and prints one request with its explanation line.
    private func explainOne(_ element: JSONLinesReader.Element, inputName: String, engine: Engine, decoder: PreparedRequestDecoder,
                            recorder: DecisionRecorder?, output: OutputBuffer, io: CommandIO, tally: inout Tally) {
        do throws(RequestError) {
            // Explaining decides exactly as `evaluate` does; each decision is followed by one
            // `{"explain": …}` line so the output stays JSON Lines. The request is read straight
            // into the machine's slots, as without `--explain`.
            let decoded = try element.decode(with: decoder)
            if decoded.prepared.tooLarge { throw Self.tooLarge(element) }
            let explanation = engine.explain(decoded.prepared)
            output.line(explanation.decision.jsonLine)
            recorder?.record(element, explanation.decision, DecisionRecorder.Who(agent: decoded.prepared.agentID, session: decoded.session))
            output.line("{\"explain\":" + explanation.jsonText + "}")
            tally.decided += 1
            if !explanation.decision.allowed { tally.denied = true }
        } catch {
            output.flush()
            io.err(error.diagnostic(file: inputName).description + "\n")
            tally.malformed = true
        }
    }

    /// Prints one decision.
    private func emit(_ decision: Decision, output: OutputBuffer, rendered: inout RenderCache, tally: inout Tally) {
        output.line(rendered.line(for: decision))
        tally.decided += 1
        if !decision.allowed { tally.denied = true }
    }

    /// An exit status carried through a `Result`.
    typealias Status = ExitStatus

    /// Compiles the policies or loads the bundle, reporting problems; rate limits take their
    /// clock from each request's `context.time` when present.
    private func makeEngine(_ io: CommandIO) -> Result<Engine, Status> {
        EngineLoader.load(policies: policies, bundle: bundle, timeSource: .requestTimeOrClock, io: io)
    }
}

extension DecisionRecorder.Who {
    /// The names read from a request decoded into a slot layout.
    init(agent: String, session: String?) {
        self.agent = agent
        self.session = session
    }
}

/// The JSON lines of recent decisions: requests mostly get one of a few decisions, so each is
/// rendered once and reused while it stays among the most recent.
struct RenderCache {
    private var entries: [(decision: Decision, line: String)] = []
    private var next = 0
    /// Entries kept.
    static let capacity = 16

    /// The JSON line of `decision`.
    mutating func line(for decision: Decision) -> String {
        for entry in entries where entry.decision == decision { return entry.line }
        let line = decision.jsonLine
        if entries.count < Self.capacity {
            entries.append((decision, line))
        } else {
            entries[next] = (decision, line)
            next = (next + 1) % Self.capacity
        }
        return line
    }
}

/// The next unclaimed index of a batch, shared by the decoding threads.
final class ChunkCursor: Sendable {
    private let next = Atomic<Int>(0)

    /// Claims `count` indexes and returns the first.
    func take(_ count: Int) -> Int {
        next.add(count, ordering: .relaxed).oldValue
    }
}

/// A batch's elements lent to the threads that decode them.
struct Borrowed<T>: @unchecked Sendable {
    // Safety: the elements are only read, and `Threads.run` joins every thread before the
    // array that owns them can change or go away.
    let buffer: UnsafeBufferPointer<T>

    init(_ buffer: UnsafeBufferPointer<T>) { self.buffer = buffer }
}

/// A fixed number of result slots that threads fill at distinct indexes.
final class ResultSlots<T: Sendable>: @unchecked Sendable {
    // Safety: each index is written by exactly one thread, and `take` runs after they have joined.
    private let slots: UnsafeMutableBufferPointer<T?>

    /// Creates `count` empty slots.
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    /// Fills slot `i`.
    func set(_ i: Int, _ value: T) {
        slots[i] = value
    }

    /// The values in order, moved out (every slot must be filled).
    func take() -> [T] {
        Array(unsafeUninitializedCapacity: slots.count) { buffer, initialized in
            for i in slots.indices { (buffer.baseAddress! + i).initialize(to: slots[i].take()!) }
            initialized = slots.count
        }
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
}
