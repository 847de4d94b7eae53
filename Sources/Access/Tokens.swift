public import Crypto
public import Foundation

/// What an access or service token says about its bearer.
public struct TokenClaims: Codable, Sendable, Hashable {
    /// The user id as a decimal string, or `service:<name>` for a service.
    public var sub: String
    /// The user's legacy role id (1 customer, 2 provider, 3 admin); absent in service tokens.
    public var role: Int?
    /// Issued at, seconds since 1970.
    public var iat: Int64
    /// Expires at, seconds since 1970.
    public var exp: Int64
    /// The token's unique id (revocation is by id).
    public var jti: String
    /// `access` (a user's, signed by the auth service) or `service` (signed with the service key).
    public var use: String

    public init(sub: String, role: Int?, iat: Int64, exp: Int64, jti: String, use: String) {
        self.sub = sub
        self.role = role
        self.iat = iat
        self.exp = exp
        self.jti = jti
        self.use = use
    }

    /// `token_use` on the wire, as RFC 9068's style names it.
    enum CodingKeys: String, CodingKey {
        case sub, role, iat, exp, jti
        case use = "token_use"
    }
}

/// Role names and the legacy contract's role ids.
public enum RoleName {
    public static let customer = "customer"
    public static let provider = "provider"
    public static let admin = "admin"

    /// 1 → customer, 2 → provider, 3 → admin.
    public static func forID(_ id: Int) -> String? {
        switch id {
        case 1: return customer
        case 2: return provider
        case 3: return admin
        default: return nil
        }
    }
}

/// Why a token was refused. The description is safe to send to the caller.
public enum TokenError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(String)
    case unsupportedAlgorithm(String)
    case badSignature
    case expired
    case notYetValid
    case revoked
    case invalidClaims(String)

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed token: \(why)"
        case .unsupportedAlgorithm(let alg): return "token algorithm '\(alg)' is not accepted (only EdDSA)"
        case .badSignature: return "token signature does not verify"
        case .expired: return "token has expired"
        case .notYetValid: return "token is not valid yet"
        case .revoked: return "token has been revoked"
        case .invalidClaims(let why): return "token claims are invalid: \(why)"
        }
    }
}

/// JWTs signed with Ed25519 (`alg: EdDSA`, RFC 8037), compact serialization.
public enum JWT {
    /// Tokens longer than this are refused before any parsing.
    public static let maximumLength = 4096

    struct Header: Codable {
        var alg: String
        var typ: String?
        var kid: String?
    }

    /// Signs `claims` with `key`; `keyID` goes into the header's `kid`.
    public static func sign(_ claims: TokenClaims, key: Curve25519.Signing.PrivateKey, keyID: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = try encoder.encode(Header(alg: "EdDSA", typ: "JWT", kid: keyID))
        let payload = try encoder.encode(claims)
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Checks the token's form, algorithm, signature (with the key its `token_use` calls for),
    /// and times; returns its claims. Revocation is the caller's to check.
    /// - Parameters:
    ///   - keys: the public key for each `token_use` (`access`, `service`).
    ///   - now: the current time (injectable for tests).
    ///   - leeway: tolerated clock skew for `iat`.
    public static func verify(
        _ token: String,
        keys: [String: Curve25519.Signing.PublicKey],
        now: Date,
        leeway: TimeInterval = 30
    ) throws(TokenError) -> TokenClaims {
        guard token.utf8.count <= maximumLength else { throw .malformed("longer than \(maximumLength) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected 3 dot-separated parts, found \(parts.count)") }
        guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw .malformed("a part is not base64url") }
        let decoder = JSONDecoder()
        guard let header = try? decoder.decode(Header.self, from: headerBytes) else {
            throw .malformed("header is not a JWT header")
        }
        guard header.alg == "EdDSA" else { throw .unsupportedAlgorithm(header.alg) }
        let claims: TokenClaims
        do { claims = try decoder.decode(TokenClaims.self, from: payloadBytes) } catch {
            throw .invalidClaims("expected string sub, integer iat/exp, string jti and token_use")
        }
        guard let key = keys[claims.use] else { throw .invalidClaims("unknown token_use '\(claims.use)'") }
        let signingInput = Data((parts[0] + "." + parts[1]).utf8)
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }
        let seconds = Int64(now.timeIntervalSince1970)
        guard claims.exp > seconds else { throw .expired }
        guard Double(claims.iat) <= now.timeIntervalSince1970 + leeway else { throw .notYetValid }
        guard !claims.jti.isEmpty else { throw .invalidClaims("empty jti") }
        return claims
    }
}
