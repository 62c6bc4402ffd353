/// The version of the `ringfence` tool, as reported in SARIF logs.
enum ToolVersion {
    /// The current version (semantic versioning).
    static let current = "0.1.0"
}
