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

    /// RF7007: a step timeout outside 1 ms to 1 day.
    public static func timeoutOutOfRange(_ found: String) -> String {
        "`timeout` must be from `1ms` to `1d` (86400 seconds), found `\(found)`"
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

    /// RF7014: a `base_url` that is not an absolute http(s) URL.
    public static func invalidBaseURL(_ found: String, _ reason: String) -> String {
        "`base_url` must be an absolute `http` or `https` url, found `\(found)`: \(reason)"
    }

    /// RF7014: an endpoint that is neither an http(s) URL nor a path.
    public static func invalidEndpoint(_ key: String, _ found: String, _ reason: String) -> String {
        "`\(key)` must be an `http` or `https` url or a path starting with `/`, found `\(found)`: \(reason)"
    }

    /// Help for RF7014.
    public static let endpointHelp = "write a path such as `/orders/create` (resolved against `base_url` or `--base-url`) or a url such as `https://api.example.com/orders`"

    /// RF7015: `max_concurrency` outside 1–64.
    public static func concurrencyOutOfRange(_ found: String) -> String {
        "`max_concurrency` must be a whole number from 1 to 64, found `\(found)`"
    }

    /// RF1008 for sagas: `steps` is empty.
    public static let emptySteps = "`steps` must list at least one step"
}
