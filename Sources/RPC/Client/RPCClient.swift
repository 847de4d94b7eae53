public import Logging
public import NIOCore
import NIOConcurrencyHelpers
public import NIOPosix
public import ProtoRuntime

/// Where a server listens.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (`[::1]:8003` for IPv6); nil if malformed.
    public init?(_ text: String) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        if hostPart.isEmpty { hostPart = "127.0.0.1" }
        guard let port = Int(portPart), (1...65535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Client settings.
public struct ClientConfiguration: Sendable {
    /// How long a connection attempt may take before the endpoint counts as down.
    public var connectTimeout: TimeAmount
    /// The first wait before reconnecting to an endpoint that failed; doubles up to the maximum.
    public var initialBackoff: TimeAmount
    public var maximumBackoff: TimeAmount
    /// The largest frame payload accepted from servers.
    public var maximumFrameSize: Int
    /// Send PING at this interval (nil: never); a PING unanswered by the next one closes the
    /// connection and fails its calls with UNAVAILABLE, instead of letting them wait for deadlines.
    public var keepaliveInterval: TimeAmount?

    public init(
        connectTimeout: TimeAmount = .seconds(2),
        initialBackoff: TimeAmount = .milliseconds(100),
        maximumBackoff: TimeAmount = .seconds(5),
        maximumFrameSize: Int = 4 << 20,
        keepaliveInterval: TimeAmount? = nil
    ) {
        self.connectTimeout = connectTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.maximumFrameSize = maximumFrameSize
        self.keepaliveInterval = keepaliveInterval
    }
}

/// A client of one service's replicas: calls are multiplexed on one connection per endpoint,
/// connections open lazily, endpoints are used round-robin, and a failed endpoint is skipped
/// (with exponential backoff) until it answers again.
public final class RPCClient: Sendable {
    /// The server's addresses (replicas, called round-robin).
    public let endpoints: [Endpoint]
    let configuration: ClientConfiguration
    let group: any EventLoopGroup
    let interceptors: [any ClientInterceptor]
    let logger: Logger
    let metrics = RPCMetrics(side: "client")
    let pool: NIOLockedValueBox<Pool>

    struct Pool {
        var slots: [Slot]
        var next = 0
        var closed = false
    }

    enum Slot {
        case idle(failures: Int)
        case connecting(EventLoopFuture<ClientConnection>, failures: Int)
        case ready(ClientConnection)
        case backingOff(until: NIODeadline, failures: Int, lastError: String)
    }

    /// - Parameters:
    ///   - endpoints: the replicas (at least one).
    ///   - configuration: timeouts and limits.
    ///   - interceptors: run around every call, first one outermost.
    ///   - group: event loops for the connections.
    public init(
        endpoints: [Endpoint],
        configuration: ClientConfiguration = ClientConfiguration(),
        interceptors: [any ClientInterceptor] = [],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "rpc.client")
    ) {
        self.endpoints = endpoints
        self.configuration = configuration
        self.group = group
        self.interceptors = interceptors
        self.logger = logger
        self.pool = NIOLockedValueBox(Pool(slots: endpoints.map { _ in .idle(failures: 0) }))
    }

    /// Closes every connection; later calls fail with UNAVAILABLE.
    public func close() async {
        let connections = pool.withLockedValue { pool -> [ClientConnection] in
            pool.closed = true
            return pool.slots.compactMap { if case .ready(let c) = $0 { return c } else { return nil } }
        }
        for connection in connections { try? await connection.channel.close() }
    }

    // MARK: Connections

    /// A connection to the next usable endpoint (round-robin), connecting if needed.
    func connection() async throws -> ClientConnection {
        var lastError = "no endpoints configured"
        for _ in 0..<max(1, endpoints.count) {
            let choice = pool.withLockedValue { pool -> (Int, Slot)? in
                guard !pool.closed, !pool.slots.isEmpty else { return nil }
                let count = pool.slots.count
                // Prefer a ready or connectable endpoint; skip those backing off if any other is usable.
                for offset in 0..<count {
                    let index = (pool.next + offset) % count
                    if case .backingOff(let until, _, _) = pool.slots[index], until > .now() { continue }
                    pool.next = (index + 1) % count
                    return (index, pool.slots[index])
                }
                return nil
            }
            guard let (index, slot) = choice else {
                let errors = pool.withLockedValue { pool in
                    pool.slots.compactMap { slot -> String? in
                        if case .backingOff(_, _, let error) = slot { return error } else { return nil }
                    }
                }
                throw RPCError(
                    code: .unavailable,
                    message: errors.isEmpty
                        ? "the client is closed" : "no endpoint is reachable: \(errors.joined(separator: "; "))"
                )
            }
            switch slot {
            case .ready(let connection) where connection.isUsable:
                return connection
            case .connecting(let future, _):
                do { return try await future.get() } catch { lastError = ClientConnection.describe(error) }
            default:
                do { return try await connect(index) } catch { lastError = ClientConnection.describe(error) }
            }
        }
        throw RPCError(code: .unavailable, message: lastError)
    }

    func connect(_ index: Int) async throws -> ClientConnection {
        let endpoint = endpoints[index]
        let loop = group.next()
        let promise = loop.makePromise(of: ClientConnection.self)
        let started = pool.withLockedValue { pool -> EventLoopFuture<ClientConnection>? in
            switch pool.slots[index] {
            case .connecting(let future, _): return future
            case .ready(let c) where c.isUsable: return loop.makeSucceededFuture(c)
            case .idle(let failures), .backingOff(_, let failures, _):
                pool.slots[index] = .connecting(promise.futureResult, failures: failures)
                return nil
            case .ready:
                pool.slots[index] = .connecting(promise.futureResult, failures: 0)
                return nil
            }
        }
        if let started {
            // Another call is connecting (or connected): this call's promise was never handed
            // out, and a promise dropped unfulfilled is a trap in debug builds.
            promise.fail(RPCError(code: .cancelled, message: "superseded by a connection attempt already under way"))
            return try await started.get()
        }
        let failures = pool.withLockedValue { pool -> Int in
            if case .connecting(_, let f) = pool.slots[index] { return f }
            return 0
        }
        do {
            // Which connection a close callback is about: a late callback (GOAWAY, then the
            // channel going inactive) must not reset the slot of a newer connection.
            let opened = NIOLockedValueBox<ObjectIdentifier?>(nil)
            let connection = try await ClientConnection.connect(
                to: endpoint,
                on: loop,
                configuration: configuration,
                metrics: metrics
            ) { [weak self] in
                if let id = opened.withLockedValue({ $0 }) { self?.connectionClosed(index, id) }
            }
            opened.withLockedValue { $0 = ObjectIdentifier(connection) }
            pool.withLockedValue { $0.slots[index] = .ready(connection) }
            promise.succeed(connection)
            return connection
        } catch {
            let backoff = min(
                configuration.maximumBackoff.nanoseconds,
                configuration.initialBackoff.nanoseconds << Int64(min(failures, 20))
            )
            let message = "\(endpoint): \(ClientConnection.describe(error))"
            pool.withLockedValue {
                $0.slots[index] = .backingOff(
                    until: .now() + .nanoseconds(backoff),
                    failures: failures + 1,
                    lastError: message
                )
            }
            logger.debug(
                "connect failed",
                metadata: ["endpoint": .string("\(endpoint)"), "error": .string("\(error)")]
            )
            let rpcError = RPCError(code: .unavailable, message: message)
            promise.fail(rpcError)
            throw rpcError
        }
    }

    func connectionClosed(_ index: Int, _ id: ObjectIdentifier) {
        pool.withLockedValue { pool in
            if case .ready(let connection) = pool.slots[index], ObjectIdentifier(connection) == id {
                pool.slots[index] = .idle(failures: 0)
            }
        }
    }

    // MARK: Calls

    /// The timeout a call gets: its own, bounded by the deadline of the call being handled.
    func effectiveTimeout(_ options: CallOptions) -> Duration? {
        var timeout = options.timeout
        if let deadline = CallContext.current?.deadline {
            let remaining = deadline - .now
            timeout = min(timeout ?? remaining, remaining)
        }
        return timeout
    }

    func prepare(_ options: CallOptions) -> (Metadata, Duration?) {
        var metadata = options.metadata
        let current = CallContext.current
        // Forward the current call's trace; a server starts a new one when none arrives.
        if let traceID = current?.traceID, metadata[MetadataKeys.traceID] == nil {
            metadata.add(MetadataKeys.traceID, traceID)
        }
        if metadata[MetadataKeys.requestID] == nil, let requestID = current?.requestID {
            metadata.add(MetadataKeys.requestID, requestID)
        }
        return (metadata, effectiveTimeout(options))
    }

    func intercepted(
        _ method: MethodDescriptor,
        _ options: CallOptions,
        _ body: @escaping @Sendable (CallOptions) async throws -> Void
    ) async throws {
        try await RPCClient.run(interceptors[...], method, options, body)
    }

    /// The options a streaming call runs with: what the interceptors pass on.
    func interceptedOptions(_ method: MethodDescriptor, _ options: CallOptions) async throws -> CallOptions {
        if interceptors.isEmpty { return options }
        let settled = NIOLockedValueBox<CallOptions?>(nil)
        try await intercepted(method, options) { final in settled.withLockedValue { $0 = final } }
        guard let final = settled.withLockedValue({ $0 }) else {
            throw RPCError(code: .internalError, message: "a client interceptor did not call next")
        }
        return final
    }

    static func run(
        _ rest: ArraySlice<any ClientInterceptor>,
        _ method: MethodDescriptor,
        _ options: CallOptions,
        _ body: @escaping @Sendable (CallOptions) async throws -> Void
    ) async throws {
        guard let first = rest.first else { return try await body(options) }
        try await first.intercept(method: method, options: options) {
            try await run(rest.dropFirst(), method, $0, body)
        }
    }

    /// A unary call with its response metadata.
    /// - Throws: ``RPCError`` with the call's status when it is not OK.
    public func unary<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ method: MethodDescriptor,
        request: Request,
        responseType: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) async throws -> UnaryResponse<Response> {
        if interceptors.isEmpty { return try await unaryCall(method, request, options) }
        let result = NIOLockedValueBox<UnaryResponse<Response>?>(nil)
        try await intercepted(method, options) { options in
            let response: UnaryResponse<Response> = try await self.unaryCall(method, request, options)
            result.withLockedValue { $0 = response }
        }
        guard let response = result.withLockedValue({ $0 }) else {
            throw RPCError(code: .internalError, message: "a client interceptor did not call next")
        }
        return response
    }

    /// How many times a unary call the server refused unprocessed (a GOAWAY racing the call, say
    /// an idle timeout) is sent again on a new connection.
    static let transparentRetries = 2

    func unaryCall<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ method: MethodDescriptor,
        _ request: Request,
        _ options: CallOptions
    ) async throws -> UnaryResponse<Response> {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            var options = options
            if let timeout = options.timeout { options.timeout = timeout - (ContinuousClock.now - started) }
            do {
                return try await unaryAttempt(method, request, options)
            } catch let refused as RefusedCall {
                // The server never saw this call, so sending it again cannot do anything twice.
                attempt += 1
                guard attempt <= RPCClient.transparentRetries else { throw refused.error }
                logger.debug(
                    "call refused unprocessed; retrying",
                    metadata: ["method": .string(method.path), "error": .string(refused.error.message)]
                )
            }
        }
    }

    func unaryAttempt<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ method: MethodDescriptor,
        _ request: Request,
        _ options: CallOptions
    ) async throws -> UnaryResponse<Response> {
        let (metadata, timeout) = prepare(options)
        if let timeout, timeout <= .zero {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded before the call started")
        }
        let connection = try await connection()
        let call = CallHandle(connection: connection)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<UnaryResponse<Response>, any Error>) in
                connection.onLoop { handler in
                    let id = handler.open(
                        method: method,
                        metadata: metadata,
                        timeout: timeout,
                        firstMessage: request,
                        endStream: true,
                        sink: UnaryCallSink<Response>(continuation)
                    )
                    call.set(id)
                }
            }
        } onCancel: {
            call.cancel(RPCError(code: .cancelled, message: "the call was cancelled"))
        }
    }

    /// A server-streaming call: the responses as an async sequence (throws the final status if not OK).
    public func serverStreaming<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ method: MethodDescriptor,
        request: Request,
        responseType: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) async throws -> ResponseStream<Response> {
        let (_, responses): (RequestWriter<Request>, ResponseStream<Response>) = try await streamingCall(
            method,
            options: options,
            firstMessage: request,
            endStream: true
        )
        return responses
    }

    /// A client-streaming call: `requests` writes the messages; the single response is returned.
    public func clientStreaming<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ method: MethodDescriptor,
        requestType: Request.Type = Request.self,
        responseType: Response.Type = Response.self,
        options: CallOptions = CallOptions(),
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> UnaryResponse<Response> {
        let (writer, responses): (RequestWriter<Request>, ResponseStream<Response>) = try await streamingCall(
            method,
            options: options,
            firstMessage: nil,
            endStream: false
        )
        do {
            try await requests(writer)
            writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        var iterator = responses.makeAsyncIterator()
        guard let message = try await iterator.next() else {
            throw RPCError(code: .internalError, message: "the server sent no response message")
        }
        while try await iterator.next() != nil {}
        return UnaryResponse(message: message, metadata: responses.metadata, trailers: responses.trailers)
    }

    /// A bidirectional-streaming call: `body` gets the writer and the response stream.
    public func bidiStreaming<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message, Result: Sendable>(
        _ method: MethodDescriptor,
        requestType: Request.Type = Request.self,
        responseType: Response.Type = Response.self,
        options: CallOptions = CallOptions(),
        body: (RequestWriter<Request>, ResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        let (writer, responses): (RequestWriter<Request>, ResponseStream<Response>) = try await streamingCall(
            method,
            options: options,
            firstMessage: nil,
            endStream: false
        )
        do {
            let result = try await body(writer, responses)
            writer.finish()
            return result
        } catch {
            writer.cancel()
            throw error
        }
    }

    func streamingCall<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ method: MethodDescriptor,
        options: CallOptions,
        firstMessage: Request?,
        endStream: Bool
    ) async throws -> (RequestWriter<Request>, ResponseStream<Response>) {
        let (metadata, timeout) = prepare(try await interceptedOptions(method, options))
        if let timeout, timeout <= .zero {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded before the call started")
        }
        let connection = try await connection()
        let call = CallHandle(connection: connection)
        let (raw, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let state = ResponseState()
        let opened: Void = try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            connection.onLoop { handler in
                let sink = ClosureSink { event in
                    switch event {
                    case .responseStart(let m): state.metadata.withLockedValue { $0 = m }
                    case .message(let buffer): continuation.yield(buffer)
                    case .refused(let error):
                        call.ended(error)
                        continuation.finish(throwing: error)
                    case .finished(let error, let trailers):
                        call.ended(error)
                        state.trailers.withLockedValue { $0 = trailers }
                        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
                    }
                }
                let id = handler.open(
                    method: method,
                    metadata: metadata,
                    timeout: timeout,
                    firstMessage: firstMessage,
                    endStream: endStream,
                    sink: sink
                )
                call.set(id)
                ready.resume()
            }
        }
        _ = opened
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                call.cancel(RPCError(code: .cancelled, message: "the call was cancelled"))
            }
        }
        return (RequestWriter(call: call), ResponseStream(raw: raw, call: call, state: state))
    }
}

