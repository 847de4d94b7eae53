import Foundation
public import MarketplaceAPI

/// The order life cycle as a pure table: which action, by whom, takes an order from which status
/// to which. Every change of status in the service goes through ``apply(_:to:)``, so no handler
/// (an admin's edit included) can bypass it.
///
/// ```
/// pending_review --approve (admin)--------------> pending
/// pending_review --reject with reason (admin)---> cancelled
/// pending        --accept (a provider)----------> accepted      (first one wins)
/// accepted       --start (assigned provider)----> in_progress
/// in_progress    --complete (assigned provider)-> completed
/// completed      --reviewed (review.created)----> reviewed
/// pending_review, pending, accepted --cancel (its customer)--> cancelled
/// any status before completed       --cancel (an admin)------> cancelled
/// ```
public enum OrderStateMachine {
    /// Who acts.
    public enum Actor: Hashable, Sendable {
        case customer(Int64)
        case provider(Int64)
        case admin(Int64)
        /// An event (review.created), not a person.
        case system

        public var id: Int64 {
            switch self {
            case .customer(let id), .provider(let id), .admin(let id): return id
            case .system: return 0
            }
        }

        public var role: Role {
            switch self {
            case .customer: return .customer
            case .provider: return .provider
            case .admin: return .admin
            case .system: return .unspecified
            }
        }
    }

    public enum Action: Hashable, Sendable {
        case approve
        case reject(reason: String)
        case accept
        case start
        case complete
        case cancel(reason: String)
        case markReviewed
    }

    /// The facts about an order the table needs.
    public struct Facts: Hashable, Sendable {
        public var status: OrderStatus
        public var customerID: Int64
        public var providerID: Int64?

        public init(status: OrderStatus, customerID: Int64, providerID: Int64?) {
            self.status = status
            self.customerID = customerID
            self.providerID = providerID
        }
    }

    /// Why an action is refused (the message says why, for people).
    public enum Refusal: Error, Hashable, Sendable {
        /// Not this actor's to do (PERMISSION_DENIED).
        case notAllowed(String)
        /// Not from this status (FAILED_PRECONDITION).
        case illegal(String)
        /// A missing reason and the like (INVALID_ARGUMENT).
        case invalid(String)
    }

    /// The status `action` by `actor` leads to from `facts`, or why not.
    public static func apply(_ action: Action, by actor: Actor, to facts: Facts) -> Result<OrderStatus, Refusal> {
        let status = facts.status
        let name = label(status)
        switch action {
        case .approve, .reject:
            guard case .admin = actor else { return .failure(.notAllowed("only an admin reviews orders")) }
            if case .reject(let reason) = action, reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                return .failure(.invalid("a rejection needs a reason"))
            }
            guard status == .pendingReview else {
                return .failure(
                    .illegal("the order is \(name); only an order pending review can be approved or rejected")
                )
            }
            if case .approve = action { return .success(.pending) }
            return .success(.cancelled)
        case .accept:
            guard case .provider = actor else { return .failure(.notAllowed("only providers accept orders")) }
            guard status == .pending else {
                if let winner = facts.providerID, status != .pendingReview {
                    return .failure(.illegal("the order is \(name): provider \(winner) accepted it first"))
                }
                return .failure(.illegal("the order is \(name); only a pending (approved) order can be accepted"))
            }
            return .success(.accepted)
        case .start, .complete:
            guard case .provider(let id) = actor, id == facts.providerID else {
                return .failure(.notAllowed("only the order's assigned provider changes its progress"))
            }
            if case .start = action {
                guard status == .accepted else {
                    return .failure(.illegal("the order is \(name); in_progress follows accepted"))
                }
                return .success(.inProgress)
            }
            guard status == .inProgress else {
                return .failure(.illegal("the order is \(name); completed follows in_progress"))
            }
            return .success(.completed)
        case .cancel:
            switch actor {
            case .customer(let id):
                guard id == facts.customerID else {
                    return .failure(.notAllowed("only the order's customer cancels it"))
                }
                guard [.pendingReview, .pending, .accepted].contains(status) else {
                    return .failure(.illegal("the order is \(name); a customer can cancel only before the work starts"))
                }
                return .success(.cancelled)
            case .admin:
                guard [.pendingReview, .pending, .accepted, .inProgress].contains(status) else {
                    return .failure(.illegal("the order is \(name); only an order not yet completed can be cancelled"))
                }
                return .success(.cancelled)
            default:
                return .failure(.notAllowed("only the order's customer or an admin cancels it"))
            }
        case .markReviewed:
            guard case .system = actor else { return .failure(.notAllowed("orders become reviewed through a review")) }
            guard status == .completed else {
                return .failure(.illegal("the order is \(name); only a completed order is reviewed"))
            }
            return .success(.reviewed)
        }
    }

    /// Every (from, to) pair the table can produce.
    public static let allowed: Set<[OrderStatus]> = [
        [.pendingReview, .pending], [.pendingReview, .cancelled], [.pending, .accepted], [.pending, .cancelled],
        [.accepted, .inProgress], [.accepted, .cancelled], [.inProgress, .completed], [.inProgress, .cancelled],
        [.completed, .reviewed],
    ]

    /// The contract's spelling of a status (`pending_review`).
    public static func label(_ status: OrderStatus) -> String {
        switch status {
        case .pendingReview: return "pending_review"
        case .pending: return "pending"
        case .accepted: return "accepted"
        case .inProgress: return "in_progress"
        case .completed: return "completed"
        case .reviewed: return "reviewed"
        case .cancelled: return "cancelled"
        default: return "unknown"
        }
    }
}
