import EventBus
public import Foundation
public import Crypto
import GRDB
public import Logging
import MarketplaceAPI
public import RPC
import RPCSchema
public import ServiceKit
public import ServiceLifecycle

/// The users service as a process: its database, the RPC server with access control (the auth
/// service's key fetched at start unless given), the outbox relay, the consumer of
/// `users.events`, and the revocation feed.
public struct UsersServer: Service {
    public let server: RPCServer
    public let service: UsersService
    let relay: OutboxRelay
    let consumer: EventConsumer
    let follower: RevocationFollower
    /// Filled by the follower; until then authenticated calls get UNAVAILABLE (fail closed).
    public let revocations: RevocationList

    /// Whether the revocation list is loaded (the service then serves authenticated calls).
    public var isReady: Bool { revocations.isReady }

    /// - Parameters:
    ///   - auth: the auth service's addresses (replicas are used round-robin).
    ///   - authPublicKey: the token key; nil fetches it from the auth service.
    public static func make(
        dataDirectory: String, configuration: ServerConfiguration, auth authEndpoints: [Endpoint], bus: [Endpoint],
        authPublicKey: Curve25519PublicKey? = nil, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "users")
    ) async throws -> UsersServer {
        let database = try ServiceDatabase.open(path: dataDirectory + "/users.sqlite", migrate: UsersSchema.migrate)
        let credentials = try await ServiceCredentials.load(
            service: "users", dataDirectory: dataDirectory, auth: authEndpoints, authPublicKey: authPublicKey, now: now, logger: logger)
        let service = UsersService(database: database, auth: credentials.auth, now: now, logger: logger)
        let server = RPCServer(services: [service], configuration: configuration, interceptors: [credentials.accessControl], logger: logger)
        let busClient = Broker.Client(credentials.client(bus))
        let relay = OutboxRelay(database: database, bus: busClient, logger: logger)
        let consumer = EventConsumer(database: database, bus: busClient, queue: UsersEvents.queue, logger: logger) { event, db in
            try UsersEvents.handle(event, db, now: now())
        }
        return UsersServer(
            server: server, service: service, relay: relay, consumer: consumer, follower: credentials.follower(bus: busClient, logger: logger),
            revocations: credentials.revocations)
    }

    public func run() async throws { try await runTogether([server, relay, consumer, follower]) }
}
