import EventBus
public import Foundation
public import GRDB
public import Logging
public import MarketplaceAPI
import ProtoRuntime
public import RPC
import ServiceKit

/// The orders service's settings.
public struct OrdersConfiguration: Sendable {
    /// Only providers whose profile is verified (by an admin) may accept orders. Off by default,
    /// as in the original system; when on, the users service is asked at each accept.
    public var requireVerifiedProviders = false
    public var now: @Sendable () -> Date = { Date() }

    public init() {}
}

/// `marketplace.v1.Orders`: the order life cycle (``OrderStateMachine``), its history, and the
/// lists customers, providers and admins page through.
public struct OrdersService: Orders.Handler {
    let database: DatabasePool
    let users: Users.Client
    let configuration: OrdersConfiguration
    let logger: Logger

    public init(database: DatabasePool, users: Users.Client, configuration: OrdersConfiguration, logger: Logger) {
        self.database = database
        self.users = users
        self.configuration = configuration
        self.logger = logger
    }

    var now: Date { configuration.now() }

    // MARK: Publishing

    public func publishOrder(_ request: PublishOrderRequest, context: ServerContext) async throws -> OrderActionResponse
    {
        let customer = try context.requireUserID()
        let fields = try OrderRules.fields(request)
        let now = self.now
        let order = try await write { db -> Order in
            let id = try OrdersSchema.insert(db, customer: customer, fields, now: now)
            try OrdersSchema.record(
                db,
                order: id,
                from: .unspecified,
                to: .pendingReview,
                actor: .customer(customer),
                reason: "",
                at: now
            )
            try Outbox.enqueue(
                db,
                OrderCreated(
                    orderId: id,
                    customerId: customer,
                    title: fields.title,
                    price: Money(cents: fields.priceCents),
                    location: fields.location,
                    serviceType: fields.serviceType,
                    occurredAt: ProtoTimestamp(date: now)
                )
            )
            guard let order = try OrdersSchema.fetch(db, id) else {
                throw RPCError(code: .internalError, message: "order vanished")
            }
            return order
        }
        return OrderActionResponse(order: order, message: "Order \(order.id) published; it is pending review")
    }

    // MARK: Transitions

    /// Applies `action` to the order in one transaction: checks the state machine, updates the
    /// row only if its status is still the one checked (so concurrent actions cannot both win),
    /// records the transition and queues the events.
    func transition(
        _ id: Int64,
        _ action: OrderStateMachine.Action,
        by actor: OrderStateMachine.Actor,
        reason: String = ""
    ) async throws -> Order {
        let now = self.now
        return try await write { db in try OrdersService.transition(db, id, action, by: actor, reason: reason, now: now)
        }
    }

    /// The transition inside the caller's transaction.
    static func transition(
        _ db: Database,
        _ id: Int64,
        _ action: OrderStateMachine.Action,
        by actor: OrderStateMachine.Actor,
        reason: String,
        now: Date
    ) throws -> Order {
        guard let order = try OrdersSchema.fetch(db, id) else {
            throw RPCError(code: .notFound, message: "order \(id) not found")
        }
        let facts = OrderStateMachine.Facts(
            status: order.status,
            customerID: order.customerId,
            providerID: order.providerId
        )
        let target: OrderStatus
        switch OrderStateMachine.apply(action, by: actor, to: facts) {
        case .success(let status): target = status
        case .failure(let refusal): throw refusal.rpcError(order: id)
        }
        var provider = order.providerId
        if case .accept = action { provider = actor.id }
        let changed = try OrdersSchema.update(
            db,
            id,
            from: order.status,
            to: target,
            provider: provider,
            reason: target == .cancelled ? reason : order.statusReason,
            at: now
        )
        guard changed else {
            // Another transaction changed it between our read and write (SQLite serialises
            // writers, so this is defensive): report what it is now.
            throw RPCError(code: .aborted, message: "order \(id) changed concurrently; try again")
        }
        try OrdersSchema.record(db, order: id, from: order.status, to: target, actor: actor, reason: reason, at: now)
        guard let updated = try OrdersSchema.fetch(db, id) else {
            throw RPCError(code: .internalError, message: "order vanished")
        }
        try OrdersService.announce(
            db,
            action: action,
            actor: actor,
            before: order,
            after: updated,
            reason: reason,
            at: now
        )
        return updated
    }

