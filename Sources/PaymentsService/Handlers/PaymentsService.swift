public import Foundation
import EventBus
public import GRDB
public import Logging
public import MarketplaceAPI
import ProtoRuntime
public import RPC
import ServiceKit

/// The payments service's settings.
public struct PaymentsConfiguration: Sendable {
    /// How long the processor may take to answer a charge before the payment is left pending for
    /// the reconciler.
    public var processorTimeout: Duration = .seconds(5)
    /// How often the reconciler looks for overdue payments and pending refunds.
    public var reconcileInterval: Duration = .seconds(2)
    /// How long pay waits for the orders service to record the payment before it answers anyway
    /// (the payment event records it later).
    public var orderConfirmationTimeout: Duration = .seconds(5)
    /// How long `test_card_fails_late` takes to decline (the embedded processor).
    public var lateFailure: Duration = .milliseconds(500)
    public var now: @Sendable () -> Date = { Date() }

    public init() {}
}

/// `marketplace.v1.Payments`: pays, refunds and the reads, over the ledger (``Ledger``) and the
/// steps of ``PaymentBook``.
public struct PaymentsService: Payments.Handler {
    let database: DatabasePool
    let orders: Orders.Client
    let processor: any PaymentProcessor
    let configuration: PaymentsConfiguration
    let logger: Logger

    public init(
        database: DatabasePool,
        orders: Orders.Client,
        processor: any PaymentProcessor,
        configuration: PaymentsConfiguration,
        logger: Logger
    ) {
        self.database = database
        self.orders = orders
        self.processor = processor
        self.configuration = configuration
        self.logger = logger
    }

    var now: Date { configuration.now() }

    // MARK: Pay

