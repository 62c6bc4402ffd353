import Crypto
#if canImport(CCryptoBoringSSL)
import CCryptoBoringSSL
#endif

/// A SHA-256 value: an entry hash, a data hash, a Merkle node or a root.
///
/// The 32 bytes are held inline (four words, in byte order in memory), so hashes are copied,
/// compared and stored in arrays without reference counting or heap allocation.
public struct AuditHash: Sendable, Hashable, CustomStringConvertible {
    /// The number of bytes in a hash.
    public static let byteCount = 32

    /// Thirty-two zero bytes: the `prev` of entry 0.
    public static let zero = AuditHash(words: (0, 0, 0, 0))

    /// The raw bytes, in order, as four machine words.
    var words: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a hash from its storage words.
    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// Creates a hash from exactly 32 bytes, or returns nil for any other count.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == Self.byteCount else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            var offset = 0
            for byte in bytes {
                raw[offset] = byte
                offset += 1
            }
        }
        self.words = words
    }

    /// Creates a hash from the first 32 bytes of `raw`, which must hold at least 32.
    init(copying raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= Self.byteCount, "a hash needs 32 bytes")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<Self.byteCount]))
        }
        self.words = words
    }

    /// Creates a hash from a swift-crypto SHA-256 digest.
    public init(_ digest: SHA256Digest) {
        self = digest.withUnsafeBytes { AuditHash(copying: $0) }
    }

    /// Calls `body` with the 32 bytes.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var copy = words
        return try Swift.withUnsafeBytes(of: &copy) { try body($0) }
    }

    /// The 32 bytes as an array.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The 64 lowercase hex digits.
    public var hex: String {
        withUnsafeBytes { Hex.encode($0) }
    }

    /// The standard base64 form with padding (44 characters).
    public var base64: String {
        withUnsafeBytes { Base64.encode($0) }
    }

    /// The hex form.
    public var description: String { hex }

    /// Parses exactly 64 lowercase hex digits; `field` names the value in messages.
    public init(hex text: String, field: String = "hash") throws(AuditError) {
        guard let bytes = Hex.decodeLowercase(text), let hash = AuditHash(bytes: bytes) else {
            throw AuditError(.encoding, AuditMessages.badHashHex(field: field, text: text))
        }
        self = hash
    }

    /// Parses standard padded base64 of exactly 32 bytes; `field` names the value in messages.
    public init(base64 text: String, field: String = "hash") throws(AuditError) {
        guard let bytes = Base64.decode(text), let hash = AuditHash(bytes: bytes) else {
            throw AuditError(.encoding, AuditMessages.badHashBase64(field: field, text: text))
        }
        self = hash
    }

    /// True when both hold the same 32 bytes.
    public static func == (lhs: AuditHash, rhs: AuditHash) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    /// Feeds the 32 bytes to `hasher`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// The SHA-256 of `bytes`. Every hash of the log comes here: on Linux it calls the one-shot
    /// `SHA256` of the BoringSSL that swift-crypto builds, since `SHA256.hash(data:)` allocates,
    /// initialises, copies and zeroes a context for each digest (about as long as hashing the
    /// short messages a log hashes); elsewhere, swift-crypto's Swift API.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> AuditHash {
        #if canImport(CCryptoBoringSSL)
        var hash = AuditHash.zero
        Swift.withUnsafeMutableBytes(of: &hash.words) { out in
            _ = CCryptoBoringSSL_SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
                                        out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return hash
        #else
        return AuditHash(SHA256.hash(data: bytes))
        #endif
    }

    /// The SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> AuditHash {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// The SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256(utf8 text: String) -> AuditHash {
        var text = text
        return text.withUTF8 { sha256(UnsafeRawBufferPointer($0)) }
    }
}
