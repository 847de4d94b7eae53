import Foundation
import GRDB
import ServiceKit

/// The embedded processor: deterministic test payment methods, in the spirit of card networks'
/// test numbers, so every path of a payment is real. Its records live in a database of its own
/// (`<data>/payment-processor.sqlite`), as an external processor's would: they survive the
/// payments service's crash, and a repeated reference gets the first answer.
///
/// | method | answer |
/// |---|---|
/// | `test_card_ok` | succeeds |
/// | `test_card_declined` | declined at once ("card declined") |
/// | `test_card_fails_late` | declined after `lateFailure` ("processing error") |
/// | `test_card_timeout` | the charge goes through, but the answer never comes (the caller times out) |
public struct SimulatedProcessor: PaymentProcessor {
    let database: DatabasePool
    let lateFailure: Duration

    /// - Parameter lateFailure: how long `test_card_fails_late` takes to decline.
    public init(path: String, lateFailure: Duration = .milliseconds(500)) throws {
        database = try ServiceDatabase.open(path: path, durability: .full) { migrator in
            migrator.registerMigration("processor.v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE charge (
                            reference TEXT PRIMARY KEY,
                            amount_cents INTEGER NOT NULL,
                            method TEXT NOT NULL,
                            declined_reason TEXT);
                        CREATE TABLE refund (
                            reference TEXT PRIMARY KEY,
                            charge_reference TEXT NOT NULL REFERENCES charge (reference),
                            amount_cents INTEGER NOT NULL);
                        """
                )
            }
        }
        self.lateFailure = lateFailure
    }

    public func charge(_ charge: ProcessorCharge) async throws -> ChargeOutcome {
        if let known = try await outcome(of: charge.reference) { return known }
        var declined: String?
        switch charge.method {
        case "test_card_declined": declined = "card declined"
        case "test_card_fails_late":
            try await Task.sleep(for: lateFailure)
            declined = "processing error"
        case "test_card_ok", "test_card_timeout": declined = nil
        default: declined = "unknown payment method"
        }
        let outcome = try await database.write { [declined] db -> ChargeOutcome in
            try db.execute(
                sql: """
                    INSERT INTO charge (reference, amount_cents, method, declined_reason) VALUES (?, ?, ?, ?)
                    ON CONFLICT (reference) DO NOTHING
                    """,
                arguments: [charge.reference, charge.amountCents, charge.method, declined]
            )
            return try SimulatedProcessor.outcome(db, charge.reference) ?? .declined(reason: "processing error")
        }
        if charge.method == "test_card_timeout" {
            // Charged, and the answer is lost: the caller's deadline ends this wait.
            try await Task.sleep(for: .seconds(3600))
        }
        return outcome
    }

    public func void(reference: String) async throws -> ChargeOutcome {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO charge (reference, amount_cents, method, declined_reason) VALUES (?, 0, 'void', ?)
                    ON CONFLICT (reference) DO NOTHING
                    """,
                arguments: [reference, "voided: no answer in time"]
            )
            return try SimulatedProcessor.outcome(db, reference) ?? .declined(reason: "voided: no answer in time")
        }
    }

    public func outcome(of reference: String) async throws -> ChargeOutcome? {
        try await database.read { db in try SimulatedProcessor.outcome(db, reference) }
    }

    static func outcome(_ db: Database, _ reference: String) throws -> ChargeOutcome? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT declined_reason FROM charge WHERE reference = ?",
                arguments: [reference]
            )
        else { return nil }
        let reason: String? = row["declined_reason"]
        return reason.map { .declined(reason: $0) } ?? .succeeded
    }

    public func refund(reference: String, chargeReference: String, amountCents: Int64) async throws {
        try await database.write { db in
            try db.execute(
                sql:
                    "INSERT INTO refund (reference, charge_reference, amount_cents) VALUES (?, ?, ?) ON CONFLICT (reference) DO NOTHING",
                arguments: [reference, chargeReference, amountCents]
            )
        }
    }

    /// What the processor holds for a charge.
    public struct Totals: Hashable, Sendable {
        /// Cents charged (0 if declined or unknown).
        public var charged: Int64
        /// Cents refunded.
        public var refunded: Int64

        public init(charged: Int64, refunded: Int64) {
            self.charged = charged
            self.refunded = refunded
        }
    }

    /// What the processor holds for `reference` (tests compare it with the ledger).
    public func totals(of reference: String) async throws -> Totals {
        try await database.read { db in
            let charged =
                try Int64.fetchOne(
                    db,
                    sql: "SELECT amount_cents FROM charge WHERE reference = ? AND declined_reason IS NULL",
                    arguments: [reference]
                ) ?? 0
            let refunded =
                try Int64.fetchOne(
                    db,
                    sql: "SELECT COALESCE(SUM(amount_cents), 0) FROM refund WHERE charge_reference = ?",
                    arguments: [reference]
                ) ?? 0
            return Totals(charged: charged, refunded: refunded)
        }
    }
}
