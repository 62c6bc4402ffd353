import RingfenceWire
import Testing
import RingfenceDiagnostics
@testable import RingfenceVM
import RingfenceTestSupport

/// The request of SPEC §1, exactly as printed there.
private let specRequestText = """
{ "agent":    { "id": "did:mesh:agent-1", "trust": 0.85, "ring": 2, "consensus": false,
                "roles": ["analyst"], "attrs": { "team": "data" } },
  "action":   "fs.read",
  "resource": "/workspace/data/sales.csv",
  "params":   { "query": "SELECT 1", "method": "GET" },
  "context":  { "time": "2026-11-21T10:00:00Z", "session": "ss-1" } }
"""

/// The request of SPEC §1 as a Swift value.
private let specRequest = Request(
    agent: Agent(id: "did:mesh:agent-1", trust: 0.85, ring: 2, consensus: false,
                 roles: ["analyst"], attrs: ["team": .string("data")]),
    action: "fs.read",
    resource: "/workspace/data/sales.csv",
    params: ["query": .string("SELECT 1"), "method": .string("GET")],
    context: ["time": .string("2026-11-21T10:00:00Z"), "session": .string("ss-1")]
)

/// Decodes `text`, returning the error or nil when it decodes.
private func requestError(_ text: String) -> RequestError? {
    do {
        _ = try Request(json: text)
        return nil
    } catch {
        return error
    }
}

/// Decodes raw bytes, returning the request or the error.
private func decode(bytes: [UInt8]) -> Result<Request, RequestError> {
    bytes.withUnsafeBufferPointer { buffer in
        Result { () throws(RequestError) -> Request in try Request(jsonBytes: buffer) }
    }
}

/// Decodes raw bytes through the general parser and `Request(value:)`, keeping JSON error
/// positions (shape errors come out at 1:1 from this path, so positions are dropped for them).
private func viaValue(bytes: [UInt8]) -> Result<Request, RequestError> {
    let parsed = bytes.withUnsafeBufferPointer { buffer in
        Result { () throws(JSONParseError) -> Value in try JSONParser.parse(buffer) }
    }
    switch parsed {
    case .failure(let error):
        return .failure(RequestError(code: .requestJSON, message: error.message, line: error.line, column: error.column))
    case .success(let value):
        do {
            return .success(try Request(value: value))
        } catch {
            return .failure(error)
        }
    }
}

/// Drops positions of shape errors (which only text decoding knows) for comparisons.
private func comparable(_ result: Result<Request, RequestError>) -> Result<Request, RequestError> {
    result.mapError { error in
        error.code == .requestJSON ? error : RequestError(code: error.code, message: error.message)
    }
}

/// One request text and the error it must produce.
struct RequestErrorCase: Sendable, CustomStringConvertible {
    /// The JSON text.
    let text: String
    /// The expected code.
    let code: DiagnosticCode
    /// The expected message.
    let message: String
    /// The expected line.
    let line: Int
    /// The expected column.
    let column: Int

    /// Creates a case.
    init(_ text: String, _ code: DiagnosticCode, _ message: String, _ line: Int, _ column: Int) {
        self.text = text
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }

    /// The text, for test names.
    var description: String { text }
}

@Suite struct RequestDecodingTests {
    @Test func decodesTheSpecExample() throws {
        #expect(try Request(json: specRequestText) == specRequest)
    }

