public import Crypto
import EventBus
import Foundation
import GRDB
public import Logging
import MarketplaceAPI
import ProtoRuntime
public import RPC
import RPCSchema
public import ServiceKit
public import ServiceLifecycle

/// What the orders service does with the events of its queue (`orders.events`), each applied
/// once (``IdempotentConsumer``).
enum OrdersEvents {
    static let queue = "orders.events"

    static func handle(_ event: Event, _ db: Database, now: Date) throws {
        switch event.type {
        case PaymentCompleted.protoMessageName:
            let paid = try PaymentCompleted(serializedBytes: event.payload)
            try db.execute(
                sql: "UPDATE orders SET payment_status = ?, updated_at = ? WHERE id = ?",
                arguments: [PaymentStatus.paid.protoValue, now.micros, paid.orderId])
        case PaymentRefunded.protoMessageName:
            let refunded = try PaymentRefunded(serializedBytes: event.payload)
            try db.execute(
                sql: "UPDATE orders SET payment_status = ?, updated_at = ? WHERE id = ?",
                arguments: [PaymentStatus.unpaid.protoValue, now.micros, refunded.orderId])
        case ReviewCreated.protoMessageName:
            let review = try ReviewCreated(serializedBytes: event.payload)
            guard let order = try OrdersSchema.fetch(db, review.orderId), order.status == .completed else { return }
            try db.execute(
                sql: "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                arguments: [OrderStatus.reviewed.protoValue, now.micros, order.id, OrderStatus.completed.protoValue])
            try OrdersSchema.record(db, order: order.id, from: .completed, to: .reviewed, actor: .system, reason: "review \(review.reviewId)", at: now)
            var after = order
            after.status = .reviewed
            try OrdersService.announce(db, action: .markReviewed, actor: .system, before: order, after: after, reason: "", at: now)
        default:
            break
        }
    }
}

/// The orders service as a process: database, RPC server with access control, outbox relay,
/// the consumer of `orders.events`, and the revocation feed.
public struct OrdersServer: Service {
    public let server: RPCServer
    public let service: OrdersService
    let relay: OutboxRelay
    let consumer: EventConsumer
    let follower: RevocationFollower
    /// Filled by the follower; until then authenticated calls get UNAVAILABLE (fail closed).
    public let revocations: RevocationList

    /// Whether the revocation list is loaded (the service then serves authenticated calls).
    public var isReady: Bool { revocations.isReady }

    public static func make(
        dataDirectory: String, configuration: ServerConfiguration, auth authEndpoints: [Endpoint], users usersEndpoints: [Endpoint],
        bus: [Endpoint], authPublicKey: Curve25519PublicKey? = nil, orders: OrdersConfiguration = OrdersConfiguration(),
        logger: Logger = Logger(label: "orders")
    ) async throws -> OrdersServer {
        let database = try ServiceDatabase.open(path: dataDirectory + "/orders.sqlite", migrate: OrdersSchema.migrate)
        let serviceKey = try ServiceKeys.serviceKey(dataDirectory: dataDirectory)
        let identity = ServiceIdentity(name: "orders", key: serviceKey)
        let auth = Auth.Client(RPCClient(endpoints: authEndpoints, interceptors: [identity.interceptor]))
        let users = Users.Client(RPCClient(endpoints: usersEndpoints, interceptors: [identity.interceptor]))
        let accessKey: Curve25519PublicKey
        if let authPublicKey { accessKey = authPublicKey } else { accessKey = try await AuthPublicKey.fetch(from: auth, logger: logger) }
        let revocations = RevocationList()
        let verifier = TokenVerifier(accessKey: accessKey, serviceKey: serviceKey.publicKey, revocations: revocations, now: orders.now)
        let service = OrdersService(database: database, users: users, configuration: orders, logger: logger)
        let server = RPCServer(
            services: [service], configuration: configuration, interceptors: [AccessControl(verifier: verifier)], logger: logger)
        let busClient = Broker.Client(RPCClient(endpoints: bus))
        let now = orders.now
        let consumer = EventConsumer(database: database, bus: busClient, queue: OrdersEvents.queue, logger: logger) { event, db in
            try OrdersEvents.handle(event, db, now: now())
        }
        return OrdersServer(
            server: server, service: service, relay: OutboxRelay(database: database, bus: busClient, logger: logger), consumer: consumer,
            follower: RevocationFollower(revocations: revocations, auth: auth, bus: busClient, service: "orders", logger: logger),
            revocations: revocations)
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask { try await relay.run() }
            group.addTask { try await consumer.run() }
            group.addTask { try await follower.run() }
            try await group.next()
            group.cancelAll()
        }
    }
}
