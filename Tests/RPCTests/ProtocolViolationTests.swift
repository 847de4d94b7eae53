import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Protocol violations get their documented answer; the server keeps serving")
struct ProtocolViolationTests {
    func stillServes(_ endpoint: Endpoint) async throws {
        let client = Echo.Client(RPCClient(endpoints: [endpoint]))
        #expect(try await client.get(EchoRequest(text: "ok")).text == "ok")
        await client.client.close()
    }

    @Test("an HTTP request gets an HTTP 400 in plain text")
    func http() async throws {
        try await withServer { _, endpoint in
            let answer = try await rawExchange(endpoint, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
            #expect(text.contains("binary RPC protocol"))
            try await stillServes(endpoint)
        }
    }

    @Test("bytes that are not the preface get GOAWAY(PROTOCOL_ERROR)")
    func badPreface() async throws {
        try await withServer { _, endpoint in
            let goAway = try #require(try goAway(in: try await rawExchange(endpoint, [0x00, 0x01, 0x02, 0x03, 0x04])))
            #expect(goAway.errorCode == ConnectionErrorCode.protocolError.rawValue)
            #expect(goAway.reason == "not a marketplace-rpc peer: bad connection preface")
            try await stillServes(endpoint)
        }
    }

    @Test("an unsupported version gets GOAWAY(UNSUPPORTED_VERSION)")
    func version() async throws {
        try await withServer { _, endpoint in
            let goAway = try #require(try goAway(in: try await rawExchange(endpoint, ConnectionPreface.magic + [9])))
            #expect(goAway.errorCode == ConnectionErrorCode.unsupportedVersion.rawValue)
        }
    }

    @Test("an oversized length gets GOAWAY(FRAME_SIZE_ERROR) without the payload being sent")
    func oversized() async throws {
        try await withServer { _, endpoint in
            let header: [UInt8] = [0xFF, 0xFF, 0xFF, 0xF0, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
            let answer = try await rawExchange(endpoint, clientHello + header)
            let goAway = try #require(try goAway(in: answer))
            #expect(goAway.errorCode == ConnectionErrorCode.frameSizeError.rawValue)
            try await stillServes(endpoint)
        }
    }

    @Test("an unknown frame type gets GOAWAY(PROTOCOL_ERROR)")
    func unknownType() async throws {
        try await withServer { _, endpoint in
            let goAway = try #require(
                try goAway(in: try await rawExchange(endpoint, clientHello + frame(0x7F, stream: 0, [])))
            )
            #expect(goAway.errorCode == ConnectionErrorCode.protocolError.rawValue)
            #expect(goAway.reason == "unknown frame type 0x7f")
            try await stillServes(endpoint)
        }
    }

    @Test("a garbage CALL_START payload gets GOAWAY(PROTOCOL_ERROR)")
    func garbageHeader() async throws {
        try await withServer { _, endpoint in
            let goAway = try #require(
                try goAway(in: try await rawExchange(endpoint, clientHello + frame(1, stream: 1, [0xFF, 0xFF])))
            )
            #expect(goAway.errorCode == ConnectionErrorCode.protocolError.rawValue)
            #expect(goAway.reason.hasPrefix("malformed"))
            try await stillServes(endpoint)
        }
    }

    @Test("the first frame must be SETTINGS")
    func settingsFirst() async throws {
        try await withServer { _, endpoint in
            let bytes = ConnectionPreface.bytes + frame(1, stream: 1, callStart("/test.v1.Echo/Get"))
            let goAway = try #require(try goAway(in: try await rawExchange(endpoint, bytes)))
            #expect(goAway.errorCode == ConnectionErrorCode.protocolError.rawValue)
        }
    }

    @Test("a request that does not decode gets INVALID_ARGUMENT; an unknown method UNIMPLEMENTED; the connection lives")
    func streamErrors() async throws {
        try await withServer { _, endpoint in
            let bytes =
                clientHello + frame(1, stream: 1, callStart("/test.v1.Echo/Get"))
                + frame(3, 1, stream: 1, [0x0A, 0x05, 0x61])
                + frame(1, 1, stream: 3, callStart("/test.v1.Echo/Nope"))
                + frame(1, stream: 5, callStart("/test.v1.Echo/Get"))
                + frame(3, 1, stream: 5, EchoRequest(text: "fine").serializedBytes())
            let answer = try await rawExchange(endpoint, bytes)
            let statuses = try frames(in: answer).filter { $0.type == .status }.map {
                ($0.streamID, try Status(buffer: $0.payload))
            }
            #expect(statuses.count == 3)
            #expect(statuses.first { $0.0 == 1 }?.1.code == RPCCode.invalidArgument.rawValue)
            #expect(statuses.first { $0.0 == 3 }?.1.code == RPCCode.unimplemented.rawValue)
            #expect(statuses.first { $0.0 == 5 }?.1.code == 0)
            let message = try frames(in: answer).first { $0.type == .message && $0.streamID == 5 }
            #expect(try message.map { try EchoResponse(buffer: $0.payload).text } == "fine")
        }
    }

