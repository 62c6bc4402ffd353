import Foundation
import Testing
import Ringfence
import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceSyntax
import RingfenceTestSupport

/// The `kind: runtime` file (SPEC §7): every key read, the defaults, durations, structural
/// errors with suggestions, and the range and relation checks reported at the setting they name.
@Suite struct RuntimeFileTests {
    /// The settings compiled from `text`, or nil, with the diagnostics.
    static func compile(_ text: String, file: String = "runtime.yaml") -> (settings: RuntimeSettings?, diagnostics: [Diagnostic]) {
        let result = Compiler.compile(sources: [(file, text)])
        return (result.program?.runtime, result.diagnostics)
    }

    /// `ringfence: 1` and `kind: runtime` followed by `body`.
    static func runtime(_ body: String) -> String {
        "ringfence: 1\nkind: runtime\n" + body
    }

    /// Each diagnostic as `CODE line:column`.
    static func summary(_ diagnostics: [Diagnostic]) -> [String] {
        diagnostics.map { "\($0.code.rawValue) \($0.location.line):\($0.location.column)" }
    }

    @Test func anEmptyRuntimeFileAndNoRuntimeFileBothGiveTheDefaults() throws {
        let (settings, diagnostics) = Self.compile(Self.runtime(""))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(settings == RuntimeSettings())
        let policyOnly = Compiler.compile(source: "ringfence: 1\nkind: policy\nname: p\nrules: []\n")
        #expect(try #require(policyOnly.program).runtime == RuntimeSettings())
        // The defaults are exactly SPEC §7's numbers.
        let d = RuntimeSettings()
        #expect(d.name == "default" && d.rings.privileged == 0.95 && d.rings.standard == 0.60)
        #expect([0, 1, 2, 3].map { d.limits[ring: $0] } == [.init(rate: 100, burst: 200), .init(rate: 50, burst: 100),
                                                           .init(rate: 20, burst: 40), .init(rate: 5, burst: 10)])
        #expect(d.elevation.ring1 == 0.85 && d.elevation.ring2 == 0.50 && d.elevation.defaultTTL == 300_000 && d.elevation.maxTTL == 3_600_000)
        #expect(d.sessions.maxParticipants == 10 && d.sessions.ttl == 3_600_000 && d.sessions.minTrust == 0.60)
        #expect(d.breach.window == 60_000 && d.breach.minCalls == 5 && d.breach.cooldown == 30_000 && d.breach.onCritical == .trip)
        #expect([d.breach.low, d.breach.medium, d.breach.high, d.breach.critical] == [0.3, 0.5, 0.7, 0.9])
        let l = d.liability
        #expect([l.minVoucherTrust, l.bond, l.maxExposure, l.vouchWeight, l.slashFloor, l.cascadeBelow] == [0.50, 0.20, 0.80, 0.20, 0.05, 0.06])
        #expect(l.maxCascadeDepth == 2 && l.quarantine == 300_000)
        #expect([l.denyRisk, l.probationRisk, l.escalationSeverity] == [0.60, 0.30, 0.50])
        #expect(d.audit.durability == .group && d.audit.checkpointEvery == 1000 && d.audit.checkpointInterval == 10_000)
        #expect(d.audit.origin == "ringfence.local/audit")
    }

    /// `examples/runtime/runtime.yaml` writes every key, at its default: it is clean and compiles
    /// to exactly the settings of no runtime file.
    @Test func theExampleWritesEveryKeyAtItsDefault() throws {
        let path = Repository.url("examples/runtime/runtime.yaml").path
        let result = Compiler.compile(paths: [path])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(try #require(result.program).runtime == RuntimeSettings())
        let document = try #require(result.runtimes.first)
        for (key, _) in RuntimeSettings().entries {
            #expect(document.spans[key] != nil, "the example does not write `\(key)`")
        }
    }

    @Test func everyKeyIsRead() throws {
        let text = Self.runtime("""
            name: prod-eu:1
            description: the production deployment
            rings: { privileged: 0.9, standard: 0.5 }
            limits:
              ring0: { rate: 1000, burst: 2000 }
              ring1: { rate: 0.5, burst: 3 }
              ring2: { burst: 7 }
              ring3: { rate: 2 }
            elevation: { ring1: 0.9, ring2: 0.6, default_ttl: 2m, max_ttl: 2h }
            sessions: { max_participants: 1000, ttl: 7d, min_trust: 0.4 }
            breach: { window: 90s, min_calls: 12, low: 0.2, medium: 0.4, high: 0.6, critical: 1, cooldown: 500ms, on_critical: kill }
            liability:
              min_voucher_trust: 0.7
              bond: 0.1
              max_exposure: 0.5
              vouch_weight: 0.3
              slash_floor: 0.01
              cascade_below: 0.2
              max_cascade_depth: 10
              quarantine: 1.5h
              deny_risk: 0.9
              probation_risk: 0
              escalation_severity: 1
            audit: { durability: strict, checkpoint_every: 1, checkpoint_interval: 0.25, origin: example.com/log42 }

            """)
        let (compiled, diagnostics) = Self.compile(text)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let settings = try #require(compiled)
        var expected = RuntimeSettings()
        expected.name = "prod-eu:1"
        expected.rings.privileged = 0.9
        expected.rings.standard = 0.5
        expected.limits.ring0 = .init(rate: 1000, burst: 2000)
        expected.limits.ring1 = .init(rate: 0.5, burst: 3)
        expected.limits.ring2 = .init(rate: 20, burst: 7)
        expected.limits.ring3 = .init(rate: 2, burst: 10)
        expected.elevation.ring1 = 0.9
        expected.elevation.ring2 = 0.6
        expected.elevation.defaultTTL = 120_000
        expected.elevation.maxTTL = 7_200_000
        expected.sessions.maxParticipants = 1000
        expected.sessions.ttl = 604_800_000
        expected.sessions.minTrust = 0.4
        expected.breach.window = 90_000
        expected.breach.minCalls = 12
        expected.breach.low = 0.2
        expected.breach.medium = 0.4
        expected.breach.high = 0.6
        expected.breach.critical = 1
        expected.breach.cooldown = 500
        expected.breach.onCritical = .kill
        expected.liability.minVoucherTrust = 0.7
        expected.liability.bond = 0.1
        expected.liability.maxExposure = 0.5
        expected.liability.vouchWeight = 0.3
        expected.liability.slashFloor = 0.01
        expected.liability.cascadeBelow = 0.2
        expected.liability.maxCascadeDepth = 10
        expected.liability.quarantine = 5_400_000
        expected.liability.denyRisk = 0.9
        expected.liability.probationRisk = 0
        expected.liability.escalationSeverity = 1
        expected.audit.durability = .strict
        expected.audit.checkpointEvery = 1
        expected.audit.checkpointInterval = 250
        expected.audit.origin = "example.com/log42"
        #expect(settings == expected)
        // Each setting was read from the file, not left at its default.
        for ((key, value), (_, original)) in zip(expected.entries, RuntimeSettings().entries) where key != "limits.ring2.rate" && key != "limits.ring3.burst" {
            #expect(value != original, "`\(key)` kept its default")
        }
    }

    /// Unknown keys at every level get RF1004 with the nearest key as a suggestion.
    @Test func unknownKeysAreReportedWithASuggestion() {
        let cases: [(body: String, at: String, help: String)] = [
            ("nmae: x\n", "RF1004 3:1", "did you mean `name`?"),
            ("breech: {}\n", "RF1004 3:1", "did you mean `breach`?"),
            ("breach:\n  cooldwn: 5s\n", "RF1004 4:3", "did you mean `cooldown`?"),
            ("limits:\n  ring5: { rate: 1 }\n", "RF1004 4:3", "did you mean `ring0`?"),
            ("limits:\n  ring1: { rate: 1, brust: 2 }\n", "RF1004 4:21", "did you mean `burst`?"),
            ("audit:\n  checkpoint_evry: 10\n", "RF1004 4:3", "did you mean `checkpoint_every`?"),
            ("liability:\n  max_cascade_dept: 3\n", "RF1004 4:3", "did you mean `max_cascade_depth`?"),
        ]
        for (body, at, help) in cases {
            let (settings, diagnostics) = Self.compile(Self.runtime(body))
            #expect(settings == nil, "\(body)")
            #expect(Self.summary(diagnostics) == [at], "\(body): \(diagnostics)")
            #expect(diagnostics.first?.help == help, "\(body): \(diagnostics)")
        }
    }

    /// Values of the wrong type are RF1006, located at the value, and nothing else follows from them.
    @Test func wrongTypesAreReportedAtTheValue() {
        let cases: [(body: String, at: String, message: String)] = [
            ("rings: 5\n", "RF1006 3:8", "`rings` must be a mapping, found number"),
            ("limits:\n  ring0: [1, 2]\n", "RF1006 4:10", "`ring0` must be a mapping, found list"),
            ("breach:\n  low: high\n", "RF1006 4:8", "`breach.low` must be a number, found string"),
            ("limits:\n  ring2: { burst: 2.5 }\n", "RF1006 4:19", "`limits.ring2.burst` must be a whole number, found `2.5`"),
            ("sessions:\n  max_participants: ten\n", "RF1006 4:21", "`sessions.max_participants` must be a whole number, found string"),
            ("breach:\n  window: true\n", "RF1006 4:11", "`breach.window` must be a duration such as `30s`, found boolean"),
            ("breach:\n  on_critical: 1\n", "RF1006 4:16", "`breach.on_critical` must be `trip` or `kill`, found number"),
            ("audit:\n  origin: 5\n", "RF1006 4:11", "`audit.origin` must be a string, found number"),
            ("name: 3\n", "RF1006 3:7", "`name` must be a string, found number"),
        ]
        for (body, at, message) in cases {
            let (settings, diagnostics) = Self.compile(Self.runtime(body))
            #expect(settings == nil, "\(body)")
            #expect(Self.summary(diagnostics) == [at], "\(body): \(diagnostics)")
            #expect(diagnostics.first?.message == message, "\(body)")
        }
    }

    /// Words with a suggestion (RF1024).
    @Test func choicesSuggestTheNearestWord() {
        let (_, diagnostics) = Self.compile(Self.runtime("breach:\n  on_critical: kil\naudit:\n  durability: strikt\n"))
        #expect(Self.summary(diagnostics) == ["RF1024 4:16", "RF1024 6:15"])
        #expect(diagnostics.map(\.message) == ["`breach.on_critical` must be `trip` or `kill`, found `kil`",
                                               "`audit.durability` must be `strict`, `group` or `relaxed`, found `strikt`"])
        #expect(diagnostics.map(\.help) == ["did you mean `kill`?", "did you mean `strict`?"])
    }

    /// Ranges (RF4009) and relations (RF4010), each at the setting it names; a relation with a
    /// setting the file leaves out names its default.
    @Test func rangesAndRelationsAreReportedAtTheirSettings() {
        let cases: [(body: String, at: [String], message: String, help: String?)] = [
            ("sessions:\n  max_participants: 1001\n", ["RF4009 4:21"], "`sessions.max_participants` must be a whole number from 1 to 1000, found `1001`", nil),
            ("sessions:\n  ttl: 500ms\n", ["RF4009 4:8"], "`sessions.ttl` must be a duration from 1s to 7d, found `500ms`", nil),
            ("sessions:\n  ttl: 8d\n", ["RF4009 4:8"], "`sessions.ttl` must be a duration from 1s to 7d, found `8d`", nil),
            ("limits:\n  ring3: { rate: 0 }\n", ["RF4009 4:18"],
             "`limits.ring3.rate` must be a number of tokens per second above 0 and at most 1000000000, found `0`", nil),
            ("limits:\n  ring0: { burst: 0 }\n", ["RF4009 4:19"], "`limits.ring0.burst` must be a whole number from 1 to 1000000000, found `0`", nil),
            ("elevation:\n  ring2: 1.5\n", ["RF4009 4:10"], "`elevation.ring2` must be a number from 0 to 1, found `1.5`", nil),
            ("breach:\n  low: 0\n", ["RF4009 4:8"], "`breach.low` must be a number above 0 and at most 1, found `0`", nil),
            ("breach:\n  cooldown: 0s\n", ["RF4009 4:13"], "`breach.cooldown` must be a duration above 0 and at most 365d, found `0s`", nil),
            ("liability:\n  max_cascade_depth: 11\n", ["RF4009 4:22"], "`liability.max_cascade_depth` must be a whole number from 0 to 10, found `11`", nil),
            ("liability:\n  escalation_severity: 0\n", ["RF4009 4:24"],
             "`liability.escalation_severity` must be a number above 0 and at most 1, found `0`", nil),
            ("audit:\n  checkpoint_every: 0\n", ["RF4009 4:21"], "`audit.checkpoint_every` must be a whole number from 1 to 1000000000, found `0`", nil),
            ("audit:\n  origin: \"a\\nb\"\n", ["RF4009 4:11"], "`audit.origin` must be one line without control characters, found `a\\nb`",
             Messages.originHelp),
            ("audit:\n  origin: ''\n", ["RF1013 4:11"], "`audit.origin` must not be empty", Messages.originHelp),
            ("name: ''\n", ["RF1013 3:7"], "the runtime name must not be empty", nil),
            ("name: prod eu\n", ["RF1009 3:7"], "runtime name `prod eu` may only hold letters, digits, `_`, `.`, `:` and `-`", nil),
            ("rings:\n  privileged: 1.2\n", ["RF4002 4:15"], "`rings.privileged` threshold must be a number from 0 to 1, found `1.2`", nil),
            ("rings:\n  standard: 0.95\n", ["RF4002 4:13"], "`privileged` threshold `0.95` must be above `standard` threshold `0.95`",
             "`rings.privileged` is not given and defaults to `0.95`"),
            ("elevation:\n  max_ttl: 1m\n", ["RF4010 4:12"], "`elevation.default_ttl` `5m` must not be above `elevation.max_ttl` `1m`",
             "`elevation.default_ttl` is not given and defaults to `5m`; " + Messages.elevationTTLHelp),
            ("elevation:\n  ring1: 0.5\n  ring2: 0.6\n", ["RF4010 4:10"], "`elevation.ring1` `0.5` must not be below `elevation.ring2` `0.6`",
             Messages.elevationOrderHelp),
            ("breach:\n  medium: 0.8\n", ["RF4010 4:11"], "breach thresholds must rise: `breach.high` `0.7` is not above `breach.medium` `0.8`",
             "`breach.high` is not given and defaults to `0.7`; " + Messages.breachOrderHelp),
            ("breach:\n  low: 0.5\n  medium: 0.5\n", ["RF4010 5:11"], "breach thresholds must rise: `breach.medium` `0.5` is not above `breach.low` `0.5`",
             Messages.breachOrderHelp),
            ("liability:\n  probation_risk: 0.6\n", ["RF4010 4:19"], "`liability.probation_risk` `0.6` must be below `liability.deny_risk` `0.6`",
             "`liability.deny_risk` is not given and defaults to `0.6`; " + Messages.riskOrderHelp),
            ("liability:\n  slash_floor: 0.06\n", ["RF4010 4:16"],
             "`liability.slash_floor` `0.06` must be below `liability.cascade_below` `0.06`, or no slash could ever cascade",
             "`liability.cascade_below` is not given and defaults to `0.06`; " + Messages.cascadeHelp),
            ("liability:\n  bond: 0.9\n", ["RF4010 4:9"],
             "`liability.bond` `0.9` must not be above `liability.max_exposure` `0.8`, or every vouch with the default bond is refused",
             "`liability.max_exposure` is not given and defaults to `0.8`"),
        ]
        for (body, at, message, help) in cases {
            let (settings, diagnostics) = Self.compile(Self.runtime(body))
            #expect(settings == nil, "\(body)")
            #expect(Self.summary(diagnostics) == at, "\(body): \(diagnostics)")
            #expect(diagnostics.first?.message == message, "\(body)")
            #expect(diagnostics.first?.help == help, "\(body)")
        }
    }

    /// Decisions the contract leaves open: a cascade turned off needs no floor below
    /// `cascade_below`; ring 1 may need exactly as much trust as ring 2; `critical` may be 1.
    @Test func documentedEdgesAreAccepted() {
        for body in ["liability:\n  max_cascade_depth: 0\n  slash_floor: 0.5\n  cascade_below: 0\n",
                     "elevation:\n  ring1: 0.5\n  ring2: 0.5\n",
                     "breach:\n  critical: 1\n",
                     "elevation:\n  default_ttl: 1h\n",
                     "sessions:\n  ttl: 1s\n", "sessions:\n  ttl: 7d\n", "sessions:\n  max_participants: 1\n",
                     "liability:\n  bond: 0.8\n", "limits:\n  ring3: { rate: 0.001, burst: 1 }\n"] {
            let (settings, diagnostics) = Self.compile(Self.runtime(body))
            #expect(settings != nil && diagnostics.isEmpty, "\(body): \(diagnostics)")
        }
    }

    /// A setting the parser could not read is reported once: relations that involve it are skipped.
    @Test func anUnreadableSettingIsReportedOnce() {
        let (_, diagnostics) = Self.compile(Self.runtime("elevation:\n  default_ttl: 5x\n  max_ttl: 1s\nbreach: 7\n"))
        #expect(Self.summary(diagnostics) == ["RF1023 4:16", "RF1006 6:9"])
        let (_, low) = Self.compile(Self.runtime("breach:\n  low: x\n  medium: 0.1\n"))
        #expect(Self.summary(low) == ["RF1006 4:8"])
    }

    /// Two runtime files compiled together: RF1025 at the second, naming both.
    @Test func twoRuntimeFilesAreAnError() {
        let result = Compiler.compile(sources: [("a.yaml", Self.runtime("name: a\n")), ("p.yaml", "ringfence: 1\nkind: policy\nname: p\nrules: []\n"),
                                                ("b.yaml", Self.runtime("name: b\n"))])
        #expect(result.program == nil)
        #expect(result.diagnostics.count == 1)
        let d = result.diagnostics.first
        #expect(d?.code == .multipleRuntimeFiles && d?.location.file == "b.yaml" && d?.location.line == 2 && d?.location.column == 7)
        #expect(d?.message == "more than one runtime file: `b.yaml` and `a.yaml` both configure the runtime")
        #expect(result.runtimes.map(\.name?.value) == ["a", "b"])
    }

    /// Seeded random values in every setting of the example never crash the compiler; whatever
    /// compiles is valid by the verifier's rules and survives a bundle round trip unchanged.
    @Test func randomValuesNeverCrashAndWhatCompilesIsValid() throws {
        let example = try Fixtures.text(Repository.url("examples/runtime/runtime.yaml"))
        let lines = example.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let settable = lines.indices.filter { lines[$0].hasPrefix("  ") && lines[$0].contains(": ") && !lines[$0].contains("{") }
        let values = ["0", "1", "-1", "0.5", "1.5", "2", "1e400", "-.inf", ".nan", "~", "''", "\"\"", "[]", "{}", "true", "5x", "-1s",
                      "1h30m", "0s", "500ms", "7d", "8d", "365d", "366d", "99999999999999999999", "9223372036854775807", "0.0001",
                      "kill", "trip", "strict", "relaxed", "\"a\\nb\"", "é/ü", "1.5ms", "0x10", "1000", "1001", "0.06", "0.05"]
        var rng = SeededGenerator(seed: 0x52_46_37)
        var compiled = 0
        for iteration in 0..<600 {
            var mutated = lines
            for _ in 0..<(1 + rng.below(4)) {
                let line = settable[rng.below(settable.count)]
                let key = mutated[line].prefix { $0 != ":" }
                mutated[line] = key + ": " + values[rng.below(values.count)]
            }
            let result = Compiler.compile(sources: [("fuzz-\(iteration).yaml", mutated.joined(separator: "\n"))])
            guard let program = result.program else {
                #expect(result.hasErrors, "iteration \(iteration): no program and no error")
                continue
            }
            compiled += 1
            #expect(program.runtime.validate().isEmpty, "iteration \(iteration)")
            #expect(try RingfenceBytecode.Bundle.decode(RingfenceBytecode.Bundle.encode(program)).program.runtime == program.runtime)
        }
        #expect(compiled > 20, "only \(compiled) of the mutated files compiled")
    }

    /// `runtime` is a kind: a misspelling is suggested, and the document dispatches to its parser.
    @Test func runtimeIsAKind() {
        #expect(DocumentParser.kinds.contains("runtime"))
        let (document, diagnostics) = DocumentParser.parse(text: "ringfence: 1\nkind: runtme\n", file: "x.yaml")
        #expect(document == nil)
        #expect(diagnostics.first?.help == "did you mean `runtime`?")
        let (parsed, none) = DocumentParser.parse(text: Self.runtime("name: x\n"), file: "x.yaml")
        #expect(none.isEmpty)
        #expect(parsed?.runtime?.name?.value == "x")
        #expect(parsed?.policy == nil)
    }
}

