import EventBus
import Foundation
import ServiceTestSupport
import MarketplaceAPI
import OrdersService
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit
import TestSupport
import Testing

extension Cluster {
    func publish(_ token: String, title: String = "Fix the sink", price: Int64 = 120_00, location: Location = .north)
        async throws -> Order
    {
        let response = try await orders.publishOrder(
            PublishOrderRequest(
                title: title,
                description: "It leaks",
                serviceType: .cleaningRepair,
                price: Money(cents: price),
                location: location
            ),
            options: bearer(token)
        )
        return try #require(response.order)
    }
}

@Suite("Orders service: validation, life cycle, first accept wins, rules, history, lists")
struct OrdersTests {
    @Test("publish validation: every bad field is INVALID_ARGUMENT; a good order starts pending_review, unpaid")
    func validation() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("cara")
            func attempt(_ change: (inout PublishOrderRequest) -> Void) async -> RPCCode? {
                var request = PublishOrderRequest(
                    title: "Paint",
                    serviceType: .other,
                    price: Money(cents: 100),
                    location: .east
                )
                change(&request)
                return await code { _ = try await cluster.orders.publishOrder(request, options: bearer(customer)) }
            }
            #expect(await attempt { $0.title = "   " } == .invalidArgument)
            #expect(await attempt { $0.title = String(repeating: "t", count: 201) } == .invalidArgument)
            #expect(await attempt { $0.description = String(repeating: "d", count: 5001) } == .invalidArgument)
            #expect(await attempt { $0.price = Money(cents: 0) } == .invalidArgument)
            #expect(await attempt { $0.price = nil } == .invalidArgument)
            #expect(await attempt { $0.price = Money(cents: -5) } == .invalidArgument)
            #expect(await attempt { $0.price = Money(cents: 100_000_001) } == .invalidArgument)
            #expect(await attempt { $0.price = Money(cents: 100_000_000) } == nil, "1,000,000.00 is allowed")
            #expect(await attempt { $0.serviceType = .unspecified } == .invalidArgument)
            #expect(await attempt { $0.serviceType = .unrecognized(99) } == .invalidArgument)
            #expect(await attempt { $0.location = .unrecognized(9) } == .invalidArgument)
            #expect(await attempt { $0.address = String(repeating: "a", count: 256) } == .invalidArgument)
            #expect(
                await attempt {
                    $0.serviceStartTime = ProtoTimestamp(seconds: 2_000_000_000)
                    $0.serviceEndTime = ProtoTimestamp(seconds: 2_000_000_000)
                } == .invalidArgument,
                "start must be before end"
            )
            let order = try await cluster.publish(customer, title: "  Trimmed  ")
            #expect(order.title == "Trimmed")
            #expect(order.status == .pendingReview)
            #expect(order.paymentStatus == .unpaid)
            #expect(order.providerId == nil)
            let (_, provider) = try await cluster.signUp("pete", role: .provider)
            #expect(
                await code {
                    _ = try await cluster.orders.publishOrder(
                        PublishOrderRequest(title: "x", serviceType: .other, price: Money(cents: 1), location: .west),
                        options: bearer(provider)
                    )
                } == .permissionDenied,
                "only customers publish"
            )
        }
    }

    @Test("the life cycle end to end, with its history; payment.completed and review.created move it on")
    func lifecycle() async throws {
        try await Cluster.with { cluster in
            let (customerUser, customer) = try await cluster.signUp("dora")
            let (providerUser, provider) = try await cluster.signUp("phil", role: .provider)
            let (_, admin) = try await cluster.admin()
            let order = try await cluster.publish(customer)
            #expect(
                await code {
                    _ = try await cluster.orders.acceptOrder(
                        AcceptOrderRequest(orderId: order.id),
                        options: bearer(provider)
                    )
                } == .failedPrecondition,
                "not approved yet"
            )
            #expect(
                await code {
                    _ = try await cluster.orders.reviewOrder(
                        ReviewOrderRequest(orderId: order.id, approved: false),
                        options: bearer(admin)
                    )
                } == .invalidArgument,
                "a rejection needs a reason"
            )
            _ = try await cluster.orders.reviewOrder(
                ReviewOrderRequest(orderId: order.id, approved: true),
                options: bearer(admin)
            )
            let accepted = try await cluster.orders.acceptOrder(
                AcceptOrderRequest(orderId: order.id),
                options: bearer(provider)
            )
            #expect(accepted.order?.providerId == providerUser.id)
            #expect(
                try await cluster.orders.listProviderActiveOrders(ListOrdersRequest(), options: bearer(provider)).orders
                    .map(\.id) == [order.id]
            )
            #expect(
                await code {
                    _ = try await cluster.orders.updateOrderStatus(
                        UpdateOrderStatusRequest(orderId: order.id, newStatus: .completed),
                        options: bearer(provider)
                    )
                } == .failedPrecondition,
                "completed follows in_progress"
            )
            _ = try await cluster.orders.updateOrderStatus(
                UpdateOrderStatusRequest(orderId: order.id, newStatus: .inProgress),
                options: bearer(provider)
            )
            #expect(
                await code {
                    _ = try await cluster.orders.cancelMyOrder(
                        CancelOrderRequest(orderId: order.id),
                        options: bearer(customer)
                    )
                } == .failedPrecondition,
                "too late for the customer"
            )
            let done = try await cluster.orders.updateOrderStatus(
                UpdateOrderStatusRequest(orderId: order.id, newStatus: .completed),
                options: bearer(provider)
            )
            #expect(done.order?.status == .completed)
            #expect(
                try await cluster.orders.listProviderActiveOrders(ListOrdersRequest(), options: bearer(provider)).orders
                    .isEmpty,
                "done: no longer active"
            )
            #expect(
                await code {
                    _ = try await cluster.orders.adminCancelOrder(
                        CancelOrderRequest(orderId: order.id),
                        options: bearer(admin)
                    )
                } == .failedPrecondition,
                "completed orders stay"
            )

            func wire<E: EventMessage>(_ event: E, id: String) -> Event {
                Event(
                    id: id,
                    exchange: E.eventExchange,
                    routingKey: E.eventRoutingKey,
                    type: E.protoMessageName,
                    payload: event.serializedBytes()
                )
            }
            let payment = wire(
                PaymentCompleted(
                    paymentId: 1,
                    orderId: order.id,
                    customerId: customerUser.id,
                    providerId: providerUser.id,
                    amount: order.price
                ),
                id: "pay-1"
            )
            // Forged: another service's credential may not publish it at all; an event the bus
            // lets through from anyone but the payments service (an operator's) is never
            // applied: it waits in the dead-letter queue.
            for service in ["orders", "users"] {
                await #expect(
                    throws: RPCError(
                        code: .permissionDenied,
                        message:
                            "service:\(service) may not publish to exchange 'payment_events' (no 'write' permission in the bus topology)"
                    )
                ) {
                    try await cluster.bus(as: service) { bus in
                        _ = try await bus.publish(PublishRequest(events: [payment]))
                    }
                }
            }
            _ = try await cluster.bus.publish(
                PublishRequest(events: [
                    wire(PaymentCompleted(paymentId: 9, orderId: order.id, amount: order.price), id: "forged")
                ])
            )
            #expect(
                try await eventually {
                    try await cluster.bus.inspect(InspectRequest()).queues.first { $0.name == "orders.events.dead" }?
                        .depth == 1
                },
                "the forgery is dead-lettered"
            )
            #expect(
                try await cluster.orders.getMyOrder(GetOrderRequest(orderId: order.id), options: bearer(customer))
                    .paymentStatus != .paid
            )
            try await cluster.bus(as: "payments") { payments in
                _ = try await payments.publish(PublishRequest(events: [payment]))
            }
            #expect(
                try await eventually {
                    try await cluster.orders.getMyOrder(GetOrderRequest(orderId: order.id), options: bearer(customer))
                        .paymentStatus == .paid
                }
            )
            try await cluster.bus(as: "reviews") { reviews in
                _ = try await reviews.publish(
                    PublishRequest(events: [
                        wire(
                            ReviewCreated(
                                reviewId: 1,
                                orderId: order.id,
                                customerId: customerUser.id,
                                providerId: providerUser.id,
                                stars: 5
                            ),
                            id: "review-1"
                        )
                    ])
                )
            }
            #expect(
                try await eventually {
                    try await cluster.orders.getMyOrder(GetOrderRequest(orderId: order.id), options: bearer(customer))
                        .status == .reviewed
                }
            )
            let history = try await cluster.orders.getOrderHistory(
                GetOrderHistoryRequest(orderId: order.id),
                options: bearer(customer)
            )
            #expect(
                history.transitions.map(\.toStatus) == [
                    .pendingReview, .pending, .accepted, .inProgress, .completed, .reviewed,
                ]
            )
            #expect(
                history.transitions.map(\.actorRole) == [
                    .customer, .admin, .provider, .provider, .provider, .unspecified,
                ]
            )
            let (_, stranger) = try await cluster.signUp("sam")
            #expect(
                await code {
                    _ = try await cluster.orders.getOrderHistory(
                        GetOrderHistoryRequest(orderId: order.id),
                        options: bearer(stranger)
                    )
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.orders.getMyOrder(
                        GetOrderRequest(orderId: order.id),
                        options: bearer(stranger)
                    )
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.orders.getMyOrder(
                        GetOrderRequest(orderId: 999_999),
                        options: bearer(stranger)
                    )
                } == .notFound
            )
        }
    }

    @Test("50 providers race to accept one order, 20 times: exactly one wins each time; the others learn who")
    func acceptRace() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("rita")
            let (_, admin) = try await cluster.admin()
            var providers: [(User, String)] = []
            for i in 0..<50 { providers.append(try await cluster.signUp("racer\(i)", role: .provider)) }
            let contenders = providers
            for round in 0..<20 {
                let order = try await cluster.publish(customer, title: "Race \(round)")
                _ = try await cluster.orders.reviewOrder(
                    ReviewOrderRequest(orderId: order.id, approved: true),
                    options: bearer(admin)
                )
                let results = try await withThrowingTaskGroup(of: (Int64, Result<Int64, RPCError>).self) { group in
                    for (user, token) in contenders {
                        group.addTask {
                            do {
                                let accepted = try await cluster.orders.acceptOrder(
                                    AcceptOrderRequest(orderId: order.id),
                                    options: bearer(token)
                                )
                                return (user.id, .success(accepted.order?.providerId ?? 0))
                            } catch let error as RPCError {
                                return (user.id, .failure(error))
                            }
                        }
                    }
                    var all: [(Int64, Result<Int64, RPCError>)] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                let winners = results.compactMap { id, result -> Int64? in
                    if case .success = result { return id } else { return nil }
                }
                #expect(winners.count == 1, "round \(round)")
                let winner = try #require(winners.first)
                for case (_, .failure(let error)) in results {
                    #expect(error.code == .failedPrecondition)
                    #expect(error.message.contains("provider \(winner) accepted it first"), "\(error.message)")
                }
                let stored = try await cluster.orders.getMyOrder(
                    GetOrderRequest(orderId: order.id),
                    options: bearer(customer)
                )
                #expect(stored.providerId == winner)
                let history = try await cluster.orders.getOrderHistory(
                    GetOrderHistoryRequest(orderId: order.id),
                    options: bearer(customer)
                )
                #expect(history.transitions.filter { $0.toStatus == .accepted }.count == 1)
            }
        }
    }

    @Test("who may do what: cancellations, assigned-provider progress, admin edits that would bypass the machine")
    func rules() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("vera")
            let (_, other) = try await cluster.signUp("walt")
            let (_, provider) = try await cluster.signUp("xena", role: .provider)
            let (_, intruder) = try await cluster.signUp("yuri", role: .provider)
            let (_, admin) = try await cluster.admin()
            let order = try await cluster.publish(customer)
            #expect(
                await code {
                    _ = try await cluster.orders.cancelMyOrder(
                        CancelOrderRequest(orderId: order.id),
                        options: bearer(other)
                    )
                } == .permissionDenied
            )
            var direct = AdminUpdateOrderRequest(orderId: order.id)
            direct.status = .inProgress
            #expect(
                await code { _ = try await cluster.orders.adminUpdateOrder(direct, options: bearer(admin)) }
                    == .failedPrecondition
            )
            var approve = AdminUpdateOrderRequest(orderId: order.id)
            approve.status = .pending
            approve.title = "Fix the sink now"
            let edited = try await cluster.orders.adminUpdateOrder(approve, options: bearer(admin))
            #expect(edited.status == .pending)
            #expect(edited.title == "Fix the sink now")
            _ = try await cluster.orders.acceptOrder(AcceptOrderRequest(orderId: order.id), options: bearer(provider))
            #expect(
                await code {
                    _ = try await cluster.orders.updateOrderStatus(
                        UpdateOrderStatusRequest(orderId: order.id, newStatus: .inProgress),
                        options: bearer(intruder)
                    )
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.orders.updateOrderStatus(
                        UpdateOrderStatusRequest(orderId: order.id, newStatus: .cancelled),
                        options: bearer(provider)
                    )
                } == .invalidArgument
            )
            #expect(
                await code {
                    _ = try await cluster.orders.getAssignedOrder(
                        GetOrderRequest(orderId: order.id),
                        options: bearer(intruder)
                    )
                } == .permissionDenied
            )
            #expect(
                try await cluster.orders.getAssignedOrder(GetOrderRequest(orderId: order.id), options: bearer(provider))
                    .id == order.id
            )
            // An admin's edit is checked whole before anything is written.
            let third = try await cluster.publish(customer, title: "Third")
            var bad = AdminUpdateOrderRequest(orderId: third.id)
            bad.status = .pending
            bad.price = Money(cents: -1)
            #expect(
                await code { _ = try await cluster.orders.adminUpdateOrder(bad, options: bearer(admin)) }
                    == .invalidArgument
            )
            #expect(
                try await cluster.orders.adminGetOrder(GetOrderRequest(orderId: third.id), options: bearer(admin))
                    .status == .pendingReview,
                "not approved by a failed edit"
            )
            var editAndCancel = AdminUpdateOrderRequest(orderId: third.id)
            editAndCancel.status = .cancelled
            editAndCancel.title = "Third, renamed"
            let both = try await cluster.orders.adminUpdateOrder(editAndCancel, options: bearer(admin))
            #expect(both.status == .cancelled)
            #expect(both.title == "Third, renamed")

            let cancelled = try await cluster.orders.cancelMyOrder(
                CancelOrderRequest(orderId: order.id, reason: "changed my mind"),
                options: bearer(customer)
            )
            #expect(cancelled.order?.status == .cancelled)
            #expect(cancelled.order?.providerId != nil, "the provider stays recorded")
            // Rejection keeps its reason in the order and the history.
            let second = try await cluster.publish(customer, title: "Second")
            let rejected = try await cluster.orders.reviewOrder(
                ReviewOrderRequest(orderId: second.id, approved: false, rejectReason: "too vague"),
                options: bearer(admin)
            )
            #expect(rejected.order?.status == .cancelled)
            #expect(rejected.order?.statusReason == "too vague")
            let history = try await cluster.orders.getOrderHistory(
                GetOrderHistoryRequest(orderId: second.id),
                options: bearer(admin)
            )
            #expect(history.transitions.last?.reason == "too vague")
        }
    }

    @Test("lists: keyset pages newest first; available orders filter by location, type, price and keyword")
    func lists() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("zoe")
            let (_, provider) = try await cluster.signUp("abe", role: .provider)
            let (_, admin) = try await cluster.admin()
            var published: [Order] = []
            for i in 0..<7 {
                cluster.clock.advance(1)
                let order = try await cluster.publish(
                    customer,
                    title: i % 2 == 0 ? "Garden work \(i)" : "Laptop repair \(i)",
                    price: Int64(i + 1) * 10_00,
                    location: i < 4 ? .north : .mid
                )
                _ = try await cluster.orders.reviewOrder(
                    ReviewOrderRequest(orderId: order.id, approved: true),
                    options: bearer(admin)
                )
                published.append(order)
            }
            var seen: [Int64] = []
            var token = ""
            repeat {
                let page = try await cluster.orders.listMyOrderHistory(
                    ListOrdersRequest(pageSize: 3, pageToken: token),
                    options: bearer(customer)
                )
                seen += page.orders.map(\.id)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(seen == published.map(\.id).reversed())
            let north = try await cluster.orders.listAvailableOrders(
                ListAvailableOrdersRequest(location: .north),
                options: bearer(provider)
            )
            #expect(north.orders.count == 4)
            let priced = try await cluster.orders.listAvailableOrders(
                ListAvailableOrdersRequest(minPrice: Money(cents: 20_00), maxPrice: Money(cents: 40_00)),
                options: bearer(provider)
            )
            #expect(priced.orders.map { $0.price?.cents ?? 0 }.sorted() == [20_00, 30_00, 40_00])
            let laptops = try await cluster.orders.listAvailableOrders(
                ListAvailableOrdersRequest(keyword: "LAPTOP"),
                options: bearer(provider)
            )
            #expect(laptops.orders.count == 3)
            let percent = try await cluster.orders.listAvailableOrders(
                ListAvailableOrdersRequest(keyword: "%"),
                options: bearer(provider)
            )
            #expect(percent.orders.isEmpty, "LIKE wildcards in a keyword are literal")
            #expect(
                await code {
                    _ = try await cluster.orders.listAvailableOrders(
                        ListAvailableOrdersRequest(location: .unrecognized(8)),
                        options: bearer(provider)
                    )
                } == .invalidArgument
            )
            #expect(
                await code {
                    _ = try await cluster.orders.listMyOrderHistory(
                        ListOrdersRequest(pageToken: "nonsense"),
                        options: bearer(customer)
                    )
                } == .invalidArgument
            )
            let active = try await cluster.orders.listMyActiveOrders(ListOrdersRequest(), options: bearer(customer))
            #expect(active.orders.count == 7)
            let pendingReview = try await cluster.orders.adminListPendingReview(
                ListOrdersRequest(),
                options: bearer(admin)
            )
            #expect(pendingReview.orders.isEmpty)
            let byStatus = try await cluster.orders.adminListOrders(
                AdminListOrdersRequest(status: .pending),
                options: bearer(admin)
            )
            #expect(byStatus.orders.count == 7)
        }
    }

    @Test("verified providers only, when configured: an unverified provider is PERMISSION_DENIED")
    func verifiedProviders() async throws {
        try await Cluster.with(requireVerifiedProviders: true) { cluster in
            let (_, customer) = try await cluster.signUp("beth")
            let (providerUser, provider) = try await cluster.signUp("carl", role: .provider)
            let (_, admin) = try await cluster.admin()
            let order = try await cluster.publish(customer)
            _ = try await cluster.orders.reviewOrder(
                ReviewOrderRequest(orderId: order.id, approved: true),
                options: bearer(admin)
            )
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(provider)))
                        != nil
                }
            )
            #expect(
                await code {
                    _ = try await cluster.orders.acceptOrder(
                        AcceptOrderRequest(orderId: order.id),
                        options: bearer(provider)
                    )
                } == .permissionDenied
            )
            _ = try await cluster.users.verifyProvider(
                VerifyProviderRequest(userId: providerUser.id, verified: true, reason: "checked"),
                options: bearer(admin)
            )
            _ = try await cluster.orders.acceptOrder(AcceptOrderRequest(orderId: order.id), options: bearer(provider))
        }
    }
}
