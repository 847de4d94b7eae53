import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPC

/// The steps of a payment, each one database transaction's work: the state move (only from the
/// state it was read in, so a step happens once however many settlers race), its ledger posting
/// and its event through the outbox. The handlers, the reconciler and the event routes all go
/// through here.
enum PaymentBook {
    /// The processor charged `payment`: escrow holds it, and if its order had completed (when it
    /// was paid, or since: `order.completed` was seen) it is released to the provider at once. A
    /// payment whose order was cancelled meanwhile is refunded in full (a pending refund the
    /// reconciler completes); one whose order completed meanwhile is released.
    /// Returns the payment after the step (unchanged if another settler got there first).
    static func charged(_ db: Database, _ id: Int64, at now: Date) throws -> Payment? {
        guard var payment = try PaymentsStore.fetch(db, id), payment.state == .pending else {
            return try PaymentsStore.fetch(db, id)
        }
        let cents = payment.amount?.cents ?? 0
        let cancelled = try PaymentsStore.isCancelled(db, order: payment.orderId)
        // The order may have completed while the processor was answering: then it is released now.
        let completedBy = try PaymentsStore.completedProvider(db, order: payment.orderId)
        if let completedBy, payment.providerId == 0 {
            try PaymentsStore.setProvider(db, id, completedBy)
            payment.providerId = completedBy
        }
        let releases = try PaymentsStore.releasesOnCharge(db, id) || completedBy != nil
        let holds = !releases || cancelled || payment.providerId == 0
        guard let target = PaymentStateMachine.apply(.charged(held: holds), to: .pending),
            try PaymentsStore.move(
                db,
                id,
                from: .pending,
                to: target,
                reason: "charged",
                completedAt: now,
                cents: cents,
                at: now
            )
        else { return try PaymentsStore.fetch(db, id) }
        try Ledger.post(
            db,
            .charge,
            payment: id,
            [
                .init(account: Ledger.customer(payment.customerId), cents: -cents),
                .init(account: Ledger.escrow(order: payment.orderId), cents: cents),
            ],
            at: now
        )
        if cancelled {
            try refundCancelled(db, id, at: now)
        } else if !holds {
            // The legacy flow: the order is already completed, so the money goes on at once (as its own
            // ledger transaction, so the history shows the hold and the release).
            try release(db, payment: id, held: false, at: now)
        }
        let totals = try Totals(db, payment)
        try Outbox.enqueue(
            db,
            PaymentCompleted(
                paymentId: id,
                orderId: payment.orderId,
                customerId: payment.customerId,
                providerId: payment.providerId,
                amount: Money(cents: cents),
                occurredAt: ProtoTimestamp(date: now),
                held: holds,
                customerPaid: totals.customerPaid,
                providerEarnings: totals.providerEarnings,
                ledgerSequence: totals.sequence
            )
        )
        return try PaymentsStore.fetch(db, id)
    }

    /// The ledger's totals for a payment's customer and provider, as the events carry them.
    struct Totals {
        var customerPaid: Money
        var providerEarnings: Money
        var sequence: Int64

        init(_ db: Database, _ payment: Payment) throws {
            customerPaid = Money(cents: -(try Ledger.balance(db, Ledger.customer(payment.customerId))))
            providerEarnings = Money(
                cents: payment.providerId == 0 ? 0 : try Ledger.balance(db, Ledger.provider(payment.providerId))
            )
            sequence = try Ledger.lastTransaction(db)
        }
    }

    /// The processor declined `payment` (or never received it): failed, with the reason.
    static func declined(_ db: Database, _ id: Int64, reason: String, at now: Date) throws -> Payment? {
        guard let payment = try PaymentsStore.fetch(db, id), payment.state == .pending else {
            return try PaymentsStore.fetch(db, id)
        }
        if try PaymentsStore.move(
            db,
            id,
            from: .pending,
            to: .failed,
            reason: "declined: \(reason)",
            failure: reason,
            cents: 0,
            at: now
        ) {
            try Outbox.enqueue(
                db,
                PaymentFailed(
                    paymentId: id,
                    orderId: payment.orderId,
                    customerId: payment.customerId,
                    reason: reason,
                    occurredAt: ProtoTimestamp(date: now)
                )
            )
        }
        return try PaymentsStore.fetch(db, id)
    }

    /// Moves a payment's escrow to its provider's earnings. `held`: it was held and is now
    /// released (held → completed, `payment.released`); otherwise the charge step already made it
    /// completed and this is the release of the legacy flow's immediate payout.
    static func release(_ db: Database, payment id: Int64, held: Bool, provider: Int64? = nil, at now: Date) throws {
        guard var payment = try PaymentsStore.fetch(db, id) else { return }
        if let provider, payment.providerId == 0 {
            try PaymentsStore.setProvider(db, id, provider)
            payment.providerId = provider
        }
        guard payment.providerId != 0 else { return }
        let cents = payment.amount?.cents ?? 0
        if held {
            guard
                try PaymentsStore.move(
                    db,
                    id,
                    from: .held,
                    to: .completed,
                    reason: "released on completion",
                    cents: cents,
                    at: now
                )
            else { return }
        }
        try Ledger.post(
            db,
            .release,
            payment: id,
            [
                .init(account: Ledger.escrow(order: payment.orderId), cents: -cents),
                .init(account: Ledger.provider(payment.providerId), cents: cents),
            ],
            at: now
        )
        if held {
            let totals = try Totals(db, payment)
            try Outbox.enqueue(
                db,
                PaymentReleased(
                    paymentId: id,
                    orderId: payment.orderId,
                    customerId: payment.customerId,
                    providerId: payment.providerId,
                    amount: Money(cents: cents),
                    occurredAt: ProtoTimestamp(date: now),
                    customerPaid: totals.customerPaid,
                    providerEarnings: totals.providerEarnings,
                    ledgerSequence: totals.sequence
                )
            )
        }
    }

