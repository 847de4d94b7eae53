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
        let credentials = try await ServiceCredentials.load(
            service: "orders", dataDirectory: dataDirectory, auth: authEndpoints, authPublicKey: authPublicKey, now: orders.now,
            logger: logger)
        let users = Users.Client(credentials.client(usersEndpoints))
        let service = OrdersService(database: database, users: users, configuration: orders, logger: logger)
        let server = RPCServer(services: [service], configuration: configuration, interceptors: [credentials.accessControl], logger: logger)
        let busClient = Broker.Client(credentials.client(bus))
        let now = orders.now
        let consumer = EventConsumer(database: database, bus: busClient, queue: OrdersEvents.queue, logger: logger) { event, db in
            try OrdersEvents.handle(event, db, now: now())
        }
        return OrdersServer(
            server: server, service: service, relay: OutboxRelay(database: database, bus: busClient, logger: logger), consumer: consumer,
            follower: credentials.follower(bus: busClient, logger: logger), revocations: credentials.revocations)
    }

    public func run() async throws { try await runTogether([server, relay, consumer, follower]) }
}
