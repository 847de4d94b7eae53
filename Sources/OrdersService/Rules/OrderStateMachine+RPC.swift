public import RPC

/// The status a refused action reaches the caller with.
extension OrderStateMachine.Refusal: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .notAllowed(let why): RPCError(code: .permissionDenied, message: why)
        case .illegal(let why): RPCError(code: .failedPrecondition, message: why)
        case .invalid(let why): RPCError(code: .invalidArgument, message: why)
        }
    }

    /// ``rpcError`` naming the order an illegal transition was tried on.
    func rpcError(order id: Int64) -> RPCError {
        guard case .illegal(let why) = self else { return rpcError }
        return RPCError(code: .failedPrecondition, message: "order \(id): \(why)")
    }
}
