import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RingfenceRuntime

/// Runs saga steps over HTTP (SPEC §10.2): `POST` to `execute_api` or `undo_api` (a URL, or a
/// path resolved against the saga's base URL), with the JSON body `{saga, step, action, agent,
/// attempt, phase, input}` and `Idempotency-Key: <saga>/<step>/<phase>`, the same on every
/// attempt and after every resume.
///
/// What an attempt's answer means:
///
///   2xx                                   committed; the body is the step's output (JSON, else text)
///   408, 425, 429, 5xx                    failed, retryable (`http_status`)
///   timeout, refused or reset connection  failed, retryable (`timeout`, `connection`)
///   a reply that is not HTTP              failed, retryable (`invalid_response`)
///   3xx                                   failed, not retried (`redirect`): redirects are never
///                                         followed, so the key and body go nowhere unintended
///   other 4xx                             failed, not retried (`http_status`)
///   a body over `maxResponseBytes`        failed, not retried (`response_too_large`); read no further
///
/// The attempt's timeout is the request's deadline (connecting, sending and reading the whole
/// body), so a server that never answers, or answers forever, ends the attempt on time.
public final class HTTPStepExecutor: StepExecutor {
    /// The largest response body read (1 MiB by default).
    public let maxResponseBytes: Int
    /// The client, with redirects disallowed.
    private let client: HTTPClient

    /// An executor on the shared event loops, reading at most `maxResponseBytes` of a body.
    public init(maxResponseBytes: Int = 1 << 20) {
        self.maxResponseBytes = maxResponseBytes
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(30), read: nil)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the client's connections (call once, from outside any task, before dropping it).
    public func shutdown() {
        try? client.syncShutdown()
    }

    /// The HTTP executor ends every attempt by its deadline itself.
    public var enforcesTimeout: Bool { true }

    /// Why `step`'s `phase` cannot be sent: no endpoint, a path with no base URL, a URL that does not parse.
    public func problem(with step: SagaPlan.Step, phase: StepPhase, baseURL: String?) -> String? {
        guard let endpoint = phase == .execute ? step.executeAPI : step.undoAPI else {
            return "it has no `\(phase == .execute ? "execute_api" : "undo_api")` to send it to"
        }
        let base = baseURL.flatMap(SagaEndpoint.init)
        if endpoint.hasPrefix("/"), base == nil {
            return "`\(endpoint)` is a path and there is no base url to resolve it against (`base_url` in the saga file, or `--base-url`)"
        }
        guard SagaEndpoint.resolve(endpoint, base: base) != nil else {
            return "`\(endpoint)` is not an absolute `http` or `https` url or a path"
        }
        return nil
    }

    /// Sends one attempt and reads its answer within the attempt's timeout.
    public func run(_ call: StepCall) async -> Result<Value?, StepFailure> {
        guard let endpoint = call.endpoint,
              let url = SagaEndpoint.resolve(endpoint, base: call.baseURL.flatMap(SagaEndpoint.init)) else {
            return .failure(StepFailure("invalid_endpoint", "the step has no url to send its \(call.phase.rawValue) to", retryable: false))
        }
        var request = HTTPClientRequest(url: url.description)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: call.idempotencyKey)
        request.body = .bytes(ByteBuffer(string: call.body.jsonText))
        let deadline = NIODeadline.now() + .milliseconds(call.timeoutMilliseconds)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let status = Int(response.status.code)
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: maxResponseBytes)
            } catch is NIOTooManyBytesError {
                return .failure(StepFailure("response_too_large", "the response body is larger than \(maxResponseBytes) bytes",
                                            retryable: false, status: status))
            }
            switch status {
            case 200..<300:
                return .success(Self.output(body))
            case 300..<400:
                let location = response.headers.first(name: "Location").map { " to `\($0)`" } ?? ""
                return .failure(StepFailure("redirect", "the server redirected (\(status))\(location); redirects are not followed",
                                            retryable: false, status: status))
            case 408, 425, 429, 500..<600:
                return .failure(StepFailure("http_status", "the server answered \(status)", retryable: true, status: status))
            default:
                return .failure(StepFailure("http_status", "the server answered \(status)", retryable: false, status: status))
            }
        } catch {
            return .failure(Self.failure(error, timeout: call.timeoutMilliseconds))
        }
    }

    /// A failure that is not an answer: a timeout, a connection that failed, a reply that is not HTTP.
    static func failure(_ error: any Error, timeout: Int64) -> StepFailure {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout:
                return .timeout(timeout)
            case .cancelled:
                return StepFailure("cancelled", "the attempt was cancelled", retryable: true)
            default:
                return StepFailure("connection", "the request failed: \(error)", retryable: true)
            }
        }
        if error is HTTPParserError {
            return StepFailure("invalid_response", "the server's reply is not valid http: \(error)", retryable: true)
        }
        return StepFailure("connection", "the request failed: \(error)", retryable: true)
    }

    /// A 2xx body as the step's output: its JSON, or its text; nil when empty.
    static func output(_ body: ByteBuffer) -> Value? {
        guard body.readableBytes > 0 else { return nil }
        let bytes = Array(body.readableBytesView)
        if let json = try? bytes.withUnsafeBufferPointer({ buffer throws(JSONParseError) in try JSONParser.parse(buffer) }) { return json }
        return .string(String(decoding: bytes, as: UTF8.self))
    }
}
