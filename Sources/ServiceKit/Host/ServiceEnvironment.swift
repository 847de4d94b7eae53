public import Crypto
public import Foundation
public import GRDB
public import Logging
public import MarketplaceAPI
public import RPC

/// What the host gives a service to build itself with.
public struct ServiceEnvironment: Sendable {
    public let name: String
    public let dataDirectory: String
    /// Its own database, migrated.
    public let database: DatabasePool
    /// The revoked tokens and users its access control consults (kept current by the host).
    public let revocations: RevocationList
    /// Who it is when it calls others.
    public let identity: ServiceIdentity
    /// The token signing key, for the service that issues tokens (nil for the others).
    public let signingKey: Curve25519.Signing.PrivateKey?
    public let now: @Sendable () -> Date
    public let logger: Logger
    let peers: [String: [Endpoint]]

    /// A client of the peer `name` that calls as this service.
    /// - Throws: ``ServiceHostError`` when no address of that peer was given.
    public func client(_ name: String) throws -> RPCClient {
        try ServiceHost.client(peers, name, identity: identity, for: self.name)
    }

    /// The auth service, called as this service.
    public func auth() throws -> Auth.Client { Auth.Client(try client("auth")) }
}

/// A service that cannot be hosted as configured (a missing peer address, a queue that does not
/// bind an event its routes handle).
public struct ServiceHostError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
