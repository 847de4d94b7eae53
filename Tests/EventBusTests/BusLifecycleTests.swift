import EventBus
import Foundation
import MarketplaceServices
import Logging
import NIOCore
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit
import ServiceLifecycle
import TestSupport
import Testing

@Suite("The bus process: topology at start, graceful shutdown, hostile input on its port")
struct BusLifecycleTests {
    let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func event(_ id: String, key: String = "order.created") -> Event {
        Event(id: id, exchange: "order_events", routingKey: key, payload: Array(id.utf8))
    }

    @Test("the embedded topology declares the six exchanges and every consumer's queue with its bindings")
    func standardTopology() async throws {
        let dir = try makeTemporaryDirectory("bus-topology")
        defer { try? FileManager.default.removeItem(at: dir) }
        let core = try await BrokerCore(store: try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path))
        try await BusTopology.standard.declare(on: core)
        try await BusTopology.standard.declare(on: core)  // idempotent
        let (exchanges, queues) = await core.inspect()
        #expect(
            Set(exchanges.keys) == [
                "auth_events", "user_events", "order_events", "payment_events", "review_events", "notification_events",
            ]
        )
        let users = try #require(queues.first { $0.name == "users.events" })
        #expect(users.bindings.contains("auth_events: user.*"))
        #expect(queues.contains { $0.name == "users.events.dead" })
        // An order event reaches notifications, not users.
        _ = try await core.publish([
            BrokerStore.StoredEvent(
                id: "1",
                exchange: "order_events",
                routingKey: "order.created",
                type: "t",
                payload: [],
                publishedAtMicros: 0
            )
        ])
        let after = await core.inspect().queues
        #expect(after.first { $0.name == "notifications.events" }?.depth == 1)
        #expect(after.first { $0.name == "users.events" }?.depth == 0)
    }

    @Test("a topology file is read, checked and declared; bad files are refused with a clear message")
    func topologyFile() async throws {
        let dir = try makeTemporaryDirectory("bus-topology-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ text: String) throws -> String {
            let path = dir.appendingPathComponent("topology-\(UUID().uuidString).json").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let good = try write(
            """
            {"exchanges": ["order_events"],
             "queues": [{"name": "audit", "maxDeliveries": 2, "bindings": [{"exchange": "order_events", "pattern": "#"}]}]}
            """
        )
        let topology = try BusTopology.load(path: good)
        #expect(topology.queues.first?.maxDeliveries == 2)
        let bus = try await EventBusServer.make(
            dataDirectory: dir.path,
            configuration: ServerConfiguration(),
            topology: topology,
            logger: quiet
        )
        _ = bus

        func refusal(_ text: String) throws -> String {
            let path = try write(text)
            do {
                _ = try BusTopology.load(path: path)
                return "accepted"
            } catch let error as BusTopologyError {
                #expect(error.message.contains(path))
                return error.message
            }
        }
        #expect(try refusal("{").contains("not valid JSON"))
        #expect(try refusal(#"{"exchanges": []}"#).contains("missing 'queues'"))
        #expect(
            try refusal(
                ##"{"exchanges": ["x"], "queues": [{"name": "q", "bindings": [{"exchange": "y", "pattern": "#"}]}]}"##
            )
            .contains("exchange 'y', which the topology does not declare")
        )
        #expect(
            try refusal(#"{"exchanges": ["x"], "queues": [{"name": "q", "maxDeliveries": 0, "bindings": []}]}"#)
                .contains("maxDeliveries must be at least 1")
        )
        #expect(
            try refusal(#"{"exchanges": [], "queues": [{"name": "q", "bindings": []}, {"name": "q", "bindings": []}]}"#)
                .contains("declared twice")
        )
        #expect(throws: BusTopologyError.self) {
            try BusTopology.load(path: dir.appendingPathComponent("missing.json").path)
        }

        // Restarting with other settings for a stored queue is a conflict, not a silent change.
        var changed = topology
        changed.queues[0].maxDeliveries = 7
        await #expect(throws: BusTopologyError.self) {
            _ = try await EventBusServer.make(
                dataDirectory: dir.path,
                configuration: ServerConfiguration(),
                topology: changed,
                logger: quiet
            )
        }
    }

    @Test("shutdown: publishes refused, consumers may ack what they hold, unacked events stay for the restart")
    func coreShutdown() async throws {
        let dir = try makeTemporaryDirectory("bus-shutdown")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bus.sqlite").path
        do {
            let core = try await BrokerCore(store: try BrokerStore(path: path))
            try await BusTopology(
                exchanges: ["order_events"],
                queues: [.init(name: "q", bindings: [.init(exchange: "order_events", pattern: "#")])]
            )
            .declare(on: core)
            let events = ["a", "b", "c"].map {
                BrokerStore.StoredEvent(
                    id: $0,
                    exchange: "order_events",
                    routingKey: "order.x",
                    type: "t",
                    payload: [],
                    publishedAtMicros: 0
                )
            }
            _ = try await core.publish(events)
            let (id, deliveries) = try await core.subscribe(queue: "q", prefetch: 2)
            var iterator = deliveries.makeAsyncIterator()
            let a = try #require(await iterator.next())
            let b = try #require(await iterator.next())  // held, not acked
            let stopping = Task { await core.shutdown(grace: .seconds(60)) }
            while await !core.isShuttingDown { await Task.yield() }
            await #expect(throws: BrokerError.shuttingDown) { _ = try await core.publish([events[0]]) }
            // Shutdown waits for what consumers hold: a is acked, b handed back; c is not
            // delivered meanwhile. Then it ends at once, well before its grace.
            await core.ack(id, tags: [a.tag])
            try await core.nack(id, tags: [b.tag], requeue: true)
            await stopping.value
            #expect(await iterator.next() == nil, "the subscription ended")
            await #expect(throws: BrokerError.shuttingDown) { _ = try await core.subscribe(queue: "q", prefetch: 1) }
        }
        let reopened = try await BrokerCore(store: try BrokerStore(path: path))
        let (_, deliveries) = try await reopened.subscribe(queue: "q", prefetch: 10)
        var iterator = deliveries.makeAsyncIterator()
        #expect(await iterator.next()?.event.id == "b")
        #expect(await iterator.next()?.event.id == "c")
        #expect(try await BrokerStore(path: path).eventCount() == 2, "a was acked before the shutdown and is gone")
    }

    @Test("shutdown ends after its grace period even when a consumer never acks")
    func graceExpires() async throws {
        let dir = try makeTemporaryDirectory("bus-grace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let core = try await BrokerCore(store: try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path))
        try await BusTopology(
            exchanges: ["order_events"],
            queues: [.init(name: "q", bindings: [.init(exchange: "order_events", pattern: "#")])]
        )
        .declare(on: core)
        _ = try await core.publish([
            BrokerStore.StoredEvent(
                id: "a",
                exchange: "order_events",
                routingKey: "k",
                type: "t",
                payload: [],
                publishedAtMicros: 0
            )
        ])
        let (_, deliveries) = try await core.subscribe(queue: "q", prefetch: 1)
        var iterator = deliveries.makeAsyncIterator()
        _ = try #require(await iterator.next())
        await core.shutdown(grace: .milliseconds(50))
        #expect(await iterator.next() == nil)
        #expect(await core.inspect().queues.first { $0.name == "q" }?.depth == 1, "the held event is ready again")
    }
}

