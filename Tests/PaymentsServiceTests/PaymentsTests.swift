import EventBus
import Foundation
import GRDB
import MarketplaceAPI
@testable import PaymentsService
import ProtoRuntime
import RPC
import ServiceKit
import ServiceTestSupport
import TestSupport
import Testing

extension Cluster {
    /// A customer, a provider, an admin and an order of `price` cents taken to `status`
    /// (accepted, in_progress or completed) by the provider.
    func order(
        _ name: String,
        price: Int64 = 120_00,
        to status: OrderStatus = .completed
    ) async throws -> (
        order: Order, customer: (id: Int64, token: String), provider: (id: Int64, token: String), admin: String
    ) {
        let customer = try await signUp("\(name)-c", role: .customer)
        let provider = try await signUp("\(name)-p", role: .provider)
        let (_, admin) = try await self.admin("\(name)-a")
        let published = try await orders.publishOrder(
            PublishOrderRequest(
                title: "Fix the sink",
                serviceType: .cleaningRepair,
                price: Money(cents: price),
                location: .north
            ),
            options: bearer(customer.token)
        )
        let id = try #require(published.order).id
        _ = try await orders.reviewOrder(ReviewOrderRequest(orderId: id, approved: true), options: bearer(admin))
        _ = try await orders.acceptOrder(AcceptOrderRequest(orderId: id), options: bearer(provider.token))
        if status == .inProgress || status == .completed {
            _ = try await orders.updateOrderStatus(
                UpdateOrderStatusRequest(orderId: id, newStatus: .inProgress),
                options: bearer(provider.token)
            )
        }
        if status == .completed {
            _ = try await orders.updateOrderStatus(
                UpdateOrderStatusRequest(orderId: id, newStatus: .completed),
                options: bearer(provider.token)
            )
        }
        let order = try await orders.getMyOrder(GetOrderRequest(orderId: id), options: bearer(customer.token))
        return (order, (customer.user.id, customer.token), (provider.user.id, provider.token), admin)
    }

    /// The payments database, read directly (the ledger's invariants).
    func paymentsDatabase() throws -> DatabaseQueue {
        try DatabaseQueue(path: directory.appendingPathComponent("payments.sqlite").path)
    }

    /// The embedded processor's records.
    func processor() throws -> SimulatedProcessor {
        try SimulatedProcessor(path: directory.appendingPathComponent("payment-processor.sqlite").path)
    }

    /// Every account's balance, checking on the way that the ledger sums to zero and that no
    /// posting of it is unbalanced.
    func ledger() throws -> [String: Int64] {
        try paymentsDatabase().read { db in
            #expect(try Ledger.total(db) == 0, "the ledger sums to zero")
            let unbalanced = try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM (SELECT transaction_id FROM ledger_entry GROUP BY transaction_id HAVING SUM(cents) != 0)"
            )
            #expect(unbalanced == 0, "every posting balances")
            return try Ledger.balances(db).filter { $0.value != 0 }
        }
    }

    func payment(_ id: Int64, as token: String) async throws -> Payment {
        try await payments.getPayment(GetPaymentRequest(paymentId: id), options: bearer(token))
    }
}

