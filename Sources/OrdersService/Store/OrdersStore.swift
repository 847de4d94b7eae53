import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// The orders service's tables (orders.sqlite): orders with the indexes every list pages on
/// (keyset pagination), the transition history, the outbox and handled events.
enum OrdersSchema {
    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("orders.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE orders (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_id INTEGER NOT NULL,
                        provider_id INTEGER,
                        title TEXT NOT NULL,
                        description TEXT NOT NULL,
                        service_type INTEGER NOT NULL,
                        status INTEGER NOT NULL,
                        price_cents INTEGER NOT NULL,
                        location INTEGER NOT NULL,
                        address TEXT NOT NULL,
                        start_at INTEGER,
                        end_at INTEGER,
                        payment_status INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        status_reason TEXT NOT NULL DEFAULT '');
                    CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, id DESC);
                    CREATE INDEX orders_by_provider ON orders (provider_id, updated_at DESC, id DESC);
                    CREATE INDEX orders_by_status ON orders (status, created_at DESC, id DESC);
                    CREATE INDEX orders_by_created ON orders (created_at DESC, id DESC);
                    CREATE TABLE order_transition (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        order_id INTEGER NOT NULL REFERENCES orders (id),
                        from_status INTEGER NOT NULL,
                        to_status INTEGER NOT NULL,
                        actor_id INTEGER NOT NULL,
                        actor_role INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        at INTEGER NOT NULL);
                    CREATE INDEX transition_by_order ON order_transition (order_id, id);
                    """
            )
        }
    }

    static func order(from row: Row) -> Order {
        Order(
            id: row["id"],
            customerId: row["customer_id"],
            providerId: row["provider_id"],
            title: row["title"],
            description: row["description"],
            serviceType: ServiceType(protoValue: row["service_type"]),
            status: OrderStatus(protoValue: row["status"]),
            price: Money(cents: row["price_cents"]),
            location: Location(protoValue: row["location"]),
            address: row["address"],
            serviceStartTime: (row["start_at"] as Int64?).map { ProtoTimestamp(micros: $0) },
            serviceEndTime: (row["end_at"] as Int64?).map { ProtoTimestamp(micros: $0) },
            paymentStatus: PaymentStatus(protoValue: row["payment_status"]),
            createdAt: ProtoTimestamp(micros: row["created_at"]),
            updatedAt: ProtoTimestamp(micros: row["updated_at"]),
            statusReason: row["status_reason"]
        )
    }

    static func fetch(_ db: Database, _ id: Int64) throws -> Order? {
        try Row.fetchOne(db, sql: "SELECT * FROM orders WHERE id = ?", arguments: [id]).map(order(from:))
    }

    /// Adds a new order (pending review, unpaid); returns its id.
    static func insert(_ db: Database, customer: Int64, _ fields: OrderRules.Fields, now: Date) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO orders (customer_id, title, description, service_type, status, price_cents, location, address,
                    start_at, end_at, payment_status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                customer, fields.title, fields.description, fields.serviceType.protoValue,
                OrderStatus.pendingReview.protoValue,
                fields.priceCents, fields.location.protoValue, fields.address, fields.start, fields.end,
                PaymentStatus.unpaid.protoValue, now.micros, now.micros,
            ]
        )
        return db.lastInsertedRowID
    }

    /// Moves order `id` from `from` to `to` if its status is still `from` (so concurrent
    /// actions cannot both win); returns whether it did.
    static func update(
        _ db: Database,
        _ id: Int64,
        from: OrderStatus,
        to: OrderStatus,
        provider: Int64?,
        reason: String,
        at now: Date
    ) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE orders SET status = ?, provider_id = ?, status_reason = ?, updated_at = ?
                WHERE id = ? AND status = ?
                """,
            arguments: [to.protoValue, provider, reason, now.micros, id, from.protoValue]
        )
        return db.changesCount == 1
    }

    /// Saves an admin's edits of order `order.id` (its fields, not its status) if its status is
    /// still `status`; returns whether it did.
    static func edit(_ db: Database, _ order: Order, ifStatus status: OrderStatus, at now: Date) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE orders SET title = ?, description = ?, service_type = ?, price_cents = ?, location = ?, address = ?,
                    start_at = ?, end_at = ?, updated_at = ? WHERE id = ? AND status = ?
                """,
            arguments: [
                order.title, order.description, order.serviceType.protoValue, order.price?.cents ?? 0,
                order.location.protoValue,
                order.address, order.serviceStartTime?.micros, order.serviceEndTime?.micros, now.micros, order.id,
                status.protoValue,
            ]
        )
        return db.changesCount == 1
    }

    /// The payment statuses an order may move to `status` from: forward only (unpaid → paid →
    /// partially refunded → refunded, refunded final), so a late, repeated or reordered event
    /// never undoes a later one (a refund seen before its payment leaves the order refunded).
    static func paymentStatuses(before status: PaymentStatus) -> [PaymentStatus] {
        switch status {
        case .paid: return [.unpaid]
        case .partiallyRefunded: return [.unpaid, .paid, .partiallyRefunded]
        case .refunded: return [.unpaid, .paid, .partiallyRefunded]
        default: return []
        }
    }

    /// Records what the payments service says of an order (forward only); returns whether it changed.
    @discardableResult
    static func setPaymentStatus(_ db: Database, _ id: Int64, _ status: PaymentStatus, at now: Date) throws -> Bool {
        let from = paymentStatuses(before: status).map(\.protoValue)
        guard !from.isEmpty else { return false }
        let placeholders = Array(repeating: "?", count: from.count).joined(separator: ", ")
        try db.execute(
            sql:
                "UPDATE orders SET payment_status = ?, updated_at = ? WHERE id = ? AND payment_status IN (\(placeholders))",
            arguments: StatementArguments([status.protoValue, now.micros, id] as [any DatabaseValueConvertible])
                + StatementArguments(from)
        )
        return db.changesCount == 1
    }

    static func record(
        _ db: Database,
        order: Int64,
        from: OrderStatus,
        to: OrderStatus,
        actor: OrderStateMachine.Actor,
        reason: String,
        at: Date
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO order_transition (order_id, from_status, to_status, actor_id, actor_role, reason, at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [order, from.protoValue, to.protoValue, actor.id, actor.role.protoValue, reason, at.micros]
        )
    }

    static func history(_ db: Database, _ id: Int64) throws -> [OrderTransition] {
        try Row.fetchAll(db, sql: "SELECT * FROM order_transition WHERE order_id = ? ORDER BY id", arguments: [id]).map
        { row in
            OrderTransition(
                orderId: row["order_id"],
                fromStatus: OrderStatus(protoValue: row["from_status"]),
                toStatus: OrderStatus(protoValue: row["to_status"]),
                actorId: row["actor_id"],
                actorRole: Role(protoValue: row["actor_role"]),
                reason: row["reason"],
                at: ProtoTimestamp(micros: row["at"])
            )
        }
    }
}

/// A keyset page over `orders` (``KeysetPage``): newest first by a time column, then id.
struct OrderPage: Sendable {
    var page: KeysetPage

    /// - Parameter timeColumn: the column the list is ordered by (with `id`), newest first.
    init(timeColumn: String = "created_at") {
        page = KeysetPage(select: "SELECT * FROM orders", keys: [.descending(timeColumn), .descending("id")])
    }

    mutating func filter(_ condition: String, _ values: any DatabaseValueConvertible...) {
        page.filter(condition, arguments: values)
    }

    /// Fetches one page; returns it and the next page's token.
    func fetch(_ db: Database, size: Int, token: String) throws -> ([Order], String) {
        let (rows, next) = try page.fetch(db, size: size, token: token)
        return (rows.map(OrdersSchema.order(from:)), next)
    }

    /// The page's SQL (one more row than the page, to know whether another follows).
    func query(size: Int, token: String) throws -> (String, StatementArguments) {
        try page.query(size: size, token: token)
    }
}

/// Every list the service pages through, each served by an index whose order is the list's
/// (`OrdersStoreTests` checks the query plans).
extension OrderPage {
    /// A customer's orders not yet finished (pending_review, pending, accepted, in_progress).
    static func customerActive(_ customer: Int64) -> OrderPage {
        var page = OrderPage()
        page.filter("customer_id = ?", customer)
        page.filter("status IN (1, 2, 3, 4)")
        return page
    }

    static func customerHistory(_ customer: Int64) -> OrderPage {
        var page = OrderPage()
        page.filter("customer_id = ?", customer)
        return page
    }

    /// Approved orders nobody accepted yet, with the request's filters.
    static func available(_ request: ListAvailableOrdersRequest) throws -> OrderPage {
        var page = OrderPage()
        page.filter("status = ?", OrderStatus.pending.protoValue)
        // The schema's rules checked the values (known enums, prices not negative, keyword length).
        if request.location != .unspecified { page.filter("location = ?", request.location.protoValue) }
        if request.serviceType != .unspecified { page.filter("service_type = ?", request.serviceType.protoValue) }
        if let min = request.minPrice { page.filter("price_cents >= ?", min.cents) }
        if let max = request.maxPrice { page.filter("price_cents <= ?", max.cents) }
        let keyword = OrderRules.trimmed(request.keyword)
        if !keyword.isEmpty {
            let pattern =
                "%"
                + keyword.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            page.filter("(title LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\')", pattern, pattern)
        }
        return page
    }

    /// A provider's orders still to do (accepted, in_progress).
    static func providerActive(_ provider: Int64) -> OrderPage {
        var page = OrderPage(timeColumn: "updated_at")
        page.filter("provider_id = ?", provider)
        page.filter("status IN (3, 4)")
        return page
    }

    static func providerHistory(_ provider: Int64) -> OrderPage {
        var page = OrderPage(timeColumn: "updated_at")
        page.filter("provider_id = ?", provider)
        return page
    }

    static func admin(_ status: OrderStatus) throws -> OrderPage {
        var page = OrderPage()
        // A known status (the schema's rule on AdminListOrdersRequest.status).
        if status != .unspecified { page.filter("status = ?", status.protoValue) }
        return page
    }

    static var pendingReview: OrderPage {
        var page = OrderPage()
        page.filter("status = ?", OrderStatus.pendingReview.protoValue)
        return page
    }
}