/// Collects a unary call's response on the event loop and resumes its caller at the status.
final class UnaryCallSink<Response: ProtoRuntime.Message>: ClientStreamSink {
    let continuation: CheckedContinuation<UnaryResponse<Response>, any Error>
    var initial = Metadata()
    var message: ByteBuffer?

    init(_ continuation: CheckedContinuation<UnaryResponse<Response>, any Error>) { self.continuation = continuation }

    func receive(_ event: ClientStreamEvent) {
        switch event {
        case .responseStart(let metadata): initial = metadata
        case .message(let buffer): message = buffer
        case .refused(let error): continuation.resume(throwing: RefusedCall(error: error))
        case .finished(let error?, _): continuation.resume(throwing: error)
        case .finished(nil, let trailers):
            guard let message else {
                return continuation.resume(
                    throwing: RPCError(code: .internalError, message: "the server sent no response message")
                )
            }
            do {
                continuation.resume(
                    returning: UnaryResponse(
                        message: try Response(buffer: message),
                        metadata: initial,
                        trailers: trailers
                    )
                )
            } catch {
                continuation.resume(
                    throwing: RPCError(
                        code: .internalError,
                        message: "response does not decode as \(Response.protoMessageName): \(error)"
                    )
                )
            }
        }
    }
}

/// A unary attempt the server never processed; ``RPCClient`` sends the call again.
struct RefusedCall: Error {
    let error: RPCError
}