extension BusLifecycleTests {
    @Test(
        "graceful shutdown of the bus process: a subscriber acks what it holds, then its stream ends UNAVAILABLE; publishes are refused"
    )
    func gracefulOverRPC() async throws {
        let dir = try makeTemporaryDirectory("bus-graceful")
        defer { try? FileManager.default.removeItem(at: dir) }
        let topology = BusTopology(
            exchanges: ["order_events"],
            queues: [.init(name: "q", bindings: [.init(exchange: "order_events", pattern: "order.*")])]
        )
        let bus = try await EventBusServer.make(
            dataDirectory: dir.path,
            configuration: ServerConfiguration(shutdownGracePeriod: .seconds(30)),
            topology: topology,
            logger: quiet
        )
        let group = ServiceGroup(services: [bus], logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)
            let client = try busClient(endpoint, dataDirectory: dir.path)
            _ = try await client.publish(PublishRequest(events: [event("a"), event("b")]))
            let outcome: RPCError? = try await client.subscribe { writer, deliveries in
                try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: "q", prefetch: 1))))
                var iterator = deliveries.makeAsyncIterator()
                let a = try #require(try await iterator.next())
                #expect(a.event?.id == "a")
                await group.triggerGracefulShutdown()
                // Publishing on the open connection is refused once the broker is stopping.
                var refusal: RPCError?
                while refusal == nil {
                    do {
                        _ = try await client.publish(PublishRequest(events: [event("late", key: "nowhere.none")]))
                        try await Task.sleep(for: .milliseconds(5))
                    } catch let error as RPCError { refusal = error }
                }
                #expect(refusal?.code == .unavailable)
                // The held delivery can still be acked; b is not delivered; then the stream ends.
                try await writer.write(SubscribeRequest(kind: .ack(.init(deliveryTags: [a.deliveryTag]))))
                do {
                    while let extra = try await iterator.next() { Issue.record("delivered during shutdown: \(extra)") }
                    return nil
                } catch let error as RPCError {
                    return error
                }
            }
            #expect(outcome?.code == .unavailable)
            try await tasks.waitForAll()
            await client.client.close()
        }
        let store = try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path)
        #expect(try await store.entries(of: "q").count == 1, "a acked and gone, b kept for the restart")
    }

    @Test(
        "hostile input on the bus port: bad frames get GOAWAY, bad payloads INVALID_ARGUMENT, and the bus keeps serving"
    )
    func hostileInput() async throws {
        let dir = try makeTemporaryDirectory("bus-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bus = try await EventBusServer.make(
            dataDirectory: dir.path,
            configuration: ServerConfiguration(),
            logger: quiet
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await bus.run() }
            defer { tasks.cancelAll() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)

            let http = try await rawExchange(endpoint, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(String(decoding: http, as: UTF8.self).hasPrefix("HTTP/1.1 400"))
            let garbage = try goAway(in: try await rawExchange(endpoint, Array(repeating: 0xFF, count: 64)))
            #expect(garbage?.errorCode == ConnectionErrorCode.protocolError.rawValue)
            let oversized = try goAway(
                in: try await rawExchange(endpoint, clientHello + [0x7F, 0xFF, 0xFF, 0xFF, 3, 0, 0, 0, 0, 1])
            )
            #expect(oversized?.errorCode == ConnectionErrorCode.frameSizeError.rawValue)

            // A Publish whose payload is not a PublishRequest; a subscription that starts with an
            // ack; a publish with an invalid wire type (each with a valid credential).
            let token = try ServiceIdentity(name: "operator", key: try ServiceKeys.serviceKey(dataDirectory: dir.path))
                .token()
            func start(_ method: String) -> [UInt8] {
                CallStart(method: method, metadata: [MetadataEntry(key: "authorization", value: "Bearer \(token)")])
                    .serializedBytes()
            }
            let bytes =
                clientHello
                + frame(1, stream: 1, start("/rpc.v1.Broker/Publish")) + frame(3, 1, stream: 1, [0x0A, 0x7F, 0x01])
                + frame(1, stream: 3, start("/rpc.v1.Broker/Subscribe"))
                + frame(3, 1, stream: 3, SubscribeRequest(kind: .ack(.init(deliveryTags: [1]))).serializedBytes())
                + frame(1, stream: 5, start("/rpc.v1.Broker/Publish")) + frame(3, 1, stream: 5, [0x0F, 1, 2, 3, 4])
            let answer = try await rawExchange(endpoint, bytes, timeout: .seconds(120)) { received in
                ((try? frames(in: received)) ?? []).filter { $0.type == .status }.count >= 3
            }
            let statuses = try frames(in: answer).filter { $0.type == .status }.map {
                ($0.streamID, try Status(buffer: $0.payload))
            }
            #expect(statuses.count == 3)
            for (stream, status) in statuses {
                #expect(status.code == RPCCode.invalidArgument.rawValue, "stream \(stream): \(status.message)")
            }
            #expect(statuses.first { $0.0 == 3 }?.1.message.contains("first message of a subscription") == true)

            // Still serving, and nothing was stored.
            let client = try busClient(endpoint, dataDirectory: dir.path)
            let inspected = try await client.inspect(InspectRequest())
            #expect(inspected.queues.allSatisfy { $0.depth == 0 })
            await client.client.close()
        }
    }
}
