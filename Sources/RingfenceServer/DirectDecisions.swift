import NIOCore
import RingfenceRuntime

// The decision routes read straight from the body's bytes (SPEC §14.1): `POST /v1/decide` and
// `POST /v1/batch` scan the body once (`DecisionBodyScanner`), decode each plain decision's
// request from its own bytes (`Request(jsonBytes:)`), decide it, and write the answer text
// directly — a decision as `RuntimeDecision.jsonLine`, which `ringfence ops` writes the same
// way. No `Value` tree is built for the body, no argument table is checked and no result value
// is made.
//
// A body the scanner does not take, a batch over the item limit, or an item that is not a plain
// decision (another operation, `at`, a request that does not decode, a session that is not an
// id) goes through the operation dispatcher as before, so every error keeps its code and
// wording. An answer of `audit_failed` has the host try to recover (`RuntimeHost.recoverIfFailed`)
// once the gate is left. `DirectDecisionTests` checks the answers against the dispatcher's, byte for byte,
// on generated corpora of valid and invalid bodies.

extension Router {
    /// `POST /v1/decide` for a plain `{session?, request}` body; nil to read the body the general way.
    func directDecision(_ body: ByteBuffer?) -> Answer? {
        guard let body, body.readableBytes > 0 else { return nil }
        return body.withUnsafeReadableBytes { raw -> Answer? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let spans = DecisionBodyScanner.decision(bytes), !spans.namesOperation,
                  let decision = Self.decoded(spans, in: bytes) else { return nil }
            let decided = host.withCurrent { current in
                Result { () throws(RuntimeError) -> RuntimeDecision in
                    try current.runtime.decide(decision.request, session: decision.session)
                }
            }
            switch decided {
            case .success(let outcome):
                metrics.decided(outcome.decision.code)
                return .json(outcome.jsonLine)
            case .failure(let error):
                if error.code == .auditFailed { host.recoverIfFailed() }
                return .error(error)
            }
        }
    }

    /// `POST /v1/batch` for a body the scanner takes, within the item limit; nil to read the
    /// body the general way.
    func directBatch(_ body: ByteBuffer?) -> Answer? {
        guard let body, body.readableBytes > 0 else { return nil }
        return body.withUnsafeReadableBytes { raw -> Answer? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let items = DecisionBodyScanner.batchItems(bytes, listKey: "ops"), items.count <= configuration.maxBatchItems else {
                return nil
            }
            var out = "{\"results\":["
            out.reserveCapacity(16 + items.count * 192)
            var failed = false
            host.withCurrent { current in current.runtime.together {
                for (index, item) in items.enumerated() {
                    if index > 0 { out += "," }
                    switch item {
                    case .decision(let spans):
                        guard let decision = Self.decoded(spans, in: bytes) else {
                            failed = dispatch(spans.object, in: bytes, current, into: &out) || failed
                            continue
                        }
                        do throws(RuntimeError) {
                            let outcome = try current.runtime.decide(decision.request, session: decision.session)
                            metrics.decided(outcome.decision.code)
                            out += "{\"op\":\"decide\",\"ok\":true,\"result\":"
                            outcome.appendJSONLine(to: &out)
                            out += "}"
                        } catch {
                            out += OperationOutcome(op: "decide", result: .failure(error)).line
                            failed = failed || error.code == .auditFailed
                        }
                    case .other(let range):
                        failed = dispatch(range, in: bytes, current, into: &out) || failed
                    }
                }
            } }
            if failed { host.recoverIfFailed() }
            out += "]}"
            return .json(out)
        }
    }

    /// Runs the operation at `range` through the dispatcher and appends its result line; true
    /// when it failed because the audit log did.
    private func dispatch(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>, _ current: RuntimeHost.Current,
                          into out: inout String) -> Bool {
        let outcome = current.dispatcher.dispatch(line: UnsafeBufferPointer(rebasing: bytes[range]))
        count(outcome)
        out += outcome.line
        if case .failure(let error) = outcome.result { return error.code == .auditFailed }
        return false
    }

    /// The request and session of a plain decision, or nil when the dispatcher must read it (a
    /// request that does not decode, a session that is not an id).
    private static func decoded(_ spans: DecisionSpans, in bytes: UnsafeBufferPointer<UInt8>) -> (request: Request, session: String?)? {
        var session: String?
        if let range = spans.session {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            guard RuntimeID.isValid(text) else { return nil }
            session = text
        }
        let request: Request
        do throws(RequestError) {
            request = try Request(jsonBytes: UnsafeBufferPointer(rebasing: bytes[spans.request]))
        } catch {
            return nil
        }
        return (request, session)
    }
}
