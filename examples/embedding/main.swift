// A minimal program embedding Ringfence: compile the bundled policies once, then decide tool
// calls as an agent loop would. Run it with `swift run ringfence-embedding-example`.
#if canImport(Glibc)
import Glibc
#endif
import Ringfence

let engine: Engine
do {
    engine = try Engine(paths: ["policies"])
} catch {
    print(error)
    exit(1)
}

let calls: [Request] = [
    Request(agent: Agent(id: "did:mesh:analyst", trust: 0.85, roles: ["analyst"]),
            action: "database.query", params: ["query": .string("SELECT count(*) FROM orders")]),
    Request(agent: Agent(id: "did:mesh:analyst", trust: 0.85, roles: ["analyst"]),
            action: "database.query", params: ["query": .string("DROP TABLE orders")]),
    Request(agent: Agent(id: "did:mesh:builder", trust: 0.7),
            action: "fs.read", resource: "/workspace/src/../../etc/shadow"),
]

for call in calls {
    let d = engine.evaluate(call)
    print("\(call.action) \(call.resource ?? "") → \(d.decision) [\(d.code.rawValue)] \(d.rule ?? "-"): \(d.reason)")
}
