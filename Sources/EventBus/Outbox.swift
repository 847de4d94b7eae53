public import Foundation
public import GRDB
public import Logging
public import ProtoRuntime
public import RPC
public import RPCSchema
public import ServiceLifecycle

/// The transactional outbox: a producer writes its events into its own database in the same
/// transaction as the change they announce; ``OutboxRelay`` publishes them afterwards. A crash
/// between the change and the publish loses nothing: the rows are still there.
public enum Outbox {
    /// Adds the outbox table to a service's migrations.
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("outbox.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, exchange TEXT NOT NULL,
                        routing_key TEXT NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL)
                    """)
        }
        migrator.registerMigration("outbox.v2") { db in
            // Rows the bus refuses for good (an unknown exchange, say) wait here for a person,
            // instead of blocking every event behind them.
            try db.execute(
                sql: """
                    CREATE TABLE outbox_parked (
                        sequence INTEGER PRIMARY KEY, event_id TEXT NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL,
                        type TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL, error TEXT NOT NULL, parked_at INTEGER NOT NULL)
                    """)
        }
    }

    /// Queues an event inside the caller's transaction; returns its id.
    @discardableResult
    public static func enqueue<M: ProtoRuntime.Message>(
        _ db: Database, exchange: String, routingKey: String, event: M, id: String = UUID().uuidString.lowercased()
    ) throws -> String {
        try db.execute(
            sql: """
                INSERT INTO outbox (event_id, exchange, routing_key, type, payload, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, exchange, routingKey, M.protoMessageName, Data(event.serializedBytes()),
                Int64(Date().timeIntervalSince1970 * 1_000_000),
            ])
        return id
    }

    /// How many events wait to be published.
    public static func pendingCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0
    }
}

/// Publishes outbox rows in order, deleting each batch once the bus confirmed it (durable). While
/// the bus is down it retries with exponential backoff; on graceful shutdown it flushes what it
/// can (one more attempt) and stops.
public final class OutboxRelay: Service, Sendable {
    let database: any DatabaseWriter
    let bus: Broker.Client
    let batchSize: Int
    let idleInterval: Duration
    let logger: Logger

    /// - Parameters:
    ///   - database: the producer's database (with ``Outbox/register(in:)`` applied).
    ///   - bus: a client of the event bus.
    ///   - batchSize: events per publish.
    ///   - idleInterval: how often an empty outbox is looked at again.
    public init(
        database: any DatabaseWriter, bus: Broker.Client, batchSize: Int = 256, idleInterval: Duration = .milliseconds(20),
        logger: Logger = Logger(label: "outbox")
    ) {
        self.database = database
        self.bus = bus
        self.batchSize = batchSize
        self.idleInterval = idleInterval
        self.logger = logger
    }

    /// Publishes one batch; returns how many events were published (0: the outbox was empty).
    /// - Throws: the bus's error (the rows stay for the next attempt).
    public func publishBatch() async throws -> Int {
        let limit = batchSize
        // Rows become Sendable events inside the read, so it runs off this task's thread.
        let rows: [(Int64, Event)] = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY sequence LIMIT ?", arguments: [limit]).map { row in
                let micros: Int64 = row["created_at"]
                let event = Event(
                    id: row["event_id"], exchange: row["exchange"], routingKey: row["routing_key"], type: row["type"],
                    payload: [UInt8](row["payload"] as Data),
                    publishedAt: ProtoTimestamp(seconds: micros / 1_000_000, nanos: Int32(micros % 1_000_000) * 1000))
                return (row["sequence"] as Int64, event)
            }
        }
        guard let last = rows.last?.0 else { return 0 }
        let events = rows.map(\.1)
        do {
            _ = try await bus.publish(PublishRequest(events: events))
        } catch let error as RPCError where OutboxRelay.refusedForGood(error) {
            // The bus refuses the batch for good (or it is too large as one message): find the rows it refuses, park them, go on.
            return try await publishOneByOne(rows)
        }
        try await database.write { db in try db.execute(sql: "DELETE FROM outbox WHERE sequence <= ?", arguments: [last]) }
        return rows.count
    }

    /// Refusals that no retry can change: an unknown exchange, an invalid event, a conflict, or
    /// an event too large for a frame (RESOURCE_EXHAUSTED for its size; a batch too large as a
    /// whole is published one by one, so only an event too large alone is parked). Anything
    /// else (the bus down, busy) is retried.
    static func refusedForGood(_ error: RPCError) -> Bool {
        // PERMISSION_DENIED is not among them: a topology that lacks a grant is fixed by fixing
        // it, and the rows wait (retried, logged) rather than being set aside.
        [.notFound, .invalidArgument, .failedPrecondition].contains(error.code) || error.isMessageTooLarge
    }

    /// Publishes rows one at a time, in order; a row the bus refuses for good moves to
    /// `outbox_parked` (logged) so the ones behind it are not held up.
    func publishOneByOne(_ rows: [(Int64, Event)]) async throws -> Int {
        for (sequence, event) in rows {
            do {
                _ = try await bus.publish(PublishRequest(events: [event]))
                try await database.write { db in try db.execute(sql: "DELETE FROM outbox WHERE sequence = ?", arguments: [sequence]) }
            } catch let error as RPCError where OutboxRelay.refusedForGood(error) {
                logger.error(
                    "the bus refuses an outbox event; parked in outbox_parked",
                    metadata: ["event": "\(event.id)", "exchange": "\(event.exchange)", "error": "\(error)"])
                let text = "\(error)"
                let parkedAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
                try await database.write { db in
                    try db.execute(
                        sql: """
                            INSERT OR REPLACE INTO outbox_parked
                            SELECT sequence, event_id, exchange, routing_key, type, payload, created_at, ?, ? FROM outbox WHERE sequence = ?
                            """,
                        arguments: [text, parkedAt, sequence])
                    try db.execute(sql: "DELETE FROM outbox WHERE sequence = ?", arguments: [sequence])
                }
            }
        }
        return rows.count
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(50)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let published = try await publishBatch()
                backoff = .milliseconds(50)
                if published == 0 { try? await Task.sleep(for: idleInterval) }
            } catch {
                logger.debug("publish failed; retrying", metadata: ["error": .string("\(error)"), "in": .string("\(backoff)")])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        // Shutting down: one last flush of what is there.
        while let published = try? await publishBatch(), published > 0 {}
    }
}

