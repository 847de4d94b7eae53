import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ServiceKit

/// What the orders service does with the events of its queue (`orders.events`), each applied
/// once, in the transaction that records it as handled (``IdempotentConsumer``).
enum OrdersEvents {
    /// The queue and its bindings (declared by the standard topology): orders learn of payments and reviews.
    static let queue = BusTopology.Queue(
        name: "orders.events",
        maxLength: BusTopology.consumerQueueLength,
        bindings: [
            BusTopology.Binding(exchange: "payment_events", pattern: "payment.completed"),
            BusTopology.Binding(exchange: "payment_events", pattern: "payment.refunded"),
            BusTopology.Binding(exchange: "review_events", pattern: "review.created"),
        ]
    )

    static func routes(now: @escaping @Sendable () -> Date) -> EventRoutes<Database> {
        var routes = EventRoutes<Database>()
        routes.on(PaymentCompleted.self) { paid, db in
            // A cancelled order is not marked paid (the payments service refunds that payment),
            // as RecordPayment refuses it.
            guard let order = try OrdersSchema.fetch(db, paid.orderId), order.status != .cancelled else { return }
            try OrdersSchema.setPaymentStatus(db, paid.orderId, .paid, at: now())
        }
        routes.on(PaymentRefunded.self) { refunded, db in
            let status: PaymentStatus = refunded.fullyRefunded ? .refunded : .partiallyRefunded
            try OrdersSchema.setPaymentStatus(db, refunded.orderId, status, at: now())
        }
        routes.on(ReviewCreated.self) { review, db in
            // A review of a completed order marks it reviewed (a late or repeated one changes nothing).
            let now = now()
            guard let order = try OrdersSchema.fetch(db, review.orderId), order.status == .completed else { return }
            guard
                try OrdersSchema.update(
                    db,
                    order.id,
                    from: .completed,
                    to: .reviewed,
                    provider: order.providerId,
                    reason: order.statusReason,
                    at: now
                )
            else { return }
            try OrdersSchema.record(
                db,
                order: order.id,
                from: .completed,
                to: .reviewed,
                actor: .system,
                reason: "review \(review.reviewId)",
                at: now
            )
            var after = order
            after.status = .reviewed
            try OrdersService.announce(
                db,
                action: .markReviewed,
                actor: .system,
                before: order,
                after: after,
                reason: "",
                at: now
            )
        }
        return routes
    }
}
