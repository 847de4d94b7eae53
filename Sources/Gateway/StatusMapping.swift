import RPC

/// RPC errors as HTTP answers.
extension Gateway {
    /// RPC code → HTTP status on the legacy routes: grpc-gateway's table, except where the
    /// contract says otherwise (a duplicate is 400, as every business-rule refusal).
    static func legacyStatus(_ error: RPCError) -> Int {
        if error.code == .alreadyExists { return 400 }
        return rpcStatus(error)
    }

    /// An answer too large for a frame is no rate limit (429) and retrying cannot help: 502.
    static func rpcStatus(_ error: RPCError) -> Int {
        if error.isMessageTooLarge { return 502 }
        // A reused idempotency key is a conflict with the first request (as Stripe and the IETF draft answer it).
        if error.reason == RPCError.Reason.idempotencyKeyReused { return 409 }
        return rpcStatus(error.code)
    }

    /// grpc-gateway's mapping.
    static func rpcStatus(_ code: RPCCode) -> Int {
        switch code {
        case .ok: return 200
        case .invalidArgument, .failedPrecondition, .outOfRange: return 400
        case .unauthenticated: return 401
        case .permissionDenied: return 403
        case .notFound: return 404
        case .alreadyExists, .aborted: return 409
        case .resourceExhausted: return 429
        case .cancelled: return 499
        case .unimplemented: return 501
        case .unavailable: return 503
        case .deadlineExceeded: return 504
        default: return 500
        }
    }

    /// The legacy `detail` of an RPC error: the service's message, except for what a client
    /// must not see (internal failures) or cannot act on without a hint.
    static func legacyDetail(_ error: RPCError) -> String {
        switch error.code {
        case .unavailable where !error.message.hasPrefix("Service unavailable"):
            return "Service unavailable: \(error.message)"
        case .resourceExhausted where error.isMessageTooLarge:
            return "The answer is too large to send (\(error.message)); ask for less, e.g. with page_size"
        case .internalError, .unknown, .dataLoss: return "Internal server error"
        default: return error.message
        }
    }

    /// `Retry-After` for a RESOURCE_EXHAUSTED answer: the service's `retry-after` trailer, else 1 s.
    static func retryAfter(_ error: RPCError) -> [(String, String)] {
        guard error.code == .resourceExhausted, !error.isMessageTooLarge else { return [] }
        let seconds = error.metadata["retry-after"].flatMap { Int($0) }.map { min(max($0, 1), 3600) } ?? 1
        return [("Retry-After", String(seconds))]
    }
}
