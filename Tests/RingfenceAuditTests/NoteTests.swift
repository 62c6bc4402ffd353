import Foundation
import Testing
@testable import RingfenceAudit
import RingfenceTestSupport

/// The first line of fixture `path`, without its newline.
private func keyText(_ path: String) -> String {
    String(AuditFixtures.text(path).split(separator: "\n").first ?? "")
}

/// The message of the error reading `text` as a note, or nil when it reads.
private func noteError(_ text: String) -> String? {
    AuditTestSupport.auditError { _ = try SignedNote(parsing: text) }?.message
}

/// C2SP signed notes and keys, against golang.org/x/mod/sumdb/note's test vectors and real
/// sum.golang.org checkpoints.
@Suite struct NoteTests {
    /// The text of Go's test note.
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"

    @Test func readsGoKeysAndComputesTheirIDs() throws {
        let signer = try NoteSigningKey(parsing: keyText("notes/peter-neumann.skey"))
        let verifier = try NoteVerifierKey(parsing: keyText("notes/peter-neumann.vkey"))
        #expect(signer.name == "PeterNeumann")
        #expect(signer.keyID == 0xC74F_20A3)
        #expect(signer.verifierKey == verifier)
        #expect(signer.text == keyText("notes/peter-neumann.skey"))
        #expect(verifier.text == keyText("notes/peter-neumann.vkey"))
        let enoch = try NoteVerifierKey(parsing: keyText("notes/enoch-root.vkey"))
        #expect(enoch.keyID == 0xAF0C_FE78)
        let sum = try NoteVerifierKey(parsing: keyText("notes/sum.golang.org/verifier.key"))
        #expect(sum.name == "sum.golang.org" && sum.keyID == 0x033D_E0AE)
    }

    /// Ed25519 is deterministic, so signing Go's test text with Go's test key gives Go's note
    /// byte for byte.
    @Test func signsExactlyAsGoDoes() throws {
        let signer = try NoteSigningKey(parsing: keyText("notes/peter-neumann.skey"))
        let note = try SignedNote.sign(text: Self.text, with: [signer])
        #expect(Array(note.formatted.utf8) == AuditFixtures.bytes("notes/peter-neumann.note"))
    }

