import Dispatch
import RingfenceRuntime
import Synchronization

// The server's runtime and the policies it decides with, swapped whole by a reload (SPEC §14.1).
//
// A reload compiles or reads the new policies first, outside the gate, so requests go on while
// it works; a failure there keeps the old policies. Then it takes the gate alone (no request is
// inside), commits what the old runtime queued, opens a runtime over the same store with the
// new policies — its sessions, elevations and breakers read back from the store, the same rate
// limiter kept so no bucket refills — and swaps it in. Every request runs inside the gate from
// its first check to its answer, so it is decided wholly by the old or wholly by the new.
//
// A runtime whose audit log failed (the store stopped answering and the writer gave up) takes
// no further operations: each is refused with `audit_failed`. The router then asks the host to
// recover — at most every `recoveryInterval` — which opens a runtime over the same store and
// policies exactly as a reload does. While the store is still down that fails and the old
// runtime stays, refusing; once the store answers, the new runtime reads its state and the
// log's head back from it and takes over. Nothing the failed log had not committed is kept:
// under `strict` durability nothing of it was answered as done.

/// Compiled policies as the server runs them, with what a reload reports.
public struct PolicySet: Sendable {
    /// The engine (machine and runtime settings).
    public var engine: Engine
    /// The SHA-256 of the bundle, hex.
    public var bundleSHA256: String
    /// The names of the policies in the bundle.
    public var policies: [String]
    /// Warnings found while compiling, one rendered diagnostic each.
    public var warnings: [String]

    /// A policy set.
    public init(engine: Engine, bundleSHA256: String, policies: [String], warnings: [String]) {
        self.engine = engine
        self.bundleSHA256 = bundleSHA256
        self.policies = policies
        self.warnings = warnings
    }

    /// `{bundle_sha256, policies, warnings}`: what `POST /v1/reload` answers.
    var summary: Value {
        .object([
            "bundle_sha256": .string(bundleSHA256),
            "policies": .list(policies.map(Value.string)),
            "warnings": .list(warnings.map(Value.string)),
        ])
    }
}

/// Why policies could not be loaded: a message and the diagnostics, one rendered line each.
public struct PolicyLoadFailure: Error, Sendable {
    /// One lowercase line.
    public var message: String
    /// The compiler's or loader's diagnostics.
    public var diagnostics: [String]

    /// A failure.
    public init(message: String, diagnostics: [String]) {
        self.message = message
        self.diagnostics = diagnostics
    }
}

/// The runtime the server runs operations on, and the reload that replaces it.
public final class RuntimeHost: @unchecked Sendable {
    // Safety: `current` is written only while `gate` is held alone and read only while it is
    // held shared; `sweeper` only under `reloads`; the other properties are immutable or thread-safe.
    /// Loads the policies again (recompiling sources or re-reading a bundle).
    public typealias Loader = @Sendable () -> Result<PolicySet, PolicyLoadFailure>

    /// What one request runs against.
    struct Current {
        /// The runtime.
        var runtime: Runtime
        /// Its operation dispatcher.
        var dispatcher: OperationDispatcher
        /// The policies it decides with.
        var policies: PolicySet
    }

    /// The store every runtime of this server opens.
    public let store: StateStore
    private let signingKey: NoteSigningKey?
    private let ids: IDGenerator
    private let limiter = RateLimiter()
    private let loader: Loader
    /// What every runtime the host opens is given before it serves (saga executors, the lease).
    private let configure: @Sendable (Runtime) -> Void
    /// The timer that resumes orphaned sagas, on a shared store (touched only under `reloads`).
    private var sweeper: DispatchSourceTimer?
    private let gate = ReloadGate()
    private let reloads = Mutex<Void>(())
    private let strict = Atomic<Bool>(false)
    /// When recovery was last tried (`DispatchTime` nanoseconds), 0 before the first try.
    private let lastRecovery = Atomic<UInt64>(0)
    private var current: Current

    /// The least time between two tries at recovering from a failed audit log, in nanoseconds.
    static let recoveryInterval: UInt64 = 50_000_000

    /// Opens a runtime over `store` with `policies`; `loader` is what reloads call.
    /// `configure` is applied to every runtime the host opens (the first and those of reloads).
    public init(policies: PolicySet, store: StateStore, signingKey: NoteSigningKey?, ids: IDGenerator = .system,
                configure: @escaping @Sendable (Runtime) -> Void = { _ in }, loader: @escaping Loader) throws(StoreError) {
        self.store = store
        self.signingKey = signingKey
        self.ids = ids
        self.loader = loader
        self.configure = configure
        let runtime = try Self.makeRuntime(policies, store: store, signingKey: signingKey, ids: ids, limiter: limiter, configure: configure)
        current = Current(runtime: runtime, dispatcher: OperationDispatcher(runtime), policies: policies)
        strict.store(runtime.log.settings.durability == .strict || store.tenure != nil, ordering: .relaxed)
    }

