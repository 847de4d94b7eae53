import Foundation
public import GRDB

/// Applies each event once: the handled event id is recorded in the consumer's database in the
/// same transaction as the event's effect, so a redelivered event is recognised and skipped.
public enum IdempotentConsumer {
    /// Adds the handled-events table to a service's migrations.
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("handled-events.v1") { db in
            try db.execute(
                sql:
                    "CREATE TABLE handled_event (event_id TEXT PRIMARY KEY NOT NULL, handled_at INTEGER NOT NULL) WITHOUT ROWID"
            )
        }
    }

    /// Runs `apply` and records `eventID` in one transaction, unless the id was recorded before.
    /// - Returns: whether the event was applied now (false: it had been, and nothing ran).
    @discardableResult
    public static func handle(
        _ database: any DatabaseWriter,
        eventID: String,
        apply: @escaping @Sendable (Database) throws -> Void
    ) async throws -> Bool {
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM handled_event WHERE event_id = ?", arguments: [eventID])
                == true
            {
                return false
            }
            try apply(db)
            try db.execute(
                sql: "INSERT INTO handled_event (event_id, handled_at) VALUES (?, ?)",
                arguments: [eventID, Int64(Date().timeIntervalSince1970)]
            )
            return true
        }
    }
}
