public import EventBus
public import Foundation
public import GRDB
import MarketplaceAPI
public import RPC
public import ServiceLifecycle

/// What a service is, for ``ServiceHost``: its name, its store's migrations, its queue with its
/// bindings, and how to build its handlers and event routes from a ``ServiceEnvironment``.
/// Everything else a service process needs (database, credentials, server, outbox relay,
/// consumer, revocation feed, ordered shutdown) the host builds the same way for every service.
///
/// A service module offers its definition as a static factory, e.g. `ServiceDefinition.orders()`:
///
/// ```swift
/// ServiceDefinition(name: "orders", calls: ["users"], migrate: OrdersStore.migrate,
///                   queue: BusTopology.Queue(name: "orders.events", bindings: […])) { environment in
///     ServiceParts(handlers: [OrdersService(…)], routes: OrdersEvents.routes(now: …))
/// }
/// ```
public struct ServiceDefinition: Sendable {
    /// How the service's callers' tokens are checked.
    public enum Tokens: Sendable {
        /// It issues them (the auth service): the signing key comes from `keyPath` (default
        /// `<data>/keys/auth-ed25519.key`, created if absent) and verifies them too.
        case issues(keyPath: String?)
        /// It verifies them with the auth service's public key (given, or fetched from `auth`).
        case verifies
    }

    /// The short name: the database file (`<name>.sqlite`), the service identity
    /// (`service:<name>`), the key of its address among the peers.
    public let name: String
    /// The generated RPC services it serves (`marketplace.v1.Orders`): what the gateway routes to it.
    public let rpcServices: [String]
    /// The peers it calls (their short names; `bus` and, for a verifier, `auth` are implied).
    public let calls: [String]
    public let tokens: Tokens
    /// Its store's migrations (the host adds the outbox's and the handled-events table's after them).
    public let migrate: @Sendable (inout DatabaseMigrator) -> Void
    /// The durable queue it consumes, with its bindings (nil: it consumes nothing). The
    /// standard topology declares it; its routes must all be bound (the host checks).
    public let queue: BusTopology.Queue?
    /// How its commits reach the disk (`.full` for money).
    public let durability: ServiceDatabase.Durability
    /// The clock of its tokens' checks.
    public let now: @Sendable () -> Date
    /// Builds the service in its environment.
    public let build: @Sendable (ServiceEnvironment) async throws -> ServiceParts

    public init(
        name: String,
        rpcServices: [String],
        calls: [String] = [],
        tokens: Tokens = .verifies,
        migrate: @escaping @Sendable (inout DatabaseMigrator) -> Void,
        queue: BusTopology.Queue? = nil,
        durability: ServiceDatabase.Durability = .normal,
        now: @escaping @Sendable () -> Date = { Date() },
        build: @escaping @Sendable (ServiceEnvironment) async throws -> ServiceParts
    ) {
        self.name = name
        self.rpcServices = rpcServices
        self.calls = calls
        self.tokens = tokens
        self.migrate = migrate
        self.queue = queue
        self.durability = durability
        self.now = now
        self.build = build
    }
}

/// What a service consists of once built: the rest is the host's.
public struct ServiceParts: Sendable {
    /// The RPC handlers the server serves (generated `Handler` conformers).
    public var handlers: [any RPCService]
    /// What it does with the events of its queue, each in the transaction that records it as handled.
    public var routes: EventRoutes<Database>
    /// Where the revocation feed's snapshot comes from (nil: the auth service's `ListRevocations`).
    public var revocationSnapshot: RevocationFollower.Snapshot?
    /// Long-running work of its own (a reconciliation loop, say), stopped before the relay.
    public var background: [any Service]

    public init(
        handlers: [any RPCService],
        routes: EventRoutes<Database> = EventRoutes(),
        revocationSnapshot: RevocationFollower.Snapshot? = nil,
        background: [any Service] = []
    ) {
        self.handlers = handlers
        self.routes = routes
        self.revocationSnapshot = revocationSnapshot
        self.background = background
    }
}
