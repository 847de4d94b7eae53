import Logging
import NIOCore
import ProtoRuntime
import RPCSchema

/// Where a call's stream events go (on the event loop). A class, not a closure, so a call costs
/// one object rather than a closure context and boxes for what it captures.
protocol ClientStreamSink: AnyObject {
    func receive(_ event: ClientStreamEvent)
}

/// Adapts a closure (streaming calls).
final class ClosureSink: ClientStreamSink {
    let body: (ClientStreamEvent) -> Void
    init(_ body: @escaping (ClientStreamEvent) -> Void) { self.body = body }
    func receive(_ event: ClientStreamEvent) { body(event) }
}

/// What a call hears from its stream, on the event loop.
enum ClientStreamEvent {
    case responseStart(Metadata)
    case message(ByteBuffer)
    /// The end of the call: nil for OK.
    case finished(RPCError?, trailers: Metadata)
    /// The server never processed the call (it was above a GOAWAY's last stream id, or the
    /// connection was closing before it was sent): the call may be retried elsewhere.
    case refused(RPCError)
}

/// The client side of one connection: opens streams, writes requests, routes response frames
/// to their calls, answers pings, honours GOAWAY. Runs on the channel's event loop only.
final class ClientConnectionHandler: ChannelInboundHandler, CoalescingFrameWriter {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    struct Stream {
        var sink: any ClientStreamSink
        var deadline: Scheduled<Void>?
        var sendWindow: Int
        var windowWaiters: [CheckedContinuation<Void, any Error>] = []
        var consumedSinceUpdate = 0
        var method: String
        let startTime: ContinuousClock.Instant
    }

    enum State {
        case open
        /// GOAWAY received: no new streams here.
        case goingAway(lastStreamID: UInt32)
        case closed(RPCError)
    }

    var state: State = .open
    var streams: [UInt32: Stream] = [:]
    var nextStreamID: UInt32 = 1
    var peerInitialWindow = Int(ServerCore.defaultWindow)
    /// The largest frame payload the server accepts (its SETTINGS; the protocol's default until then).
    var peerMaximumFrameSize = 4 << 20
    var context: ChannelHandlerContext?
    var pending = ByteBuffer()
    var flushScheduled = false
    /// A keepalive PING was sent and its ACK has not come back yet.
    var pingOutstanding = false
    /// Inside channelRead…channelReadComplete: the read's end flushes.
    var inRead = false
    let maximumFrameSize: Int
    let metrics: RPCMetrics
    let onClose: @Sendable () -> Void

    init(maximumFrameSize: Int, metrics: RPCMetrics, onClose: @escaping @Sendable () -> Void) {
        self.maximumFrameSize = maximumFrameSize
        self.metrics = metrics
        self.onClose = onClose
    }

    var acceptsStreams: Bool {
        if case .open = state { return nextStreamID < UInt32.max - 1 }
        return false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        pending = context.channel.allocator.buffer(capacity: 1024)
    }

