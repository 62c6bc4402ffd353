import Ringfence

/// Synthetic policies for the benchmarks, built as YAML text so they go through the real compiler.
enum Policies {
    /// policies/workspace.yaml, the policy of the `eval` figure.
    static let workspace = """
    ringfence: 1
    kind: policy
    name: workspace
    rings:
      privileged: 0.95
      standard: 0.60
    rules:
      - id: read-workspace
        effect: allow
        actions: [fs.read, fs.list]
        resources: ["/workspace/**"]
        ring: 3
        reason: workspace files are readable
      - id: write-workspace-output
        effect: allow
        action: fs.write
        resources: ["/workspace/out/**", "/workspace/tmp/**"]
        ring: 2
        limit: 100/minute
        reason: trusted agents may write results to out/ and tmp/
      - id: no-secrets
        effect: deny
        actions: ["fs.*"]
        resources: ["/workspace/**/.env", "/workspace/**/*.pem", "/workspace/**/id_{rsa,ed25519}"]
        reason: secrets in the workspace are never readable or writable
      - id: no-dotgit-writes
        effect: deny
        action: fs.write
        resources: ["/workspace/**/.git/**"]
        reason: agents do not rewrite repository history
    """

    /// One allow rule with a glob, a ring gate and a numeric `when` (the "1 rule").
    static let single = """
    ringfence: 1
    kind: policy
    name: single
    rules:
      - id: read-workspace
        effect: allow
        action: fs.read
        resources: ["/workspace/**"]
        ring: 2
        when: agent.trust >= 0.7
    """

    /// `n` allow rules on distinct actions; the request matches the last.
    static func many(_ n: Int) -> String {
        var text = "ringfence: 1\nkind: policy\nname: many\nrules:\n"
        for i in 0..<n {
            text += """
              - id: rule-\(i)
                effect: allow
                action: tool.action\(i)
                resources: ["/data/\(i)/**"]
                when: agent.trust >= 0.5

            """
        }
        return text
    }

    /// `n` deny rules with regexes over `params.query`, none of which matches the benchmark request.
    static func regexes(_ n: Int) -> String {
        var text = "ringfence: 1\nkind: policy\nname: regexes\nrules:\n"
        for i in 0..<n {
            text += """
              - id: deny-\(i)
                effect: deny
                action: database.query
                when: params.query =~ "(?i)\\\\bforbidden_table_\(i)\\\\b"

            """
        }
        text += """
          - id: allow-queries
            effect: allow
            action: database.query

        """
        return text
    }

    /// Glob-heavy: 50 resource globs with wildcards, classes and braces.
    static let globs: String = {
        var text = "ringfence: 1\nkind: policy\nname: globs\nrules:\n"
        for i in 0..<50 {
            text += """
              - id: g-\(i)
                effect: allow
                action: "fs.*"
                resources: ["/srv/app\(i)/**/logs/*.{log,txt}", "/srv/app\(i)/[a-m]*/cache/**"]

            """
        }
        return text
    }()

    /// The resource test of `single` written with the segment glob matcher (no `when`).
    static let globMatcher = """
    ringfence: 1
    kind: policy
    name: glob-matcher
    rules:
      - id: glob
        effect: allow
        action: fs.read
        resources: ["/workspace/**/*.csv"]
    """

    /// The same resource test written as a PCRE2 regex (what a glob-to-regex translation yields).
    static let regexMatcher = """
    ringfence: 1
    kind: policy
    name: regex-matcher
    rules:
      - id: regex
        effect: allow
        action: fs.read
        when: resource =~ "^/workspace(?:/[^/]*)*/[^/]*\\.csv\\z"
    """

    /// An expression-heavy `when`.
    static let expressions = """
    ringfence: 1
    kind: policy
    name: expressions
    rules:
      - id: complex
        effect: allow
        action: net.http
        when: >-
          (params.method == "GET" || params.method == "HEAD") && agent.trust > 0.6 &&
          "analyst" in agent.roles && !has(params.body) && startsWith(resource, "https://api.") &&
          len(params.path) < 200 && lower(params.host) in ["api.github.com", "pypi.org"] &&
          context.region != "blocked"
    """
}
