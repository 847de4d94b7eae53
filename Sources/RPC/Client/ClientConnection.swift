import NIOCore
import NIOConcurrencyHelpers
import NIOPosix

/// One TCP connection of a client.
final class ClientConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ClientConnectionHandler>
    var eventLoop: any EventLoop { channel.eventLoop }
    /// Set when the connection closes or the server sends GOAWAY: no new calls go here.
    let closed: NIOLockedValueBox<Bool>

    init(channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>, closed: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.handler = handler
        self.closed = closed
    }

    /// Still open and taking new calls.
    var isUsable: Bool { !closed.withLockedValue { $0 } && channel.isActive }

    func onLoop(_ body: @escaping @Sendable (ClientConnectionHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value)
        } else {
            let handler = self.handler
            eventLoop.execute { body(handler.value) }
        }
    }

    static func connect(
        to endpoint: Endpoint,
        on loop: any EventLoop,
        configuration: ClientConfiguration,
        metrics: RPCMetrics,
        onClose: @escaping @Sendable () -> Void
    ) async throws -> ClientConnection {
        let closedFlag = NIOLockedValueBox(false)
        // Captured as the pipeline is built: a peer that answers and hangs up at once would
        // leave nothing to look up afterwards.
        let handlerBox = NIOLockedValueBox<NIOLoopBound<ClientConnectionHandler>?>(nil)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumPayloadSize: configuration.maximumFrameSize))
                    )
                    let handler = ClientConnectionHandler(
                        maximumFrameSize: configuration.maximumFrameSize,
                        metrics: metrics
                    ) {
                        closedFlag.withLockedValue { $0 = true }
                        onClose()
                    }
                    handlerBox.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
        guard let handler = handlerBox.withLockedValue({ $0 }) else {
            throw RPCError(code: .internalError, message: "connection handler missing")
        }
        let connection = ClientConnection(channel: channel, handler: handler, closed: closedFlag)
        channel.closeFuture.whenComplete { _ in
            closedFlag.withLockedValue { $0 = true }
        }
        if let interval = configuration.keepaliveInterval {
            channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { task in
                guard channel.isActive else { return task.cancel() }
                handler.value.keepalive()
            }
        }
        return connection
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as RPCError: return error.message
        case let error as IOError: return "connection failed: \(error.description)"
        case is ChannelError: return "connection failed: \(error)"
        default: return "\(error)"
        }
    }
}
