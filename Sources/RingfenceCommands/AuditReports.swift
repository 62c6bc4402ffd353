import Ringfence

/// The text and JSON `audit verify` and `audit log` print.
enum AuditReports {
    /// The report people read.
    static func text(_ report: AuditVerificationReport, keysGiven: Bool) -> String {
        var out: [String] = []
        if let failure = report.failure {
            out.append("tampered: \(failure.message)")
            out.append("  \(report.entries) entries verified before it")
            return out.joined(separator: "\n") + "\n"
        }
        out.append("intact: \(report.entries) \(report.entries == 1 ? "entry" : "entries"), root \(report.root.hex)")
        out.append("  \(report.checkpoints) \(report.checkpoints == 1 ? "checkpoint matches" : "checkpoints match") the entries")
        if report.unsignedCheckpoints > 0 {
            out.append("  \(report.unsignedCheckpoints) of them unsigned: anyone could have written them")
        }
        if keysGiven {
            out.append("  \(report.verifiedSignatures) checkpoint \(report.verifiedSignatures == 1 ? "signature" : "signatures") verified with the given key")
        } else if report.checkpoints > report.unsignedCheckpoints {
            out.append("  signatures not checked: give --key to check them")
        }
        if report.purgedData > 0 {
            out.append("  \(report.purgedData) data rows purged: those entries verify by data_hash alone")
        }
        if let size = report.extendsSince {
            out.append("  extends the --since checkpoint of \(size) entries (consistency proof verified)")
        } else {
            out.append("  note: a log cut short at its tail still verifies; only a checkpoint kept elsewhere (--since) shows that")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The report as one JSON object.
    static func json(_ report: AuditVerificationReport, keysGiven: Bool) -> String {
        var members: [String: Value] = [
            "intact": .bool(report.intact),
            "entries": .number(Double(report.entries)),
            "checkpoints": .number(Double(report.checkpoints)),
            "unsigned_checkpoints": .number(Double(report.unsignedCheckpoints)),
            "purged_data": .number(Double(report.purgedData)),
            "signatures_checked": .bool(keysGiven),
            "verified_signatures": .number(Double(report.verifiedSignatures)),
            "extends_since": report.extendsSince.map { .number(Double($0)) } ?? .null,
        ]
        if report.intact { members["root"] = .string(report.root.hex) }
        if let failure = report.failure {
            members["failure"] = .object(["entry": failure.entry.map { .number(Double($0)) } ?? .null, "message": .string(failure.message)])
        }
        return JSONOutput.text(.object(members))
    }

    /// One entry as a text line: `seq time kind session agent hash`.
    static func line(_ stored: StoredAuditEntry) -> String {
        let e = stored.entry
        return "\(e.seq)  \(e.time.text)  \(e.kind)  session=\(e.session ?? "-")  agent=\(e.agent ?? "-")  \(stored.hash.hex.prefix(16))…"
            + (stored.data == nil ? "  (data purged)" : "")
    }
}

/// JSON text of a value: RFC 8785 form (compact, members sorted), so output is deterministic.
enum JSONOutput {
    /// The text of `value` (`null` for a value JSON cannot hold, such as NaN).
    static func text(_ value: Value) -> String {
        guard let bytes = try? CanonicalJSON.encode(value) else { return "null" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
