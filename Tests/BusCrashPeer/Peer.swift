// A producer or a consumer process for the event bus crash test (Tests/EventBusTests/CrashTests).
//
//   bus-crash-peer produce DB HOST:PORT COUNT KEY   write COUNT domain rows, each with its event in
//                                                   the outbox, relay them (as the orders service),
//                                                   exit once all are confirmed
//   bus-crash-peer consume DB HOST:PORT QUEUE KEY   apply events from QUEUE idempotently, forever
//
// KEY is the bus's service key file (its data directory's keys/service-ed25519.key).
import EventBus
import Foundation
import GRDB
import NIOCore
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

@main
struct Peer {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.count == 5, let endpoint = Endpoint(arguments[2]) else {
            FileHandle.standardError.write(
                Data("usage: bus-crash-peer produce|consume DB HOST:PORT COUNT|QUEUE KEY\n".utf8)
            )
            exit(64)
        }
        let key = try KeyFile.load(path: arguments[4])
        // The producer publishes order events as their owner; the consumer's queue is its own.
        let identity = ServiceIdentity(name: arguments[0] == "produce" ? "orders" : "operator", key: key)
        // Wait on a busy database rather than fail: after a SIGKILL, the first connection to open
        // the file (the test's reader, or this process) rebuilds the WAL index and holds a lock.
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let bus = Broker.Client(
            RPCClient(
                endpoints: [endpoint],
                configuration: ClientConfiguration(maximumBackoff: .milliseconds(200)),
                interceptors: [identity.interceptor]
            )
        )

        switch arguments[0] {
        case "produce":
            guard let count = Int(arguments[3]) else { exit(64) }
            let db = try DatabasePool(path: arguments[1], configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("domain") { db in
                try db.execute(sql: "CREATE TABLE item (id INTEGER PRIMARY KEY)")
            }
            Outbox.register(in: &migrator)
            try migrator.migrate(db)
            let relay = OutboxRelay(database: db, bus: bus, idleInterval: .milliseconds(5))
            let relaying = Task { try await relay.run() }
            var next = try await db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM item") ?? 0 }
            while next < count {
                let batch = next..<min(count, next + 50)
                try await db.write { db in
                    for i in batch {
                        try db.execute(sql: "INSERT INTO item (id) VALUES (?)", arguments: [i])
                        try Outbox.enqueue(
                            db,
                            exchange: "order_events",
                            routingKey: "order.created",
                            event: ProtoEmpty(),
                            id: "event-\(i)"
                        )
                    }
                }
                next = batch.upperBound
            }
            while try await db.read({ try Outbox.pendingCount($0) }) > 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            relaying.cancel()
            print("produced \(count)")
        case "consume":
            let queue = arguments[3]
            let db = try DatabasePool(path: arguments[1], configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("domain") { db in
                try db.execute(sql: "CREATE TABLE applied (event_id TEXT NOT NULL)")
            }
            IdempotentConsumer.register(in: &migrator)
            try migrator.migrate(db)
            while true {
                do {
                    _ = try await bus.declareQueue(DeclareQueueRequest(name: queue, maxDeliveries: 100))
                    _ = try await bus.bind(BindRequest(queue: queue, exchange: "order_events", pattern: "order.*"))
                    break
                } catch {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let consumer = EventConsumer(database: db, bus: bus, queue: queue, prefetch: 256) { event, db in
                try db.execute(sql: "INSERT INTO applied (event_id) VALUES (?)", arguments: [event.id])
            }
            try await consumer.run()
        default:
            exit(64)
        }
    }
}
