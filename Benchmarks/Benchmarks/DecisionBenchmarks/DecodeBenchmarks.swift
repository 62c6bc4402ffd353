import Benchmark
import Ringfence

/// Decoding JSON requests: the general path (`Request(json:)`, then preparing the slots) against
/// `PreparedRequestDecoder`, which reads a line straight into the slot layout, each followed by the
/// decision. Not part of the zero-allocation gate (decoding a request allocates its own storage).
func decodeBenchmarks() {
    let config = Benchmark.Configuration(thresholds: [:])
    let single = engine(Policies.single)
    let line = Array(#"{"agent":{"id":"did:mesh:agent-1","trust":0.85,"roles":["analyst"]},"action":"fs.read","resource":"/workspace/data/sales.csv","params":{"method":"GET"}}"#.utf8)
    let decoder = PreparedRequestDecoder(machine: single.machine)
    Benchmark("decode JSON into the slot layout, then the decision", configuration: config) { benchmark in
        line.withUnsafeBufferPointer { bytes in
            for _ in benchmark.scaledIterations {
                blackHole((try? decoder.decode(bytes)).map { single.evaluate($0.prepared) })
            }
        }
    }
    Benchmark("decode JSON into the slot layout", configuration: config) { benchmark in
        line.withUnsafeBufferPointer { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(try? decoder.decode(bytes))
            }
        }
    }

    // A line of `scripts/bench-inputs.sh`'s requests-1m.jsonl against policies/workspace.yaml.
    let workspace = engine(Policies.workspace)
    let workspaceLine = Array(#"{"agent":{"id":"agent-3","trust":0.11},"action":"fs.read","resource":"/workspace/data/3.csv"}"#.utf8)
    let workspaceDecoder = PreparedRequestDecoder(machine: workspace.machine, readsTime: true)
    Benchmark("decode an eval line into the slot layout, then the decision (workspace)", configuration: config) { benchmark in
        workspaceLine.withUnsafeBufferPointer { bytes in
            for _ in benchmark.scaledIterations {
                blackHole((try? workspaceDecoder.decode(bytes)).map { workspace.evaluate($0.prepared) })
            }
        }
    }
    Benchmark("decode an eval line through Request + prepare, then the decision (workspace)", configuration: config) { benchmark in
        workspaceLine.withUnsafeBufferPointer { bytes in
            for _ in benchmark.scaledIterations {
                blackHole((try? Request(jsonBytes: bytes)).map { workspace.evaluate(workspace.prepare($0)) })
            }
        }
    }
}
