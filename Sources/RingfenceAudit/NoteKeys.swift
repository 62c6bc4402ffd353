import Crypto
import Foundation

/// Key names and key IDs of the C2SP signed-note format (https://c2sp.org/signed-note), as
/// golang.org/x/mod/sumdb/note writes them.
///
/// ```
/// key ID            first 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key)
/// verifier key      <name>+<key ID as 8 hex digits>+<base64(0x01 ‖ 32-byte public key)>
/// signing key       PRIVATE+KEY+<name>+<key ID as 8 hex digits>+<base64(0x01 ‖ 32-byte seed)>
/// ```
/// A name is non-empty and holds no Unicode white space, no `+` and no character below U+0020. Key
/// IDs are written in lowercase and read in either case, as Go reads them; the key ID in the
/// text must be the one the key computes.
public enum NoteKey {
    /// The signature-type byte of Ed25519.
    public static let ed25519Type: UInt8 = 0x01
    /// The `PRIVATE+KEY+` prefix of a signing key.
    static let privatePrefix = "PRIVATE+KEY+"

    /// True for a valid key name.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { scalar in
            scalar.properties.isWhitespace || scalar == "+" || scalar.value < 0x20
        }
    }

    /// The key ID of an Ed25519 public key under `name`.
    public static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        var input = Array(name.utf8)
        input.append(0x0A)
        input.append(ed25519Type)
        input.append(contentsOf: publicKey)
        let digest = AuditHash.sha256(input).bytes
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    /// The key ID as 8 lowercase hex digits.
    public static func keyIDText(_ keyID: UInt32) -> String {
        let digits = String(keyID, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Splits `<name>+<8 hex>+<base64>` into its name, key ID and decoded key bytes (type byte
    /// first); `label` names the kind of key in messages.
    static func splitKeyText(_ text: String, label: String) throws(AuditError) -> (name: String, keyID: UInt32, key: [UInt8]) {
        guard let firstPlus = text.firstIndex(of: "+") else {
            throw AuditError(.key, AuditMessages.keyShape(label: label))
        }
        let name = String(text[..<firstPlus])
        let rest = text[text.index(after: firstPlus)...]
        guard let secondPlus = rest.firstIndex(of: "+") else {
            throw AuditError(.key, AuditMessages.keyShape(label: label))
        }
        let idText = String(rest[..<secondPlus])
        let keyText = String(rest[rest.index(after: secondPlus)...])
        guard isValidName(name) else { throw AuditError(.key, AuditMessages.badKeyName(name)) }
        guard idText.utf8.count == 8, let idBytes = Hex.decodeAnyCase(idText) else {
            throw AuditError(.key, AuditMessages.badKeyID(idText))
        }
        guard let key = Base64.decode(keyText), !key.isEmpty else {
            throw AuditError(.key, AuditMessages.badKeyBase64(label: label))
        }
        guard key[0] == ed25519Type else {
            throw AuditError(.key, AuditMessages.unsupportedKeyType(key[0]))
        }
        guard key.count == 33 else {
            throw AuditError(.key, AuditMessages.badKeyLength(label: label, count: key.count - 1))
        }
        let keyID = idBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (name, keyID, key)
    }
}

/// A public key that verifies note signatures: `<name>+<key ID>+<base64(0x01 ‖ public key)>`.
public struct NoteVerifierKey: Sendable, Hashable, CustomStringConvertible {
    /// The key name, as it appears in signature lines.
    public let name: String
    /// The 4-byte key ID.
    public let keyID: UInt32
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    /// Creates the verifier key for a 32-byte Ed25519 public key under `name`.
    public init(name: String, publicKey: [UInt8]) throws(AuditError) {
        guard NoteKey.isValidName(name) else { throw AuditError(.key, AuditMessages.badKeyName(name)) }
        guard publicKey.count == 32 else {
            throw AuditError(.key, AuditMessages.badKeyLength(label: "verifier key", count: publicKey.count))
        }
        self.name = name
        self.publicKey = publicKey
        self.keyID = NoteKey.keyID(name: name, publicKey: publicKey)
    }

    /// Parses the text form; the key ID must match the key.
    public init(parsing text: String) throws(AuditError) {
        let (name, keyID, key) = try NoteKey.splitKeyText(text, label: "verifier key")
        try self.init(name: name, publicKey: Array(key.dropFirst()))
        guard self.keyID == keyID else {
            throw AuditError(.key, AuditMessages.keyIDMismatch(name: name, stated: keyID, computed: self.keyID))
        }
    }

    /// The text form, e.g. `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`.
    public var text: String {
        "\(name)+\(NoteKey.keyIDText(keyID))+\(Base64.encode([NoteKey.ed25519Type] + publicKey))"
    }

    /// The text form.
    public var description: String { text }

    /// True when `signature` (64 bytes) is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A private key that signs notes: `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 ‖ 32-byte seed)>`,
/// the form Go's `note.GenerateKey` writes. Keep it secret.
public struct NoteSigningKey: Sendable, Equatable {
    /// The key name, as it appears in signature lines.
    public let name: String
    /// The 4-byte key ID of the public key.
    public let keyID: UInt32
    /// The 32-byte Ed25519 seed (RFC 8032 private key).
    let seed: [UInt8]
    /// The matching verifier key.
    public let verifierKey: NoteVerifierKey

    /// Creates a signing key from a 32-byte Ed25519 seed under `name`.
    public init(name: String, seed: [UInt8]) throws(AuditError) {
        guard seed.count == 32 else {
            throw AuditError(.key, AuditMessages.badKeyLength(label: "signing key", count: seed.count))
        }
        let privateKey: Curve25519.Signing.PrivateKey
        do {
            privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw AuditError(.key, AuditMessages.badKeyLength(label: "signing key", count: seed.count))
        }
        let verifierKey = try NoteVerifierKey(name: name, publicKey: Array(privateKey.publicKey.rawRepresentation))
        self.name = name
        self.seed = seed
        self.verifierKey = verifierKey
        self.keyID = verifierKey.keyID
    }

    /// Generates a key named `name` from 32 bytes of `generator` (inject a seeded generator in
    /// tests; the default draws from the system's cryptographic generator).
    public static func generate<Generator: RandomNumberGenerator>(name: String, using generator: inout Generator) throws(AuditError) -> NoteSigningKey {
        var seed: [UInt8] = []
        seed.reserveCapacity(32)
        for _ in 0..<4 {
            let word = generator.next()
            for shift in stride(from: 56, through: 0, by: -8) { seed.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return try NoteSigningKey(name: name, seed: seed)
    }

    /// Generates a key named `name` from the system's cryptographic random generator.
    public static func generate(name: String) throws(AuditError) -> NoteSigningKey {
        var generator = SystemRandomNumberGenerator()
        return try generate(name: name, using: &generator)
    }

    /// Parses the text form; the key ID must match the public key the seed derives.
    public init(parsing text: String) throws(AuditError) {
        guard text.hasPrefix(NoteKey.privatePrefix) else {
            throw AuditError(.key, AuditMessages.keyShape(label: "signing key"))
        }
        let (name, keyID, key) = try NoteKey.splitKeyText(String(text.dropFirst(NoteKey.privatePrefix.count)), label: "signing key")
        try self.init(name: name, seed: Array(key.dropFirst()))
        guard self.keyID == keyID else {
            throw AuditError(.key, AuditMessages.keyIDMismatch(name: name, stated: keyID, computed: self.keyID))
        }
    }

    /// The text form, e.g. `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`.
    public var text: String {
        "\(NoteKey.privatePrefix)\(name)+\(NoteKey.keyIDText(keyID))+\(Base64.encode([NoteKey.ed25519Type] + seed))"
    }

    /// The 64-byte Ed25519 signature of `message` (RFC 8032, deterministic).
    public func sign(_ message: [UInt8]) throws(AuditError) -> [UInt8] {
        do {
            let privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            return Array(try privateKey.signature(for: message))
        } catch {
            throw AuditError(.key, AuditMessages.signingFailed(name: name))
        }
    }
}
