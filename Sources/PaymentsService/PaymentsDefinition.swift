import Foundation
import MarketplaceAPI
public import ServiceKit

extension ServiceDefinition {
    /// The payments service (port 8004): pays, escrow and refunds over a double-entry ledger; it
    /// calls orders (to read an order's price and record its payment) and its queue learns of
    /// orders completing and being cancelled. `processor` nil: the simulated processor with its
    /// records in `<data>/payment-processor.sqlite`.
    public static func payments(
        _ configuration: PaymentsConfiguration = PaymentsConfiguration(),
        processor: (any PaymentProcessor)? = nil
    ) -> ServiceDefinition {
        ServiceDefinition(
            name: "payments",
            rpcServices: [Payments.serviceName],
            calls: ["orders"],
            migrate: PaymentsStore.migrate,
            queue: PaymentsEvents.queue,
            durability: .full,
            now: configuration.now
        ) { environment in
            let processor =
                try processor
                ?? SimulatedProcessor(
                    path: environment.dataDirectory + "/payment-processor.sqlite",
                    lateFailure: configuration.lateFailure
                )
            let service = PaymentsService(
                database: environment.database,
                orders: Orders.Client(try environment.client("orders")),
                processor: processor,
                configuration: configuration,
                logger: environment.logger
            )
            return ServiceParts(
                handlers: [service],
                routes: PaymentsEvents.routes(now: configuration.now),
                background: [Reconciler(service: service, interval: configuration.reconcileInterval)]
            )
        }
    }
}
