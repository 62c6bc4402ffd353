import RingfenceVM

// The result of one operation as JSON text on its own, for transports that answer with the
// result rather than the whole `ops` line (the server's `POST /v1/ops/{op}`): written by the
// same writer as the line, so both carry the same bytes.

extension OperationOutcome {
    /// The result as JSON text (a decision's keys in SPEC §1 order), nil when the operation failed.
    public var resultText: String? {
        guard case .success(let value) = result else { return nil }
        return OperationResultText.text(value)
    }
}

/// JSON text of operation results, as `ringfence ops` writes them.
public enum OperationResultText {
    /// Compact JSON for `value`: keys sorted, except a decision's (SPEC §1 order), numbers as
    /// RFC 8785 writes them.
    public static func text(_ value: Value) -> String {
        var out = ""
        ResultWriter.write(value, into: &out)
        return out
    }
}
