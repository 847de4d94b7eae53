import Foundation
import GRDB
import Logging
import MarketplaceAPI
import ServiceKit
import ServiceLifecycle

/// Settles what a pay or a refund left open: payments pending past the processor's timeout and
/// refunds still pending. A pending payment is settled from the processor's record; one the
/// processor has no record of is voided there first (so a charge still in flight is refused
/// rather than recorded later) and settled on what the void says. Nothing is ever charged twice
/// or charged unrecorded. Runs every interval until shutdown; a payment or refund that fails is
/// logged and tried again next time, without holding up the others.
struct Reconciler: Service {
    let service: PaymentsService
    let interval: Duration

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do { try await reconcile() } catch {
                service.logger.warning("reconciliation failed; trying again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass: returns how many payments and refunds it settled.
    @discardableResult
    func reconcile() async throws -> Int {
        let timeout = service.configuration.processorTimeout.components.seconds
        let cutoff = service.now.addingTimeInterval(-TimeInterval(timeout) - 1)
        let overdue = try await service.read { db in try PaymentsStore.overdue(db, before: cutoff, limit: 100) }
        var settled = 0
        for payment in overdue {
            do {
                if try await settle(payment) { settled += 1 }
            } catch {
                service.logger.warning(
                    "could not settle a pending payment; trying again",
                    metadata: ["payment": "\(payment.id)", "error": "\(error)"]
                )
            }
        }
        let refunds = try await service.read { db in try PaymentsStore.pendingRefunds(db, limit: 100) }
        for refund in refunds {
            do {
                if let payment = try await service.refunds.complete(refund) {
                    settled += 1
                    await service.confirmOnOrder(payment)
                }
            } catch {
                service.logger.warning(
                    "could not complete a refund; trying again",
                    metadata: ["refund": "\(refund.id)", "error": "\(error)"]
                )
            }
        }
        return settled
    }

    /// Settles one overdue payment from the processor's record; returns whether it did.
    func settle(_ payment: Payment) async throws -> Bool {
        let reference = "payment-\(payment.id)"
        let processor = service.processor
        let outcome = try await PaymentsService.withTimeout(service.configuration.processorTimeout) {
            if let known = try await processor.outcome(of: reference) { return known }
            return try await processor.void(reference: reference)
        }
        let now = service.now
        let after = try await service.write { db -> Payment? in
            switch outcome {
            case .succeeded: return try PaymentBook.charged(db, payment.id, at: now)
            case .declined(let reason): return try PaymentBook.declined(db, payment.id, reason: reason, at: now)
            }
        }
        guard let after, after.state != .pending else { return false }
        await service.confirmOnOrder(after)
        return true
    }
}
