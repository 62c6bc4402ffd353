import RingfenceVM

// The `saga.*` operations of SPEC §13 over the runtime's saga executor, and the bridge that
// lets the synchronous dispatcher run an asynchronous saga.

extension Runtime {
    /// `saga.start`: runs the bundle's saga named `name` in `session` to its end.
    public func startSaga(named name: String, session: String, id: String? = nil, input: Value = .null,
                          baseURL: String? = nil) async throws(RuntimeError) -> SagaResult {
        guard let plan = machine.program.sagas.first(where: { $0.name == name }) else {
            let names = machine.program.sagas.map { "`\($0.name)`" }
            throw RuntimeError(.sagaNotFound, "the bundle has no saga named \(RuntimeMessages.quote(name))"
                + (names.isEmpty ? "; it has none" : "; it has " + names.joined(separator: ", ")))
        }
        return try await runSaga(plan, session: session, id: id, input: input, baseURL: baseURL)
    }
}

extension Operation {
    /// The saga operations (SPEC §13), in the table's order.
    static let sagaOperations: [Operation] = [
        Operation(name: "saga.start", summary: "runs a saga of the bundle in a session to its end → the saga result (SPEC §10.5)",
                  fields: [.required("saga", .text), .required("session", .id), .optional("saga_id", .id), .optional("input", .json),
                           .optional("base_url", .text)]) { runtime, a throws(RuntimeError) in
            let (name, session) = (try a.requiredString("saga"), try a.requiredString("session"))
            let (id, input, base) = (a.string("saga_id"), a.json("input") ?? .null, a.string("base_url"))
            return try SagaBridge.wait { () async throws(RuntimeError) -> Value in
                try await runtime.startSaga(named: name, session: session, id: id, input: input, baseURL: base).value
            }
        },
        Operation(name: "saga.get", summary: "→ the saga result as it stands", fields: [.required("saga_id", .id)]) { runtime, a throws(RuntimeError) in
            try runtime.sagaResult(a.requiredString("saga_id")).value
        },
        Operation(name: "saga.resume", summary: "continues a stopped saga to its end → the saga result",
                  fields: [.required("saga_id", .id)]) { runtime, a throws(RuntimeError) in
            let id = try a.requiredString("saga_id")
            return try SagaBridge.wait { () async throws(RuntimeError) -> Value in try await runtime.resumeSaga(id).value }
        },
    ]
}

/// Runs asynchronous saga work from synchronous code: the work runs on the global executor
/// while the calling thread waits. Call it from a thread of your own (the command line's main
/// thread); asynchronous callers use `Runtime.runSaga` and `resumeSaga` directly.
public enum SagaBridge {
    /// Runs `body` to its end and returns its result.
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws(RuntimeError) -> T) throws(RuntimeError) -> T {
        let monitor = Monitor<Result<T, RuntimeError>?>(nil)
        Task.detached {
            let result: Result<T, RuntimeError>
            do throws(RuntimeError) {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            monitor.withLock { $0 = result }
            monitor.broadcast()
        }
        let result = monitor.withLock(waitingUntil: { state in
            if case .some = state { return true }
            return false
        }) { $0 }
        switch result {
        case .success(let value)?: return value
        case .failure(let error)?: throw error
        case nil: throw RuntimeError(.auditFailed, "the saga ended without a result")
        }
    }
}
