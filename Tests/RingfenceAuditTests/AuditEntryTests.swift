import RingfenceWire
import Testing
@testable import RingfenceAudit
import RingfenceVM
import RingfenceTestSupport

/// A valid envelope in JSON, with `replacing` members swapped in (nil removes a member).
private func envelopeText(_ replacing: [String: String?] = [:]) -> String {
    var members: [(String, String)] = [
        ("v", "1"), ("seq", "41"), ("time", #""2026-11-21T10:00:00.000000Z""#), ("kind", #""decision""#),
        ("session", #""s1""#), ("agent", #""a1""#),
        ("data_hash", "\"" + String(repeating: "ab", count: 32) + "\""),
        ("prev", "\"" + String(repeating: "0f", count: 32) + "\""),
    ]
    for (key, value) in replacing {
        members.removeAll { $0.0 == key }
        if let value { members.append((key, value)) }
    }
    return "{" + members.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

/// The message of the error reading `text` as an envelope, or nil when it reads.
private func entryError(_ text: String) -> String? {
    AuditTestSupport.auditError { _ = try AuditEntry(parsing: text) }?.message
}

/// The entry envelope (SPEC §9.1): canonical bytes, entry hash, strict reading, and time.
@Suite struct AuditEntryTests {
    /// A random envelope with awkward strings and absent session or agent.
    static func randomEntry(_ generator: inout SeededGenerator) throws -> AuditEntry {
        let kind = "k" + AuditTestSupport.randomString(&generator)
        let session = Bool.random(using: &generator) ? AuditTestSupport.randomString(&generator) : nil
        let agent = Bool.random(using: &generator) ? AuditTestSupport.randomString(&generator) : nil
        let micros = Int64.random(in: AuditTime.earliest.microseconds...AuditTime.latest.microseconds, using: &generator)
        let seq = Bool.random(using: &generator) ? UInt64.random(in: 0...1000, using: &generator)
            : UInt64.random(in: 0...AuditEntry.maximumSeq, using: &generator)
        return try AuditEntry(seq: seq, time: try AuditTime(microseconds: micros), kind: kind, session: session, agent: agent,
                              dataHash: AuditHash.sha256([UInt8(truncatingIfNeeded: seq)]), prev: AuditHash.sha256(Array(kind.utf8)))
    }

    /// The directly written canonical bytes equal RFC 8785 applied to the envelope object, and
    /// reading them back gives the same envelope.
    @Test func directCanonicalBytesEqualJCSOfTheObject() throws {
        var generator = SeededGenerator(seed: 91)
        for _ in 0..<3000 {
            let entry = try Self.randomEntry(&generator)
            let bytes = entry.canonicalBytes
            #expect(bytes == (try CanonicalJSON.encode(entry.jsonValue)))
            #expect(entry.hash == AuditHash.sha256(bytes))
            #expect(try AuditEntry(parsing: String(decoding: bytes, as: UTF8.self)) == entry)
            #expect(try AuditEntry(json: entry.jsonValue) == entry)
        }
    }

    @Test func absentSessionAndAgentAreNull() throws {
        let entry = try AuditEntry(seq: 0, time: try AuditTime(parsing: "2026-11-21T10:00:00.000000Z"), kind: "delta",
                                   session: nil, agent: nil, dataHash: .zero, prev: .zero)
        let zeros = String(repeating: "0", count: 64)
        #expect(String(decoding: entry.canonicalBytes, as: UTF8.self)
            == #"{"agent":null,"data_hash":"\#(zeros)","kind":"delta","prev":"\#(zeros)","seq":0,"session":null,"time":"2026-11-21T10:00:00.000000Z","v":1}"#)
    }

    @Test func readsAValidEnvelope() throws {
        let entry = try AuditEntry(parsing: envelopeText())
        #expect(entry.seq == 41)
        #expect(entry.kind == "decision")
        #expect(entry.session == "s1")
        #expect(entry.agent == "a1")
        #expect(entry.time.text == "2026-11-21T10:00:00.000000Z")
        #expect(entry.dataHash.hex == String(repeating: "ab", count: 32))
        let nulls = try AuditEntry(parsing: envelopeText(["session": "null", "agent": "null", "seq": "41.0"]))
        #expect(nulls.session == nil && nulls.agent == nil && nulls.seq == 41)
    }

    @Test func refusesMalformedEnvelopes() {
        let cases: [(String, String)] = [
            ("[1]", "entry must be a json object, found a list"),
            ("{", "entry is not valid json: 1:2: unexpected end of input"),
            (envelopeText(["extra": "1"]), "entry has an unknown field `extra`"),
            (envelopeText(["prev": nil]), "entry is missing the field `prev`"),
            (envelopeText(["session": nil]), "entry is missing the field `session`"),
            (envelopeText(["v": "2"]), "`v` must be 1, found `2`"),
            (envelopeText(["v": #""1""#]), "`v` must be 1, found `\"1\"`"),
            (envelopeText(["seq": "-1"]), "`seq` must be an integer from 0 to 9007199254740991, found `-1`"),
            (envelopeText(["seq": "-0"]), "`seq` must be an integer from 0 to 9007199254740991, found `0`"),
            (envelopeText(["seq": "1.5"]), "`seq` must be an integer from 0 to 9007199254740991, found `1.5`"),
            (envelopeText(["seq": "9007199254740992"]), "`seq` must be an integer from 0 to 9007199254740991, found `9007199254740992`"),
            (envelopeText(["seq": #""41""#]), "`seq` must be an integer, found string"),
            (envelopeText(["kind": "7"]), "`kind` must be a string, found number"),
            (envelopeText(["kind": #""""#]), "`kind` must not be empty"),
            (envelopeText(["session": "false"]), "`session` must be a string or null, found boolean"),
            (envelopeText(["agent": "{}"]), "`agent` must be a string or null, found object"),
            (envelopeText(["prev": "\"" + String(repeating: "0F", count: 32) + "\""]),
             "`prev` must be 64 lowercase hex digits, found `" + String(repeating: "0F", count: 30) + "…`"),
            (envelopeText(["data_hash": #""abcd""#]), "`data_hash` must be 64 lowercase hex digits, found `abcd`"),
            (envelopeText(["time": #""2026-11-21T10:00:00Z""#]),
             "`time` must look like `2026-11-21T10:00:00.000000Z` (utc, six fractional digits), found `2026-11-21T10:00:00Z`"),
        ]
        for (text, message) in cases {
            #expect(entryError(text) == message, "\(text)")
        }
    }

    @Test func refusesTimesThatAreNotTheOneSpelling() {
        let bad = [
            "2026-11-21T10:00:00.000000z", "2026-11-21t10:00:00.000000Z", "2026-11-21T10:00:00.00000Z",
            "2026-11-21T10:00:00.0000000Z", "2026-11-21T10:00:00.000000+00:00", "2026-11-21 10:00:00.000000Z",
            "2026-02-29T10:00:00.000000Z", "2026-02-30T00:00:00.000000Z", "2026-04-31T00:00:00.000000Z",
            "2026-13-01T00:00:00.000000Z", "2026-00-01T00:00:00.000000Z", "2026-01-00T00:00:00.000000Z",
            "2026-11-21T24:00:00.000000Z", "2026-11-21T10:60:00.000000Z", "2016-12-31T23:59:60.000000Z",
            "0000-01-01T00:00:00.000000Z", "+2026-11-21T10:00:00.00000Z", "2026-1a-21T10:00:00.000000Z", "",
        ]
        for text in bad {
            #expect(throws: AuditError.self, "\(text)") { try AuditTime(parsing: text) }
        }
    }

    @Test func writesAndReadsTimes() throws {
        let known: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000000Z"), (-1, "1969-12-31T23:59:59.999999Z"),
            (1_795_255_200_000_000, "2026-11-21T10:00:00.000000Z"), (1_709_164_800_123_456, "2024-02-29T00:00:00.123456Z"),
            (951_782_400_000_000, "2000-02-29T00:00:00.000000Z"),
            (AuditTime.earliest.microseconds, "0001-01-01T00:00:00.000000Z"),
            (AuditTime.latest.microseconds, "9999-12-31T23:59:59.999999Z"),
        ]
        for (micros, text) in known {
            #expect(try AuditTime(microseconds: micros).text == text)
            #expect(try AuditTime(parsing: text).microseconds == micros)
        }
        #expect(throws: AuditError.self) { try AuditTime(microseconds: AuditTime.latest.microseconds + 1) }
        #expect(throws: AuditError.self) { try AuditTime(microseconds: AuditTime.earliest.microseconds - 1) }
        var generator = SeededGenerator(seed: 3339)
        for _ in 0..<20_000 {
            let micros = Int64.random(in: AuditTime.earliest.microseconds...AuditTime.latest.microseconds, using: &generator)
            let time = try AuditTime(microseconds: micros)
            #expect(try AuditTime(parsing: time.text) == time)
        }
    }

    @Test func refusesSeqAboveTwoToTheFiftyThird() {
        #expect(throws: AuditError.self) {
            try AuditEntry(seq: AuditEntry.maximumSeq + 1, time: .earliest, kind: "x", session: nil, agent: nil, dataHash: .zero, prev: .zero)
        }
    }

    @Test func hashesDataCanonically() throws {
        let data = try JSONParser.parse(#"{"b": 2.50, "a": "é"}"#)
        let entry = try AuditEntry(seq: 0, time: .earliest, kind: "delta", session: nil, agent: nil, data: data, prev: .zero)
        #expect(entry.dataHash == AuditHash.sha256(Array(#"{"a":"é","b":2.5}"#.utf8)))
    }
}
