import RingfenceDiagnostics
import RingfenceTestSupport
import Testing

/// The plain-prefix scan (eight bytes a step) against the byte-at-a-time rule it replaces.
struct JSONTextTests {
    /// The rule, one byte at a time.
    static func reference(_ units: [UInt8]) -> Int {
        units.firstIndex { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } ?? units.count
    }

    static func scan(_ units: [UInt8]) -> Int {
        units.withUnsafeBufferPointer { JSONText.plainPrefixCount($0) }
    }

    @Test func everyByteAtEveryPositionOfAWord() {
        // Each byte value at each of the first 20 positions of a 20-byte plain text: the word
        // step must stop exactly where the rule does, whatever the neighbours (borrows from a
        // byte below the tested one included).
        let fillers: [UInt8] = [UInt8(ascii: "a"), 0x21, 0x80, 0xFF, UInt8(ascii: "#"), UInt8(ascii: "]")]
        for filler in fillers {
            for position in 0..<20 {
                for byte in 0...UInt8.max {
                    var units = [UInt8](repeating: filler, count: 20)
                    units[position] = byte
                    #expect(Self.scan(units) == Self.reference(units), "byte \(byte) at \(position) among \(filler)")
                }
            }
        }
    }

    @Test func randomTextsOfEveryLength() {
        var generator = SeededGenerator(seed: 7)
        // Bytes drawn mostly from plain ones with the three kinds that stop a run mixed in.
        let alphabet: [UInt8] = Array(0x20...0x7E).filter { $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") } + [0xC3, 0xA9]
        for length in 0..<70 {
            for _ in 0..<200 {
                var units = (0..<length).map { _ in alphabet[generator.below(alphabet.count)] }
                if length > 0, generator.next() % 2 == 0 {
                    let stops: [UInt8] = [0x00, 0x1F, 0x0A, UInt8(ascii: "\""), UInt8(ascii: "\\")]
                    units[generator.below(length)] = stops[generator.below(stops.count)]
                }
                #expect(Self.scan(units) == Self.reference(units))
            }
        }
        #expect(Self.scan([]) == 0)
    }

    @Test func isPlainAndQuoteAgree() {
        for text in ["", "session:0123456789abcdef", "did:mesh:agent-1", "tab\there", "say \"hi\"", "back\\slash",
                     "é and ✓ beyond ASCII, long enough for words", "\u{1F}", String(repeating: "x", count: 64) + "\n"] {
            let plain = JSONText.isPlain(text)
            #expect(plain == (JSONText.quote(text) == "\"" + text + "\""), "\(text)")
            #expect(plain == (Self.reference(Array(text.utf8)) == text.utf8.count))
        }
    }
}
