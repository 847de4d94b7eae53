import Logging
import NIOConcurrencyHelpers
import NIOCore
import ProtoRuntime
import RPCSchema

/// The server side of one connection: checks frames against the protocol, keeps the stream
/// table, starts a task per call (on this connection's event loop) and writes responses,
/// coalescing all frames ready in one event-loop tick into one write and one flush.
///
/// Everything here runs on the channel's event loop; tasks reach it through
/// ``ServerStreamHandle``.
final class ServerConnectionHandler: ChannelDuplexHandler, CoalescingFrameWriter {
    typealias InboundIn = Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Stream {
        var method: ServerMethod
        var context: ServerContext
        var requestReceived = false
        var inbound: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var task: Task<Void, Never>?
        var deadline: Scheduled<Void>?
        var sendWindow: Int
        var windowWaiters: [CheckedContinuation<Void, any Error>] = []
        var unacknowledgedReceived = 0
        var consumedSinceUpdate = 0
        var responseStarted = false
        let startTime: ContinuousClock.Instant
        /// Ends the call if its first request message does not come in time.
        var firstMessageTimer: Scheduled<Void>?
        /// What this call makes the connection hold (its metadata, and for streaming calls the
        /// request bytes received and not yet consumed), counted in ``bufferedRequestBytes``.
        var heldBytes = 0
        /// The part of ``heldBytes`` that is metadata (held until the call ends).
        var metadataBytes = 0
    }

    let core: ServerCore
    /// The protocol's rules; this handler performs what it decides.
    var machine = ServerConnectionStateMachine()
    var isClosed = false
    var streams: [UInt32: Stream] = [:]
    var highestStreamID: UInt32 { machine.highestStreamID }
    var peerInitialWindow = Int(ServerCore.defaultWindow)
    /// The largest frame payload the client accepts (its SETTINGS; our own default until then).
    var peerMaximumFrameSize: Int
    var context: ChannelHandlerContext?
    var pending: ByteBuffer
    var flushScheduled = false
    /// Inside channelRead…channelReadComplete: the read's end flushes, no need to schedule one.
    var inRead = false
    var idleTimer: Scheduled<Void>?
    /// When the connection last saw a call frame or its last call ended; the idle timer checks it
    /// instead of being re-armed per frame.
    var lastActivity = NIODeadline.now()
    /// The sum of every open call's ``Stream/heldBytes``, bounded by
    /// ``ServerConfiguration/maximumBufferedRequestBytes``.
    var bufferedRequestBytes = 0
    /// Backpressure: while the responses queued for the peer are above the high-water mark, no
    /// more is read from the socket and frames already decoded wait here, in order.
    var readsPaused = false
    var heldFrames = CircularBuffer<Frame>()
    /// A read the channel asked for while paused; issued on resuming.
    var readRequested = false
    /// Since when reading has been paused (a peer that never reads is closed after the idle timeout).
    var pausedSince: NIODeadline?
    var drainTimer: Scheduled<Void>?
    let executor: EventLoopTaskExecutor
    let peer: String
    var connectionID: ObjectIdentifier { ObjectIdentifier(self) }

    init(core: ServerCore, eventLoop: any EventLoop, peer: String) {
        self.core = core
        self.executor = EventLoopTaskExecutor(eventLoop)
        self.pending = ByteBufferAllocator().buffer(capacity: 0)
        self.peer = peer
        self.peerMaximumFrameSize = core.configuration.maximumFrameSize
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.pending = context.channel.allocator.buffer(capacity: 1024)
    }

    func channelActive(context: ChannelHandlerContext) {
        core.register(self, eventLoop: context.eventLoop)
        armIdleTimer()
        context.fireChannelActive()
    }

