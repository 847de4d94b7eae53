public import Foundation
public import GRDB
public import ProtoRuntime

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
                    """
            )
        }
        migrator.registerMigration("outbox.v2") { db in
            // Rows the bus refuses for good (an unknown exchange, say) wait here for a person,
            // instead of blocking every event behind them.
            try db.execute(
                sql: """
                    CREATE TABLE outbox_parked (
                        sequence INTEGER PRIMARY KEY, event_id TEXT NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL,
                        type TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL, error TEXT NOT NULL, parked_at INTEGER NOT NULL)
                    """
            )
        }
    }

    /// Queues an event inside the caller's transaction; returns its id.
    @discardableResult
    public static func enqueue<M: ProtoRuntime.Message>(
        _ db: Database,
        exchange: String,
        routingKey: String,
        event: M,
        id: String = UUID().uuidString.lowercased()
    ) throws -> String {
        try db.execute(
            sql: """
                INSERT INTO outbox (event_id, exchange, routing_key, type, payload, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, exchange, routingKey, M.protoMessageName, Data(event.serializedBytes()),
                Int64(Date().timeIntervalSince1970 * 1_000_000),
            ]
        )
        return id
    }

    /// How many events wait to be published.
    public static func pendingCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0
    }
}
