import Foundation
import Ringfence
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing
@testable import RingfenceVM
@testable import RingfenceWire

/// Decoding JSON straight into the slot layout (`PreparedRequestDecoder`) against the general
/// path (`Request(jsonBytes:)` then `PreparedRequest(_:for:)`): for every input, both give the
/// same error (code, message, line, column), or the same prepared request — register for
/// register, byte for byte — and so the same decision.
@Suite struct PreparedRequestDecodingTests {
    /// A policy whose slots read every kind of request value: fixed fields with and without
    /// `lower`/`upper`, the URL's query and fragment, nested `params`, `context` and
    /// `agent.attrs` paths, bracketed keys (one with a non-ASCII name, one with U+212A KELVIN
    /// SIGN, equal to `K` under canonical equivalence), lists and `agent.roles`.
    static let wide = """
    ringfence: 1
    kind: policy
    name: wide
    rules:
      - id: deny-drop
        effect: deny
        action: database.query
        when: params.query =~ "(?i)\\\\bdrop\\\\b"
        reason: destructive sql
      - id: deny-method
        effect: deny
        actions: ["http.*"]
        when: lower(params.method) == "delete" || upper(params["content-type"]) == "APPLICATION/X-EVIL"
      - id: deny-query
        effect: deny
        actions: ["http.*"]
        when: lower(resource_query) == "debug=1" || resource_fragment == "admin" || upper(resource) == "HTTPS://EVIL.EXAMPLE/"
      - id: deny-unicode
        effect: deny
        actions: ["*"]
        when: params["é"] == "x" || params["\u{212A}"] == "kelvin" || lower(params.name) == "émile"
      - id: allow-team
        effect: allow
        actions: ["*"]
        ring: 2
        when: agent.attrs.team == "data" && agent.attrs.org.unit in ["r&d", "ops"] && "analyst" in agent.roles
      - id: allow-nested
        effect: allow
        action: tool.call
        when: params.nested.deep.value > 3 && len(params.list) >= 1 && has(params.flag) && lower(agent.attrs.name) != "x"
      - id: allow-context
        effect: allow
        action: fs.read
        resources: ["/workspace/**"]
        when: context.env == "prod" && context.region in ["eu", "us"] && has(context.deep.a.b) && lower(context.session) != "bad"
      - id: allow-agent
        effect: allow
        actions: ["fs.*", "db.*"]
        when: agent.trust >= 0.5 && agent.consensus && agent.ring <= 2 && lower(agent.id) != "root" && upper(action) != "FS.DROP"
      - id: allow-time
        effect: allow
        action: clock.read
        when: context.time == "2026-11-21T10:00:00Z" || glob(params.path, "/tmp/**") || contains(params.tags, "pii") || upper(params.list) == "X"
    """

