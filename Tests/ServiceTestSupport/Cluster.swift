public import AuthService
public import Crypto
public import EventBus
public import Foundation
public import Logging
public import MarketplaceAPI
public import NIOConcurrencyHelpers
import NIOCore
import ProtoRuntime
public import RPC
import RPCSchema
public import ServiceKit
import TestSupport
import Testing
import UsersService
import OrdersService
public import PaymentsService
import MarketplaceServices
public import Gateway

/// A clock tests move by hand (lockout expiry, token expiry) instead of sleeping: stopped at
/// its start, or (`following`) running with real time, moved ahead by what was advanced — for
/// clusters that share tokens with real processes, whose clocks run.
public final class TestClock: Sendable {
    let following: Bool
    let start = Date()
    public init(following: Bool = false) { self.following = following }
    public let current = NIOLockedValueBox(Date())
    public var now: @Sendable () -> Date {
        { [current, following, start] in
            let set = current.withLockedValue { $0 }
            return following ? set.addingTimeInterval(Date().timeIntervalSince(start)) : set
        }
    }
    public func advance(_ seconds: TimeInterval) { current.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
}

/// The bus, auth, users, orders, payments and the gateway running for real: TCP servers on ephemeral ports, SQLite files in a
/// temporary directory, cheap scrypt parameters, a hand-moved clock.
public struct Cluster: Sendable {
    public let directory: URL
    public let clock: TestClock
    public let authServer: ServiceHost
    public let authEndpoint: Endpoint
    public let usersEndpoint: Endpoint
    public let ordersEndpoint: Endpoint
    public let paymentsEndpoint: Endpoint
    public let gatewayEndpoint: Endpoint
    public let busEndpoint: Endpoint

    public let auth: Auth.Client
    public let users: Users.Client
    public let orders: Orders.Client
    public let payments: Payments.Client
    public let bus: Broker.Client

    /// The gateway for tests: generous rate limits (a race sends a thousand requests from one address).
    public static var gatewayDefaults: GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.perIP = (burst: 100_000, perMinute: 100_000)
        configuration.perUser = (burst: 100_000, perMinute: 100_000)
        return configuration
    }

    /// Auth for tests: cheap scrypt parameters, limits no test reaches.
    public static var cheapAuth: AuthConfiguration {
        var configuration = AuthConfiguration()
        configuration.passwordParameters = .testing
        configuration.hashQueue = 100_000
        configuration.perSource = (burst: 100_000, perMinute: 100_000)
        configuration.perAccount = (burst: 100_000, perMinute: 100_000)
        return configuration
    }

    /// Ephemeral ports; a short grace at the end (clients made in a test may still be open).
    public static let server = ServerConfiguration(shutdownGracePeriod: .milliseconds(300))

