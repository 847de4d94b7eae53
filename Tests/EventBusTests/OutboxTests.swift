import EventBus
import Foundation
import GRDB
import NIOConcurrencyHelpers
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Outbox relay and idempotent consumers", .serialized)
struct OutboxTests {
    /// A producer's database: a domain table plus the outbox.
    func producerDatabase(_ dir: URL) throws -> DatabasePool {
        let pool = try DatabasePool(path: dir.appendingPathComponent("producer.sqlite").path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("domain") { db in try db.execute(sql: "CREATE TABLE item (id TEXT PRIMARY KEY)") }
        Outbox.register(in: &migrator)
        try migrator.migrate(pool)
        return pool
    }

    func consumerDatabase(_ dir: URL) throws -> DatabasePool {
        let pool = try DatabasePool(path: dir.appendingPathComponent("consumer.sqlite").path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("domain") { db in
            try db.execute(sql: "CREATE TABLE applied (event_id TEXT NOT NULL)")
        }
        IdempotentConsumer.register(in: &migrator)
        try migrator.migrate(pool)
        return pool
    }

    @Test(
        "domain rows and their events commit together; the relay publishes them in order, retrying until the bus is up"
    )
    func relay() async throws {
        let dir = try makeTemporaryDirectory("outbox")
        defer { try? FileManager.default.removeItem(at: dir) }
        let producer = try producerDatabase(dir)
        // A port for the bus, which starts only later: below the ephemeral range, so no other
        // test's listener can take it meanwhile.
        let port = fixedPort()
        let busDirectory = dir.appendingPathComponent("bus").path
        let bus = try busClient(Endpoint(host: "127.0.0.1", port: port), dataDirectory: busDirectory, as: "orders")
        for i in 0..<50 {
            try await producer.write { db in
                try db.execute(sql: "INSERT INTO item (id) VALUES (?)", arguments: ["\(i)"])
                try Outbox.enqueue(
                    db,
                    exchange: "order_events",
                    routingKey: "order.created",
                    event: ProtoEmpty(),
                    id: "event-\(i)"
                )
            }
        }
        let relay = OutboxRelay(database: producer, bus: bus)
        // The bus is down: nothing is lost, nothing is published.
        await #expect(throws: RPCError.self) { _ = try await relay.publishBatch() }
        #expect(try await producer.read { try Outbox.pendingCount($0) } == 50)
        let server = try await EventBusServer.make(
            dataDirectory: busDirectory,
            configuration: ServerConfiguration(port: port)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            _ = try await server.server.localPort
            // The relay's client backs off after its failure; the test talks through its own.
            let admin = try busClient(Endpoint(host: "127.0.0.1", port: port), dataDirectory: busDirectory)
            _ = try await admin.declareQueue(DeclareQueueRequest(name: "q"))
            _ = try await admin.bind(BindRequest(queue: "q", exchange: "order_events", pattern: "order.*"))
            group.addTask { try await relay.run() }
            var ids: [String] = []
            try await admin.subscribe { writer, deliveries in
                try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: "q", prefetch: 100))))
                for try await delivery in deliveries {
                    ids.append(delivery.event?.id ?? "")
                    try await writer.write(SubscribeRequest(kind: .ack(.init(deliveryTags: [delivery.deliveryTag]))))
                    if ids.count == 50 { break }
                }
                writer.finish()
            }
            #expect(ids == (0..<50).map { "event-\($0)" })
            // The relay deletes its rows right after the confirm (the events may arrive first).
            var pending = -1
            for _ in 0..<500 where pending != 0 {
                pending = try await producer.read { try Outbox.pendingCount($0) }
                if pending != 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(pending == 0)
            await admin.client.close()
            group.cancelAll()
        }
        await bus.client.close()
    }

    @Test("a row the bus refuses for good (unknown exchange) is parked; the rows behind it are published")
    func parking() async throws {
        let dir = try makeTemporaryDirectory("outbox-park")
        defer { try? FileManager.default.removeItem(at: dir) }
        let producer = try producerDatabase(dir)
        try await withBus(in: dir.appendingPathComponent("bus")) { client in
            try await producer.write { db in
                try Outbox.enqueue(
                    db,
                    exchange: "order_events",
                    routingKey: "order.a",
                    event: Event(id: "first"),
                    id: "a"
                )
                try Outbox.enqueue(db, exchange: "no_such_exchange", routingKey: "x", event: Event(id: "bad"), id: "b")
                try Outbox.enqueue(
                    db,
                    exchange: "order_events",
                    routingKey: "order.c",
                    event: Event(id: "third"),
                    id: "c"
                )
            }
            let relay = OutboxRelay(database: producer, bus: client)
            #expect(try await relay.publishBatch() == 3)
            let (pending, parked) = try await producer.read { db in
                (try Outbox.pendingCount(db), try String.fetchAll(db, sql: "SELECT event_id FROM outbox_parked"))
            }
            #expect(pending == 0)
            #expect(parked == ["b"])
        }
    }

    @Test("an event too large for the bus's frames is parked, not retried forever; the rows around it are published")
    func parkingTooLarge() async throws {
        let dir = try makeTemporaryDirectory("outbox-park-large")
        defer { try? FileManager.default.removeItem(at: dir) }
        let producer = try producerDatabase(dir)
        try await withBus(in: dir.appendingPathComponent("bus")) { client in
            // The bus takes frames of 4 MiB at most; this event's payload alone is 5 MiB.
            let large = Event(id: "large", payload: [UInt8](repeating: 7, count: 5 << 20))
            try await producer.write { db in
                try Outbox.enqueue(
                    db,
                    exchange: "order_events",
                    routingKey: "order.a",
                    event: Event(id: "first"),
                    id: "a"
                )
                try Outbox.enqueue(db, exchange: "order_events", routingKey: "order.b", event: large, id: "b")
                try Outbox.enqueue(
                    db,
                    exchange: "order_events",
                    routingKey: "order.c",
                    event: Event(id: "third"),
                    id: "c"
                )
            }
            let relay = OutboxRelay(database: producer, bus: client)
            #expect(try await relay.publishBatch() == 3)
            let (pending, parked) = try await producer.read { db in
                (
                    try Outbox.pendingCount(db),
                    try Row.fetchAll(db, sql: "SELECT event_id, error FROM outbox_parked").map {
                        ($0["event_id"] as String, $0["error"] as String)
                    }
                )
            }
            #expect(pending == 0)
            #expect(parked.map(\.0) == ["b"])
            #expect(parked.first?.1.contains("RESOURCE_EXHAUSTED") == true)
            // The bus connection was never torn down: the client still publishes on it.
            _ = try await client.publish(
                PublishRequest(events: [Event(id: "later", exchange: "order_events", routingKey: "order.d")])
            )
        }
    }

    @Test("a redelivered event is acked without being applied twice")
    func idempotent() async throws {
        let dir = try makeTemporaryDirectory("idempotent")
        defer { try? FileManager.default.removeItem(at: dir) }
        let consumer = try consumerDatabase(dir)
        for _ in 0..<3 {
            try await IdempotentConsumer.handle(consumer, eventID: "e1") { db in
                try db.execute(sql: "INSERT INTO applied (event_id) VALUES ('e1')")
            }
        }
        #expect(try await consumer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM applied") } == 1)
        // A failing effect records nothing: the event stays unhandled.
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await IdempotentConsumer.handle(consumer, eventID: "e2") { db in
                try db.execute(sql: "INSERT INTO applied (event_id) VALUES ('e2')")
                throw Boom()
            }
        }
        #expect(try await IdempotentConsumer.handle(consumer, eventID: "e2") { _ in } == true)
    }

    @Test("EventConsumer applies each event once and acks it")
    func consumerService() async throws {
        let dir = try makeTemporaryDirectory("consumer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try consumerDatabase(dir)
        try await withBus(in: dir.appendingPathComponent("bus")) { bus in
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "users.registrations"))
            _ = try await bus.bind(
                BindRequest(queue: "users.registrations", exchange: "auth_events", pattern: "user.#")
            )
            let consumer = EventConsumer(database: database, bus: bus, queue: "users.registrations") { event, db in
                try db.execute(sql: "INSERT INTO applied (event_id) VALUES (?)", arguments: [event.id])
            }
            let consuming = Task { try await consumer.run() }
            defer { consuming.cancel() }
            // The same id twice (a producer retry after a lost confirm), and another event, from
            // the owner of auth_events.
            let auth = try busClient(
                bus.client.endpoints[0],
                dataDirectory: dir.appendingPathComponent("bus").path,
                as: "auth"
            )
            defer { Task { await auth.client.close() } }
            _ = try await auth.publish(
                PublishRequest(events: [
                    Event(id: "u1", exchange: "auth_events", routingKey: "user.registered"),
                    Event(id: "u1", exchange: "auth_events", routingKey: "user.registered"),
                    Event(id: "u2", exchange: "auth_events", routingKey: "user.registered"),
                ])
            )
            var settled = false
            for _ in 0..<500 where !settled {
                let queue = try await bus.inspect(InspectRequest()).queues.first { $0.name == "users.registrations" }
                settled = queue?.depth == 0 && queue?.unacked == 0
                if !settled { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(settled)
            let applied = try await database.read {
                try String.fetchAll($0, sql: "SELECT event_id FROM applied ORDER BY event_id")
            }
            #expect(applied == ["u1", "u2"])
        }
    }
}