    public func pay(_ request: PayRequest, context: ServerContext) async throws -> PayResponse {
        let customer = try context.requireUserID()
        let method = request.paymentMethod.isEmpty ? "test_card_ok" : request.paymentMethod
        let key = request.idempotencyKey
        if !key.isEmpty,
            let earlier = try await read({ db in try PaymentsStore.fetch(db, customer: customer, key: key) })
        {
            return try await replay(earlier, orderID: request.orderId, method: method)
        }
        let order: Order
        do { order = try await orders.getOrder(GetOrderRequest(orderId: request.orderId)) } catch let error as RPCError
            where error.code == .notFound
        {
            throw RPCError(code: .notFound, message: "order \(request.orderId) not found")
        }
        // Someone else's order is not found, as the contract has it (no hint that it exists).
        guard order.customerId == customer else {
            throw RPCError(code: .notFound, message: "order \(request.orderId) not found")
        }
        let done = [OrderStatus.completed, .reviewed].contains(order.status)
        guard done || [.accepted, .inProgress].contains(order.status) else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order \(order.id) cannot be paid yet: a provider must accept it first"
            )
        }
        guard order.paymentStatus == .unpaid else {
            throw RPCError(code: .failedPrecondition, message: "order \(order.id) is already paid")
        }
        let now = self.now
        let inserted = try await write { db -> Payment? in
            guard
                let payment = try PaymentsStore.insertPending(
                    db,
                    order: order,
                    method: method,
                    key: key,
                    releaseOnCharge: done,
                    at: now
                )
            else { return nil }
            try Outbox.enqueue(
                db,
                PaymentInitiated(
                    paymentId: payment.id,
                    orderId: order.id,
                    customerId: customer,
                    amount: payment.amount,
                    occurredAt: ProtoTimestamp(date: now)
                )
            )
            return payment
        }
        guard let payment = inserted else {
            // A racing pay with the same key won: its result is this one's too.
            if !key.isEmpty,
                let earlier = try await read({ db in try PaymentsStore.fetch(db, customer: customer, key: key) })
            {
                return try await replay(earlier, orderID: request.orderId, method: method)
            }
            let live = try await read { db in try PaymentsStore.live(db, order: order.id) }
            if live?.state == .pending {
                throw RPCError(code: .failedPrecondition, message: "order \(order.id) has a payment in progress")
            }
            throw RPCError(code: .failedPrecondition, message: "order \(order.id) is already paid")
        }
        let settled = try await charge(payment)
        if settled.state == .pending {
            throw RPCError(
                code: .deadlineExceeded,
                message:
                    "the payment processor did not answer in time; payment \(payment.id) is pending and will be settled (ask again with the same idempotency key)"
            )
        }
        return try await answer(settled)
    }

    /// The answer to a retry with a key already used: the first pay's result, or a refusal if
    /// the key came with another order or method.
    func replay(_ payment: Payment, orderID: Int64, method: String) async throws -> PayResponse {
        guard payment.orderId == orderID, payment.method == method else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "this idempotency key was used for another payment (order \(payment.orderId), \(payment.method))",
                reason: RPCError.Reason.idempotencyKeyReused
            )
        }
        return try await answer(payment)
    }

    /// Pay's answer for a payment in `payment`'s state: success once charged and recorded on the
    /// order (which then shows it paid), the decline, a cancelled order's refund, or ABORTED
    /// while the processor's answer is awaited (a retry that found the payment in progress).
    func answer(_ payment: Payment) async throws -> PayResponse {
        switch payment.state {
        case .held, .completed, .partiallyRefunded, .refunded:
            let cancelled = try await read { db in try PaymentsStore.isCancelled(db, order: payment.orderId) }
            guard !cancelled, await confirmOnOrder(payment) else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order \(payment.orderId) was cancelled; payment \(payment.id) is refunded"
                )
            }
            let message =
                payment.state == .held
                ? "Payment \(payment.id) held in escrow until the order is completed" : "Payment successful"
            return PayResponse(payment: payment, message: message)
        case .failed:
            throw RPCError(
                code: .failedPrecondition,
                message: "payment \(payment.id) was declined: \(payment.failureReason)"
            )
        default:
            throw RPCError(
                code: .aborted,
                message:
                    "payment \(payment.id) is still in progress (the processor has not answered yet); ask again with the same idempotency key"
            )
        }
    }

    /// Asks the processor (within the timeout) and records its answer; a payment it did not
    /// answer for stays pending for the reconciler.
    func charge(_ payment: Payment) async throws -> Payment {
        let charge = ProcessorCharge(
            reference: "payment-\(payment.id)",
            amountCents: payment.amount?.cents ?? 0,
            method: payment.method
        )
        let outcome: ChargeOutcome?
        do {
            outcome = try await PaymentsService.withTimeout(configuration.processorTimeout) { [processor] in
                try await processor.charge(charge)
            }
        } catch {
            logger.warning(
                "the processor did not answer; the payment stays pending",
                metadata: ["payment": "\(payment.id)", "error": "\(error)"]
            )
            outcome = nil
        }
        let now = self.now
        switch outcome {
        case .succeeded?:
            return try await write { db in try PaymentBook.charged(db, payment.id, at: now) ?? payment }
        case .declined(let reason)?:
            return try await write { db in try PaymentBook.declined(db, payment.id, reason: reason, at: now) ?? payment
            }
        case nil:
            return payment
        }
    }

    /// Records the payment on the order before pay answers, so a read right after shows it paid.
    /// Bounded: after the timeout pay answers anyway (payment.completed records it later). An
    /// order cancelled meanwhile refuses it: the payment is refunded and this returns false.
    @discardableResult
    func confirmOnOrder(_ payment: Payment) async -> Bool {
        let status: PaymentStatus
        switch payment.state {
        case .held, .completed: status = .paid
        case .partiallyRefunded: status = .partiallyRefunded
        case .refunded: status = .refunded
        default: return true
        }
        let request = RecordPaymentRequest(orderId: payment.orderId, paymentId: payment.id, paymentStatus: status)
        do {
            _ = try await orders.recordPayment(
                request,
                options: CallOptions(timeout: configuration.orderConfirmationTimeout)
            )
        } catch let error as RPCError where error.code == .failedPrecondition && status == .paid {
            let now = self.now
            logger.notice(
                "the order was cancelled while it was paid; refunding",
                metadata: ["payment": "\(payment.id)"]
            )
            _ = try? await write { db in
                try PaymentsStore.markCancelled(db, order: payment.orderId, at: now)
                try PaymentBook.refundCancelled(db, payment.id, at: now)
            }
            return false
        } catch {
            logger.warning(
                "the orders service did not record the payment; the payment event will",
                metadata: ["payment": "\(payment.id)", "error": "\(error)"]
            )
        }
        return true
    }

    // MARK: Refunds

    public func refundPayment(_ request: RefundPaymentRequest, context: ServerContext) async throws -> Payment {
        let admin = try context.requireUserID()
        let now = self.now
        let reason = request.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = request.idempotencyKey
        let refund = try await write { db -> PaymentsStore.PendingRefund in
            if !key.isEmpty, let earlier = try PaymentsStore.refund(db, payment: request.paymentId, key: key) {
                // A retry: the first refund, whatever became of it; the key with another request is refused.
                guard earlier.reason == reason, request.amount.map({ $0.cents == earlier.cents }) ?? true else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message:
                            "this idempotency key was used for another refund (\(Money(cents: earlier.cents).decimalText))",
                        reason: RPCError.Reason.idempotencyKeyReused
                    )
                }
                return earlier
            }
            return try PaymentBook.requestRefund(
                db,
                request.paymentId,
                cents: request.amount?.cents,
                reason: reason,
                by: admin,
                key: key,
                at: now
            )
        }
        if refund.completed {
            guard let payment = try await read({ db in try PaymentsStore.fetch(db, refund.payment) }) else {
                throw RPCError(code: .notFound, message: "payment \(request.paymentId) not found")
            }
            return payment
        }
        let payment = try await refunds.complete(refund)
        guard let payment else {
            throw RPCError(
                code: .unavailable,
                message: "the payment processor did not confirm the refund; it is pending and will be completed"
            )
        }
        await confirmOnOrder(payment)
        return payment
    }

    // MARK: Reads

    public func getPayment(_ request: GetPaymentRequest, context: ServerContext) async throws -> Payment {
        let caller = context.caller?.userID
        let admin = context.callerIsAdmin
        let found = try await read { db -> Payment? in
            guard var payment = try PaymentsStore.fetch(db, request.paymentId) else { return nil }
            guard admin || payment.customerId == caller || (payment.providerId != 0 && payment.providerId == caller)
            else { return nil }
            payment.history = try PaymentsStore.history(db, payment.id)
            return payment
        }
        guard let found else { throw RPCError(code: .notFound, message: "payment \(request.paymentId) not found") }
        return found
    }

    public func listMyPayments(_ request: ListMyPaymentsRequest, context: ServerContext) async throws
        -> ListPaymentsResponse
    {
        let customer = try context.requireUserID()
        let (payments, next) = try await read { db in
            try PaymentsStore.page(db, size: request.pageSize, token: request.pageToken) { page in
                page.filter("customer_id = ?", customer)
            }
        }
        return ListPaymentsResponse(payments: payments, nextPageToken: next)
    }

    public func listMyEarnings(_ request: ListMyEarningsRequest, context: ServerContext) async throws
        -> EarningsResponse
    {
        let provider = try context.requireUserID()
        return try await read { db in
            let (payments, next) = try PaymentsStore.page(db, size: request.pageSize, token: request.pageToken) {
                page in
                page.filter("provider_id = ?", provider)
                page.filter("state != ?", PaymentState.failed.protoValue)
            }
            return EarningsResponse(
                totalEarnings: Money(cents: try Ledger.balance(db, Ledger.provider(provider))),
                held: Money(cents: try PaymentsStore.heldFor(db, provider: provider)),
                payments: payments,
                nextPageToken: next
            )
        }
    }

    public func adminListPayments(_ request: AdminListPaymentsRequest, context: ServerContext) async throws
        -> ListPaymentsResponse
    {
        let (payments, next) = try await read { db in
            try PaymentsStore.page(db, size: request.pageSize, token: request.pageToken) { page in
                if request.state != .unspecified { page.filter("state = ?", request.state.protoValue) }
                if request.customerId != 0 { page.filter("customer_id = ?", request.customerId) }
                if request.providerId != 0 { page.filter("provider_id = ?", request.providerId) }
                if request.orderId != 0 { page.filter("order_id = ?", request.orderId) }
            }
        }
        return ListPaymentsResponse(payments: payments, nextPageToken: next)
    }

    // MARK: Support

    var refunds: Refunds {
        Refunds(
            database: database,
            processor: processor,
            logger: logger,
            now: configuration.now,
            timeout: configuration.processorTimeout
        )
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceRead(logger: logger, body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceWrite(logger: logger, body)
    }

    /// `body`'s result, or ``ProcessorTimeout`` once `timeout` has passed (`body` is cancelled).
    static func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw ProcessorTimeout() }
            return value
        }
    }
}