    public static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` with a fresh cluster; everything is stopped and deleted afterwards.
    public static func with<T: Sendable>(
        maximumFailedLogins: Int = 5,
        requireVerifiedProviders: Bool = false,
        gateway gatewayConfiguration: GatewayConfiguration? = nil,
        authLimits: (@Sendable (inout AuthConfiguration) -> Void)? = nil,
        payments paymentsSettings: (@Sendable (inout PaymentsConfiguration) -> Void)? = nil,
        externalPayments: Endpoint? = nil,
        _ body: @Sendable (Cluster) async throws -> T
    ) async throws -> T {
        let directory = try makeTemporaryDirectory("cluster")
        defer { try? FileManager.default.removeItem(at: directory) }
        // With a payments service of its own (a real process), the services' clocks run, as its does.
        let clock = TestClock(following: externalPayments != nil)
        // The token key before the bus, which verifies admins' tokens with it.
        _ = try KeyFile.loadOrCreate(path: ServiceKeys.authKeyPath(dataDirectory: directory.path))
        let bus = try await EventBusServer.make(
            dataDirectory: directory.path,
            configuration: Cluster.server,
            topology: .standard,
            authenticator: try BusAuthenticator.make(dataDirectory: directory.path),
            eventSchemas: MarketplaceServices.eventSchemas,
            logger: quiet
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            group.addTask { try await bus.run() }
            let busEndpoint = Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)
            var configuration = AuthConfiguration()
            configuration.passwordParameters = .testing
            // Tests register and log in hundreds of users from one address, many at once.
            configuration.hashQueue = 100_000
            configuration.perSource = (burst: 100_000, perMinute: 100_000)
            configuration.perAccount = (burst: 100_000, perMinute: 100_000)
            authLimits?(&configuration)
            configuration.now = clock.now
            configuration.maximumFailedLogins = maximumFailedLogins
            let auth = try await ServiceHost.make(
                .auth(configuration),
                dataDirectory: directory.path,
                configuration: Cluster.server,
                peers: ["bus": [busEndpoint]],
                logger: quiet
            )
            group.addTask { try await auth.run() }
            let authEndpoint = Endpoint(host: "127.0.0.1", port: try await auth.server.localPort)
            let users = try await ServiceHost.make(
                .users(now: clock.now),
                dataDirectory: directory.path,
                configuration: Cluster.server,
                peers: ["bus": [busEndpoint], "auth": [authEndpoint]],
                authPublicKey: auth.tokenKey,
                logger: quiet
            )
            group.addTask { try await users.run() }
            let usersEndpoint = Endpoint(host: "127.0.0.1", port: try await users.server.localPort)
            var ordersConfiguration = OrdersConfiguration()
            ordersConfiguration.now = clock.now
            ordersConfiguration.requireVerifiedProviders = requireVerifiedProviders
            let orders = try await ServiceHost.make(
                .orders(ordersConfiguration),
                dataDirectory: directory.path,
                configuration: Cluster.server,
                peers: ["bus": [busEndpoint], "auth": [authEndpoint], "users": [usersEndpoint]],
                authPublicKey: auth.tokenKey,
                logger: quiet
            )
            group.addTask { try await orders.run() }
            let ordersEndpoint = Endpoint(host: "127.0.0.1", port: try await orders.server.localPort)
            var paymentsConfiguration = PaymentsConfiguration()
            paymentsConfiguration.now = clock.now
            paymentsConfiguration.lateFailure = .milliseconds(100)
            paymentsConfiguration.reconcileInterval = .milliseconds(200)
            paymentsSettings?(&paymentsConfiguration)
            // A test may run the payments service itself (a real process it kills) at `externalPayments`.
            var payments: ServiceHost?
            var paymentsEndpoint = externalPayments ?? Endpoint(host: "127.0.0.1", port: 0)
            if externalPayments == nil {
                let host = try await ServiceHost.make(
                    .payments(paymentsConfiguration),
                    dataDirectory: directory.path,
                    configuration: Cluster.server,
                    peers: ["bus": [busEndpoint], "auth": [authEndpoint], "orders": [ordersEndpoint]],
                    authPublicKey: auth.tokenKey,
                    logger: quiet
                )
                group.addTask { try await host.run() }
                paymentsEndpoint = Endpoint(host: "127.0.0.1", port: try await host.server.localPort)
                payments = host
            }
            var httpConfiguration = gatewayConfiguration ?? Cluster.gatewayDefaults
            httpConfiguration.port = 0
            let gateway = GatewayServer(
                gateway: try Gateway(
                    configuration: httpConfiguration,
                    backends: GatewayBackends([
                        Auth.serviceName: [authEndpoint], Users.serviceName: [usersEndpoint],
                        Orders.serviceName: [ordersEndpoint], Payments.serviceName: [paymentsEndpoint],
                    ]),
                    authPublicKey: auth.tokenKey,
                    logger: quiet
                ),
                configuration: httpConfiguration,
                logger: quiet
            )
            group.addTask { try await gateway.run() }
            let gatewayEndpoint = Endpoint(host: "127.0.0.1", port: await gateway.localPort)
            let cluster = Cluster(
                directory: directory,
                clock: clock,
                authServer: auth,
                authEndpoint: authEndpoint,
                usersEndpoint: usersEndpoint,
                ordersEndpoint: ordersEndpoint,
                paymentsEndpoint: paymentsEndpoint,
                gatewayEndpoint: gatewayEndpoint,
                busEndpoint: busEndpoint,
                auth: Auth.Client(RPCClient(endpoints: [authEndpoint])),
                users: Users.Client(RPCClient(endpoints: [usersEndpoint])),
                orders: Orders.Client(RPCClient(endpoints: [ordersEndpoint])),
                payments: Payments.Client(RPCClient(endpoints: [paymentsEndpoint])),
                bus: try Cluster.busClient(busEndpoint, directory: directory, as: "operator")
            )
            // Authenticated calls wait for the revocation lists (the services fail closed until then).
            #expect(try await eventually { users.isReady && orders.isReady && (payments?.isReady ?? true) })
            let result = try await body(cluster)
            await cluster.auth.client.close()
            await cluster.users.client.close()
            await cluster.orders.client.close()
            await cluster.payments.client.close()
            await cluster.bus.client.close()
            return result
        }
    }

    /// A client of the bus calling as `service` (with a token signed by the data directory's
    /// service key): events a test publishes come from the service that owns them.
    public static func busClient(_ endpoint: Endpoint, directory: URL, as service: String) throws -> Broker.Client {
        let identity = ServiceIdentity(name: service, key: try ServiceKeys.serviceKey(dataDirectory: directory.path))
        return Broker.Client(RPCClient(endpoints: [endpoint], interceptors: [identity.interceptor]))
    }

    /// The bus as `service`: `body` gets a client that is closed afterwards.
    public func bus<T: Sendable>(as service: String, _ body: (Broker.Client) async throws -> T) async throws -> T {
        let client = try Cluster.busClient(busEndpoint, directory: directory, as: service)
        do {
            let result = try await body(client)
            await client.client.close()
            return result
        } catch {
            await client.client.close()
            throw error
        }
    }

    /// Registers and logs in; returns the user and an access token.
    @discardableResult
    public func signUp(_ username: String, role: Role = .customer, password: String = "password123") async throws -> (
        user: User, token: String
    ) {
        let user =
            try await auth.register(
                RegisterRequest(username: username, email: "\(username)@example.com", password: password, role: role)
            ).user ?? User()
        let token = try await auth.login(LoginRequest(identifier: .username(username), password: password)).accessToken
        return (user, token)
    }

    /// An admin (created as `marketplace admin create` does) and their token.
    public func admin(_ username: String = "root") async throws -> (user: User, token: String) {
        let user = try await AuthService.createAdmin(
            dataDirectory: directory.path,
            username: username,
            email: "\(username)@example.com",
            password: "adminpass1",
            parameters: .testing
        )
        let token = try await auth.login(LoginRequest(identifier: .username(username), password: "adminpass1"))
            .accessToken
        return (user, token)
    }

    /// The auth service's signing key (to forge tokens the way an attacker could not).
    public var signingKey: Curve25519.Signing.PrivateKey {
        get throws { try KeyFile.load(path: ServiceKeys.authKeyPath(dataDirectory: directory.path)) }
    }
}

public func bearer(_ token: String) -> CallOptions {
    CallOptions(metadata: Metadata([("authorization", "Bearer \(token)")]))
}
