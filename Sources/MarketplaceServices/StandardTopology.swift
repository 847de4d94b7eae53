public import EventBus
import ServiceKit

extension BusTopology {
    /// The marketplace's bus: the standard exchanges, and the queue every service declares in
    /// its ``ServiceDefinition`` (with its bindings and limits).
    public static var standard: BusTopology {
        BusTopology(
            exchanges: EventBusInfo.standardExchanges,
            queues: MarketplaceServices.all().compactMap(\.queue) + planned
        )
    }

    /// The queues of services still to be built, declared now so that their events wait for them.
    // The notifications service (issue 14) will declare this queue in its definition.
    static let planned = [
        // Inbox items for what happens to orders, payments and reviews; an inbox item older than a
        // week is not worth delivering, and 100,000 waiting bound the queue while nobody consumes it.
        Queue(
            name: "notifications.events",
            maxLength: 100_000,
            messageTtlMs: 7 * 24 * 3_600_000,
            bindings: [
                Binding(exchange: "order_events", pattern: "order.#"),
                Binding(exchange: "payment_events", pattern: "payment.#"),
                Binding(exchange: "review_events", pattern: "review.#"),
            ]
        )
    ]
}
