import NIOCore
import NIOHTTP1
import RingfenceRuntime
@testable import RingfenceServer
import RingfenceTestSupport
import Testing

/// The decision routes read straight from the body (`directDecision`, `directBatch`) answer
/// exactly as the general path — the body parsed whole and every operation run through the
/// dispatcher — byte for byte, on generated corpora of valid, invalid and mutated bodies.
@Suite struct DirectDecisionTests {
    /// Two routers in the same state: one answers through its routes, the other the general way.
    struct Pair {
        /// Answers through `Router.answer`, so through the direct paths.
        let direct: Router
        /// Answers through the general path only.
        let general: Router

        /// Two routers over fresh memory stores, each with the active session `s1` (agent-1
        /// joined) and the session `s2` still handshaking.
        init(_ scratch: Scratch, maxBatchItems: Int) throws {
            let policies = try InProcess.policies(scratch)
            direct = InProcess.router(try InProcess.host(policies, store: MemoryStore()), maxBatchItems: maxBatchItems)
            general = InProcess.router(try InProcess.host(policies, store: MemoryStore()), maxBatchItems: maxBatchItems)
            let setup = [
                #"{"op":"session.create","session":"s1"}"#, #"{"op":"session.join","session":"s1","agent":"agent-1","trust":0.9}"#,
                #"{"op":"session.activate","session":"s1"}"#, #"{"op":"session.create","session":"s2"}"#,
            ]
            for router in [direct, general] {
                for line in setup {
                    let outcome = router.host.withCurrent { $0.dispatcher.dispatch(line: line) }
                    guard outcome.ok else { throw HarnessError("setup failed: \(outcome.line)") }
                }
            }
        }
    }

    @Test func batchesAnswerAsTheGeneralPathByteForByte() throws {
        let scratch = try Scratch("direct-batch")
        let pair = try Pair(scratch, maxBatchItems: 12)
        var random = SeededGenerator(seed: 0x5EED_BA7C)
        var fastBodies = 0, fastItems = 0, otherItems = 0, refusedBodies = 0
        for round in 0..<3_000 {
            var body = Array(BodyGenerator.batch(&random).utf8)
            if random.chance(1, in: 3) { body = Mutation.apply(to: body, &random) }
            let buffer = ByteBuffer(bytes: body)
            let expected = pair.general.generalBatch(buffer)
            let answered = pair.direct.answer(.batch, query: nil, headers: HTTPHeaders(), body: buffer)
            #expect(answered.status == expected.status, "round \(round): \(String(decoding: body, as: UTF8.self))")
            #expect(answered.body == expected.body, "round \(round): \(String(decoding: body, as: UTF8.self))")
            #expect(answered.contentType == expected.contentType)
            if let items = body.withUnsafeBufferPointer({ DecisionBodyScanner.batchItems($0, listKey: "ops") }), items.count <= 12 {
                fastBodies += 1
                for item in items {
                    if case .decision = item { fastItems += 1 } else { otherItems += 1 }
                }
            }
            if expected.status != .ok { refusedBodies += 1 }
        }
        // The corpus exercises both paths: bodies read directly (with decisions and other items
        // in them) and bodies refused as a whole.
        #expect(fastBodies > 1_000, "\(fastBodies) bodies on the direct path")
        #expect(fastItems > 2_000, "\(fastItems) decisions on the direct path")
        #expect(otherItems > 800, "\(otherItems) items left to the dispatcher")
        #expect(refusedBodies > 300, "\(refusedBodies) bodies refused")
    }

