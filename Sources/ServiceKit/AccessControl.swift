// Tokens, the token verifier, revocation lists, rate limiters and the access decision live in
// Access (shared with the gateway); every user of ServiceKit keeps seeing them.
@_exported public import Access
public import RPC
public import RPCSchema

/// The server interceptor every service runs: it checks the call's bearer token, fills
/// `context.caller`, and enforces the method's `(rpc.v1.access)` rule from the schema.
///
/// - public: anyone (a valid token, if sent, still fills `caller`);
/// - internal: services only;
/// - authenticated: any user, or a service when the rule names no roles;
/// - roles: a user with one of them.
///
/// No token, a malformed or tampered one, another algorithm (`alg: none` included), an expired
/// or revoked one → UNAUTHENTICATED; the wrong kind of caller or role → PERMISSION_DENIED. A
/// method without a rule is refused, except the protocol's own services (health, reflection).
public struct AccessControl: ServerInterceptor {
    public let verifier: TokenVerifier

    public init(verifier: TokenVerifier) { self.verifier = verifier }

    public func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        var context = context
        let token = TokenVerifier.bearerToken(in: context.metadata)
        guard let rule = context.method.accessRule else {
            guard context.method.service.hasPrefix("rpc.v1.") else {
                throw RPCError(code: .permissionDenied, message: "\(context.method.path) declares no access rule")
            }
            return try await next(context)
        }
        if rule.public {
            if let token, let caller = try? verifier.caller(for: token) { context.caller = caller }
            return try await next(context)
        }
        guard let token else {
            throw RPCError(code: .unauthenticated, message: "this method needs a bearer token in 'authorization'")
        }
        guard verifier.revocations.isReady else {
            throw RPCError(
                code: .unavailable,
                message: "the service is starting (token revocations not loaded yet); retry shortly"
            )
        }
        let caller: Caller
        do { caller = try verifier.caller(for: token) } catch {
            throw RPCError(code: .unauthenticated, message: error.description)
        }
        try AccessControl.check(rule, caller: caller, method: context.method)
        context.caller = caller
        try await next(context)
    }

    /// Whether `caller` satisfies `rule` (the shared ``AccessRule/decision(for:operation:)``):
    /// PERMISSION_DENIED naming `method` when it does not.
    public static func check(_ rule: AccessRule, caller: Caller, method: MethodDescriptor) throws {
        try rule.decision(for: caller, operation: method.method).enforce()
    }
}
