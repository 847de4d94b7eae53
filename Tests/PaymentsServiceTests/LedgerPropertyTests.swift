import Foundation
import GRDB
import MarketplaceAPI
import NIOConcurrencyHelpers
@testable import PaymentsService
import RPC
import ServiceTestSupport
import TestSupport
import Testing

@Suite("The ledger under random concurrent operations")
struct LedgerPropertyTests {
    /// One random operation of the run.
    enum Operation: Sendable {
        case pay(order: Int, method: String, key: String?)
        case refund(order: Int, cents: Int64?)
        case complete(order: Int)
        case cancel(order: Int)
    }

    static let methods = [
        "test_card_ok", "test_card_ok", "test_card_ok", "test_card_declined", "test_card_fails_late",
        "test_card_timeout",
    ]

    static func operations(count: Int, orders: Int, seed: UInt64) -> [Operation] {
        var random = SeededGenerator(state: seed)
        return (0..<count).map { _ in
            let order = Int.random(in: 0..<orders, using: &random)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<55:
                let method = methods.randomElement(using: &random) ?? "test_card_ok"
                // Keys from a small set, so retries (the same key, the same or another order) happen.
                let key = Bool.random(using: &random) ? "k\(Int.random(in: 0..<6, using: &random))" : nil
                return .pay(order: order, method: method, key: key)
            case 55..<75:
                return .refund(
                    order: order,
                    cents: Bool.random(using: &random) ? nil : Int64.random(in: 1...9_000, using: &random)
                )
            case 75..<90: return .complete(order: order)
            default: return .cancel(order: order)
            }
        }
    }

    @Test(
        "1,200 random pays, declines, processor timeouts, retries with keys, refunds, completions and cancellations by 8 concurrent actors: every posting balances, no account crosses its sign, one charge per order, and the history and the processor explain every balance"
    )
    func randomOperations() async throws {
        // A short processor timeout, so test_card_timeout's pays come back soon, pending, for the reconciler.
        try await Cluster.with(payments: { $0.processorTimeout = .seconds(1) }) { cluster in
            let (_, admin) = try await cluster.admin()
            // 24 orders: 4 customers, 3 providers; accepted (escrow) or completed (pay and release).
            var customers: [(id: Int64, token: String)] = []
            for i in 0..<4 {
                let signed = try await cluster.signUp("prop-c\(i)", role: .customer)
                customers.append((signed.user.id, signed.token))
            }
            var providers: [(id: Int64, token: String)] = []
            for i in 0..<3 {
                let signed = try await cluster.signUp("prop-p\(i)", role: .provider)
                providers.append((signed.user.id, signed.token))
            }
            struct Placed: Sendable {
                var id: Int64
                var customer: String
                var provider: String
                var price: Int64
            }
            var placed: [Placed] = []
            var random = SeededGenerator(state: 2026)
            for i in 0..<24 {
                let customer = customers[i % customers.count]
                let provider = providers[i % providers.count]
                let price = Int64.random(in: 1_00...900_00, using: &random)
                let published = try await cluster.orders.publishOrder(
                    PublishOrderRequest(
                        title: "Job \(i)",
                        serviceType: .other,
                        price: Money(cents: price),
                        location: .north
                    ),
                    options: bearer(customer.token)
                )
                let id = try #require(published.order).id
                _ = try await cluster.orders.reviewOrder(
                    ReviewOrderRequest(orderId: id, approved: true),
                    options: bearer(admin)
                )
                _ = try await cluster.orders.acceptOrder(
                    AcceptOrderRequest(orderId: id),
                    options: bearer(provider.token)
                )
                if i % 2 == 0 {
                    for status in [OrderStatus.inProgress, .completed] {
                        _ = try await cluster.orders.updateOrderStatus(
                            UpdateOrderStatusRequest(orderId: id, newStatus: status),
                            options: bearer(provider.token)
                        )
                    }
                }
                placed.append(Placed(id: id, customer: customer.token, provider: provider.token, price: price))
            }
            let orders = placed
            let operations = Self.operations(count: 1_200, orders: orders.count, seed: 12)
            let unexpected = NIOLockedValueBox<[String]>([])
            let outcomes = NIOLockedValueBox<[String: Int]>([:])
            let expected: Set<RPCCode> = [.failedPrecondition, .aborted, .deadlineExceeded, .permissionDenied]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for actor in 0..<8 {
                    group.addTask {
                        for (index, operation) in operations.enumerated() where index % 8 == actor {
                            do {
                                switch operation {
                                case .pay(let order, let method, let key):
                                    _ = try await cluster.payments.pay(
                                        PayRequest(
                                            orderId: orders[order].id,
                                            idempotencyKey: key ?? "",
                                            paymentMethod: method
                                        ),
                                        options: bearer(orders[order].customer)
                                    )
                                    outcomes.withLockedValue { $0["pay", default: 0] += 1 }
                                case .refund(let order, let cents):
                                    let found = try await cluster.payments.adminListPayments(
                                        AdminListPaymentsRequest(orderId: orders[order].id),
                                        options: bearer(admin)
                                    )
                                    guard let payment = found.payments.first(where: { $0.state != .failed }) else {
                                        continue
                                    }
                                    _ = try await cluster.payments.refundPayment(
                                        RefundPaymentRequest(
                                            paymentId: payment.id,
                                            reason: "random",
                                            amount: cents.map { Money(cents: $0) }
                                        ),
                                        options: bearer(admin)
                                    )
                                    outcomes.withLockedValue { $0["refund", default: 0] += 1 }
                                case .complete(let order):
                                    for status in [OrderStatus.inProgress, .completed] {
                                        _ = try? await cluster.orders.updateOrderStatus(
                                            UpdateOrderStatusRequest(orderId: orders[order].id, newStatus: status),
                                            options: bearer(orders[order].provider)
                                        )
                                    }
                                case .cancel(let order):
                                    _ = try await cluster.orders.cancelMyOrder(
                                        CancelOrderRequest(orderId: orders[order].id),
                                        options: bearer(orders[order].customer)
                                    )
                                    outcomes.withLockedValue { $0["cancel", default: 0] += 1 }
                                }
                            } catch let error as RPCError where expected.contains(error.code) {
                                outcomes.withLockedValue { $0["\(error.code)", default: 0] += 1 }
                                continue
                            } catch {
                                unexpected.withLockedValue { $0.append("\(operation): \(error)") }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(unexpected.withLockedValue { $0 }.isEmpty, "\(unexpected.withLockedValue { $0 }.prefix(5))")
            let counted = outcomes.withLockedValue { $0 }
            // The run exercised every path: pays, refunds (full and partial), escrow cancellations.
            #expect(
                (counted["pay"] ?? 0) >= 10 && (counted["refund"] ?? 0) >= 3 && (counted["cancel"] ?? 0) >= 1,
                "\(counted)"
            )

            // Let everything settle: events delivered, refunds reserved by cancellations completed,
            // and (past the processor's timeout on the service's clock) any charge a busy machine
            // left unanswered reconciled.
            cluster.clock.advance(60)
            let database = try cluster.paymentsDatabase()
            #expect(
                try await eventually {
                    try await database.read { db in
                        let open = try Int.fetchOne(
                            db,
                            sql:
                                "SELECT (SELECT COUNT(*) FROM payment WHERE state = 1) + (SELECT COUNT(*) FROM refund WHERE state = 'pending')"
                        )
                        return open == 0
                    }
                },
                "nothing left pending"
            )
            let balances = try cluster.ledger()
            for (account, cents) in balances {
                if account.hasPrefix("customer:") {
                    #expect(cents <= 0, "\(account)")
                } else {
                    #expect(cents >= 0, "\(account)")
                }
            }
            let doubleCharged = try await database.read { db in
                try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT p.order_id FROM ledger_transaction t JOIN payment p ON p.id = t.payment_id
                        WHERE t.kind = 'charge' GROUP BY p.order_id HAVING COUNT(*) > 1
                        """
                )
            }
            #expect(doubleCharged.isEmpty, "orders charged twice: \(doubleCharged)")

            // The history explains every balance: each payment's state, refunded total and ledger
            // movements agree, and with the processor's records; the accounts are their sums.
            let processor = try cluster.processor()
            let payments = try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM payment").map(PaymentsStore.payment(from:))
            }
            var expectedBalances: [String: Int64] = [:]
            var charges = 0
            for payment in payments {
                let movements = try await database.read { db in try Ledger.movements(db, payment: payment.id) }
                let amount = payment.amount?.cents ?? 0
                let refunded = payment.refunded?.cents ?? 0
                func total(_ kind: Ledger.Kind) -> Int64 {
                    movements.filter { $0.kind == kind }.flatMap(\.entries).filter { $0.cents > 0 }.reduce(0) {
                        $0 + $1.cents
                    }
                }
                let totals = try await processor.totals(of: "payment-\(payment.id)")
                switch payment.state {
                case .failed:
                    #expect(movements.isEmpty, "a failed payment moved no money (\(payment.id))")
                    #expect(totals.charged == 0)
                case .held:
                    #expect(total(.charge) == amount && total(.release) == 0 && refunded == 0)
                case .completed, .partiallyRefunded, .refunded:
                    #expect(total(.charge) == amount, "charged once, in full (\(payment.id))")
                    #expect(total(.refund) == refunded, "refunds as recorded (\(payment.id))")
                    #expect(payment.state != .refunded || refunded == amount)
                    #expect(payment.state != .partiallyRefunded || (refunded > 0 && refunded < amount))
                    #expect(payment.state != .completed || refunded == 0)
                default:
                    Issue.record("payment \(payment.id) left \(payment.state)")
                }
                if payment.state != .failed {
                    charges += 1
                    #expect(
                        totals == .init(charged: amount, refunded: refunded),
                        "the processor agrees (\(payment.id))"
                    )
                }
                for movement in movements {
                    for entry in movement.entries { expectedBalances[entry.account, default: 0] += entry.cents }
                }
                let history = try await cluster.payment(payment.id, as: admin).history
                #expect(history.last?.toState == payment.state, "the history ends in the state (\(payment.id))")
                #expect(
                    history.filter { $0.toState == .partiallyRefunded || $0.toState == .refunded }.reduce(0) {
                        $0 + ($1.amount?.cents ?? 0)
                    } == refunded,
                    "the history's refunds add up (\(payment.id))"
                )
            }
            #expect(expectedBalances.filter { $0.value != 0 } == balances)
            #expect(charges > 5, "the run paid for something: \(charges)")
        }
    }
}
