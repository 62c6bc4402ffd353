import RingfenceVM

/// Every message the audit primitives produce, in one place: lowercase, one line, no final
/// period, user input in backticks.
enum AuditMessages {
    /// User text made safe for a one-line message: at most 60 characters (then `…`), control
    /// characters written as escapes, backticks turned into `'`.
    static func excerpt(_ text: String) -> String {
        var result = ""
        var taken = 0
        for scalar in text.unicodeScalars {
            if taken == 60 {
                result += "…"
                break
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "`": result += "'"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let digits = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
            taken += 1
        }
        return result
    }

    // MARK: Encodings

    /// A hash that is not 64 lowercase hex digits.
    static func badHashHex(field: String, text: String) -> String {
        "`\(field)` must be 64 lowercase hex digits, found `\(excerpt(text))`"
    }

    /// A hash that is not base64 of 32 bytes.
    static func badHashBase64(field: String, text: String) -> String {
        "`\(field)` must be standard base64 of 32 bytes, found `\(excerpt(text))`"
    }

    // MARK: Canonical JSON

    /// NaN or an infinity, which JSON cannot hold.
    static func nonFiniteNumber(_ number: Double) -> String {
        "cannot canonicalise the number `\(number)`: json numbers are finite"
    }

    /// Nesting deeper than the parser reads.
    static func nestingTooDeep(limit: Int) -> String {
        "cannot canonicalise data nested deeper than \(limit) arrays and objects"
    }

    // MARK: Entries

    /// A time outside years 0001–9999.
    static func timeOutOfRange(_ microseconds: Int64) -> String {
        "time \(microseconds) µs since 1970 is outside the years 0001 to 9999"
    }

    /// A time not in the 27-byte form.
    static func badTime(_ text: String) -> String {
        "`time` must look like `2026-11-21T10:00:00.000000Z` (utc, six fractional digits), found `\(excerpt(text))`"
    }

    /// A `seq` that is not an integer in 0…2^53 − 1.
    static func seqOutOfRange(_ text: String) -> String {
        "`seq` must be an integer from 0 to 9007199254740991, found `\(excerpt(text))`"
    }

    /// An empty `kind`.
    static let emptyKind = "`kind` must not be empty"

    /// Entry text that is not JSON.
    static func entryNotJSON(_ detail: String) -> String {
        "entry is not valid json: \(detail)"
    }

    /// An entry that is not an object.
    static func entryNotObject(_ type: String) -> String {
        "entry must be a json object, found a \(type)"
    }

    /// A member the envelope does not have.
    static func unknownEntryField(_ name: String) -> String {
        "entry has an unknown field `\(excerpt(name))`"
    }

    /// A missing envelope member.
    static func missingEntryField(_ name: String) -> String {
        "entry is missing the field `\(name)`"
    }

    /// A `v` other than 1.
    static func badVersion(_ value: Value) -> String {
        let shown: String
        switch value {
        case .number(let number): shown = ECMAScriptNumber.format(number) ?? "\(number)"
        case .string(let text): shown = "\"\(excerpt(text))\""
        default: shown = value.typeName
        }
        return "`v` must be 1, found `\(shown)`"
    }

    /// A member of the wrong JSON type.
    static func wrongEntryFieldType(field: String, expected: String, found: String) -> String {
        "`\(field)` must be \(expected), found \(found)"
    }

    // MARK: Merkle trees

    /// A node stored out of append order.
    static func nodeOutOfOrder(_ id: MerkleNodeID, expected: UInt64) -> String {
        "merkle node \(id) stored out of order: the next node of level \(id.level) is index \(expected)"
    }

    /// A node the store does not hold.
    static func missingNode(_ id: MerkleNodeID) -> String {
        "merkle node \(id) is not stored"
    }

    /// A frontier whose hash count does not fit its size.
    static func frontierShape(size: UInt64, hashes: Int) -> String {
        "a merkle frontier of size \(size) holds \(size.nonzeroBitCount) hashes, not \(hashes)"
    }

    /// A leaf index at or past the tree size.
    static func indexOutsideTree(index: UInt64, size: UInt64) -> String {
        "entry \(index) is not in a tree of \(size) entries"
    }

    /// An inclusion proof with hashes left over.
    static func inclusionProofTooLong(index: UInt64, size: UInt64, count: Int) -> String {
        "inclusion proof for entry \(index) in a tree of \(size) entries has too many hashes (\(count))"
    }

    /// An inclusion proof that ends before the root.
    static func inclusionProofTooShort(index: UInt64, size: UInt64, count: Int) -> String {
        "inclusion proof for entry \(index) in a tree of \(size) entries has too few hashes (\(count))"
    }

    /// An inclusion proof that leads elsewhere.
    static func inclusionRootMismatch(index: UInt64, size: UInt64) -> String {
        "inclusion proof for entry \(index) does not lead to the root of the tree of \(size) entries"
    }

    /// A consistency check from a larger tree to a smaller one.
    static func consistencyShrinks(oldSize: UInt64, newSize: UInt64) -> String {
        "a tree of \(newSize) entries cannot extend a tree of \(oldSize) entries"
    }

    /// Hashes where the proof must be empty.
    static func consistencyProofNotEmpty(oldSize: UInt64, newSize: UInt64) -> String {
        "consistency proof from \(oldSize) to \(newSize) entries must be empty"
    }

    /// A consistency proof whose roots do not come out.
    static func consistencyRootMismatch(oldSize: UInt64, newSize: UInt64) -> String {
        "consistency proof does not show that the tree of \(newSize) entries extends the tree of \(oldSize) entries"
    }

    /// A consistency proof that ends too soon.
    static func consistencyProofTooShort(oldSize: UInt64, newSize: UInt64, count: Int) -> String {
        "consistency proof from \(oldSize) to \(newSize) entries has too few hashes (\(count))"
    }

    /// A consistency proof with hashes left over.
    static func consistencyProofTooLong(oldSize: UInt64, newSize: UInt64, count: Int) -> String {
        "consistency proof from \(oldSize) to \(newSize) entries has too many hashes (\(count))"
    }

    // MARK: Keys

    /// Key text without its `+` separators.
    static func keyShape(label: String) -> String {
        label == "signing key"
            ? "a signing key looks like `PRIVATE+KEY+<name>+<8 hex digits>+<base64>`"
            : "a verifier key looks like `<name>+<8 hex digits>+<base64>`"
    }

    /// An invalid key name.
    static func badKeyName(_ name: String) -> String {
        "key name `\(excerpt(name))` must be non-empty with no spaces, `+` or control characters"
    }

    /// A key ID that is not 8 hex digits.
    static func badKeyID(_ text: String) -> String {
        "key id `\(excerpt(text))` must be 8 hex digits"
    }

    /// Key bytes that are not canonical base64.
    static func badKeyBase64(label: String) -> String {
        "the \(label)'s key bytes are not valid base64"
    }

    /// A signature type other than Ed25519.
    static func unsupportedKeyType(_ type: UInt8) -> String {
        "unsupported key type 0x\(String(type, radix: 16)); only ed25519 (0x01) is supported"
    }

    /// An Ed25519 key of the wrong length.
    static func badKeyLength(label: String, count: Int) -> String {
        "the \(label) must hold 32 key bytes, found \(count)"
    }

    /// A key ID that the key does not compute.
    static func keyIDMismatch(name: String, stated: UInt32, computed: UInt32) -> String {
        "key id \(NoteKey.keyIDText(stated)) does not match the key `\(excerpt(name))` (its id is \(NoteKey.keyIDText(computed)))"
    }

    /// A failure inside the signing primitive.
    static func signingFailed(name: String) -> String {
        "signing with the key `\(excerpt(name))` failed"
    }

    /// Two different trusted keys with one name and ID.
    static func ambiguousKey(name: String, keyID: UInt32) -> String {
        "ambiguous key `\(excerpt(name))+\(NoteKey.keyIDText(keyID))`: two different keys share its name and id"
    }

    // MARK: Notes

    /// Note text that does not end in a newline.
    static let noteTextWithoutNewline = "note text must end with a newline"
    /// A control character in a note.
    static let noteControlCharacter = "note contains a control character other than newline"
    /// An unsigned note that could be read as a signed one.
    static let unsignedNoteWithBlankLine = "an unsigned note must not contain a blank line"
    /// Empty input.
    static let emptyNote = "note is empty"
    /// Input that is not UTF-8.
    static let noteNotUTF8 = "note is not valid utf-8"
    /// Input without a final newline.
    static let noteWithoutFinalNewline = "note does not end with a newline"
    /// A blank line followed by nothing.
    static let noteWithoutSignatures = "note has a blank line but no signature lines after it"

    /// More signature lines than are read.
    static func tooManySignatures(limit: Int) -> String {
        "note has more than \(limit) signatures"
    }

    /// Input over the size limit.
    static func noteTooLarge(limit: Int) -> String {
        "note is larger than \(limit) bytes"
    }

    /// A signature line without the em dash.
    static func signatureLineWithoutDash(_ number: Int) -> String {
        "signature line \(number) does not start with `— ` (em dash, space)"
    }

    /// A signature line without the space between name and signature.
    static func signatureLineShape(_ number: Int) -> String {
        "signature line \(number) must be `— <key name> <base64 signature>`"
    }

    /// A signature line with an invalid key name.
    static func signatureLineBadName(_ number: Int, name: String) -> String {
        "signature line \(number) has an invalid key name `\(excerpt(name))`"
    }

    /// A signature line whose signature is not base64 of at least 5 bytes.
    static func signatureLineBadBase64(_ number: Int) -> String {
        "signature line \(number) does not hold standard base64 of a key id and a signature"
    }

    // MARK: Checkpoints

    /// An invalid origin line.
    static func badOrigin(_ origin: String) -> String {
        "checkpoint origin `\(excerpt(origin))` must be non-empty with no control characters"
    }

    /// An invalid extension line.
    static func badExtensionLine(_ line: String) -> String {
        "checkpoint extension line `\(excerpt(line))` must be non-empty with no control characters"
    }

    /// A checkpoint body without its final newline.
    static let checkpointWithoutNewline = "checkpoint must end with a newline"

    /// Fewer than three lines.
    static func checkpointTooShort(_ count: Int) -> String {
        "checkpoint needs an origin, a size and a root line, found \(count) line\(count == 1 ? "" : "s")"
    }

    /// A size that is not canonical decimal.
    static func badCheckpointSize(_ text: String) -> String {
        "checkpoint size `\(excerpt(text))` must be a decimal number without leading zeros"
    }

    // MARK: Chains

    /// The first bad entry of a chain, e.g. `entry 41: prev does not match the hash of entry 40`.
    static func chainFailure(position: UInt64, reason: AuditChainFailure.Reason) -> String {
        switch reason {
        case .seqOutOfOrder(let found):
            return "entry \(position): seq is \(found), expected \(position)"
        case .prevMismatch:
            return position == 0
                ? "entry 0: prev is not 64 zeros"
                : "entry \(position): prev does not match the hash of entry \(position - 1)"
        case .dataHashMismatch:
            return "entry \(position): data does not match its data_hash"
        case .dataNotCanonicalisable(let detail):
            return "entry \(position): data cannot be canonicalised: \(detail)"
        }
    }
}
