// swift-tools-version: 6.0
import PackageDescription

// Targets depend one way (docs/architecture.md):
//
//   Diagnostics ─┬─ Syntax (YAML → AST) ─────────────────┐
//                ├─ Bytecode (ISA, program, bundle) ──────┼─ Compiler (check → lower → index → emit)
//   Match (globs, PCRE2, resources) ─────────────────────┘
//   Bytecode + Match ─ VM (machine, interpreter, decisions) ─ Wire (JSON, requests, decisions)
//   Wire ─ Audit (canonical JSON, Merkle trees, signed notes) ─ Runtime (engine, sessions, limits,
//          audit log, stores protocol, operations)             — compiler-free: the `RingfenceRuntime` product
//   Runtime ─ SQLite (GRDB), Postgres (postgres-nio) ─ Stores (`Stores.open(url:)`)
//                                                              — the edge: only commands reach databases
//   Compiler + Runtime ─ Ringfence (facade: compile + decide + runtime) ─ Commands ─ CLI (`ringfence`)
let package = Package(
    name: "Ringfence",
    products: [
        // Everything: compile policies from YAML, decide, run the runtime.
        .library(name: "Ringfence", targets: ["Ringfence"]),
        // Compiler-free: load bundles and decide, sessions, audit — without libyaml or the compiler.
        .library(name: "RingfenceRuntime", targets: ["RingfenceRuntime"]),
        // The stores at the edge (SQLite and PostgreSQL), for services that keep runtime state.
        .library(name: "RingfenceStores", targets: ["RingfenceStores"]),
        .executable(name: "ringfence", targets: ["RingfenceCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .target(name: "RingfenceDiagnostics"),
        .target(name: "RingfenceSyntax", dependencies: ["RingfenceDiagnostics", "CYAML"]),
        .target(name: "RingfenceMatch", dependencies: ["CPCRE2"]),
        .target(name: "RingfenceBytecode", dependencies: [
            "RingfenceDiagnostics",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "RingfenceCompiler", dependencies: [
            "RingfenceDiagnostics", "RingfenceSyntax", "RingfenceBytecode", "RingfenceMatch",
        ]),
        .target(name: "RingfenceVM", dependencies: ["RingfenceDiagnostics", "RingfenceBytecode", "RingfenceMatch"]),
        .target(name: "RingfenceWire", dependencies: ["RingfenceDiagnostics", "RingfenceBytecode", "RingfenceVM"]),
        .target(name: "RingfenceAudit", dependencies: ["RingfenceDiagnostics", "RingfenceVM", "RingfenceWire", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "RingfenceRuntime", dependencies: [
            "RingfenceDiagnostics", "RingfenceBytecode", "RingfenceVM", "RingfenceWire", "RingfenceAudit",
        ]),
        .target(name: "RingfenceSQLite", dependencies: [
            "RingfenceRuntime", "RingfenceAudit",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "RingfencePostgres", dependencies: [
            "RingfenceRuntime", "RingfenceAudit",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .target(name: "RingfenceStores", dependencies: ["RingfenceRuntime", "RingfenceSQLite", "RingfencePostgres"]),
        // Saga steps over HTTP (SPEC §10.2): async-http-client stays out of the runtime's core.
        .target(name: "RingfenceHTTPExecutor", dependencies: [
            "RingfenceRuntime", "RingfenceVM",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "ringfence-store-crash-probe", dependencies: ["RingfenceStores", "RingfenceRuntime", "RingfenceAudit", "RingfenceVM"]),
        .target(name: "Ringfence", dependencies: [
            "RingfenceDiagnostics", "RingfenceSyntax", "RingfenceMatch", "RingfenceBytecode", "RingfenceCompiler",
            "RingfenceVM", "RingfenceWire", "RingfenceAudit", "RingfenceRuntime",
        ]),
        // The decision server at the edge (SPEC §14): SwiftNIO's HTTP/1.1 over the runtime; the runtime never imports it.
        .target(name: "RingfenceServer", dependencies: [
            "RingfenceRuntime",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "CAllocationCounter"),
        .target(name: "RingfenceCommands", dependencies: [
            "CAllocationCounter",
            "Ringfence", "CEditLine", "RingfenceStores", "RingfenceServer", "RingfenceHTTPExecutor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "RingfenceCLI", dependencies: ["RingfenceCommands"]),
        .executableTarget(name: "ringfence-embedding-example", dependencies: ["Ringfence"], path: "examples/embedding"),
        // Test support: fixtures (Tests/Fixtures, by path), scratch folders, the seeded generator,
        // clocks and built executables; the corpora's readers (no compiler); the in-process CLI.
        .target(name: "RingfenceTestSupport", path: "Tests/RingfenceTestSupport"),
        .target(name: "RingfenceCorpusSupport", dependencies: [
            "RingfenceTestSupport", "RingfenceSyntax", "RingfenceBytecode", "RingfenceVM", "RingfenceWire",
        ], path: "Tests/RingfenceCorpusSupport"),
        .target(name: "RingfenceCLITestSupport", dependencies: [
            "RingfenceTestSupport", "RingfenceCorpusSupport", "RingfenceCommands", "RingfenceWire",
        ], path: "Tests/RingfenceCLITestSupport"),
        // The tests by layer: syntax and compiler, matching, the VM from committed bundles (no
        // compiler), the wire format, and the commands end to end.
        .testTarget(name: "RingfenceCompilerTests", dependencies: [
            "RingfenceTestSupport", "RingfenceCorpusSupport",
            "Ringfence", "RingfenceDiagnostics", "RingfenceSyntax", "RingfenceCompiler", "RingfenceBytecode", "RingfenceMatch",
            "RingfenceVM", "RingfenceWire", "RingfenceRuntime",
        ]),
        .testTarget(name: "RingfenceMatchTests", dependencies: ["RingfenceTestSupport", "RingfenceMatch"]),
        .testTarget(name: "RingfenceVMTests", dependencies: [
            "RingfenceTestSupport", "RingfenceCorpusSupport", "RingfenceBytecode", "RingfenceVM", "RingfenceWire", "RingfenceRuntime",
        ]),
        .testTarget(name: "RingfenceWireTests", dependencies: ["RingfenceTestSupport", "RingfenceWire", "RingfenceVM", "RingfenceDiagnostics"]),
        .testTarget(name: "RingfenceCommandTests", dependencies: [
            "RingfenceTestSupport", "RingfenceCorpusSupport", "RingfenceCLITestSupport",
            "CAllocationCounter", "Ringfence", "RingfenceCommands",
        ]),
        .testTarget(name: "RingfenceAuditTests", dependencies: ["RingfenceTestSupport", "RingfenceAudit", "RingfenceVM", "RingfenceWire",
                                                                   .product(name: "Crypto", package: "swift-crypto")],
                    resources: [.copy("Fixtures")]),
        // No compiler here: the runtime tests build engines from committed bundles (Fixtures/).
        .testTarget(name: "RingfenceRuntimeTests", dependencies: [
            "RingfenceTestSupport", "RingfenceRuntime", "RingfenceAudit", "RingfenceBytecode", "RingfenceVM", "RingfenceWire",
        ], resources: [.copy("Fixtures")]),
        // Starts the built `ringfence serve` on a loopback port and drives it over HTTP; the server
        // in process for the direct decision paths and a state store that fails.
        .testTarget(name: "RingfenceServerTests", dependencies: [
            "RingfenceTestSupport", "RingfenceServer", "RingfenceRuntime", "RingfenceCompiler",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Sagas against a local HTTP service (examples/sagas/service.py), in-process executors, and
        // `ringfence saga` killed and resumed.
        .testTarget(name: "RingfenceSagaTests", dependencies: [
            "RingfenceTestSupport", "Ringfence", "RingfenceRuntime", "RingfenceHTTPExecutor", "RingfenceCommands", "RingfenceStores",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .testTarget(name: "RingfenceStoreTests", dependencies: [
            "RingfenceTestSupport",
            "RingfenceStores", "RingfenceSQLite", "RingfencePostgres", "RingfenceRuntime", "RingfenceAudit", "RingfenceVM",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
