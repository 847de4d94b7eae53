public import RPC
public import RPCSchema

/// What a method's `(rpc.v1.access)` rule says about one caller: the single access decision the
/// services (their access-control interceptor) and the gateway (its early check) both take.
public enum AccessDecision: Sendable, Hashable {
    /// The caller may call the method.
    case allowed
    /// Nobody is signed in where the rule needs a caller (RPC UNAUTHENTICATED). The text is safe
    /// to send.
    case unauthenticated(String)
    /// The caller is of the wrong kind or lacks the role (RPC PERMISSION_DENIED). The text is safe
    /// to send.
    case permissionDenied(String)

    /// Throws the decision as the RPC error it stands for (nothing for ``allowed``).
    public func enforce() throws(RPCError) {
        switch self {
        case .allowed: return
        case .unauthenticated(let message): throw RPCError(code: .unauthenticated, message: message)
        case .permissionDenied(let message): throw RPCError(code: .permissionDenied, message: message)
        }
    }
}

extension AccessRule {
    /// The decision for `caller` (nil: no verified caller):
    ///
    /// - public: anyone;
    /// - internal: the system's services only;
    /// - authenticated with no roles: any verified caller (a user, or a service);
    /// - roles: a user holding one of them.
    ///
    /// - Parameter operation: how refusals name what was called (a method name, "this operation").
    public func decision(for caller: Caller?, operation: String) -> AccessDecision {
        if self.public { return .allowed }
        guard let caller else { return .unauthenticated("\(operation) needs a signed-in caller") }
        if self.internal {
            return caller.kind == .service
                ? .allowed : .permissionDenied("\(operation) is for the system's services only")
        }
        if roles.isEmpty { return .allowed }
        guard caller.kind == .user, !caller.roles.isDisjoint(with: roles) else {
            return .permissionDenied("\(operation) requires the role \(roles.joined(separator: " or "))")
        }
        return .allowed
    }
}
