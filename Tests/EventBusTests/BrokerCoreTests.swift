import EventBus
import Foundation
import TestSupport
import Testing

@Suite("Broker: routing, prefetch, acks, redelivery, dead letters, competing consumers, restart")
struct BrokerCoreTests {
    struct Fixture {
        let directory: URL
        let path: String
        init() throws {
            directory = try makeTemporaryDirectory("broker")
            path = directory.appendingPathComponent("bus.sqlite").path
        }
        func broker() async throws -> BrokerCore { try await BrokerCore(store: try BrokerStore(path: path)) }
        func store() throws -> BrokerStore { try BrokerStore(path: path) }
        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    func event(_ id: String, key: String = "order.created", exchange: String = "order_events")
        -> BrokerStore.StoredEvent
    {
        BrokerStore.StoredEvent(
            id: id,
            exchange: exchange,
            routingKey: key,
            type: "t",
            payload: Array(id.utf8),
            publishedAtMicros: 0
        )
    }

    func setUp(_ broker: BrokerCore, queue: String = "q", pattern: String = "order.*", maxDeliveries: Int = 3)
        async throws
    {
        _ = try await broker.declareExchange("order_events")
        _ = try await broker.declareQueue(.init(name: queue, maxDeliveries: maxDeliveries))
        _ = try await broker.bind(queue: queue, exchange: "order_events", pattern: pattern)
    }

    func next(_ iterator: inout AsyncStream<BrokerDelivery>.AsyncIterator) async -> BrokerDelivery? {
        await iterator.next()
    }