    @Test func singleDecisionsAnswerAsTheGeneralPathByteForByte() throws {
        let scratch = try Scratch("direct-decide")
        let pair = try Pair(scratch, maxBatchItems: 12)
        var random = SeededGenerator(seed: 0xDEC1DE)
        var fastBodies = 0, refusedBodies = 0
        for round in 0..<4_000 {
            let op: String? = random.chance(1, in: 10) ? random.pick(["decide", "decid\\u0065", "ops"]) : nil
            var body = Array(BodyGenerator.decision(&random, op: op).utf8)
            if random.chance(1, in: 3) { body = Mutation.apply(to: body, &random) }
            let buffer = ByteBuffer(bytes: body)
            let expected = pair.general.operation("decide", body: buffer, bodyRequired: true)
            let answered = pair.direct.answer(.decide, query: nil, headers: HTTPHeaders(), body: buffer)
            #expect(answered.status == expected.status, "round \(round): \(String(decoding: body, as: UTF8.self))")
            #expect(answered.body == expected.body, "round \(round): \(String(decoding: body, as: UTF8.self))")
            if body.withUnsafeBufferPointer({ DecisionBodyScanner.decision($0) }) != nil { fastBodies += 1 }
            if expected.status != .ok { refusedBodies += 1 }
        }
        #expect(fastBodies > 1_500, "\(fastBodies) bodies on the direct path")
        #expect(refusedBodies > 500, "\(refusedBodies) bodies refused")
        // An empty body is refused as the general path refuses it.
        let empty = pair.direct.answer(.decide, query: nil, headers: HTTPHeaders(), body: nil)
        #expect(empty.status == .badRequest)
        #expect(empty.body == pair.general.operation("decide", body: nil, bodyRequired: true).body)
    }

    /// JSON quoting copies plain text whole (what the answers' quoting relies on for speed) and
    /// writes exactly what escaping scalar by scalar writes.
    @Test func quotingCopiesPlainTextWholeAndEscapesTheRest() {
        func escaped(_ s: String) -> String {
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case let c where c.value < 0x20:
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        var random = SeededGenerator(seed: 0x0A07_2E4)
        let pieces = ["a", "é", "\"", "\\", "\n", "\u{1}", "\u{1F}", " ", "/", "\u{7F}", "𝄞", "\u{2028}", "reason"]
        var plain = 0
        for _ in 0..<2_000 {
            let text = (0..<random.below(12)).map { _ in random.pick(pieces) }.joined()
            if JSONText.isPlain(text) { plain += 1 }
            #expect(JSONText.quote(text) == escaped(text), "\(text.debugDescription)")
        }
        #expect(plain > 100 && plain < 1_900, "\(plain) plain texts")
    }

    @Test func theScannerSplitsBatchesAndFindsDecisions() {
        let body = #"{"ops":[{"request":{"agent":{"id":"a"},"action":"x"},"op":"decide","session":"s1"}, 7 ,{"op":"decide"}]}"#
        let items = Array(body.utf8).withUnsafeBufferPointer { DecisionBodyScanner.batchItems($0, listKey: "ops") }
        #expect(items?.count == 3)
        guard let items, case .decision(let spans) = items[0] else {
            Issue.record("the first item is not read as a decision")
            return
        }
        let text = Array(body.utf8)
        #expect(String(decoding: text[spans.request], as: UTF8.self) == #"{"agent":{"id":"a"},"action":"x"}"#)
        #expect(spans.session.map { String(decoding: text[$0], as: UTF8.self) } == "s1")
        #expect(spans.namesOperation)
        let seven = text.firstIndex(of: UInt8(ascii: "7")) ?? 0
        #expect(items[1] == .other(seven ..< seven + 1))
        if case .other = items[2] {} else { Issue.record("an item without a request is left to the dispatcher") }
        // Not a batch of this shape: nil, whatever is wrong.
        for refused in [#"{"ops":[1],"x":2}"#, #"{"ops":{}}"#, #"{"ops":[1,]}"#, #"{"ops":[1]} x"#, #"{"ops":[1],"ops":[2]}"#, "[]", ""] {
            #expect(Array(refused.utf8).withUnsafeBufferPointer { DecisionBodyScanner.batchItems($0, listKey: "ops") } == nil, "\(refused)")
        }
    }
}

/// Request bodies for the differential tests: mostly well formed, with every kind of fault an
/// item or a body can have.
enum BodyGenerator {
    /// A `{"ops": [...]}` body (or, now and then, one of the wrong shape).
    static func batch(_ random: inout SeededGenerator) -> String {
        let count = random.chance(1, in: 12) ? 13 + random.below(3) : random.below(8)
        let items = (0..<count).map { _ in item(&random) }
        let list = "[" + items.joined(separator: random.pick([",", ", ", " ,\n"])) + "]"
        switch random.below(24) {
        case 0: return #"{"ops":"# + list + #","extra":1}"#
        case 1: return #"{"ops":{}}"#
        case 2: return #"{"ops":null}"#
        case 3: return "{}"
        case 4: return list
        case 5: return ""
        case 6: return "\u{FEFF}" + #"{"ops":"# + list + "}"
        case 7: return #"{"op\u0073":"# + list + "}"
        default: return random.pick(["", " ", "\n"]) + #"{"ops":"# + random.pick(["", " "]) + list + "}" + random.pick(["", "\n"])
        }
    }