    @Test("a truncated frame and a close: the server shrugs and keeps serving")
    func truncated() async throws {
        try await withServer { _, endpoint in
            let partial = Array(frame(1, stream: 1, callStart("/test.v1.Echo/Get")).prefix(12))
            _ = try await rawExchange(endpoint, clientHello + partial)
            try await stillServes(endpoint)
        }
    }

    @Test("PING is answered with the same bytes")
    func ping() async throws {
        try await withServer { _, endpoint in
            let bytes = clientHello + frame(7, stream: 0, [1, 2, 3, 4, 5, 6, 7, 8]) + frame(7, stream: 0, [1])
            let answer = try await rawExchange(endpoint, bytes)
            let pong = try frames(in: answer).first { $0.type == .ping }
            #expect(pong?.flags == .ack)
            #expect(pong.map { Array($0.payload.readableBytesView) } == [1, 2, 3, 4, 5, 6, 7, 8])
            #expect(try goAway(in: answer)?.errorCode == ConnectionErrorCode.protocolError.rawValue)
        }
    }

    @Test("an idle connection is closed with GOAWAY(IDLE_TIMEOUT); a busy one is not")
    func idleTimeout() async throws {
        try await withServer(configuration: ServerConfiguration(idleTimeout: .milliseconds(500))) { _, endpoint in
            let idle = try #require(try goAway(in: try await rawExchange(endpoint, clientHello)))
            #expect(idle.errorCode == ConnectionErrorCode.idleTimeout.rawValue)
            // Busy: a bidi call is open from the moment its CALL_START is read. Its first echo
            // proves the server has read it; from then on no idle timer may close the connection,
            // however long the call stays open. (Before the echo the server may rightly find the
            // connection idle if this machine stalls the peer for longer than the timeout: such an
            // attempt is refused unprocessed, GOAWAY with last stream 0, and is tried again.)
            let open =
                frame(1, stream: 1, callStart("/test.v1.Echo/Update"))
                + frame(3, stream: 1, EchoRequest(text: "a").serializedBytes())
            var attempts = 0
            while true {
                attempts += 1
                let peer = try await RawConnection.connect(endpoint, sending: clientHello + open)
                try await peer.waitFor { frames in
                    frames.contains { $0.type == .message && $0.streamID == 1 }
                        || frames.contains { $0.type == .goAway }
                }
                let early = try goAway(in: peer.received)
                if let early, early.lastStreamId == 0, attempts < 5 {
                    await peer.close()
                    continue
                }
                #expect(early == nil, "GOAWAY before the call was answered: \(String(describing: early))")
                // Three idle timeouts pass with the call open (a late timer only makes this
                // wait longer than needed, never shorter).
                try await Task.sleep(for: .milliseconds(1500))
                #expect(try goAway(in: peer.received) == nil, "the busy connection was closed")
                peer.send(frame(3, 1, stream: 1, EchoRequest(text: "b").serializedBytes()))
                #expect(try await peer.waitFor { try statuses(in: $0)[1] != nil })
                #expect(try statuses(in: peer.frames())[1]?.code == 0)
                // With its call over, the connection is idle again and is closed.
                #expect(try await peer.waitForClose())
                #expect(try goAway(in: peer.received)?.errorCode == ConnectionErrorCode.idleTimeout.rawValue)
                await peer.close()
                break
            }
            // A client's call that races the idle GOAWAY is refused unprocessed and retried.
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            #expect(try await client.get(EchoRequest(text: "long", delayMs: 1200)).text == "long")
            await client.client.close()
        }
    }
}

@Suite("Keepalive")
struct KeepaliveTests {
    /// Accepts connections and never answers: a hung peer.
    final class BlackHole: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }

    @Test("a server that stops answering pings fails the calls with UNAVAILABLE before their deadline")
    func unansweredPings() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(BlackHole()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let endpoint = Endpoint(host: "127.0.0.1", port: channel.localAddress?.port ?? 0)
        let client = Echo.Client(
            RPCClient(endpoints: [endpoint], configuration: ClientConfiguration(keepaliveInterval: .milliseconds(100)))
        )
        do {
            _ = try await client.get(EchoRequest(text: "x"), options: CallOptions(timeout: .seconds(30)))
            Issue.record("a call to a hung server succeeded")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
            #expect(error.message == "the server stopped answering keepalive pings")
        }
        await client.client.close()
        try await channel.close()
    }
}
