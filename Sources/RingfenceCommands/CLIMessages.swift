/// Every message the command line writes itself (the library's diagnostics carry their own).
enum CLIMessages {
    /// `check`'s closing summary line; sagas and runtime files are counted only when there are
    /// any, so a policy-only run reads `checked 2 files: 2 policies, 5 rules, 0 errors, 0 warnings`.
    static func checkSummary(files: Int, policies: Int, rules: Int, sagas: Int = 0, runtimes: Int = 0, errors: Int, warnings: Int) -> String {
        var parts = [count(policies, "policy", "policies"), count(rules, "rule")]
        if sagas > 0 { parts.append(count(sagas, "saga")) }
        if runtimes > 0 { parts.append(count(runtimes, "runtime file")) }
        parts += [count(errors, "error"), count(warnings, "warning")]
        return "checked \(count(files, "file")): " + parts.joined(separator: ", ")
    }

    /// `compile`'s closing line.
    static func wroteBundle(_ path: String, bytes: Int, rules: Int, sha256: String) -> String {
        "wrote \(path) (\(count(bytes, "byte")), \(count(rules, "rule")), sha256 \(sha256)…)"
    }

    /// A bundle or output file that could not be written.
    static func cannotWrite(_ path: String, reason: String) -> String {
        "error: cannot write `\(path)`: \(reason)"
    }

    /// An input or bundle file that could not be read.
    static func cannotRead(_ path: String, reason: String) -> String {
        "cannot read `\(path)`: \(reason)"
    }

    /// An `eval` input without a single request.
    static let noRequests = "the input holds no request; expected a json request or json lines"
    /// `key generate` was given a name the signed-note format cannot carry.
    static func badKeyName(_ name: String) -> String {
        "`\(name)` cannot name a key: use printable characters other than space and `+`"
    }
    /// `key generate -o` names an existing file.
    static let keyFileExists = "the file exists; a key file is never overwritten (remove it first, or choose another path)"
    /// A request over the decoding limits (`PreparedRequest.maxRequestBytes`, `maxRequestItems`).
    static let requestTooLarge = "the request is too large to decide (more than 16 MiB of text or 1,048,576 list items); refused"

    /// `eval` without exactly one of `-p` and `-b`.
    static let policiesOrBundle = "give policies with `-p PATH…` or a bundle with `-b BUNDLE`, not both"

    /// `eval` with neither `-p` nor `-b`.
    static let missingPolicies = "missing policies: give `-p PATH…` or `-b BUNDLE`"

    /// A command that needs at least one path got none.
    static let missingPaths = "missing policy paths: give at least one file or directory"

    /// `ringfence` run without a command.
    static let missingCommand = "error: missing command; run `ringfence --help` for the list"

    /// `n noun` with the noun in the plural unless `n` is 1.
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
    }
}
