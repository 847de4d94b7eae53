public import Crypto
public import Foundation
import NIOConcurrencyHelpers
public import RPC
import Logging
import MarketplaceAPI

/// The event bus's authenticating interceptor: it verifies the call's bearer token (a service
/// token with the service key, or an admin's access token with the auth service's key) and fills
/// `context.caller`; the broker then checks the topology's permissions for that identity.
///
/// A call without a token reaches the broker without a caller and is refused there
/// (UNAUTHENTICATED), except the protocol's own health and reflection services. A token that
/// does not verify is UNAUTHENTICATED here, with the reason.
///
/// The bus does not follow token revocations (it would have to consume its own feed): an admin
/// token keeps working on the bus until it expires (30 minutes by default), service tokens until
/// theirs (5 minutes).
public struct BusAuthenticator: ServerInterceptor {
    let serviceKey: Curve25519.Signing.PublicKey
    let accessKey: AccessKeySource
    let now: @Sendable () -> Date

    /// Where the auth service's public key comes from: given, or fetched on first need (and
    /// again after a failed fetch, at most once every few seconds).
    public final class AccessKeySource: Sendable {
        let fetch: (@Sendable () async throws -> Curve25519.Signing.PublicKey)?
        let state = NIOLockedValueBox<(key: Curve25519.Signing.PublicKey?, lastAttempt: ContinuousClock.Instant?)>(
            (nil, nil)
        )

        public init(key: Curve25519.Signing.PublicKey) {
            fetch = nil
            state.withLockedValue { $0.key = key }
        }

        public init(fetch: @escaping @Sendable () async throws -> Curve25519.Signing.PublicKey) { self.fetch = fetch }

        /// No key: only service tokens are accepted.
        public init() { fetch = nil }

        /// The key if known; without `fetching`, never waits for the auth service.
        func key(fetching: Bool) async -> Curve25519.Signing.PublicKey? {
            let (known, last) = state.withLockedValue { ($0.key, $0.lastAttempt) }
            if let known { return known }
            guard fetching, let fetch else { return nil }
            if let last, ContinuousClock.now - last < .seconds(5) { return nil }
            state.withLockedValue { $0.lastAttempt = .now }
            guard let key = try? await fetch() else { return nil }
            state.withLockedValue { $0.key = key }
            return key
        }
    }

    public init(
        serviceKey: Curve25519.Signing.PublicKey,
        accessKey: AccessKeySource,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.serviceKey = serviceKey
        self.accessKey = accessKey
        self.now = now
    }

    public func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        guard let token = TokenVerifier.bearerToken(in: context.metadata) else { return try await next(context) }
        // A key nobody holds stands in for the auth key until it is known: access tokens are
        // refused meanwhile (as not verifying), service tokens are not affected. The auth
        // service is asked for its key only when an access token needs it.
        var context = context
        var access = await accessKey.key(fetching: false) ?? AccessKeySource.unknown
        do {
            context.caller = try TokenVerifier(accessKey: access, serviceKey: serviceKey, now: now).caller(for: token)
        } catch {
            if access.rawRepresentation == AccessKeySource.unknown.rawRepresentation,
                let fetched = await accessKey.key(fetching: true),
                let caller = try? TokenVerifier(accessKey: fetched, serviceKey: serviceKey, now: now).caller(for: token)
            {
                context.caller = caller
                return try await next(context)
            }
            access = await accessKey.key(fetching: false) ?? AccessKeySource.unknown
            let unknown = access.rawRepresentation == AccessKeySource.unknown.rawRepresentation
            throw RPCError(
                code: .unauthenticated,
                message:
                    "event bus: \(error.description)\(unknown ? " (the bus does not have the auth service's key yet)" : "")"
            )
        }
        try await next(context)
    }
}

extension BusAuthenticator.AccessKeySource {
    static let unknown = Curve25519.Signing.PrivateKey().publicKey
}

extension BusAuthenticator {
    /// The bus's authenticator on the machine that holds `dataDirectory`: service tokens with its
    /// service key; admin tokens with `authPublicKey`, else the auth key file (`authKeyFile`, by
    /// default the data directory's), else the key fetched from `auth` when first needed.
    public static func make(
        dataDirectory: String,
        authPublicKey: Curve25519.Signing.PublicKey? = nil,
        authKeyFile: String? = nil,
        auth: [Endpoint] = []
    ) throws -> BusAuthenticator {
        let serviceKey = try ServiceKeys.serviceKey(dataDirectory: dataDirectory).publicKey
        let keyPath = authKeyFile ?? ServiceKeys.authKeyPath(dataDirectory: dataDirectory)
        let source: AccessKeySource
        if let authPublicKey {
            source = AccessKeySource(key: authPublicKey)
        } else if FileManager.default.fileExists(atPath: keyPath) {
            source = AccessKeySource(key: try KeyFile.load(path: keyPath).publicKey)
        } else if auth.isEmpty {
            source = AccessKeySource()
        } else {
            source = AccessKeySource(fetch: {
                let client = RPCClient(endpoints: auth)
                do {
                    let key = try await AuthPublicKey.fetch(
                        from: Auth.Client(client),
                        attempts: 1,
                        logger: Logger(label: "bus")
                    )
                    await client.close()
                    return key
                } catch {
                    await client.close()
                    throw error
                }
            })
        }
        return BusAuthenticator(serviceKey: serviceKey, accessKey: source)
    }
}