/// Applies each event once: the handled event id is recorded in the consumer's database in the
/// same transaction as the event's effect, so a redelivered event is recognised and skipped.
public enum IdempotentConsumer {
    /// Adds the handled-events table to a service's migrations.
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("handled-events.v1") { db in
            try db.execute(
                sql: "CREATE TABLE handled_event (event_id TEXT PRIMARY KEY NOT NULL, handled_at INTEGER NOT NULL) WITHOUT ROWID")
        }
    }

    /// Runs `apply` and records `eventID` in one transaction, unless the id was recorded before.
    /// - Returns: whether the event was applied now (false: it had been, and nothing ran).
    @discardableResult
    public static func handle(
        _ database: any DatabaseWriter, eventID: String, apply: @escaping @Sendable (Database) throws -> Void
    ) async throws -> Bool {
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM handled_event WHERE event_id = ?", arguments: [eventID]) == true {
                return false
            }
            try apply(db)
            try db.execute(
                sql: "INSERT INTO handled_event (event_id, handled_at) VALUES (?, ?)",
                arguments: [eventID, Int64(Date().timeIntervalSince1970)])
            return true
        }
    }
}

/// Consumes a queue: each event is applied through ``IdempotentConsumer`` and acked after its
/// transaction commits; a failed handler nacks (redelivered, then dead-lettered after the queue's
/// limit). An event not published by the owner of its exchange (``EventOwnership``) is never
/// applied: it goes straight to the dead-letter queue. Reconnects with backoff while the bus is
/// unreachable.
public final class EventConsumer: Service, Sendable {
    public typealias Handler = @Sendable (Event, Database) throws -> Void

    let database: any DatabaseWriter
    let bus: Broker.Client
    let queue: String
    let prefetch: UInt32
    let handler: Handler
    let logger: Logger
    let owners: [String: String]

    public init(
        database: any DatabaseWriter, bus: Broker.Client, queue: String, prefetch: UInt32 = 64, owners: [String: String] = EventOwnership.standard,
        logger: Logger = Logger(label: "consumer"), handler: @escaping Handler
    ) {
        self.owners = owners
        self.database = database
        self.bus = bus
        self.queue = queue
        self.prefetch = prefetch
        self.handler = handler
        self.logger = logger
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(50)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await consume()
                backoff = .milliseconds(50)
            } catch {
                logger.debug("subscription ended; resubscribing", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    func consume() async throws {
        let (database, handler, queue, prefetch, owners, logger) = (self.database, self.handler, self.queue, self.prefetch, self.owners, self.logger)
        try await cancelWhenGracefulShutdown {
            try await self.bus.subscribe { writer, deliveries in
                try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: prefetch))))
                try await Acknowledgements.run(writer) { acks in
                    for try await delivery in deliveries {
                        let event = delivery.event ?? Event()
                        guard EventOwnership.accepts(event, owners: owners) else {
                            logger.warning(
                                "event refused: not from the owner of its exchange; dead-lettered",
                                metadata: ["event": "\(event.id)", "exchange": "\(event.exchange)", "publisher": "\(event.publisher)"])
                            acks.nack(delivery.deliveryTag, requeue: false)
                            continue
                        }
                        do {
                            try await IdempotentConsumer.handle(database, eventID: event.id) { db in try handler(event, db) }
                            acks.ack(delivery.deliveryTag)
                        } catch {
                            acks.nack(delivery.deliveryTag, requeue: true)
                        }
                    }
                }
            }
        }
    }
}