/// Shared state of a streaming call's responses.
final class ResponseState: Sendable {
    let metadata = NIOLockedValueBox(Metadata())
    let trailers = NIOLockedValueBox(Metadata())
}

/// A call's stream id once assigned, so cancellation from any thread can find it.
final class CallHandle: Sendable {
    struct State {
        var id: UInt32?
        var cancelled: RPCError?
        /// END_STREAM sent: no more request messages (finishing twice would break the protocol).
        var halfClosed = false
        /// The status the call ended with, when it was not OK (a later write throws it).
        var failure: RPCError?
    }

    /// The call ended: writes from now on throw `error` (the server's status) if there is one.
    func ended(_ error: (any Error)?) {
        guard let error = error as? RPCError else { return }
        state.withLockedValue { $0.failure = error }
    }

    /// What a write on the ended call throws: the call's own status, else CANCELLED.
    var endedError: RPCError {
        state.withLockedValue { $0.failure } ?? RPCError(code: .cancelled, message: "call ended")
    }

    let connection: ClientConnection
    let state = NIOLockedValueBox(State())

    init(connection: ClientConnection) { self.connection = connection }

    var streamID: UInt32? { state.withLockedValue { $0.id } }

    func set(_ streamID: UInt32?) {
        let pendingCancel = state.withLockedValue { state -> RPCError? in
            state.id = streamID
            return state.cancelled
        }
        if let pendingCancel, let streamID { connection.onLoop { $0.cancel(streamID, error: pendingCancel) } }
    }

