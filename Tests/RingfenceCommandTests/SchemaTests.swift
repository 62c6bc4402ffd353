import Foundation
import RingfenceCommands
import RingfenceTestSupport
import Testing

/// `ringfence schema`: each kind prints the schema embedded in the commands, which equals its
/// file in `schemas/` (the compiler's `SchemaTests` validate files against those schemas).
@Suite struct SchemaTests {
    @Test(arguments: JSONSchemas.kinds)
    func embeddedSchemaEqualsTheFile(kind: String) throws {
        let embedded = try #require(JSONSchemas.schema(for: kind))
        #expect(try Repository.text("schemas/\(kind).schema.json") == embedded + "\n",
                "schemas/\(kind).schema.json and JSONSchemas.\(kind) differ: run `python3 scripts/embed-schemas.py`")
        let parsed = try JSONSerialization.jsonObject(with: Data(embedded.utf8)) as? [String: Any]
        #expect(parsed?["$schema"] as? String == "http://json-schema.org/draft-07/schema#")
    }

    @Test func schemaCommandPrintsEachKind() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Repository.url("schemas").path).filter { $0.hasSuffix(".schema.json") }
        #expect(Set(files) == Set(JSONSchemas.kinds.map { "\($0).schema.json" }), "schemas/ and `ringfence schema` know other kinds")
        for (arguments, kind) in [(["schema"], "policy"), (["schema", "policy"], "policy"), (["schema", "tests"], "tests"), (["schema", "saga"], "saga"),
                                  (["schema", "runtime"], "runtime")] {
            let capture = CommandCapture()
            #expect(RingfenceCLI.run(arguments, io: capture.io) == 0)
            #expect(capture.stdout == JSONSchemas.schema(for: kind).map { $0 + "\n" })
        }
        let capture = CommandCapture()
        #expect(RingfenceCLI.run(["schema", "test"], io: capture.io) == 2)
        #expect(capture.stderr.contains("no schema for kind `test`"))
        #expect(capture.stderr.contains("did you mean `tests`?"))
    }
}
