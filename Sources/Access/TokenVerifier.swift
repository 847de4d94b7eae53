public import Crypto
public import Foundation
public import RPC

/// Verifies bearer tokens: access tokens with the auth service's public key, service tokens with
/// the service key; then revocation.
public struct TokenVerifier: Sendable {
    public let accessKey: Curve25519.Signing.PublicKey
    public let serviceKey: Curve25519.Signing.PublicKey
    public let revocations: RevocationList
    let now: @Sendable () -> Date

    public init(
        accessKey: Curve25519.Signing.PublicKey,
        serviceKey: Curve25519.Signing.PublicKey,
        revocations: RevocationList = RevocationList(),
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
            guard claims.sub.hasPrefix("service:"), claims.sub.count > 8 else {
                throw .invalidClaims("sub must name a service")
            }
            return Caller(
                kind: .service,
                subject: String(claims.sub.dropFirst(8)),
                tokenID: claims.jti,
                expiresAt: expires
            )
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