    func cancel(_ error: RPCError) {
        let streamID = state.withLockedValue { state -> UInt32? in
            state.cancelled = error
            return state.id
        }
        if let streamID { connection.onLoop { $0.cancel(streamID, error: error) } }
    }
}

/// Writes a client's request messages (client- and bidi-streaming calls).
public struct RequestWriter<Message: ProtoRuntime.Message>: Sendable {
    let call: CallHandle

    /// Sends one message; suspends while the server's flow-control window is full.
    public func write(_ message: Message) async throws {
        let state = call.state.withLockedValue { $0 }
        guard let id = state.id else { throw call.endedError }
        guard !state.halfClosed else {
            throw RPCError(code: .failedPrecondition, message: "the request stream was already finished")
        }
        let connection = call.connection
        while true {
            let written: Bool? =
                connection.eventLoop.inEventLoop
                ? connection.handler.value.writeMessage(id, message, endStream: false)
                : try await connection.eventLoop.submit { [connection] in
                    connection.handler.value.writeMessage(id, message, endStream: false)
                }.get()
            switch written {
            case nil: throw call.endedError
            case true?: return
            case false?:
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    connection.onLoop { $0.waitForWindow(id, continuation) }
                }
            }
        }
    }

    /// No more messages (half-close). Calling it again does nothing.
    public func finish() {
        let id = call.state.withLockedValue { state -> UInt32? in
            guard !state.halfClosed, let id = state.id else { return nil }
            state.halfClosed = true
            return id
        }
        guard let id else { return }
        call.connection.onLoop { $0.endStream(id) }
    }

    func cancel() { call.cancel(RPCError(code: .cancelled, message: "the call was cancelled")) }
}

/// A call's response messages. Iterating ends after the last message; a non-OK status is thrown.
public struct ResponseStream<Message: ProtoRuntime.Message>: AsyncSequence, Sendable {
    let raw: AsyncThrowingStream<ByteBuffer, any Error>
    let call: CallHandle
    let state: ResponseState

    /// Initial metadata (available once the first message arrived).
    public var metadata: Metadata { state.metadata.withLockedValue { $0 } }
    /// Trailing metadata (available once iteration ended).
    public var trailers: Metadata { state.trailers.withLockedValue { $0 } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        let call: CallHandle

        public mutating func next() async throws -> Message? {
            guard let buffer = try await base.next() else { return nil }
            if let id = call.streamID {
                let bytes = buffer.readableBytes
                call.connection.onLoop { $0.consumed(id, bytes: bytes) }
            }
            do {
                return try Message(buffer: buffer)
            } catch {
                throw RPCError(
                    code: .internalError,
                    message: "response does not decode as \(Message.protoMessageName): \(error)"
                )
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: raw.makeAsyncIterator(), call: call) }
}
