public import Crypto
import EventBus
import Foundation
public import GRDB
public import Logging
import MarketplaceAPI
public import RPC
public import ServiceLifecycle

/// One service as a process part, built the same way for every service from its
/// ``ServiceDefinition``: its database (migrated before the port opens), its credentials (the
/// service key, the token key, the revocation list and the access-control interceptor), the RPC
/// server, the outbox relay, the consumer of its queue (its typed routes on the shared consume
/// loop) and the revocation feed, run as one nested `ServiceGroup`.
///
/// Shutdown is ordered: the server first (no new calls; calls in flight finish), then the
/// service's own background work, the consumer, the relay (which publishes what the last calls
/// wrote), and the revocation feed last.
public struct ServiceHost: Service {
    public let name: String
    public let server: RPCServer
    public let database: DatabasePool
    /// Filled by the revocation feed; until then authenticated calls get UNAVAILABLE (fail closed).
    public let revocations: RevocationList
    /// The key access tokens are verified with (the auth service's public key).
    public let tokenKey: Curve25519.Signing.PublicKey
    /// The handlers the server serves.
    public let handlers: [any RPCService]
    /// In start order; shut down in reverse.
    let parts: [any Service]
    let logger: Logger

    /// Whether the revocation list is loaded (the service then serves authenticated calls).
    public var isReady: Bool { revocations.isReady }

    /// The handler of type `H`, if the service has one (for what a caller of the process needs
    /// beyond RPC: the auth service's public key, say).
    public func handler<H: RPCService>(_: H.Type) -> H? { handlers.lazy.compactMap { $0 as? H }.first }

    /// Builds `definition`'s service.
    /// - Parameters:
    ///   - dataDirectory: `<name>.sqlite` and `keys/` live here.
    ///   - configuration: the RPC server's address and limits.
    ///   - peers: the addresses of the others by short name (`bus`, `auth`, `users`, …; several
    ///     addresses of one are replicas, used round-robin).
    ///   - authPublicKey: the token key of a verifying service; nil fetches it from `auth`.
    /// - Throws: ``ServiceHostError`` for a missing peer address or a queue that does not bind
    ///   one of the service's routes; the database's, the key files' or the auth service's errors.
    public static func make(
        _ definition: ServiceDefinition,
        dataDirectory: String,
        configuration: ServerConfiguration,
        peers: [String: [Endpoint]],
        authPublicKey: Curve25519.Signing.PublicKey? = nil,
        logger: Logger? = nil
    ) async throws -> ServiceHost {
        let logger = logger ?? Logger(label: definition.name)
        let name = definition.name
        // Every peer the host will call, checked before anything is opened: the bus, the
        // definition's calls, and auth for a service that verifies its tokens (their key and
        // the revocation snapshot come from there).
        var needed = ["bus"] + definition.calls
        if case .verifies = definition.tokens, !needed.contains("auth") { needed.append("auth") }
        for peer in needed where peers[peer]?.isEmpty ?? true {
            throw ServiceHostError(message: "\(name) calls \(peer), but no address of \(peer) was given")
        }
        let database = try openDatabase(definition, dataDirectory: dataDirectory)
        let serviceKey = try ServiceKeys.serviceKey(dataDirectory: dataDirectory)
        let identity = ServiceIdentity(name: name, key: serviceKey)
        let revocations = RevocationList()
        let signingKey: Curve25519.Signing.PrivateKey?
        let tokenKey: Curve25519.Signing.PublicKey
        switch definition.tokens {
        case .issues(let keyPath):
            let key = try KeyFile.loadOrCreate(path: keyPath ?? ServiceKeys.authKeyPath(dataDirectory: dataDirectory))
            (signingKey, tokenKey) = (key, key.publicKey)
        case .verifies:
            signingKey = nil
            if let authPublicKey {
                tokenKey = authPublicKey
            } else {
                let auth = Auth.Client(try ServiceHost.client(peers, "auth", identity: identity, for: name))
                tokenKey = try await AuthPublicKey.fetch(from: auth, logger: logger)
            }
        }
        let environment = ServiceEnvironment(
            name: name,
            dataDirectory: dataDirectory,
            database: database,
            revocations: revocations,
            identity: identity,
            signingKey: signingKey,
            now: definition.now,
            logger: logger,
            peers: peers
        )
        let service = try await definition.build(environment)
        let verifier = TokenVerifier(
            accessKey: tokenKey,
            serviceKey: serviceKey.publicKey,
            revocations: revocations,
            now: definition.now
        )
        let server = RPCServer(
            services: service.handlers,
            configuration: configuration,
            interceptors: [AccessControl(verifier: verifier)],
            logger: logger
        )
        let bus = Broker.Client(try ServiceHost.client(peers, "bus", identity: identity, for: name))
        let snapshot: RevocationFollower.Snapshot
        if let own = service.revocationSnapshot {
            snapshot = own
        } else {
            let auth = Auth.Client(try ServiceHost.client(peers, "auth", identity: identity, for: name))
            snapshot = { try await auth.listRevocations(ListRevocationsRequest()) }
        }
        var parts: [any Service] = [
            RevocationFollower(revocations: revocations, snapshot: snapshot, bus: bus, service: name, logger: logger),
            OutboxRelay(database: database, bus: bus, logger: logger),
        ]
        if let queue = definition.queue {
            let unbound = service.routes.unbound(by: queue.bindings)
            guard unbound.isEmpty else {
                let names = unbound.map { "\($0.type) (\($0.exchange) \($0.routingKey))" }.joined(separator: ", ")
                throw ServiceHostError(message: "\(name): queue \(queue.name) binds no route for \(names)")
            }
            parts.append(
                EventConsumer(database: database, bus: bus, queue: queue.name, routes: service.routes, logger: logger)
            )
        } else if !service.routes.routes.isEmpty {
            throw ServiceHostError(message: "\(name) routes events but declares no queue")
        }
        parts += service.background
        parts.append(server)
        return ServiceHost(
            name: name,
            server: server,
            database: database,
            revocations: revocations,
            tokenKey: tokenKey,
            handlers: service.handlers,
            parts: parts,
            logger: logger
        )
    }

    /// The service's database, `<data>/<name>.sqlite`, migrated: its store's migrations, then the
    /// outbox's and the handled-events table's (for tools that work on the files directly, too).
    public static func openDatabase(_ definition: ServiceDefinition, dataDirectory: String) throws -> DatabasePool {
        try ServiceDatabase.open(
            path: "\(dataDirectory)/\(definition.name).sqlite",
            durability: definition.durability
        ) { migrator in
            definition.migrate(&migrator)
            Outbox.register(in: &migrator)
            IdempotentConsumer.register(in: &migrator)
        }
    }

    static func client(_ peers: [String: [Endpoint]], _ peer: String, identity: ServiceIdentity, for name: String)
        throws -> RPCClient
    {
        guard let endpoints = peers[peer], !endpoints.isEmpty else {
            throw ServiceHostError(message: "\(name) calls \(peer), but no address of \(peer) was given")
        }
        return RPCClient(endpoints: endpoints, interceptors: [identity.interceptor])
    }

    /// Runs every part until a graceful shutdown (then stops them in reverse order) or until one
    /// fails (then the others are cancelled and the error is thrown).
    public func run() async throws {
        let group = ServiceGroup(configuration: .init(services: parts, logger: logger))
        try await group.run()
    }
}
