import RingfenceAudit
import RingfenceTestSupport
import RingfenceVM
import Testing

/// RFC 8785 §3.2.3 (SPEC §9.1 fixes RFC 8785): object members are written in the order of their
/// names' UTF-16 code units, which differs from UTF-8 byte (code point) order between characters
/// above U+FFFF (surrogate pairs, D800–DBFF) and characters in U+E000–U+FFFF.
@Suite struct CanonicalOrderTests {
    /// Characters from each range that matters: ASCII, two- and three-byte UTF-8 below the
    /// surrogates, U+E000–U+FFFF (after the surrogates in UTF-16) and above U+FFFF (surrogate pairs).
    static let alphabet: [Unicode.Scalar] = [
        "a", "b", "z", "A", "_", "0", "\u{7F}", "\u{80}", "\u{E9}", "\u{7FF}", "\u{800}", "\u{D7FF}",
        "\u{E000}", "\u{FB33}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{1F600}", "\u{10FFFF}",
    ]

    /// The reference order: UTF-16 code units, lexicographically.
    static func utf16Precedes(_ a: String, _ b: String) -> Bool {
        Array(a.utf16).lexicographicallyPrecedes(Array(b.utf16))
    }

    /// The canonical text of an object whose members are `names`, each valued by its position.
    static func expectedText(_ names: [String]) -> String {
        let position = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let members = names.sorted(by: utf16Precedes).map { "\"\($0)\":\(position[$0]!)" }
        return "{" + members.joined(separator: ",") + "}"
    }

    @Test func membersOfSeededNamesAreWrittenInUTF16Order() throws {
        var generator = SeededGenerator(seed: 8785)
        var names = Set<String>()
        while names.count < 400 {
            var name = String.UnicodeScalarView()
            for _ in 0..<generator.below(5) + 1 { name.append(generator.pick(Self.alphabet)) }
            names.insert(String(name))
        }
        let list = Array(names).sorted()
        let value = Value.object(Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1, Value.number(Double($0))) }))
        let text = String(decoding: try CanonicalJSON.encode(value), as: UTF8.self)
        #expect(text == Self.expectedText(list))
        // The drawn names reach the ranges where code point order and UTF-16 order disagree.
        #expect(list.contains { $0.unicodeScalars.contains { $0.value > 0xFFFF } })
        #expect(list.contains { $0.unicodeScalars.contains { $0.value >= 0xE000 && $0.value <= 0xFFFF } })
    }

    /// Objects whose names are all ASCII (compared with `<`), control characters, CR LF pairs and
    /// prefixes of each other included: written in UTF-16 order like any other.
    @Test func asciiNamesAreWrittenInUTF16Order() throws {
        var generator = SeededGenerator(seed: 20_251)
        let alphabet: [Unicode.Scalar] = ["\u{0}", "\u{1}", "\t", "\n", "\r", " ", "\"", "0", "9", "A", "Z", "_", "a", "z", "~", "\u{7F}"]
        for round in 0..<500 {
            var names = Set<String>()
            for _ in 0..<generator.below(7) + 2 {
                var name = String.UnicodeScalarView()
                for _ in 0..<generator.below(4) { name.append(generator.pick(alphabet)) }
                if generator.below(4) == 0 { name.append(contentsOf: "\r\n".unicodeScalars) }
                names.insert(String(name))
            }
            let list = Array(names)
            let value = Value.object(Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1, Value.number(Double($0))) }))
            var expected: [UInt8] = [UInt8(ascii: "{")]
            for (i, name) in list.sorted(by: Self.utf16Precedes).enumerated() {
                if i > 0 { expected.append(UInt8(ascii: ",")) }
                CanonicalJSON.appendString(name, to: &expected)
                expected.append(contentsOf: ":\(list.firstIndex(of: name)!)".utf8)
            }
            expected.append(UInt8(ascii: "}"))
            #expect(try CanonicalJSON.encode(value) == expected, "round \(round): \(list)")
        }
    }

    @Test func aSurrogatePairSortsBeforeThePrivateUseArea() throws {
        let value = Value.object(["\u{FB33}": .number(1), "\u{1F600}": .number(2), "b": .number(3), "a": .number(4),
                                  "aa": .number(5), "\u{E9}": .number(6), "": .number(7)])
        let text = String(decoding: try CanonicalJSON.encode(value), as: UTF8.self)
        // U+1F600 (D83D DE00 in UTF-16) before U+FB33, though its UTF-8 bytes (F0…) sort after (EF…).
        #expect(text == #"{"":7,"a":4,"aa":5,"b":3,"\#u{E9}":6,"\#u{1F600}":2,"\#u{FB33}":1}"#)
    }
}
