/// Per-call settings.
public struct CallOptions: Sendable {
    /// How long the caller waits; the earlier of this and the current call's deadline applies.
    public var timeout: Duration?
    /// Request metadata (the trace and request ids are added automatically).
    public var metadata: Metadata

    public init(timeout: Duration? = nil, metadata: Metadata = Metadata()) {
        self.timeout = timeout
        self.metadata = metadata
    }
}

/// A unary call's full result: the message and the response's metadata.
public struct UnaryResponse<Message: Sendable>: Sendable {
    public var message: Message
    /// Initial metadata sent by the server.
    public var metadata: Metadata
    /// Trailing metadata sent with the status.
    public var trailers: Metadata
}

/// Runs around every call a client makes (adding credentials, logging, retries).
///
/// For a unary call `next` returns when the call has ended; for a streaming call it returns as
/// soon as the options are settled (the stream then runs under the options the interceptors
/// passed on), so an interceptor can change a stream's metadata but not wait for its end.
public protocol ClientInterceptor: Sendable {
    func intercept(
        method: MethodDescriptor,
        options: CallOptions,
        next: @Sendable (CallOptions) async throws -> Void
    ) async throws
}
