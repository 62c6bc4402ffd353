extension Messages {
    // MARK: Sagas (RF7xxx)

    /// RF7001: a saga or a step lacks a key it needs.
    public static func sagaMissingKey(_ key: String, in context: String) -> String {
        "missing key `\(key)` in \(context)"
    }

    /// RF7002: two steps of one saga share an id.
    public static func duplicateStepID(_ id: String) -> String {
        "duplicate step id `\(id)`"
    }

    /// RF7003: a fan-out policy that is not one of the three.
    public static func unknownFanOutPolicy(_ found: String) -> String {
        "unknown fan-out policy `\(found)`"
    }

    /// RF7004: a fan-out group with fewer than two branches.
    public static func tooFewBranches(_ count: Int) -> String {
        "a fan-out group needs at least two branches, found \(count)"
    }

    /// RF7005: a branch or dependency names a step the saga does not define.
    public static func unknownStep(_ id: String, in context: String) -> String {
        "\(context) names unknown step `\(id)`"
    }

    /// RF7006: steps that depend on each other in a circle, written `` `a` → `b` → `a` ``.
    public static func dependencyCycle(_ ids: [String]) -> String {
        "dependency cycle " + ids.map { "`\($0)`" }.joined(separator: " → ")
    }

    /// Help for RF7006.
    public static let dependencyCycleHelp = "`→` reads \"depends on\"; remove one dependency to break the cycle"

    /// RF7007: a step timeout outside 1–86400 seconds.
    public static func timeoutOutOfRange(_ found: String) -> String {
        "`timeout` must be a whole number of seconds from 1 to 86400, found `\(found)`"
    }

    /// RF7008: a retry count outside 0–10.
    public static func retriesOutOfRange(_ found: String) -> String {
        "`retries` must be a whole number from 0 to 10, found `\(found)`"
    }

    /// RF7009: a step that cannot be compensated.
    public static func noUndoAPI(_ id: String) -> String {
        "step `\(id)` has no `undo_api`, so it cannot be compensated"
    }

    /// Help for RF7009.
    public static let noUndoAPIHelp = "add `undo_api`, or make an irreversible step the saga's last"

    /// RF7010: a `retry` setting outside its range.
    public static func invalidRetrySetting(_ key: String, _ found: String, expected: String) -> String {
        "`retry.\(key)` must be \(expected), found `\(found)`"
    }

    /// RF7010: a retry cap below the first delay.
    public static func retryMaxBelowInitial(max: String, initial: String) -> String {
        "`retry.max` `\(max)` must not be below `retry.initial` `\(initial)`"
    }

    /// RF7011: an `on_compensation_failure` setting that is not understood.
    public static func invalidEscalation(_ key: String, _ found: String, expected: String) -> String {
        "`on_compensation_failure.\(key)` must be \(expected), found `\(found)`"
    }

    /// RF7012: a step listed twice among the fan-out branches.
    public static func duplicateBranch(_ id: String) -> String {
        "step `\(id)` is already a branch of a fan-out group"
    }

    /// RF7013: two sagas compiled together share a name.
    public static func duplicateSagaName(_ name: String) -> String {
        "duplicate saga name `\(name)`"
    }

    /// RF1008 for sagas: `steps` is empty.
    public static let emptySteps = "`steps` must list at least one step"
}
