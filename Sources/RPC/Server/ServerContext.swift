public import Foundation
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
    /// Values interceptors attach for handlers.
    public var attributes: [String: String] = [:]
    /// Who is calling, once an authenticating interceptor has checked the call's credentials
    /// (nil for anonymous calls of public methods).
    public var caller: Caller?

    let response: ResponseMetadata

    init(
        method: MethodDescriptor,
        metadata: Metadata,
        deadline: ContinuousClock.Instant?,
        traceID: String,
        requestID: String,
        logger: Logger,
        peer: String
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

/// The authenticated party behind a call: a user (with the roles their token carries) or one of
/// the system's services.
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case user
        case service
    }

    public var kind: Kind
    /// The user id (as a string, like a token's `sub`) or the service's name.
    public var subject: String
    /// Role names, for example `customer`, `provider`, `admin` (empty for services).
    public var roles: Set<String>
    /// The token's id (`jti`), for revocation.
    public var tokenID: String?
    /// When the token stops being valid.
    public var expiresAt: Date?

    public init(kind: Kind, subject: String, roles: Set<String> = [], tokenID: String? = nil, expiresAt: Date? = nil) {
        self.kind = kind
        self.subject = subject
        self.roles = roles
        self.tokenID = tokenID
        self.expiresAt = expiresAt
    }

    /// The user id, for a user whose subject is a number.
    public var userID: Int64? { kind == .user ? Int64(subject) : nil }

    public var description: String { "\(kind.rawValue):\(subject)" }
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
        context: ServerContext,
        next: @Sendable (ServerContext) async throws -> Void
    ) async throws
}
