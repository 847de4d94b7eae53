import Foundation
public import GRDB
public import Logging
import RPC
import RPCSchema
public import ServiceLifecycle

/// Consumes a queue, the one subscribe/ack/reconnect loop of the system: each delivery goes to
/// `handle` and is acked when it returns (nacked, requeued, when it throws: redelivered, then
/// dead-lettered after the queue's limit). An event not published by the owner of its exchange
/// (``EventOwnership``) is never handled: on a durable queue it goes straight to the dead-letter
/// queue, on a temporary one it is dropped. While the bus is unreachable, or after it ends the
/// stream, it subscribes again with backoff, until a graceful shutdown or cancellation.
public final class EventConsumer: Service, Sendable {
    /// Which queue: a durable one the topology declares, or a temporary one (auto-delete, a
    /// fresh name per subscription) declared and bound on each subscribe.
    public enum Queue: Sendable, Hashable {
        case durable(String)
        /// `prefix` plus a random suffix; deleted by the bus when the subscription ends.
        case temporary(prefix: String, bindings: [BusTopology.Binding])
    }

    /// What an idempotent consumer does with an event, in its transaction.
    public typealias Handler = @Sendable (Event, Database) throws -> Void

    let bus: Broker.Client
    let queue: Queue
    let prefetch: UInt32
    let owners: [String: String]
    let subscribed: @Sendable () async throws -> Void
    let handle: @Sendable (Event) async throws -> Void
    let logger: Logger

    /// - Parameters:
    ///   - subscribed: runs once each subscription is in place, before the first delivery is
    ///     handled (the revocation feed loads its snapshot here, so nothing falls between).
    ///   - handle: what to do with each event (throw: nack and requeue).
    public init(
        bus: Broker.Client,
        queue: Queue,
        prefetch: UInt32 = 64,
        owners: [String: String] = EventOwnership.standard,
        logger: Logger = Logger(label: "consumer"),
        subscribed: @escaping @Sendable () async throws -> Void = {},
        handle: @escaping @Sendable (Event) async throws -> Void
    ) {
        self.bus = bus
        self.queue = queue
        self.prefetch = prefetch
        self.owners = owners
        self.subscribed = subscribed
        self.handle = handle
        self.logger = logger
    }

    /// An idempotent consumer of a durable queue: each event runs `handler` in a transaction of
    /// `database` that also records its id (``IdempotentConsumer``), so a redelivery changes nothing.
    public convenience init(
        database: any DatabaseWriter,
        bus: Broker.Client,
        queue: String,
        prefetch: UInt32 = 64,
        owners: [String: String] = EventOwnership.standard,
        logger: Logger = Logger(label: "consumer"),
        handler: @escaping Handler
    ) {
        self.init(bus: bus, queue: .durable(queue), prefetch: prefetch, owners: owners, logger: logger) { event in
            try await IdempotentConsumer.handle(database, eventID: event.id) { db in try handler(event, db) }
        }
    }

    /// An idempotent consumer whose events go to typed `routes` (an event of a type no route
    /// takes is recorded as handled: nothing to do).
    public convenience init(
        database: any DatabaseWriter,
        bus: Broker.Client,
        queue: String,
        routes: EventRoutes<Database>,
        prefetch: UInt32 = 64,
        owners: [String: String] = EventOwnership.standard,
        logger: Logger = Logger(label: "consumer")
    ) {
        self.init(database: database, bus: bus, queue: queue, prefetch: prefetch, owners: owners, logger: logger) {
            event,
            db in
            try routes.handle(event, db)
        }
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(50)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await self.consume() }
                backoff = .milliseconds(50)
            } catch {
                logger.debug(
                    "subscription ended; resubscribing",
                    metadata: ["error": .string("\(error)"), "in": .string("\(backoff)")]
                )
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// One subscription, until the stream ends or fails.
    func consume() async throws {
        let name = try await declare()
        let (handle, subscribed, prefetch, owners, logger) = (
            self.handle, self.subscribed, self.prefetch, self.owners, self.logger
        )
        let durable = if case .durable = queue { true } else { false }
        try await bus.subscribe { writer, deliveries in
            try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: name, prefetch: prefetch))))
            try await subscribed()
            try await Acknowledgements.run(writer) { acks in
                for try await delivery in deliveries {
                    let event = delivery.event ?? Event()
                    guard EventOwnership.accepts(event, owners: owners) else {
                        logger.warning(
                            "event refused: not from the owner of its exchange",
                            metadata: [
                                "event": "\(event.id)", "exchange": "\(event.exchange)",
                                "publisher": "\(event.publisher)",
                            ]
                        )
                        if durable {
                            acks.nack(delivery.deliveryTag, requeue: false)
                        } else {
                            acks.ack(delivery.deliveryTag)
                        }
                        continue
                    }
                    do {
                        try await handle(event)
                        acks.ack(delivery.deliveryTag)
                    } catch {
                        logger.debug(
                            "event handler failed; requeued",
                            metadata: ["event": "\(event.id)", "error": "\(error)"]
                        )
                        acks.nack(delivery.deliveryTag, requeue: true)
                    }
                }
            }
        }
    }

    /// The queue's name, declaring and binding a temporary one first.
    func declare() async throws -> String {
        switch queue {
        case .durable(let name):
            return name
        case .temporary(let prefix, let bindings):
            let name = "\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
            _ = try await bus.declareQueue(DeclareQueueRequest(name: name, autoDelete: true))
            for binding in bindings {
                _ = try await bus.bind(BindRequest(queue: name, exchange: binding.exchange, pattern: binding.pattern))
            }
            return name
        }
    }
}
