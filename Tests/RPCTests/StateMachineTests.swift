import Logging
import NIOCore
import NIOEmbedded
import ProtoRuntime
@testable import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("The server's connection state machine, alone")
struct StateMachineTests {
    typealias Machine = ServerConnectionStateMachine

    func receive(
        _ machine: inout Machine,
        _ type: FrameType,
        _ flags: FrameFlags = [],
        stream: UInt32 = 0,
        size: Int = 0,
        increment: UInt32? = nil
    ) throws -> Machine.Action {
        try machine.receive(
            typeByte: type.rawValue,
            flags: flags,
            streamID: stream,
            payloadSize: size,
            windowIncrement: increment
        )
    }

    func active() throws -> Machine {
        var machine = Machine()
        #expect(try receive(&machine, .settings) == .applySettings)
        return machine
    }

    @Test(
        "the first frame must be SETTINGS (not an ACK)",
        arguments: [FrameType.callStart, .ping, .message, .goAway, .cancel]
    )
    func settingsFirst(type: FrameType) {
        var machine = Machine()
        #expect(throws: ProtocolViolation.self) { try receive(&machine, type, stream: 1, size: 8) }
        var acked = Machine()
        #expect(throws: ProtocolViolation.self) { try receive(&acked, .settings, .ack) }
    }

    @Test("a full call: open, message with END_STREAM, closed by the server; late frames are ignored")
    func call() throws {
        var machine = try active()
        #expect(try receive(&machine, .callStart, stream: 1) == .openStream(1, endStream: false))
        #expect(machine.streams[1] == .open)
        #expect(
            try receive(&machine, .message, .endStream, stream: 1) == .deliver(1, endStream: true, hasMessage: true)
        )
        #expect(machine.streams[1] == .halfClosedRemote)
        #expect(throws: ProtocolViolation.self) { try receive(&machine, .message, stream: 1) }
        machine.streamClosed(1)
        #expect(try receive(&machine, .message, stream: 1) == .ignore)
        #expect(try receive(&machine, .cancel, stream: 1) == .ignore)
        #expect(try receive(&machine, .windowUpdate, stream: 1, size: 4, increment: 10) == .ignore)
    }

    @Test("a bare half-close carries no message")
    func halfClose() throws {
        var machine = try active()
        _ = try receive(&machine, .callStart, stream: 1)
        #expect(
            try receive(&machine, .message, [.endStream, .noMessage], stream: 1)
                == .deliver(1, endStream: true, hasMessage: false)
        )
    }

    @Test("stream ids must increase; MESSAGE needs an opened stream")
    func streamIDs() throws {
        var machine = try active()
        _ = try receive(&machine, .callStart, stream: 5)
        #expect(throws: ProtocolViolation.self) { try receive(&machine, .callStart, stream: 5) }
        var other = try active()
        _ = try receive(&other, .callStart, stream: 5)
        #expect(throws: ProtocolViolation.self) { try receive(&other, .callStart, stream: 3) }
        var third = try active()
        #expect(throws: ProtocolViolation.self) { try receive(&third, .message, stream: 1) }
        #expect(throws: ProtocolViolation.self) { try receive(&third, .message, stream: 0) }
    }

    @Test("draining refuses new streams above the last one and finishes when the rest end")
    func draining() throws {
        var machine = try active()
        _ = try receive(&machine, .callStart, stream: 1)
        #expect(machine.beginDrain() == 1)
        #expect(machine.beginDrain() == nil)
        #expect(!machine.isDrained)
        guard case .refuseStream(3, let error) = try receive(&machine, .callStart, stream: 3) else {
            Issue.record("not refused")
            return
        }
        #expect(error.code == .unavailable)
        machine.streamClosed(1)
        #expect(machine.isDrained)
    }

    @Test("connection frames: PING 8 bytes on stream 0, SETTINGS on stream 0, server-only frames refused")
    func connectionFrames() throws {
        var machine = try active()
        #expect(try receive(&machine, .ping, size: 8) == .answerPing)
        #expect(try receive(&machine, .ping, .ack, size: 8) == .ignore)
        #expect(throws: ProtocolViolation.self) { try receive(&machine, .ping, size: 7) }
        #expect(throws: ProtocolViolation.self) { try receive(&machine, .settings, stream: 1) }
        #expect(throws: ProtocolViolation.self) { try receive(&machine, .status, stream: 1) }
        #expect(throws: ProtocolViolation.self) { try receive(&machine, .responseStart, stream: 1) }
        #expect(throws: ProtocolViolation.self) {
            try receive(&machine, .windowUpdate, stream: 1, size: 4, increment: 0)
        }
        #expect(try receive(&machine, .goAway) == .peerGoingAway)
        #expect(throws: ProtocolViolation.self) {
            try machine.receive(typeByte: 0x42, flags: [], streamID: 0, payloadSize: 0, windowIncrement: nil)
        }
    }
}

@Suite("The server's connection handler through EmbeddedChannel")
struct ConnectionHandlerTests {
    @Test("preface, SETTINGS, a unary call: the response and status come out in one write")
    func unaryCall() throws {
        let channel = EmbeddedChannel()
        let core = ServerCore(
            configuration: ServerConfiguration(idleTimeout: nil),
            methods: EchoService().methods,
            interceptors: [],
            logger: .init(label: "test")
        )
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumPayloadSize: 1 << 20)))
        try channel.pipeline.syncOperations.addHandler(
            ServerConnectionHandler(core: core, eventLoop: channel.eventLoop, peer: "test")
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let request =
            clientHello + frame(1, stream: 1, callStart("/test.v1.Echo/Get"))
            + frame(3, 1, stream: 1, EchoRequest(text: "embedded").serializedBytes())
        try channel.writeInbound(ByteBuffer(bytes: request))
        channel.embeddedEventLoop.run()
        var writes: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(buffer) }
        let out = writes.flatMap { Array($0.readableBytesView) }
        let frames = try frames(in: out)
        // The unary fast path: the response's frames leave in one write (with the SETTINGS ack
        // that the same read produced).
        let last = try #require(writes.last)
        #expect(
            try TestSupport.frames(in: Array(last.readableBytesView)).map(\.type) == [
                .settings, .responseStart, .message, .status,
            ]
        )
        #expect(out.starts(with: ConnectionPreface.bytes))
        #expect(frames.map(\.type) == [.settings, .settings, .responseStart, .message, .status])
        #expect(try EchoResponse(buffer: frames[3].payload).text == "embedded")
        #expect(try Status(buffer: frames[4].payload).code == 0)
        _ = try? channel.finish()
    }
}
