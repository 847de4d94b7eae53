import Crypto
import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import NIOConcurrencyHelpers
@testable import PaymentsService
import ProtoRuntime
import RPC
import ServiceKit
import ServiceTestSupport
import TestSupport
import Testing

@Suite("The payments service SIGKILLed during pays and refunds", .serialized)
struct PaymentsCrashTests {
    /// The payments service as a real process (`marketplace serve payments`) on the cluster's data directory.
    static func start(_ cluster: Cluster, port: Int, log: URL) throws -> Child {
        try Child(
            repositoryRoot.appendingPathComponent(".build/debug/marketplace").path,
            [
                "serve", "payments", "--port", "\(port)", "--data-dir", cluster.directory.path,
                "--bus", "127.0.0.1:\(cluster.busEndpoint.port)", "--auth", "127.0.0.1:\(cluster.authEndpoint.port)",
                "--orders", "127.0.0.1:\(cluster.ordersEndpoint.port)",
                "--auth-public-key", cluster.authServer.tokenKey.rawRepresentation.base64EncodedString(),
            ],
            log: log,
            append: true
        )
    }

    /// Calls that fail because the service is down or restarting are tried again.
    static let transient: Set<RPCCode> = [.unavailable, .deadlineExceeded, .aborted, .cancelled, .unknown]

