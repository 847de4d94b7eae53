import HummingbirdCore
import Logging
import NIOCore

/// Closes a connection whose first request head (request line and headers, up to the empty line)
/// has not fully arrived within the timeout, however slowly its bytes trickle in. It watches the
/// raw bytes ahead of the HTTP decoder and leaves the pipeline once the head is complete; later
/// requests on the connection are bounded by Hummingbird's idle timeout, which runs whenever no
/// request is in progress and nothing is read (before the first request too: a connection is
/// closed by whichever of the two ends first).
final class RequestHeadTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    var timer: Scheduled<Void>?
    /// The last bytes seen, to find a CR LF CR LF split across reads.
    var tail: [UInt8] = []
    var headComplete = false

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func arm(_ context: ChannelHandlerContext) {
        guard timer == nil, !headComplete else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headComplete {
            let buffer = unwrapInboundIn(data)
            let window = tail + buffer.readableBytesView.suffix(4096)
            if window.firstRange(of: [13, 10, 13, 10]) != nil
                || buffer.readableBytesView.firstRange(of: [13, 10, 13, 10]) != nil
            {
                headComplete = true
                timer?.cancel()
                timer = nil
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            tail = Array(window.suffix(3))
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}

/// HTTP/1.1 with the gateway's timeouts: Hummingbird's channel, and ahead of its decoder the
/// request-head timeout.
struct GatewayHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel
    let requestHeadTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(RequestHeadTimeoutHandler(timeout: requestHeadTimeout))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
