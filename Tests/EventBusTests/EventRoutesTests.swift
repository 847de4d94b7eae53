import EventBus
import Foundation
import GRDB
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Typed event routes: the handler by event type, on the one consume loop")
struct EventRoutesTests {
    /// What the routes saw, in order.
    final class Seen: @unchecked Sendable {
        var items: [String] = []
    }

    static func wire<E: EventMessage>(_ event: E, id: String = "e") -> Event {
        Event(
            id: id,
            exchange: E.eventExchange,
            routingKey: E.eventRoutingKey,
            type: E.protoMessageName,
            payload: event.serializedBytes()
        )
    }

    @Test("each type goes to its route, decoded; another type runs nothing; a payload that does not decode throws")
    func routing() throws {
        var routes = EventRoutes<Seen>()
        routes.on(OrderCreated.self) { created, seen in seen.items.append("order \(created.orderId) \(created.title)") }
        routes.on(UserRegistered.self) { registered, seen in seen.items.append("user \(registered.userId)") }
        let seen = Seen()
        #expect(try routes.handle(Self.wire(OrderCreated(orderId: 7, title: "sink")), seen))
        #expect(try routes.handle(Self.wire(UserRegistered(userId: 3)), seen))
        #expect(
            try !routes.handle(
                Event(id: "x", exchange: "order_events", routingKey: "order.created", type: "test.v1.Other"),
                seen
            )
        )
        #expect(seen.items == ["order 7 sink", "user 3"])
        let garbage = Event(
            id: "g",
            exchange: "order_events",
            routingKey: "order.created",
            type: OrderCreated.protoMessageName,
            payload: [0xFF, 0xFF]
        )
        #expect(throws: (any Error).self) { try routes.handle(garbage, seen) }
        #expect(routes.routes.map(\.type) == ["test.v1.OrderCreated", "test.v1.UserRegistered"])
    }

    @Test("the bindings a queue needs: routes its bindings do not deliver are named")
    func coverage() {
        var routes = EventRoutes<Seen>()
        routes.on(OrderCreated.self) { _, _ in }
        routes.on(UserRegistered.self) { _, _ in }
        #expect(routes.unbound(by: routes.bindings).isEmpty)
        #expect(
            routes.unbound(by: [
                .init(exchange: "order_events", pattern: "order.*"), .init(exchange: "auth_events", pattern: "user.#"),
            ]).isEmpty
        )
        let missing = routes.unbound(by: [
            .init(exchange: "order_events", pattern: "order.#"), .init(exchange: "user_events", pattern: "user.#"),
        ])
        #expect(
            missing.map(\.type) == ["test.v1.UserRegistered"],
            "user.registered is published on auth_events, not user_events"
        )
    }

    @Test(
        "through EventConsumer: each event applied once in its transaction; a failing route is redelivered, then applied"
    )
    func consumer() async throws {
        let dir = try makeTemporaryDirectory("routes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try DatabasePool(path: dir.appendingPathComponent("c.sqlite").path)
        var migrator = DatabaseMigrator()
        IdempotentConsumer.register(in: &migrator)
        migrator.registerMigration("t") { db in
            try db.execute(sql: "CREATE TABLE titles (order_id INTEGER, title TEXT)")
        }
        try migrator.migrate(database)
        let failures = ManagedAtomicCounter()
        var routes = EventRoutes<Database>()
        routes.on(OrderCreated.self) { created, db in
            // The first attempt at order 2 fails after writing: its write must not stay.
            try db.execute(sql: "INSERT INTO titles VALUES (?, ?)", arguments: [created.orderId, created.title])
            if created.orderId == 2, failures.increment() == 1 { throw CancellationError() }
        }
        let finalRoutes = routes
        try await withBus(in: dir.appendingPathComponent("bus")) { bus in
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "routes.test"))
            _ = try await bus.bind(BindRequest(queue: "routes.test", exchange: "order_events", pattern: "order.*"))
            let consumer = EventConsumer(database: database, bus: bus, queue: "routes.test", routes: finalRoutes)
            let consuming = Task { try await consumer.run() }
            defer { consuming.cancel() }
            let orders = try busClient(
                bus.client.endpoints[0],
                dataDirectory: dir.appendingPathComponent("bus").path,
                as: "orders"
            )
            defer { Task { await orders.client.close() } }
            _ = try await orders.publish(
                PublishRequest(events: [
                    Self.wire(OrderCreated(orderId: 1, title: "a"), id: "o1"),
                    Self.wire(OrderCreated(orderId: 1, title: "a"), id: "o1"),
                    Self.wire(OrderCreated(orderId: 2, title: "b"), id: "o2"),
                ])
            )
            #expect(
                try await eventually {
                    let queue = try await bus.inspect(InspectRequest()).queues.first { $0.name == "routes.test" }
                    return queue?.depth == 0 && queue?.unacked == 0
                }
            )
            let rows = try database.read { db in
                try Row.fetchAll(db, sql: "SELECT order_id, title FROM titles ORDER BY order_id")
            }
            #expect(rows.map { "\($0["order_id"] as Int64) \($0["title"] as String)" } == ["1 a", "2 b"])
            #expect(failures.value == 2)
        }
    }
}

/// A counter closures can share.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// Adds one; returns the new count.
    func increment() -> Int {
        lock.withLock {
            count += 1; return count
        }
    }
    var value: Int { lock.withLock { count } }
}
