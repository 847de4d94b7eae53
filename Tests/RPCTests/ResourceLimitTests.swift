import Foundation
import NIOConcurrencyHelpers
import NIOCore
import ProtoRuntime
@testable import RPC
import RPCSchema
import TestSupport
import Testing

/// A CALL_START for `method` on `stream` with `entries` of metadata, each `size` bytes of value.
func callStart(_ method: String, metadataEntries entries: Int, valueSize size: Int) -> [UInt8] {
    var start = CallStart(method: method)
    for i in 0..<entries {
        start.metadata.append(MetadataEntry(key: "x-pad-\(i)", value: String(repeating: "v", count: size)))
    }
    return start.serializedBytes()
}

@Suite("Resource limits: every resource a peer can make the server hold is bounded")
struct ResourceLimitTests {
    let get = "/test.v1.Echo/Get"
    let fine = EchoRequest(text: "fine").serializedBytes()

    @Test("metadata over the limit gets RESOURCE_EXHAUSTED for that call; the connection lives")
    func metadataLimit() async throws {
        try await withServer { _, endpoint in
            let bytes =
                clientHello
                // 20 KiB of metadata: decoded, counted, refused.
                + frame(1, stream: 1, callStart(get, metadataEntries: 20, valueSize: 1024))
                + frame(3, 1, stream: 1, fine)
                // 1 MiB: refused on its size alone, without decoding.
                + frame(1, stream: 3, callStart(get, metadataEntries: 1, valueSize: 1 << 20))
                + frame(3, 1, stream: 3, fine)
                // Under the limit: served.
                + frame(1, stream: 5, callStart(get, metadataEntries: 10, valueSize: 1024))
                + frame(3, 1, stream: 5, fine)
            let peer = try await RawConnection.connect(endpoint, sending: bytes)
            #expect(try await peer.waitFor { try statuses(in: $0).count == 3 })
            let answers = try statuses(in: peer.frames())
            #expect(answers[1]?.code == RPCCode.resourceExhausted.rawValue)
            #expect(answers[1]?.message.contains("exceeds the maximum of 16384 bytes") == true)
            #expect(answers[3]?.code == RPCCode.resourceExhausted.rawValue)
            #expect(answers[5]?.code == 0)
            #expect(try goAway(in: peer.received) == nil)
            #expect(peer.isOpen)
            await peer.close()
        }
    }

    @Test("a call whose request never comes ends DEADLINE_EXCEEDED after the first-message timeout and is freed")
    func firstMessageTimeout() async throws {
        let service = EchoService()
        try await withServer(service, configuration: ServerConfiguration(firstMessageTimeout: .milliseconds(200))) {
            _,
            endpoint in
            let peer = try await RawConnection.connect(
                endpoint,
                sending: clientHello + frame(1, stream: 1, callStart(get))
            )
            #expect(try await peer.waitFor { try statuses(in: $0)[1] != nil })
            let status = try #require(try statuses(in: peer.frames())[1])
            #expect(status.code == RPCCode.deadlineExceeded.rawValue)
            #expect(status.message.hasPrefix("no request message within"))
            // A late request for it is ignored; the connection serves the next call.
            peer.send(frame(3, 1, stream: 1, fine) + frame(1, stream: 3, callStart(get)) + frame(3, 1, stream: 3, fine))
            #expect(try await peer.waitFor { try statuses(in: $0)[3] != nil })
            #expect(try statuses(in: peer.frames())[3]?.code == 0)
            #expect(service.started.withLockedValue { $0 } == 1, "the timed-out call's handler never ran")
            await peer.close()
        }
    }