    /// A malformed request of every kind (the wire tests' examples, with the messages they
    /// expect, plus duplicates, escapes and nesting), each refused by both paths alike.
    static let errorExamples: [String] = [
        "nope",
        #"{"agent":{"id":"a"},"action":"x","action":"y"}"#,
        "[1]",
        "  \"x\"",
        #"{"action":"a"}"#,
        #"{"agent":{},"action":"a"}"#,
        #"{"agent":{"id":"x"}}"#,
        #"{"agent":{"id":""},"action":"a"}"#,
        #"{"agent":{"id":"x"},"action":""}"#,
        #"{"agent":"x","action":"a"}"#,
        #"{"agent":null,"action":"a"}"#,
        #"{"agent":{"id":7},"action":"a"}"#,
        #"{"agent":{"id":"x","trust":"high"},"action":"a"}"#,
        #"{"agent":{"id":"x","trust":1.5},"action":"a"}"#,
        #"{"agent":{"id":"x","trust":-0.25},"action":"a"}"#,
        #"{"agent":{"id":"x","ring":4},"action":"a"}"#,
        #"{"agent":{"id":"x","ring":-1},"action":"a"}"#,
        #"{"agent":{"id":"x","ring":1.5},"action":"a"}"#,
        #"{"agent":{"id":"x","ring":"2"},"action":"a"}"#,
        #"{"agent":{"id":"x","consensus":"yes"},"action":"a"}"#,
        #"{"agent":{"id":"x","roles":"a"},"action":"a"}"#,
        #"{"agent":{"id":"x","roles":["a",3]},"action":"a"}"#,
        #"{"agent":{"id":"x","attrs":[]},"action":"a"}"#,
        #"{"agent":{"id":"x"},"action":5}"#,
        #"{"agent":{"id":"x"},"action":null}"#,
        #"{"agent":{"id":"x"},"action":"a","resource":5}"#,
        #"{"agent":{"id":"x"},"action":"a","params":[]}"#,
        #"{"agent":{"id":"x"},"action":"a","context":"now"}"#,
        #"{"agent":{"id":"x"},"action":"a","resouce":"/r"}"#,
        #"{"agent":{"id":"x","trst":0.5},"action":"a"}"#,
        #"{"zzzzzz":1,"agent":{"id":"x"},"action":"a"}"#,
        #"{"agnet":{"id":"x"},"zeta":1,"action":"a"}"#,
        "{\n  \"agent\": {\"id\": \"x\",\n    \"ring\": 9},\n  \"action\": \"a\"\n}",
        "{\"agent\": {\"id\": \"é😀\", \"roles\": [\"a\", \"b\", false]}, \"action\": \"a\"}",
        #"{"agent":{"id":"x","id":"y"},"action":"a"}"#,
        #"{"agent":{"id":"x"},"action":"a","params":{"k":1,"k":2}}"#,
        #"{"agent":{"id":"x"},"action":"a","params":{"k":1,"\u006b":2}}"#,
        #"{"agent":{"id":"x"},"action":"a","context":{"time":"2026-13-01T00:00:00Z"}}"#,
        #"{"agent":{"id":"x"},"action":"a","context":{"time":5}}"#,
        #"{"agent":{"id":"x"},"action":"a\x"}"#,
        #"{"agent":{"id":"x"},"action":"\ud800"}"#,
        #"{"agent":{"id":"x"},"action":"a"} {}"#,
        #"{"agent":{"id":"x"},"action":"a",}"#,
        #"{"agent":{"id":"\u0000"},"action":"a","params":{"n":01}}"#,
        "{\"agent\":{\"id\":\"x\"},\"action\":\"a\u{01}\"}",
    ]

    /// The machine of `wide`.
    static let wideMachine: Machine = try! Engine(source: wide).machine

    // MARK: Corpora

