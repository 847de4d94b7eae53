import NIOCore
import NIOEmbedded
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Frame decoder through EmbeddedChannel")
struct FrameDecoderTests {
    func channel(maximum: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maximumPayloadSize: maximum)))
        return channel
    }

    @Test("a preface and frames fed one byte at a time come out whole, as slices")
    func byteByByte() throws {
        let channel = try channel()
        let bytes = ConnectionPreface.bytes + frame(3, 1, stream: 7, [1, 2, 3]) + frame(0, stream: 0, [])
        for byte in bytes {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        let first = try #require(try channel.readInbound(as: Frame.self))
        #expect(first.type == .message)
        #expect(first.flags == .endStream)
        #expect(first.streamID == 7)
        #expect(Array(first.payload.readableBytesView) == [1, 2, 3])
        let second = try #require(try channel.readInbound(as: Frame.self))
        #expect(second.type == .settings)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test("a length over the maximum is refused from the header alone")
    func oversized() throws {
        let channel = try channel(maximum: 16)
        #expect(throws: ProtocolViolation.self) {
            try channel.writeInbound(ByteBuffer(bytes: ConnectionPreface.bytes + [0, 0, 0, 17]))
        }
    }

    @Test("a wrong first byte is refused at once; an HTTP request is recognised")
    func badPreface() throws {
        let channel = try channel()
        do {
            try channel.writeInbound(ByteBuffer(string: "G"))
            Issue.record("accepted a bad preface")
        } catch let violation as ProtocolViolation {
            #expect(violation.looksLikeHTTP)
            #expect(violation.code == .protocolError)
        }
    }

    @Test("a frame split across reads waits for the rest")
    func partial() throws {
        let channel = try channel()
        let whole = ConnectionPreface.bytes + frame(3, stream: 1, Array(repeating: 9, count: 100))
        try channel.writeInbound(ByteBuffer(bytes: whole.prefix(50)))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        try channel.writeInbound(ByteBuffer(bytes: whole.dropFirst(50)))
        #expect(try channel.readInbound(as: Frame.self)?.payload.readableBytes == 100)
    }

    @Test("random bytes after a preface never crash the decoder")
    func fuzzShort() {
        var fuzzer = FrameFuzzer(seed: 7)
        let report = fuzzer.run(iterations: 20_000)
        #expect(report.frames > 0 && report.violations > 0, "\(report)")
    }
}
