/// A call's status code: gRPC's seventeen codes with the same names and numbers.
///
/// A struct over a private enum, so codes can be added without breaking exhaustive switches.
public struct RPCCode: Hashable, Sendable, CustomStringConvertible {
    enum Wrapped: Int32, Sendable, CaseIterable {
        case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented, internalError,
            unavailable, dataLoss, unauthenticated
    }

    let wrapped: Wrapped

    /// The wire number (0...16).
    public var rawValue: Int32 { wrapped.rawValue }

    /// The code for a wire number; numbers outside 0...16 become `unknown`, as gRPC specifies.
    public init(rawValue: Int32) { wrapped = Wrapped(rawValue: rawValue) ?? .unknown }

    init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    public static let ok = RPCCode(.ok)
    public static let cancelled = RPCCode(.cancelled)
    public static let unknown = RPCCode(.unknown)
    public static let invalidArgument = RPCCode(.invalidArgument)
    public static let deadlineExceeded = RPCCode(.deadlineExceeded)
    public static let notFound = RPCCode(.notFound)
    public static let alreadyExists = RPCCode(.alreadyExists)
    public static let permissionDenied = RPCCode(.permissionDenied)
    public static let resourceExhausted = RPCCode(.resourceExhausted)
    public static let failedPrecondition = RPCCode(.failedPrecondition)
    public static let aborted = RPCCode(.aborted)
    public static let outOfRange = RPCCode(.outOfRange)
    public static let unimplemented = RPCCode(.unimplemented)
    public static let internalError = RPCCode(.internalError)
    public static let unavailable = RPCCode(.unavailable)
    public static let dataLoss = RPCCode(.dataLoss)
    public static let unauthenticated = RPCCode(.unauthenticated)

    /// Every code, in wire order.
    public static let allCodes: [RPCCode] = Wrapped.allCases.map(RPCCode.init)

    /// The gRPC name, e.g. `DEADLINE_EXCEEDED`.
    public var name: String {
        switch wrapped {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internalError: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        }
    }

    /// The code named `name` (`NOT_FOUND`, case-insensitive), if any.
    public init?(name: String) {
        guard let code = RPCCode.allCodes.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = code
    }

    public var description: String { name }
}

/// An error a call ends with: a code, a message for the caller, optional details and metadata.
///
/// Handlers throw it to choose the status; any other error reaches the caller as `INTERNAL`
/// with a generic message (the original is logged on the server, never sent).
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: RPCCode
    public var message: String
    /// Encoded details (a message the service chooses), empty if none.
    public var details: [UInt8]
    /// Trailing metadata sent with the status.
    public var metadata: Metadata

    /// - Parameters:
    ///   - code: the status code (not `.ok`).
    ///   - message: a message for the caller.
    ///   - details: encoded structured details.
    ///   - metadata: trailing metadata.
    public init(code: RPCCode, message: String, details: [UInt8] = [], metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.details = details
        self.metadata = metadata
    }

    public var description: String { message.isEmpty ? code.name : "\(code.name): \(message)" }
}

/// Domain errors conform to choose the status their callers see.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError {
    /// The trailer that marks a call ended because one of its messages was larger than the
    /// receiving side's maximum frame size (its value is the message's size in bytes).
    public static let messageTooLargeKey = "rpc-message-too-large"

    /// RESOURCE_EXHAUSTED for a message larger than the peer accepts in a frame: only that call
    /// fails, the connection and its other calls go on.
    static func messageTooLarge(_ what: String, size: Int, limit: Int) -> RPCError {
        RPCError(
            code: .resourceExhausted,
            message: "the \(what) of \(size) bytes exceeds the maximum frame size of \(limit) bytes",
            metadata: Metadata([(messageTooLargeKey, String(size))])
        )
    }

    /// Whether the call failed because a message was too large for a frame (so trying again
    /// with the same message cannot succeed).
    public var isMessageTooLarge: Bool { code == .resourceExhausted && metadata[RPCError.messageTooLargeKey] != nil }
}

extension RPCError {
    /// The trailer naming why a call failed, more precisely than its code (in the spirit of
    /// `google.rpc.ErrorInfo.reason`): an UPPER_SNAKE_CASE word callers may branch on.
    public static let reasonKey = "rpc-error-reason"

    /// The reasons the marketplace's services give.
    public enum Reason {
        /// An idempotency key already used for a different request (FAILED_PRECONDITION; HTTP 409).
        public static let idempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
    }

    /// An error with a reason (``reasonKey``).
    public init(code: RPCCode, message: String, reason: String) {
        self.init(code: code, message: message, metadata: Metadata([(RPCError.reasonKey, reason)]))
    }

    /// The error's reason, if it has one.
    public var reason: String? { metadata[RPCError.reasonKey] }
}
