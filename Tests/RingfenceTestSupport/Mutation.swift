/// Byte-level mutations of a JSON text (the decoders' tests mutate requests): flips, insertions
/// of JSON-significant bytes, deletions, duplicated runs and replacements.
public enum Mutation {
    /// Bytes worth inserting.
    public static let interesting: [UInt8] = Array("{}[]\":,\\0123456789eE.-+ \nnulltruefalse".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xED, 0xF4, 0xFF]

    /// `bytes` after one to eight random mutations.
    public static func apply(to bytes: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<(1 + random.below(8)) {
            switch random.below(5) {
            case 0 where !bytes.isEmpty:
                bytes[random.below(bytes.count)] ^= UInt8(1 << random.below(8))
            case 1:
                bytes.insert(interesting[random.below(interesting.count)], at: random.below(bytes.count + 1))
            case 2 where !bytes.isEmpty:
                bytes.remove(at: random.below(bytes.count))
            case 3 where !bytes.isEmpty:
                let start = random.below(bytes.count)
                let end = min(bytes.count, start + random.below(12))
                bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count + 1))
            default:
                if !bytes.isEmpty { bytes[random.below(bytes.count)] = interesting[random.below(interesting.count)] }
            }
        }
        return bytes
    }
}
