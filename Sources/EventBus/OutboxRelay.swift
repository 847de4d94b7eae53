import Foundation
public import GRDB
public import Logging
import RPC
import RPCSchema
import ProtoRuntime
public import ServiceLifecycle

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
        database: any DatabaseWriter,
        bus: Broker.Client,
        batchSize: Int = 256,
        idleInterval: Duration = .milliseconds(20),
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
                    id: row["event_id"],
                    exchange: row["exchange"],
                    routingKey: row["routing_key"],
                    type: row["type"],
                    payload: [UInt8](row["payload"] as Data),
                    publishedAt: ProtoTimestamp(seconds: micros / 1_000_000, nanos: Int32(micros % 1_000_000) * 1000)
                )
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
        try await database.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE sequence <= ?", arguments: [last])
        }
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
                try await database.write { db in
                    try db.execute(sql: "DELETE FROM outbox WHERE sequence = ?", arguments: [sequence])
                }
            } catch let error as RPCError where OutboxRelay.refusedForGood(error) {
                logger.error(
                    "the bus refuses an outbox event; parked in outbox_parked",
                    metadata: ["event": "\(event.id)", "exchange": "\(event.exchange)", "error": "\(error)"]
                )
                let text = "\(error)"
                let parkedAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
                try await database.write { db in
                    try db.execute(
                        sql: """
                            INSERT OR REPLACE INTO outbox_parked
                            SELECT sequence, event_id, exchange, routing_key, type, payload, created_at, ?, ? FROM outbox WHERE sequence = ?
                            """,
                        arguments: [text, parkedAt, sequence]
                    )
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
                logger.debug(
                    "publish failed; retrying",
                    metadata: ["error": .string("\(error)"), "in": .string("\(backoff)")]
                )
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        // Shutting down: one last flush of what is there.
        while let published = try? await publishBatch(), published > 0 {}
    }
}
