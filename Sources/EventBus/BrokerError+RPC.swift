public import RPC

/// The status a broker refusal reaches a client with (the server converts it).
extension BrokerError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .unknownExchange, .unknownQueue: RPCError(code: .notFound, message: description)
        case .conflictingDeclaration: RPCError(code: .failedPrecondition, message: description)
        case .unsupportedExchangeType, .tooLong, .invalidDeclaration:
            RPCError(code: .invalidArgument, message: description)
        case .shuttingDown: RPCError(code: .unavailable, message: description)
        case .limitExceeded: RPCError(code: .resourceExhausted, message: description)
        case .exclusiveQueue: RPCError(code: .permissionDenied, message: description)
        }
    }
}