    @Test(
        "request bytes a connection makes the server hold are bounded: the call that goes over gets RESOURCE_EXHAUSTED"
    )
    func bufferedRequestBytes() async throws {
        let configuration = ServerConfiguration(maximumBufferedRequestBytes: 64 << 10)
        try await withServer(configuration: configuration) { _, endpoint in
            // Collect's handler sleeps a minute on its first message, consuming nothing more:
            // what follows piles up until the connection's budget is spent.
            var bytes = clientHello + frame(1, stream: 1, callStart("/test.v1.Echo/Collect"))
            bytes += frame(3, stream: 1, EchoRequest(text: "slow", delayMs: 60_000).serializedBytes())
            let chunk = EchoRequest(text: String(repeating: "c", count: 20 << 10)).serializedBytes()
            for _ in 0..<5 { bytes += frame(3, stream: 1, chunk) }
            let peer = try await RawConnection.connect(endpoint, sending: bytes)
            #expect(try await peer.waitFor { try statuses(in: $0)[1] != nil })
            let status = try #require(try statuses(in: peer.frames())[1])
            #expect(status.code == RPCCode.resourceExhausted.rawValue)
            #expect(status.message.contains("65536 bytes"))
            // Metadata counts too: half-open calls with 15 KiB each, five of them, over 64 KiB.
            var more: [UInt8] = []
            for id in stride(from: UInt32(3), through: 11, by: 2) {
                more += frame(1, stream: id, callStart(get, metadataEntries: 15, valueSize: 960))
            }
            peer.send(more)
            #expect(try await peer.waitFor { try statuses(in: $0)[11] != nil })
            #expect(try statuses(in: peer.frames())[11]?.code == RPCCode.resourceExhausted.rawValue)
            // The connection lives and serves.
            peer.send(frame(1, stream: 13, callStart(get)) + frame(3, 1, stream: 13, fine))
            #expect(try await peer.waitFor { try statuses(in: $0)[13] != nil })
            #expect(try statuses(in: peer.frames())[13]?.code == 0)
            await peer.close()
        }
    }