    @Test("publish routes by pattern; a consumer gets events in order; ack removes them; unroutable is counted")
    func basic() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        try await setUp(broker)
        #expect(try await broker.publish([event("a"), event("b"), event("x", key: "user.created")]) == 1)
        let (id, deliveries) = try await broker.subscribe(queue: "q", prefetch: 10)
        var iterator = deliveries.makeAsyncIterator()
        let first = try #require(await next(&iterator))
        let second = try #require(await next(&iterator))
        #expect([first.event.id, second.event.id] == ["a", "b"])
        #expect(first.deliveryCount == 1)
        await broker.ack(id, tags: [first.tag, second.tag])
        #expect(await broker.inspect().queues.first { $0.name == "q" }?.depth == 0)
        await #expect(throws: BrokerError.unknownExchange("nope")) {
            _ = try await broker.publish([event("z", exchange: "nope")])
        }
    }

    @Test("prefetch limits unacked deliveries; an ack lets the next one through")
    func prefetch() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        try await setUp(broker)
        _ = try await broker.publish((0..<5).map { event("e\($0)") })
        let (id, deliveries) = try await broker.subscribe(queue: "q", prefetch: 2)
        var iterator = deliveries.makeAsyncIterator()
        let a = try #require(await next(&iterator))
        _ = try #require(await next(&iterator))
        let info = await broker.inspect().queues.first { $0.name == "q" }
        #expect(info?.unacked == 2)
        #expect(info?.depth == 3)
        await broker.ack(id, tags: [a.tag])
        #expect(await next(&iterator)?.event.id == "e2")
    }

    @Test("nack with requeue redelivers with a higher count; past the limit the event is dead-lettered")
    func redeliveryAndDeadLetter() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        try await setUp(broker, maxDeliveries: 2)
        _ = try await broker.publish([event("poison")])
        let (id, deliveries) = try await broker.subscribe(queue: "q", prefetch: 1)
        var iterator = deliveries.makeAsyncIterator()
        let first = try #require(await next(&iterator))
        try await broker.nack(id, tags: [first.tag], requeue: true)
        let second = try #require(await next(&iterator))
        #expect(second.deliveryCount == 2)
        try await broker.nack(id, tags: [second.tag], requeue: true)
        let info = await broker.inspect().queues
        #expect(info.first { $0.name == "q" }?.deadLettered == 1)
        #expect(info.first { $0.name == "q.dead" }?.depth == 1)
        let (_, dead) = try await broker.subscribe(queue: "q.dead", prefetch: 1)
        var deadIterator = dead.makeAsyncIterator()
        #expect(await deadIterator.next()?.event.id == "poison")
    }

    @Test("nack without requeue dead-letters at once; the ack timeout redelivers")
    func nackAndTimeout() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        _ = try await broker.declareExchange("order_events")
        _ = try await broker.declareQueue(.init(name: "q", maxDeliveries: 5, ackTimeoutMilliseconds: 50))
        _ = try await broker.bind(queue: "q", exchange: "order_events", pattern: "#")
        _ = try await broker.publish([event("a"), event("b")])
        let (id, deliveries) = try await broker.subscribe(queue: "q", prefetch: 1)
        var iterator = deliveries.makeAsyncIterator()
        let a = try #require(await next(&iterator))
        try await broker.nack(id, tags: [a.tag], requeue: false)
        let b = try #require(await next(&iterator))
        #expect(b.event.id == "b")
        await broker.expireUnacked(now: .now + .seconds(1))
        let again = try #require(await next(&iterator))
        #expect(again.event.id == "b")
        #expect(again.deliveryCount == 2)
    }

    @Test("competing consumers share a queue; a consumer that leaves gives its unacked back")
    func competingConsumers() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        try await setUp(broker)
        _ = try await broker.publish((0..<4).map { event("e\($0)") })
        let (first, one) = try await broker.subscribe(queue: "q", prefetch: 2)
        let (_, two) = try await broker.subscribe(queue: "q", prefetch: 2)
        var i1 = one.makeAsyncIterator()
        var i2 = two.makeAsyncIterator()
        let got1 = [await next(&i1), await next(&i1)].compactMap { $0?.event.id }
        let got2 = [await next(&i2), await next(&i2)].compactMap { $0?.event.id }
        #expect(Set(got1 + got2) == ["e0", "e1", "e2", "e3"])
        await broker.unsubscribe(first)
        _ = try await broker.publish([])
        #expect(await broker.inspect().queues.first { $0.name == "q" }?.depth == 2)
    }

    @Test("declarations are idempotent; a conflicting one is an error")
    func declarations() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        #expect(try await broker.declareExchange("x") == true)
        #expect(try await broker.declareExchange("x") == false)
        #expect(try await broker.declareQueue(.init(name: "q")) == true)
        #expect(try await broker.declareQueue(.init(name: "q")) == false)
        await #expect(throws: BrokerError.self) {
            _ = try await broker.declareQueue(.init(name: "q", maxDeliveries: 9))
        }
        await #expect(throws: BrokerError.self) { _ = try await broker.declareExchange("y", type: "fanout") }
        #expect(try await broker.bind(queue: "q", exchange: "x", pattern: "a.#") == true)
        #expect(try await broker.bind(queue: "q", exchange: "x", pattern: "a.#") == false)
    }

    @Test("after a restart, stored and unacked events are delivered again")
    func restart() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        do {
            let broker = try await fixture.broker()
            try await setUp(broker)
            _ = try await broker.publish([event("a"), event("b")])
            let (id, deliveries) = try await broker.subscribe(queue: "q", prefetch: 1)
            var iterator = deliveries.makeAsyncIterator()
            let a = try #require(await next(&iterator))
            await broker.ack(id, tags: [a.tag])
            _ = await next(&iterator)  // b delivered, never acked
            // Acks and delivery counts ride with the next commit; a flush (as at shutdown) forces one.
            try await broker.flush()
        }
        let broker = try await fixture.broker()
        let (_, deliveries) = try await broker.subscribe(queue: "q", prefetch: 5)
        var iterator = deliveries.makeAsyncIterator()
        let redelivered = try #require(await next(&iterator))
        #expect(redelivered.event.id == "b")
        #expect(redelivered.deliveryCount == 2)
    }
}

