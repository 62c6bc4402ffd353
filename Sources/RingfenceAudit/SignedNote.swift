/// A C2SP signed note (https://c2sp.org/signed-note), byte-compatible with Go's
/// golang.org/x/mod/sumdb/note.
///
/// ```
/// <text: one or more lines, each ending in 0x0A>
/// 0x0A                                                  the blank line
/// E2 80 94 20 <key name> 20 <base64(key ID ‖ signature)> 0A     one line per signature
/// ```
/// The whole note is valid UTF-8 with no control character but 0x0A; the text ends at the last
/// blank line; the signature is Ed25519 over the text bytes (including its final newline, not
/// the blank line); the key ID is 4 bytes big-endian. This reader also refuses notes over
/// `maximumSize` bytes, more than `maximumSignatures` signature lines, a signature shorter than
/// 5 bytes and non-canonical base64. A note with no signatures is its text alone: text ending
/// in a newline that contains no blank line (an unsigned checkpoint, SPEC §9.2).
public struct SignedNote: Sendable, Hashable {
    /// The largest note read, in bytes.
    public static let maximumSize = 65_536
    /// The most signature lines read (C2SP asks verifiers to accept at least 16; Go stops at 100).
    public static let maximumSignatures = 100
    /// The UTF-8 bytes that open every signature line: U+2014 (em dash) and a space.
    static let signaturePrefix: [UInt8] = [0xE2, 0x80, 0x94, 0x20]

    /// The signed text, ending in a newline.
    public let text: String
    /// The signatures, in the order they appear.
    public let signatures: [NoteSignature]

    /// Creates a note from its text and signatures; the text must end in a newline and hold no
    /// control character but newline, an unsigned text no blank line, and each signature a valid
    /// key name and at least one signature byte.
    public init(text: String, signatures: [NoteSignature]) throws(AuditError) {
        let bytes = Array(text.utf8)
        guard bytes.last == 0x0A else { throw AuditError(.note, AuditMessages.noteTextWithoutNewline) }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x0A }) else {
            throw AuditError(.note, AuditMessages.noteControlCharacter)
        }
        if signatures.isEmpty, Self.lastBlankLine(in: bytes) != nil {
            throw AuditError(.note, AuditMessages.unsignedNoteWithBlankLine)
        }
        guard signatures.count <= Self.maximumSignatures else {
            throw AuditError(.note, AuditMessages.tooManySignatures(limit: Self.maximumSignatures))
        }
        for (position, signature) in signatures.enumerated() {
            guard NoteKey.isValidName(signature.name) else {
                throw AuditError(.note, AuditMessages.signatureLineBadName(position + 1, name: signature.name))
            }
            guard !signature.signature.isEmpty else {
                throw AuditError(.note, AuditMessages.signatureLineBadBase64(position + 1))
            }
        }
        self.text = text
        self.signatures = signatures
    }

    /// Signs `text` with each of `keys` in turn.
    public static func sign(text: String, with keys: [NoteSigningKey]) throws(AuditError) -> SignedNote {
        let message = Array(text.utf8)
        var signatures: [NoteSignature] = []
        for key in keys {
            signatures.append(NoteSignature(name: key.name, keyID: key.keyID, signature: try key.sign(message)))
        }
        return try SignedNote(text: text, signatures: signatures)
    }

    /// The note as text: the text, then (when signed) the blank line and the signature lines.
    public var formatted: String {
        guard !signatures.isEmpty else { return text }
        return text + "\n" + signatures.map(\.line).joined()
    }

    /// Reads a note from its UTF-8 text.
    public init(parsing text: String) throws(AuditError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// Reads a note from raw bytes (see the type's description for what is refused).
    public init(parsing bytes: [UInt8]) throws(AuditError) {
        guard bytes.count <= Self.maximumSize else {
            throw AuditError(.note, AuditMessages.noteTooLarge(limit: Self.maximumSize))
        }
        guard !bytes.isEmpty else { throw AuditError(.note, AuditMessages.emptyNote) }
        guard Self.isValidUTF8(bytes) else { throw AuditError(.note, AuditMessages.noteNotUTF8) }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x0A }) else {
            throw AuditError(.note, AuditMessages.noteControlCharacter)
        }
        guard bytes.last == 0x0A else { throw AuditError(.note, AuditMessages.noteWithoutFinalNewline) }
        guard let blank = Self.lastBlankLine(in: bytes) else {
            try self.init(text: String(decoding: bytes, as: UTF8.self), signatures: [])
            return
        }
        // `blank` is the offset of the second newline of the last "\n\n"; the text keeps the
        // first one.
        let textBytes = bytes[..<blank]
        let block = bytes[(blank + 1)...]
        guard !block.isEmpty else { throw AuditError(.note, AuditMessages.noteWithoutSignatures) }
        var signatures: [NoteSignature] = []
        var lineStart = block.startIndex
        var lineNumber = 0
        while lineStart < block.endIndex {
            lineNumber += 1
            guard lineNumber <= Self.maximumSignatures else {
                throw AuditError(.note, AuditMessages.tooManySignatures(limit: Self.maximumSignatures))
            }
            // The block ends in a newline, so every line has one.
            let lineEnd = block[lineStart...].firstIndex(of: 0x0A) ?? block.endIndex
            signatures.append(try NoteSignature(line: Array(block[lineStart..<lineEnd]), number: lineNumber))
            lineStart = lineEnd + 1
        }
        try self.init(text: String(decoding: textBytes, as: UTF8.self), signatures: signatures)
    }

    /// Checks the signatures against `key`; see `verify(with:)` for a list of keys.
    public func verify(with key: NoteVerifierKey) -> NoteVerification {
        verify(trusting: [key])
    }

    /// Checks the signatures against trusted `keys` (C2SP rules): signatures whose name and key
    /// ID match no trusted key are ignored; every one that matches must verify; the note is
    /// verified when at least one does. Two different trusted keys with the same name and key ID
    /// are an error.
    public func verify(with keys: [NoteVerifierKey]) throws(AuditError) -> NoteVerification {
        for (position, key) in keys.enumerated() {
            if keys[..<position].contains(where: { $0.name == key.name && $0.keyID == key.keyID && $0 != key }) {
                throw AuditError(.key, AuditMessages.ambiguousKey(name: key.name, keyID: key.keyID))
            }
        }
        return verify(trusting: keys)
    }

    /// The C2SP verification over keys already known to be unambiguous.
    private func verify(trusting keys: [NoteVerifierKey]) -> NoteVerification {
        guard !signatures.isEmpty else { return .unsigned }
        let message = Array(text.utf8)
        var verifiedBy: [NoteVerifierKey] = []
        for signature in signatures {
            guard let key = keys.first(where: { $0.name == signature.name && $0.keyID == signature.keyID }) else { continue }
            guard key.isValidSignature(signature.signature, for: message) else {
                return .badSignature(name: signature.name, keyID: signature.keyID)
            }
            if !verifiedBy.contains(key) { verifiedBy.append(key) }
        }
        if verifiedBy.isEmpty {
            return .unknownKeys(signatures.map { NoteKeyReference(name: $0.name, keyID: $0.keyID) })
        }
        return .verified(by: verifiedBy)
    }

    /// The offset of the second newline of the last "\n\n" in `bytes`, if any.
    static func lastBlankLine(in bytes: [UInt8]) -> Int? {
        var index = bytes.count - 1
        while index > 0 {
            if bytes[index] == 0x0A && bytes[index - 1] == 0x0A { return index }
            index -= 1
        }
        return nil
    }

    /// True when `bytes` are well-formed UTF-8.
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}

