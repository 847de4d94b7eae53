import ArgumentParser
import EventBus
import Foundation
import OrdersService
import Crypto
import Gateway
import Logging
import MarketplaceServices
import Metrics
import Prometheus
import RPC
import ServiceKit
import ServiceLifecycle

extension Marketplace {
    /// Everything that exists so far, on its ports, until Ctrl-C / SIGTERM.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Start the event bus, every service and the gateway on their ports (one process), create the first admin, and print where they are."
        )

        @OptionGroup var data: DataOptions
        @OptionGroup var bus: BusOptions
        @OptionGroup var authOptions: AuthOptions

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "The event bus port.")
        var busPort = MarketplaceServices.ports["bus"] ?? 8007

        @Option(help: "The auth service port.")
        var authPort = MarketplaceServices.ports["auth"] ?? 8000

        @Option(help: "The users service port.")
        var usersPort = MarketplaceServices.ports["users"] ?? 8002

        @Option(help: "The orders service port.")
        var ordersPort = MarketplaceServices.ports["orders"] ?? 8003

        @Option(help: "The payments service port.")
        var paymentsPort = MarketplaceServices.ports["payments"] ?? 8004

        @Option(help: "The HTTP gateway port.")
        var gatewayPort = MarketplaceServices.ports["gateway"] ?? 8080

        @Flag(help: "Only providers with a verified profile may accept orders.")
        var requireVerifiedProviders = false

        /// The port of `name`: its option, else the standard one.
        func port(_ name: String) throws -> Int {
            let given = [
                "bus": busPort, "auth": authPort, "users": usersPort, "orders": ordersPort, "payments": paymentsPort,
                "gateway": gatewayPort,
            ]
            guard let port = given[name] ?? MarketplaceServices.ports[name] else {
                throw ValidationError("no port for \(name)")
            }
            return port
        }

        mutating func run() async throws {
            let logger = Logger(label: "marketplace")
            let directory = data.resolved
            // The token key first: the bus verifies admins' tokens with it, the services callers' tokens.
            let authKeyFile = authOptions.authSigningKey ?? ServiceKeys.authKeyPath(dataDirectory: directory)
            let authKey = try KeyFile.loadOrCreate(path: authKeyFile)
            let busServer = try await EventBusServer.make(
                dataDirectory: directory,
                configuration: ServerConfiguration(host: host, port: busPort),
                topology: try self.bus.topology(),
                authenticator: try BusAuthenticator.make(dataDirectory: directory, authKeyFile: authKeyFile),
                eventSchemas: MarketplaceServices.eventSchemas,
                logger: Logger(label: "bus")
            )
            var options = MarketplaceServices.Options()
            options.auth = authOptions.configuration
            options.authSigningKeyPath = authOptions.authSigningKey
            options.orders.requireVerifiedProviders = requireVerifiedProviders
            let definitions = MarketplaceServices.all(options)
            var peers = ["bus": [Endpoint(host: host, port: busPort)]]
            for definition in definitions {
                peers[definition.name] = [Endpoint(host: host, port: try port(definition.name))]
            }
            var hosts: [ServiceHost] = []
            for definition in definitions {
                hosts.append(
                    try await ServiceHost.make(
                        definition,
                        dataDirectory: directory,
                        configuration: ServerConfiguration(host: host, port: try port(definition.name)),
                        peers: peers,
                        authPublicKey: authKey.publicKey,
                        logger: Logger(label: definition.name)
                    )
                )
            }
            try await FirstAdmin.ensure(dataDirectory: directory)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            var gatewayConfiguration = GatewayConfiguration()
            gatewayConfiguration.host = host
            gatewayConfiguration.port = gatewayPort
            let gatewayServer = GatewayServer(
                gateway: try Gateway(
                    configuration: gatewayConfiguration,
                    backends: GatewayBackends(definitions, peers: peers),
                    authPublicKey: authKey.publicKey,
                    registry: registry,
                    logger: Logger(label: "gateway")
                ),
                configuration: gatewayConfiguration,
                logger: Logger(label: "gateway")
            )
            print("")
            print(
                "gateway     http://\(host):\(gatewayPort)   (/api/v1 … · /rpc/<Service>/<Method> · /healthz · /metrics)"
            )
            print("event bus   rpc://\(host):\(busPort)")
            for definition in definitions {
                print(
                    "\(definition.name.padding(toLength: 11, withPad: " ", startingAt: 0)) rpc://\(host):\(try port(definition.name))"
                )
            }
            print("data        \(directory)   (SQLite files and keys/)")
            let missing = ["payments", "reviews", "notifications"].filter { name in
                !definitions.contains { $0.name == name }
            }
            if !missing.isEmpty {
                print("The \(missing.joined(separator: ", ")) service(s) are not built yet (their routes answer 503).")
            }
            print(
                "Try: rpcctl list \(host):\(authPort)   ·   rpcctl call \(host):\(authPort) marketplace.v1.Auth/Login -d '{\"email\": \"…\", \"password\": \"…\"}'"
            )
            print("Ctrl-C stops.")
            fflush(nil)  // shown at once, even when standard output is a pipe or a file
            // Shut down in reverse: the gateway, the services (last started first), then the bus
            // (so their outboxes can flush).
            let services: [any Service] = [busServer] + hosts.map { $0 as any Service } + [gatewayServer]
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger)
            )
            try await group.runUntilSignalled(logger: logger)
        }
    }
}

extension GatewayBackends {
    /// Each service's RPC services at its addresses.
    init(_ definitions: [ServiceDefinition], peers: [String: [Endpoint]]) {
        var backends: [String: [Endpoint]] = [:]
        for definition in definitions {
            for service in definition.rpcServices { backends[service] = peers[definition.name] ?? [] }
        }
        self.init(backends)
    }
}