    @Test func decodesAMinimalRequestWithDefaults() throws {
        let request = try Request(json: #"{"agent":{"id":"a"},"action":"x"}"#)
        #expect(request == Request(agent: Agent(id: "a"), action: "x"))
    }

    @Test func treatsNullOptionalFieldsAsAbsent() throws {
        let text = #"""
        {"agent":{"id":"a","trust":null,"ring":null,"consensus":null,"roles":null,"attrs":null},
         "action":"x","resource":null,"params":null,"context":null}
        """#
        #expect(try Request(json: text) == Request(agent: Agent(id: "a"), action: "x"))
    }

    static let errors: [RequestErrorCase] = [
        RequestErrorCase("nope", .requestJSON, "expected a json value, found `nope`", 1, 1),
        RequestErrorCase(#"{"agent":{"id":"a"},"action":"x","action":"y"}"#, .requestJSON, "duplicate key `action`", 1, 34),
        RequestErrorCase("[1]", .requestNotObject, "a request must be a json object, found list", 1, 1),
        RequestErrorCase("  \"x\"", .requestNotObject, "a request must be a json object, found string", 1, 3),
        RequestErrorCase(#"{"action":"a"}"#, .requestMissingField, "missing required field `agent`", 1, 1),
        RequestErrorCase(#"{"agent":{},"action":"a"}"#, .requestMissingField, "missing required field `agent.id`", 1, 10),
        RequestErrorCase(#"{"agent":{"id":"x"}}"#, .requestMissingField, "missing required field `action`", 1, 1),
        RequestErrorCase(#"{"agent":{"id":""},"action":"a"}"#, .requestMissingField,
                         "required field `agent.id` must not be empty", 1, 16),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":""}"#, .requestMissingField,
                         "required field `action` must not be empty", 1, 30),
        RequestErrorCase(#"{"agent":"x","action":"a"}"#, .requestWrongType, "`agent` must be an object, found string", 1, 10),
        RequestErrorCase(#"{"agent":null,"action":"a"}"#, .requestWrongType, "`agent` must be an object, found null", 1, 10),
        RequestErrorCase(#"{"agent":{"id":7},"action":"a"}"#, .requestWrongType, "`agent.id` must be a string, found number", 1, 16),
        RequestErrorCase(#"{"agent":{"id":"x","trust":"high"},"action":"a"}"#, .requestWrongType,
                         "`agent.trust` must be a number, found string", 1, 28),
        RequestErrorCase(#"{"agent":{"id":"x","trust":1.5},"action":"a"}"#, .requestOutOfRange,
                         "`agent.trust` must be between 0 and 1, found `1.5`", 1, 28),
        RequestErrorCase(#"{"agent":{"id":"x","trust":-0.25},"action":"a"}"#, .requestOutOfRange,
                         "`agent.trust` must be between 0 and 1, found `-0.25`", 1, 28),
        RequestErrorCase(#"{"agent":{"id":"x","ring":4},"action":"a"}"#, .requestOutOfRange,
                         "`agent.ring` must be 0, 1, 2 or 3, found `4`", 1, 27),
        RequestErrorCase(#"{"agent":{"id":"x","ring":-1},"action":"a"}"#, .requestOutOfRange,
                         "`agent.ring` must be 0, 1, 2 or 3, found `-1`", 1, 27),
        RequestErrorCase(#"{"agent":{"id":"x","ring":1.5},"action":"a"}"#, .requestWrongType,
                         "`agent.ring` must be an integer, found `1.5`", 1, 27),
        RequestErrorCase(#"{"agent":{"id":"x","ring":"2"},"action":"a"}"#, .requestWrongType,
                         "`agent.ring` must be an integer, found string", 1, 27),
        RequestErrorCase(#"{"agent":{"id":"x","consensus":"yes"},"action":"a"}"#, .requestWrongType,
                         "`agent.consensus` must be a boolean, found string", 1, 32),
        RequestErrorCase(#"{"agent":{"id":"x","roles":"a"},"action":"a"}"#, .requestWrongType,
                         "`agent.roles` must be a list of strings, found string", 1, 28),
        RequestErrorCase(#"{"agent":{"id":"x","roles":["a",3]},"action":"a"}"#, .requestWrongType,
                         "`agent.roles[1]` must be a string, found number", 1, 33),
        RequestErrorCase(#"{"agent":{"id":"x","attrs":[]},"action":"a"}"#, .requestWrongType,
                         "`agent.attrs` must be an object, found list", 1, 28),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":5}"#, .requestWrongType, "`action` must be a string, found number", 1, 30),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":null}"#, .requestWrongType, "`action` must be a string, found null", 1, 30),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":"a","resource":5}"#, .requestWrongType,
                         "`resource` must be a string, found number", 1, 45),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":"a","params":[]}"#, .requestWrongType,
                         "`params` must be an object, found list", 1, 43),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":"a","context":"now"}"#, .requestWrongType,
                         "`context` must be an object, found string", 1, 44),
        RequestErrorCase(#"{"agent":{"id":"x"},"action":"a","resouce":"/r"}"#, .requestUnknownField,
                         "unknown field `resouce` in request; did you mean `resource`?", 1, 34),
        RequestErrorCase(#"{"agent":{"id":"x","trst":0.5},"action":"a"}"#, .requestUnknownField,
                         "unknown field `trst` in `agent`; did you mean `trust`?", 1, 20),
        RequestErrorCase(#"{"zzzzzz":1,"agent":{"id":"x"},"action":"a"}"#, .requestUnknownField,
                         "unknown field `zzzzzz` in request", 1, 2),
        RequestErrorCase(#"{"agnet":{"id":"x"},"zeta":1,"action":"a"}"#, .requestUnknownField,
                         "unknown field `agnet` in request; did you mean `agent`?", 1, 2),
        RequestErrorCase("{\n  \"agent\": {\"id\": \"x\",\n    \"ring\": 9},\n  \"action\": \"a\"\n}", .requestOutOfRange,
                         "`agent.ring` must be 0, 1, 2 or 3, found `9`", 3, 13),
        RequestErrorCase("{\"agent\": {\"id\": \"é😀\", \"roles\": [\"a\", \"b\", false]}, \"action\": \"a\"}", .requestWrongType,
                         "`agent.roles[2]` must be a string, found boolean", 1, 44),
    ]

    @Test(arguments: RequestDecodingTests.errors)
    func refusesBadRequest(_ example: RequestErrorCase) {
        let error = requestError(example.text)
        #expect(error == RequestError(code: example.code, message: example.message, line: example.line, column: example.column))
    }

    @Test func decodesFromValuesWithoutPositions() throws {
        let value = Value.object([
            "agent": .object(["id": .string("a"), "ring": .number(1), "roles": .list([.string("ops")])]),
            "action": .string("x"),
        ])
        #expect(try Request(value: value) == Request(agent: Agent(id: "a", ring: 1, roles: ["ops"]), action: "x"))

        #expect(throws: RequestError(code: .requestNotObject, message: "a request must be a json object, found list")) {
            try Request(value: .list([]))
        }
        let outOfRange = Value.object(["agent": .object(["id": .string("a"), "trust": .number(.nan)]), "action": .string("x")])
        #expect(throws: RequestError(code: .requestOutOfRange, message: "`agent.trust` must be between 0 and 1, found `null`",
                                     line: 1, column: 1)) {
            try Request(value: outOfRange)
        }
    }

    @Test func rendersErrorsAsDiagnostics() throws {
        let error = try #require(requestError(#"{"agent":{"id":"x","trust":2},"action":"a"}"#))
        #expect(error.description == "1:28: error[RF6005]: `agent.trust` must be between 0 and 1, found `2`")
        let diagnostic = error.diagnostic(file: "requests.jsonl")
        #expect(diagnostic.code == .requestOutOfRange)
        #expect(diagnostic.location == SourceLocation(file: "requests.jsonl", line: 1, column: 28))
    }

    // MARK: JSON Lines

    @Test func splitsJSONLines() throws {
        let input = "{\"agent\":{\"id\":\"a\"},\"action\":\"one\"}\n\n  \t\n{\"agent\":{\"id\":\"b\"},\"action\":\"two\"}\r\n\n"
        let reader = JSONLinesReader(Array(input.utf8))
        #expect(!reader.isSingleDocument)
        let elements = Array(reader)
        #expect(elements.map(\.line) == [1, 4])
        #expect(try elements.map { try $0.request().action } == ["one", "two"])
        #expect(elements.last.map { String(decoding: $0.bytes, as: UTF8.self) } == "{\"agent\":{\"id\":\"b\"},\"action\":\"two\"}")
    }

    @Test func readsAMultiLineDocumentAsOneRequest() throws {
        let reader = JSONLinesReader(Array(("\n\n" + specRequestText + "\n").utf8))
        #expect(reader.isSingleDocument)
        let elements = Array(reader)
        #expect(elements.count == 1)
        #expect(elements.first?.line == 3)
        #expect(try elements.first?.request() == specRequest)
    }

    @Test func positionsErrorsInTheWholeInput() {
        let document = "\n{\n  \"agent\": {\"id\": \"x\"},\n  \"action\": 5\n}\n"
        let elements = Array(JSONLinesReader(Array(document.utf8)))
        #expect(elements.count == 1)
        #expect(throws: RequestError(code: .requestWrongType, message: "`action` must be a string, found number", line: 4, column: 13)) {
            try elements.first?.request()
        }

        let lines = "{\"agent\":{\"id\":\"a\"},\"action\":\"ok\"}\n{\"agent\":{\"id\":\"a\"},\"action\":\"ok\",}\n"
        let lineElements = Array(JSONLinesReader(Array(lines.utf8)))
        #expect(lineElements.count == 2)
        #expect(throws: RequestError(code: .requestJSON, message: "trailing comma in object", line: 2, column: 35)) {
            try lineElements.last?.request()
        }
    }

    @Test func keepsABrokenMultiLineDocumentWhole() {
        let broken = "{\n  \"agent\": {\"id\": \"x\"}\n  \"action\": \"a\"\n}\n"
        let reader = JSONLinesReader(Array(broken.utf8))
        #expect(reader.isSingleDocument)
        let elements = Array(reader)
        #expect(elements.count == 1)
        #expect(throws: RequestError(code: .requestJSON, message: "expected `,` or `}` after object member", line: 3, column: 3)) {
            try elements.first?.request()
        }
    }

    @Test func yieldsNothingForBlankInput() {
        #expect(Array(JSONLinesReader([])).isEmpty)
        #expect(Array(JSONLinesReader(Array(" \n\r\n\t\n".utf8))).isEmpty)
    }

    // MARK: Output

    @Test func writesDecisionLines() {
        let allow = Decision(allowed: true, code: .allow, policy: "workspace", rule: "read-workspace",
                             reason: "workspace files are readable", ring: 2)
        #expect(allow.jsonLine == #"{"decision":"allow","code":"allow","policy":"workspace","rule":"read-workspace","reason":"workspace files are readable","ring":2}"#)
        let deny = Decision(allowed: false, code: .default, policy: nil, rule: nil, reason: "no rule applies", ring: 3)
        #expect(deny.jsonLine == #"{"decision":"deny","code":"default","policy":null,"rule":null,"reason":"no rule applies","ring":3}"#)
        let escaped = Decision(allowed: false, code: .rateLimit, policy: "p\"q", rule: "r", reason: "line\nbreak \\ é", ring: 0)
        #expect(escaped.jsonLine == #"{"decision":"deny","code":"rate_limit","policy":"p\"q","rule":"r","reason":"line\nbreak \\ é","ring":0}"#)
        #expect(Decision(allowed: false, code: .denyRule, policy: "p", rule: "r", reason: "", ring: 1).jsonLine.contains(#""code":"deny_rule""#))
    }

    @Test func writesRequestsCompactly() {
        let expected = #"{"agent":{"id":"did:mesh:agent-1","trust":0.85,"ring":2,"roles":["analyst"],"attrs":{"team":"data"}},"#
            + #""action":"fs.read","resource":"/workspace/data/sales.csv","params":{"method":"GET","query":"SELECT 1"},"#
            + #""context":{"session":"ss-1","time":"2026-11-21T10:00:00Z"}}"#
        #expect(specRequest.jsonText == expected)
        #expect(Request(agent: Agent(id: "a"), action: "x").jsonText == #"{"agent":{"id":"a"},"action":"x"}"#)
    }

    @Test func roundTripsRequests() throws {
        let requests = [
            specRequest,
            Request(agent: Agent(id: "a"), action: "x"),
            Request(agent: Agent(id: "é \"q\" \n", trust: 0, ring: 0, consensus: true, roles: ["a", "b"],
                                 attrs: ["n": .list([.number(-1.25e-9), .null, .bool(true)])]),
                    action: "tool.call", resource: "",
                    params: ["deep": .object(["x": .object(["y": .string("😀")])])], context: ["t": .number(1e21)]),
        ]
        for request in requests {
            #expect(try Request(json: request.jsonText) == request, "\(request.jsonText)")
        }
    }

    // MARK: Robustness

    @Test func survivesMutatedInput() {
        var random = SeededGenerator(seed: 0x5EED_F00D)
        let seed = Array(specRequestText.utf8)
        var decoded = 0
        var refused = 0
        for _ in 0..<5_000 {
            let bytes = Mutation.apply(to: seed, &random)
            let direct = decode(bytes: bytes)
            if comparable(direct) != comparable(viaValue(bytes: bytes)) {
                Issue.record("direct and value decoding disagree for \(String(decoding: bytes, as: UTF8.self))")
            }
            switch direct {
            case .success(let request):
                decoded += 1
                if (try? Request(json: request.jsonText)) != request {
                    Issue.record("round trip failed for \(String(decoding: bytes, as: UTF8.self))")
                }
            case .failure(let error):
                refused += 1
                if error.line < 1 || error.column < 1 || error.message.isEmpty || error.message.contains("\n") {
                    Issue.record("bad error \(error) for \(String(decoding: bytes, as: UTF8.self))")
                }
            }
            for element in JSONLinesReader(bytes) { _ = try? element.request() }
        }
        #expect(decoded > 100)
        #expect(refused > 1_000)
    }
}