    /// Reserves a refund of `cents` of payment `id` (what the processor is then asked to pay
    /// back): never more than is left once every earlier refund, pending or done, is counted; a
    /// held payment only in full. Throws FAILED_PRECONDITION otherwise.
    static func requestRefund(
        _ db: Database,
        _ id: Int64,
        cents requested: Int64?,
        reason: String,
        by requester: Int64,
        key: String = "",
        at now: Date
    ) throws -> PaymentsStore.PendingRefund {
        guard let payment = try PaymentsStore.fetch(db, id) else {
            throw RPCError(code: .notFound, message: "payment \(id) not found")
        }
        guard PaymentStateMachine.isLive(payment.state) else {
            throw RPCError(
                code: .failedPrecondition,
                message: "payment \(id) is \(PaymentStateMachine.label(payment.state)); nothing to refund"
            )
        }
        let amount = payment.amount?.cents ?? 0
        let left = amount - (try PaymentsStore.refundedOrPending(db, payment: id))
        let cents = requested ?? left
        guard left > 0, cents > 0, cents <= left else {
            throw RPCError(
                code: .failedPrecondition,
                message: "payment \(id) has \(Money(cents: max(left, 0)).decimalText) left to refund"
            )
        }
        if payment.state == .held, cents != amount {
            throw RPCError(
                code: .failedPrecondition,
                message: "payment \(id) is held in escrow: it is refunded in full (\(Money(cents: amount).decimalText))"
            )
        }
        return try PaymentsStore.insertRefund(
            db,
            payment: id,
            cents: cents,
            reason: reason,
            by: requester,
            key: key,
            at: now
        )
    }

    /// Reserves the full refund of a payment whose order was cancelled (nothing if a refund is
    /// already reserved or done).
    static func refundCancelled(_ db: Database, _ id: Int64, at now: Date) throws {
        guard try PaymentsStore.refundedOrPending(db, payment: id) == 0 else { return }
        _ = try requestRefund(db, id, cents: nil, reason: "the order was cancelled", by: 0, at: now)
    }

    /// The processor paid `refund` back: the ledger, the payment's state and `payment.refunded`.
    static func refunded(_ db: Database, _ refund: PaymentsStore.PendingRefund, at now: Date) throws -> Payment? {
        guard try PaymentsStore.completeRefund(db, refund.id, at: now),
            let payment = try PaymentsStore.fetch(db, refund.payment)
        else { return try PaymentsStore.fetch(db, refund.payment) }
        let amount = payment.amount?.cents ?? 0
        let total = (payment.refunded?.cents ?? 0) + refund.cents
        guard let target = PaymentStateMachine.apply(.refunded(remaining: amount - total), to: payment.state) else {
            throw Ledger.Imbalance(
                description: "refund \(refund.id) does not fit payment \(payment.id) (\(payment.state))"
            )
        }
        guard
            try PaymentsStore.move(
                db,
                payment.id,
                from: payment.state,
                to: target,
                reason: refund.reason,
                refundedCents: total,
                cents: refund.cents,
                at: now
            )
        else { throw Ledger.Imbalance(description: "payment \(payment.id) changed under refund \(refund.id)") }
        // From escrow while it held the money, else back from the provider's earnings.
        let source =
            payment.state == .held ? Ledger.escrow(order: payment.orderId) : Ledger.provider(payment.providerId)
        try Ledger.post(
            db,
            .refund,
            payment: payment.id,
            [
                .init(account: source, cents: -refund.cents),
                .init(account: Ledger.customer(payment.customerId), cents: refund.cents),
            ],
            at: now
        )
        let totals = try Totals(db, payment)
        try Outbox.enqueue(
            db,
            PaymentRefunded(
                paymentId: payment.id,
                orderId: payment.orderId,
                customerId: payment.customerId,
                providerId: payment.providerId,
                amount: Money(cents: refund.cents),
                reason: refund.reason,
                occurredAt: ProtoTimestamp(date: now),
                refundedTotal: Money(cents: total),
                fullyRefunded: total == amount,
                customerPaid: totals.customerPaid,
                providerEarnings: totals.providerEarnings,
                ledgerSequence: totals.sequence
            )
        )
        return try PaymentsStore.fetch(db, payment.id)
    }
}

extension Money {
    /// `12.50`.
    var decimalText: String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
