import NIOCore
import NIOPosix

/// The floor: a length-prefixed echo over raw SwiftNIO, no protocol, no decoding.
enum RawEcho {
    /// Splits `length (4, BE) | payload` frames.
    struct FrameDecoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                buffer.readableBytes >= 4 + Int(length)
            else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 4)
            guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
    }

    /// Echoes every frame; one flush per read burst.
    final class ServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        var pending: ByteBuffer?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var frame = unwrapInboundIn(data)
            var out = pending ?? context.channel.allocator.buffer(capacity: 4096)
            out.writeInteger(UInt32(frame.readableBytes))
            out.writeBuffer(&frame)
            pending = out
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            if let out = pending {
                pending = nil
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
        }
    }

    static func serve(group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Client side: replies come back in order, so a FIFO of promises matches them.
    final class ClientHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var waiting = CircularBuffer<EventLoopPromise<ByteBuffer>>()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            waiting.popFirst()?.succeed(unwrapInboundIn(data))
        }
    }

    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientHandler>

        func call(_ payload: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
            let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
            let send: @Sendable () -> Void = {
                handler.value.waiting.append(promise)
                var frame = channel.allocator.buffer(capacity: payload.readableBytes + 4)
                frame.writeInteger(UInt32(payload.readableBytes))
                var copy = payload
                frame.writeBuffer(&copy)
                channel.writeAndFlush(frame, promise: nil)
            }
            if channel.eventLoop.inEventLoop { send() } else { channel.eventLoop.execute(send) }
            return promise.futureResult
        }
    }

    static func connect(port: Int, loop: any EventLoop) async throws -> Connection {
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ClientHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: ClientHandler.self),
                eventLoop: channel.eventLoop
            )
        }.get()
        return Connection(channel: channel, handler: handler)
    }
}
