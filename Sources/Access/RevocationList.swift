public import Foundation
import NIOConcurrencyHelpers

/// Tokens revoked before their expiry, and users whose tokens issued before a moment are refused
/// (deactivated accounts, changed roles): what a valid signature no longer authorises. Filled at
/// start from the auth service (`ListRevocations`) and kept current from its `token.revoked`,
/// `user.deactivated` and `user.updated` events. Until the first snapshot is in, it is not
/// ``isReady`` and the services' access control refuses authenticated calls (it fails closed).
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
            if let user = Int64(claims.sub), let at = state.users[user], Double(claims.iat) <= at.timeIntervalSince1970
            {
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
