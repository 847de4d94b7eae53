import Foundation
import NIOConcurrencyHelpers
import NIOCore
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

/// A CALL_START for `method` on `stream` with `entries` of metadata, each `size` bytes of value.
func callStart(_ method: String, metadataEntries entries: Int, valueSize size: Int) -> [UInt8] {
    var start = CallStart(method: method)
    for i in 0..<entries { start.metadata.append(MetadataEntry(key: "x-pad-\(i)", value: String(repeating: "v", count: size))) }
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
                + frame(1, stream: 1, callStart(get, metadataEntries: 20, valueSize: 1024)) + frame(3, 1, stream: 1, fine)
                // 1 MiB: refused on its size alone, without decoding.
                + frame(1, stream: 3, callStart(get, metadataEntries: 1, valueSize: 1 << 20)) + frame(3, 1, stream: 3, fine)
                // Under the limit: served.
                + frame(1, stream: 5, callStart(get, metadataEntries: 10, valueSize: 1024)) + frame(3, 1, stream: 5, fine)
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
        try await withServer(service, configuration: ServerConfiguration(firstMessageTimeout: .milliseconds(200))) { _, endpoint in
            let peer = try await RawConnection.connect(endpoint, sending: clientHello + frame(1, stream: 1, callStart(get)))
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

    @Test("request bytes a connection makes the server hold are bounded: the call that goes over gets RESOURCE_EXHAUSTED")
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
            for id in stride(from: UInt32(3), through: 11, by: 2) { more += frame(1, stream: id, callStart(get, metadataEntries: 15, valueSize: 960)) }
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
}
