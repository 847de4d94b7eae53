import Hummingbird
import HummingbirdCore
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle

/// The gateway as a process part: its router on Hummingbird's HTTP/1.1 server, with the
/// request-head and idle timeouts.
public struct GatewayServer: Service {
    /// What it serves.
    public let gateway: Gateway
    let application: Application<RouterResponder<GatewayContext>>
    let port: NIOLockedValueBox<Int?>
    let waiters: NIOLockedValueBox<[CheckedContinuation<Int, Never>]>

    /// - Parameter configuration: where to listen and the connection timeouts.
    public init(gateway: Gateway, configuration: GatewayConfiguration, logger: Logger) {
        self.gateway = gateway
        let port = NIOLockedValueBox<Int?>(nil)
        let waiters = NIOLockedValueBox<[CheckedContinuation<Int, Never>]>([])
        self.port = port
        self.waiters = waiters
        application = Application(
            router: gateway.makeRouter(),
            server: HTTPServerBuilder { responder in
                GatewayHTTP1Channel(
                    base: HTTP1Channel(
                        responder: responder,
                        configuration: .init(idleTimeout: TimeAmount(configuration.idleTimeout))
                    ),
                    requestHeadTimeout: TimeAmount(configuration.requestHeadTimeout)
                )
            },
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "marketplace-gateway"
            ),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? configuration.port
                port.withLockedValue { $0 = bound }
                for waiter in waiters.withLockedValue({ list in
                    defer { list = [] }; return list
                }) { waiter.resume(returning: bound) }
            },
            logger: logger
        )
    }

    /// The port it listens on, once it does.
    public var localPort: Int {
        get async {
            await withCheckedContinuation { continuation in
                let ready = port.withLockedValue { port -> Int? in
                    if let port { return port }
                    waiters.withLockedValue { $0.append(continuation) }
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// Serves until cancelled or shut down gracefully.
    public func run() async throws { try await application.run() }
}
