import Ringfence

/// The results of a `ringfence test` run, rendered as text, JSON or JUnit XML.
///
/// Output depends only on the files and the decisions, never on timing or dictionary order,
/// so reports are byte-for-byte reproducible.
struct TestReport {
    /// Each tests file's run, in path order.
    var suites: [SuiteOutcome]
    /// Rule coverage, when asked for.
    var coverage: Coverage?
    /// The coverage minimum, when given.
    var coverageMin: Double?

    /// Every case that ran, in order.
    var results: [CaseResult] { suites.flatMap(\.results) }
    /// The number of cases that passed.
    var passed: Int { results.count(where: \.passed) }
    /// The number of cases that failed.
    var failed: Int { results.count(where: { !$0.passed }) }

    // MARK: Text

    /// Failing cases (and passing ones when `verbose`), the coverage listing, then the line
    /// `N passed, N failed` (SPEC §4.4).
    func text(verbose: Bool) -> String {
        var lines: [String] = []
        for result in results {
            let place = "\(result.file):\(result.testCase.location.line) \(Self.oneLine(result.testCase.name.value))"
            if result.passed {
                if verbose { lines.append("PASS \(place)") }
            } else {
                lines.append("FAIL \(place): \(result.failureMessage)")
                lines.append("    reason: \(Self.oneLine(result.decision.reason))")
            }
        }
        if let coverage {
            if !lines.isEmpty { lines.append("") }
            lines.append("coverage: \(coverage.covered) of \(coverage.rules.count) rules (\(coverage.percentText))")
            for rule in coverage.rules {
                let name = "\(rule.policy)/\(rule.rule) (\(rule.file):\(rule.line))"
                if rule.cases.isEmpty {
                    lines.append("  UNCOVERED \(name)")
                    continue
                }
                lines.append("  \(name)")
                for result in rule.cases {
                    lines.append("    \(Self.oneLine(result.testCase.name.value)) (\(result.file):\(result.testCase.location.line))")
                }
            }
        }
        lines.append("\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text from a file made safe for one line of output: newlines and tabs escaped.
    static func oneLine(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: JSON

    /// One JSON object: `{"cases": […], "passed": N, "failed": N, "coverage": {…}}`, the
    /// coverage member only when coverage was asked for.
    func json() -> String {
        let cases = results.map { result -> String in
            let testCase = result.testCase
            let expected = Self.object([
                ("decision", JSONText.quote(testCase.expect.value.rawValue)),
                ("rule", Self.optional(testCase.rule?.value)),
                ("code", Self.optional(testCase.code?.value)),
            ])
            let got = Self.object([
                ("decision", JSONText.quote(result.decision.decision)),
                ("code", JSONText.quote(result.decision.code.rawValue)),
                ("policy", Self.optional(result.decision.policy)),
                ("rule", Self.optional(result.decision.rule)),
                ("reason", JSONText.quote(result.decision.reason)),
                ("ring", String(result.decision.ring)),
            ])
            return Self.object([
                ("file", JSONText.quote(result.file)),
                ("line", String(testCase.location.line)),
                ("name", JSONText.quote(testCase.name.value)),
                ("passed", result.passed ? "true" : "false"),
                ("expected", expected),
                ("got", got),
            ])
        }
        var members: [(String, String)] = [
            ("cases", "[" + cases.joined(separator: ",") + "]"),
            ("passed", String(passed)),
            ("failed", String(failed)),
        ]
        if let coverage {
            let rules = coverage.rules.map { rule -> String in
                let cases = rule.cases.map { result in
                    Self.object([
                        ("file", JSONText.quote(result.file)),
                        ("line", String(result.testCase.location.line)),
                        ("name", JSONText.quote(result.testCase.name.value)),
                    ])
                }
                return Self.object([
                    ("policy", JSONText.quote(rule.policy)),
                    ("rule", JSONText.quote(rule.rule)),
                    ("file", JSONText.quote(rule.file)),
                    ("line", String(rule.line)),
                    ("covered", rule.cases.isEmpty ? "false" : "true"),
                    ("cases", "[" + cases.joined(separator: ",") + "]"),
                ])
            }
            var coverageMembers: [(String, String)] = [
                ("covered", String(coverage.covered)),
                ("total", String(coverage.rules.count)),
                ("percent", JSONText.number((coverage.percent * 10).rounded() / 10)),
            ]
            if let coverageMin {
                coverageMembers.append(("minimum", JSONText.number(coverageMin)))
                coverageMembers.append(("meets_minimum", coverage.meets(coverageMin) ? "true" : "false"))
            }
            coverageMembers.append(("rules", "[" + rules.joined(separator: ",") + "]"))
            members.append(("coverage", Self.object(coverageMembers)))
        }
        return Self.object(members)
    }

    /// A JSON object from members already rendered, in the given order.
    private static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { JSONText.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A JSON string, or `null`.
    private static func optional(_ text: String?) -> String {
        text.map(JSONText.quote) ?? "null"
    }

    // MARK: JUnit

    /// JUnit XML: one `<testsuite>` per tests file, one `<testcase>` per case (classname = the
    /// tests file, name = the case name), a `<failure>` with expected and got for each failure.
    func junit() -> String {
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<testsuites name="ringfence" tests="\#(results.count)" failures="\#(failed)" errors="0" time="0">"#,
        ]
        for outcome in suites where !outcome.results.isEmpty {
            let file = Self.xml(outcome.suite.document.file)
            let failures = outcome.results.count(where: { !$0.passed })
            lines.append(#"  <testsuite name="\#(file)" tests="\#(outcome.results.count)" failures="\#(failures)" errors="0" skipped="0" time="0">"#)
            for result in outcome.results {
                let line = result.testCase.location.line
                let open = #"    <testcase classname="\#(file)" name="\#(Self.xml(result.testCase.name.value))" file="\#(file)" line="\#(line)" time="0""#
                if result.passed {
                    lines.append(open + "/>")
                    continue
                }
                lines.append(open + ">")
                lines.append(#"      <failure message="\#(Self.xml(result.failureMessage))" type="decision">"#
                             + Self.xml("\(result.file):\(line): \(result.failureMessage)\nreason: \(result.decision.reason)")
                             + "</failure>")
                lines.append("    </testcase>")
            }
            lines.append("  </testsuite>")
        }
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text escaped for XML content and attribute values; characters XML 1.0 cannot hold become
    /// U+FFFD, and newlines and tabs become character references so attributes keep them.
    static func xml(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