    @Test(
        "12 orders paid and partly refunded with keys while the service is SIGKILLed twice: after restart and reconciliation each order is charged once and refunded once, the ledger and the processor agree, and each effect's event was published once"
    )
    func killDuringPays() async throws {
        let port = fixedPort()
        let endpoint = Endpoint(host: "127.0.0.1", port: port)
        try await Cluster.with(externalPayments: endpoint) { cluster in
            let log = cluster.directory.appendingPathComponent("payments.log")
            // A queue of our own sees every payment event.
            _ = try await cluster.bus.declareQueue(DeclareQueueRequest(name: "test.payments"))
            _ = try await cluster.bus.bind(
                BindRequest(queue: "test.payments", exchange: "payment_events", pattern: "payment.#")
            )
            var orders: [(id: Int64, customer: String, price: Int64)] = []
            for i in 0..<12 {
                let (order, customer, _, _) = try await cluster.order("crash\(i)", price: 50_00 + Int64(i) * 100)
                orders.append((order.id, customer.token, order.price?.cents ?? 0))
            }
            let (_, admin) = try await cluster.admin("crash-admin")
            let child = NIOLockedValueBox(try Self.start(cluster, port: port, log: log))
            defer { child.withLockedValue { $0.terminate() } }
            let client = Payments.Client(RPCClient(endpoints: [endpoint]))
            // Up when it answers an authenticated call (it fails closed until its revocation list is in).
            #expect(
                try await eventually {
                    (try? await client.listMyPayments(ListMyPaymentsRequest(), options: bearer(orders[0].customer)))
                        != nil
                },
                "the payments process starts: \((try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? "")"
            )
            let done = NIOLockedValueBox(0)
            let paid = NIOLockedValueBox(0)
            // The refunds wait for the first kill, so they are sent while the service is down.
            let killedOnce = NIOLockedValueBox(false)
            let unexpected = NIOLockedValueBox<[String]>([])
            let interrupted = NIOLockedValueBox(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in orders {
                    group.addTask {
                        let pay = PayRequest(orderId: order.id, idempotencyKey: "pay-\(order.id)")
                        var paymentID: Int64?
                        var attempts = 0
                        while paymentID == nil, attempts < 3_000 {
                            attempts += 1
                            do {
                                paymentID = try await client.pay(pay, options: bearer(order.customer)).payment?.id
                            } catch let error as RPCError where Self.transient.contains(error.code) {
                                interrupted.withLockedValue { $0 += 1 }
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                        guard let paymentID else {
                            unexpected.withLockedValue { $0.append("order \(order.id) never paid") }
                            return
                        }
                        paid.withLockedValue { $0 += 1 }
                        _ = try await eventually { killedOnce.withLockedValue { $0 } }
                        let refund = RefundPaymentRequest(
                            paymentId: paymentID,
                            reason: "part",
                            amount: Money(cents: 10_00),
                            idempotencyKey: "refund-\(order.id)"
                        )
                        var refunded = false
                        attempts = 0
                        while !refunded, attempts < 3_000 {
                            attempts += 1
                            do {
                                _ = try await client.refundPayment(refund, options: bearer(admin))
                                refunded = true
                            } catch let error as RPCError where Self.transient.contains(error.code) {
                                interrupted.withLockedValue { $0 += 1 }
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                        if !refunded { unexpected.withLockedValue { $0.append("payment \(paymentID) never refunded") } }
                        done.withLockedValue { $0 += 1 }
                    }
                }
                group.addTask {
                    // Killed twice mid-run, restarted each time: once after two pays (the rest of the
                    // pays in flight or to come, every refund to come), once after seven refunds.
                    _ = try await eventually { paid.withLockedValue { $0 } >= 2 }
                    child.withLockedValue { $0.kill9() }
                    killedOnce.withLockedValue { $0 = true }
                    try await Task.sleep(for: .milliseconds(200))
                    let restarted = try Self.start(cluster, port: port, log: log)
                    child.withLockedValue { $0 = restarted }
                    _ = try await eventually { done.withLockedValue { $0 } >= 7 }
                    child.withLockedValue { $0.kill9() }
                    try await Task.sleep(for: .milliseconds(200))
                    let again = try Self.start(cluster, port: port, log: log)
                    child.withLockedValue { $0 = again }
                }
                try await group.waitForAll()
            }
            #expect(unexpected.withLockedValue { $0 }.isEmpty, "\(unexpected.withLockedValue { $0 })")
            #expect(interrupted.withLockedValue { $0 } > 0, "the kills interrupted calls in flight")
            await client.client.close()

            let database = try cluster.paymentsDatabase()
            #expect(
                try await eventually {
                    try await database.read { db in
                        try Int.fetchOne(
                            db,
                            sql:
                                "SELECT (SELECT COUNT(*) FROM payment WHERE state = 1) + (SELECT COUNT(*) FROM refund WHERE state = 'pending')"
                        ) == 0
                    }
                },
                "reconciled: nothing pending"
            )
            let balances = try cluster.ledger()
            let processor = try cluster.processor()
            var expectedIDs: Set<String> = []
            for order in orders {
                let payments = try await database.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM payment WHERE order_id = ?", arguments: [order.id])
                        .map(PaymentsStore.payment(from:))
                }
                let live = payments.filter { $0.state != .failed }
                #expect(live.count == 1, "order \(order.id): one payment that is not failed")
                guard let payment = live.first else { continue }
                #expect(payment.state == .partiallyRefunded)
                #expect(payment.refunded == Money(cents: 10_00), "refunded once (order \(order.id))")
                let movements = try await database.read { db in try Ledger.movements(db, payment: payment.id) }
                #expect(movements.map(\.kind) == [.charge, .release, .refund], "order \(order.id): \(movements)")
                #expect(
                    try await processor.totals(of: "payment-\(payment.id)")
                        == .init(charged: order.price, refunded: 10_00)
                )
                for key in ["payment.initiated", "payment.completed", "payment.refunded"] {
                    expectedIDs.insert("\(key) \(payment.id)")
                }
            }
            let customers = balances.filter { $0.key.hasPrefix("customer:") }.values.reduce(0, +)
            #expect(
                customers == -orders.map { $0.price - 10_00 }.reduce(0, +),
                "customers paid the prices less the refunds"
            )

            // Every effect's event, once: distinct event ids per (event, payment).
            let seen = try await Self.drain(cluster.bus, queue: "test.payments", until: expectedIDs)
            #expect(seen.keys.sorted() == expectedIDs.sorted(), "events per effect")
            #expect(
                seen.values.allSatisfy { $0.count == 1 },
                "one event id per effect: \(seen.filter { $0.value.count != 1 })"
            )
        }
    }

    /// The event ids of `queue`'s deliveries by "routing-key payment-id", until `expected` are all
    /// seen and the queue has been quiet for a moment (or a minute passes).
    static func drain(_ bus: Broker.Client, queue: String, until expected: Set<String>) async throws -> [String: Set<
        String
    >] {
        let seen = NIOLockedValueBox<[String: Set<String>]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await bus.subscribe { writer, deliveries in
                    try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: 500))))
                    for try await delivery in deliveries {
                        let event = delivery.event ?? Event()
                        let payment: Int64
                        switch event.routingKey {
                        case "payment.initiated":
                            payment = try PaymentInitiated(serializedBytes: event.payload).paymentId
                        case "payment.completed":
                            payment = try PaymentCompleted(serializedBytes: event.payload).paymentId
                        case "payment.refunded": payment = try PaymentRefunded(serializedBytes: event.payload).paymentId
                        default: payment = 0
                        }
                        seen.withLockedValue { _ = $0["\(event.routingKey) \(payment)", default: []].insert(event.id) }
                        try await writer.write(
                            SubscribeRequest(kind: .ack(.init(deliveryTags: [delivery.deliveryTag])))
                        )
                    }
                }
            }
            group.addTask {
                _ = try await eventually { expected.isSubset(of: Set(seen.withLockedValue { $0.keys })) }
                // Duplicates, if any, would come right behind.
                try await Task.sleep(for: .seconds(1))
            }
            _ = try await group.next()
            group.cancelAll()
        }
        return seen.withLockedValue { $0 }
    }
}
