public import RPC

extension ServerContext {
    /// The calling user's id, or UNAUTHENTICATED (for handlers of methods only users call).
    public func requireUserID() throws -> Int64 {
        guard let id = caller?.userID else {
            throw RPCError(code: .unauthenticated, message: "this method needs a signed-in user")
        }
        return id
    }

    /// Whether the caller is an admin user.
    public var callerIsAdmin: Bool { caller?.kind == .user && caller?.roles.contains(RoleName.admin) == true }
}