    func channelActive(context: ChannelHandlerContext) {
        pending.writeBytes(ConnectionPreface.bytes)
        var settings = Settings()
        settings.maxFrameSize = UInt32(maximumFrameSize)
        settings.initialWindowSize = ServerCore.defaultWindow
        settings.agent = "marketplace-rpc/1"
        writeControlFrame(.settings, streamID: 0, message: settings)
        flushNow()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll(RPCError(code: .unavailable, message: "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: String
        if let violation = error as? ProtocolViolation {
            if violation.looksLikeHTTP {
                reason = "the peer is not speaking this protocol (it answered like an HTTP server)"
            } else if violation.code == .protocolError, violation.reason.hasPrefix("not a marketplace-rpc peer") {
                reason = "the peer is not speaking this protocol (bad connection preface)"
            } else {
                reason = "protocol error from the peer: \(violation.reason)"
            }
        } else {
            reason = "connection error: \(error)"
        }
        closeAll(RPCError(code: .unavailable, message: reason))
        context.close(promise: nil)
    }

    func closeAll(_ error: RPCError) {
        if case .closed = state { return }
        state = .closed(error)
        let all = streams
        streams.removeAll()
        for (_, stream) in all {
            stream.deadline?.cancel()
            for waiter in stream.windowWaiters { waiter.resume(throwing: error) }
            stream.sink.receive(.finished(error, trailers: Metadata()))
        }
        onClose()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        inRead = true
        do {
            try handle(frame)
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func handle(_ frame: Frame) throws {
        guard let type = frame.type else {
            throw ProtocolViolation(.protocolError, "unknown frame type 0x\(String(frame.typeByte, radix: 16))")
        }
        switch type {
        case .settings:
            if frame.flags.contains(.ack) { return }
            let settings = try decode(Settings.self, frame)
            if settings.initialWindowSize > 0 { peerInitialWindow = Int(settings.initialWindowSize) }
            if settings.maxFrameSize > 0 { peerMaximumFrameSize = Int(settings.maxFrameSize) }
            writeControlFrame(.settings, flags: .ack, streamID: 0, payload: nil)
        case .ping:
            if frame.flags.contains(.ack) { pingOutstanding = false }
            if !frame.flags.contains(.ack) {
                pending.writeFrame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload)
                scheduleFlush()
            }
        case .goAway:
            let goAway = try decode(GoAway.self, frame)
            state = .goingAway(lastStreamID: goAway.lastStreamId)
            // The pool learns first, so a refused call that is retried gets a new connection.
            onClose()
            let refused = streams.filter { $0.key > goAway.lastStreamId }
            for (id, _) in refused {
                finish(
                    id,
                    RPCError(code: .unavailable, message: "the server is going away: \(goAway.reason)"),
                    trailers: Metadata(),
                    refused: true
                )
            }
            if streams.isEmpty { context?.close(promise: nil) }
        case .responseStart:
            let start = try decode(ResponseStart.self, frame)
            streams[frame.streamID]?.sink.receive(.responseStart(Metadata(wireEntries: start.metadata)))
        case .message:
            streams[frame.streamID]?.sink.receive(.message(frame.payload))
        case .status:
            let status = try decode(Status.self, frame)
            let trailers = Metadata(wireEntries: status.trailers)
            let error =
                status.code == 0
                ? nil
                : RPCError(
                    code: RPCCode(rawValue: status.code),
                    message: status.message,
                    details: status.details,
                    metadata: trailers
                )
            finish(frame.streamID, error, trailers: trailers)
        case .windowUpdate:
            guard frame.payload.readableBytes == 4,
                let increment = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self)
            else { throw ProtocolViolation(.protocolError, "malformed WINDOW_UPDATE") }
            guard var stream = streams[frame.streamID] else { return }
            stream.sendWindow += Int(increment)
            let waiters = stream.sendWindow > 0 ? stream.windowWaiters : []
            if stream.sendWindow > 0 { stream.windowWaiters = [] }
            streams[frame.streamID] = stream
            for waiter in waiters { waiter.resume() }
        case .callStart, .cancel:
            throw ProtocolViolation(.protocolError, "\(type) frames are sent by clients only")
        }
    }

    func decode<M: ProtoRuntime.Message>(_: M.Type, _ frame: Frame) throws -> M {
        do {
            return try M(buffer: frame.payload)
        } catch {
            throw ProtocolViolation(.protocolError, "malformed frame payload: \(error)")
        }
    }

    func finish(_ id: UInt32, _ error: RPCError?, trailers: Metadata, refused: Bool = false) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        stream.deadline?.cancel()
        for waiter in stream.windowWaiters {
            waiter.resume(throwing: error ?? RPCError(code: .cancelled, message: "call ended"))
        }
        metrics.record(
            method: stream.method,
            code: error?.code ?? .ok,
            duration: ContinuousClock.now - stream.startTime
        )
        if refused, let error {
            stream.sink.receive(.refused(error))
        } else {
            stream.sink.receive(.finished(error, trailers: trailers))
        }
        if case .goingAway = state, streams.isEmpty { context?.close(promise: nil) }
    }

    // MARK: Outbound (called on the loop by calls)

    /// Opens a stream: CALL_START, and the first request message if given. Returns nil (and
    /// reports through `sink`) if the connection cannot take it.
    func open(
        method: MethodDescriptor,
        metadata: Metadata,
        timeout: Duration?,
        firstMessage: (any ProtoRuntime.Message)?,
        endStream: Bool,
        sink: any ClientStreamSink
    ) -> UInt32? {
        guard acceptsStreams, let context else {
            var error = RPCError(code: .unavailable, message: "connection is closing")
            if case .closed(let reason) = state { error = reason }
            // Nothing was sent: the call may go to another connection.
            sink.receive(.refused(error))
            return nil
        }
        if let firstMessage, firstMessage.serializedSize() > peerMaximumFrameSize {
            // The server would close the connection over it, failing every call on it.
            let size = firstMessage.serializedSize()
            sink.receive(
                .finished(
                    RPCError.messageTooLarge("request message", size: size, limit: peerMaximumFrameSize),
                    trailers: Metadata()
                )
            )
            return nil
        }
        let id = nextStreamID
        nextStreamID += 1
        var start = CallStart()
        start.method = method.path
        start.metadata = metadata.wireEntries
        var deadline: Scheduled<Void>?
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            let nanos = max(
                1,
                seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
                    ? Int64.max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
            )
            start.timeoutMicros = UInt64(max(1, nanos / 1000))
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                bound.value.cancel(id, error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
            }
        }
        streams[id] = Stream(
            sink: sink,
            deadline: deadline,
            sendWindow: peerInitialWindow,
            method: method.path,
            startTime: .now
        )
        let onlyStart = firstMessage == nil && endStream
        writeControlFrame(.callStart, flags: onlyStart ? .endStream : [], streamID: id, message: start)
        if let firstMessage {
            writeMessage(id, firstMessage, endStream: endStream)
        }
        return id
    }

