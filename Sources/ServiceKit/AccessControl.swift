public import Crypto
public import Foundation
import NIOConcurrencyHelpers
public import RPC
public import RPCSchema

/// Tokens revoked before their expiry, and users whose tokens issued before a moment are refused
/// (deactivated accounts, changed roles): what a valid signature no longer authorises. Filled at
/// start from the auth service (`ListRevocations`) and kept current from its `token.revoked`,
/// `user.deactivated` and `user.updated` events. Until the first snapshot is in, it is not
/// ``isReady`` and ``AccessControl`` refuses authenticated calls (it fails closed).
public final class RevocationList: Sendable {
    struct State {
        var tokens: [String: Date] = [:]
        var users: [Int64: Date] = [:]
        var ready = false
    }

    let state = NIOLockedValueBox(State())

    public init() {}

    /// Refuses the token with id `tokenID` until `expiresAt` (after which it is expired anyway).
    public func revoke(tokenID: String, until expiresAt: Date) {
        state.withLockedValue { $0.tokens[tokenID] = expiresAt }
    }

    /// Whether the first snapshot has been loaded.
    public var isReady: Bool { state.withLockedValue { $0.ready } }

    /// Marks the list complete (after the first snapshot).
    public func markReady() { state.withLockedValue { $0.ready = true } }

    /// Refuses every token of `userID` issued up to `at` (deactivation, a role change).
    public func refuseTokens(of userID: Int64, issuedUpTo at: Date) {
        state.withLockedValue { state in
            state.users[userID] = max(state.users[userID] ?? at, at)
        }
    }

    /// Whether `claims` are revoked (their id, or their user deactivated after they were issued).
    public func isRevoked(_ claims: TokenClaims) -> Bool {
        state.withLockedValue { state in
            if state.tokens[claims.jti] != nil { return true }
            if let user = Int64(claims.sub), let at = state.users[user], Double(claims.iat) <= at.timeIntervalSince1970 {
                return true
            }
            return false
        }
    }

    /// Forgets revoked tokens that have expired.
    public func prune(now: Date) {
        state.withLockedValue { state in state.tokens = state.tokens.filter { $0.value > now } }
    }

}

/// Verifies bearer tokens: access tokens with the auth service's public key, service tokens with
/// the service key; then revocation.
public struct TokenVerifier: Sendable {
    public let accessKey: Curve25519.Signing.PublicKey
    public let serviceKey: Curve25519.Signing.PublicKey
    public let revocations: RevocationList
    let now: @Sendable () -> Date

    public init(
        accessKey: Curve25519.Signing.PublicKey, serviceKey: Curve25519.Signing.PublicKey, revocations: RevocationList = RevocationList(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.accessKey = accessKey
        self.serviceKey = serviceKey
        self.revocations = revocations
        self.now = now
    }

    /// The caller `token` identifies.
    public func caller(for token: String) throws(TokenError) -> Caller {
        let claims = try JWT.verify(token, keys: ["access": accessKey, "service": serviceKey], now: now())
        if revocations.isRevoked(claims) { throw .revoked }
        let expires = Date(timeIntervalSince1970: Double(claims.exp))
        switch claims.use {
        case "access":
            guard let id = Int64(claims.sub), id > 0 else { throw .invalidClaims("sub must be a user id") }
            guard let role = claims.role, let name = RoleName.forID(role) else { throw .invalidClaims("unknown role") }
            return Caller(kind: .user, subject: String(id), roles: [name], tokenID: claims.jti, expiresAt: expires)
        default:
            guard claims.sub.hasPrefix("service:"), claims.sub.count > 8 else { throw .invalidClaims("sub must name a service") }
            return Caller(kind: .service, subject: String(claims.sub.dropFirst(8)), tokenID: claims.jti, expiresAt: expires)
        }
    }

    /// The bearer token of `metadata`'s `authorization` entry, if any.
    public static func bearerToken(in metadata: Metadata) -> String? {
        guard let value = metadata[MetadataKeys.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

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
            throw RPCError(code: .unavailable, message: "the service is starting (token revocations not loaded yet); retry shortly")
        }
        let caller: Caller
        do { caller = try verifier.caller(for: token) } catch {
            throw RPCError(code: .unauthenticated, message: error.description)
        }
        try AccessControl.check(rule, caller: caller, method: context.method)
        context.caller = caller
        try await next(context)
    }

    /// Whether `caller` satisfies `rule`.
    public static func check(_ rule: AccessRule, caller: Caller, method: MethodDescriptor) throws {
        if rule.internal {
            guard caller.kind == .service else {
                throw RPCError(code: .permissionDenied, message: "\(method.method) is for the system's services only")
            }
            return
        }
        if rule.roles.isEmpty { return }
        guard caller.kind == .user, !caller.roles.isDisjoint(with: rule.roles) else {
            throw RPCError(
                code: .permissionDenied,
                message: "\(method.method) requires the role \(rule.roles.joined(separator: " or "))")
        }
    }
}
