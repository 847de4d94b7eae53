import Crypto
public import EventBus
import Foundation
public import Logging
public import MarketplaceAPI
import ProtoRuntime
import RPC
public import ServiceLifecycle

/// Keeps a service's ``RevocationList`` current: a temporary queue bound to `token.revoked`,
/// `user.deactivated` and `user.updated` first, then the full list (from the auth service, or
/// for auth itself from its database), then every event as it comes (``EventConsumer``, the
/// system's one consume loop). After a disconnect it starts over (new queue, fresh list), so
/// nothing is missed. Expired entries are pruned.
public final class RevocationFollower: Service, Sendable {
    public typealias Snapshot = @Sendable () async throws -> ListRevocationsResponse

    let revocations: RevocationList
    let consumer: EventConsumer

    /// What revokes tokens: only the auth service's word counts (the consumer checks who published).
    static let routes: EventRoutes<RevocationList> = {
        var routes = EventRoutes<RevocationList>()
        routes.on(TokenRevoked.self) { revoked, list in
            list.revoke(tokenID: revoked.tokenId, until: revoked.expiresAt?.date ?? Date())
        }
        routes.on(UserDeactivated.self) { deactivated, list in
            list.refuseTokens(of: deactivated.userId, issuedUpTo: deactivated.occurredAt?.date ?? Date())
        }
        routes.on(UserUpdated.self) { updated, list in
            // A role change: tokens carrying the old role stop working.
            if updated.role != updated.previousRole {
                list.refuseTokens(of: updated.userId, issuedUpTo: updated.occurredAt?.date ?? Date())
            }
        }
        return routes
    }()

    /// Follows with the snapshot from the auth service (`ListRevocations`, with a service identity).
    public convenience init(
        revocations: RevocationList,
        auth: Auth.Client,
        bus: Broker.Client,
        service: String,
        logger: Logger
    ) {
        self.init(
            revocations: revocations,
            snapshot: { try await auth.listRevocations(ListRevocationsRequest()) },
            bus: bus,
            service: service,
            logger: logger
        )
    }

    public init(
        revocations: RevocationList,
        snapshot: @escaping Snapshot,
        bus: Broker.Client,
        service: String,
        logger: Logger
    ) {
        self.revocations = revocations
        let routes = RevocationFollower.routes
        self.consumer = EventConsumer(
            bus: bus,
            queue: .temporary(prefix: "revocations.\(service)", bindings: routes.bindings),
            prefetch: 256,
            logger: logger,
            // Subscribed: whatever is revoked from now on arrives on the queue; what was before comes now.
            subscribed: { RevocationFollower.apply(try await snapshot(), to: revocations) },
            // A payload that does not decode revokes nothing, and is not worth a redelivery.
            handle: { event in _ = try? routes.handle(event, revocations) }
        )
    }

    /// Applies a snapshot to `revocations` and marks it ready.
    public static func apply(_ snapshot: ListRevocationsResponse, to revocations: RevocationList) {
        for token in snapshot.tokens {
            revocations.revoke(tokenID: token.tokenId, until: token.expiresAt?.date ?? Date())
        }
        for user in snapshot.users {
            revocations.refuseTokens(of: user.userId, issuedUpTo: user.deactivatedAt?.date ?? Date())
        }
        revocations.markReady()
    }

    public func run() async throws {
        let (revocations, consumer) = (self.revocations, self.consumer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Forget revoked tokens once they would have expired anyway.
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(60))
                    revocations.prune(now: Date())
                }
            }
            group.addTask { try await consumer.run() }
            try await group.next()
            group.cancelAll()
        }
    }
}
