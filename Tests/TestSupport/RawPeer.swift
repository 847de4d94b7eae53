import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
public import RPC
public import RPCSchema
import ProtoRuntime

// A raw peer of the binary protocol, for tests that send what no client would.

/// A raw TCP peer: sends bytes, collects what the server answers until it closes (or 2 s pass).
/// A server that closes before the bytes are written (an idle timeout on a loaded machine) is
/// not an error here: what it sent before closing is the answer.
public func rawExchange(_ endpoint: Endpoint, _ bytes: [UInt8]) async throws -> [UInt8] {
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            received.withLockedValue { $0 += bytes }
        }
    }
    let collector = Collector()
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
        }
        .connect(host: endpoint.host, port: endpoint.port).get()
    do {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    } catch ChannelError.ioOnClosedChannel {
        // The server closed first; fall through and return what it sent.
    } catch let error as IOError where error.errnoCode == EPIPE || error.errnoCode == ECONNRESET {
        // Likewise, seen as a broken pipe or reset when the close races the write.
    }
    let closed = channel.closeFuture
    let timeout = channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    try? await closed.get()
    timeout.cancel()
    return collector.received.withLockedValue { $0 }
}

/// Frames in a byte string (after skipping a leading preface if present).
public func frames(in bytes: [UInt8]) throws -> [Frame] {
    var buffer = ByteBuffer(bytes: bytes)
    if bytes.starts(with: ConnectionPreface.bytes) { buffer.moveReaderIndex(forwardBy: 8) }
    var result: [Frame] = []
    while let frame = try FrameDecoder.readFrame(from: &buffer, maximumPayloadSize: 1 << 24) { result.append(frame) }
    return result
}

public func frame(_ type: UInt8, _ flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt32(payload.count))
    buffer.writeInteger(type)
    buffer.writeInteger(flags)
    buffer.writeInteger(stream)
    buffer.writeBytes(payload)
    return Array(buffer.readableBytesView)
}

public let clientHello = ConnectionPreface.bytes + frame(0, stream: 0, Settings().serializedBytes())

public func callStart(_ method: String) -> [UInt8] { CallStart(method: method).serializedBytes() }

public func goAway(in bytes: [UInt8]) throws -> GoAway? {
    try frames(in: bytes).first { $0.type == .goAway }.map { try GoAway(buffer: $0.payload) }
}

