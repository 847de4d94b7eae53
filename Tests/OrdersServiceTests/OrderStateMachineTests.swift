import Foundation
import ServiceTestSupport
import MarketplaceAPI
import OrdersService
import RPC
import Testing

@Suite("Order state machine: random actions by random actors")
struct OrderStateMachineTests {
    static let actions: [OrderStateMachine.Action] = [
        .approve, .reject(reason: "no"), .reject(reason: " "), .accept, .start, .complete, .cancel(reason: ""),
        .markReviewed,
    ]

    static func randomActor(_ generator: inout SeededGenerator) -> OrderStateMachine.Actor {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0: return .customer(1)  // the order's customer
        case 1: return .customer(2)  // another customer
        case 2: return .provider(10)
        case 3: return .provider(11)
        case 4: return .admin(100)
        case 5: return .system
        default: return .provider(Int64.random(in: 10...12, using: &generator))
        }
    }

    @Test("10,000 random sequences (pure table): only allowed transitions, and replaying the log explains the status")
    func pure() {
        var generator = SeededGenerator(state: 42)
        for _ in 0..<10_000 {
            var facts = OrderStateMachine.Facts(status: .pendingReview, customerID: 1, providerID: nil)
            var log: [[OrderStatus]] = []
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                let action = Self.actions.randomElement(using: &generator) ?? .approve
                let actor = Self.randomActor(&generator)
                guard case .success(let next) = OrderStateMachine.apply(action, by: actor, to: facts) else { continue }
                #expect(
                    OrderStateMachine.allowed.contains([facts.status, next]),
                    "\(facts.status) -> \(next) by \(actor)"
                )
                if case .accept = action { facts.providerID = actor.id }
                log.append([facts.status, next])
                facts.status = next
            }
            var replayed = OrderStatus.pendingReview
            for step in log {
                #expect(step[0] == replayed)
                replayed = step[1]
            }
            #expect(replayed == facts.status)
            if facts.status == .accepted || facts.status == .inProgress || facts.status == .completed {
                #expect(facts.providerID != nil, "a worked-on order always has its provider")
            }
        }
    }

    @Test("random actions against the real service: the stored history always explains the current status")
    func service() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("owner")
            let (_, stranger) = try await cluster.signUp("stranger")
            let (_, providerA) = try await cluster.signUp("provider.a", role: .provider)
            let (_, providerB) = try await cluster.signUp("provider.b", role: .provider)
            let (_, admin) = try await cluster.admin()
            var generator = SeededGenerator(state: 7)
            for _ in 0..<12 {
                let order = try await cluster.publish(customer)
                for _ in 0..<15 {
                    let id = order.id
                    switch Int.random(in: 0..<9, using: &generator) {
                    case 0:
                        _ = try? await cluster.orders.reviewOrder(
                            ReviewOrderRequest(orderId: id, approved: true),
                            options: bearer(admin)
                        )
                    case 1:
                        _ = try? await cluster.orders.reviewOrder(
                            ReviewOrderRequest(orderId: id, approved: false, rejectReason: "no"),
                            options: bearer(admin)
                        )
                    case 2:
                        _ = try? await cluster.orders.acceptOrder(
                            AcceptOrderRequest(orderId: id),
                            options: bearer(Bool.random(using: &generator) ? providerA : providerB)
                        )
                    case 3:
                        _ = try? await cluster.orders.updateOrderStatus(
                            UpdateOrderStatusRequest(orderId: id, newStatus: .inProgress),
                            options: bearer(Bool.random(using: &generator) ? providerA : providerB)
                        )
                    case 4:
                        _ = try? await cluster.orders.updateOrderStatus(
                            UpdateOrderStatusRequest(orderId: id, newStatus: .completed),
                            options: bearer(Bool.random(using: &generator) ? providerA : providerB)
                        )
                    case 5:
                        _ = try? await cluster.orders.cancelMyOrder(
                            CancelOrderRequest(orderId: id),
                            options: bearer(Bool.random(using: &generator) ? customer : stranger)
                        )
                    case 6:
                        _ = try? await cluster.orders.adminCancelOrder(
                            CancelOrderRequest(orderId: id),
                            options: bearer(admin)
                        )
                    case 7:
                        var edit = AdminUpdateOrderRequest(orderId: id)
                        edit.status = [OrderStatus.pending, .inProgress, .completed, .reviewed, .cancelled]
                            .randomElement(using: &generator)
                        _ = try? await cluster.orders.adminUpdateOrder(edit, options: bearer(admin))
                    default:
                        _ = try? await cluster.orders.publishOrder(PublishOrderRequest(), options: bearer(customer))
                    }
                }
                let current = try await cluster.orders.adminGetOrder(
                    GetOrderRequest(orderId: order.id),
                    options: bearer(admin)
                )
                let history = try await cluster.orders.getOrderHistory(
                    GetOrderHistoryRequest(orderId: order.id),
                    options: bearer(admin)
                )
                #expect(history.transitions.first?.fromStatus == .unspecified)
                #expect(history.transitions.first?.toStatus == .pendingReview)
                for (previous, next) in zip(history.transitions, history.transitions.dropFirst()) {
                    #expect(next.fromStatus == previous.toStatus)
                    #expect(OrderStateMachine.allowed.contains([next.fromStatus, next.toStatus]))
                }
                #expect(history.transitions.last?.toStatus == current.status)
            }
        }
    }
}