    static func announce(
        _ db: Database,
        action: OrderStateMachine.Action,
        actor: OrderStateMachine.Actor,
        before: Order,
        after: Order,
        reason: String,
        at now: Date
    ) throws {
        let at = ProtoTimestamp(date: now)
        switch action {
        case .approve:
            try Outbox.enqueue(
                db,
                OrderApproved(orderId: after.id, customerId: after.customerId, adminId: actor.id, occurredAt: at)
            )
        case .reject:
            try Outbox.enqueue(
                db,
                OrderRejected(
                    orderId: after.id,
                    customerId: after.customerId,
                    rejectReason: reason,
                    adminId: actor.id,
                    occurredAt: at
                )
            )
        case .accept:
            try Outbox.enqueue(
                db,
                OrderAccepted(
                    orderId: after.id,
                    customerId: after.customerId,
                    providerId: after.providerId ?? 0,
                    occurredAt: at
                )
            )
        case .cancel:
            try Outbox.enqueue(
                db,
                OrderCancelled(
                    orderId: after.id,
                    customerId: after.customerId,
                    providerId: after.providerId,
                    previousStatus: before.status,
                    cancelledBy: actor.id,
                    cancelledByRole: actor.role,
                    reason: reason,
                    occurredAt: at
                )
            )
        case .start, .complete, .markReviewed:
            try Outbox.enqueue(
                db,
                OrderStatusChanged(
                    orderId: after.id,
                    customerId: after.customerId,
                    providerId: after.providerId,
                    oldStatus: before.status,
                    newStatus: after.status,
                    actorId: actor.id,
                    reason: reason,
                    occurredAt: at
                )
            )
            if case .complete = action {
                try Outbox.enqueue(
                    db,
                    OrderCompleted(
                        orderId: after.id,
                        customerId: after.customerId,
                        providerId: after.providerId ?? 0,
                        price: after.price,
                        occurredAt: at
                    )
                )
            }
        }
    }

    public func cancelMyOrder(_ request: CancelOrderRequest, context: ServerContext) async throws -> OrderActionResponse
    {
        let reason = OrderRules.trimmed(request.reason)
        let order = try await transition(
            request.orderId,
            .cancel(reason: reason),
            by: .customer(try context.requireUserID()),
            reason: reason
        )
        return OrderActionResponse(order: order, message: "Order \(order.id) cancelled")
    }

    public func acceptOrder(_ request: AcceptOrderRequest, context: ServerContext) async throws -> OrderActionResponse {
        let provider = try context.requireUserID()
        if configuration.requireVerifiedProviders {
            let profile: ProviderProfile
            do { profile = try await users.getProviderProfile(GetProviderProfileRequest(userId: provider)) } catch let
                error as RPCError
                where error.code == .notFound
            {
                throw RPCError(code: .permissionDenied, message: "only providers with a verified profile accept orders")
            }
            guard profile.verified else {
                throw RPCError(
                    code: .permissionDenied,
                    message: "only verified providers accept orders; ask an admin to verify your profile"
                )
            }
        }
        let order = try await transition(request.orderId, .accept, by: .provider(provider))
        return OrderActionResponse(order: order, message: "Order \(order.id) accepted by provider \(provider)")
    }

    public func updateOrderStatus(_ request: UpdateOrderStatusRequest, context: ServerContext) async throws
        -> OrderActionResponse
    {
        let provider = try context.requireUserID()
        let action: OrderStateMachine.Action
        switch request.newStatus {
        case .inProgress: action = .start
        case .completed: action = .complete
        default:
            // The schema allows only these two; this answers a caller that skipped validate().
            throw RPCError(code: .invalidArgument, message: "new_status must be in_progress or completed")
        }
        let order = try await transition(request.orderId, action, by: .provider(provider))
        return OrderActionResponse(
            order: order,
            message: "Order \(order.id) is now \(OrderStateMachine.label(order.status))"
        )
    }

