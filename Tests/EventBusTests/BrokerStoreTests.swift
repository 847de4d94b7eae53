import EventBus
import Foundation
import TestSupport
import Testing

@Suite("Broker store: durable appends with group commit, retention")
struct BrokerStoreTests {
    func event(_ id: String, key: String = "order.created") -> BrokerStore.StoredEvent {
        BrokerStore.StoredEvent(
            sequence: 0,
            id: id,
            exchange: "order_events",
            routingKey: key,
            type: "test.v1.Order",
            payload: Array(id.utf8),
            publishedAtMicros: 1,
            headers: []
        )
    }

    @Test("appended events survive reopening the file; unroutable ones are only counted")
    func durability() async throws {
        let dir = try makeTemporaryDirectory("bus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bus.sqlite").path
        do {
            let store = try BrokerStore(path: path)
            try await store.saveExchange(name: "order_events", type: "topic")
            try await store.saveQueue(.init(name: "notifications.orders"))
            try await store.saveBinding(queue: "notifications.orders", exchange: "order_events", pattern: "order.*")
            let commit = GroupCommit(store: store)
            let sequences = try await commit.append([
                .init(event: event("e1"), queues: ["notifications.orders"]), .init(event: event("e2"), queues: []),
            ])
            #expect(sequences.count == 2)
            #expect(sequences[0] != nil)
            #expect(sequences[1] == nil)
        }
        let reopened = try BrokerStore(path: path)
        let topology = try await reopened.topology()
        #expect(topology.exchanges == ["order_events": "topic"])
        #expect(topology.queues.map(\.name) == ["notifications.orders"])
        #expect(topology.queues.first?.deadLetterQueue == "notifications.orders.dead")
        let entries = try await reopened.entries(of: "notifications.orders")
        #expect(entries.count == 1)
        #expect(try await reopened.event(entries[0].sequence)?.id == "e1")
        #expect(try await reopened.unroutableCount() == 1)
    }

    @Test("concurrent publishes share commits (group commit)")
    func grouping() async throws {
        let dir = try makeTemporaryDirectory("bus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path)
        let commit = GroupCommit(store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { _ = try await commit.append([.init(event: event("e\(i)"), queues: ["q"])]) }
            }
            try await group.waitForAll()
        }
        let (commits, events) = commit.statistics
        #expect(events == 200)
        #expect(commits < 200, "200 concurrent publishes took \(commits) commits")
        #expect(try await store.entries(of: "q").count == 200)
    }

    @Test("acknowledged events are deleted once no queue holds them; dead-lettering moves entries")
    func retention() async throws {
        let dir = try makeTemporaryDirectory("bus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path)
        try await store.saveQueue(.init(name: "a"))
        let commit = GroupCommit(store: store)
        let sequences = try await commit.append([
            .init(event: event("e1"), queues: ["a", "b"]), .init(event: event("e2"), queues: ["a"]),
        ])
        let first = try #require(sequences[0])
        let second = try #require(sequences[1])
        try await store.acknowledge(queue: "a", sequences: [first])
        #expect(try await store.eventCount() == 2, "e1 is still held by queue b")
        try await store.acknowledge(queue: "b", sequences: [first])
        #expect(try await store.eventCount() == 1)
        try await store.deadLetter(queue: "a", sequence: second, to: "a.dead")
        #expect(try await store.entries(of: "a").isEmpty)
        #expect(try await store.entries(of: "a.dead").map(\.sequence) == [second])
    }

    @Test(
        "acks and delivery counts alone are committed once a batch is full or after the delay; a flush commits them at once"
    )
    func bookkeeping() async throws {
        let dir = try makeTemporaryDirectory("bus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path)
        func entries() async throws -> [Int64] { try await store.entries(of: "q").map(\.sequence) }
        // Never by timer here: only a full batch (2) or a flush writes.
        let batched = GroupCommit(store: store, bookkeepingBatch: 2, bookkeepingDelay: .seconds(3600))
        let sequences = try await batched.append((0..<4).map { .init(event: event("e\($0)"), queues: ["q"]) })
            .compactMap { $0 }
        batched.acknowledge(queue: "q", sequences: [sequences[0]])
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await entries() == sequences, "one ack waits for its batch")
        batched.acknowledge(queue: "q", sequences: [sequences[1]])
        #expect(try await eventually { try await entries() == Array(sequences[2...]) }, "a full batch is written")
        batched.recordDelivery(queue: "q", sequence: sequences[2], count: 3)
        try await batched.flush()
        #expect(try await store.entries(of: "q").first?.deliveryCount == 3)

        // By timer.
        let timed = GroupCommit(store: store, bookkeepingBatch: 512, bookkeepingDelay: .milliseconds(10))
        timed.acknowledge(queue: "q", sequences: [sequences[2]])
        #expect(
            try await eventually { try await entries() == [sequences[3]] },
            "the delay passes and the ack is written"
        )
        #expect(try await store.eventCount() == 1, "acked events are deleted with their last entry")
    }
}
