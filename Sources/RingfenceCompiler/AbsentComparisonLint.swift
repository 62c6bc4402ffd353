import RingfenceDiagnostics
import RingfenceSyntax

// A deny rule whose `when` compares a value that may be absent with `!=` (SPEC §3.4: a path
// that is absent makes every comparison that uses it false) silently does not apply to requests
// that leave the value out: `params.env != "prod"` denies `{"env": "dev"}` but not `{}`. `check`
// warns unless the expression also tests the path with `has(…)`, and suggests `!has(x) ||`.
//
// `!(x in list)` needs no warning: `x in list` is false when `x` is absent, and `!` of false is
// true, so the deny applies. Allow rules need none either: there, false only withholds an allow.

extension ExpressionChecker {
    /// Warns on each `!=` in a deny rule's `when` whose operand is a possibly-absent path that
    /// the expression never tests with `has`.
    mutating func lintAbsentComparisons(_ e: Expression) {
        var tested = Set<String>()
        Self.collectHasTests(e, into: &tested)
        var found: [(Path, Span)] = []
        Self.collectNotEqual(e, into: &found)
        for (path, span) in found where !tested.contains(path.description) {
            report(.absentComparison, Messages.absentComparison(path.description), span,
                   help: Messages.absentComparisonHelp(path.description))
        }
    }

    /// True when the value at `path` may be missing from a request: a member of `params`,
    /// `context` or `agent.attrs`, `agent.trust`, or the resource and its query and fragment.
    static func mayBeAbsent(_ path: Path) -> Bool {
        let names = path.names
        switch names.first {
        case "params", "context", "resource", "resource_query", "resource_fragment": return true
        case "agent": return names.count > 1 && (names[1] == "attrs" || names[1] == "trust")
        default: return false
        }
    }

    /// The paths tested with `has(…)` anywhere in `e`.
    private static func collectHasTests(_ e: Expression, into tested: inout Set<String>) {
        switch e.kind {
        case .call(let name, _, let arguments):
            if name == "has", arguments.count == 1, case .path(let path) = arguments[0].kind { tested.insert(path.description) }
            for a in arguments { collectHasTests(a, into: &tested) }
        case .not(let x): collectHasTests(x, into: &tested)
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b):
            collectHasTests(a, into: &tested)
            collectHasTests(b, into: &tested)
        case .list(let items): for x in items { collectHasTests(x, into: &tested) }
        case .literal, .path: break
        }
    }

    /// Every `a != b` in `e` with a possibly-absent path operand (directly, or inside `lower`/`upper`).
    private static func collectNotEqual(_ e: Expression, into found: inout [(Path, Span)]) {
        switch e.kind {
        case .compare(let op, let a, let b):
            if op == .notEqual {
                for operand in [a, b] {
                    if let path = comparedPath(operand), mayBeAbsent(path) { found.append((path, e.span)) }
                }
            }
        case .not(let x): collectNotEqual(x, into: &found)
        case .and(let a, let b), .or(let a, let b):
            collectNotEqual(a, into: &found)
            collectNotEqual(b, into: &found)
        case .call, .list, .literal, .path: break
        }
    }

    /// The path an operand reads: itself, or the argument of `lower`/`upper`/`len`.
    private static func comparedPath(_ e: Expression) -> Path? {
        switch e.kind {
        case .path(let path): return path
        case .call(let name, _, let arguments) where ["lower", "upper", "len"].contains(name) && arguments.count == 1:
            return comparedPath(arguments[0])
        default: return nil
        }
    }
}
