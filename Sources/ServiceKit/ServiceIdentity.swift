public import Crypto
public import Foundation
import NIOConcurrencyHelpers
public import RPC

/// A service's own identity for the calls it makes to other services: a short-lived token
/// (`sub: service:<name>`, `token_use: service`) signed with the service key, renewed before it
/// expires, added to every outgoing call by ``interceptor``.
public final class ServiceIdentity: Sendable {
    public let name: String
    let key: Curve25519.Signing.PrivateKey
    let keyID: String
    let lifetime: TimeInterval
    let now: @Sendable () -> Date
    let cached = NIOLockedValueBox<(token: String, expires: Date)?>(nil)

    public init(
        name: String,
        key: Curve25519.Signing.PrivateKey,
        lifetime: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.name = name
        self.key = key
        self.keyID = KeyFile.keyID(key.publicKey)
        self.lifetime = lifetime
        self.now = now
    }

    /// A valid token (renewed when less than a third of its lifetime is left).
    public func token() throws -> String {
        let now = now()
        if let cached = cached.withLockedValue({ $0 }), cached.expires.timeIntervalSince(now) > lifetime / 3 {
            return cached.token
        }
        let issued = Int64(now.timeIntervalSince1970)
        let claims = TokenClaims(
            sub: "service:\(name)",
            role: nil,
            iat: issued,
            exp: issued + Int64(lifetime),
            jti: UUID().uuidString.lowercased(),
            use: "service"
        )
        let token = try JWT.sign(claims, key: key, keyID: keyID)
        cached.withLockedValue { $0 = (token, Date(timeIntervalSince1970: Double(claims.exp))) }
        return token
    }

    /// Adds `authorization: Bearer <service token>` to calls that carry no authorization yet.
    public var interceptor: any ClientInterceptor { BearerAuthorization { [self] in try token() } }
}
