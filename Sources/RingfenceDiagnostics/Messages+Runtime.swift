extension Messages {
    // MARK: Durations (RF1023)

    /// RF1023: a value that is not a duration, e.g. "invalid duration `5x` for `breach.window`: unknown unit `x`".
    public static func invalidDuration(_ found: String, for key: String, _ reason: String) -> String {
        "invalid duration `\(found)` for `\(key)`: \(reason)"
    }

    /// Help for RF1023: how durations are written.
    public static let durationHelp = "write a number and a unit: `500ms`, `30s`, `5m`, `1h` or `7d` (a plain number counts seconds)"

    /// What RF1006 says a duration must be.
    public static let durationExpected = "a duration such as `30s`"

    /// RF1023 reason: the text is empty.
    public static let durationEmpty = "it is empty"
    /// RF1023 reason: a sign before the number.
    public static let durationNegative = "a duration cannot be negative"
    /// RF1023 reason: a number without a unit, in text.
    public static let durationMissingUnit = "it has no unit"
    /// RF1023 reason: a unit that does not exist.
    public static func durationUnknownUnit(_ unit: String) -> String {
        "unknown unit `\(unit)`"
    }
    /// RF1023 reason: not a number and a unit.
    public static let durationNotANumber = "expected a number followed by a unit"
    /// RF1023 reason: two parts run together.
    public static let durationCompound = "write one number and one unit (`90m`, not `1h30m`)"
    /// RF1023 reason: a fraction of a millisecond.
    public static let durationFinerThanMillisecond = "it is not a whole number of milliseconds"
    /// RF1023 reason: too long to count in milliseconds.
    public static let durationTooLong = "it is too long"

    // MARK: Choices and whole numbers

    /// RF1024: a setting that takes one of a few words has another.
    public static func invalidChoice(_ key: String, _ found: String, expected: [String]) -> String {
        "`\(key)` must be \(list(expected, conjunction: "or")), found `\(found)`"
    }

    /// RF1006: a number that must be whole is not.
    public static func notWholeNumber(_ key: String, _ found: String) -> String {
        "`\(key)` must be a whole number, found `\(found)`"
    }

    // MARK: Runtime files (RF1025, RF4009, RF4010)

    /// RF1025: a second runtime file among the files compiled together.
    public static func multipleRuntimeFiles(_ file: String, first: String) -> String {
        "more than one runtime file: `\(file)` and `\(first)` both configure the runtime"
    }

    /// Help for RF1025.
    public static let multipleRuntimeFilesHelp = "a deployment has one `kind: runtime` file; compile only one of them"

    /// RF4009: a runtime setting outside its range, e.g. "`sessions.max_participants` must be a whole number from 1 to 1000, found `0`".
    public static func runtimeOutOfRange(_ key: String, _ found: String, expected: String) -> String {
        "`\(key)` must be \(expected), found `\(found)`"
    }

    /// RF4009: what a trust, share or risk must be.
    public static let expectedUnitInterval = "a number from 0 to 1"
    /// RF4009: what a breach threshold or a severity must be.
    public static let expectedPositiveUnitInterval = "a number above 0 and at most 1"
    /// RF4009: what a ring bucket's refill rate must be.
    public static let expectedRate = "a number of tokens per second above 0 and at most 1000000000"
    /// RF4009: what a ring bucket's capacity, `min_calls` and `checkpoint_every` must be.
    public static let expectedCount = "a whole number from 1 to 1000000000"
    /// RF4009: what `sessions.max_participants` must be.
    public static let expectedParticipants = "a whole number from 1 to 1000"
    /// RF4009: what `liability.max_cascade_depth` must be.
    public static let expectedCascadeDepth = "a whole number from 0 to 10"
    /// RF4009: what `sessions.ttl` must be.
    public static let expectedSessionTTL = "a duration from 1s to 7d"
    /// RF4009: what every other duration must be.
    public static let expectedDuration = "a duration above 0 and at most 365d"

    /// RF4009: an `audit.origin` that is not one line of text.
    public static func originNotOneLine(_ found: String) -> String {
        "`audit.origin` must be one line without control characters, found `\(found)`"
    }

    /// Help for RF4009 on `audit.origin`.
    public static let originHelp = "the origin is the first line of every checkpoint (C2SP tlog-checkpoint), e.g. `example.com/audit`"

    /// RF4010: a setting that must not be above another, e.g. "`elevation.default_ttl` `2h` must not be above `elevation.max_ttl` `1h`".
    public static func runtimeNotAbove(_ key: String, _ value: String, _ other: String, _ otherValue: String) -> String {
        "`\(key)` `\(value)` must not be above `\(other)` `\(otherValue)`"
    }

    /// RF4010: a setting that must be below another.
    public static func runtimeNotBelow(_ key: String, _ value: String, _ other: String, _ otherValue: String) -> String {
        "`\(key)` `\(value)` must be below `\(other)` `\(otherValue)`"
    }

    /// RF4010: elevation thresholds where ring 1 needs less trust than ring 2.
    public static func elevationOutOfOrder(ring1: String, ring2: String) -> String {
        "`elevation.ring1` `\(ring1)` must not be below `elevation.ring2` `\(ring2)`"
    }

    /// Help for RF4010 on elevation thresholds.
    public static let elevationOrderHelp = "ring 1 is more privileged than ring 2, so elevating to it cannot need less trust"

    /// RF4010: breach thresholds that do not rise.
    public static func breachThresholdsOutOfOrder(_ key: String, _ value: String, _ previous: String, _ previousValue: String) -> String {
        "breach thresholds must rise: `\(key)` `\(value)` is not above `\(previous)` `\(previousValue)`"
    }

    /// Help for RF4010 on breach thresholds.
    public static let breachOrderHelp = "write them so that 0 < low < medium < high < critical ≤ 1"

    /// Help for RF4010 when the default TTL exceeds the cap.
    public static let elevationTTLHelp = "an elevation without a `ttl` gets `default_ttl`, and no elevation lasts longer than `max_ttl`"

    /// Help for RF4010 on the two ledger risks.
    public static let riskOrderHelp = "an agent is put on probation (ring 3) before it is refused at join"

    /// RF4010: a slash floor at or above the cascade threshold, so no slash could ever cascade.
    public static func cascadeUnreachable(floor: String, below: String) -> String {
        "`liability.slash_floor` `\(floor)` must be below `liability.cascade_below` `\(below)`, or no slash could ever cascade"
    }

    /// Help for RF4010 when no slash could ever cascade.
    public static let cascadeHelp = "a slash never leaves a voucher below `slash_floor` (to turn cascading off, set `max_cascade_depth: 0`)"

    /// RF4010: a default bond above the exposure cap, so every default vouch would be refused.
    public static func bondAboveExposure(bond: String, exposure: String) -> String {
        "`liability.bond` `\(bond)` must not be above `liability.max_exposure` `\(exposure)`, or every vouch with the default bond is refused"
    }
}
