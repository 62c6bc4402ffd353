import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
import RingfenceRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `ringfence serve` (SPEC §14.1): SwiftNIO's HTTP/1.1 codec with keep-alive, one event loop
// per core answering the fast routes in place, a small pool for the routes that may wait.
// `SIGHUP` reloads the policies; `SIGTERM` (or `SIGINT`) stops accepting, lets every request in
// flight finish (idle connections close at once, busy ones after their answer), commits the
// audit log and returns 0.

/// The decision server.
public final class DecisionServer: @unchecked Sendable {
    // Safety: `serverChannel`, `group` and `pool` are set once in `start` before any other
    // thread sees them; the connection table is behind its own lock.
    /// The configuration.
    public let configuration: ServerConfiguration
    /// The runtime and policies.
    public let host: RuntimeHost
    private let router: Router
    private let tokens: [[UInt8]]
    private let log: @Sendable (String) -> Void
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let stopRequested = DispatchSemaphore(value: 0)
    private var group: MultiThreadedEventLoopGroup?
    private var pool: NIOThreadPool?
    private var serverChannel: (any Channel)?
    private var signalSources: [any DispatchSourceSignal] = []

    /// A server for `host`; `log` receives one line per event worth telling an operator
    /// (reloads, shutdown); `sagaCounts` reports sagas by state for `/metrics`.
    public init(configuration: ServerConfiguration, host: RuntimeHost,
                sagaCounts: @escaping @Sendable () -> [String: Int] = { [:] }, log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.host = host
        self.router = Router(host: host, metrics: ServerMetrics(), configuration: configuration, sagaCounts: sagaCounts)
        self.tokens = configuration.tokens.map { Array($0.utf8) }
        self.log = log
    }

    /// Binds the address and starts answering; returns the address bound (the port, when 0 was asked).
    public func start() throws(ServerSetupError) -> (host: String, port: Int) {
        try configuration.validate()
        let threads = configuration.threads > 0 ? configuration.threads : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        // Operations that may block (strict commits, a shared store's tenure) run here: enough
        // threads that many wait together and share one commit, or one tenure.
        let pool = NIOThreadPool(numberOfThreads: host.waitsForCommits ? 64 : 2)
        pool.start()
        let router = self.router, tokens = self.tokens
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false,
                                                                                    withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(router: router, pool: pool, tokens: tokens))
                    self?.track(channel)
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            try? pool.syncShutdownGracefully()
            throw ServerSetupError("cannot listen on `\(configuration.host):\(configuration.port)`: \(error)")
        }
        self.group = group
        self.pool = pool
        self.serverChannel = channel
        return (configuration.host, channel.localAddress?.port ?? configuration.port)
    }

    /// Keeps a connection in the table until it closes, so draining can reach it.
    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        connections.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.connections.withLock { $0.removeValue(forKey: id) }
        }
    }

    /// Serves until `SIGTERM` or `SIGINT` (reloading on `SIGHUP`), then drains and closes.
    public func run() {
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] { signal(signalNumber, SIG_IGN) }
        let queue = DispatchQueue(label: "ringfence.serve.signals")
        let stop = stopRequested
        for signalNumber in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { stop.signal() }
            source.resume()
            signalSources.append(source)
        }
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        reload.setEventHandler { [router, log] in
            DispatchQueue.global().async {
                let answer = router.reload()
                log(answer.status == .ok ? "reloaded on SIGHUP: \(answer.body)" : "reload on SIGHUP failed, the old policies stay: \(answer.body)")
            }
        }
        reload.resume()
        signalSources.append(reload)
        stopRequested.wait()
        shutdown()
    }

    /// Asks `run` to drain and return.
    public func requestStop() {
        stopRequested.signal()
    }

    /// Stops accepting, lets requests in flight finish (up to the drain timeout), commits the
    /// audit log and stops the threads.
    public func shutdown() {
        log("draining: no new connections; waiting for requests in flight")
        router.draining.store(true, ordering: .releasing)
        try? serverChannel?.close().wait()
        let open = connections.withLock { Array($0.values) }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(configuration.drainTimeout) * 1_000_000
        while !connections.withLock({ $0.isEmpty }), DispatchTime.now().uptimeNanoseconds < deadline {
            usleep(5_000)
        }
        for channel in connections.withLock({ Array($0.values) }) { channel.close(promise: nil) }
        try? pool?.syncShutdownGracefully()
        try? group?.syncShutdownGracefully()
        host.close()
        for source in signalSources { source.cancel() }
        log("stopped")
    }
}
