import Foundation
import GRDB
import ProtoRuntime
import RPC

/// The double-entry ledger (payments.sqlite): every movement of money is one ledger transaction
/// of entries that sum to zero, in integer cents, append-only (triggers refuse updates and
/// deletes). Balances are sums of entries. Accounts:
///
/// - `customer:<id>`: where a customer's money comes from; negative by what they paid, back up by
///   refunds (never above zero).
/// - `escrow:<order id>`: money held for an order until it completes or is refunded (never negative).
/// - `provider:<id>`: a provider's earnings (never negative).
///
/// A charge moves `customer → escrow`, a release `escrow → provider`, a refund `escrow → customer`
/// while held or `provider → customer` after release.
enum Ledger {
    /// One entry of a posting: `cents` into `account` (negative: out of it).
    struct Entry: Sendable, Hashable {
        var account: String
        var cents: Int64
    }

    /// Why money moved.
    enum Kind: String, Sendable {
        case charge, release, refund
    }

    static func customer(_ id: Int64) -> String { "customer:\(id)" }
    static func escrow(order: Int64) -> String { "escrow:\(order)" }
    static func provider(_ id: Int64) -> String { "provider:\(id)" }

    /// A fault of the service's own arithmetic (never of input): the transaction rolls back.
    struct Imbalance: Error, CustomStringConvertible {
        var description: String
    }

    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("ledger.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE ledger_transaction (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        payment_id INTEGER NOT NULL REFERENCES payment (id),
                        kind TEXT NOT NULL,
                        at INTEGER NOT NULL);
                    CREATE INDEX ledger_transaction_by_payment ON ledger_transaction (payment_id, id);
                    CREATE TABLE ledger_entry (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        transaction_id INTEGER NOT NULL REFERENCES ledger_transaction (id),
                        account TEXT NOT NULL,
                        cents INTEGER NOT NULL CHECK (cents != 0));
                    CREATE INDEX ledger_entry_by_account ON ledger_entry (account, id);
                    CREATE INDEX ledger_entry_by_transaction ON ledger_entry (transaction_id);
                    CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry
                        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
                    CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry
                        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
                    CREATE TRIGGER ledger_transaction_no_update BEFORE UPDATE ON ledger_transaction
                        BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
                    CREATE TRIGGER ledger_transaction_no_delete BEFORE DELETE ON ledger_transaction
                        BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
                    """
            )
        }
    }

    /// Posts `entries` as one ledger transaction of `kind` for `payment`, inside the caller's
    /// database transaction. Refuses (and so rolls back the whole) a posting that does not sum to
    /// zero, has a zero entry, or leaves an escrow or provider account negative or a customer's
    /// positive.
    @discardableResult
    static func post(_ db: Database, _ kind: Kind, payment: Int64, _ entries: [Entry], at now: Date) throws -> Int64 {
        guard entries.count >= 2, entries.allSatisfy({ $0.cents != 0 }) else {
            throw Imbalance(description: "a posting needs two or more non-zero entries: \(entries)")
        }
        var sum: Int64 = 0
        for entry in entries {
            let (total, overflow) = sum.addingReportingOverflow(entry.cents)
            guard !overflow else { throw Imbalance(description: "a posting overflows: \(entries)") }
            sum = total
        }
        guard sum == 0 else { throw Imbalance(description: "a posting does not balance (\(sum) cents): \(entries)") }
        try db.execute(
            sql: "INSERT INTO ledger_transaction (payment_id, kind, at) VALUES (?, ?, ?)",
            arguments: [payment, kind.rawValue, now.micros]
        )
        let transaction = db.lastInsertedRowID
        for entry in entries {
            try db.execute(
                sql: "INSERT INTO ledger_entry (transaction_id, account, cents) VALUES (?, ?, ?)",
                arguments: [transaction, entry.account, entry.cents]
            )
        }
        for account in Set(entries.map(\.account)) {
            let balance = try self.balance(db, account)
            if account.hasPrefix("customer:") ? balance > 0 : balance < 0 {
                throw Imbalance(description: "account \(account) would hold \(balance) cents")
            }
        }
        return transaction
    }

    /// The balance of `account`: the sum of its entries.
    static func balance(_ db: Database, _ account: String) throws -> Int64 {
        try Int64.fetchOne(
            db,
            sql: "SELECT COALESCE(SUM(cents), 0) FROM ledger_entry WHERE account = ?",
            arguments: [account]
        )
            ?? 0
    }

    /// The id of the newest ledger transaction (0 for none): increasing, so readers of the
    /// totals in events keep the newest.
    static func lastTransaction(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM ledger_transaction") ?? 0
    }

    /// The sum over every account (zero unless the ledger is broken).
    static func total(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(cents), 0) FROM ledger_entry") ?? 0
    }

    /// Every account's balance.
    static func balances(_ db: Database) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT account, SUM(cents) AS balance FROM ledger_entry GROUP BY account")
        {
            result[row["account"]] = row["balance"]
        }
        return result
    }

    /// What the entries of `payment` moved, by kind (cents into escrow by charges, out of it by
    /// releases, to the customer by refunds).
    static func movements(_ db: Database, payment: Int64) throws -> [(kind: Kind, entries: [Entry])] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT t.id, t.kind, e.account, e.cents FROM ledger_transaction t
                JOIN ledger_entry e ON e.transaction_id = t.id WHERE t.payment_id = ? ORDER BY t.id, e.id
                """,
            arguments: [payment]
        )
        var result: [(id: Int64, kind: Kind, entries: [Entry])] = []
        for row in rows {
            let id: Int64 = row["id"]
            let entry = Entry(account: row["account"], cents: row["cents"])
            if result.last?.id == id {
                result[result.count - 1].entries.append(entry)
            } else if let kind = Kind(rawValue: row["kind"]) {
                result.append((id, kind, [entry]))
            }
        }
        return result.map { ($0.kind, $0.entries) }
    }
}