/// Durations (`500ms` … `7d`, or a number of seconds): the one reader every file kind uses.
@Suite struct DurationTests {
    @Test func wellFormedDurationsAreReadExactly() {
        let cases: [(String, Int64)] = [
            ("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000), ("7d", 604_800_000), ("0s", 0), ("0ms", 0),
            ("1.5h", 5_400_000), ("0.5s", 500), ("1.25s", 1_250), ("0.001s", 1), ("10.000s", 10_000), ("2.5m", 150_000),
            ("0.5d", 43_200_000), ("1ms", 1), ("0.00001d", 864),
            ("106751991167d", 106_751_991_167 * 86_400_000), ("9223372036854775807ms", .max),
        ]
        for (text, expected) in cases {
            #expect(DurationSyntax.milliseconds(text) == .success(expected), "\(text)")
        }
    }

    @Test func malformedDurationsSayWhy() {
        let cases: [(String, DurationSyntax.Problem)] = [
            ("", .empty), ("5x", .unknownUnit("x")), ("-1s", .negative), ("+1s", .notANumber), ("1h30m", .compound),
            ("1.5ms", .finerThanMillisecond), ("0.0005s", .finerThanMillisecond), ("0.00000000001d", .finerThanMillisecond),
            ("5 m", .notANumber), (" 5m", .notANumber), ("5m ", .notANumber), ("5min", .unknownUnit("min")), ("5M", .unknownUnit("M")),
            ("5S", .unknownUnit("S")), ("30", .missingUnit), (".5s", .notANumber), ("1.s", .notANumber), ("s", .notANumber),
            ("1e3s", .compound), ("1,5s", .notANumber), ("106751991168d", .tooLong), ("99999999999999999999999s", .tooLong),
            ("9223372036854775808ms", .tooLong), ("٣s", .notANumber),
        ]
        for (text, problem) in cases {
            switch DurationSyntax.milliseconds(text) {
            case .success(let value): Issue.record("`\(text)` read as \(value) ms")
            case .failure(let found): #expect(found == problem, "\(text)")
            }
        }
    }

    /// Plain YAML numbers count seconds; decimals are read as written, not through binary floating point.
    @Test func numbersCountSeconds() {
        let cases: [(String, Int64?)] = [
            ("90", 90_000), ("0.25", 250), ("0.1", 100), ("0.3", 300), ("1e3", 1_000_000), ("0x10", 16_000), ("1.", 1_000),
            ("-5", nil), ("0.0001", nil), ("-0.5", nil), (".nan", nil), (".inf", nil), ("1e300", nil),
        ]
        for (text, expected) in cases {
            let (settings, diagnostics) = RuntimeFileTests.compile(RuntimeFileTests.runtime("breach:\n  window: \(text)\n"))
            if let expected {
                #expect(settings?.breach.window == expected, "\(text): \(diagnostics)")
            } else {
                #expect(settings == nil && diagnostics.map(\.code) == [.invalidDuration], "\(text): \(diagnostics)")
            }
        }
    }

    /// The text `inspect` writes for a duration reads back as the same milliseconds, for fixed and
    /// seeded random values.
    @Test func durationTextReadsBack() {
        var values: [Int64] = [0, 1, 999, 1_000, 1_500, 60_000, 90_000, 3_600_000, 5_400_000, 86_400_000, 604_800_000, .max]
        var rng = SeededGenerator(seed: 0x7275_6E74_696D_65)
        let units: [Int64] = [1, 1_000, 60_000, 3_600_000, 86_400_000]
        for _ in 0..<2_000 {
            values.append(Int64(rng.below(1 << 40)))
            values.append(Int64(rng.below(1 << 20)) * units[rng.below(units.count)])
        }
        for ms in values {
            let text = RuntimeSettings.durationText(ms)
            #expect(DurationSyntax.milliseconds(text) == .success(ms), "\(ms) → \(text)")
        }
        #expect(RuntimeSettings.durationText(60_000) == "1m")
        #expect(RuntimeSettings.durationText(90_000) == "90s")
        #expect(RuntimeSettings.durationText(5_400_000) == "90m")
        #expect(RuntimeSettings.durationText(1_500) == "1500ms")
    }

    /// The YAML reader reports RF1023 at the value with the reason and how to write one.
    @Test func malformedDurationsInAFileAreLocated() {
        let (_, diagnostics) = RuntimeFileTests.compile(RuntimeFileTests.runtime("breach:\n  window: 5x\n  cooldown: -1s\naudit:\n  checkpoint_interval: 1h30m\n"))
        #expect(RuntimeFileTests.summary(diagnostics) == ["RF1023 4:11", "RF1023 5:13", "RF1023 7:24"])
        #expect(diagnostics.map(\.message) == ["invalid duration `5x` for `breach.window`: unknown unit `x`",
                                               "invalid duration `-1s` for `breach.cooldown`: a duration cannot be negative",
                                               "invalid duration `1h30m` for `audit.checkpoint_interval`: write one number and one unit (`90m`, not `1h30m`)"])
        #expect(diagnostics.allSatisfy { $0.help == Messages.durationHelp })
    }
}
