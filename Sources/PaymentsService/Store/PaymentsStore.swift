import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// The payments service's tables (payments.sqlite): payments with their history, refunds, the
/// ledger (``Ledger``), the orders known to be cancelled, the outbox and handled events. Every SQL
/// statement of the service is here or in ``Ledger``.
enum PaymentsStore {
    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("payments.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE payment (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        order_id INTEGER NOT NULL,
                        customer_id INTEGER NOT NULL,
                        provider_id INTEGER NOT NULL,
                        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
                        refunded_cents INTEGER NOT NULL DEFAULT 0
                            CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
                        state INTEGER NOT NULL,
                        method TEXT NOT NULL,
                        idempotency_key TEXT NOT NULL,
                        failure_reason TEXT NOT NULL DEFAULT '',
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        completed_at INTEGER,
                        -- The order had completed when it was paid: released at once when charged.
                        release_on_charge INTEGER NOT NULL DEFAULT 0);
                    -- A key names one payment of its customer.
                    CREATE UNIQUE INDEX payment_by_key ON payment (customer_id, idempotency_key) WHERE idempotency_key != '';
                    -- At most one payment of an order that is not failed: one charge per order, whatever the race.
                    CREATE UNIQUE INDEX payment_live_by_order ON payment (order_id) WHERE state != 3;
                    CREATE INDEX payment_by_order ON payment (order_id, id);
                    CREATE INDEX payment_by_customer ON payment (customer_id, id DESC);
                    CREATE INDEX payment_by_provider ON payment (provider_id, id DESC);
                    CREATE INDEX payment_by_state ON payment (state, id DESC);
                    CREATE INDEX payment_pending ON payment (updated_at) WHERE state = 1;
                    CREATE TABLE payment_transition (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        payment_id INTEGER NOT NULL REFERENCES payment (id),
                        from_state INTEGER NOT NULL,
                        to_state INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        amount_cents INTEGER NOT NULL,
                        at INTEGER NOT NULL);
                    CREATE INDEX transition_by_payment ON payment_transition (payment_id, id);
                    -- A refund is asked of the processor between two transactions: 'pending' until it answered.
                    CREATE TABLE refund (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        payment_id INTEGER NOT NULL REFERENCES payment (id),
                        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
                        reason TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'completed')),
                        requested_by INTEGER NOT NULL,
                        idempotency_key TEXT NOT NULL DEFAULT '',
                        created_at INTEGER NOT NULL,
                        completed_at INTEGER);
                    CREATE INDEX refund_by_payment ON refund (payment_id, id);
                    CREATE UNIQUE INDEX refund_by_key ON refund (payment_id, idempotency_key) WHERE idempotency_key != '';
                    CREATE INDEX refund_pending ON refund (id) WHERE state = 'pending';
                    -- Orders cancelled (order.cancelled): a payment settled after its order's cancellation is refunded.
                    CREATE TABLE cancelled_order (order_id INTEGER PRIMARY KEY, at INTEGER NOT NULL);
                    -- Orders completed (order.completed): a payment settled after its order completed is released at once.
                    CREATE TABLE completed_order (
                        order_id INTEGER PRIMARY KEY, provider_id INTEGER NOT NULL, at INTEGER NOT NULL);
                    """
            )
        }
        Ledger.migrate(&migrator)
    }

    static func payment(from row: Row) -> Payment {
        Payment(
            id: row["id"],
            orderId: row["order_id"],
            customerId: row["customer_id"],
            providerId: row["provider_id"],
            amount: Money(cents: row["amount_cents"]),
            state: PaymentState(protoValue: row["state"]),
            method: row["method"],
            idempotencyKey: row["idempotency_key"],
            createdAt: ProtoTimestamp(micros: row["created_at"]),
            completedAt: (row["completed_at"] as Int64?).map { ProtoTimestamp(micros: $0) },
            failureReason: row["failure_reason"],
            refunded: Money(cents: row["refunded_cents"]),
            updatedAt: ProtoTimestamp(micros: row["updated_at"])
        )
    }

    static func fetch(_ db: Database, _ id: Int64) throws -> Payment? {
        try Row.fetchOne(db, sql: "SELECT * FROM payment WHERE id = ?", arguments: [id]).map(payment(from:))
    }

    static func fetch(_ db: Database, customer: Int64, key: String) throws -> Payment? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM payment WHERE customer_id = ? AND idempotency_key = ?",
            arguments: [customer, key]
        ).map(payment(from:))
    }

    /// The order's payment that is not failed, if any.
    static func live(_ db: Database, order: Int64) throws -> Payment? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM payment WHERE order_id = ? AND state != ?",
            arguments: [order, PaymentState.failed.protoValue]
        ).map(payment(from:))
    }

    /// A new pending payment; nil when the order already has one that is not failed (the unique
    /// index decides, so of racing pays exactly one gets a row).
    static func insertPending(
        _ db: Database,
        order: Order,
        method: String,
        key: String,
        releaseOnCharge: Bool,
        at now: Date
    ) throws -> Payment? {
        try db.execute(
            sql: """
                INSERT INTO payment (order_id, customer_id, provider_id, amount_cents, state, method, idempotency_key,
                    created_at, updated_at, release_on_charge)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """,
            arguments: [
                order.id, order.customerId, order.providerId ?? 0, order.price?.cents ?? 0,
                PaymentState.pending.protoValue, method, key, now.micros, now.micros, releaseOnCharge,
            ]
        )
        guard db.changesCount == 1 else { return nil }
        let id = db.lastInsertedRowID
        try record(db, payment: id, from: .unspecified, to: .pending, reason: "initiated", cents: 0, at: now)
        return try fetch(db, id)
    }

    /// Moves payment `id` from `from` to `to` if it is still in `from` (so two settlers cannot
    /// both post); returns whether it did.
    static func move(
        _ db: Database,
        _ id: Int64,
        from: PaymentState,
        to: PaymentState,
        reason: String = "",
        failure: String? = nil,
        refundedCents: Int64? = nil,
        completedAt: Date? = nil,
        cents: Int64,
        at now: Date
    ) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE payment SET state = ?, updated_at = ?, failure_reason = COALESCE(?, failure_reason),
                    refunded_cents = COALESCE(?, refunded_cents), completed_at = COALESCE(?, completed_at)
                WHERE id = ? AND state = ?
                """,
            arguments: [
                to.protoValue, now.micros, failure, refundedCents, completedAt?.micros, id, from.protoValue,
            ]
        )
        guard db.changesCount == 1 else { return false }
        try record(db, payment: id, from: from, to: to, reason: reason, cents: cents, at: now)
        return true
    }

    static func record(
        _ db: Database,
        payment: Int64,
        from: PaymentState,
        to: PaymentState,
        reason: String,
        cents: Int64,
        at now: Date
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO payment_transition (payment_id, from_state, to_state, reason, amount_cents, at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [payment, from.protoValue, to.protoValue, reason, cents, now.micros]
        )
    }

    static func history(_ db: Database, _ payment: Int64) throws -> [PaymentTransition] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM payment_transition WHERE payment_id = ? ORDER BY id",
            arguments: [payment]
        ).map { row in
            PaymentTransition(
                fromState: PaymentState(protoValue: row["from_state"]),
                toState: PaymentState(protoValue: row["to_state"]),
                reason: row["reason"],
                amount: Money(cents: row["amount_cents"]),
                at: ProtoTimestamp(micros: row["at"])
            )
        }
    }

    /// Whether payment `id` is released as soon as it is charged (its order had completed when paid).
    static func releasesOnCharge(_ db: Database, _ id: Int64) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT release_on_charge FROM payment WHERE id = ?", arguments: [id]) ?? false
    }

    /// Payments pending since before `cutoff` (the processor's answer is overdue), oldest first.
    static func overdue(_ db: Database, before cutoff: Date, limit: Int) throws -> [Payment] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM payment WHERE state = ? AND updated_at < ? ORDER BY updated_at LIMIT ?",
            arguments: [PaymentState.pending.protoValue, cutoff.micros, limit]
        ).map(payment(from:))
    }

    /// The held payment of `order`, if any.
    static func held(_ db: Database, order: Int64) throws -> Payment? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM payment WHERE order_id = ? AND state = ?",
            arguments: [order, PaymentState.held.protoValue]
        ).map(payment(from:))
    }

    static func setProvider(_ db: Database, _ payment: Int64, _ provider: Int64) throws {
        try db.execute(
            sql: "UPDATE payment SET provider_id = ? WHERE id = ? AND provider_id = 0",
            arguments: [provider, payment]
        )
    }

    // MARK: Refunds

    /// Cents of `payment` already refunded or being refunded.
    static func refundedOrPending(_ db: Database, payment: Int64) throws -> Int64 {
        try Int64.fetchOne(
            db,
            sql: "SELECT COALESCE(SUM(amount_cents), 0) FROM refund WHERE payment_id = ?",
            arguments: [payment]
        ) ?? 0
    }

    struct PendingRefund: Sendable {
        var id: Int64
        var payment: Int64
        var cents: Int64
        var reason: String
        var completed = false
    }

    /// The refund of `payment` asked with `key`, if any.
    static func refund(_ db: Database, payment: Int64, key: String) throws -> PendingRefund? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM refund WHERE payment_id = ? AND idempotency_key = ?",
            arguments: [payment, key]
        ).map {
            PendingRefund(
                id: $0["id"],
                payment: $0["payment_id"],
                cents: $0["amount_cents"],
                reason: $0["reason"],
                completed: ($0["state"] as String) == "completed"
            )
        }
    }

    static func insertRefund(
        _ db: Database,
        payment: Int64,
        cents: Int64,
        reason: String,
        by requester: Int64,
        key: String = "",
        at now: Date
    ) throws -> PendingRefund {
        try db.execute(
            sql: """
                INSERT INTO refund (payment_id, amount_cents, reason, state, requested_by, idempotency_key, created_at)
                VALUES (?, ?, ?, 'pending', ?, ?, ?)
                """,
            arguments: [payment, cents, reason, requester, key, now.micros]
        )
        return PendingRefund(id: db.lastInsertedRowID, payment: payment, cents: cents, reason: reason)
    }

    /// Marks refund `id` completed if it was pending; returns whether it did.
    static func completeRefund(_ db: Database, _ id: Int64, at now: Date) throws -> Bool {
        try db.execute(
            sql: "UPDATE refund SET state = 'completed', completed_at = ? WHERE id = ? AND state = 'pending'",
            arguments: [now.micros, id]
        )
        return db.changesCount == 1
    }

    static func pendingRefunds(_ db: Database, limit: Int) throws -> [PendingRefund] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM refund WHERE state = 'pending' ORDER BY id LIMIT ?",
            arguments: [limit]
        ).map {
            PendingRefund(id: $0["id"], payment: $0["payment_id"], cents: $0["amount_cents"], reason: $0["reason"])
        }
    }

    // MARK: Cancelled and completed orders

    static func markCancelled(_ db: Database, order: Int64, at now: Date) throws {
        try db.execute(
            sql: "INSERT INTO cancelled_order (order_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            arguments: [order, now.micros]
        )
    }

    static func isCancelled(_ db: Database, order: Int64) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM cancelled_order WHERE order_id = ?", arguments: [order]) ?? false
    }

    static func markCompleted(_ db: Database, order: Int64, provider: Int64, at now: Date) throws {
        try db.execute(
            sql: "INSERT INTO completed_order (order_id, provider_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [order, provider, now.micros]
        )
    }

    /// The provider of `order` if it is known to have completed.
    static func completedProvider(_ db: Database, order: Int64) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT provider_id FROM completed_order WHERE order_id = ?", arguments: [order])
    }

    // MARK: Lists

    /// One page of payments (newest first) that pass `filter`.
    static func page(
        _ db: Database,
        size: Int32,
        token: String,
        filter: (inout KeysetPage) -> Void
    ) throws -> (payments: [Payment], next: String) {
        var page = KeysetPage(select: "SELECT * FROM payment", keys: [.descending("id")])
        filter(&page)
        let (rows, next) = try page.fetch(db, size: try PageToken.size(size), token: token)
        return (rows.map(payment(from:)), next)
    }

    /// What is held in escrow for `provider`'s orders.
    static func heldFor(_ db: Database, provider: Int64) throws -> Int64 {
        try Int64.fetchOne(
            db,
            sql: "SELECT COALESCE(SUM(amount_cents), 0) FROM payment WHERE provider_id = ? AND state = ?",
            arguments: [provider, PaymentState.held.protoValue]
        ) ?? 0
    }
}