    @Test func agreesOnTheEvaluationCorpus() throws {
        let names = try EvalCorpus.files()
        var tally = Tally()
        var random = SeededGenerator(seed: 0xC0DE_C0DE)
        for name in names {
            let corpus = try EvalCorpus.load(name)
            let engine = try corpus.engine(clock: corpus.startClock())
            let decoder = PreparedRequestDecoder(machine: engine.machine, readsTime: true, readsSession: true)
            for request in corpus.cases.map(\.request) {
                let text = Array(request.jsonText.utf8)
                compare(text, decoder, &tally, "\(name)")
                for _ in 0..<20 { compare(Mutation.apply(to: text, &random), decoder, &tally, "\(name) (mutated)") }
            }
        }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches.prefix(5))")
        #expect(tally.fast > 300, "only \(tally.fast) corpus requests took the fast path")
    }

    @Test func agreesOnTheFuzzingCorpus() throws {
        let directory = Repository.url("Fuzz/Corpus/request")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        try #require(names.count > 100, "no request fuzzing corpus found")
        let decoders = [Self.wideMachine, try Engine(source: Samples.workspacePolicy).machine].map {
            PreparedRequestDecoder(machine: $0, readsTime: true, readsSession: true)
        }
        var tally = Tally()
        for name in names {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
            for decoder in decoders { compare(bytes, decoder, &tally, name) }
        }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches.prefix(5))")
        #expect(tally.fast > 200)
    }

    @Test func agreesOnTheErrorExamples() {
        let decoder = PreparedRequestDecoder(machine: Self.wideMachine)
        var tally = Tally()
        for text in Self.errorExamples { compare(Array(text.utf8), decoder, &tally, text) }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches)")
        #expect(tally.errors == Self.errorExamples.count, "\(tally)")
    }

    // MARK: Generated and mutated lines

    @Test func agreesOnGeneratedAndMutatedRequests() {
        let decoders = [false, true].map { PreparedRequestDecoder(machine: Self.wideMachine, readsTime: $0, readsSession: $0) }
        var generator = RequestTextGenerator(seed: 0x5107_DEC0)
        var random = SeededGenerator(seed: 0x0DD_B17E5)
        var generated = Tally(), mutated = Tally()
        for i in 0..<16_000 {
            let text = Array(generator.request().utf8)
            compare(text, decoders[i % 2], &generated, "generated #\(i)")
            compare(Mutation.apply(to: text, &random), decoders[i % 2], &mutated, "mutated #\(i)")
        }
        #expect(generated.mismatches.isEmpty, "\(generated.mismatches.prefix(5))")
        #expect(mutated.mismatches.isEmpty, "\(mutated.mismatches.prefix(5))")
        // Every side of the comparison is exercised: valid requests read on the fast path, valid
        // ones it leaves to the general path (the generator often writes non-ASCII or escaped
        // keys), and the broken ones and the mutations give errors of every kind.
        #expect(generated.fast > 4_000, "\(generated)")
        #expect(generated.generalValid > 2_000, "\(generated)")
        #expect(generated.errors > 5_000, "\(generated)")
        #expect(mutated.errors > 12_000, "\(mutated)")
        #expect(mutated.fast > 200, "\(mutated)")
        #expect(Set(generated.codes.keys).union(mutated.codes.keys).isSuperset(of: [
            "RF6001", "RF6002", "RF6003", "RF6004", "RF6005", "RF6006",
        ]), "\(generated.codes) \(mutated.codes)")
    }

    /// One storage refilled request after request (`PreparedRequest.refill`, how a runtime
    /// session lays its requests out) holds each time exactly what a fresh `PreparedRequest`
    /// holds, with and without supplied agent fields, whatever the requests before it left.
    @Test func refillingOneStorageLaysOutWhatAFreshRequestDoes() {
        var generator = RequestTextGenerator(seed: 0x2EF1_11ED)
        var random = SeededGenerator(seed: 0x2EF1_11EE)
        var storage = PreparedRequest()
        var compared = 0
        for _ in 0..<6_000 {
            let text = Array(generator.request().utf8)
            guard let request = text.withUnsafeBufferPointer({ try? Request(jsonBytes: $0) }) else { continue }
            let supplied: (trust: Double, ring: Int, consensus: Bool)? = random.chance(1, in: 2)
                ? (random.pick([0, 0.5, 0.85, 1]), random.below(6) - 1, random.chance(1, in: 2)) : nil
            let fresh = PreparedRequest(request, for: Self.wideMachine, supplying: supplied)
            storage.refill(request, for: Self.wideMachine, supplying: supplied)
            #expect(Layout(storage) == Layout(fresh), "\(String(decoding: text.prefix(300), as: UTF8.self))")
            #expect(Self.wideMachine.decide(storage) == Self.wideMachine.decide(fresh))
            compared += 1
        }
        #expect(compared > 2_000, "only \(compared) generated requests were valid")
    }

    @Test func agreesOnJSONLinesPositions() {
        let decoder = PreparedRequestDecoder(machine: Self.wideMachine, readsTime: true, readsSession: true)
        var generator = RequestTextGenerator(seed: 0x11AE5, newlines: false)
        var random = SeededGenerator(seed: 0xB0B)
        var input: [UInt8] = []
        for i in 0..<2_000 {
            var line = Array(generator.request().utf8)
            if i % 5 == 0 { line = Mutation.apply(to: line, &random).filter { $0 != UInt8(ascii: "\n") } }
            if i % 7 == 0 { input += Array("   \r\n".utf8) }
            input += line + [UInt8(ascii: i % 3 == 0 ? "\r" : " "), UInt8(ascii: "\n")]
        }
        let reader = JSONLinesReader(input)
        #expect(!reader.isSingleDocument)
        var compared = 0
        var failures = 0
        for element in reader {
            let general = Result { () throws(RequestError) -> Request in try element.request() }
            let direct = Result { () throws(RequestError) -> DecodedRequest in try element.decode(with: decoder) }
            switch (general, direct) {
            case (.failure(let a), .failure(let b)):
                #expect(a == b)
                failures += 1
            case (.success(let request), .success(let decoded)):
                #expect(Layout(decoded.prepared) == Layout(PreparedRequest(request, for: Self.wideMachine)), "line \(element.line)")
            default:
                Issue.record("line \(element.line): \(general) against \(direct)")
            }
            compared += 1
        }
        #expect(compared == 2_000)
        #expect(failures > 200)
    }

    // MARK: Limits

    @Test func refusesWhatTheGeneralPathRefuses() {
        let decoder = PreparedRequestDecoder(machine: Self.wideMachine)
        var tally = Tally()
        // Nesting at and past the limit (64), in a value no slot reads and in one a slot reads.
        for depth in [62, 63, 64, 65] {
            for key in ["other", "list"] {
                let value = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                compare(Array(#"{"agent":{"id":"a"},"action":"tool.call","params":{"\#(key)":\#(value)}}"#.utf8), decoder, &tally, "depth \(depth)")
            }
        }
        // A string read by two slots (`params.list` as written, which `len` reads too, and under
        // `upper`) is laid out twice: past 16 MiB together the request is too large to decide.
        let big = String(repeating: "x", count: 9 << 20)
        compare(Array(#"{"agent":{"id":"a"},"action":"t","params":{"list":"\#(big)"}}"#.utf8), decoder, &tally, "too large once decoded")
        compare(Array(#"{"agent":{"id":"a"},"action":"t","params":{"name":"\#(big)"}}"#.utf8), decoder, &tally, "large")
        // A text over 16 MiB is refused before it is read (RF6007); one of exactly 16 MiB is read.
        let request = #"{"agent":{"id":"a"},"action":"t"}"#
        let huge = String(repeating: " ", count: 16 << 20) + request
        compare(Array(huge.utf8), decoder, &tally, "text too large")
        let atLimit = String(repeating: " ", count: (16 << 20) - request.utf8.count) + request
        compare(Array(atLimit.utf8), decoder, &tally, "text at the limit")
        // Objects with many keys, keys with escapes or non-ASCII bytes take the general path.
        let many = (0..<100).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        compare(Array(#"{"agent":{"id":"a"},"action":"t","params":{\#(many)}}"#.utf8), decoder, &tally, "many keys")
        compare(Array(#"{"agent":{"id":"a"},"action":"t","params":{\#(many),"k7":1}}"#.utf8), decoder, &tally, "many keys, one twice")
        compare(Array(#"{"agent":{"id":"a"},"act\u0069on":"t"}"#.utf8), decoder, &tally, "escaped key")
        compare(Array(#"{"agent":{"id":"a"},"action":"t","params":{"\#u{212A}":"kelvin"}}"#.utf8), decoder, &tally, "kelvin")
        compare(Array(#"{"agent":{"id":"a"},"action":"t","params":{"e\#u{301}":"x","é":"y"}}"#.utf8), decoder, &tally, "equivalent keys")
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches)")
        #expect(tally.codes["RF6007"] == 1, "\(tally.codes)")
        #expect(tally.tooLarge == 1, "\(tally)")
        #expect(tally.fast >= 3, "\(tally)")
    }

    @Test func readsTheKelvinSignKeyLikeTheGeneralPath() throws {
        let decoder = PreparedRequestDecoder(machine: Self.wideMachine)
        let text = #"{"agent":{"id":"a"},"action":"t","params":{"K":"kelvin"}}"#
        let decoded = try Array(text.utf8).withUnsafeBufferPointer { try decoder.decode($0) }
        let decision = Self.wideMachine.decide(decoded.prepared)
        #expect(decision.rule == "deny-unicode")
    }
}

// MARK: Comparing the two paths

/// What a comparison run saw.
struct Tally: CustomStringConvertible {
    /// Inputs where the paths disagree, described.
    var mismatches: [String] = []
    /// Inputs read on the fast path.
    var fast = 0
    /// Valid inputs the fast path left to the general path.
    var generalValid = 0
    /// Inputs both paths refused.
    var errors = 0
    /// Inputs both paths found too large to decide.
    var tooLarge = 0
    /// Refusals by code.
    var codes: [String: Int] = [:]

    /// A one-line summary.
    var description: String {
        "fast \(fast), valid on the general path \(generalValid), errors \(errors) \(codes.sorted { $0.key < $1.key })"
    }
}

/// Decodes `bytes` both ways with `decoder`'s machine and records whether they agree.
func compare(_ bytes: [UInt8], _ decoder: PreparedRequestDecoder, _ tally: inout Tally, _ label: String) {
    bytes.withUnsafeBufferPointer { buffer in
        let general = Result { () throws(RequestError) -> DecodedRequest in
            let request = try Request(jsonBytes: buffer)
            var prepared = PreparedRequest(request, for: decoder.machine)
            if decoder.readsTime { prepared.time = Timestamp.time(of: request) }
            var session: String?
            if decoder.readsSession, case .string(let text)? = request.context["session"] { session = text }
            return DecodedRequest(prepared: prepared, session: session)
        }
        let direct = Result { () throws(RequestError) -> DecodedRequest in try decoder.decode(buffer) }
        let fast = decoder.decodeFast(buffer)
        let shown = String(decoding: bytes.prefix(300), as: UTF8.self)
        switch (general, direct) {
        case (.failure(let a), .failure(let b)):
            tally.errors += 1
            tally.codes[a.code.rawValue, default: 0] += 1
            if a != b { tally.mismatches.append("\(label): \(a) against \(b) for \(shown)") }
            if fast != nil { tally.mismatches.append("\(label): the fast path read an input the general path refuses: \(shown)") }
        case (.success(let a), .success(let b)):
            if let fast {
                tally.fast += 1
                if !same(a, fast, decoder.machine) { tally.mismatches.append("\(label): the fast path differs for \(shown)") }
            } else {
                tally.generalValid += 1
            }
            if a.prepared.tooLarge { tally.tooLarge += 1 }
            if !same(a, b, decoder.machine) { tally.mismatches.append("\(label): the paths differ for \(shown)") }
        default:
            tally.mismatches.append("\(label): \(general) against \(direct) for \(shown)")
        }
    }
}

/// True when two decoded requests have the same layout, time, session and decision.
func same(_ a: DecodedRequest, _ b: DecodedRequest, _ machine: Machine) -> Bool {
    guard Layout(a.prepared) == Layout(b.prepared), a.session == b.session,
          a.prepared.time?.bitPattern == b.prepared.time?.bitPattern else { return false }
    let x = machine.decide(a.prepared), y = machine.decide(b.prepared)
    return x == y && x.reason == y.reason && x.policy == y.policy && x.rule == y.rule
}

/// Everything a prepared request holds, comparable (numbers by bit pattern).
struct Layout: Equatable {
    /// The registers, slots first, then the list items.
    var registers: [[UInt64]]
    /// The arena's bytes.
    var bytes: [UInt8]
    /// The ranges, ring, flags and agent id.
    var header: [String]

    /// The layout of `prepared`.
    init(_ prepared: PreparedRequest) {
        func fields(_ r: Register) -> [UInt64] {
            [UInt64(r.tag.rawValue), UInt64(r.space), r.boolean ? 1 : 0, r.number.bitPattern, UInt64(bitPattern: Int64(r.offset)), UInt64(bitPattern: Int64(r.count))]
        }
        registers = prepared.slots.map(fields) + [[UInt64.max]] + prepared.arena.items.map(fields)
        bytes = prepared.arena.bytes
        header = ["\(prepared.action)", "\(String(describing: prepared.resource))", "\(prepared.agent)", "\(prepared.ring)",
                  "\(prepared.resourceUnplaceable)", "\(prepared.tooLarge)", prepared.agentID]
    }
}
