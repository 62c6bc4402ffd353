import Crypto
import Testing
@testable import RingfenceAudit
import RingfenceTestSupport

/// `AuditHash.sha256` hashes through BoringSSL's one-shot SHA-256 where swift-crypto builds it
/// (every hash of the log goes through it); these hold it to the FIPS 180-4 examples and to
/// swift-crypto's own `SHA256` on messages of every length around the block boundaries.
@Suite struct AuditHashTests {
    @Test func matchesTheFIPSExamples() {
        #expect(AuditHash.sha256([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(AuditHash.sha256(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(AuditHash.sha256(utf8: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(AuditHash.sha256([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hex
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func agreesWithSwiftCryptoAtEveryLengthUpToFourBlocks() {
        var random = SeededGenerator(seed: 9162)
        for length in 0...260 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &random) }
            #expect(AuditHash.sha256(bytes) == AuditHash(SHA256.hash(data: bytes)), "length \(length)")
        }
    }

    @Test func merkleNodesAgreeWithSwiftCrypto() {
        var random = SeededGenerator(seed: 6962)
        for _ in 0..<100 {
            let left = AuditHash(bytes: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) })!
            let right = AuditHash(bytes: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) })!
            #expect(MerkleHash.leaf(entryHash: left) == AuditHash(SHA256.hash(data: [0x00] + left.bytes)))
            #expect(MerkleHash.node(left, right) == AuditHash(SHA256.hash(data: [0x01] + left.bytes + right.bytes)))
        }
    }
}
