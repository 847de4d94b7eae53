import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPCSchema
import ServiceKit

/// What the users service does with the events of its queue (`users.events`); each runs in the
/// transaction that records the event as handled (``IdempotentConsumer``), so a redelivery
/// changes nothing. Events of other types on the queue (a binding wider than the routes) are
/// recorded as handled, with nothing to do.
enum UsersEvents {
    /// The queue and its bindings (declared by the standard topology).
    static let queue = BusTopology.Queue(
        name: "users.events",
        maxLength: BusTopology.consumerQueueLength,
        bindings: [
            // Profiles follow accounts (created, re-roled, deactivated), ratings and completed orders.
            BusTopology.Binding(exchange: "auth_events", pattern: "user.*"),
            BusTopology.Binding(exchange: "review_events", pattern: "rating.updated"),
            BusTopology.Binding(exchange: "order_events", pattern: "order.completed"),
            // Profiles show the payments ledger's totals (balance, total earnings).
            BusTopology.Binding(exchange: "payment_events", pattern: "payment.completed"),
            BusTopology.Binding(exchange: "payment_events", pattern: "payment.released"),
            BusTopology.Binding(exchange: "payment_events", pattern: "payment.refunded"),
        ]
    )

    static func routes(now: @escaping @Sendable () -> Date) -> EventRoutes<Database> {
        var routes = EventRoutes<Database>()
        routes.on(UserRegistered.self) { registered, db in
            try UsersEvents.conform(db, userID: registered.userId, role: registered.role, now: now())
        }
        routes.on(UserUpdated.self) { updated, db in
            if updated.role != updated.previousRole {
                try UsersEvents.conform(db, userID: updated.userId, role: updated.role, now: now())
            }
        }
        routes.on(UserDeactivated.self) { deactivated, db in
            try UsersSchema.markDeleted(db, deactivated.userId, at: now())
            try UsersSchema.deleteProfiles(db, deactivated.userId)
        }
        routes.on(RatingUpdated.self) { rating, db in
            if var profile = try UsersSchema.provider(db, rating.providerId) {
                profile.rating = rating.averageRating
                profile.totalReviews = rating.totalReviews
                profile.updatedAt = ProtoTimestamp(date: now())
                try UsersSchema.save(db, profile)
            }
        }
        routes.on(OrderCompleted.self) { completed, db in
            if var profile = try UsersSchema.provider(db, completed.providerId) {
                profile.completedOrders += 1
                profile.updatedAt = ProtoTimestamp(date: now())
                try UsersSchema.save(db, profile)
            }
        }
        // Profiles show the payments ledger's totals.
        UsersEvents.onTotals(PaymentCompleted.self, in: &routes)
        UsersEvents.onTotals(PaymentReleased.self, in: &routes)
        UsersEvents.onTotals(PaymentRefunded.self, in: &routes)
        return routes
    }

    /// Records the ledger's totals events of `type` carry (the newest by ledger sequence wins);
    /// the profiles show them (``UsersSchema/customer(_:_:)``, ``UsersSchema/provider(_:_:)``).
    static func onTotals<E: LedgerTotals>(_ type: E.Type, in routes: inout EventRoutes<Database>) {
        routes.on(E.self) { event, db in
            guard event.ledgerSequence > 0 else { return }
            try UsersSchema.setPaid(
                db,
                customer: event.customerId,
                cents: event.customerPaid?.cents ?? 0,
                sequence: event.ledgerSequence
            )
            if event.providerId != 0 {
                try UsersSchema.setEarnings(
                    db,
                    provider: event.providerId,
                    cents: event.providerEarnings?.cents ?? 0,
                    sequence: event.ledgerSequence
                )
            }
        }
    }

    /// Gives the user the profile of their role (announcing a new one).
    static func conform(_ db: Database, userID: Int64, role: Role, now: Date) throws {
        if let kind = try UsersSchema.conform(db, userID: userID, role: role, now: now) {
            try Outbox.enqueue(
                db,
                ProfileCreated(userId: userID, profileType: kind, occurredAt: ProtoTimestamp(date: now))
            )
        }
    }
}

/// The payment events that carry the ledger's totals for their customer and provider.
protocol LedgerTotals: EventMessage {
    var customerId: Int64 { get }
    var providerId: Int64 { get }
    var customerPaid: Money? { get }
    var providerEarnings: Money? { get }
    var ledgerSequence: Int64 { get }
}

extension PaymentCompleted: LedgerTotals {}
extension PaymentReleased: LedgerTotals {}
extension PaymentRefunded: LedgerTotals {}