    /// Our preface and SETTINGS go out once the client's preface checks out, so a wrong peer
    /// (an HTTP client) sees only the answer meant for it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is PrefaceReceived else { return context.fireUserInboundEventTriggered(event) }
        pending.writeBytes(ConnectionPreface.bytes)
        var settings = Settings()
        settings.maxFrameSize = UInt32(core.configuration.maximumFrameSize)
        settings.maxConcurrentStreams = UInt32(core.configuration.maximumConcurrentStreams)
        settings.initialWindowSize = ServerCore.defaultWindow
        settings.agent = "marketplace-rpc/1"
        writeControlFrame(.settings, streamID: 0, message: settings)
        flushNow()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        idleTimer?.cancel()
        drainTimer?.cancel()
        for (_, stream) in streams { cancel(stream, reason: "connection closed") }
        streams.removeAll()
        bufferedRequestBytes = 0
        heldFrames.removeAll()
        core.unregister(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let violation = error as? ProtocolViolation {
            fail(violation)
        } else if error is ChannelError || error is IOError {
            context.close(promise: nil)
        } else {
            core.logger.debug("connection error", metadata: ["peer": .string(peer), "error": .string("\(error)")])
            context.close(promise: nil)
        }
    }

    /// Answers a protocol violation: GOAWAY with the reason (or an HTTP 400 to an HTTP client), then close.
    func fail(_ violation: ProtocolViolation) {
        guard let context, !isClosed else { return }
        core.logger.info(
            "closing connection after protocol violation",
            metadata: ["peer": .string(peer), "violation": .string(violation.description)]
        )
        if violation.looksLikeHTTP {
            let body = "This port speaks the marketplace binary RPC protocol, not HTTP. Use the gateway or rpcctl.\n"
            let response =
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            pending.writeString(response)
        } else {
            var goAway = GoAway()
            goAway.lastStreamId = highestStreamID
            goAway.errorCode = violation.code.rawValue
            goAway.reason = violation.reason
            writeControlFrame(.goAway, streamID: 0, message: goAway)
        }
        isClosed = true
        flushNow()
        for (_, stream) in streams { cancel(stream, reason: "connection closed") }
        streams.removeAll()
        bufferedRequestBytes = 0
        heldFrames.removeAll()
        if violation.code == .idleTimeout {
            closeLingering(context)
        } else {
            context.close(promise: nil)
        }
    }

    /// After an idle GOAWAY the client may have a call on its way (it cannot know yet). Closing at
    /// once would answer that call's bytes with a TCP reset, which can destroy the GOAWAY before
    /// the client reads it; so only our side is closed, what still comes is read and dropped, and
    /// the connection closes when the client closes its side (on reading the GOAWAY) or after a
    /// second.
    func closeLingering(_ context: ChannelHandlerContext) {
        let channel = context.channel
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        readsPaused = false
        pausedSince = nil
        context.read()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !isClosed else { return }
        inRead = true
        process(frame)
    }

    /// Handles a frame, unless the peer's unread responses are above the high-water mark: then
    /// reading pauses and the frame waits its turn.
    func process(_ frame: Frame) {
        if !readsPaused && queuedResponseBytes >= core.configuration.responseHighWaterMark { pauseReading() }
        if readsPaused {
            heldFrames.append(frame)
            return
        }
        handleNow(frame)
    }

    func handleNow(_ frame: Frame) {
        do {
            try handle(frame)
        } catch let violation as ProtocolViolation {
            fail(violation)
        } catch {
            fail(ProtocolViolation(.internalError, "\(error)"))
        }
        checkQueuedResponses()
    }

    // MARK: Backpressure

