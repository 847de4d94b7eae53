import NIOCore
public import ProtoRuntime

/// Writes a server's response messages (server- and bidi-streaming calls).
public struct ResponseWriter<Message: ProtoRuntime.Message>: Sendable {
    let stream: ServerStreamHandle

    /// Sends one message; suspends while the caller's flow-control window is full.
    /// - Throws: `CancellationError` when the call is over (cancelled, deadline, connection lost).
    public func write(_ message: Message) async throws {
        try await stream.send(message)
    }
}

/// The request messages of a client- or bidi-streaming call.
public struct RequestStream<Message: ProtoRuntime.Message>: AsyncSequence, Sendable {
    let raw: AsyncThrowingStream<ByteBuffer, any Error>
    let stream: ServerStreamHandle

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        let stream: ServerStreamHandle

        public mutating func next() async throws -> Message? {
            guard let buffer = try await base.next() else { return nil }
            stream.consumed(buffer.readableBytes)
            let message: Message
            do {
                message = try Message(buffer: buffer)
            } catch {
                throw RPCError(
                    code: .invalidArgument,
                    message: "request message does not decode as \(Message.protoMessageName): \(error)"
                )
            }
            try ServerMethod.check(message)
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: raw.makeAsyncIterator(), stream: stream) }
}

/// A method a server serves: its descriptor and a type-erased body over raw payloads.
public struct ServerMethod: Sendable {
    public let descriptor: MethodDescriptor

    enum Body: Sendable {
        /// Unary and server-streaming: one request message, decoded before the handler runs.
        case singleRequest(@Sendable (ByteBuffer, ServerContext, ServerStreamHandle) async throws -> Void)
        /// Client- and bidi-streaming.
        case streamingRequest(
            @Sendable (AsyncThrowingStream<ByteBuffer, any Error>, ServerContext, ServerStreamHandle) async throws ->
                Void
        )
    }

    let body: Body

    /// Decodes a request message and checks its field rules.
    static func decode<M: ProtoRuntime.Message>(_: M.Type, _ buffer: ByteBuffer) throws -> M {
        let message: M
        do {
            message = try M(buffer: buffer)
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: "request message does not decode as \(M.protoMessageName): \(error)"
            )
        }
        try check(message)
        return message
    }

    /// The trailer naming the field a refused request broke the rules of.
    public static let fieldViolationKey = "rpc-field-violation"

    /// The schema's field rules (`validate()`), before the handler sees the message: a violation
    /// is INVALID_ARGUMENT with the violation's text and the field's path in the
    /// `rpc-field-violation` trailer. Interceptors have run by now, so 401/403 come first.
    static func check<M: ProtoRuntime.Message>(_ message: M) throws(RPCError) {
        do {
            try message.validate()
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: error.description,
                metadata: Metadata([(fieldViolationKey, error.field)])
            )
        }
    }

    /// A unary method.
    public static func unary<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ descriptor: MethodDescriptor,
        _: Request.Type = Request.self,
        _: Response.Type = Response.self,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        ServerMethod(
            descriptor: descriptor,
            body: .singleRequest { buffer, context, stream in
                let request = try decode(Request.self, buffer)
                let response = try await handler(request, context)
                stream.finish(with: response)
            }
        )
    }

    /// A server-streaming method.
    public static func serverStreaming<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ descriptor: MethodDescriptor,
        _: Request.Type = Request.self,
        _: Response.Type = Response.self,
        handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> ServerMethod {
        ServerMethod(
            descriptor: descriptor,
            body: .singleRequest { buffer, context, stream in
                let request = try decode(Request.self, buffer)
                try await handler(request, ResponseWriter(stream: stream), context)
                stream.finishOK()
            }
        )
    }

    /// A client-streaming method.
    public static func clientStreaming<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ descriptor: MethodDescriptor,
        _: Request.Type = Request.self,
        _: Response.Type = Response.self,
        handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) -> ServerMethod {
        ServerMethod(
            descriptor: descriptor,
            body: .streamingRequest { raw, context, stream in
                let response = try await handler(RequestStream(raw: raw, stream: stream), context)
                stream.finish(with: response)
            }
        )
    }

    /// A bidirectional-streaming method.
    public static func bidiStreaming<Request: ProtoRuntime.Message, Response: ProtoRuntime.Message>(
        _ descriptor: MethodDescriptor,
        _: Request.Type = Request.self,
        _: Response.Type = Response.self,
        handler:
            @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> ServerMethod {
        ServerMethod(
            descriptor: descriptor,
            body: .streamingRequest { raw, context, stream in
                try await handler(RequestStream(raw: raw, stream: stream), ResponseWriter(stream: stream), context)
                stream.finishOK()
            }
        )
    }
}

/// A service a server can host: generated registration turns a handler into methods.
public protocol RPCService: Sendable {
    /// The methods, keyed by nothing but their descriptors.
    var methods: [ServerMethod] { get }
    /// The embedded schema of the service's file and its imports, for reflection.
    var fileDescriptors: [EmbeddedFileDescriptor] { get }
    /// The fully-qualified name, for health and reflection.
    var serviceName: String { get }
}