    /// True when operations may block — they wait for their audit entries to be durable
    /// (`audit.durability: strict`), or for the tenure of a store shared with other nodes — so
    /// the server runs them off the event loop.
    public var waitsForCommits: Bool { strict.load(ordering: .relaxed) }

    private static func makeRuntime(_ policies: PolicySet, store: StateStore, signingKey: NoteSigningKey?, ids: IDGenerator,
                                    limiter: RateLimiter, configure: @Sendable (Runtime) -> Void) throws(StoreError) -> Runtime {
        let settings = policies.engine.program.runtime
        let runtime = try Runtime(machine: policies.engine.machine, settings: settings, store: store,
                                  audit: AuditSettings(settings.audit, signingKey: signingKey), ids: ids, limiter: limiter)
        configure(runtime)
        return runtime
    }

    /// On a store shared with other nodes (SPEC §15), resumes every `interval` seconds the
    /// sagas whose node has stopped renewing their lease (`Runtime.orphanedSagas`), each on a
    /// task of its own; does nothing on a store this node owns.
    public func startSagaSweeper(every interval: Double) {
        guard store.tenure != nil else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "ringfence.serve.sagas"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.resumeOrphanedSagas() }
        timer.resume()
        reloads.withLock { _ in sweeper = timer }
    }

    /// Resumes the orphaned sagas of the runtime in force, each on a task of its own.
    func resumeOrphanedSagas() {
        let runtime = withCurrent { $0.runtime }
        guard let orphans = try? runtime.orphanedSagas() else { return }
        for id in orphans {
            Task.detached { _ = try? await runtime.resumeSaga(id) }
        }
    }

    /// Runs `body` with the runtime in force; a reload waits until it returns.
    func withCurrent<R, E: Error>(_ body: (Current) throws(E) -> R) throws(E) -> R {
        try gate.shared { () throws(E) -> R in try body(current) }
    }

    /// The policies in force now.
    public var policies: PolicySet { withCurrent { $0.policies } }

    /// Loads the policies again and swaps them in; on any failure the old ones stay in force.
    public func reload() -> Result<PolicySet, PolicyLoadFailure> {
        reloads.withLock { _ in
            let loaded: PolicySet
            switch loader() {
            case .success(let set): loaded = set
            case .failure(let failure): return .failure(failure)
            }
            return gate.exclusive { () -> Result<PolicySet, PolicyLoadFailure> in
                let old = current.runtime
                do throws(AuditLogError) {
                    try old.log.flush()
                } catch {
                    // A log that failed has nothing more to commit: the reload goes on, and so
                    // also recovers from the failure once the store answers.
                    if old.log.failure == nil {
                        return .failure(PolicyLoadFailure(message: "the old policies stay: their audit entries cannot be committed: \(error.message)",
                                                          diagnostics: []))
                    }
                }
                let runtime: Runtime
                do throws(StoreError) {
                    runtime = try Self.makeRuntime(loaded, store: store, signingKey: signingKey, ids: ids, limiter: limiter, configure: configure)
                } catch {
                    return .failure(PolicyLoadFailure(message: "the old policies stay: the state store cannot be reopened: \(error.message)",
                                                      diagnostics: []))
                }
                old.close()
                current = Current(runtime: runtime, dispatcher: OperationDispatcher(runtime), policies: loaded)
                strict.store(runtime.log.settings.durability == .strict || store.tenure != nil, ordering: .relaxed)
                return .success(loaded)
            }
        }
    }

    /// Replaces a runtime whose audit log failed with a fresh one over the same store and
    /// policies, when the store answers again; tried at most every `recoveryInterval` (callers
    /// meeting `audit_failed` call it, outside the gate). True when the runtime in force works.
    @discardableResult
    public func recoverIfFailed() -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let last = lastRecovery.load(ordering: .relaxed)
        guard now &- last >= Self.recoveryInterval,
              lastRecovery.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return false }
        return reloads.withLock { _ in
            gate.exclusive { () -> Bool in
                guard current.runtime.log.failure != nil else { return true }
                let runtime: Runtime
                do throws(StoreError) {
                    runtime = try Self.makeRuntime(current.policies, store: store, signingKey: signingKey, ids: ids, limiter: limiter, configure: configure)
                } catch {
                    return false
                }
                current.runtime.close()
                current = Current(runtime: runtime, dispatcher: OperationDispatcher(runtime), policies: current.policies)
                return true
            }
        }
    }

    /// Commits what is queued and closes the runtime (after the server drained).
    public func close() {
        reloads.withLock { _ in
            sweeper?.cancel()
            sweeper = nil
        }
        gate.exclusive { current.runtime.close() }
    }
}
