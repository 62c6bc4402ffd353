import Testing
import Foundation
@testable import RingfenceDiagnostics
import RingfenceTestSupport

@Suite struct DiagnosticsTests {
    @Test func catalogCodesAreUniqueAndWellFormed() {
        let codes = DiagnosticCode.catalog.map(\.code.rawValue)
        #expect(Set(codes).count == codes.count)
        for code in codes {
            #expect(code.count == 6 && code.hasPrefix("RF") && Int(code.dropFirst(2)) != nil, "bad code \(code)")
        }
    }

    @Test func suggestionsFindNearMisses() {
        #expect(Suggestions.closest(to: "resouces", among: ["resources", "actions", "reason"]) == "resources")
        #expect(Suggestions.closest(to: "efect", among: ["effect", "id"]) == "effect")
        #expect(Suggestions.closest(to: "zzzzzz", among: ["effect", "id"]) == nil)
        #expect(Suggestions.editDistance("ab", "ba") == 1)
    }

    @Test func textRenderingShowsSnippetAndCaret() {
        let source = SourceFile(path: "p.yaml", text: "rules:\n  - id: x\n    efect: allow\n")
        let d = Diagnostic(.unknownKey, "unknown key `efect` in rule", at: SourceLocation(file: "p.yaml", line: 3, column: 5),
                           length: 5, help: "did you mean `effect`?")
        let text = DiagnosticRenderer.text(d, source: source)
        #expect(text == """
        p.yaml:3:5: error[RF1004]: unknown key `efect` in rule
          |
        3 |     efect: allow
          |     ^^^^^
          = help: did you mean `effect`?
        """)
    }
}

/// `docs/diagnostics.md` lists every code exactly as the catalogue does.
@Suite struct DiagnosticsDocTests {
    @Test func docsListTheCatalogue() throws {
        let doc = try Repository.text("docs/diagnostics.md")
        let begin = "<!-- catalogue:begin -->\n", end = "\n<!-- catalogue:end -->"
        guard let a = doc.range(of: begin), let b = doc.range(of: end) else {
            Issue.record("docs/diagnostics.md lacks the catalogue markers")
            return
        }
        if ProcessInfo.processInfo.environment["RINGFENCE_RECORD"] == "1" {
            let updated = String(doc[..<a.upperBound]) + DiagnosticCode.markdownTable + String(doc[b.lowerBound...])
            try updated.write(to: Repository.url("docs/diagnostics.md"), atomically: true, encoding: .utf8)
            Issue.record("recorded the catalogue into docs/diagnostics.md; review and rerun without RINGFENCE_RECORD")
        }
        #expect(String(doc[a.upperBound..<b.lowerBound]) == DiagnosticCode.markdownTable,
                "regenerate the table in docs/diagnostics.md from DiagnosticCode.catalog (RINGFENCE_RECORD=1)")
    }
}
