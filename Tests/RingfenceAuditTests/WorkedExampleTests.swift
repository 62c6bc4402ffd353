import RingfenceWire
import Testing
@testable import RingfenceAudit
import RingfenceVM

/// The worked example of docs/audit.md, checked value by value. The expected hashes and
/// the signature were computed independently (Python's hashlib and Node's Ed25519).
@Suite struct WorkedExampleTests {
    /// The example's three entries: time, kind, session, agent, data, and the documented
    /// canonical data, data hash, envelope, entry hash and leaf hash.
    static let entries: [(time: String, kind: String, session: String?, agent: String?, data: String,
                          canonicalData: String, dataHash: String, envelope: String, entryHash: String, leaf: String)] = [
        ("2026-11-21T10:00:00.000000Z", "delta", nil, nil,
         #"{"path": "/workspace/report.csv", "bytes": 1024, "op": "write"}"#,
         #"{"bytes":1024,"op":"write","path":"/workspace/report.csv"}"#,
         "aee63b7a824465f172a042979ba5007a4fa8a992ec675bdbd4cd1b9d21b941d6",
         #"{"agent":null,"data_hash":"aee63b7a824465f172a042979ba5007a4fa8a992ec675bdbd4cd1b9d21b941d6","kind":"delta","prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":0,"session":null,"time":"2026-11-21T10:00:00.000000Z","v":1}"#,
         "ffddb7a6b906bc939365e2ad0c71cf7a7a5365788e8326789b1100f77bf3b148",
         "1f1e78858297eaebd5554e12a92031e519ca9bea23eace474ac888b90d0818a8"),
        ("2026-11-21T10:00:00.250000Z", "decision", "s1", "a1",
         #"{"request": {"action": "fs.read", "resource": "/workspace/report.csv"}, "decision": {"allowed": true, "code": "allow", "rule": "read-workspace"}, "note": "caf\u00e9"}"#,
         #"{"decision":{"allowed":true,"code":"allow","rule":"read-workspace"},"note":"café","request":{"action":"fs.read","resource":"/workspace/report.csv"}}"#,
         "423b35412900a8128566dc7e323c28788075ea9eb8645970bf45d7be83538821",
         #"{"agent":"a1","data_hash":"423b35412900a8128566dc7e323c28788075ea9eb8645970bf45d7be83538821","kind":"decision","prev":"ffddb7a6b906bc939365e2ad0c71cf7a7a5365788e8326789b1100f77bf3b148","seq":1,"session":"s1","time":"2026-11-21T10:00:00.250000Z","v":1}"#,
         "15aac55c08a1d876bab8c813bba025bea7be788c85a78b698da5a20074456e01",
         "208579aa1bd941110b0d69023ee80b9cdeaaead3195fbad52373ad8cae0cd6f8"),
        ("2026-11-21T10:00:01.000000Z", "decision", "s1", "a1",
         #"{"request": {"action": "net.fetch", "resource": "https://example.com/"}, "decision": {"allowed": false, "code": "default", "rule": null}}"#,
         #"{"decision":{"allowed":false,"code":"default","rule":null},"request":{"action":"net.fetch","resource":"https://example.com/"}}"#,
         "9f5e57fa67f04e4f6763dc1820190b25fe72eacf710febd810d671b5949022cc",
         #"{"agent":"a1","data_hash":"9f5e57fa67f04e4f6763dc1820190b25fe72eacf710febd810d671b5949022cc","kind":"decision","prev":"15aac55c08a1d876bab8c813bba025bea7be788c85a78b698da5a20074456e01","seq":2,"session":"s1","time":"2026-11-21T10:00:01.000000Z","v":1}"#,
         "7b153650503b6d62788931cfae7ec4a3bb662c8d748a471fa1264e5cfc5d06ff",
         "0cdd66835e531e15c8e47313347283f19f72bfadcebc18006757cfb0bc96b406"),
    ]

    /// The example signing key (seed 00 01 … 1f).
    static let signingKey = "PRIVATE+KEY+ringfence.example/audit+78c8eb64+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
    /// Its verifier key.
    static let verifierKey = "ringfence.example/audit+78c8eb64+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    /// The signed checkpoint of the three entries.
    static let note = "ringfence.example/audit\n3\nkL4ctgMatMXRK4mXOsxaWBu3aEBcx9aO5Y77iQt8gcM=\n\n"
        + "— ringfence.example/audit eMjrZBafBr0Z5Y0zuqKyB2+bTJyUJiVsur/GO9klQ+l80aIrq8ma7MvwJDAQbu9bzD4BO0rGvtzYOTxPQE7GL0zDTAs=\n"

    @Test func reproducesTheDocumentedExample() throws {
        var prev = AuditHash.zero
        var verifier = AuditChainVerifier()
        var tree = TestTree()
        for (seq, example) in Self.entries.enumerated() {
            let data = try JSONParser.parse(example.data)
            let canonicalData = try CanonicalJSON.encode(data)
            #expect(String(decoding: canonicalData, as: UTF8.self) == example.canonicalData)
            #expect(AuditHash.sha256(canonicalData).hex == example.dataHash)
            let entry = try AuditEntry(seq: UInt64(seq), time: try AuditTime(parsing: example.time), kind: example.kind,
                                       session: example.session, agent: example.agent, data: data, prev: prev)
            #expect(String(decoding: entry.canonicalBytes, as: UTF8.self) == example.envelope)
            #expect(entry.hash.hex == example.entryHash)
            #expect(MerkleHash.leaf(entryHash: entry.hash).hex == example.leaf)
            #expect(try verifier.append(entry, canonicalData: canonicalData) == entry.hash)
            try tree.append(MerkleHash.leaf(entryHash: entry.hash))
            prev = entry.hash
        }
        #expect(try MerkleProof.root(size: 2, source: tree.store).hex == "e5799e759148f21a1efe9b5484a2e22317e622f6e5e3ca8e29d54c1938bb3af2")
        #expect(verifier.root.hex == "90be1cb6031ab4c5d12b89973acc5a581bb768405cc7d68ee58efb890b7c81c3")
        #expect(verifier.root.base64 == "kL4ctgMatMXRK4mXOsxaWBu3aEBcx9aO5Y77iQt8gcM=")
        #expect(try MerkleProof.inclusionProof(index: 0, size: 3, source: tree.store).map(\.hex)
            == ["208579aa1bd941110b0d69023ee80b9cdeaaead3195fbad52373ad8cae0cd6f8",
                "0cdd66835e531e15c8e47313347283f19f72bfadcebc18006757cfb0bc96b406"])
        #expect(try MerkleProof.consistencyProof(oldSize: 2, newSize: 3, source: tree.store).map(\.hex)
            == ["0cdd66835e531e15c8e47313347283f19f72bfadcebc18006757cfb0bc96b406"])

        let key = try NoteSigningKey(parsing: Self.signingKey)
        #expect(key.seed == Array(0..<32))
        #expect(key.verifierKey.text == Self.verifierKey)
        #expect(Hex.encode(key.verifierKey.publicKey) == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
        let checkpoint = try Checkpoint(origin: "ringfence.example/audit", size: verifier.count, root: verifier.root)
        let note = try checkpoint.sign(with: [key])
        #expect(note.formatted == Self.note)
        let reread = try SignedNote(parsing: Self.note)
        #expect(reread.verify(with: try NoteVerifierKey(parsing: Self.verifierKey)).isVerified)
        #expect(try reread.checkpoint == checkpoint)
    }
}