extension BrokerCoreTests {
    @Test("an auto-delete queue goes away with its last consumer, bindings and entries included")
    func autoDelete() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        _ = try await broker.declareExchange("order_events")
        _ = try await broker.declareQueue(.init(name: "tail.1", autoDelete: true))
        _ = try await broker.bind(queue: "tail.1", exchange: "order_events", pattern: "#")
        let (id, _) = try await broker.subscribe(queue: "tail.1", prefetch: 1)
        _ = try await broker.publish([event("a"), event("b")])
        await broker.unsubscribe(id)
        #expect(await broker.inspect().queues.isEmpty)
        #expect(try await broker.publish([event("c")]) == 1, "no binding routes there any more")
        let reopened = try await fixture.broker()
        #expect(await reopened.inspect().queues.isEmpty)
    }

    @Test("two queues dead-lettering one event into a shared dead-letter queue leave one copy, in memory and on disk")
    func sharedDeadLetterQueue() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        do {
            let broker = try await fixture.broker()
            _ = try await broker.declareExchange("order_events")
            _ = try await broker.declareQueue(.init(name: "shared.dead", maxDeliveries: 100))
            for name in ["a", "b"] {
                _ = try await broker.declareQueue(.init(name: name, maxDeliveries: 1, deadLetterQueue: "shared.dead"))
                _ = try await broker.bind(queue: name, exchange: "order_events", pattern: "#")
            }
            _ = try await broker.publish([event("e")])
            for name in ["a", "b"] {
                let (id, deliveries) = try await broker.subscribe(queue: name, prefetch: 1)
                var iterator = deliveries.makeAsyncIterator()
                let delivery = try #require(await iterator.next())
                try await broker.nack(id, tags: [delivery.tag], requeue: false)
                await broker.unsubscribe(id)
            }
            #expect(await broker.inspect().queues.first { $0.name == "shared.dead" }?.depth == 1)
            try await broker.flush()
        }
        let reopened = try await fixture.broker()
        #expect(await reopened.inspect().queues.first { $0.name == "shared.dead" }?.depth == 1)
    }

    @Test("temporary queues left by a crash or shutdown are gone after the restart, with their events")
    func autoDeleteAfterRestart() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        do {
            let broker = try await fixture.broker()
            _ = try await broker.declareExchange("order_events")
            _ = try await broker.declareQueue(.init(name: "tail.x", autoDelete: true))
            _ = try await broker.bind(queue: "tail.x", exchange: "order_events", pattern: "#")
            _ = try await broker.subscribe(queue: "tail.x", prefetch: 1)
            _ = try await broker.publish([event("a"), event("b")])
            await broker.shutdown(grace: .milliseconds(10))
        }
        let reopened = try await fixture.broker()
        #expect(await reopened.inspect().queues.isEmpty)
        #expect(try await fixture.store().eventCount() == 0)
        #expect(try await reopened.publish([event("c")]) == 1, "no binding left behind")
    }

    @Test("a rejected event of a queue without a dead-letter queue (a temporary one) is dropped, not leaked")
    func rejectWithoutDeadLetterQueue() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let broker = try await fixture.broker()
        _ = try await broker.declareExchange("order_events")
        _ = try await broker.declareQueue(.init(name: "tail.y", autoDelete: true))
        _ = try await broker.bind(queue: "tail.y", exchange: "order_events", pattern: "#")
        let (id, deliveries) = try await broker.subscribe(queue: "tail.y", prefetch: 1)
        _ = try await broker.publish([event("a")])
        var iterator = deliveries.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        try await broker.nack(id, tags: [delivery.tag], requeue: false)
        try await broker.flush()
        #expect(try await fixture.store().eventCount() == 0)
        #expect(await broker.inspect().queues.first { $0.name == "tail.y" }?.depth == 0)
    }
}
