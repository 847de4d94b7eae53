public import Logging
import Metrics
public import NIOCore
import NIOConcurrencyHelpers
public import NIOPosix
public import ProtoRuntime
public import ServiceLifecycle

/// Server settings. Every resource a peer can make the server hold has a bound here
/// (docs/PROTOCOL.md §8a lists each limit, its default and what a peer gets over it).
public struct ServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (see ``RPCServer/localPort``).
    public var port: Int
    /// The largest frame payload accepted; longer frames close the connection.
    public var maximumFrameSize: Int
    /// Calls running at once per connection; more get RESOURCE_EXHAUSTED.
    public var maximumConcurrentStreams: Int
    /// Close a connection with no calls after this long (nil: never).
    public var idleTimeout: TimeAmount?
    /// How long in-flight calls may take to finish after shutdown begins.
    public var shutdownGracePeriod: TimeAmount
    /// The most metadata one call may carry in its CALL_START, counted as HTTP/2 counts a header
    /// list: key bytes + value bytes + 32 per entry. A call over it gets RESOURCE_EXHAUSTED (the
    /// connection lives).
    public var maximumMetadataSize: Int
    /// How long a call may wait, after its CALL_START, for its first request message (or its
    /// END_STREAM); then it ends with DEADLINE_EXCEEDED and is forgotten (nil: no limit).
    public var firstMessageTimeout: TimeAmount?
    /// The most request bytes one connection may make the server hold: the metadata of its open
    /// calls plus the request messages received for streaming calls and not yet consumed by
    /// their handlers. The call whose frame would go over gets RESOURCE_EXHAUSTED.
    public var maximumBufferedRequestBytes: Int
    /// Response bytes queued for a connection (written, not yet taken by the socket) above which
    /// the server stops reading from it until they fall to half; a peer that sends calls and does
    /// not read the answers holds no more than this (plus what is already in flight).
    public var responseHighWaterMark: Int
    /// Response bytes queued for a connection beyond which it is closed with
    /// GOAWAY(RESOURCE_LIMIT): what calls already running may still write while reading is paused.
    public var maximumQueuedResponseBytes: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        maximumFrameSize: Int = 4 << 20,
        maximumConcurrentStreams: Int = 1024,
        idleTimeout: TimeAmount? = .minutes(5),
        shutdownGracePeriod: TimeAmount = .seconds(10),
        maximumMetadataSize: Int = 16 << 10,
        firstMessageTimeout: TimeAmount? = .seconds(10),
        maximumBufferedRequestBytes: Int = 16 << 20,
        responseHighWaterMark: Int = 1 << 20,
        maximumQueuedResponseBytes: Int = 64 << 20
    ) {
        self.host = host
        self.port = port
        self.maximumFrameSize = maximumFrameSize
        self.maximumConcurrentStreams = maximumConcurrentStreams
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.maximumMetadataSize = maximumMetadataSize
        self.firstMessageTimeout = firstMessageTimeout
        self.maximumBufferedRequestBytes = maximumBufferedRequestBytes
        self.responseHighWaterMark = responseHighWaterMark
        self.maximumQueuedResponseBytes = maximumQueuedResponseBytes
    }
}

/// What every connection of a server shares.
final class ServerCore: Sendable {
    static let defaultWindow: UInt32 = 1 << 20

    let configuration: ServerConfiguration
    let methods: [String: ServerMethod]
    let interceptors: [any ServerInterceptor]
    let logger: Logger
    let metrics: RPCMetrics
    let connections = NIOLockedValueBox([ObjectIdentifier: (NIOLoopBound<ServerConnectionHandler>, any EventLoop)]())

    init(
        configuration: ServerConfiguration,
        methods: [ServerMethod],
        interceptors: [any ServerInterceptor],
        logger: Logger
    ) {
        self.configuration = configuration
        var table: [String: ServerMethod] = [:]
        for method in methods { table[method.descriptor.path] = method }
        self.methods = table
        self.interceptors = interceptors
        self.logger = logger
        self.metrics = RPCMetrics(side: "server")
    }

    func register(_ handler: ServerConnectionHandler, eventLoop: any EventLoop) {
        let entry = (NIOLoopBound(handler, eventLoop: eventLoop), eventLoop)
        connections.withLockedValue { $0[handler.connectionID] = entry }
    }

    /// The metrics label of a method a peer named: itself when served here, otherwise
    /// ``RPCMetrics/unknownMethod`` (a peer must not be able to create series).
    func metricsLabel(_ method: String) -> String { methods[method] == nil ? RPCMetrics.unknownMethod : method }

    func unregister(_ handler: ServerConnectionHandler) {
        _ = connections.withLockedValue { $0.removeValue(forKey: handler.connectionID) }
    }
}

/// A binary RPC server: hosts services, answers health and reflection, and shuts down
/// gracefully as a swift-service-lifecycle `Service`.
public final class RPCServer: Service, Sendable {
    let core: ServerCore
    let group: any EventLoopGroup
    let bound = NIOLockedValueBox<(any Channel)?>(nil)
    let started = NIOLockedValueBox<[CheckedContinuation<Int, any Error>]>([])
    let port = NIOLockedValueBox<Int?>(nil)
    /// Health of this server's services (answered by the built-in Health service).
    public let health: HealthStatusBook

