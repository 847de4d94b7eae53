public import Crypto
import EventBus
import Foundation
public import Logging
public import MarketplaceAPI
import ProtoRuntime
public import RPC
import RPCSchema
public import ServiceLifecycle

/// The auth service's public key, fetched over RPC (retrying while auth is not up yet).
public enum AuthPublicKey {
    /// - Throws: the last error once `attempts` have failed; FAILED_PRECONDITION for a key that is
    ///   not a 32-byte EdDSA key.
    public static func fetch(from auth: Auth.Client, attempts: Int = 60, logger: Logger) async throws -> Curve25519.Signing.PublicKey {
        var delay = Duration.milliseconds(100)
        var lastError: any Error = RPCError(code: .unavailable, message: "the auth service was not reached")
        for attempt in 1...max(1, attempts) {
            do {
                let response = try await auth.getPublicKey(GetPublicKeyRequest(), options: CallOptions(timeout: .seconds(2)))
                guard response.algorithm == "EdDSA", let key = try? Curve25519.Signing.PublicKey(rawRepresentation: response.publicKey)
                else {
                    throw RPCError(code: .failedPrecondition, message: "the auth service's key is not an Ed25519 key")
                }
                return key
            } catch let error as RPCError where error.code == .failedPrecondition {
                throw error
            } catch {
                lastError = error
                if attempt == 1 || attempt % 10 == 0 {
                    logger.info("waiting for the auth service's public key", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
        throw lastError
    }

    /// A key given in configuration: the raw 32 bytes, base64.
    public static func parse(base64 text: String) throws -> Curve25519.Signing.PublicKey {
        guard let data = Data(base64Encoded: text), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: data) else {
            throw RPCError(code: .invalidArgument, message: "the auth public key must be a base64 32-byte Ed25519 key")
        }
        return key
    }
}

/// Keeps a service's ``RevocationList`` current: a temporary queue bound to `token.revoked` and
/// `user.deactivated` first, then the full list from the auth service, then every event as it
/// comes. After a disconnect it starts over (new queue, fresh list), so nothing is missed.
public final class RevocationFollower: Service, Sendable {
    let revocations: RevocationList
    let auth: Auth.Client
    let bus: Broker.Client
    let service: String
    let logger: Logger

    public init(revocations: RevocationList, auth: Auth.Client, bus: Broker.Client, service: String, logger: Logger) {
        self.revocations = revocations
        self.auth = auth
        self.bus = bus
        self.service = service
        self.logger = logger
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await self.follow() }
                backoff = .milliseconds(100)
            } catch {
                logger.debug("revocation feed interrupted; restarting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    func follow() async throws {
        let queue = "revocations.\(service).\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await bus.declareQueue(DeclareQueueRequest(name: queue, autoDelete: true))
        _ = try await bus.bind(BindRequest(queue: queue, exchange: TokenRevoked.eventExchange, pattern: TokenRevoked.eventRoutingKey))
        _ = try await bus.bind(
            BindRequest(queue: queue, exchange: UserDeactivated.eventExchange, pattern: UserDeactivated.eventRoutingKey))
        let (revocations, auth) = (self.revocations, self.auth)
        try await bus.subscribe { writer, deliveries in
            try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: 256))))
            // Subscribed: whatever is revoked from now on arrives here; what was before comes now.
            let snapshot = try await auth.listRevocations(ListRevocationsRequest())
            for token in snapshot.tokens { revocations.revoke(tokenID: token.tokenId, until: token.expiresAt?.date ?? Date()) }
            for user in snapshot.users { revocations.deactivate(userID: user.userId, at: user.deactivatedAt?.date ?? Date()) }
            try await Acknowledgements.run(writer) { acks in
                for try await delivery in deliveries {
                    RevocationFollower.apply(delivery.event ?? Event(), to: revocations)
                    acks.ack(delivery.deliveryTag)
                }
            }
        }
    }

    static func apply(_ event: Event, to revocations: RevocationList) {
        switch event.type {
        case TokenRevoked.protoMessageName:
            if let revoked = try? TokenRevoked(serializedBytes: event.payload) {
                revocations.revoke(tokenID: revoked.tokenId, until: revoked.expiresAt?.date ?? Date())
            }
        case UserDeactivated.protoMessageName:
            if let deactivated = try? UserDeactivated(serializedBytes: event.payload) {
                revocations.deactivate(userID: deactivated.userId, at: deactivated.occurredAt?.date ?? Date())
            }
        default: break
        }
    }
}
