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

/// Keeps a service's ``RevocationList`` current: a temporary queue bound to `token.revoked`,
/// `user.deactivated` and `user.updated` first, then the full list (from the auth service, or
/// for auth itself from its database), then every event as it comes. After a disconnect it
/// starts over (new queue, fresh list), so nothing is missed. Expired entries are pruned.
public final class RevocationFollower: Service, Sendable {
    public typealias Snapshot = @Sendable () async throws -> ListRevocationsResponse

    let revocations: RevocationList
    let snapshot: Snapshot
    let bus: Broker.Client
    let service: String
    let logger: Logger

    /// Follows with the snapshot from the auth service (`ListRevocations`, with a service identity).
    public convenience init(revocations: RevocationList, auth: Auth.Client, bus: Broker.Client, service: String, logger: Logger) {
        self.init(revocations: revocations, snapshot: { try await auth.listRevocations(ListRevocationsRequest()) }, bus: bus, service: service, logger: logger)
    }

    public init(revocations: RevocationList, snapshot: @escaping Snapshot, bus: Broker.Client, service: String, logger: Logger) {
        self.revocations = revocations
        self.snapshot = snapshot
        self.bus = bus
        self.service = service
        self.logger = logger
    }

    /// Applies a snapshot to `revocations` and marks it ready.
    public static func apply(_ snapshot: ListRevocationsResponse, to revocations: RevocationList) {
        for token in snapshot.tokens { revocations.revoke(tokenID: token.tokenId, until: token.expiresAt?.date ?? Date()) }
        for user in snapshot.users { revocations.refuseTokens(of: user.userId, issuedUpTo: user.deactivatedAt?.date ?? Date()) }
        revocations.markReady()
    }

    public func run() async throws {
        let revocations = self.revocations
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Forget revoked tokens once they would have expired anyway.
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(60))
                    revocations.prune(now: Date())
                }
            }
            group.addTask {
                var backoff = Duration.milliseconds(100)
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    do {
                        try await cancelWhenGracefulShutdown { try await self.follow() }
                        backoff = .milliseconds(100)
                    } catch {
                        self.logger.debug("revocation feed interrupted; restarting", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: backoff)
                        backoff = min(backoff * 2, .seconds(5))
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func follow() async throws {
        let queue = "revocations.\(service).\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await bus.declareQueue(DeclareQueueRequest(name: queue, autoDelete: true))
        _ = try await bus.bind(BindRequest(queue: queue, exchange: TokenRevoked.eventExchange, pattern: TokenRevoked.eventRoutingKey))
        _ = try await bus.bind(
            BindRequest(queue: queue, exchange: UserDeactivated.eventExchange, pattern: UserDeactivated.eventRoutingKey))
        _ = try await bus.bind(BindRequest(queue: queue, exchange: UserUpdated.eventExchange, pattern: UserUpdated.eventRoutingKey))
        let (revocations, snapshot) = (self.revocations, self.snapshot)
        try await bus.subscribe { writer, deliveries in
            try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: 256))))
            // Subscribed: whatever is revoked from now on arrives here; what was before comes now.
            RevocationFollower.apply(try await snapshot(), to: revocations)
            try await Acknowledgements.run(writer) { acks in
                for try await delivery in deliveries {
                    // Only the auth service's word counts (the bus stamps who published).
                    if let event = delivery.event, EventOwnership.accepts(event) { RevocationFollower.apply(event, to: revocations) }
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
                revocations.refuseTokens(of: deactivated.userId, issuedUpTo: deactivated.occurredAt?.date ?? Date())
            }
        case UserUpdated.protoMessageName:
            // A role change: tokens carrying the old role stop working.
            if let updated = try? UserUpdated(serializedBytes: event.payload), updated.role != updated.previousRole {
                revocations.refuseTokens(of: updated.userId, issuedUpTo: updated.occurredAt?.date ?? Date())
            }
        default: break
        }
    }
}
