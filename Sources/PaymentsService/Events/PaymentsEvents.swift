import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ServiceKit

/// What the payments service does with the events of its queue (`payments.events`): an order's
/// completion releases its escrow to the provider; its cancellation refunds a held payment in
/// full (reserved here, paid back by the reconciler's refund pass). Both are remembered, so a
/// payment the processor settles after them is released or refunded too.
enum PaymentsEvents {
    static let queue = BusTopology.Queue(
        name: "payments.events",
        maxLength: BusTopology.consumerQueueLength,
        bindings: [
            BusTopology.Binding(exchange: "order_events", pattern: "order.completed"),
            BusTopology.Binding(exchange: "order_events", pattern: "order.cancelled"),
        ]
    )

    static func routes(now: @escaping @Sendable () -> Date) -> EventRoutes<Database> {
        var routes = EventRoutes<Database>()
        routes.on(OrderCompleted.self) { completed, db in
            let now = now()
            try PaymentsStore.markCompleted(db, order: completed.orderId, provider: completed.providerId, at: now)
            guard let payment = try PaymentsStore.held(db, order: completed.orderId) else { return }
            try PaymentBook.release(db, payment: payment.id, held: true, provider: completed.providerId, at: now)
        }
        routes.on(OrderCancelled.self) { cancelled, db in
            let now = now()
            try PaymentsStore.markCancelled(db, order: cancelled.orderId, at: now)
            guard let payment = try PaymentsStore.held(db, order: cancelled.orderId) else { return }
            try PaymentBook.refundCancelled(db, payment.id, at: now)
        }
        return routes
    }
}
