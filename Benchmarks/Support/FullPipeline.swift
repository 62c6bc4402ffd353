import Ringfence

/// The seed system's "full pipeline" (SPEC §13, issue benchmarks): create a session, join an
/// agent, activate the session, three `audit.append` and terminate — run the same way by the
/// benchmark on `memory:` (`DecisionBenchmarks`) and the one on SQLite (`AuditBenchmarks`).
public enum FullPipeline {
    /// Runs the pipeline on `runtime` with a new session; returns the terminated session. A
    /// pipeline that fails stops the benchmark.
    public static func run(on runtime: Runtime) -> SessionView {
        do {
            guard case .object(let created) = try runtime.createSession(), case .string(let id)? = created["session"] else {
                fatalError("session.create returned no id")
            }
            _ = try runtime.join(session: id, agent: "did:mesh:agent-1", trust: 0.85)
            _ = try runtime.activate(session: id)
            for n in 0..<3 {
                _ = try runtime.append(kind: "delta", session: id, agent: "did:mesh:agent-1", data: .object(["n": .number(Double(n))]))
            }
            return try runtime.terminate(session: id)
        } catch {
            fatalError("pipeline failed: \(error)")
        }
    }
}