    @Test(
        "a client that pipelines thousands of calls and never reads holds a bounded queue; others are served; it is closed after the idle timeout"
    )
    func backpressure() async throws {
        let service = EchoService()
        let configuration = ServerConfiguration(idleTimeout: .seconds(2), responseHighWaterMark: 256 << 10)
        try await withServer(service, configuration: configuration) { server, endpoint in
            // 6,000 calls whose answers (message and metadata echo the text) are ~8 KiB each:
            // ~48 MiB if they were all answered into memory.
            let text = String(repeating: "p", count: 4 << 10)
            var bytes = clientHello
            for i in 0..<6000 {
                let id = UInt32(2 * i + 1)
                bytes +=
                    frame(1, stream: id, callStart("/test.v1.Echo/Get"))
                    + frame(3, 1, stream: id, EchoRequest(text: text).serializedBytes())
            }
            let peer = try await RawConnection.connect(endpoint, sending: bytes, reading: false)
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await server.connectionStatistics().contains { $0.readsPaused }
                }
            )
            let handled = service.started.withLockedValue { $0 }
            let statistics = try #require(await server.connectionStatistics().first { $0.readsPaused })
            // What is queued stays near the high-water mark (one more answer at most, written
            // before the next frame is looked at); the rest waits in the socket buffers, unread.
            #expect(statistics.queuedResponseBytes <= (256 << 10) + (64 << 10))
            #expect(handled < 3000, "\(handled) of 6,000 calls answered into a peer that reads nothing")
            // Another client is served meanwhile.
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            #expect(try await client.get(EchoRequest(text: "other")).text == "other")
            await client.client.close()
            // A peer that reads none of its answers for the idle timeout is closed.
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await server.connectionStatistics().allSatisfy { !$0.readsPaused }
                }
            )
            await peer.close()
        }
    }

    @Test(
        "a streaming answer waits while its peer reads nothing, even with a huge window: the queue stays bounded, the connection open"
    )
    func streamingBackpressure() async throws {
        let configuration = ServerConfiguration(responseHighWaterMark: 256 << 10)
        try await withServer(configuration: configuration) { server, endpoint in
            // A 1 GiB window: flow control alone would let 20 MiB of answers pile up.
            var settings = Settings()
            settings.initialWindowSize = 1 << 30
            let hello = ConnectionPreface.bytes + frame(0, stream: 0, settings.serializedBytes())
            let request = EchoRequest(text: String(repeating: "s", count: 4 << 10), count: 5000).serializedBytes()
            let bytes = hello + frame(1, stream: 1, callStart("/test.v1.Echo/Expand")) + frame(3, 1, stream: 1, request)
            let peer = try await RawConnection.connect(endpoint, sending: bytes, reading: false)
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    await server.connectionStatistics().contains { $0.readsPaused }
                }
            )
            let statistics = try #require(await server.connectionStatistics().first)
            #expect(statistics.queuedResponseBytes <= (256 << 10) + (64 << 10))
            #expect(statistics.openCalls == 1, "the call waits; it was not failed")
            await peer.close()
        }
    }

    @Test("unknown method names share one metrics series: 200 random names add none")
    func metricsSeries() async throws {
        try await withServer { server, endpoint in
            let peer = try await RawConnection.connect(
                endpoint,
                sending: clientHello + frame(1, 1, stream: 1, callStart("/x.Y/First"))
            )
            #expect(try await peer.waitFor { try statuses(in: $0)[1] != nil })
            let before = server.core.metrics.seriesCount
            var bytes: [UInt8] = []
            for i in 1...200 {
                bytes += frame(
                    1,
                    1,
                    stream: UInt32(2 * i + 1),
                    callStart("/\(UUID().uuidString).S/\(UUID().uuidString)")
                )
            }
            peer.send(bytes)
            #expect(try await peer.waitFor { try statuses(in: $0).count == 201 })
            #expect(try statuses(in: peer.frames()).values.allSatisfy { $0.code == RPCCode.unimplemented.rawValue })
            #expect(server.core.metrics.seriesCount == before)
            await peer.close()
        }
    }

    @Test(
        "a response larger than the client's frame maximum fails that call with RESOURCE_EXHAUSTED; the others and the connection go on"
    )
    func responseTooLarge() async throws {
        let server = RPCServer(services: [EchoService(), BigAnswerService()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await server.localPort)
            // A client that accepts frames of 64 KiB at most.
            var settings = Settings()
            settings.maxFrameSize = 64 << 10
            let hello = ConnectionPreface.bytes + frame(0, stream: 0, settings.serializedBytes())
            let bytes =
                hello
                + frame(1, stream: 1, callStart("/test.v1.Echo/Get"))
                + frame(3, 1, stream: 1, EchoRequest(text: "slow", delayMs: 300).serializedBytes())
                + frame(1, stream: 3, callStart(BigAnswerService.get.path))
                + frame(3, 1, stream: 3, EchoRequest(count: 100_000).serializedBytes())
                + frame(1, stream: 5, callStart("/test.v1.Echo/Expand"))
                + frame(
                    3,
                    1,
                    stream: 5,
                    EchoRequest(text: String(repeating: "x", count: 100_000), count: 1).serializedBytes()
                )
            let peer = try await RawConnection.connect(endpoint, sending: bytes)
            #expect(try await peer.waitFor { try statuses(in: $0).count == 3 })
            let answers = try statuses(in: peer.frames())
            for id: UInt32 in [3, 5] {
                #expect(answers[id]?.code == RPCCode.resourceExhausted.rawValue)
                #expect(answers[id]?.trailers.contains { $0.key == RPCError.messageTooLargeKey } == true)
            }
            #expect(answers[1]?.code == 0, "the concurrent call on the same connection succeeds")
            #expect(try peer.frames().allSatisfy { $0.payload.readableBytes <= 64 << 10 })
            #expect(try goAway(in: peer.received) == nil)
            peer.send(
                frame(1, stream: 7, callStart("/test.v1.Echo/Get"))
                    + frame(3, 1, stream: 7, EchoRequest(text: "after").serializedBytes())
            )
            #expect(try await peer.waitFor { try statuses(in: $0)[7] != nil })
            #expect(try statuses(in: peer.frames())[7]?.code == 0)
            await peer.close()
        }
    }

    @Test("a request larger than the server's frame maximum fails that call on the client; the connection goes on")
    func requestTooLarge() async throws {
        try await withServer(configuration: ServerConfiguration(maximumFrameSize: 64 << 10)) { server, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            // The first call brings the server's SETTINGS (its maximum) before the large one.
            #expect(try await client.get(EchoRequest(text: "small")).text == "small")
            do {
                _ = try await client.get(EchoRequest(text: String(repeating: "x", count: 100_000)))
                Issue.record("a request over the server's frame maximum was sent")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
                #expect(error.isMessageTooLarge)
            }
            #expect(try await client.get(EchoRequest(text: "again")).text == "again")
            #expect(await server.connectionStatistics().count == 1, "the same connection served every call")
            await client.client.close()
        }
    }
}

/// Answers with a text of the requested length (`count` characters).
struct BigAnswerService: RPCService {
    static let get = MethodDescriptor(service: "test.v1.Big", method: "Get", kind: .unary)
    var serviceName: String { "test.v1.Big" }
    var fileDescriptors: [ProtoRuntime.EmbeddedFileDescriptor] { [] }
    var methods: [ServerMethod] {
        [
            .unary(BigAnswerService.get, EchoRequest.self, EchoResponse.self) { request, _ in
                EchoResponse(text: String(repeating: "b", count: Int(request.count)))
            }
        ]
    }
}
