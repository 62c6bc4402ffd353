// swift-tools-version: 6.0
import PackageDescription

// Targets depend one way:
//   RingfenceDiagnostics → RingfenceSyntax → RingfenceBytecode → RingfenceCompiler
//   RingfenceMatch (globs, PCRE2) ← RingfenceCompiler, RingfenceVM
//   RingfenceBytecode → RingfenceVM            (the VM never imports the compiler)
//   Ringfence (embedding API) → RingfenceCommands → RingfenceCLI (`ringfence`)
//   RingfenceRuntime ← RingfenceSQLite (GRDB) ← RingfenceStores (`Stores.open(url:)`): the
//   runtime never imports a database; only the locator and the commands reach the backends
let package = Package(
    name: "Ringfence",
    products: [
        .library(name: "Ringfence", targets: ["Ringfence"]),
        // The stores at the edge (SQLite now, PostgreSQL later), for services that keep runtime state.
        .library(name: "RingfenceStores", targets: ["RingfenceStores"]),
        .executable(name: "ringfence", targets: ["RingfenceCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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
        .target(name: "RingfenceVM", dependencies: ["RingfenceDiagnostics", "RingfenceBytecode", "RingfenceMatch"]),
        .target(name: "RingfenceAudit", dependencies: ["RingfenceVM", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "RingfenceCompiler", dependencies: [
            "RingfenceDiagnostics", "RingfenceSyntax", "RingfenceBytecode", "RingfenceMatch",
        ]),
        .target(name: "RingfenceRuntime", dependencies: ["RingfenceBytecode", "RingfenceVM", "RingfenceAudit"]),
        .target(name: "RingfenceSQLite", dependencies: [
            "RingfenceRuntime", "RingfenceAudit",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "RingfenceStores", dependencies: ["RingfenceRuntime", "RingfenceSQLite"]),
        .executableTarget(name: "ringfence-store-crash-probe", dependencies: ["RingfenceStores", "RingfenceRuntime", "RingfenceAudit"]),
        .target(name: "Ringfence", dependencies: [
            "RingfenceDiagnostics", "RingfenceSyntax", "RingfenceBytecode", "RingfenceVM", "RingfenceCompiler", "RingfenceRuntime",
            "RingfenceAudit",
        ]),
        .target(name: "CAllocationCounter"),
        .target(name: "RingfenceCommands", dependencies: [
            "CAllocationCounter",
            "Ringfence", "CEditLine", "RingfenceStores",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "RingfenceCLI", dependencies: ["RingfenceCommands"]),
        .executableTarget(name: "ringfence-embedding-example", dependencies: ["Ringfence"], path: "examples/embedding"),
        .testTarget(name: "RingfenceTests", dependencies: [
            "CAllocationCounter",
            "Ringfence", "RingfenceCommands", "RingfenceSyntax", "RingfenceMatch",
            "RingfenceBytecode", "RingfenceVM", "RingfenceCompiler", "RingfenceDiagnostics", "RingfenceRuntime",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "RingfenceAuditTests", dependencies: ["RingfenceAudit"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RingfenceRuntimeTests", dependencies: ["RingfenceRuntime", "RingfenceAudit", "RingfenceVM"]),
        .testTarget(name: "RingfenceStoreTests", dependencies: [
            "RingfenceStores", "RingfenceSQLite", "RingfenceRuntime", "RingfenceAudit", "RingfenceVM",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
