import ArgumentParser
import Crypto
import EventBus
import Foundation
import OrdersService
import Crypto
import Gateway
import Logging
import MarketplaceAPI
import MarketplaceServices
import Metrics
import Prometheus
import RPC
import ServiceKit
import ServiceLifecycle

extension Marketplace {
    /// One part of the system alone.
    struct Serve: AsyncParsableCommand {
        static var parts: [String] { ["bus"] + MarketplaceServices.names + ["gateway"] }

        static let configuration = CommandConfiguration(
            abstract: "Run one part alone: bus, \(MarketplaceServices.names.joined(separator: ", ")) or gateway."
        )

        @Argument(help: "The part to run: \(Serve.parts.joined(separator: ", ")).")
        var service: String

        @Option(help: "The port (bus 8007, auth 8000, users 8002, orders 8003, payments 8004, gateway 8080).")
        var port: Int?

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @OptionGroup var data: DataOptions
        @OptionGroup var bus: BusOptions
        @OptionGroup var peers: PeerOptions
        @OptionGroup var authOptions: AuthOptions

        @Flag(help: "orders: only providers with a verified profile may accept orders.")
        var requireVerifiedProviders = false

        func validate() throws {
            guard Serve.parts.contains(service) else {
                throw ValidationError(
                    "unknown service '\(service)'; available: \(Serve.parts.joined(separator: ", ")) (the others are not built yet)"
                )
            }
            if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0-65535") }
        }

        mutating func run() async throws {
            let logger = Logger(label: service)
            let directory = data.resolved
            var options = MarketplaceServices.Options()
            options.auth = authOptions.configuration
            options.authSigningKeyPath = authOptions.authSigningKey
            options.orders.requireVerifiedProviders = requireVerifiedProviders
            let definitions = MarketplaceServices.all(options)
            let part: any ServiceLifecycle.Service
            let port = self.port ?? MarketplaceServices.ports[service] ?? 0
            if let definition = definitions.first(where: { $0.name == service }) {
                part = try await ServiceHost.make(
                    definition,
                    dataDirectory: directory,
                    configuration: ServerConfiguration(host: host, port: port),
                    peers: try peers.endpoints(["bus", "auth"] + definition.calls),
                    authPublicKey: try peers.publicKey(),
                    logger: logger
                )
            } else if service == "gateway" {
                let backends = try peers.endpoints(definitions.map(\.name))
                let key: Curve25519PublicKey
                if let given = try peers.publicKey() {
                    key = given
                } else {
                    key = try await AuthPublicKey.fetch(
                        from: Auth.Client(RPCClient(endpoints: backends["auth"] ?? [])),
                        logger: logger
                    )
                }
                let registry = PrometheusCollectorRegistry()
                MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
                var configuration = GatewayConfiguration()
                configuration.host = host
                configuration.port = port
                part = GatewayServer(
                    gateway: try Gateway(
                        configuration: configuration,
                        backends: GatewayBackends(definitions, peers: backends),
                        authPublicKey: key,
                        registry: registry,
                        logger: logger
                    ),
                    configuration: configuration,
                    logger: logger
                )
            } else {
                part = try await EventBusServer.make(
                    dataDirectory: directory,
                    configuration: ServerConfiguration(host: host, port: port),
                    topology: try self.bus.topology(),
                    authenticator: try BusAuthenticator.make(
                        dataDirectory: directory,
                        authPublicKey: try peers.publicKey(),
                        auth: try peers.endpoints("auth")
                    ),
                    eventSchemas: MarketplaceServices.eventSchemas,
                    logger: logger
                )
            }
            let group = ServiceGroup(
                configuration: .init(services: [part], gracefulShutdownSignals: [], logger: logger)
            )
            try await group.runUntilSignalled(logger: logger)
        }
    }
}
