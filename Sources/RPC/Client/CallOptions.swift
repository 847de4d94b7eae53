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
public protocol ClientInterceptor: Sendable {
    func intercept(
        method: MethodDescriptor, options: CallOptions, next: @Sendable (CallOptions) async throws -> Void
    ) async throws
}
