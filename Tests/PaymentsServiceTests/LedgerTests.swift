import Foundation
import GRDB
import MarketplaceAPI
@testable import PaymentsService
import Testing

@Suite("The ledger and the payment state machine, alone")
struct LedgerTests {
    func database() throws -> DatabaseQueue {
        let db = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        PaymentsStore.migrate(&migrator)
        try migrator.migrate(db)
        try db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO payment (id, order_id, customer_id, provider_id, amount_cents, state, method, idempotency_key,
                        created_at, updated_at) VALUES (1, 7, 2, 3, 1000, 1, 'test_card_ok', '', 0, 0)
                    """
            )
        }
        return db
    }

    @Test("a posting must balance, have no zero entry and leave no escrow or provider negative, no customer positive")
    func postingRules() throws {
        let db = try database()
        let now = Date()
        try db.write { db in
            _ = try Ledger.post(
                db,
                .charge,
                payment: 1,
                [.init(account: "customer:2", cents: -1000), .init(account: "escrow:7", cents: 1000)],
                at: now
            )
        }
        let refused: [[Ledger.Entry]] = [
            [.init(account: "customer:2", cents: -1000), .init(account: "escrow:7", cents: 999)],
            [.init(account: "customer:2", cents: 0), .init(account: "escrow:7", cents: 0)],
            [.init(account: "escrow:7", cents: -1001), .init(account: "provider:3", cents: 1001)],
            [.init(account: "customer:2", cents: 1001), .init(account: "escrow:7", cents: -1001)],
            [.init(account: "provider:3", cents: -1), .init(account: "customer:2", cents: 1)],
            [.init(account: "escrow:7", cents: Int64.max), .init(account: "customer:2", cents: Int64.max)],
            [.init(account: "escrow:7", cents: 5)],
        ]
        for entries in refused {
            #expect(throws: Ledger.Imbalance.self, "\(entries)") {
                try db.write { db in try Ledger.post(db, .release, payment: 1, entries, at: now) }
            }
        }
        let (balances, total) = try db.read { db in (try Ledger.balances(db), try Ledger.total(db)) }
        #expect(balances == ["customer:2": -1000, "escrow:7": 1000], "the refused left nothing")
        #expect(total == 0)
    }

    @Test("entries and transactions are append-only: the database refuses updates and deletes")
    func appendOnly() throws {
        let db = try database()
        try db.write { db in
            _ = try Ledger.post(
                db,
                .charge,
                payment: 1,
                [.init(account: "customer:2", cents: -1000), .init(account: "escrow:7", cents: 1000)],
                at: Date()
            )
        }
        for sql in [
            "UPDATE ledger_entry SET cents = 1", "DELETE FROM ledger_entry", "UPDATE ledger_transaction SET kind = 'x'",
            "DELETE FROM ledger_transaction",
        ] {
            #expect(throws: DatabaseError.self, "\(sql)") { try db.write { db in try db.execute(sql: sql) } }
        }
    }

    @Test("the state machine: every step from every state")
    func stateMachine() {
        let states: [PaymentState] = [.pending, .held, .completed, .partiallyRefunded, .refunded, .failed]
        let steps: [PaymentStateMachine.Step] = [
            .charged(held: true), .charged(held: false), .declined, .released, .refunded(remaining: 0),
            .refunded(remaining: 5),
        ]
        var table: [String] = []
        for state in states {
            for step in steps {
                if let next = PaymentStateMachine.apply(step, to: state) {
                    table.append("\(PaymentStateMachine.label(state)) \(step) -> \(PaymentStateMachine.label(next))")
                }
            }
        }
        #expect(
            table == [
                "pending charged(held: true) -> held", "pending charged(held: false) -> completed",
                "pending declined -> failed",
                "held released -> completed", "held refunded(remaining: 0) -> refunded",
                "completed refunded(remaining: 0) -> refunded",
                "completed refunded(remaining: 5) -> partially_refunded",
                "partially_refunded refunded(remaining: 0) -> refunded",
                "partially_refunded refunded(remaining: 5) -> partially_refunded",
            ]
        )
    }
}