/// One signature line of a note: `— <name> <base64(key ID ‖ signature)>`.
public struct NoteSignature: Sendable, Hashable {
    /// The signing key's name.
    public let name: String
    /// The signing key's 4-byte ID.
    public let keyID: UInt32
    /// The signature bytes after the key ID (64 for Ed25519).
    public let signature: [UInt8]

    /// Creates a signature record.
    public init(name: String, keyID: UInt32, signature: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.signature = signature
    }

    /// Reads one signature line (without its newline); `number` counts lines in messages.
    init(line: [UInt8], number: Int) throws(AuditError) {
        guard line.starts(with: SignedNote.signaturePrefix) else {
            throw AuditError(.note, AuditMessages.signatureLineWithoutDash(number))
        }
        let rest = line.dropFirst(SignedNote.signaturePrefix.count)
        guard let space = rest.firstIndex(of: 0x20) else {
            throw AuditError(.note, AuditMessages.signatureLineShape(number))
        }
        let name = String(decoding: rest[..<space], as: UTF8.self)
        guard NoteKey.isValidName(name) else {
            throw AuditError(.note, AuditMessages.signatureLineBadName(number, name: name))
        }
        let encoded = String(decoding: rest[(space + 1)...], as: UTF8.self)
        guard let raw = Base64.decode(encoded), raw.count >= 5 else {
            throw AuditError(.note, AuditMessages.signatureLineBadBase64(number))
        }
        self.name = name
        self.keyID = UInt32(raw[0]) << 24 | UInt32(raw[1]) << 16 | UInt32(raw[2]) << 8 | UInt32(raw[3])
        self.signature = Array(raw[4...])
    }

    /// The line, with its final newline.
    public var line: String {
        let id: [UInt8] = [UInt8(keyID >> 24), UInt8(keyID >> 16 & 0xFF), UInt8(keyID >> 8 & 0xFF), UInt8(keyID & 0xFF)]
        return "\u{2014} \(name) \(Base64.encode(id + signature))\n"
    }
}

/// A key named by a signature: its name and key ID.
public struct NoteKeyReference: Sendable, Hashable, CustomStringConvertible {
    /// The key name.
    public let name: String
    /// The key ID.
    public let keyID: UInt32

    /// `<name>+<8 hex>`, as Go names keys in messages.
    public var description: String { "\(name)+\(NoteKey.keyIDText(keyID))" }
}

/// What checking a note's signatures found.
public enum NoteVerification: Sendable, Hashable {
    /// Every signature by a trusted key verified, and there was at least one; the keys.
    case verified(by: [NoteVerifierKey])
    /// Signed, but by none of the trusted keys; the keys that did sign.
    case unknownKeys([NoteKeyReference])
    /// A signature by a trusted key does not verify.
    case badSignature(name: String, keyID: UInt32)
    /// The note carries no signature at all.
    case unsigned

    /// True only for `.verified`.
    public var isVerified: Bool {
        if case .verified = self { return true }
        return false
    }
}
