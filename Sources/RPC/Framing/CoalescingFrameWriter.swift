import NIOCore
import ProtoRuntime

/// What the server and client connection handlers share: frames are appended to one pending
/// buffer, and everything that became ready in an event-loop tick leaves in one write and one
/// flush (at the end of a read, or in one scheduled flush otherwise).
protocol CoalescingFrameWriter: AnyObject, ChannelHandler, SendableMetatype {
    var context: ChannelHandlerContext? { get }
    var pending: ByteBuffer { get set }
    var flushScheduled: Bool { get set }
    /// Inside channelRead…channelReadComplete: the read's end flushes, no need to schedule one.
    var inRead: Bool { get }
}

extension CoalescingFrameWriter {
    /// Appends a frame whose payload is a wire message, encoded in place.
    func writeControlFrame<M: ProtoRuntime.Message>(
        _ type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        message: M
    ) {
        let size = message.serializedSize()
        pending.writeFrameHeader(type: type, flags: flags, streamID: streamID, payloadLength: size)
        message.encode(into: &pending, size: size)
        scheduleFlush()
    }

    /// Appends a frame with a raw payload (or none).
    func writeControlFrame(_ type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer?) {
        pending.writeFrameHeader(
            type: type,
            flags: flags,
            streamID: streamID,
            payloadLength: payload?.readableBytes ?? 0
        )
        if var payload { pending.writeBuffer(&payload) }
        scheduleFlush()
    }

    /// One flush per event-loop tick for everything written in it.
    func scheduleFlush() {
        guard !flushScheduled, !inRead, let context else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { bound.value.flushIfNeeded() }
    }

    func flushIfNeeded() {
        flushScheduled = false
        flushNow()
    }

    func flushNow() {
        guard let context, pending.readableBytes > 0 else { return }
        let out = pending
        pending = context.channel.allocator.buffer(capacity: max(1024, out.readableBytes))
        context.writeAndFlush(NIOAny(out), promise: nil)
    }
}
