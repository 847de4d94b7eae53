import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Routing keys and binding patterns: at most 255 bytes, matched without backtracking")
struct TopicLimitTests {
    func withBus<T: Sendable>(_ body: @Sendable (Broker.Client) async throws -> T) async throws -> T {
        let dir = try makeTemporaryDirectory("bus-limits")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await EventBusTests.withBus(in: dir, body)
    }

    func code(_ body: () async throws -> Void) async -> (RPCCode, String)? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return (error.code, error.message)
        } catch {
            return (.unknown, "\(error)")
        }
    }

    @Test(
        "a 100 KB routing key or pattern is INVALID_ARGUMENT at publish and bind; 255 bytes is accepted; the bus keeps serving"
    )
    func longKeysOverRPC() async throws {
        try await withBus { bus in
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "limits"))
            let long = String(repeating: "a.", count: 50_000)
            let publish = await code {
                _ = try await bus.publish(
                    PublishRequest(events: [Event(id: "long", exchange: "order_events", routingKey: long)])
                )
            }
            #expect(publish?.0 == .invalidArgument, "\(String(describing: publish))")
            #expect(publish?.1.contains("at most 255") == true)
            let bind = await code {
                _ = try await bus.bind(BindRequest(queue: "limits", exchange: "order_events", pattern: "#." + long))
            }
            #expect(bind?.0 == .invalidArgument, "\(String(describing: bind))")

            let longest = String(repeating: "#.a.", count: 63) + "#.a"  // 255 bytes
            #expect(longest.utf8.count == 255)
            #expect(
                try await bus.bind(BindRequest(queue: "limits", exchange: "order_events", pattern: longest)).created
            )
            let key = String(repeating: "a.", count: 127) + "a"  // 255 bytes
            let confirm = try await bus.publish(
                PublishRequest(events: [Event(id: "ok", exchange: "order_events", routingKey: key)])
            )
            #expect(confirm.unroutable == 0, "the 255-byte pattern matched the 255-byte key")
        }
    }

    @Test("a topology file with a pattern over 255 bytes, or nested 100,000 deep, is refused with a message")
    func topologyFile() throws {
        let dir = try makeTemporaryDirectory("topology-limits")
        defer { try? FileManager.default.removeItem(at: dir) }
        let long = dir.appendingPathComponent("long.json")
        let pattern = String(repeating: "x", count: 300)
        try Data(
            #"{"exchanges": ["e"], "queues": [{"name": "q", "bindings": [{"exchange": "e", "pattern": "\#(pattern)"}]}]}"#
                .utf8
        ).write(to: long)
        do {
            _ = try BusTopology.load(path: long.path)
            Issue.record("a 300-byte pattern was accepted")
        } catch let error as BusTopologyError {
            #expect(error.message.contains("at most 255"), "\(error.message)")
        }
        let deep = dir.appendingPathComponent("deep.json")
        try Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8).write(to: deep)
        #expect(throws: BusTopologyError.self) { try BusTopology.load(path: deep.path) }
    }

    @Test("#.#.#… and #.a.#.a… against long keys finish (runs of # merge; no backtracking)", .timeLimit(.minutes(1)))
    func adversarialPatterns() {
        let key = String(repeating: "a.", count: 50_000) + "b"
        #expect(TopicPattern(String(repeating: "#.", count: 50_000) + "b").matches(key))
        #expect(!TopicPattern(String(repeating: "#.", count: 50_000) + "c").matches(key))
        // Within the limits, the worst shape for the table: alternating # and literals.
        let pattern = TopicPattern(String(repeating: "#.a.", count: 63) + "#.c")
        #expect(!pattern.matches(String(repeating: "a.", count: 127) + "b"))
        #expect(pattern.matches(String(repeating: "a.", count: 127) + "c"))
    }
}
