import EventBus
import Foundation
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("rpcctl events against a real bus", .serialized)
struct RPCCtlEventsTests {
    var rpcctl: String { repositoryRoot.appendingPathComponent(".build/debug/rpcctl").path }

    @Test("tail prints matching events as JSON lines; publish and queues work; the tail queue goes away")
    func tailPublishQueues() async throws {
        let dir = try makeTemporaryDirectory("bus-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bus = try await EventBusServer.make(dataDirectory: dir.path, configuration: ServerConfiguration())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await bus.run() }
            let address = "127.0.0.1:\(try await bus.server.localPort)"
            let tail = Task { try await runProcess(rpcctl, ["events", "tail", "order.*", "--bus", address, "--count", "1"]) }
            let client = Broker.Client(RPCClient(endpoints: [Endpoint(address)!]))
            // Wait until tail's temporary queue has its consumer.
            var ready = false
            for _ in 0..<400 where !ready {
                ready = try await client.inspect(InspectRequest()).queues.contains { $0.name.hasPrefix("tail.") && $0.consumers == 1 }
                if !ready { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(ready)
            let skipped = try await runProcess(rpcctl, ["events", "publish", "user_events", "user.registered", "-d", "{}", "--bus", address])
            #expect(skipped.status == 0)
            let published = try await runProcess(
                rpcctl, ["events", "publish", "order_events", "order.created", "-d", #"{ "orderId": "7" }"#, "--bus", address])
            #expect(published.status == 0, "\(published.output)")
            #expect(published.output.hasPrefix("published "))
            let output = try await tail.value
            #expect(output.status == 0, "\(output.output)")
            #expect(output.output.hasPrefix(#"{"routingKey":"order.created","exchange":"order_events","id":""#))
            #expect(output.output.contains(#""payload":{"orderId":"7"},"deliveryCount":1}"#))
            let queues = try await runProcess(rpcctl, ["events", "queues", "--bus", address])
            #expect(queues.output.hasPrefix("QUEUE"))
            #expect(!queues.output.contains("tail."), "the temporary queue is gone: \(queues.output)")
            #expect(queues.output.contains("unroutable events: 1"))
            await client.client.close()
            group.cancelAll()
        }
    }
}
