// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so `swift test` in the main package never builds the
// harness. Run: `cd Benchmarks && swift package benchmark` (builds release itself).
let package = Package(
    name: "RingfenceBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Ringfence", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What more than one benchmark runs: the runtime's full pipeline, a runtime in a
        // temporary directory opened and deleted by a benchmark's hooks.
        .target(
            name: "BenchmarkSupport",
            dependencies: [.product(name: "Ringfence", package: "Ringfence")],
            path: "Support"
        ),
        .executableTarget(
            name: "DecisionBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ringfence", package: "Ringfence"),
            ],
            path: "Benchmarks/DecisionBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The audit log on the memory and SQLite stores: append rates, verification, proofs.
        .executableTarget(
            name: "AuditBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ringfence", package: "Ringfence"),
                .product(name: "RingfenceStores", package: "Ringfence"),
            ],
            path: "Benchmarks/AuditBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Sagas from start to end: in-process no-op steps on memory and SQLite, and the full pipeline.
        .executableTarget(
            name: "SagaBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ringfence", package: "Ringfence"),
                .product(name: "RingfenceStores", package: "Ringfence"),
            ],
            path: "Benchmarks/SagaBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The liability ledger at 100,000 agents and 300,000 vouches on memory: a vouch's cycle
        // check and a slash cascade.
        .executableTarget(
            name: "LedgerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ringfence", package: "Ringfence"),
            ],
            path: "Benchmarks/LedgerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