    public func reviewOrder(_ request: ReviewOrderRequest, context: ServerContext) async throws -> OrderActionResponse {
        let admin = try context.requireUserID()
        if request.approved {
            let order = try await transition(request.orderId, .approve, by: .admin(admin))
            return OrderActionResponse(order: order, message: "Order \(order.id) approved; providers can see it now")
        }
        let reason = OrderRules.trimmed(request.rejectReason)
        guard !reason.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "reject_reason is required to reject an order")
        }
        let order = try await transition(request.orderId, .reject(reason: reason), by: .admin(admin), reason: reason)
        return OrderActionResponse(order: order, message: "Order \(order.id) rejected: \(reason)")
    }

    public func adminCancelOrder(_ request: CancelOrderRequest, context: ServerContext) async throws
        -> OrderActionResponse
    {
        let reason = OrderRules.trimmed(request.reason.isEmpty ? "cancelled by an admin" : request.reason)
        let order = try await transition(
            request.orderId,
            .cancel(reason: reason),
            by: .admin(try context.requireUserID()),
            reason: reason
        )
        return OrderActionResponse(order: order, message: "Order \(order.id) cancelled")
    }

    public func adminUpdateOrder(_ request: AdminUpdateOrderRequest, context: ServerContext) async throws -> Order {
        let admin = try context.requireUserID()
        let selection = try OrderRules.selection(request)
        let reason = OrderRules.trimmed(request.reason)
        guard let current = try await read({ db in try OrdersSchema.fetch(db, request.orderId) }) else {
            throw RPCError(code: .notFound, message: "order \(request.orderId) not found")
        }
        // Everything is checked before anything is written: a bad field changes nothing, the
        // status included.
        var edited = current
        let changes = try OrderRules.apply(request, selection: selection, to: &edited)
        let statusChange = request.status.flatMap { status in
            selection.wants("status", present: true) && status != current.status ? status : nil
        }
        guard changes || statusChange != nil || request.status != nil else {
            throw RPCError(code: .invalidArgument, message: "nothing to update")
        }
        if changes, ![.pendingReview, .pending, .accepted, .inProgress].contains(current.status) {
            throw RPCError(
                code: .failedPrecondition,
                message: "order \(current.id) is \(OrderStateMachine.label(current.status)); it can no longer be edited"
            )
        }
        // A status change is an action of the state machine, never a direct write.
        let action: OrderStateMachine.Action?
        switch statusChange {
        case nil: action = nil
        case .pending?: action = .approve
        case .cancelled? where current.status == .pendingReview && !reason.isEmpty: action = .reject(reason: reason)
        case .cancelled?: action = .cancel(reason: reason.isEmpty ? "cancelled by an admin" : reason)
        case let status?:
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "order \(current.id): an admin cannot set \(OrderStateMachine.label(status)) directly; it follows from the provider's and customer's actions"
            )
        }
        if let action {
            let facts = OrderStateMachine.Facts(
                status: current.status,
                customerID: current.customerId,
                providerID: current.providerId
            )
            if case .failure(let refusal) = OrderStateMachine.apply(action, by: .admin(admin), to: facts) {
                throw refusal.rpcError(order: current.id)
            }
        }
        let now = self.now
        let final = edited
        // The edits and the status change commit together or not at all.
        return try await write { db in
            if changes {
                let changed = try OrdersSchema.edit(db, final, ifStatus: current.status, at: now)
                guard changed else {
                    throw RPCError(code: .aborted, message: "order \(current.id) changed concurrently; try again")
                }
            }
            if let action {
                var why = ""
                if case .reject(let text) = action { why = text }
                if case .cancel(let text) = action { why = text }
                return try OrdersService.transition(db, current.id, action, by: .admin(admin), reason: why, now: now)
            }
            guard let order = try OrdersSchema.fetch(db, current.id) else {
                throw RPCError(code: .notFound, message: "order \(current.id) not found")
            }
            return order
        }
    }

    // MARK: Reads

    func order(_ id: Int64) async throws -> Order {
        guard let order = try await read({ db in try OrdersSchema.fetch(db, id) }) else {
            throw RPCError(code: .notFound, message: "order \(id) not found")
        }
        return order
    }

    public func getMyOrder(_ request: GetOrderRequest, context: ServerContext) async throws -> Order {
        let order = try await order(request.orderId)
        guard order.customerId == (try context.requireUserID()) else {
            throw RPCError(code: .permissionDenied, message: "order \(order.id) is not yours")
        }
        return order
    }

    public func getAvailableOrder(_ request: GetOrderRequest, context: ServerContext) async throws -> Order {
        let order = try await order(request.orderId)
        guard order.status == .pending else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order \(order.id) is \(OrderStateMachine.label(order.status)), not available"
            )
        }
        return order
    }

    public func getAssignedOrder(_ request: GetOrderRequest, context: ServerContext) async throws -> Order {
        let order = try await order(request.orderId)
        guard order.providerId == (try context.requireUserID()) else {
            throw RPCError(code: .permissionDenied, message: "order \(order.id) is not assigned to you")
        }
        return order
    }

    public func adminGetOrder(_ request: GetOrderRequest, context: ServerContext) async throws -> Order {
        try await order(request.orderId)
    }

    public func getOrder(_ request: GetOrderRequest, context: ServerContext) async throws -> Order {
        try await order(request.orderId)
    }

    public func recordPayment(_ request: RecordPaymentRequest, context: ServerContext) async throws -> Order {
        guard context.caller?.kind == .service, context.caller?.subject == "payments" else {
            throw RPCError(code: .permissionDenied, message: "RecordPayment is for the payments service only")
        }
        let now = self.now
        return try await write { db in
            guard let order = try OrdersSchema.fetch(db, request.orderId) else {
                throw RPCError(code: .notFound, message: "order \(request.orderId) not found")
            }
            if request.paymentStatus == .paid, order.status == .cancelled, order.paymentStatus == .unpaid {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order \(order.id) is cancelled; payment \(request.paymentId) must be refunded"
                )
            }
            try OrdersSchema.setPaymentStatus(db, order.id, request.paymentStatus, at: now)
            return try OrdersSchema.fetch(db, order.id) ?? order
        }
    }

    public func getOrderHistory(_ request: GetOrderHistoryRequest, context: ServerContext) async throws
        -> OrderHistoryResponse
    {
        let order = try await order(request.orderId)
        if let caller = context.caller, caller.kind == .user, !context.callerIsAdmin {
            let id = try context.requireUserID()
            guard order.customerId == id || order.providerId == id else {
                throw RPCError(code: .permissionDenied, message: "order \(order.id) is not yours")
            }
        }
        return OrderHistoryResponse(transitions: try await read { db in try OrdersSchema.history(db, order.id) })
    }

    func list(_ page: OrderPage, size: Int32, token: String) async throws -> ListOrdersResponse {
        let size = try PageToken.size(size)
        let (orders, next) = try await read { db in try page.fetch(db, size: size, token: token) }
        return ListOrdersResponse(orders: orders, nextPageToken: next)
    }

    public func listMyActiveOrders(_ request: ListOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(.customerActive(try context.requireUserID()), size: request.pageSize, token: request.pageToken)
    }

    public func listMyOrderHistory(_ request: ListOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(.customerHistory(try context.requireUserID()), size: request.pageSize, token: request.pageToken)
    }

    public func listAvailableOrders(_ request: ListAvailableOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(try .available(request), size: request.pageSize, token: request.pageToken)
    }

    public func listProviderActiveOrders(_ request: ListOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(.providerActive(try context.requireUserID()), size: request.pageSize, token: request.pageToken)
    }

    public func listProviderHistory(_ request: ListOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(.providerHistory(try context.requireUserID()), size: request.pageSize, token: request.pageToken)
    }

    public func adminListOrders(_ request: AdminListOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(try .admin(request.status), size: request.pageSize, token: request.pageToken)
    }

    public func adminListPendingReview(_ request: ListOrdersRequest, context: ServerContext) async throws
        -> ListOrdersResponse
    {
        try await list(.pendingReview, size: request.pageSize, token: request.pageToken)
    }

    // MARK: Database

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceRead(logger: logger, body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceWrite(logger: logger, body)
    }
}