    /// One item of a batch.
    static func item(_ random: inout SeededGenerator) -> String {
        switch random.below(20) {
        case 0: return random.pick([#"{"op":"session.get","session":"nope"}"#, #"{"op":"session.get"}"#, #"{"op":"session.get","session":"bad id!"}"#])
        case 1: return #"{"op":"nothing"}"#
        case 2: return random.pick(["1", #""x""#, "null", "[]", "{}", "true"])
        case 3: return #"{"op":"decide"}"#
        case 4: return #"{"op":"decide","request":"# + request(&random) + #","extra":"2026-01-01T00:00:00Z"}"#
        case 5: return #"{"op":"decide","request":"# + request(&random) + #","request":{}}"#
        case 6: return #"{"op":"decid\u0065","request":"# + request(&random) + "}"
        default: return decision(&random, op: "decide")
        }
    }

    /// A decision object: `op` when given, `request`, sometimes `session`, in any order.
    static func decision(_ random: inout SeededGenerator, op: String?) -> String {
        var members = [#""request":"# + request(&random)]
        if let op { members.append(#""op":""# + op + #"""#) }
        if random.chance(1, in: 3) {
            members.append(#""session":"# + random.pick([#""s1""#, #""s1""#, #""s2""#, #""nope""#, #""bad id!""#, "null", "3", #""s\u0031""#, #""""#]))
        }
        if random.chance(1, in: 40) { members.append(#""extra":true"#) }
        members.shuffle(using: &random)
        return "{" + members.joined(separator: random.pick([",", ", "])) + "}"
    }

    /// A request (SPEC §1), valid most of the time.
    static func request(_ random: inout SeededGenerator) -> String {
        var agent = [#""id":"# + random.pick([#""agent-1""#, #""agent-1""#, #""agent-2""#, #""""#, "7", #""ag\u0065nt-1""#])]
        if random.chance(2, in: 3) { agent.append(#""trust":"# + random.pick(["0.8", "0.3", "1", "0", "2", #""high""#, "null", "8e-1"])) }
        if random.chance(1, in: 4) { agent.append(#""ring":"# + random.pick(["0", "2", "3", "4", "1.5", "null"])) }
        if random.chance(1, in: 5) { agent.append(#""roles":"# + random.pick([#"["admin"]"#, "[]", "[1]", "null"])) }
        if random.chance(1, in: 5) { agent.append(#""attrs":"# + random.pick([#"{"team":"data"}"#, "{}", "[]", #"{"a":{"b":[1,2]}}"#])) }
        if random.chance(1, in: 8) { agent.append(#""consensus":"# + random.pick(["true", "false", "null", "1"])) }
        if random.chance(1, in: 40) { agent.append(#""extra":1"#) }
        agent.shuffle(using: &random)
        var members = [#""agent":{"# + agent.joined(separator: ",") + "}"]
        members.append(#""action":"# + random.pick([#""fs.read""#, #""fs.read""#, #""fs.write""#, #""database.query""#, #""""#, "5"]))
        if random.chance(3, in: 4) {
            members.append(#""resource":"# + random.pick([#""/workspace/a.csv""#, #""/workspace/a.csv""#, #""/etc/passwd""#, "null", "7",
                                                          #""/workspace/\u00e9t\u00e9.txt""#]))
        }
        if random.chance(1, in: 2) {
            members.append(#""params":"# + random.pick(["{}", #"{"query":"DROP TABLE t"}"#, #"{"query":"select 1","n":[1,2.5,-3e2]}"#, "null", "[]"]))
        }
        if random.chance(1, in: 4) {
            members.append(#""context":"# + random.pick([#"{"time":"2026-01-01T00:00:00Z"}"#, #"{"time":"yesterday"}"#, #"{"session":"x"}"#, "{}", "3"]))
        }
        if random.chance(1, in: 40) { members.append(#""bogus":1"#) }
        if random.chance(1, in: 60) { members.removeFirst() }
        members.shuffle(using: &random)
        return "{" + members.joined(separator: random.pick([",", ", ", ",\n "])) + "}"
    }
}