    @Test func verifiesNotesSignedByGo() throws {
        let peter = try NoteVerifierKey(parsing: keyText("notes/peter-neumann.vkey"))
        let enoch = try NoteVerifierKey(parsing: keyText("notes/enoch-root.vkey"))
        let note = try SignedNote(parsing: AuditFixtures.bytes("notes/peter-and-enoch.note"))
        #expect(note.text == Self.text)
        #expect(note.signatures.map(\.name) == ["PeterNeumann", "EnochRoot"])
        #expect(note.formatted == AuditFixtures.text("notes/peter-and-enoch.note"))
        #expect(note.verify(with: peter) == .verified(by: [peter]))
        #expect(note.verify(with: enoch) == .verified(by: [enoch]))
        #expect(try note.verify(with: [enoch, peter, peter]) == .verified(by: [peter, enoch]))
        let stranger = try NoteSigningKey(name: "Stranger", seed: Array(repeating: 7, count: 32)).verifierKey
        #expect(note.verify(with: stranger) == .unknownKeys([
            NoteKeyReference(name: "PeterNeumann", keyID: 0xC74F_20A3), NoteKeyReference(name: "EnochRoot", keyID: 0xAF0C_FE78),
        ]))
    }

    @Test func reportsABadSignatureByATrustedKey() throws {
        let peter = try NoteVerifierKey(parsing: keyText("notes/peter-neumann.vkey"))
        let original = AuditFixtures.text("notes/peter-neumann.note")
        // Go's own check: four characters inserted into the signature's base64.
        let line = original.split(separator: "\n").last.map(String.init) ?? ""
        let tampered = Self.text + "\n" + String(line.prefix(60)) + "ABCD" + String(line.dropFirst(60)) + "\n"
        #expect(try SignedNote(parsing: tampered).verify(with: peter) == .badSignature(name: "PeterNeumann", keyID: 0xC74F_20A3))
        // The text changed under the signature.
        let changed = original.replacingOccurrences(of: "answer", with: "ANSWER")
        #expect(try SignedNote(parsing: changed).verify(with: peter) == .badSignature(name: "PeterNeumann", keyID: 0xC74F_20A3))
    }

    @Test func verifiesRealSumGolangOrgCheckpoints() throws {
        let key = try NoteVerifierKey(parsing: keyText("notes/sum.golang.org/verifier.key"))
        let names = try AuditFixtures.names(in: "notes/sum.golang.org", suffix: ".note")
        #expect(names.count == 8)
        for name in names {
            let bytes = AuditFixtures.bytes("notes/sum.golang.org/" + name)
            let note = try SignedNote(parsing: bytes)
            #expect(note.verify(with: key).isVerified, "\(name)")
            let checkpoint = try note.checkpoint
            #expect(checkpoint.origin == "go.sum database tree")
            #expect(String(checkpoint.size) + ".note" == name)
            #expect(checkpoint.body == note.text)
            #expect(Array(note.formatted.utf8) == bytes)
            // Claiming one more entry breaks the signature.
            let grown = try Checkpoint(origin: checkpoint.origin, size: checkpoint.size + 1, root: checkpoint.root)
            let forged = try SignedNote(text: grown.body, signatures: note.signatures)
            #expect(forged.verify(with: key) == .badSignature(name: "sum.golang.org", keyID: 0x033D_E0AE))
        }
    }

    @Test func signsAndVerifiesCheckpointsWithGeneratedKeys() throws {
        var generator = SeededGenerator(seed: 25519)
        let key = try NoteSigningKey.generate(name: "ringfence.example/log", using: &generator)
        let again = try NoteSigningKey.generate(name: "ringfence.example/log", using: &generator)
        #expect(key != again)
        #expect(try NoteSigningKey(parsing: key.text) == key)
        #expect(try NoteVerifierKey(parsing: key.verifierKey.text) == key.verifierKey)
        let checkpoint = try Checkpoint(origin: "ringfence.example/log", size: 42, root: AuditHash.sha256([1, 2, 3]))
        let note = try checkpoint.sign(with: [key, again])
        let reread = try SignedNote(parsing: note.formatted)
        #expect(reread == note)
        #expect(reread.verify(with: key.verifierKey) == .verified(by: [key.verifierKey]))
        #expect(try reread.checkpoint == checkpoint)
        let unsigned = try checkpoint.unsignedNote
        #expect(unsigned.formatted == checkpoint.body)
        #expect(try SignedNote(parsing: checkpoint.body).verify(with: key.verifierKey) == .unsigned)
        #expect(throws: Never.self) { try NoteSigningKey.generate(name: "system-random") }
    }

    /// Go's TestNewVerifier and TestNewSigner: every proper substring and every single-byte
    /// increment of a valid key is refused.
    @Test func refusesEveryManglingOfAKey() {
        for (text, isSigner) in [(keyText("notes/peter-neumann.vkey"), false), (keyText("notes/peter-neumann.skey"), true)] {
            let bytes = Array(text.utf8)
            #expect(bytes.count > 60)
            /// True when the mangled text is accepted.
            func accepted(_ candidate: [UInt8]) -> Bool {
                let text = String(decoding: candidate, as: UTF8.self)
                return isSigner ? (try? NoteSigningKey(parsing: text)) != nil : (try? NoteVerifierKey(parsing: text)) != nil
            }
            var acceptedManglings: [String] = []
            for start in 0...bytes.count {
                for end in (start + 1)...max(start + 1, bytes.count) where end <= bytes.count && !(start == 0 && end == bytes.count) {
                    if accepted(Array(bytes[start..<end])) { acceptedManglings.append(String(decoding: bytes[start..<end], as: UTF8.self)) }
                }
            }
            for position in bytes.indices {
                var copy = bytes
                copy[position] &+= 1
                if accepted(copy) { acceptedManglings.append(String(decoding: copy, as: UTF8.self)) }
            }
            #expect(acceptedManglings.isEmpty, "\(acceptedManglings.prefix(5))")
        }
    }

    @Test func explainsBadKeys() {
        let cases: [(String, String)] = [
            ("PeterNeumann", "a verifier key looks like `<name>+<8 hex digits>+<base64>`"),
            ("PeterNeumann+c74f20a3", "a verifier key looks like `<name>+<8 hex digits>+<base64>`"),
            ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name `` must be non-empty with no spaces, `+` or control characters"),
            ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name `Peter Neumann` must be non-empty with no spaces, `+` or control characters"),
            ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key id `c74f20a` must be 8 hex digits"),
            ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "the verifier key's key bytes are not valid base64"),
            ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
             "key id c74f20a4 does not match the key `PeterNeumann` (its id is c74f20a3)"),
            // Go's own: a key of the wrong length and an unknown algorithm, each with its key ID adjusted.
            // (Go reads this base64, whose unused low bits are not zero; this reader refuses it earlier.)
            ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "the verifier key's key bytes are not valid base64"),
            ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEQ==", "the verifier key must hold 32 key bytes, found 36"),
            ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "unsupported key type 0x65; only ed25519 (0x01) is supported"),
        ]
        for (text, message) in cases {
            #expect(AuditTestSupport.auditError { _ = try NoteVerifierKey(parsing: text) }?.message == message, "\(text)")
        }
        #expect(AuditTestSupport.auditError { _ = try NoteSigningKey(parsing: "PRIVATE+PeterNeumann+c74f20a3+AYEK") }?.message
            == "a signing key looks like `PRIVATE+KEY+<name>+<8 hex digits>+<base64>`")
        #expect(AuditTestSupport.auditError { _ = try NoteSigningKey(name: "x", seed: [1, 2]) }?.message
            == "the signing key must hold 32 key bytes, found 2")
        #expect(AuditTestSupport.auditError { _ = try NoteSigningKey(name: "a+b", seed: Array(repeating: 0, count: 32)) }?.message
            == "key name `a+b` must be non-empty with no spaces, `+` or control characters")
    }

    /// Go's TestOpen bad messages, plus size, count and base64 limits.
    @Test func refusesMalformedNotes() throws {
        let peterLine = AuditFixtures.text("notes/peter-neumann.note").split(separator: "\n").last.map { String($0) + "\n" } ?? ""
        #expect(peterLine.hasPrefix("— PeterNeumann "))
        let cases: [(String, String)] = [
            (Self.text + "\n", "note has a blank line but no signature lines after it"),
            (Self.text + "\n" + peterLine.dropLast(), "note does not end with a newline"),
            ("\u{1}" + Self.text + "\n" + peterLine, "note contains a control character other than newline"),
            (Self.text + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
             "signature line 1 does not hold standard base64 of a key id and a signature"),
            (Self.text + "\n" + peterLine + "Unexpected line.\n", "signature line 2 does not start with `— ` (em dash, space)"),
            (Self.text + "\n" + String(repeating: peterLine, count: 101), "note has more than 100 signatures"),
            (Self.text + "\n— PeterNeumann\n", "signature line 1 must be `— <key name> <base64 signature>`"),
            (Self.text + "\n—  x08go/ZJkuBS9UG=\n", "signature line 1 has an invalid key name ``"),
            (Self.text + "\n— PeterNeumann x08g\n", "signature line 1 does not hold standard base64 of a key id and a signature"),
            (Self.text + "\n— PeterNeumann AAAAAA==\n", "signature line 1 does not hold standard base64 of a key id and a signature"),
            (Self.text + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
             "signature line 1 does not hold standard base64 of a key id and a signature"),
            (Self.text + "\n\t" + peterLine, "note contains a control character other than newline"),
            ("", "note is empty"),
            (Self.text.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n" + peterLine, "note contains a control character other than newline"),
            (String(repeating: "a", count: 65_537) + "\n", "note is larger than 65536 bytes"),
        ]
        for (text, message) in cases {
            #expect(noteError(text) == message, "\(text.prefix(80))")
        }
        var invalid = Array(Self.text.utf8)
        invalid.insert(0xFF, at: 0)
        #expect(AuditTestSupport.auditError { _ = try SignedNote(parsing: invalid + Array(("\n" + peterLine).utf8)) }?.message
            == "note is not valid utf-8")
        // A signature too short for Ed25519 is well-formed but does not verify.
        let short = try SignedNote(parsing: Self.text + "\n— PeterNeumann x08go/ZJ\n")
        #expect(short.signatures.first?.signature.count == 2)
        #expect(short.verify(with: try NoteVerifierKey(parsing: keyText("notes/peter-neumann.vkey")))
            == .badSignature(name: "PeterNeumann", keyID: 0xC74F_20A3))
        // Notes built in code are held to the same rules as notes read.
        #expect(AuditTestSupport.auditError {
            _ = try SignedNote(text: "a\n", signatures: [NoteSignature(name: "a b", keyID: 1, signature: [1])])
        }?.message == "signature line 1 has an invalid key name `a b`")
        #expect(AuditTestSupport.auditError { _ = try SignedNote(text: "a\n\nb\n", signatures: []) }?.message
            == "an unsigned note must not contain a blank line")
        #expect(AuditTestSupport.auditError { _ = try SignedNote(text: "a", signatures: []) }?.message
            == "note text must end with a newline")
        // Sixteen signatures must be accepted (C2SP).
        #expect(throws: Never.self) { try SignedNote(parsing: Self.text + "\n" + String(repeating: peterLine, count: 16)) }
    }

    @Test func readsCheckpointsStrictly() throws {
        let root = AuditHash.sha256([7])
        let good = "example.com/log\n17\n\(root.base64)\n"
        let checkpoint = try Checkpoint(parsing: good)
        #expect(checkpoint.origin == "example.com/log" && checkpoint.size == 17 && checkpoint.root == root && checkpoint.extensions.isEmpty)
        #expect(checkpoint.body == good)
        let extended = try Checkpoint(parsing: good + "extension one\n")
        #expect(extended.extensions == ["extension one"])
        #expect(try Checkpoint(parsing: "o\n0\n\(root.base64)\n").size == 0)
        #expect(try Checkpoint(parsing: "o\n18446744073709551615\n\(root.base64)\n").size == UInt64.max)
        let bad: [(String, String)] = [
            ("example.com/log\n17\n\(root.base64)", "checkpoint must end with a newline"),
            ("example.com/log\n17\n", "checkpoint needs an origin, a size and a root line, found 2 lines"),
            ("\n17\n\(root.base64)\n", "checkpoint origin `` must be non-empty with no control characters"),
            ("o\n017\n\(root.base64)\n", "checkpoint size `017` must be a decimal number without leading zeros"),
            ("o\n-1\n\(root.base64)\n", "checkpoint size `-1` must be a decimal number without leading zeros"),
            ("o\n+1\n\(root.base64)\n", "checkpoint size `+1` must be a decimal number without leading zeros"),
            ("o\n18446744073709551616\n\(root.base64)\n", "checkpoint size `18446744073709551616` must be a decimal number without leading zeros"),
            ("o\n\n\(root.base64)\n", "checkpoint size `` must be a decimal number without leading zeros"),
            ("o\n1\nAAAA\n", "`checkpoint root` must be standard base64 of 32 bytes, found `AAAA`"),
            ("o\n1\n\(root.hex)\n", "`checkpoint root` must be standard base64 of 32 bytes, found `\(root.hex.prefix(60))…`"),
            (good + "\n", "checkpoint extension line `` must be non-empty with no control characters"),
        ]
        for (text, message) in bad {
            #expect(AuditTestSupport.auditError { _ = try Checkpoint(parsing: text) }?.message == message, "\(text)")
        }
    }

    @Test func readsBase64Strictly() {
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("AA==") == [0])
        #expect(Base64.decode("AAA=") == [0, 0])
        #expect(Base64.decode("AAAA") == [0, 0, 0])
        for bad in ["A", "AA", "AAA", "AB==", "AAB=", "A===", "====", "AA=A", "AA==AAAA", "AA AA", "AA\nA", "-_AA", "AAA*"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
        var generator = SeededGenerator(seed: 4648)
        for length in 0..<100 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }
}