    /// - Parameters:
    ///   - services: the services to host (Health and Reflection are added).
    ///   - configuration: address and limits.
    ///   - interceptors: run around every call, first one outermost.
    ///   - group: the event loops (NIO's shared singleton by default).
    ///   - logger: connection and call logs.
    ///   - describing: schemas reflection describes beyond the services' own (the message types
    ///     a server carries without serving them, e.g. the events on a bus), imports first.
    public init(
        services: [any RPCService],
        configuration: ServerConfiguration = ServerConfiguration(),
        interceptors: [any ServerInterceptor] = [],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "rpc.server"),
        describing: [EmbeddedFileDescriptor] = []
    ) {
        let health = HealthStatusBook(services: services.map(\.serviceName))
        self.health = health
        let builtIn: [any RPCService] = [
            HealthService(book: health), ReflectionService(hosted: services, describing: describing),
        ]
        let all = services + builtIn
        self.core = ServerCore(
            configuration: configuration,
            methods: all.flatMap(\.methods),
            interceptors: interceptors,
            logger: logger
        )
        self.group = group
    }

    /// The port the server listens on, once it does.
    public var localPort: Int {
        get async throws {
            if let port = port.withLockedValue({ $0 }) { return port }
            return try await withCheckedThrowingContinuation { continuation in
                let ready = port.withLockedValue { port -> Int? in
                    if let port { return port }
                    started.withLockedValue { $0.append(continuation) }
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// Binds, serves until graceful shutdown (or cancellation), then drains: GOAWAY to every
    /// connection, in-flight calls get the grace period, new calls get UNAVAILABLE.
    public func run() async throws {
        try await run(beforeDrain: {})
    }

    /// Like ``run()``, with a step between closing the listening socket and draining the open
    /// connections: `beforeDrain` runs while existing connections still work (the event bus
    /// lets its consumers ack what they hold there).
    public func run(beforeDrain: @Sendable () async -> Void) async throws {
        let core = self.core
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelOption(
                    .writeBufferWaterMark,
                    value: ChannelOptions.Types.WriteBufferWaterMark(
                        low: core.configuration.responseHighWaterMark / 2,
                        high: core.configuration.responseHighWaterMark
                    )
                )
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let peer = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
                        let decoder = ByteToMessageHandler(
                            FrameDecoder(maximumPayloadSize: core.configuration.maximumFrameSize)
                        )
                        try channel.pipeline.syncOperations.addHandler(decoder)
                        try channel.pipeline.syncOperations.addHandler(
                            ServerConnectionHandler(core: core, eventLoop: channel.eventLoop, peer: peer)
                        )
                    }
                }
                .bind(host: core.configuration.host, port: core.configuration.port).get()
        } catch {
            started.withLockedValue { waiters in
                for waiter in waiters { waiter.resume(throwing: error) }
                waiters = []
            }
            throw error
        }
        let actualPort = channel.localAddress?.port ?? core.configuration.port
        bound.withLockedValue { $0 = channel }
        let waiters = port.withLockedValue { port -> [CheckedContinuation<Int, any Error>] in
            port = actualPort
            return started.withLockedValue { waiters in
                defer { waiters = [] }
                return waiters
            }
        }
        for waiter in waiters { waiter.resume(returning: actualPort) }
        core.logger.info("listening", metadata: ["address": .string("\(core.configuration.host):\(actualPort)")])

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        await beforeDrain()
        await drain()
    }

    /// What each open connection holds right now (for tests and diagnostics).
    func connectionStatistics() async -> [ConnectionStatistics] {
        let connections = core.connections.withLockedValue { Array($0.values) }
        var result: [ConnectionStatistics] = []
        for (handler, loop) in connections {
            if let statistics = try? await loop.submit({ handler.value.statistics }).get() { result.append(statistics) }
        }
        return result
    }

    /// GOAWAY to every connection; wait for them to close (at most the grace period).
    func drain() async {
        let grace = core.configuration.shutdownGracePeriod
        let connections = core.connections.withLockedValue { Array($0.values) }
        var closing: [EventLoopFuture<EventLoopFuture<Void>>] = []
        for (handler, loop) in connections {
            closing.append(
                loop.submit {
                    handler.value.beginDrain(reason: "server shutting down", grace: grace)
                    return handler.value.context?.channel.closeFuture ?? loop.makeSucceededVoidFuture()
                }
            )
        }
        // Every connection has sent GOAWAY and refuses new calls before health says so.
        var closed: [EventLoopFuture<Void>] = []
        for future in closing { if let inner = try? await future.get() { closed.append(inner) } }
        health.shutdown()
        for future in closed { try? await future.get() }
        core.logger.info("stopped")
    }
}

/// Per-method call counters and latency histograms (swift-metrics). Every label value comes
/// from a closed set: methods the process knows (anything else is counted as
/// ``unknownMethod``) and the seventeen status codes, so no peer can add series.
final class RPCMetrics: Sendable {
    /// The method label of calls to methods the server does not serve (and of calls refused
    /// before their method was read).
    static let unknownMethod = "unknown"

    let side: String
    struct Key: Hashable {
        let method: String
        let code: Int32
    }

    let cache = NIOLockedValueBox([Key: (Counter, Timer)]())

    init(side: String) { self.side = side }

    /// How many label combinations have been made (tests check it does not grow with input).
    var seriesCount: Int { cache.withLockedValue { $0.count } }

    func record(method: String, code: RPCCode, duration: Duration?) {
        let key = Key(method: method, code: code.rawValue)
        let (counter, timer) = cache.withLockedValue { cache in
            if let found = cache[key] { return found }
            let dimensions = [("method", method), ("code", code.name)]
            let made = (
                Counter(label: "rpc_\(side)_calls_total", dimensions: dimensions),
                Timer(label: "rpc_\(side)_call_duration_seconds", dimensions: dimensions)
            )
            cache[key] = made
            return made
        }
        counter.increment()
        if let duration {
            let (seconds, attoseconds) = duration.components
            timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
    }
}
