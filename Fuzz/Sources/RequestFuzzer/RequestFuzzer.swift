import FuzzSupport
import Ringfence

/// Runs libFuzzer over `requestFuzzerTestOneInput`.
@main enum RequestFuzzerMain {
    /// Hands the command line to libFuzzer.
    static func main() { runFuzzer(requestFuzzerTestOneInput) }
}

/// libFuzzer's entry point for the request decoder: the input is JSON text. A refusal must be an
/// RF6xxx error with a position; a decoded request must re-encode to an equal request and be
/// prepared and decided on the fixed policy without breaking any invariant.
@_cdecl("LLVMFuzzerTestOneInput")
public func requestFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let decoded = Result { () throws(RequestError) -> Request in
        try Request(jsonBytes: UnsafeBufferPointer(start: data, count: size))
    }
    switch decoded {
    case .success(let request): RequestChecks.decide(request)
    case .failure(let error): RequestChecks.refusal(error)
    }
    return 0
}

/// The checks on a decoded or refused request.
enum RequestChecks {
    /// A refusal carries a request code (RF6xxx), a position and a message.
    static func refusal(_ error: RequestError) {
        fuzzCheck(error.code.rawValue.hasPrefix("RF6"), "a request refused with \(error.code.rawValue)")
        fuzzCheck(error.line >= 1 && error.column >= 1, "a request error at \(error.line):\(error.column)")
        fuzzCheck(!error.message.isEmpty, "a request error without a message")
    }

    /// Re-encodes, prepares and decides `request`, then checks the decision against the policy.
    static func decide(_ request: Request) {
        let again = Result { () throws(RequestError) -> Request in try Request(json: request.jsonText) }
        fuzzCheck((try? again.get()) == request, "`\(request.jsonText)` does not read back as the same request")
        let engine = FuzzFixtures.engine
        let prepared = engine.prepare(request)
        let decision = engine.evaluate(prepared)
        FuzzFixtures.checkDecision(decision, for: request)
        if decision.allowed { allowed(request, decision) }
    }

    /// What `FuzzFixtures.policySource` can never allow, checked from the request alone.
    static func allowed(_ request: Request, _ decision: Decision) {
        let rings = ["read-workspace": 3, "write-out": 2, "analysts-read": 3, "get-apis": 3, "deploy": 1]
        let ring = decision.rule.flatMap { rings[$0] }
        fuzzCheck(ring != nil, "allowed by unexpected rule \(decision.rule ?? "none")")
        fuzzCheck(decision.ring <= ring ?? -1, "rule \(decision.rule ?? "") allowed ring \(decision.ring)")
        if request.action.hasPrefix("fs.") {
            // Plain paths are not percent-decoded (SPEC §3.1), so this resolution is the reference.
            let segments = request.resource.flatMap(resolvedAbsolutePath)
            fuzzCheck(segments?.first.map { $0.elementsEqual("workspace".utf8) } == true,
                      "fs access allowed outside /workspace: `\(request.resource ?? "")`")
            let last = segments?.last ?? []
            let secret = last.elementsEqual(".env".utf8) || last.elementsEqual("id_rsa".utf8) || last.suffix(4).elementsEqual(".pem".utf8)
            fuzzCheck(!secret, "a secret allowed: `\(request.resource ?? "")`")
        }
        if request.action == "database.query" {
            guard case .string(let query)? = request.params["query"] else { return fuzzCheck(false, "a query that is not a string allowed") }
            fuzzCheck(!containsASCIICaseInsensitive(query, "drop"), "`drop` allowed in `\(query)`")
        }
        if request.action == "net.http" {
            fuzzCheck(request.params["method"] == .string("GET") || request.params["method"] == .string("HEAD"), "a write allowed")
            fuzzCheck(request.params["body"] == nil, "a request with a body allowed")
        }
    }

    /// The segments of an absolute path after `.`, `..` and empty segments are resolved (a `..`
    /// at the root stays there; a path refused for climbing is allowed nowhere anyway); nil for a
    /// relative path.
    static func resolvedAbsolutePath(_ path: String) -> [[UInt8]]? {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        var out: [[UInt8]] = []
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) {
                _ = out.popLast()
                continue
            }
            out.append(Array(segment))
        }
        return out
    }

    /// True when `text` contains `word` (lower-case ASCII) byte for byte, ignoring ASCII case.
    static func containsASCIICaseInsensitive(_ text: String, _ word: String) -> Bool {
        let haystack = text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, needle = Array(word.utf8)
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0 ..< $0 + needle.count].elementsEqual(needle) }
    }
}
