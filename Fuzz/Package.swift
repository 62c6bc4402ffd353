// swift-tools-version: 6.0
import PackageDescription

// Coverage-guided fuzzers (libFuzzer) for Ringfence's input parsers. This is its own package so
// `swift build` and `swift test` of the main package never build it. Each executable exports
// `LLVMFuzzerTestOneInput` and hands it to libFuzzer's driver from its `main`; they link only
// when built with `-sanitize=fuzzer`: use `scripts/fuzz.sh` (or `make fuzz`), which passes the flags.
let package = Package(
    name: "RingfenceFuzz",
    products: [
        .executable(name: "fuzz-request", targets: ["RequestFuzzer"]),
        .executable(name: "fuzz-policy", targets: ["PolicyFuzzer"]),
        .executable(name: "fuzz-normalizer", targets: ["NormalizerFuzzer"]),
        .executable(name: "fuzz-bundle", targets: ["BundleFuzzer"]),
        .executable(name: "fuzz-seeds", targets: ["SeedCorpus"]),
    ],
    dependencies: [
        .package(name: "Ringfence", path: ".."),
    ],
    targets: [
        // libFuzzer's `LLVMFuzzerRunDriver`, declared for Swift: each harness has its own `main`.
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver", .product(name: "Ringfence", package: "Ringfence")]),
        .executableTarget(name: "RequestFuzzer", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "PolicyFuzzer", dependencies: ["FuzzSupport"]),
        // The normaliser lives in `RingfenceMatch`, which the `Ringfence` product builds and links
        // but does not re-export; the harness imports it by name.
        .executableTarget(name: "NormalizerFuzzer", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "BundleFuzzer", dependencies: ["FuzzSupport"]),
        // Writes the seed corpora from the project's fixtures (reads YAML through `RingfenceSyntax`,
        // which the `Ringfence` product builds but does not re-export).
        .executableTarget(name: "SeedCorpus", dependencies: [.product(name: "Ringfence", package: "Ringfence")]),
    ],
    swiftLanguageModes: [.v6]
)
