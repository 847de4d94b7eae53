import Foundation

/// What charges and refunds money outside the marketplace (a card network, a bank). The payments
/// service asks it with a reference of its own (`payment-<id>`, `refund-<id>`) and the processor
/// must treat a repeated reference as the same operation: that is what lets the service retry
/// and reconcile after a timeout or a crash without charging twice.
public protocol PaymentProcessor: Sendable {
    /// Charges `charge.amountCents` with `charge.method`. Throws for no answer (the caller's
    /// deadline, a lost connection): the outcome is then unknown until ``outcome(of:)`` says.
    /// Must honour cancellation (the caller's timeout cancels it).
    func charge(_ charge: ProcessorCharge) async throws -> ChargeOutcome
    /// What became of the charge with `reference`; nil if the processor has no record of it (yet:
    /// a charge still in flight may record it later).
    func outcome(of reference: String) async throws -> ChargeOutcome?
    /// Settles the charge with `reference` for good: one not recorded yet is declined (a charge
    /// arriving after it is refused), one recorded keeps its outcome, which is returned. What the
    /// reconciler asks before it fails a payment, so a late charge can never go unrecorded.
    func void(reference: String) async throws -> ChargeOutcome
    /// Refunds `amountCents` of the charge `chargeReference`, once per `reference`.
    func refund(reference: String, chargeReference: String, amountCents: Int64) async throws
}

/// One charge request.
public struct ProcessorCharge: Sendable, Hashable {
    /// The service's own id for it (`payment-<id>`): repeated, it is the same charge.
    public var reference: String
    public var amountCents: Int64
    public var method: String

    public init(reference: String, amountCents: Int64, method: String) {
        self.reference = reference
        self.amountCents = amountCents
        self.method = method
    }
}

/// What the processor answered.
public enum ChargeOutcome: Sendable, Hashable {
    case succeeded
    case declined(reason: String)
}

/// The processor did not answer in time.
public struct ProcessorTimeout: Error, CustomStringConvertible {
    public var description: String { "the payment processor did not answer in time" }
}