@Suite("Payments service: the ledger, pays, idempotency, the processor's failures, escrow, refunds, reads")
struct PaymentsTests {
    @Test(
        "the legacy flow: a completed order is paid; the order shows it paid when pay answers; the ledger moves the price to the provider"
    )
    func legacyFlow() async throws {
        try await Cluster.with { cluster in
            let (order, customer, provider, admin) = try await cluster.order("legacy")
            let paid = try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(customer.token))
            let payment = try #require(paid.payment)
            #expect(paid.message == "Payment successful")
            #expect(payment.state == .completed)
            #expect(payment.amount == Money(cents: 120_00), "the order's price, never the client's")
            #expect(payment.providerId == provider.id)
            // Read right after: already paid (no waiting for the event).
            let after = try await cluster.orders.getMyOrder(
                GetOrderRequest(orderId: order.id),
                options: bearer(customer.token)
            )
            #expect(after.paymentStatus == .paid)
            #expect(
                try cluster.ledger() == [
                    "customer:\(customer.id)": -120_00, "provider:\(provider.id)": 120_00,
                ]
            )
            let read = try await cluster.payment(payment.id, as: admin)
            #expect(read.history.map(\.toState) == [.pending, .completed])
            let earnings = try await cluster.payments.listMyEarnings(
                ListMyEarningsRequest(),
                options: bearer(provider.token)
            )
            #expect(earnings.totalEarnings == Money(cents: 120_00))
            #expect(earnings.held == Money(cents: 0))
            #expect(earnings.payments.map(\.id) == [payment.id])
            // Paid: a second pay is refused, with or without a new key.
            #expect(
                await code {
                    _ = try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(customer.token))
                } == .failedPrecondition
            )
            #expect(
                try await cluster.processor().totals(of: "payment-\(payment.id)") == .init(charged: 120_00, refunded: 0)
            )
            // The profiles show the ledger's totals, through the payment events.
            #expect(
                try await eventually {
                    let customerProfile = try? await cluster.users.getMyCustomerProfile(
                        GetMyProfileRequest(),
                        options: bearer(customer.token)
                    )
                    let providerProfile = try? await cluster.users.getMyProviderProfile(
                        GetMyProfileRequest(),
                        options: bearer(provider.token)
                    )
                    return customerProfile?.balance == Money(cents: 120_00)
                        && providerProfile?.totalEarnings == Money(cents: 120_00)
                },
                "the customer's balance is what they paid; the provider's earnings what was released"
            )
        }
    }

    @Test(
        "who may pay: only the order's customer (others: NOT_FOUND, as the contract has it), once a provider accepted it"
    )
    func refusals() async throws {
        try await Cluster.with { cluster in
            let (order, _, provider, _) = try await cluster.order("refuse")
            let stranger = try await cluster.signUp("refuse-x", role: .customer)
            #expect(
                await code {
                    _ = try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(stranger.token))
                } == .notFound
            )
            #expect(
                await code {
                    _ = try await cluster.payments.pay(PayRequest(orderId: 999_999), options: bearer(stranger.token))
                } == .notFound
            )
            #expect(
                await code {
                    _ = try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(provider.token))
                } == .permissionDenied
            )
            #expect(
                await code { _ = try await cluster.payments.pay(PayRequest(orderId: order.id)) } == .unauthenticated
            )
            #expect(
                await code {
                    _ = try await cluster.payments.pay(PayRequest(orderId: 0), options: bearer(stranger.token))
                } == .invalidArgument
            )
            #expect(
                await code {
                    _ = try await cluster.payments.pay(
                        PayRequest(orderId: order.id, paymentMethod: "bitcoin"),
                        options: bearer(stranger.token)
                    )
                } == .invalidArgument
            )
            // Not accepted yet: nothing to pay for.
            let customer = try await cluster.signUp("refuse-c2", role: .customer)
            let fresh = try await cluster.orders.publishOrder(
                PublishOrderRequest(title: "Paint", serviceType: .other, price: Money(cents: 50_00), location: .mid),
                options: bearer(customer.token)
            )
            #expect(
                await code {
                    _ = try await cluster.payments.pay(
                        PayRequest(orderId: fresh.order?.id ?? 0),
                        options: bearer(customer.token)
                    )
                } == .failedPrecondition
            )
            #expect(try cluster.ledger().isEmpty, "no money moved")
        }
    }

    @Test(
        "idempotency: a retry with the key returns the first payment; the key with another order is refused with its reason"
    )
    func idempotency() async throws {
        try await Cluster.with { cluster in
            let (order, customer, _, _) = try await cluster.order("idem")
            let first = try await cluster.payments.pay(
                PayRequest(orderId: order.id, idempotencyKey: "k-1"),
                options: bearer(customer.token)
            )
            let again = try await cluster.payments.pay(
                PayRequest(orderId: order.id, idempotencyKey: "k-1"),
                options: bearer(customer.token)
            )
            #expect(again.payment?.id == first.payment?.id)
            #expect(again.payment?.state == .completed)
            do {
                _ = try await cluster.payments.pay(
                    PayRequest(orderId: order.id + 1000, idempotencyKey: "k-1"),
                    options: bearer(customer.token)
                )
                Issue.record("a reused key was accepted")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
                #expect(error.reason == RPCError.Reason.idempotencyKeyReused)
            }
            let payments = try await cluster.payments.listMyPayments(
                ListMyPaymentsRequest(),
                options: bearer(customer.token)
            )
            #expect(payments.payments.count == 1)
        }
    }

    @Test("50 concurrent pays of one order with different keys: exactly one charge")
    func concurrentPays() async throws {
        try await Cluster.with { cluster in
            let (order, customer, provider, _) = try await cluster.order("race")
            let results = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            return try await cluster.payments.pay(
                                PayRequest(orderId: order.id, idempotencyKey: "race-\(i)"),
                                options: bearer(customer.token)
                            ).payment?.id
                        } catch let error as RPCError where error.code == .failedPrecondition {
                            return nil
                        }
                    }
                }
                var ids: [Int64] = []
                for try await id in group { if let id { ids.append(id) } }
                return ids
            }
            #expect(results.count == 1, "one pay succeeds: \(results)")
            let id = try #require(results.first)
            #expect(try cluster.ledger() == ["customer:\(customer.id)": -120_00, "provider:\(provider.id)": 120_00])
            #expect(try await cluster.processor().totals(of: "payment-\(id)") == .init(charged: 120_00, refunded: 0))
            let charges = try await cluster.paymentsDatabase().read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger_transaction WHERE kind = 'charge'")
            }
            #expect(charges == 1)
        }
    }

    @Test(
        "a declined card fails the payment (payment.failed) and leaves the order unpaid; a late failure too; a new pay may follow"
    )
    func declined() async throws {
        try await Cluster.with { cluster in
            let (order, customer, _, admin) = try await cluster.order("decline")
            // A queue of our own sees what the payments service publishes.
            _ = try await cluster.bus.declareQueue(DeclareQueueRequest(name: "test.failed"))
            _ = try await cluster.bus.bind(
                BindRequest(queue: "test.failed", exchange: "payment_events", pattern: "payment.failed")
            )
            for method in ["test_card_declined", "test_card_fails_late"] {
                do {
                    _ = try await cluster.payments.pay(
                        PayRequest(orderId: order.id, paymentMethod: method),
                        options: bearer(customer.token)
                    )
                    Issue.record("\(method) was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .failedPrecondition)
                    #expect(error.message.contains("declined"), "\(error.message)")
                }
            }
            let failed = try await cluster.payments.adminListPayments(
                AdminListPaymentsRequest(state: .failed, orderId: order.id),
                options: bearer(admin)
            )
            #expect(failed.payments.map(\.failureReason).sorted() == ["card declined", "processing error"])
            let unpaid = try await cluster.orders.getMyOrder(
                GetOrderRequest(orderId: order.id),
                options: bearer(customer.token)
            )
            #expect(unpaid.paymentStatus == .unpaid)
            #expect(try cluster.ledger().isEmpty)
            #expect(
                try await eventually {
                    try await cluster.bus.inspect(InspectRequest()).queues.first { $0.name == "test.failed" }?.depth
                        == 2
                },
                "payment.failed, once per decline"
            )
            let paid = try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(customer.token))
            #expect(paid.payment?.state == .completed)
        }
    }

    @Test(
        "a processor that does not answer: pay is DEADLINE_EXCEEDED, the payment pending; reconciliation settles it, charged once"
    )
    func timeout() async throws {
        try await Cluster.with(payments: { $0.processorTimeout = .seconds(1) }) { cluster in
            let (order, customer, provider, _) = try await cluster.order("timeout")
            let request = PayRequest(orderId: order.id, idempotencyKey: "slow", paymentMethod: "test_card_timeout")
            #expect(
                await code { _ = try await cluster.payments.pay(request, options: bearer(customer.token)) }
                    == .deadlineExceeded
            )
            #expect(
                await code { _ = try await cluster.payments.pay(request, options: bearer(customer.token)) } == .aborted,
                "asking again while it is pending: still in progress"
            )
            let pending = try await cluster.payments.listMyPayments(
                ListMyPaymentsRequest(),
                options: bearer(customer.token)
            )
            #expect(pending.payments.map(\.state) == [.pending])
            // Past the timeout (the payments service's clock), the reconciler asks the processor.
            cluster.clock.advance(60)
            #expect(
                try await eventually {
                    try await cluster.orders.getMyOrder(
                        GetOrderRequest(orderId: order.id),
                        options: bearer(customer.token)
                    )
                    .paymentStatus == .paid
                }
            )
            let settled = try await cluster.payments.pay(request, options: bearer(customer.token))
            #expect(settled.payment?.state == .completed)
            #expect(try cluster.ledger() == ["customer:\(customer.id)": -120_00, "provider:\(provider.id)": 120_00])
            let id = try #require(settled.payment?.id)
            #expect(try await cluster.processor().totals(of: "payment-\(id)") == .init(charged: 120_00, refunded: 0))
        }
    }

    @Test(
        "escrow: paid from accepted, held until the order completes, then released; a cancelled order's payment is refunded in full"
    )
    func escrow() async throws {
        try await Cluster.with { cluster in
            let (order, customer, provider, _) = try await cluster.order("escrow", to: .accepted)
            let paid = try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(customer.token))
            let payment = try #require(paid.payment)
            #expect(payment.state == .held)
            #expect(try cluster.ledger() == ["customer:\(customer.id)": -120_00, "escrow:\(order.id)": 120_00])
            let during = try await cluster.payments.listMyEarnings(
                ListMyEarningsRequest(),
                options: bearer(provider.token)
            )
            #expect(during.held == Money(cents: 120_00))
            #expect(during.totalEarnings == Money(cents: 0))
            for status in [OrderStatus.inProgress, .completed] {
                _ = try await cluster.orders.updateOrderStatus(
                    UpdateOrderStatusRequest(orderId: order.id, newStatus: status),
                    options: bearer(provider.token)
                )
            }
            #expect(
                try await eventually { try await cluster.payment(payment.id, as: customer.token).state == .completed }
            )
            #expect(try cluster.ledger() == ["customer:\(customer.id)": -120_00, "provider:\(provider.id)": 120_00])
            let history = try await cluster.payment(payment.id, as: provider.token).history
            #expect(history.map(\.toState) == [.pending, .held, .completed])

            // Cancelled while held: all of it back to the customer.
            let (second, customer2, _, _) = try await cluster.order("escrow2", price: 80_00, to: .accepted)
            let held = try #require(
                try await cluster.payments.pay(PayRequest(orderId: second.id), options: bearer(customer2.token)).payment
            )
            _ = try await cluster.orders.cancelMyOrder(
                CancelOrderRequest(orderId: second.id),
                options: bearer(customer2.token)
            )
            #expect(try await eventually { try await cluster.payment(held.id, as: customer2.token).state == .refunded })
            #expect(
                try await eventually {
                    try await cluster.orders.getMyOrder(
                        GetOrderRequest(orderId: second.id),
                        options: bearer(customer2.token)
                    )
                    .paymentStatus == .refunded
                }
            )
            #expect(try cluster.ledger()["customer:\(customer2.id)"] == nil, "the customer has all of it back")
            #expect(try cluster.ledger()["escrow:\(second.id)"] == nil)
            #expect(
                try await cluster.processor().totals(of: "payment-\(held.id)") == .init(charged: 80_00, refunded: 80_00)
            )
        }
    }

    @Test(
        "admin refunds: part, then the rest, never more than was paid; the order's payment status follows; admins only"
    )
    func refunds() async throws {
        try await Cluster.with { cluster in
            let (order, customer, provider, admin) = try await cluster.order("refund")
            let payment = try #require(
                try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(customer.token)).payment
            )
            #expect(
                await code {
                    _ = try await cluster.payments.refundPayment(
                        RefundPaymentRequest(paymentId: payment.id, reason: "mine"),
                        options: bearer(customer.token)
                    )
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.payments.refundPayment(
                        RefundPaymentRequest(paymentId: payment.id, reason: "  "),
                        options: bearer(admin)
                    )
                } == .invalidArgument,
                "a reason is required"
            )
            let asked = RefundPaymentRequest(
                paymentId: payment.id,
                reason: "late",
                amount: Money(cents: 30_00),
                idempotencyKey: "refund-1"
            )
            let part = try await cluster.payments.refundPayment(asked, options: bearer(admin))
            #expect(part.state == .partiallyRefunded)
            #expect(part.refunded == Money(cents: 30_00))
            let retried = try await cluster.payments.refundPayment(asked, options: bearer(admin))
            #expect(retried.refunded == Money(cents: 30_00), "a retry with the key refunds once")
            var other = asked
            other.amount = Money(cents: 40_00)
            #expect(
                await code { _ = try await cluster.payments.refundPayment(other, options: bearer(admin)) }
                    == .failedPrecondition,
                "the key with another amount"
            )
            let order1 = try await cluster.orders.getMyOrder(
                GetOrderRequest(orderId: order.id),
                options: bearer(customer.token)
            )
            #expect(order1.paymentStatus == .partiallyRefunded)
            #expect(
                await code {
                    _ = try await cluster.payments.refundPayment(
                        RefundPaymentRequest(paymentId: payment.id, reason: "too much", amount: Money(cents: 90_01)),
                        options: bearer(admin)
                    )
                } == .failedPrecondition,
                "more than is left"
            )
            let rest = try await cluster.payments.refundPayment(
                RefundPaymentRequest(paymentId: payment.id, reason: "the rest"),
                options: bearer(admin)
            )
            #expect(rest.state == .refunded)
            #expect(rest.refunded == Money(cents: 120_00))
            let order2 = try await cluster.orders.getMyOrder(
                GetOrderRequest(orderId: order.id),
                options: bearer(customer.token)
            )
            #expect(order2.paymentStatus == .refunded)
            #expect(
                await code {
                    _ = try await cluster.payments.refundPayment(
                        RefundPaymentRequest(paymentId: payment.id, reason: "again"),
                        options: bearer(admin)
                    )
                } == .failedPrecondition
            )
            #expect(try cluster.ledger().isEmpty, "everything back where it came from")
            let history = try await cluster.payment(payment.id, as: admin).history
            #expect(history.map(\.toState) == [.pending, .completed, .partiallyRefunded, .refunded])
            #expect(history.map { $0.amount?.cents ?? 0 } == [0, 120_00, 30_00, 90_00])
            let earnings = try await cluster.payments.listMyEarnings(
                ListMyEarningsRequest(),
                options: bearer(provider.token)
            )
            #expect(earnings.totalEarnings == Money(cents: 0))
            #expect(
                try await cluster.processor().totals(of: "payment-\(payment.id)")
                    == .init(charged: 120_00, refunded: 120_00)
            )
            #expect(
                try await eventually {
                    let customerProfile = try? await cluster.users.getMyCustomerProfile(
                        GetMyProfileRequest(),
                        options: bearer(customer.token)
                    )
                    let providerProfile = try? await cluster.users.getMyProviderProfile(
                        GetMyProfileRequest(),
                        options: bearer(provider.token)
                    )
                    return customerProfile?.balance == Money(cents: 0)
                        && providerProfile?.totalEarnings == Money(cents: 0)
                },
                "refunded in full: the profiles are back to zero"
            )
        }
    }

    @Test("reads: a payment for its customer, its provider and admins (NOT_FOUND for others); lists page and filter")
    func reads() async throws {
        try await Cluster.with { cluster in
            let (order, customer, provider, admin) = try await cluster.order("reads")
            let payment = try #require(
                try await cluster.payments.pay(PayRequest(orderId: order.id), options: bearer(customer.token)).payment
            )
            for token in [customer.token, provider.token, admin] {
                #expect(try await cluster.payment(payment.id, as: token).id == payment.id)
            }
            let stranger = try await cluster.signUp("reads-x", role: .customer)
            #expect(await code { _ = try await cluster.payment(payment.id, as: stranger.token) } == .notFound)
            #expect(
                try await cluster.payments.listMyPayments(ListMyPaymentsRequest(), options: bearer(stranger.token))
                    .payments
                    .isEmpty
            )
            let (order2, customer2, _, _) = try await cluster.order("reads2")
            _ = try await cluster.payments.pay(PayRequest(orderId: order2.id), options: bearer(customer2.token))
            let all = try await cluster.payments.adminListPayments(AdminListPaymentsRequest(), options: bearer(admin))
            #expect(all.payments.count == 2)
            let first = try await cluster.payments.adminListPayments(
                AdminListPaymentsRequest(pageSize: 1),
                options: bearer(admin)
            )
            #expect(first.payments.count == 1)
            let next = try await cluster.payments.adminListPayments(
                AdminListPaymentsRequest(pageSize: 1, pageToken: first.nextPageToken),
                options: bearer(admin)
            )
            #expect(Set((first.payments + next.payments).map(\.id)) == Set(all.payments.map(\.id)))
            let byCustomer = try await cluster.payments.adminListPayments(
                AdminListPaymentsRequest(customerId: customer.id),
                options: bearer(admin)
            )
            #expect(byCustomer.payments.map(\.id) == [payment.id])
            #expect(
                await code {
                    _ = try await cluster.payments.adminListPayments(
                        AdminListPaymentsRequest(),
                        options: bearer(customer.token)
                    )
                } == .permissionDenied
            )
        }
    }
}
