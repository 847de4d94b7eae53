import EventBus
import Foundation
import GRDB
import NIOConcurrencyHelpers
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Typed events generated from the schema")
struct TypedEventTests {
    @Test("event messages carry their exchange and routing key from the (rpc.v1.event) option")
    func conformance() {
        #expect(OrderCreated.eventExchange == "order_events")
        #expect(OrderCreated.eventRoutingKey == "order.created")
        #expect(UserRegistered.eventRoutingKey == "user.registered")
    }

    @Test("publish a typed event; a typed subscription decodes it; the outbox takes typed events")
    func publishSubscribe() async throws {
        let dir = try makeTemporaryDirectory("typed")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withBus(in: dir) { bus in
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "notifications.orders"))
            _ = try await bus.bind(
                BindRequest(queue: "notifications.orders", exchange: "order_events", pattern: "order.*")
            )
            // A typed subscription accepts an event only from the owner of its exchange.
            let operatorID = try await bus.publish(OrderCreated(orderId: 6, title: "Forged"))
            let orders = try busClient(bus.client.endpoints[0], dataDirectory: dir.path, as: "orders")
            let id = try await orders.publish(OrderCreated(orderId: 7, title: "Fix the sink"))
            await orders.client.close()
            let received = NIOLockedValueBox<[EventDelivery<OrderCreated>]>([])
            struct Done: Error {}
            do {
                try await bus.subscribe(OrderCreated.self, queue: "notifications.orders") { delivery in
                    received.withLockedValue { $0.append(delivery) }
                    throw Done()
                }
            } catch is Done {}
            let delivery = try #require(received.withLockedValue { $0 }.first)
            #expect(delivery.id == id)
            #expect(delivery.id != operatorID, "the operator's event was skipped")
            #expect(received.withLockedValue { $0.count } == 1, "the body never saw it")
            // Neither is lost: the operator's was nacked without requeue (dead-lettered, or back in
            // the queue if the subscription ended before the nack went out), and the one the body
            // threw on was never acked (back in the queue).
            #expect(
                try await eventually {
                    let queues = try await bus.inspect(InspectRequest()).queues
                    let waiting = queues.filter {
                        $0.name == "notifications.orders" || $0.name == "notifications.orders.dead"
                    }.map(\.depth).reduce(0, +)
                    return waiting == 2
                }
            )
            #expect(delivery.event == OrderCreated(orderId: 7, title: "Fix the sink"))

            let producer = try DatabaseQueue(path: dir.appendingPathComponent("producer.sqlite").path)
            var migrator = DatabaseMigrator()
            Outbox.register(in: &migrator)
            try migrator.migrate(producer)
            _ = try await producer.write { db in try Outbox.enqueue(db, UserRegistered(userId: 1)) }
            let row: [String] = try await producer.read { db in
                try Row.fetchOne(db, sql: "SELECT exchange, routing_key, type FROM outbox").map {
                    [$0["exchange"], $0["routing_key"], $0["type"]]
                } ?? []
            }
            #expect(row == ["auth_events", "user.registered", "test.v1.UserRegistered"])
        }
    }
}
