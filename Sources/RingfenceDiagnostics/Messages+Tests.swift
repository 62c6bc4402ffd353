/// Wording of the diagnostics raised while reading `kind: tests` documents (SPEC §4.4).
extension Messages {
    /// Help for a missing or empty `policies:` list.
    public static let testsPoliciesHelp = "list the policy files under test, relative to this file: `policies: [../workspace.yaml]`"

    /// Help for RF1006 when `policies:` is a single string rather than a list.
    public static func testsPolicyList(_ path: String) -> String {
        "write `policies: [\(path)]`"
    }

    /// RF1008: `policies:` or `cases:` of a tests file is empty.
    public static func emptyTestsList(_ key: String, of what: String) -> String {
        "`\(key)` must list at least one \(what)"
    }

    /// Help for an empty `cases:` list.
    public static let testsCasesHelp = "add at least one case with `name`, `request` and `expect`"

    /// RF1014: a `policies:` entry names a file or directory that does not exist.
    public static func missingPolicyFile(_ written: String, resolved: String) -> String {
        "policy file `\(written)` does not exist (looked for `\(resolved)`)"
    }

    /// Help for RF1014: how `policies:` paths are resolved.
    public static let missingPolicyFileHelp = "paths in `policies` are relative to the directory of the tests file"

    /// RF1006: an item of `cases:` is not a mapping.
    public static func testCaseNotMapping(found: String) -> String {
        "each test case must be a mapping, found \(found)"
    }

    /// RF1015: a case's `expect` or `code` is not one of the values it may take.
    public static func invalidTestValue(_ key: String, _ value: String) -> String {
        "invalid `\(key)` value `\(value)`"
    }
}
