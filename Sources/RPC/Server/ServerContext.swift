public import Logging
import NIOConcurrencyHelpers

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    public let method: MethodDescriptor
    /// The request metadata.
    public var metadata: Metadata
    /// When the caller stops waiting; the handler's task is cancelled then.
    public let deadline: ContinuousClock.Instant?
    public let traceID: String
    public let requestID: String
    /// A logger carrying the request id, trace id and method (attached when first used, so
    /// calls that log nothing pay nothing).
    public var logger: Logger {
        get { _logger ?? baseLogger.with(requestID: requestID, traceID: traceID, method: method.path) }
        set { _logger = newValue }
    }
    let baseLogger: Logger
    var _logger: Logger?
    /// The peer's address, e.g. `127.0.0.1:53122`.
    public let peer: String
    /// Values interceptors attach for handlers (the authenticated caller, for example).
    public var attributes: [String: String] = [:]

    let response: ResponseMetadata

    init(
        method: MethodDescriptor, metadata: Metadata, deadline: ContinuousClock.Instant?, traceID: String,
        requestID: String, logger: Logger, peer: String
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.traceID = traceID
        self.requestID = requestID
        self.baseLogger = logger
        self.peer = peer
        self.response = ResponseMetadata()
    }

    /// Sets the response's initial metadata (sent before the first response message).
    public func setResponseMetadata(_ metadata: Metadata) { response.state.withLockedValue { $0.initial = metadata } }

    /// Sets trailing metadata, sent with the final status.
    public func setTrailers(_ metadata: Metadata) { response.state.withLockedValue { $0.trailers = metadata } }
}

/// Response metadata a handler may set from its task.
struct ResponseMetadata: Sendable {
    struct State: Sendable {
        var initial = Metadata()
        var trailers = Metadata()
    }
    let state = NIOLockedValueBox(State())

    var initial: Metadata { state.withLockedValue { $0.initial } }
    var trailers: Metadata { state.withLockedValue { $0.trailers } }
}

/// Runs around every call on a server: authentication, logging, auditing.
///
/// An interceptor may refuse a call by throwing (an ``RPCError`` chooses the status), change the
/// context the handler sees, or observe how the call ended.
public protocol ServerInterceptor: Sendable {
    func intercept(
        context: ServerContext, next: @Sendable (ServerContext) async throws -> Void
    ) async throws
}
