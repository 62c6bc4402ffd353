import Foundation
import RingfenceSyntax
import RingfenceTestSupport
import RingfenceVM
import RingfenceWire

/// One file of the seed-dialect corpus (`Tests/Fixtures/dialects/corpus/*.yaml`): a seed-dialect
/// policy file, the name it is written under, and request → expected decision cases.
public struct DialectCorpus: Sendable {
    /// The corpus file's name.
    public var file: String
    /// The SPEC clause the file pins.
    public var clause: String
    /// The name the policy file is written under (its base name is the default policy name).
    public var policyFile: String
    /// The seed-dialect policy text, exactly as the seed would read it.
    public var policy: String
    /// The cases, in order.
    public var cases: [EvalCorpus.Case]

    /// The keys a corpus file may hold.
    static let fileKeys = ["clause", "file", "policy", "cases"]
    /// The keys a case may hold.
    static let caseKeys = ["name", "request", "expect"]

    /// The corpus files, sorted; throws when the folder holds none.
    public static func files() throws -> [String] { try Fixtures.names(in: "dialects/corpus") }

    /// Reads and validates a corpus file; a malformed file or an unknown key is an error.
    public static func load(_ name: String) throws -> DialectCorpus {
        let root = try CorpusYAML.document(try Fixtures.text(Fixtures.url("dialects/corpus").appendingPathComponent(name)), file: name)
        try CorpusYAML.requireKeys(root, known: fileKeys, required: fileKeys, name)
        guard let clause = root["clause"]?.stringValue, let policyFile = root["file"]?.stringValue,
              let policy = root["policy"]?.stringValue, let caseNodes = root["cases"]?.sequence, !caseNodes.isEmpty else {
            throw CorpusError("\(name): needs `clause`, `file` and `policy` as strings and a list of `cases`")
        }
        var cases: [EvalCorpus.Case] = []
        for (index, node) in caseNodes.enumerated() {
            try CorpusYAML.requireKeys(node, known: caseKeys, required: caseKeys, "\(name): case \(index + 1)")
            guard let caseName = node["name"]?.stringValue, let requestNode = node["request"], let expectNode = node["expect"] else {
                throw CorpusError("\(name): case \(index + 1): `name` must be a string")
            }
            let context = "\(name): case `\(caseName)`"
            let request: Request
            do {
                request = try Request(value: CorpusYAML.value(requestNode))
            } catch {
                throw CorpusError("\(context): bad request: \(error)")
            }
            cases.append(EvalCorpus.Case(name: caseName, request: request, clock: nil, expect: try EvalCorpus.expectation(expectNode, context)))
        }
        return DialectCorpus(file: name, clause: clause, policyFile: policyFile, policy: policy, cases: cases)
    }
}
