import ArgumentParser
import AuthService
import EventBus
import Gateway
import MarketplaceAPI
import Metrics
import Prometheus
import OrdersService
import Foundation
import Logging
import ProtoCompiler
import RPC
import ServiceKit
import ServiceLifecycle
import UsersService
import UnixSignals

/// `marketplace`: runs the system, or one part of it.
@main
struct Marketplace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marketplace",
        abstract: "The home-services marketplace.",
        subcommands: [Run.self, Serve.self, Admin.self, Schema.self, OpenAPICommand.self],
        defaultSubcommand: Run.self)


    /// Where data lives: `--data-dir`, else `MARKETPLACE_DATA_DIR`, else `./data`.
    struct DataOptions: ParsableArguments {
        @Option(help: "Directory for the SQLite files (default: $MARKETPLACE_DATA_DIR or ./data).")
        var dataDir: String?

        var resolved: String { dataDir ?? ProcessInfo.processInfo.environment["MARKETPLACE_DATA_DIR"] ?? "./data" }
    }

    /// The bus's topology: `--bus-topology FILE`, else `MARKETPLACE_BUS_TOPOLOGY`, else the embedded one.
    struct BusOptions: ParsableArguments {
        @Option(help: "A JSON file with the exchanges, queues and bindings the bus declares at start (default: $MARKETPLACE_BUS_TOPOLOGY or the embedded topology).")
        var busTopology: String?

        func topology() throws -> BusTopology {
            guard let path = busTopology ?? ProcessInfo.processInfo.environment["MARKETPLACE_BUS_TOPOLOGY"] else { return .standard }
            do { return try BusTopology.load(path: path) } catch let error as BusTopologyError {
                throw ValidationError(error.message)
            }
        }
    }

    /// Where the other services are: `--bus`, `--auth` (comma-separated `host:port` lists: several
    /// addresses are replicas, used round-robin), else `$MARKETPLACE_BUS` / `$MARKETPLACE_AUTH`,
    /// else the standard local ports.
    struct PeerOptions: ParsableArguments {
        @Option(help: "The event bus's address(es), host:port[,host:port…] (default: $MARKETPLACE_BUS or 127.0.0.1:8007).")
        var bus: String?

        @Option(help: "The auth service's address(es) (default: $MARKETPLACE_AUTH or 127.0.0.1:8000).")
        var auth: String?

        @Option(help: "The auth service's Ed25519 public key, base64 (default: fetched from the auth service at start).")
        var authPublicKey: String?

        func busEndpoints() throws -> [Endpoint] {
            try Addresses.parse(bus ?? ProcessInfo.processInfo.environment["MARKETPLACE_BUS"] ?? "127.0.0.1:8007", option: "--bus")
        }

        func authEndpoints() throws -> [Endpoint] {
            try Addresses.parse(auth ?? ProcessInfo.processInfo.environment["MARKETPLACE_AUTH"] ?? "127.0.0.1:8000", option: "--auth")
        }

        func publicKey() throws -> Curve25519PublicKey? {
            guard let text = authPublicKey ?? ProcessInfo.processInfo.environment["MARKETPLACE_AUTH_PUBLIC_KEY"] else { return nil }
            do { return try AuthPublicKey.parse(base64: text) } catch { throw ValidationError("--auth-public-key: not a base64 32-byte Ed25519 key") }
        }
    }

    /// The auth service's settings.
    struct AuthOptions: ParsableArguments {
        @Option(help: "The token signing key file (raw 32-byte Ed25519 private key; default <data-dir>/keys/auth-ed25519.key, created on first start).")
        var authSigningKey: String?

        @Option(help: "Failed logins in a row that lock an account.")
        var maxFailedLogins = 5

        @Option(help: "How long a locked account stays locked, in minutes.")
        var lockoutMinutes = 15

        @Option(help: "How long an access token is valid, in minutes.")
        var accessTokenMinutes = 30

        @Option(help: "scrypt's cost for new password hashes, log2 N (15: 32 MiB, ~80 ms; each hash keeps its own cost, so raising it later breaks nothing).")
        var passwordHashCost = PasswordHasher.Parameters.standard.logN

        @Option(help: "Password hashes computed at once (default: one per core).")
        var maxConcurrentHashes = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: "Password hashes that may wait for a slot; past them a login is refused at once (RESOURCE_EXHAUSTED, HTTP 429 with Retry-After).")
        var hashQueue = 16

        @Option(help: "Logins and registrations per minute from one source address (bursts of a third of it).")
        var loginsPerMinutePerSource = 60

        @Option(help: "Login attempts per minute for one account (bursts of half of it).")
        var loginsPerMinutePerAccount = 20

        @Option(name: .customLong("trusted-proxy"), help: "A gateway's address whose x-client-address names the real client (repeatable; default 127.0.0.1 and ::1).")
        var trustedProxies: [String] = []

        func validate() throws {
            guard (1...1000).contains(maxFailedLogins) else { throw ValidationError("--max-failed-logins must be 1-1000") }
            guard (1...10_080).contains(lockoutMinutes) else { throw ValidationError("--lockout-minutes must be 1-10080") }
            guard (1...1440).contains(accessTokenMinutes) else { throw ValidationError("--access-token-minutes must be 1-1440") }
            guard (10...20).contains(passwordHashCost) else { throw ValidationError("--password-hash-cost must be 10-20 (log2 N)") }
            guard (1...256).contains(maxConcurrentHashes) else { throw ValidationError("--max-concurrent-hashes must be 1-256") }
            guard (0...10_000).contains(hashQueue) else { throw ValidationError("--hash-queue must be 0-10000") }
            guard (1...1_000_000).contains(loginsPerMinutePerSource), (1...1_000_000).contains(loginsPerMinutePerAccount) else {
                throw ValidationError("--logins-per-minute-per-source and --logins-per-minute-per-account must be 1-1000000")
            }
        }

        var configuration: AuthConfiguration {
            var configuration = AuthConfiguration()
            configuration.maximumFailedLogins = maxFailedLogins
            configuration.lockoutDuration = TimeInterval(lockoutMinutes * 60)
            configuration.accessTokenLifetime = TimeInterval(accessTokenMinutes * 60)
            configuration.passwordParameters.logN = passwordHashCost
            configuration.hashConcurrency = maxConcurrentHashes
            configuration.hashQueue = hashQueue
            configuration.perSource = (burst: max(1, loginsPerMinutePerSource / 3), perMinute: loginsPerMinutePerSource)
            configuration.perAccount = (burst: max(1, loginsPerMinutePerAccount / 2), perMinute: loginsPerMinutePerAccount)
            if !trustedProxies.isEmpty { configuration.trustedProxies = Set(trustedProxies.map { $0.lowercased() }) }
            return configuration
        }
    }

    /// The standard ports (the seed's, DESIGN.md §9).
    enum Ports {
        static let auth = 8000
        static let users = 8002
        static let orders = 8003
        static let gateway = 8080
        static let bus = 8007
    }

    /// Everything that exists so far, on its ports, until Ctrl-C / SIGTERM.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the event bus, auth and users on their ports (one process), create the first admin, and print where they are.")

        @OptionGroup var data: DataOptions
        @OptionGroup var bus: BusOptions
        @OptionGroup var authOptions: AuthOptions

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "The event bus port.")
        var busPort = Ports.bus

        @Option(help: "The auth service port.")
        var authPort = Ports.auth

        @Option(help: "The users service port.")
        var usersPort = Ports.users

        @Option(help: "The orders service port.")
        var ordersPort = Ports.orders

        @Option(help: "The HTTP gateway port.")
        var gatewayPort = Ports.gateway

        @Flag(help: "Only providers with a verified profile may accept orders.")
        var requireVerifiedProviders = false

        mutating func run() async throws {
            let logger = Logger(label: "marketplace")
            let directory = data.resolved
            // The token key first: the bus verifies admins' tokens with it.
            let authKeyFile = authOptions.authSigningKey ?? ServiceKeys.authKeyPath(dataDirectory: directory)
            _ = try KeyFile.loadOrCreate(path: authKeyFile)
            let busServer = try await EventBusServer.make(
                dataDirectory: directory, configuration: ServerConfiguration(host: host, port: busPort),
                topology: try self.bus.topology(),
                authenticator: try BusAuthenticator.make(dataDirectory: directory, authKeyFile: authKeyFile), logger: Logger(label: "bus"))
            let busEndpoint = [Endpoint(host: host, port: busPort)]
            let authServer = try await AuthServer.make(
                dataDirectory: directory, configuration: ServerConfiguration(host: host, port: authPort), bus: busEndpoint,
                signingKeyPath: authOptions.authSigningKey, auth: authOptions.configuration, logger: Logger(label: "auth"))
            try await FirstAdmin.ensure(dataDirectory: directory)
            let usersServer = try await UsersServer.make(
                dataDirectory: directory, configuration: ServerConfiguration(host: host, port: usersPort),
                auth: [Endpoint(host: host, port: authPort)], bus: busEndpoint, authPublicKey: authServer.service.publicKey,
                logger: Logger(label: "users"))
            var ordersConfiguration = OrdersConfiguration()
            ordersConfiguration.requireVerifiedProviders = requireVerifiedProviders
            let ordersServer = try await OrdersServer.make(
                dataDirectory: directory, configuration: ServerConfiguration(host: host, port: ordersPort),
                auth: [Endpoint(host: host, port: authPort)], users: [Endpoint(host: host, port: usersPort)], bus: busEndpoint,
                authPublicKey: authServer.service.publicKey, orders: ordersConfiguration, logger: Logger(label: "orders"))
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            var gatewayConfiguration = GatewayConfiguration()
            gatewayConfiguration.host = host
            gatewayConfiguration.port = gatewayPort
            let backends = GatewayBackends([
                Auth.serviceName: [Endpoint(host: host, port: authPort)], Users.serviceName: [Endpoint(host: host, port: usersPort)],
                Orders.serviceName: [Endpoint(host: host, port: ordersPort)],
            ])
            let gatewayServer = GatewayServer(
                gateway: try Gateway(
                    configuration: gatewayConfiguration, backends: backends, authPublicKey: authServer.service.publicKey,
                    registry: registry, logger: Logger(label: "gateway")),
                configuration: gatewayConfiguration, logger: Logger(label: "gateway"))
            print("")
            print("gateway     http://\(host):\(gatewayPort)   (/api/v1 … · /rpc/<Service>/<Method> · /healthz · /metrics)")
            print("event bus   rpc://\(host):\(busPort)")
            print("auth        rpc://\(host):\(authPort)")
            print("users       rpc://\(host):\(usersPort)")
            print("orders      rpc://\(host):\(ordersPort)")
            print("data        \(directory)   (SQLite files and keys/)")
            print("The payments, reviews and notifications services are not built yet (their routes answer 503).")
            print("Try: rpcctl list \(host):\(authPort)   ·   rpcctl call \(host):\(authPort) marketplace.v1.Auth/Login -d '{\"email\": \"…\", \"password\": \"…\"}'")
            print("Ctrl-C stops.")
            fflush(nil)  // shown at once, even when standard output is a pipe or a file
            // Shut down in reverse: the gateway, orders, users, auth, then the bus (so their outboxes can flush).
            let group = ServiceGroup(
                configuration: .init(
                    services: [busServer, authServer, usersServer, ordersServer, gatewayServer], gracefulShutdownSignals: [], logger: logger))
            try await group.runUntilSignalled(logger: logger)
        }
    }

    /// One part of the system alone.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one service alone: bus, auth, users, orders or gateway.")

        @Argument(help: "The service to run: bus, auth, users, orders or gateway.")
        var service: String

        @Option(help: "The port (bus 8007, auth 8000, users 8002, orders 8003, gateway 8080).")
        var port: Int?

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @OptionGroup var data: DataOptions
        @OptionGroup var bus: BusOptions
        @OptionGroup var peers: PeerOptions
        @OptionGroup var authOptions: AuthOptions

        @Option(help: "The users service's address(es) (default: $MARKETPLACE_USERS or 127.0.0.1:8002).")
        var users: String?

        @Option(help: "The orders service's address(es) (default: $MARKETPLACE_ORDERS or 127.0.0.1:8003).")
        var orders: String?

        @Flag(help: "orders: only providers with a verified profile may accept orders.")
        var requireVerifiedProviders = false

        func validate() throws {
            guard ["bus", "auth", "users", "orders", "gateway"].contains(service) else {
                throw ValidationError("unknown service '\(service)'; available: bus, auth, users, orders, gateway (the others are not built yet)")
            }
            if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0-65535") }
        }

        mutating func run() async throws {
            let logger = Logger(label: service)
            let directory = data.resolved
            let service: any ServiceLifecycle.Service
            switch self.service {
            case "auth":
                service = try await AuthServer.make(
                    dataDirectory: directory, configuration: ServerConfiguration(host: host, port: port ?? Ports.auth),
                    bus: try peers.busEndpoints(), signingKeyPath: authOptions.authSigningKey, auth: authOptions.configuration,
                    logger: logger)
            case "users":
                service = try await UsersServer.make(
                    dataDirectory: directory, configuration: ServerConfiguration(host: host, port: port ?? Ports.users),
                    auth: try peers.authEndpoints(), bus: try peers.busEndpoints(), authPublicKey: try peers.publicKey(), logger: logger)
            case "orders":
                var configuration = OrdersConfiguration()
                configuration.requireVerifiedProviders = requireVerifiedProviders
                let usersEndpoints = try Addresses.parse(
                    users ?? ProcessInfo.processInfo.environment["MARKETPLACE_USERS"] ?? "127.0.0.1:8002", option: "--users")
                service = try await OrdersServer.make(
                    dataDirectory: directory, configuration: ServerConfiguration(host: host, port: port ?? Ports.orders),
                    auth: try peers.authEndpoints(), users: usersEndpoints, bus: try peers.busEndpoints(),
                    authPublicKey: try peers.publicKey(), orders: configuration, logger: logger)
            case "gateway":
                let auth = try peers.authEndpoints()
                let users = try Addresses.parse(users ?? ProcessInfo.processInfo.environment["MARKETPLACE_USERS"] ?? "127.0.0.1:8002", option: "--users")
                let orders = try Addresses.parse(orders ?? ProcessInfo.processInfo.environment["MARKETPLACE_ORDERS"] ?? "127.0.0.1:8003", option: "--orders")
                let key: Curve25519PublicKey
                if let given = try peers.publicKey() {
                    key = given
                } else {
                    key = try await AuthPublicKey.fetch(from: Auth.Client(RPCClient(endpoints: auth)), logger: logger)
                }
                let registry = PrometheusCollectorRegistry()
                MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
                var configuration = GatewayConfiguration()
                configuration.host = host
                configuration.port = port ?? Ports.gateway
                let backends = GatewayBackends([Auth.serviceName: auth, Users.serviceName: users, Orders.serviceName: orders])
                service = GatewayServer(
                    gateway: try Gateway(configuration: configuration, backends: backends, authPublicKey: key, registry: registry, logger: logger),
                    configuration: configuration, logger: logger)
            default:
                service = try await EventBusServer.make(
                    dataDirectory: directory, configuration: ServerConfiguration(host: host, port: port ?? Ports.bus),
                    topology: try self.bus.topology(),
                    authenticator: try BusAuthenticator.make(
                        dataDirectory: directory, authPublicKey: try peers.publicKey(), auth: try peers.authEndpoints()),
                    logger: logger)
            }
            let group = ServiceGroup(
                configuration: .init(services: [service], gracefulShutdownSignals: [], logger: logger))
            try await group.runUntilSignalled(logger: logger)
        }
    }

    /// Administration on the server machine.
    struct Admin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Administer accounts directly in the data directory.", subcommands: [Create.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an admin account (the only way besides an admin's RegisterAdmin call).")

            @Option(help: "3-50 characters of letters, digits, '_', '.', '-'.")
            var username: String

            @Option(help: "The admin's e-mail address.")
            var email: String

            @Flag(help: "Read the password from standard input (one line) instead of --password.")
            var passwordStdin = false

            @Option(help: "8-128 characters (prefer --password-stdin: arguments show in process lists).")
            var password: String?

            @OptionGroup var data: DataOptions

            mutating func run() async throws {
                var secret = password
                if passwordStdin { secret = readLine(strippingNewline: true) }
                guard let secret, !secret.isEmpty else { throw ValidationError("give the password with --password or --password-stdin") }
                do {
                    let user = try await AuthService.createAdmin(
                        dataDirectory: data.resolved, username: username, email: email, password: secret)
                    print("admin \(user.username) <\(user.email)> created with id \(user.id)")
                } catch let error as RPCError {
                    throw ValidationError(error.message)
                }
            }
        }
    }

    /// The gateway's OpenAPI document, from the schema.
    struct OpenAPICommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "openapi", abstract: "Print (or write) the gateway's OpenAPI document, generated from the schema.")

        @Option(help: "Write it to this file instead of standard output.")
        var out: String?

        mutating func run() throws {
            let document = try Gateway.openAPIDocument()
            if let out {
                try Data(document).write(to: URL(fileURLWithPath: out))
            } else {
                FileHandle.standardOutput.write(Data(document))
            }
        }
    }

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile the schemas in Protos/ and print a summary of their messages, enums and services.")

        @Option(name: [.customLong("proto-path"), .customShort("I")], help: "The schema root.")
        var protoPath = "Protos"

        mutating func run() throws { try Schema.printSummary(protoPath: protoPath) }

        /// Compiles every `.proto` under `protoPath` and prints what it defines.
        static func printSummary(protoPath: String) throws {
            let root = URL(fileURLWithPath: protoPath)
            guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
                throw ValidationError("no schema directory at '\(protoPath)'")
            }
            var files: [String] = []
            for case let url as URL in enumerator where url.pathExtension == "proto" {
                let relative = url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)
                files.append(String(relative))
            }
            guard !files.isEmpty else { throw ValidationError("no .proto files under '\(protoPath)'") }
            let compiler = SchemaCompiler(provider: DirectorySourceProvider(roots: [protoPath]))
            do {
                let result = try compiler.compile(files.sorted())
                print("Schemas in \(protoPath)/ (compiled by our own compiler):")
                print(SchemaSummary.describe(result), terminator: "")
            } catch let failure as CompilationFailed {
                FileHandle.standardError.write(Data((failure.description + "\n").utf8))
                throw ExitCode.failure
            }
        }
    }
}
