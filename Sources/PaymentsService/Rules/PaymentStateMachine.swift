public import MarketplaceAPI

/// A payment's life as a pure table: which step takes it from which state to which.
///
/// ```
/// pending            --charged (the order not completed yet)--> held
/// pending            --charged (the order completed)----------> completed
/// pending            --declined, or never charged-------------> failed
/// held               --released (the order completed)---------> completed
/// held               --refunded (all of it)-------------------> refunded
/// completed          --refunded (part)------------------------> partially_refunded
/// completed, partially_refunded --refunded (the rest)---------> refunded
/// partially_refunded --refunded (part)------------------------> partially_refunded
/// ```
public enum PaymentStateMachine {
    public enum Step: Hashable, Sendable {
        /// The processor charged it; `held` while the order is not completed.
        case charged(held: Bool)
        case declined
        case released
        /// A refund that leaves `remaining` cents of the payment.
        case refunded(remaining: Int64)
    }

    /// The state `step` leads to from `state`, or nil where the table has no such step.
    public static func apply(_ step: Step, to state: PaymentState) -> PaymentState? {
        switch (state, step) {
        case (.pending, .charged(let held)): return held ? .held : .completed
        case (.pending, .declined): return .failed
        case (.held, .released): return .completed
        case (.held, .refunded(let remaining)): return remaining == 0 ? .refunded : nil
        case (.completed, .refunded(let remaining)), (.partiallyRefunded, .refunded(let remaining)):
            return remaining == 0 ? .refunded : .partiallyRefunded
        default: return nil
        }
    }

    /// Whether money of the payment is with the marketplace (held or paid, and not all refunded).
    public static func isLive(_ state: PaymentState) -> Bool {
        [.held, .completed, .partiallyRefunded].contains(state)
    }

    /// The contract's spelling (`partially_refunded`).
    public static func label(_ state: PaymentState) -> String {
        switch state {
        case .pending: return "pending"
        case .held: return "held"
        case .completed: return "completed"
        case .failed: return "failed"
        case .refunded: return "refunded"
        case .partiallyRefunded: return "partially_refunded"
        default: return "unspecified"
        }
    }
}
