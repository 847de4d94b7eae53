import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("The bus over RPC")
struct BrokerServiceTests {
    func withBus<T: Sendable>(_ body: @Sendable (Broker.Client) async throws -> T) async throws -> T {
        let dir = try makeTemporaryDirectory("bus-rpc")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await EventBusTests.withBus(in: dir, body)
    }

    @Test("declare, bind, publish (confirmed), subscribe, ack; inspect shows the queue")
    func publishSubscribe() async throws {
        try await withBus { bus in
            #expect(try await bus.declareQueue(DeclareQueueRequest(name: "notifications.orders")).created)
            #expect(
                try await bus.bind(
                    BindRequest(queue: "notifications.orders", exchange: "order_events", pattern: "order.*")
                ).created
            )
            let published = try await bus.publish(
                PublishRequest(events: [
                    Event(id: "e1", exchange: "order_events", routingKey: "order.created", payload: [1]),
                    Event(id: "e2", exchange: "order_events", routingKey: "review.created", payload: [2]),
                ])
            )
            #expect(published.unroutable == 1)
            let received = try await bus.subscribe { writer, deliveries in
                try await writer.write(
                    SubscribeRequest(kind: .subscribe(.init(queue: "notifications.orders", prefetch: 10)))
                )
                var iterator = deliveries.makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                try await writer.write(SubscribeRequest(kind: .ack(.init(deliveryTags: [delivery.deliveryTag]))))
                writer.finish()
                return delivery
            }
            #expect(received.event?.id == "e1")
            #expect(received.deliveryCount == 1)
            let inspected = try await bus.inspect(InspectRequest())
            #expect(inspected.exchanges.map(\.name).contains("order_events"))
            #expect(inspected.unroutable == 1)
            let queue = try #require(inspected.queues.first { $0.name == "notifications.orders" })
            #expect(queue.bindings == ["order_events: order.*"])
        }
    }

    @Test("errors: unknown exchange NOT_FOUND, conflicting redeclaration FAILED_PRECONDITION")
    func errors() async throws {
        try await withBus { bus in
            await #expect(throws: RPCError(code: .notFound, message: "unknown exchange 'nope'")) {
                _ = try await bus.publish(PublishRequest(events: [Event(id: "x", exchange: "nope", routingKey: "a")]))
            }
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "q", maxDeliveries: 3))
            do {
                _ = try await bus.declareQueue(DeclareQueueRequest(name: "q", maxDeliveries: 4))
                Issue.record("a conflicting declaration succeeded")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
            }
        }
    }
}
