import EventBus
import Foundation
import ServiceTestSupport
import MarketplaceAPI
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit
import TestSupport
import Testing

@Suite("rpcctl events tail: payloads decoded by type, each line written as it arrives")
struct RPCCtlTailTests {
    var rpcctl: String { repositoryRoot.appendingPathComponent(".build/debug/rpcctl").path }

    /// Waits until the bus has a `tail.` queue with a consumer (the tail is subscribed).
    func tailSubscribed(_ cluster: Cluster) async throws -> Bool {
        try await eventually {
            try await cluster.bus.inspect(InspectRequest()).queues.contains {
                $0.name.hasPrefix("tail.") && $0.consumers == 1
            }
        }
    }

    @Test("into a file, while tail still runs: the event's payload as JSON, decoded with the bus's reflection")
    func reflectionIntoFile() async throws {
        try await Cluster.with { cluster in
            let output = cluster.directory.appendingPathComponent("tail.out")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let file = try FileHandle(forWritingTo: output)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: rpcctl)
            process.arguments = [
                "events", "tail", "order.*", "--bus", "\(cluster.busEndpoint.host):\(cluster.busEndpoint.port)",
                "--key-file", ServiceKeys.serviceKeyPath(dataDirectory: cluster.directory.path),
            ]
            process.standardOutput = file
            process.standardError = file
            try process.run()
            defer {
                process.terminate()
                process.waitUntilExit()
                try? file.close()
            }
            #expect(try await tailSubscribed(cluster))
            _ = try await cluster.bus(as: "orders") { bus in
                _ = try await bus.publish(
                    OrderCreated(orderId: 7, customerId: 3, title: "Fix the sink", price: Money(cents: 12_50))
                )
            }
            var line = ""
            let arrived = try await eventually {
                line = String(decoding: FileManager.default.contents(atPath: output.path) ?? Data(), as: UTF8.self)
                return line.hasSuffix("\n")
            }
            #expect(arrived, "a line reached the file while tail runs: \(line)")
            #expect(process.isRunning)
            let json = try #require(try? JSONValue.parse(Array(line.utf8)), "\(line)")
            #expect(json["routingKey"] == .string("order.created"))
            #expect(json["type"] == .string("marketplace.v1.OrderCreated"))
            #expect(json["publisher"] == .string("service:orders"))
            #expect(json["payload"]?["orderId"] == .string("7"), "\(line)")
            #expect(json["payload"]?["title"] == .string("Fix the sink"), "\(line)")
            #expect(json["payload"]?["price"]?["cents"] == .string("1250"), "\(line)")
        }
    }

    @Test("with --descriptor-set (the committed Generated/descriptors.binpb), into a pipe")
    func descriptorSet() async throws {
        try await Cluster.with { cluster in
            let set = repositoryRoot.appendingPathComponent("Generated/descriptors.binpb").path
            let tail = Task {
                try await runProcess(
                    rpcctl,
                    [
                        "events", "tail", "review.*", "--bus",
                        "\(cluster.busEndpoint.host):\(cluster.busEndpoint.port)", "--count", "1",
                        "--descriptor-set", set, "--key-file",
                        ServiceKeys.serviceKeyPath(dataDirectory: cluster.directory.path),
                    ]
                )
            }
            #expect(try await tailSubscribed(cluster))
            _ = try await cluster.bus(as: "reviews") { bus in
                _ = try await bus.publish(ReviewCreated(reviewId: 5, orderId: 9, stars: 4))
            }
            let result = try await tail.value
            #expect(result.status == 0, "\(result.output)")
            let json = try #require(try? JSONValue.parse(Array(result.output.utf8)), "\(result.output)")
            #expect(json["payload"]?["reviewId"] == .string("5"), "\(result.output)")
            #expect(json["payload"]?["stars"] == .number("4"), "\(result.output)")
        }
    }

    @Test("a descriptor set that is not one: exit 64 with the reason")
    func badDescriptorSet() async throws {
        let dir = try makeTemporaryDirectory("tail-bad-set")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("garbage.binpb").path
        _ = FileManager.default.createFile(atPath: path, contents: Data([0xFF, 0xFF, 0xFF]))
        let result = try await runProcess(
            rpcctl,
            ["events", "tail", "--bus", "127.0.0.1:1", "--token", "x", "--descriptor-set", path]
        )
        #expect(result.status == 64, "\(result.output)")
        #expect(result.output.contains("is not a FileDescriptorSet"), "\(result.output)")
        let missing = try await runProcess(
            rpcctl,
            ["events", "tail", "--bus", "127.0.0.1:1", "--token", "x", "--descriptor-set", dir.path + "/nope"]
        )
        #expect(missing.status == 64)
        #expect(missing.output.contains("cannot read"), "\(missing.output)")
    }
}
