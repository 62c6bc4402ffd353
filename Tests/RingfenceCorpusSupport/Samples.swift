import RingfenceBytecode

/// Small inputs several test targets share: the workspace policy and requests the command-line
/// tests run, and runtime settings moved off every default.
public enum Samples {
    /// A policy with an allow, a conditional deny and a rate-limited allow (SPEC §3).
    public static let workspacePolicy = """
        ringfence: 1
        kind: policy
        name: workspace
        rules:
          - id: read-workspace
            effect: allow
            actions: [fs.read]
            resources: ["/workspace/**"]
            when: agent.trust >= 0.5
            reason: workspace files are readable
          - id: block-destructive-sql
            effect: deny
            action: database.query
            when: params.query =~ "(?i)\\\\b(DROP|TRUNCATE)\\\\b"
            reason: destructive SQL
          - id: query
            effect: allow
            action: database.query
            limit: 2/minute
            reason: queries are allowed

        """

    /// A policy whose allow rule is shadowed by an unconditional deny (a warning, RF4006).
    public static let shadowedPolicy = """
        ringfence: 1
        kind: policy
        name: deletes
        rules:
          - id: no-deletes
            effect: deny
            action: fs.delete
            reason: deleting is never allowed
          - id: delete-tmp
            effect: allow
            action: fs.delete

        """

    /// A policy with an unknown key on line 8 (its only error, RF1004).
    public static let brokenPolicy = """
        ringfence: 1
        kind: policy
        name: broken
        rules:
          - id: read
            effect: allow
            action: fs.read
            reasn: typo

        """

    /// Requests in JSON Lines: allow, deny by rule, allow, default deny.
    public static let requests = """
        {"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/a.csv"}
        {"agent":{"id":"a","trust":0.7},"action":"database.query","params":{"query":"drop table x"}}
        {"agent":{"id":"a","trust":0.7},"action":"database.query","params":{"query":"select 1"},"context":{"time":"2026-11-21T10:00:00Z"}}
        {"agent":{"id":"a","trust":0.2},"action":"fs.read","resource":"/workspace/a.csv"}

        """

    /// Requests that are all allowed.
    public static let allowedRequests = """
        {"agent":{"id":"a","trust":0.7},"action":"fs.read","resource":"/workspace/a.csv"}
        {"agent":{"id":"b","trust":0.9},"action":"fs.read","resource":"/workspace/x/y.txt"}

        """

    /// Runtime settings with every value moved off its default (and still valid).
    public static var customRuntimeSettings: RuntimeSettings {
        var s = RuntimeSettings()
        s.name = "prod"
        s.rings.privileged = 0.9
        s.rings.standard = 0.55
        s.limits.ring0 = .init(rate: 1_000, burst: 5_000)
        s.limits.ring1 = .init(rate: 0.5, burst: 1)
        s.limits.ring2 = .init(rate: 7, burst: 9)
        s.limits.ring3 = .init(rate: 1, burst: 2)
        s.elevation.ring1 = 0.8
        s.elevation.ring2 = 0.4
        s.elevation.defaultTTL = 60_000
        s.elevation.maxTTL = 86_400_000
        s.sessions.maxParticipants = 3
        s.sessions.ttl = 1_000
        s.sessions.minTrust = 0.2
        s.breach.window = 1_500
        s.breach.minCalls = 50
        s.breach.low = 0.1
        s.breach.medium = 0.2
        s.breach.high = 0.3
        s.breach.critical = 1
        s.breach.cooldown = 604_800_000
        s.breach.onCritical = .kill
        s.liability.minVoucherTrust = 0.9
        s.liability.bond = 0.05
        s.liability.maxExposure = 0.1
        s.liability.vouchWeight = 1
        s.liability.slashFloor = 0
        s.liability.cascadeBelow = 0.5
        s.liability.maxCascadeDepth = 10
        s.liability.quarantine = 1
        s.liability.denyRisk = 1
        s.liability.probationRisk = 0.99
        s.liability.escalationSeverity = 0.01
        s.audit.durability = .relaxed
        s.audit.checkpointEvery = 1_000_000_000
        s.audit.checkpointInterval = 250
        s.audit.origin = "example.com/log42 — ünïcode"
        return s
    }
}