    /// Response bytes not yet taken by the socket: the pending buffer and the channel's own.
    var queuedResponseBytes: Int {
        let inChannel = (try? context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        return pending.readableBytes + inChannel
    }

    func pauseReading() {
        readsPaused = true
        pausedSince = .now()
        flushNow()
        // Written at once by the socket, the queue may already be low again: the channel then
        // never becomes unwritable, so look once more after this tick.
        if let context {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { bound.value.resumeIfDrained() }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { resumeIfDrained() }
        context.fireChannelWritabilityChanged()
    }

    /// Once the queued responses are down to half the high-water mark: the held frames are
    /// handled (which may pause again), then reading resumes.
    func resumeIfDrained() {
        guard readsPaused, !isClosed, let context else { return }
        guard queuedResponseBytes <= core.configuration.responseHighWaterMark / 2 else { return }
        readsPaused = false
        pausedSince = nil
        inRead = true
        while !isClosed, let frame = heldFrames.first {
            if queuedResponseBytes >= core.configuration.responseHighWaterMark {
                pauseReading()
                break
            }
            _ = heldFrames.popFirst()
            handleNow(frame)
        }
        inRead = false
        flushNow()
        if !readsPaused { resumeWriters() }
        if !readsPaused && readRequested {
            readRequested = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readRequested = true
        } else {
            context.read()
        }
    }

    /// Calls already running may write while reading is paused; past the hard cap the
    /// connection is closed.
    func checkQueuedResponses() {
        let limit = core.configuration.maximumQueuedResponseBytes
        guard pending.readableBytes > limit / 2 || readsPaused, !isClosed else { return }
        let queued = queuedResponseBytes
        guard queued > limit else { return }
        fail(
            ProtocolViolation(
                .resourceLimit,
                "more than \(limit) bytes of responses queued for a peer that does not read them"
            )
        )
    }

    /// What the connection holds right now.
    var statistics: ConnectionStatistics {
        ConnectionStatistics(
            openCalls: streams.count,
            queuedResponseBytes: queuedResponseBytes,
            heldFrames: heldFrames.count,
            readsPaused: readsPaused,
            bufferedRequestBytes: bufferedRequestBytes
        )
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func handle(_ frame: Frame) throws {
        let increment =
            frame.payload.readableBytes == 4
            ? frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) : nil
        let action = try machine.receive(
            typeByte: frame.typeByte,
            flags: frame.flags,
            streamID: frame.streamID,
            payloadSize: frame.payload.readableBytes,
            windowIncrement: increment
        )
        switch action {
        case .ignore: break
        case .applySettings: try applySettings(frame)
        case .answerPing:
            pending.writeFrame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload)
            scheduleFlush()
        case .peerGoingAway: beginDrain(reason: "peer sent GOAWAY")
        case .openStream(let id, let endStream): try openStream(id, frame, endStream: endStream)
        case .refuseStream(let id, let error): sendStatus(id, error)
        case .deliver(let id, let endStream, let hasMessage):
            try deliver(id, frame, endStream: endStream, hasMessage: hasMessage)
        case .cancelStream(let id): cancelStream(id)
        case .windowUpdate(let id, let increment): windowUpdate(id, increment)
        }
        // Calls count as activity; pings and settings do not (keepalive must not defeat idling).
        switch action {
        case .openStream, .deliver, .cancelStream: lastActivity = .now()
        default: break
        }
    }

    func decodePayload<M: ProtoRuntime.Message>(_: M.Type, _ frame: Frame) throws -> M {
        do {
            return try M(buffer: frame.payload)
        } catch {
            throw ProtocolViolation(.protocolError, "malformed \(frame.type.map { "\($0)" } ?? "") payload: \(error)")
        }
    }

    func applySettings(_ frame: Frame) throws {
        let settings = try decodePayload(Settings.self, frame)
        if settings.initialWindowSize > 0 { peerInitialWindow = Int(settings.initialWindowSize) }
        if settings.maxFrameSize > 0 { peerMaximumFrameSize = Int(settings.maxFrameSize) }
        writeControlFrame(.settings, flags: .ack, streamID: 0, payload: nil)
    }

    /// Refuses a stream the state machine opened (unknown method, too many calls).
    func refuse(_ id: UInt32, _ error: RPCError) {
        machine.streamClosed(id)
        sendStatus(id, error)
    }

    func openStream(_ id: UInt32, _ frame: Frame, endStream: Bool) throws {
        let limit = core.configuration.maximumMetadataSize
        // Too large to hold the allowed metadata and a method name: refused without decoding, so
        // an oversized CALL_START costs no more than its bytes.
        guard frame.payload.readableBytes <= limit + ServerConnectionHandler.callStartAllowance else {
            core.metrics.record(method: RPCMetrics.unknownMethod, code: .resourceExhausted, duration: nil)
            refuse(
                id,
                RPCError(code: .resourceExhausted, message: "call metadata exceeds the maximum of \(limit) bytes")
            )
            return
        }
        let callStart = try decodePayload(CallStart.self, frame)
        let metadataSize = ServerConnectionHandler.metadataSize(callStart.metadata)
        guard metadataSize <= limit else {
            core.metrics.record(method: core.metricsLabel(callStart.method), code: .resourceExhausted, duration: nil)
            refuse(
                id,
                RPCError(
                    code: .resourceExhausted,
                    message: "call metadata of \(metadataSize) bytes exceeds the maximum of \(limit) bytes"
                )
            )
            return
        }
        guard bufferedRequestBytes + metadataSize <= core.configuration.maximumBufferedRequestBytes else {
            core.metrics.record(method: core.metricsLabel(callStart.method), code: .resourceExhausted, duration: nil)
            refuse(id, bufferedBytesExceeded())
            return
        }
        guard let method = core.methods[callStart.method] else {
            core.metrics.record(method: RPCMetrics.unknownMethod, code: .unimplemented, duration: nil)
            refuse(id, RPCError(code: .unimplemented, message: "unknown method \(callStart.method)"))
            return
        }
        guard streams.count < core.configuration.maximumConcurrentStreams else {
            core.metrics.record(method: callStart.method, code: .resourceExhausted, duration: nil)
            refuse(
                id,
                RPCError(
                    code: .resourceExhausted,
                    message:
                        "too many concurrent calls on this connection (maximum \(core.configuration.maximumConcurrentStreams))"
                )
            )
            return
        }
        var metadata = Metadata()
        for entry in callStart.metadata {
            if entry.key.hasSuffix("-bin") {
                metadata.add(entry.key, binary: entry.binaryValue)
            } else {
                metadata.add(entry.key, entry.value)
            }
        }
        let now = ContinuousClock.now
        var deadline: ContinuousClock.Instant?
        if callStart.timeoutMicros > 0 {
            let micros = min(callStart.timeoutMicros, UInt64(Int64.max / 1000))
            deadline = now.advanced(by: .microseconds(Int64(micros)))
        }
        let traceID = metadata[MetadataKeys.traceID] ?? IDGenerator.make()
        let requestID = metadata[MetadataKeys.requestID] ?? IDGenerator.make()
        let serverContext = ServerContext(
            method: method.descriptor,
            metadata: metadata,
            deadline: deadline,
            traceID: traceID,
            requestID: requestID,
            logger: core.logger,
            peer: peer
        )
        var stream = Stream(method: method, context: serverContext, sendWindow: peerInitialWindow, startTime: now)
        stream.heldBytes = metadataSize
        stream.metadataBytes = metadataSize
        if let loop = context?.eventLoop {
            let bound = NIOLoopBound(self, eventLoop: loop)
            if let deadline {
                let delay = TimeAmount.nanoseconds(
                    Int64(
                        clamping: (deadline - now).components.seconds * 1_000_000_000 + (deadline - now).components
                            .attoseconds / 1_000_000_000
                    )
                )
                stream.deadline = loop.scheduleTask(in: delay) { bound.value.deadlineExceeded(id) }
            }
            if !endStream, let wait = core.configuration.firstMessageTimeout {
                stream.firstMessageTimer = loop.scheduleTask(in: wait) {
                    bound.value.firstMessageTimedOut(id, after: wait)
                }
            }
        }
        bufferedRequestBytes += metadataSize
        streams[id] = stream
        if case .streamingRequest(let body) = method.body {
            let (raw, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            streams[id]?.inbound = continuation
            if endStream { continuation.finish() }
            start(id, serverContext) { context, handle in try await body(raw, context, handle) }
        } else if endStream {
            finishStream(id, error: RPCError(code: .invalidArgument, message: "expected one request message, got none"))
        }
    }

    func deliver(_ id: UInt32, _ frame: Frame, endStream: Bool, hasMessage: Bool) throws {
        guard var stream = streams[id] else { return }
        stream.firstMessageTimer?.cancel()
        stream.firstMessageTimer = nil
        stream.unacknowledgedReceived += frame.payload.readableBytes
        if stream.unacknowledgedReceived > Int(ServerCore.defaultWindow) + core.configuration.maximumFrameSize {
            throw ProtocolViolation(.protocolError, "stream \(id) sent past its flow-control window")
        }
        switch stream.method.body {
        case .singleRequest(let body):
            if !hasMessage {
                streams[id] = stream
                if !stream.requestReceived {
                    finishStream(
                        id,
                        error: RPCError(code: .invalidArgument, message: "expected one request message, got none")
                    )
                }
                return
            }
            guard !stream.requestReceived else {
                streams[id] = stream
                finishStream(
                    id,
                    error: RPCError(code: .invalidArgument, message: "expected one request message, got more")
                )
                return
            }
            stream.requestReceived = true
            streams[id] = stream
            let payload = frame.payload
            let context = stream.context
            start(id, context) { context, handle in try await body(payload, context, handle) }
        case .streamingRequest:
            if hasMessage {
                let size = frame.payload.readableBytes
                guard bufferedRequestBytes + size <= core.configuration.maximumBufferedRequestBytes else {
                    streams[id] = stream
                    finishStream(id, error: bufferedBytesExceeded())
                    return
                }
                stream.heldBytes += size
                bufferedRequestBytes += size
            }
            streams[id] = stream
            if hasMessage { stream.inbound?.yield(frame.payload) }
            if endStream { stream.inbound?.finish() }
        }
    }

    func cancelStream(_ id: UInt32) {
        guard let stream = removeStream(id) else { return }
        core.metrics.record(
            method: stream.method.descriptor.path,
            code: .cancelled,
            duration: ContinuousClock.now - stream.startTime
        )
        cancel(stream, reason: "cancelled by the client")
        drainIfDone()
    }

    func windowUpdate(_ id: UInt32, _ increment: UInt32) {
        guard var stream = streams[id] else { return }
        stream.sendWindow += Int(increment)
        let waiters = stream.sendWindow > 0 ? stream.windowWaiters : []
        if stream.sendWindow > 0 { stream.windowWaiters = [] }
        streams[id] = stream
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Calls

    /// Runs the call's interceptors, then `body` with the context they leave (a caller filled in,
    /// say).
    func start(
        _ id: UInt32,
        _ context: ServerContext,
        _ body: @escaping @Sendable (ServerContext, ServerStreamHandle) async throws -> Void
    ) {
        guard let channelContext = self.context else { return }
        let handle = ServerStreamHandle(
            handler: NIOLoopBound(self, eventLoop: channelContext.eventLoop),
            eventLoop: channelContext.eventLoop,
            streamID: id,
            allocator: channelContext.channel.allocator
        )
        let interceptors = core.interceptors
        let callContext = CallContext(
            deadline: context.deadline,
            traceID: context.traceID,
            requestID: context.requestID
        )
        // Started immediately, on this thread: a handler that does not suspend (most unary
        // handlers) completes inside this read, and its response leaves with the read's flush.
        let task = Task.immediate(executorPreference: executor) {
            await CallContext.$current.withValue(callContext) {
                do {
                    try await ServerConnectionHandler.run(interceptors: interceptors[...], context: context) {
                        updated in
                        try await body(updated, handle)
                    }
                } catch {
                    handle.finish(error: error)
                }
            }
        }
        streams[id]?.task = task
    }

    static func run(
        interceptors: ArraySlice<any ServerInterceptor>,
        context: ServerContext,
        body: @escaping @Sendable (ServerContext) async throws -> Void
    ) async throws {
        guard let first = interceptors.first else { return try await body(context) }
        let rest = interceptors.dropFirst()
        try await first.intercept(context: context) { updated in
            try await run(interceptors: rest, context: updated, body: body)
        }
    }

    func deadlineExceeded(_ id: UInt32) {
        guard streams[id] != nil else { return }
        finishStream(id, error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
    }

    func firstMessageTimedOut(_ id: UInt32, after wait: TimeAmount) {
        guard streams[id] != nil else { return }
        finishStream(
            id,
            error: RPCError(code: .deadlineExceeded, message: "no request message within \(wait) of the call's start")
        )
    }

    /// Forgets a stream: what it held is released, and a connection left without calls starts
    /// its idle time now.
    func removeStream(_ id: UInt32) -> Stream? {
        guard let stream = streams.removeValue(forKey: id) else { return nil }
        bufferedRequestBytes -= stream.heldBytes
        if streams.isEmpty { lastActivity = .now() }
        return stream
    }

    func bufferedBytesExceeded() -> RPCError {
        RPCError(
            code: .resourceExhausted,
            message:
                "this connection's calls hold more than \(core.configuration.maximumBufferedRequestBytes) bytes of requests"
        )
    }

    /// Room in a CALL_START beyond its metadata: the method name, the timeout, the encoding.
    static let callStartAllowance = 4096

    /// Metadata size as HTTP/2 counts a header list: key + value + 32 bytes per entry.
    static func metadataSize(_ entries: [MetadataEntry]) -> Int {
        entries.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + $1.binaryValue.count + 32 }
    }

    func cancel(_ stream: Stream, reason: String) {
        stream.deadline?.cancel()
        stream.firstMessageTimer?.cancel()
        stream.task?.cancel()
        stream.inbound?.finish(throwing: CancellationError())
        for waiter in stream.windowWaiters { waiter.resume(throwing: CancellationError()) }
    }

    /// Ends a stream with an error status (or OK when `error` is nil) and forgets it.
    func finishStream(_ id: UInt32, error: (any Error)?) {
        guard let stream = removeStream(id) else { return }
        machine.streamClosed(id)
        let rpcError = error.map { ServerConnectionHandler.status(for: $0, logger: stream.context.logger) }
        core.metrics.record(
            method: stream.method.descriptor.path,
            code: rpcError?.code ?? .ok,
            duration: ContinuousClock.now - stream.startTime
        )
        writeResponseStartIfNeeded(stream, id)
        sendStatus(id, rpcError, trailers: stream.context.response.trailers)
        cancel(stream, reason: "finished")
        drainIfDone()
    }

    /// The status a caller sees for an error thrown by a handler: its own for `RPCError`, a
    /// chosen one for `RPCErrorConvertible`, `CANCELLED` for cancellation, otherwise INTERNAL with
    /// nothing of the original (which is logged).
    static func status(for error: any Error, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError: return error
        case let error as any RPCErrorConvertible: return error.rpcError
        case is CancellationError: return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            logger.error("handler failed", metadata: ["error": .string("\(error)")])
            return RPCError(code: .internalError, message: "internal error")
        }
    }

    /// Writes RESPONSE_START if the handler set initial metadata; returns false (and writes
    /// nothing) when it is too large for the client's frames.
    @discardableResult
    func writeResponseStartIfNeeded(_ stream: Stream, _ id: UInt32) -> Bool {
        guard !stream.responseStarted else { return true }
        let initial = stream.context.response.initial
        guard !initial.isEmpty else { return true }
        var start = ResponseStart()
        start.metadata = initial.wireEntries
        guard start.serializedSize() <= peerMaximumFrameSize else { return false }
        writeControlFrame(.responseStart, streamID: id, message: start)
        streams[id]?.responseStarted = true
        return true
    }

    func initialMetadataTooLarge(_ id: UInt32, _ stream: Stream) {
        var start = ResponseStart()
        start.metadata = stream.context.response.initial.wireEntries
        finishStream(
            id,
            error: RPCError.messageTooLarge(
                "initial metadata",
                size: start.serializedSize(),
                limit: peerMaximumFrameSize
            )
        )
    }

    // MARK: Writing (called through ServerStreamHandle, on the event loop)

    /// Writes one response message; returns false if the window is exhausted (caller waits).
    func writeMessage<M: ProtoRuntime.Message>(_ id: UInt32, _ message: M) -> Bool? {
        guard var stream = streams[id] else { return nil }
        guard stream.sendWindow > 0 else { return false }
        // Streaming answers wait while the peer has not taken the ones queued before them.
        if !readsPaused && queuedResponseBytes >= core.configuration.responseHighWaterMark { pauseReading() }
        guard !readsPaused else { return false }
        let size = message.serializedSize()
        // A frame the client would refuse would end its connection: only this call fails.
        guard size <= peerMaximumFrameSize else {
            finishStream(
                id,
                error: RPCError.messageTooLarge("response message", size: size, limit: peerMaximumFrameSize)
            )
            return nil
        }
        if !stream.responseStarted {
            guard writeResponseStartIfNeeded(stream, id) else {
                initialMetadataTooLarge(id, stream)
                return nil
            }
            stream.responseStarted = true
        }
        pending.writeFrameHeader(type: .message, streamID: id, payloadLength: size)
        message.encode(into: &pending, size: size)
        stream.sendWindow -= size
        streams[id] = stream
        scheduleFlush()
        checkQueuedResponses()
        return true
    }

    /// Parks a writer until its stream has window and the connection is not paused.
    func waitForWindow(_ id: UInt32, _ continuation: CheckedContinuation<Void, any Error>) {
        guard streams[id] != nil else { return continuation.resume(throwing: CancellationError()) }
        if let window = streams[id]?.sendWindow, window > 0, !readsPaused { return continuation.resume() }
        streams[id]?.windowWaiters.append(continuation)
    }

    /// Reading resumed: writers parked on the connection (not on their window) go on.
    func resumeWriters() {
        for (id, stream) in streams where stream.sendWindow > 0 && !stream.windowWaiters.isEmpty {
            streams[id]?.windowWaiters = []
            for waiter in stream.windowWaiters { waiter.resume() }
        }
    }

    /// Unary fast path: [RESPONSE_START] MESSAGE STATUS(OK), one write.
    func finishUnary<M: ProtoRuntime.Message>(_ id: UInt32, _ message: M) {
        let size = message.serializedSize()
        guard size <= peerMaximumFrameSize else {
            return finishStream(
                id,
                error: RPCError.messageTooLarge("response message", size: size, limit: peerMaximumFrameSize)
            )
        }
        if let stream = streams[id], !writeResponseStartIfNeeded(stream, id) {
            return initialMetadataTooLarge(id, stream)
        }
        guard let stream = removeStream(id) else { return }
        machine.streamClosed(id)
        pending.writeFrameHeader(type: .message, streamID: id, payloadLength: size)
        message.encode(into: &pending, size: size)
        sendStatus(id, nil, trailers: stream.context.response.trailers)
        core.metrics.record(
            method: stream.method.descriptor.path,
            code: .ok,
            duration: ContinuousClock.now - stream.startTime
        )
        stream.deadline?.cancel()
        stream.firstMessageTimer?.cancel()
        drainIfDone()
        checkQueuedResponses()
    }

    func consumed(_ id: UInt32, bytes: Int) {
        guard var stream = streams[id] else { return }
        stream.consumedSinceUpdate += bytes
        stream.unacknowledgedReceived -= bytes
        let released = min(bytes, max(0, stream.heldBytes - stream.metadataBytes))
        stream.heldBytes -= released
        bufferedRequestBytes -= released
        if stream.consumedSinceUpdate >= Int(ServerCore.defaultWindow) / 2 {
            var payload = context?.channel.allocator.buffer(capacity: 4) ?? ByteBuffer()
            payload.writeInteger(UInt32(truncatingIfNeeded: stream.consumedSinceUpdate))
            pending.writeFrame(type: .windowUpdate, streamID: id, payload: payload)
            stream.consumedSinceUpdate = 0
            scheduleFlush()
        }
        streams[id] = stream
    }

    func sendStatus(_ id: UInt32, _ error: RPCError?, trailers: Metadata = Metadata()) {
        var status = Status()
        if let error {
            status.code = error.code.rawValue
            status.message = error.message
            status.details = error.details
            status.trailers = (error.metadata.isEmpty ? trailers : error.metadata).wireEntries
        } else {
            status.trailers = trailers.wireEntries
        }
        if status.serializedSize() > peerMaximumFrameSize {
            // Trailers or a message too large for a frame: the call still gets a status.
            let size = status.serializedSize()
            let replacement = RPCError.messageTooLarge("status", size: size, limit: peerMaximumFrameSize)
            status = Status()
            status.code = replacement.code.rawValue
            status.message = replacement.message
            status.trailers = replacement.metadata.wireEntries
        }
        writeControlFrame(.status, streamID: id, message: status)
    }

    // MARK: Idle timeout and draining

    /// Closes the connection once it has had no calls and no frames for the idle timeout. The timer
    /// is armed once and re-armed for the remaining time when it fires early, so busy connections
    /// pay nothing per frame.
    func armIdleTimer(after delay: TimeAmount? = nil) {
        guard let context, let timeout = core.configuration.idleTimeout else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: delay ?? timeout) {
            let handler = bound.value
            let now = NIODeadline.now()
            if let since = handler.pausedSince, now - since >= timeout {
                // Its calls are busy only because it reads none of their answers.
                return handler.fail(
                    ProtocolViolation(.idleTimeout, "read none of its responses for longer than \(timeout)")
                )
            }
            let busy = !handler.streams.isEmpty || handler.readsPaused || !handler.heldFrames.isEmpty
            let idleFor = now - handler.lastActivity
            if !busy && idleFor >= timeout {
                handler.fail(ProtocolViolation(.idleTimeout, "idle for longer than \(timeout)"))
            } else {
                handler.armIdleTimer(after: busy ? timeout : timeout - idleFor)
            }
        }
    }

    /// Graceful shutdown: GOAWAY now, refuse new streams, close when the last call ends or the
    /// grace period runs out.
    func beginDrain(reason: String, grace: TimeAmount? = nil) {
        guard let context, !isClosed, let last = machine.beginDrain() else { return }
        var goAway = GoAway()
        goAway.lastStreamId = last
        goAway.errorCode = ConnectionErrorCode.noError.rawValue
        goAway.reason = reason
        writeControlFrame(.goAway, streamID: 0, message: goAway)
        flushNow()
        if let grace {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            drainTimer = context.eventLoop.scheduleTask(in: grace) { bound.value.closeNow() }
        }
        drainIfDone()
    }

    func drainIfDone() {
        if machine.isDrained && streams.isEmpty { closeNow() }
    }

    func closeNow() {
        guard let context else { return }
        flushNow()
        for (_, stream) in streams { cancel(stream, reason: "server shut down") }
        streams.removeAll()
        bufferedRequestBytes = 0
        isClosed = true
        context.close(promise: nil)
    }
}

/// What one connection holds at a moment (``RPCServer``'s statistics, for tests).
struct ConnectionStatistics: Sendable {
    var openCalls: Int
    var queuedResponseBytes: Int
    var heldFrames: Int
    var readsPaused: Bool
    var bufferedRequestBytes: Int
}

extension Metadata {
    var wireEntries: [MetadataEntry] {
        map { entry in
            var wire = MetadataEntry()
            wire.key = entry.key
            switch entry.value {
            case .string(let s): wire.value = s
            case .binary(let b): wire.binaryValue = b
            }
            return wire
        }
    }

