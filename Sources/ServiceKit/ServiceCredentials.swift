public import Crypto
public import Foundation
public import Logging
public import MarketplaceAPI
public import RPC
public import ServiceLifecycle

/// What a service other than auth needs to check callers and to call others as itself: its
/// service identity, an auth client carrying it, the revocation list and the access-control
/// interceptor over both keys (the auth service's, fetched unless given, and the service key).
public struct ServiceCredentials: Sendable {
    public let identity: ServiceIdentity
    /// The auth service, called with this service's identity.
    public let auth: Auth.Client
    public let revocations: RevocationList
    public let accessControl: AccessControl

    /// - Parameter authPublicKey: the token key; nil fetches it from the auth service.
    public static func load(
        service name: String, dataDirectory: String, auth authEndpoints: [Endpoint], authPublicKey: Curve25519PublicKey?,
        now: @escaping @Sendable () -> Date, logger: Logger
    ) async throws -> ServiceCredentials {
        let serviceKey = try ServiceKeys.serviceKey(dataDirectory: dataDirectory)
        let identity = ServiceIdentity(name: name, key: serviceKey)
        let auth = Auth.Client(RPCClient(endpoints: authEndpoints, interceptors: [identity.interceptor]))
        let accessKey: Curve25519PublicKey
        if let authPublicKey { accessKey = authPublicKey } else { accessKey = try await AuthPublicKey.fetch(from: auth, logger: logger) }
        let revocations = RevocationList()
        let verifier = TokenVerifier(accessKey: accessKey, serviceKey: serviceKey.publicKey, revocations: revocations, now: now)
        return ServiceCredentials(identity: identity, auth: auth, revocations: revocations, accessControl: AccessControl(verifier: verifier))
    }

    /// A client of other services that calls as this service.
    public func client(_ endpoints: [Endpoint]) -> RPCClient { RPCClient(endpoints: endpoints, interceptors: [identity.interceptor]) }

    /// The feed that keeps ``revocations`` current.
    public func follower(bus: Broker.Client, logger: Logger) -> RevocationFollower {
        RevocationFollower(revocations: revocations, auth: auth, bus: bus, service: identity.name, logger: logger)
    }
}

/// Runs the parts of a service process together; the first to end (or fail) ends the others.
public func runTogether(_ parts: [any Service]) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for part in parts { group.addTask { try await part.run() } }
        try await group.next()
        group.cancelAll()
    }
}
