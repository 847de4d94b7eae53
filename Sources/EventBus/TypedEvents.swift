public import Foundation
public import GRDB
import ProtoRuntime
public import RPC
public import RPCSchema

/// A typed event as a subscriber receives it, with its delivery.
public struct EventDelivery<E: EventMessage>: Sendable {
    public let event: E
    /// The event's id (what idempotent consumers record).
    public let id: String
    public let deliveryTag: UInt64
    public let deliveryCount: UInt32
}

extension Broker.Client {
    /// Publishes a typed event on its exchange with its routing key; returns once it is durable.
    @discardableResult
    public func publish<E: EventMessage>(
        _ event: E,
        id: String = UUID().uuidString.lowercased(),
        options: CallOptions = .init()
    )
        async throws -> String
    {
        let wire = Event(
            id: id,
            exchange: E.eventExchange,
            routingKey: E.eventRoutingKey,
            type: E.protoMessageName,
            payload: event.serializedBytes(),
            publishedAt: ProtoTimestamp(seconds: Int64(Date().timeIntervalSince1970))
        )
        _ = try await publish(PublishRequest(events: [wire]), options: options)
        return id
    }

    /// Consumes `queue` as typed events: `body` sees each one and returns whether to ack it
    /// (false: nack, requeued). Events of another type on the queue, and events not published by
    /// the owner of their exchange (``EventOwnership``), are nacked without requeue (they go to
    /// the dead-letter queue). Ends when `body` throws or the bus closes the stream.
    public func subscribe<E: EventMessage>(
        _: E.Type,
        queue: String,
        prefetch: UInt32 = 64,
        body: @Sendable (EventDelivery<E>) async throws -> Bool
    ) async throws {
        try await subscribe { writer, deliveries in
            try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: prefetch))))
            try await Acknowledgements.run(writer) { acks in
                for try await delivery in deliveries {
                    let wire = delivery.event ?? Event()
                    guard wire.type == E.protoMessageName, EventOwnership.accepts(wire),
                        let event = try? E(serializedBytes: wire.payload)
                    else {
                        acks.nack(delivery.deliveryTag, requeue: false)
                        continue
                    }
                    let ok = try await body(
                        EventDelivery(
                            event: event,
                            id: wire.id,
                            deliveryTag: delivery.deliveryTag,
                            deliveryCount: delivery.deliveryCount
                        )
                    )
                    if ok { acks.ack(delivery.deliveryTag) } else { acks.nack(delivery.deliveryTag, requeue: true) }
                }
            }
        }
    }
}

extension Outbox {
    /// Queues a typed event (its exchange and routing key come from the schema) in the caller's
    /// transaction; returns its id.
    @discardableResult
    public static func enqueue<E: EventMessage>(_ db: Database, _ event: E, id: String = UUID().uuidString.lowercased())
        throws
        -> String
    {
        try enqueue(db, exchange: E.eventExchange, routingKey: E.eventRoutingKey, event: event, id: id)
    }
}
