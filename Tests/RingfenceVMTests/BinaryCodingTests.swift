@testable import RingfenceBytecode
import Testing

/// The bundle's variable-length numbers: LEB128 values round-trip, every value has one encoding,
/// and anything longer, wider or cut short is malformed; zigzag keeps signed steps small.
@Suite struct BinaryCodingTests {
    /// Values at every byte-length boundary.
    static let values: [UInt64] = [0, 1, 127, 128, 255, 16_383, 16_384, 1 << 21, UInt64(UInt32.max), 1 << 56, UInt64.max - 1, UInt64.max]

    @Test func varintsRoundTripAtEveryBoundary() throws {
        for value in Self.values {
            var w = BinaryWriter()
            w.varint(value)
            #expect(w.bytes.count == max(1, (64 - value.leadingZeroBitCount + 6) / 7), "\(value)")
            var r = BinaryReader(w.bytes)
            #expect(try r.varint() == value)
            #expect(r.atEnd)
        }
    }

    @Test func malformedVarintsAreRefused() {
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("cut short", [0x80]),
            ("redundant zero byte", [0x80, 0x00]),
            ("redundant zero after a value", [0x81, 0x80, 0x00]),
            ("past 64 bits", Array(repeating: 0xFF, count: 9) + [0x02]),
            ("eleven bytes", Array(repeating: 0x80, count: 10) + [0x01]),
        ]
        for (name, bytes) in cases {
            var r = BinaryReader(bytes)
            #expect(throws: BinaryReader.Malformed.self, "\(name)") { try r.varint() }
        }
    }

    @Test func zigzagKeepsSmallMagnitudesSmall() {
        #expect([0, -1, 1, -2, 2].map(zigzag) == [0, 1, 2, 3, 4])
        for value: Int64 in [0, 1, -1, 63, -64, Int64.max, Int64.min, 1 << 40, -(1 << 40)] {
            #expect(unzigzag(zigzag(value)) == value)
        }
    }

    @Test func sourceTableEntriesRoundTripIncludingOnesTheVerifierRefuses() throws {
        // Inputs before, at and after their own instruction, and none: the bundle keeps them all,
        // so the verifier (not the decoder) is what refuses a bad table.
        let entries: [(Int, SourceTable.Entry)] = [
            (0, .empty),
            (5, SourceTable.Entry(text: 0, left: 4, right: 1)),
            (5, SourceTable.Entry(text: 7, left: 5, right: 9)),
            (300, SourceTable.Entry(text: 70_000, left: 0, right: SourceTable.none)),
        ]
        for (pc, entry) in entries {
            var w = BinaryWriter()
            SourceTable.encode(entry, at: pc, &w)
            var r = BinaryReader(w.bytes)
            #expect(try SourceTable.decode(at: pc, &r) == entry)
            #expect(r.atEnd)
        }
        // A distance reaching before instruction 0 is malformed.
        var w = BinaryWriter()
        SourceTable.encode(SourceTable.Entry(text: 0, left: 0), at: 3, &w)
        var r = BinaryReader(w.bytes)
        #expect(throws: BinaryReader.Malformed.self) { try SourceTable.decode(at: 2, &r) }
    }
}
