/// A C2SP transparency-log checkpoint (https://c2sp.org/tlog-checkpoint): the note text that
/// states a log's size and root.
///
/// ```
/// <origin>\n                 the log's identity; non-empty
/// <size>\n                   decimal, no leading zero (0 for the empty log)
/// <base64 root>\n            standard base64 of the 32-byte RFC 9162 root
/// [<extension line>\n …]     optional, each non-empty (Ringfence writes none)
/// ```
/// Signed, it is the text of a `SignedNote`; the signing key's name should be the origin.
public struct Checkpoint: Sendable, Hashable {
    /// The log's identity line.
    public let origin: String
    /// The number of entries the root covers.
    public let size: UInt64
    /// MTH of the first `size` entries.
    public let root: AuditHash
    /// Extension lines, in order (rarely used).
    public let extensions: [String]

    /// Creates a checkpoint; the origin and each extension line must be non-empty and hold no
    /// character below U+0020.
    public init(origin: String, size: UInt64, root: AuditHash, extensions: [String] = []) throws(AuditError) {
        guard Self.isValidLine(origin) else { throw AuditError(.checkpoint, AuditMessages.badOrigin(origin)) }
        for line in extensions where !Self.isValidLine(line) {
            throw AuditError(.checkpoint, AuditMessages.badExtensionLine(line))
        }
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The note text: origin, size and base64 root, each on its own line, then any extensions.
    public var body: String {
        ([origin, String(size), root.base64] + extensions).map { $0 + "\n" }.joined()
    }

    /// Reads a checkpoint from its note text (strict; see the type's description).
    public init(parsing body: String) throws(AuditError) {
        guard body.utf8.last == 0x0A else { throw AuditError(.checkpoint, AuditMessages.checkpointWithoutNewline) }
        let lines = body.utf8.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard lines.count >= 3 else { throw AuditError(.checkpoint, AuditMessages.checkpointTooShort(lines.count)) }
        guard let size = Self.parseSize(lines[1]) else { throw AuditError(.checkpoint, AuditMessages.badCheckpointSize(lines[1])) }
        let root = try AuditHash(base64: lines[2], field: "checkpoint root")
        try self.init(origin: lines[0], size: size, root: root, extensions: Array(lines[3...]))
    }

    /// Signs the checkpoint with each of `keys`.
    public func sign(with keys: [NoteSigningKey]) throws(AuditError) -> SignedNote {
        try SignedNote.sign(text: body, with: keys)
    }

    /// The note for this checkpoint without a signature (its body alone).
    public var unsignedNote: SignedNote {
        get throws(AuditError) { try SignedNote(text: body, signatures: []) }
    }

    /// True for a non-empty line with no character below U+0020 (which no note may hold).
    static func isValidLine(_ line: String) -> Bool {
        !line.isEmpty && !line.unicodeScalars.contains { $0.value < 0x20 }
    }

    /// Reads a tree size: ASCII digits, no leading zero unless the size is 0, at most 2^64 − 1.
    static func parseSize(_ text: String) -> UInt64? {
        let units = Array(text.utf8)
        guard !units.isEmpty, units.count <= 20, units.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
        guard units.count == 1 || units[0] != UInt8(ascii: "0") else { return nil }
        var value: UInt64 = 0
        for unit in units {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(unit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}

/// Reading a checkpoint out of a signed note.
extension SignedNote {
    /// The checkpoint this note's text states.
    public var checkpoint: Checkpoint {
        get throws(AuditError) { try Checkpoint(parsing: text) }
    }
}