    init(wireEntries: [MetadataEntry]) {
        self.init()
        for entry in wireEntries {
            if entry.key.hasSuffix("-bin") {
                add(entry.key, binary: entry.binaryValue)
            } else {
                add(entry.key, entry.value)
            }
        }
    }
}

/// A call's way back to its connection, usable from the call's task.
struct ServerStreamHandle: Sendable {
    let handler: NIOLoopBound<ServerConnectionHandler>
    let eventLoop: any EventLoop
    let streamID: UInt32
    let allocator: ByteBufferAllocator

    /// Runs `body` on the event loop: at once when already there (the usual case, since call
    /// tasks prefer the loop's executor), otherwise by scheduling it.
    func onLoop(_ body: @escaping @Sendable (ServerConnectionHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value)
        } else {
            let handler = self.handler
            eventLoop.execute { body(handler.value) }
        }
    }

    func finish<M: ProtoRuntime.Message>(with message: M) {
        let id = streamID
        onLoop { $0.finishUnary(id, message) }
    }

    func finishOK() {
        let id = streamID
        onLoop { $0.finishStream(id, error: nil) }
    }

    func finish(error: any Error) {
        let id = streamID
        onLoop { $0.finishStream(id, error: error) }
    }

    func consumed(_ bytes: Int) {
        let id = streamID
        onLoop { $0.consumed(id, bytes: bytes) }
    }

    func send<M: ProtoRuntime.Message>(_ message: M) async throws {
        let id = streamID
        while true {
            try Task.checkCancellation()
            // On the loop already (the usual case: call tasks prefer its executor), write at once.
            let written: Bool? =
                eventLoop.inEventLoop
                ? handler.value.writeMessage(id, message)
                : try await eventLoop.submit { [handler] in handler.value.writeMessage(id, message) }.get()
            switch written {
            case nil: throw CancellationError()
            case true?: return
            case false?:
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    onLoop { $0.waitForWindow(id, continuation) }
                }
            }
        }
    }
}
