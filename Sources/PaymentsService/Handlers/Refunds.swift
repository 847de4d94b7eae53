import Foundation
import GRDB
import Logging
import MarketplaceAPI
import ServiceKit

/// Completes a reserved refund: asks the processor (once per refund: its reference is
/// `refund-<id>`), then records it (``PaymentBook/refunded(_:_:at:)``). The admin's refund does
/// this at once; the reconciler does it for refunds left pending (a crash, a processor outage,
/// a cancelled order's refund reserved by an event).
struct Refunds: Sendable {
    let database: DatabasePool
    let processor: any PaymentProcessor
    let logger: Logger
    let now: @Sendable () -> Date
    /// How long the processor may take to confirm.
    let timeout: Duration

    /// The payment after the refund, or nil when the processor did not confirm it (it stays pending).
    func complete(_ refund: PaymentsStore.PendingRefund) async throws -> Payment? {
        do {
            try await PaymentsService.withTimeout(timeout) { [processor] in
                try await processor.refund(
                    reference: "refund-\(refund.id)",
                    chargeReference: "payment-\(refund.payment)",
                    amountCents: refund.cents
                )
            }
        } catch {
            logger.warning(
                "the processor did not confirm a refund; it stays pending",
                metadata: ["refund": "\(refund.id)", "error": "\(error)"]
            )
            return nil
        }
        let now = self.now()
        return try await database.serviceWrite(logger: logger) { db in try PaymentBook.refunded(db, refund, at: now) }
    }
}