    /// Writes a request message; returns false if the window is exhausted (caller waits), nil if
    /// the stream is gone.
    @discardableResult
    func writeMessage(_ id: UInt32, _ message: any ProtoRuntime.Message, endStream: Bool) -> Bool? {
        guard var stream = streams[id] else { return nil }
        guard stream.sendWindow > 0 else { return false }
        let size = message.serializedSize()
        guard size <= peerMaximumFrameSize else {
            cancel(id, error: RPCError.messageTooLarge("request message", size: size, limit: peerMaximumFrameSize))
            return nil
        }
        pending.writeFrameHeader(type: .message, flags: endStream ? .endStream : [], streamID: id, payloadLength: size)
        message.encode(into: &pending, size: size)
        stream.sendWindow -= size
        streams[id] = stream
        scheduleFlush()
        return true
    }

    func endStream(_ id: UInt32) {
        guard streams[id] != nil else { return }
        pending.writeFrameHeader(type: .message, flags: [.endStream, .noMessage], streamID: id, payloadLength: 0)
        scheduleFlush()
    }

    func waitForWindow(_ id: UInt32, _ continuation: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[id] else {
            return continuation.resume(throwing: RPCError(code: .cancelled, message: "call ended"))
        }
        if stream.sendWindow > 0 { return continuation.resume() }
        streams[id]?.windowWaiters.append(continuation)
    }

    func consumed(_ id: UInt32, bytes: Int) {
        guard var stream = streams[id] else { return }
        stream.consumedSinceUpdate += bytes
        if stream.consumedSinceUpdate >= Int(ServerCore.defaultWindow) / 2 {
            var payload = ByteBuffer()
            payload.writeInteger(UInt32(truncatingIfNeeded: stream.consumedSinceUpdate))
            pending.writeFrame(type: .windowUpdate, streamID: id, payload: payload)
            stream.consumedSinceUpdate = 0
            scheduleFlush()
        }
        streams[id] = stream
    }

    /// Gives up on a call: CANCEL to the server, the error to the caller.
    func cancel(_ id: UInt32, error: RPCError) {
        guard streams[id] != nil else { return }
        var cancel = Cancel()
        cancel.reason = error.message
        writeControlFrame(.cancel, streamID: id, message: cancel)
        finish(id, error, trailers: Metadata())
    }

    /// A keepalive tick: if the previous PING is still unanswered the peer is gone (or the path
    /// to it is), so the connection fails its calls with UNAVAILABLE; otherwise ping again.
    func keepalive() {
        if pingOutstanding {
            closeAll(RPCError(code: .unavailable, message: "the server stopped answering keepalive pings"))
            context?.close(promise: nil)
            return
        }
        pingOutstanding = true
        var payload = ByteBuffer()
        payload.writeInteger(UInt64.random(in: 0 ... .max))
        pending.writeFrame(type: .ping, streamID: 0, payload: payload)
        scheduleFlush()
    }
}
