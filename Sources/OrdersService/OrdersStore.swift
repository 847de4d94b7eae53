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
                    """)
        }
        Outbox.register(in: &migrator)
        IdempotentConsumer.register(in: &migrator)
    }

    static func order(from row: Row) -> Order {
        Order(
            id: row["id"], customerId: row["customer_id"], providerId: row["provider_id"], title: row["title"],
            description: row["description"], serviceType: ServiceType(protoValue: row["service_type"]),
            status: OrderStatus(protoValue: row["status"]), price: Money(cents: row["price_cents"]),
            location: Location(protoValue: row["location"]), address: row["address"],
            serviceStartTime: (row["start_at"] as Int64?).map { ProtoTimestamp(micros: $0) },
            serviceEndTime: (row["end_at"] as Int64?).map { ProtoTimestamp(micros: $0) },
            paymentStatus: PaymentStatus(protoValue: row["payment_status"]), createdAt: ProtoTimestamp(micros: row["created_at"]),
            updatedAt: ProtoTimestamp(micros: row["updated_at"]), statusReason: row["status_reason"])
    }

    static func fetch(_ db: Database, _ id: Int64) throws -> Order? {
        try Row.fetchOne(db, sql: "SELECT * FROM orders WHERE id = ?", arguments: [id]).map(order(from:))
    }

    static func record(
        _ db: Database, order: Int64, from: OrderStatus, to: OrderStatus, actor: OrderStateMachine.Actor, reason: String, at: Date
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO order_transition (order_id, from_status, to_status, actor_id, actor_role, reason, at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [order, from.protoValue, to.protoValue, actor.id, actor.role.protoValue, reason, at.micros])
    }

    static func history(_ db: Database, _ id: Int64) throws -> [OrderTransition] {
        try Row.fetchAll(db, sql: "SELECT * FROM order_transition WHERE order_id = ? ORDER BY id", arguments: [id]).map { row in
            OrderTransition(
                orderId: row["order_id"], fromStatus: OrderStatus(protoValue: row["from_status"]),
                toStatus: OrderStatus(protoValue: row["to_status"]), actorId: row["actor_id"],
                actorRole: Role(protoValue: row["actor_role"]), reason: row["reason"], at: ProtoTimestamp(micros: row["at"]))
        }
    }
}

/// A keyset page over `orders`: rows after the token's (time, id) in descending order.
struct OrderPage: Sendable {
    var conditions: [String] = []
    var arguments: [DatabaseValue] = []
    /// The column the list is ordered by (with `id`), newest first.
    var timeColumn = "created_at"

    mutating func filter(_ condition: String, _ values: any DatabaseValueConvertible...) {
        conditions.append(condition)
        arguments += values.map(\.databaseValue)
    }

    /// Fetches one page; returns it and the next page's token.
    func fetch(_ db: Database, size: Int, token: String) throws -> ([Order], String) {
        let (sql, arguments) = try query(size: size, token: token)
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        let page = rows.prefix(size)
        var next = ""
        if rows.count > size, let last = page.last {
            next = PageToken.encode([String(last[timeColumn] as Int64), String(last["id"] as Int64)])
        }
        return (page.map(OrdersSchema.order(from:)), next)
    }

    /// The page's SQL (one more row than the page, to know whether another follows).
    func query(size: Int, token: String) throws -> (String, StatementArguments) {
        var conditions = self.conditions
        var arguments = self.arguments
        if let fields = try PageToken.decode(token, expecting: 2) {
            guard let time = Int64(fields[0]), let id = Int64(fields[1]) else {
                throw RPCError(code: .invalidArgument, message: "page_token is not a token this service issued")
            }
            conditions.append("(\(timeColumn) < ? OR (\(timeColumn) = ? AND id < ?))")
            arguments += [time, time, id].map(\.databaseValue)
        }
        arguments.append((size + 1).databaseValue)
        let sql =
            "SELECT * FROM orders" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY \(timeColumn) DESC, id DESC LIMIT ?"
        return (sql, StatementArguments(arguments))
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
        if request.location != .unspecified { page.filter("location = ?", try OrderRules.location(request.location).protoValue) }
        if request.serviceType != .unspecified { page.filter("service_type = ?", try OrderRules.serviceType(request.serviceType).protoValue) }
        if let min = request.minPrice {
            guard min.cents >= 0 else { throw RPCError(code: .invalidArgument, message: "min_price must not be negative") }
            page.filter("price_cents >= ?", min.cents)
        }
        if let max = request.maxPrice {
            guard max.cents >= 0 else { throw RPCError(code: .invalidArgument, message: "max_price must not be negative") }
            page.filter("price_cents <= ?", max.cents)
        }
        let keyword = request.keyword.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLimit.fits(keyword, characters: 0...100) else {
            throw RPCError(code: .invalidArgument, message: "keyword must be at most 100 characters and \(TextLimit.bytes(100)) bytes")
        }
        if !keyword.isEmpty {
            let pattern = "%" + keyword.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
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
        if status != .unspecified {
            guard OrderStatus.allCases.contains(status) else { throw RPCError(code: .invalidArgument, message: "status is not an order status") }
            page.filter("status = ?", status.protoValue)
        }
        return page
    }

    static var pendingReview: OrderPage {
        var page = OrderPage()
        page.filter("status = ?", OrderStatus.pendingReview.protoValue)
        return page
    }
}
