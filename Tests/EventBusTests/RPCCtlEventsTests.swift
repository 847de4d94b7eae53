import EventBus
import Foundation
import RPC
import RPCSchema
import ServiceKit
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
            let key = ["--key-file", ServiceKeys.serviceKeyPath(dataDirectory: dir.path)]
            // Without a credential, or with a foreign one, nothing happens and the answer says why.
            let anonymous = try await runProcess(rpcctl, ["events", "queues", "--bus", address])
            #expect(anonymous.status == 64)
            #expect(anonymous.output.contains("the event bus needs a credential: --token"), "\(anonymous.output)")
            let foreignKey = dir.appendingPathComponent("other.key").path
            _ = try KeyFile.loadOrCreate(path: foreignKey)
            let refused = try await runProcess(
                rpcctl,
                ["events", "queues", "--bus", address, "--key-file", foreignKey]
            )
            #expect(refused.status == RPCCode.unauthenticated.rawValue)
            #expect(refused.output.contains("UNAUTHENTICATED"), "\(refused.output)")
            #expect(refused.output.contains("the credential was refused"), "\(refused.output)")
            let forbidden = try await runProcess(
                rpcctl,
                ["events", "publish", "payment_events", "payment.completed", "--bus", address, "--as", "orders"] + key
            )
            #expect(forbidden.status == RPCCode.permissionDenied.rawValue)
            #expect(
                forbidden.output.contains("service:orders may not publish to exchange 'payment_events'"),
                "\(forbidden.output)"
            )

            let tail = Task {
                try await runProcess(rpcctl, ["events", "tail", "order.*", "--bus", address, "--count", "1"] + key)
            }
            let client = try busClient(Endpoint(address)!, dataDirectory: dir.path)
            // Wait until tail's temporary queue has its consumer.
            var ready = false
            for _ in 0..<400 where !ready {
                ready = try await client.inspect(InspectRequest()).queues.contains {
                    $0.name.hasPrefix("tail.") && $0.consumers == 1
                }
                if !ready { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(ready)
            let skipped = try await runProcess(
                rpcctl,
                ["events", "publish", "user_events", "user.registered", "-d", "{}", "--bus", address] + key
            )
            #expect(skipped.status == 0)
            let published = try await runProcess(
                rpcctl,
                [
                    "events", "publish", "order_events", "order.created", "-d", #"{ "orderId": "7" }"#, "--bus",
                    address, "--as", "orders",
                ] + key
            )
            #expect(published.status == 0, "\(published.output)")
            #expect(published.output.hasPrefix("published "))
            let output = try await tail.value
            #expect(output.status == 0, "\(output.output)")
            #expect(output.output.hasPrefix(#"{"routingKey":"order.created","exchange":"order_events","id":""#))
            #expect(
                output.output.contains(#""publisher":"service:orders","payload":{"orderId":"7"},"deliveryCount":1}"#)
            )
            let queues = try await runProcess(rpcctl, ["events", "queues", "--bus", address] + key)
            #expect(queues.output.hasPrefix("QUEUE"))
            // The standard notifications queue: its limits, and an age for its waiting event.
            let notifications =
                queues.output.split(separator: "\n").first { $0.hasPrefix("notifications.events ") } ?? ""
            #expect(notifications.contains("max 100000,ttl 7d"), "\(queues.output)")
            #expect(!queues.output.contains("tail."), "the temporary queue is gone: \(queues.output)")
            #expect(queues.output.contains("unroutable events: 1"))
            await client.client.close()
            group.cancelAll()
        }
    }
}
