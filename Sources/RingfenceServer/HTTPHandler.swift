import NIOCore
import NIOHTTP1
import NIOPosix
import RingfenceRuntime

// One connection's HTTP/1.1 exchange: reads a request (refusing a body over the cap as soon as
// its length shows, and a request that takes longer than the request timeout to arrive),
// checks the route, the method, the bearer token and the content type, answers it — on the
// event loop for the fast routes, on the blocking pool for the ones that may wait — and keeps
// the connection for the next request until it idles out or the server drains. Requests a
// client pipelines while an answer is being worked out wait their turn in order.

/// The per-connection handler.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Request parts in.
    typealias InboundIn = HTTPServerRequestPart
    /// Response parts out.
    typealias OutboundOut = HTTPServerResponsePart

    /// Where the exchange stands.
    private enum State {
        /// Waiting for a request's head.
        case idle
        /// Reading a request's body.
        case receiving(HTTPRequestHead, ByteBuffer?)
        /// Working out or writing an answer.
        case answering
        /// Refused: the rest of the input is dropped and the connection closes.
        case closing
    }

    private let router: Router
    private let pool: NIOThreadPool
    private let configuration: ServerConfiguration
    private let tokens: [[UInt8]]
    private var state = State.idle
    private var started: UInt64 = 0
    private var requestTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var quiescing = false
    private var backlog: [HTTPServerRequestPart] = []
    private var backlogBytes = 0

    /// A handler answering with `router`, blocking work on `pool`.
    init(router: Router, pool: NIOThreadPool, tokens: [[UInt8]]) {
        self.router = router
        self.pool = pool
        self.configuration = router.configuration
        self.tokens = tokens
    }

    /// Starts the idle timer for a new connection.
    func channelActive(context: ChannelHandlerContext) {
        scheduleIdle(context)
        context.fireChannelActive()
    }

    /// Cancels the timers of a closed connection.
    func channelInactive(context: ChannelHandlerContext) {
        requestTimer?.cancel()
        idleTimer?.cancel()
        if case .receiving = state { router.metrics.inFlight.subtract() }
        state = .closing
        context.fireChannelInactive()
    }

    /// Reads one request part.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .answering:
            backlog.append(part)
            if case .body(let buffer) = part { backlogBytes += buffer.readableBytes }
            if backlogBytes > 2 * configuration.maxBodyBytes { context.close(promise: nil) }
            return
        case .closing:
            return
        case .idle, .receiving:
            read(part, context)
        }
    }

    private func read(_ part: HTTPServerRequestPart, _ context: ChannelHandlerContext) {
        switch (part, state) {
        case (.head(let head), .idle):
            idleTimer?.cancel()
            started = NIODeadline.now().uptimeNanoseconds
            router.metrics.inFlight.add()
            state = .receiving(head, nil)
            let loop = context.eventLoop.assumeIsolated()
            requestTimer = loop.scheduleTask(in: .milliseconds(configuration.requestTimeout)) { [self] in
                guard case .receiving = state else { return }
                refuse(.requestTimeout, "request_timeout",
                       "the request did not arrive within \(configuration.requestTimeout) ms", route: .other, context)
            }
            if let length = head.headers.first(name: "content-length"), let bytes = Int(length), bytes > configuration.maxBodyBytes {
                refuse(.payloadTooLarge, "body_too_large",
                       "the body is \(bytes) bytes; the limit is \(configuration.maxBodyBytes)", route: .other, context)
            }
        case (.body(var chunk), .receiving(let head, var body)):
            state = .answering  // drops the buffer's reference so appending does not copy
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
            if body!.readableBytes > configuration.maxBodyBytes {
                state = .receiving(head, nil)
                refuse(.payloadTooLarge, "body_too_large", "the body is over the limit of \(configuration.maxBodyBytes) bytes",
                       route: .other, context)
                return
            }
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            requestTimer?.cancel()
            state = .answering
            respond(head, body, context)
        default:
            refuse(.badRequest, "bad_request", "the request parts came out of order", route: .other, context)
        }
    }

    /// Answers a complete request.
    private func respond(_ head: HTTPRequestHead, _ body: ByteBuffer?, _ context: ChannelHandlerContext) {
        let uri = head.uri[...]
        let path: Substring, query: Substring?
        if let mark = uri.firstIndex(of: "?") {
            path = uri[..<mark]
            query = uri[uri.index(after: mark)...]
        } else {
            path = uri
            query = nil
        }
        let requestID = Self.requestID(head.headers)
        guard let endpoint = Endpoint.match(path) else {
            return write(.error(.notFound, "not_found", "no route `\(String(path.prefix(200)))`; see /openapi.json"),
                         head: head, requestID: requestID, route: .other, context)
        }
        guard endpoint.method == head.method else {
            var answer = Answer.error(.methodNotAllowed, "method_not_allowed",
                                      "`\(String(path))` answers \(endpoint.method.rawValue), not \(head.method.rawValue)")
            answer.headers.append(("allow", endpoint.method.rawValue))
            return write(answer, head: head, requestID: requestID, route: endpoint.metricsRoute, context)
        }
        if !endpoint.isPublic && !Self.authorized(head.headers, tokens: tokens) {
            var answer = Answer.error(.unauthorized, "unauthorized", "a valid bearer token is required (`Authorization: Bearer TOKEN`)")
            answer.headers.append(("www-authenticate", "Bearer realm=\"ringfence\""))
            return write(answer, head: head, requestID: requestID, route: endpoint.metricsRoute, context)
        }
        if let body, body.readableBytes > 0, !Self.isJSON(head.headers) {
            return write(.error(.unsupportedMediaType, "unsupported_media_type", "the body must be sent as `application/json`"),
                         head: head, requestID: requestID, route: endpoint.metricsRoute, context)
        }
        let router = self.router
        if endpoint.mayBlock || router.host.waitsForCommits {
            pool.runIfActive(eventLoop: context.eventLoop) {
                router.answer(endpoint, query: query, headers: head.headers, body: body)
            }.assumeIsolated().whenComplete { [self] (result: Result<Answer, any Error>) in
                let answer: Answer
                switch result {
                case .success(let done): answer = done
                case .failure: answer = .error(.serviceUnavailable, "shutting_down", "the server is shutting down")
                }
                write(answer, head: head, requestID: requestID, route: endpoint.metricsRoute, context)
            }
        } else {
            write(router.answer(endpoint, query: query, headers: head.headers, body: body),
                  head: head, requestID: requestID, route: endpoint.metricsRoute, context)
        }
    }

    /// Writes `answer`, then keeps the connection for the next request or closes it.
    private func write(_ answer: Answer, head: HTTPRequestHead, requestID: String?, route: ServerMetrics.Route,
                       _ context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive && !quiescing && !router.draining.load(ordering: .acquiring)
        send(answer, requestID: requestID, keepAlive: keepAlive, version: head.version, route: route, context)
        guard keepAlive else {
            state = .closing
            context.close(promise: nil)
            return
        }
        state = .idle
        scheduleIdle(context)
        while case .idle = state, !backlog.isEmpty {
            let part = backlog.removeFirst()
            if case .body(let buffer) = part { backlogBytes -= buffer.readableBytes }
            read(part, context)
        }
    }

    /// Refuses the request in progress and closes the connection after the answer.
    private func refuse(_ status: HTTPResponseStatus, _ code: String, _ message: String, route: ServerMetrics.Route,
                        _ context: ChannelHandlerContext) {
        requestTimer?.cancel()
        var requestID: String?
        var version = HTTPVersion.http1_1
        if case .receiving(let head, _) = state {
            requestID = Self.requestID(head.headers)
            version = head.version
        } else {
            router.metrics.inFlight.add()
            started = NIODeadline.now().uptimeNanoseconds
        }
        state = .closing
        send(.error(status, code, message), requestID: requestID, keepAlive: false, version: version, route: route, context)
        context.close(promise: nil)
    }

    /// Writes the response parts and records the metrics.
    private func send(_ answer: Answer, requestID: String?, keepAlive: Bool, version: HTTPVersion, route: ServerMetrics.Route,
                      _ context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
        buffer.writeString(answer.body)
        var headers = HTTPHeaders()
        headers.reserveCapacity(5 + answer.headers.count)
        headers.add(name: "content-type", value: answer.contentType)
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        if let requestID { headers.add(name: "x-request-id", value: requestID) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        for (name, value) in answer.headers { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: answer.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        router.metrics.inFlight.subtract()
        router.metrics.answered(route: route, status: Int(answer.status.code),
                                nanoseconds: NIODeadline.now().uptimeNanoseconds &- started)
    }

    /// Closes idle connections when the server drains, and answers malformed HTTP.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if case .idle = state {
                state = .closing
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Malformed HTTP gets a 400 and the connection closes; anything else closes it.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch state {
        case .idle, .receiving:
            if error is HTTPParserError {
                refuse(.badRequest, "bad_request", "the request is not valid http/1.1: \(error)", route: .other, context)
                return
            }
        case .answering, .closing:
            break
        }
        state = .closing
        context.close(promise: nil)
    }

    private func scheduleIdle(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(configuration.idleTimeout)) { [self] in
            guard case .idle = state else { return }
            state = .closing
            context.close(promise: nil)
        }
    }

    // MARK: Headers

    /// The `X-Request-ID` to echo: 1–200 visible ASCII characters, else none.
    static func requestID(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "x-request-id"), (1...200).contains(value.utf8.count),
              value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        return value
    }

    /// True when the content type is JSON (`application/json` or `application/*+json`, any parameters).
    static func isJSON(_ headers: HTTPHeaders) -> Bool {
        guard let value = headers.first(name: "content-type") else { return false }
        let type = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: " \t").lowercased() } ?? ""
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }

    /// True when no tokens are configured or the bearer token is one of them; every token is
    /// compared in full, in time that depends on the tokens' lengths only.
    static func authorized(_ headers: HTTPHeaders, tokens: [[UInt8]]) -> Bool {
        guard !tokens.isEmpty else { return true }
        guard let value = headers.first(name: "authorization") else { return false }
        let bytes = Array(value.utf8)
        guard bytes.count > 7, String(decoding: bytes[0..<7], as: UTF8.self).lowercased() == "bearer " else { return false }
        let given = bytes[7...]
        var matched: UInt8 = 0
        for token in tokens { matched |= constantTimeEqual(given, token) ? 1 : 0 }
        return matched == 1
    }

    /// Compares in time that depends only on `secret`'s length.
    static func constantTimeEqual(_ given: ArraySlice<UInt8>, _ secret: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: given.count ^ secret.count)
        let start = given.startIndex
        for i in 0..<secret.count {
            let byte = i < given.count ? given[start + i] : 0
            difference |= UInt(byte ^ secret[i])
        }
        return difference == 0
    }
}
