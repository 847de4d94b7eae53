import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// The users service's tables (users.sqlite). Each profile is stored whole as its protobuf
/// encoding, beside the columns and child tables provider search filters and sorts on.
enum UsersSchema {
    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("users.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE customer_profile (
                        user_id INTEGER PRIMARY KEY NOT NULL,
                        profile BLOB NOT NULL);
                    CREATE TABLE provider_profile (
                        user_id INTEGER PRIMARY KEY NOT NULL,
                        profile BLOB NOT NULL,
                        rating REAL NOT NULL,
                        total_reviews INTEGER NOT NULL,
                        verified INTEGER NOT NULL);
                    CREATE INDEX provider_by_rating ON provider_profile (rating DESC, total_reviews DESC, user_id);
                    CREATE TABLE provider_area (
                        location INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (location, user_id)) WITHOUT ROWID;
                    CREATE TABLE provider_service_type (
                        service_type INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (service_type, user_id)) WITHOUT ROWID;
                    CREATE TABLE provider_skill (
                        skill TEXT NOT NULL COLLATE NOCASE, user_id INTEGER NOT NULL, PRIMARY KEY (skill, user_id)) WITHOUT ROWID;
                    CREATE TABLE deleted_user (user_id INTEGER PRIMARY KEY NOT NULL, deleted_at INTEGER NOT NULL);
                    """
            )
        }
        migrator.registerMigration("users.v2") { db in
            // The payments ledger's totals per user, from its events: the newest (by ledger
            // sequence) wins, whatever order the events come in.
            try db.execute(
                sql: """
                    CREATE TABLE payment_totals (
                        user_id INTEGER PRIMARY KEY NOT NULL,
                        paid_cents INTEGER NOT NULL DEFAULT 0,
                        paid_sequence INTEGER NOT NULL DEFAULT 0,
                        earnings_cents INTEGER NOT NULL DEFAULT 0,
                        earnings_sequence INTEGER NOT NULL DEFAULT 0);
                    """
            )
        }
    }

    /// Records a customer's paid total as of ledger transaction `sequence` (an older one changes nothing).
    static func setPaid(_ db: Database, customer: Int64, cents: Int64, sequence: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO payment_totals (user_id, paid_cents, paid_sequence) VALUES (?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET paid_cents = excluded.paid_cents, paid_sequence = excluded.paid_sequence
                WHERE excluded.paid_sequence > payment_totals.paid_sequence
                """,
            arguments: [customer, cents, sequence]
        )
    }

    /// Records a provider's earnings as of ledger transaction `sequence` (an older one changes nothing).
    static func setEarnings(_ db: Database, provider: Int64, cents: Int64, sequence: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO payment_totals (user_id, earnings_cents, earnings_sequence) VALUES (?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET earnings_cents = excluded.earnings_cents,
                    earnings_sequence = excluded.earnings_sequence
                WHERE excluded.earnings_sequence > payment_totals.earnings_sequence
                """,
            arguments: [provider, cents, sequence]
        )
    }

    /// A user's totals: (paid, earnings) in cents.
    static func totals(_ db: Database, _ userID: Int64) throws -> (paid: Int64, earnings: Int64) {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT paid_cents, earnings_cents FROM payment_totals WHERE user_id = ?",
                arguments: [userID]
            )
        else { return (0, 0) }
        return (row["paid_cents"], row["earnings_cents"])
    }

    static func customer(_ db: Database, _ userID: Int64) throws -> CustomerProfile? {
        guard
            let data = try Data.fetchOne(
                db,
                sql: "SELECT profile FROM customer_profile WHERE user_id = ?",
                arguments: [userID]
            )
        else {
            return nil
        }
        var profile = try CustomerProfile(serializedBytes: [UInt8](data))
        profile.balance = Money(cents: try totals(db, userID).paid)
        return profile
    }

    static func provider(_ db: Database, _ userID: Int64) throws -> ProviderProfile? {
        guard
            let data = try Data.fetchOne(
                db,
                sql: "SELECT profile FROM provider_profile WHERE user_id = ?",
                arguments: [userID]
            )
        else {
            return nil
        }
        var profile = try ProviderProfile(serializedBytes: [UInt8](data))
        profile.totalEarnings = Money(cents: try totals(db, userID).earnings)
        return profile
    }

    static func save(_ db: Database, _ profile: CustomerProfile) throws {
        try db.execute(
            sql:
                "INSERT INTO customer_profile (user_id, profile) VALUES (?, ?) ON CONFLICT(user_id) DO UPDATE SET profile = excluded.profile",
            arguments: [profile.userId, Data(profile.serializedBytes())]
        )
    }

    static func save(_ db: Database, _ profile: ProviderProfile) throws {
        try db.execute(
            sql: """
                INSERT INTO provider_profile (user_id, profile, rating, total_reviews, verified) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(user_id) DO UPDATE SET profile = excluded.profile, rating = excluded.rating,
                    total_reviews = excluded.total_reviews, verified = excluded.verified
                """,
            arguments: [
                profile.userId, Data(profile.serializedBytes()), profile.rating, profile.totalReviews, profile.verified,
            ]
        )
        let id = profile.userId
        try db.execute(sql: "DELETE FROM provider_area WHERE user_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM provider_service_type WHERE user_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM provider_skill WHERE user_id = ?", arguments: [id])
        for area in Set(profile.serviceAreas.map(\.protoValue)) {
            try db.execute(sql: "INSERT INTO provider_area (location, user_id) VALUES (?, ?)", arguments: [area, id])
        }
        for type in Set(profile.serviceTypes.map(\.protoValue)) {
            try db.execute(
                sql: "INSERT INTO provider_service_type (service_type, user_id) VALUES (?, ?)",
                arguments: [type, id]
            )
        }
        for skill in Set(profile.skills.map { $0.lowercased() }) {
            try db.execute(
                sql: "INSERT OR IGNORE INTO provider_skill (skill, user_id) VALUES (?, ?)",
                arguments: [skill, id]
            )
        }
    }

    /// Removes both profiles of a user (and the search rows).
    static func deleteProfiles(_ db: Database, _ userID: Int64) throws {
        try db.execute(sql: "DELETE FROM customer_profile WHERE user_id = ?", arguments: [userID])
        try db.execute(sql: "DELETE FROM provider_profile WHERE user_id = ?", arguments: [userID])
        try db.execute(sql: "DELETE FROM provider_area WHERE user_id = ?", arguments: [userID])
        try db.execute(sql: "DELETE FROM provider_service_type WHERE user_id = ?", arguments: [userID])
        try db.execute(sql: "DELETE FROM provider_skill WHERE user_id = ?", arguments: [userID])
    }

    /// Which of `userIDs` have a profile (of either kind); ids are bound, never interpolated.
    static func withProfiles(_ db: Database, _ userIDs: [Int64]) throws -> Set<Int64> {
        guard !userIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: userIDs.count).joined(separator: ",")
        let arguments = StatementArguments(userIDs + userIDs)
        return Set(
            try Int64.fetchAll(
                db,
                sql:
                    "SELECT user_id FROM customer_profile WHERE user_id IN (\(marks)) UNION SELECT user_id FROM provider_profile WHERE user_id IN (\(marks))",
                arguments: arguments
            )
        )
    }

    /// Remembers that the user was deleted (their profiles are not recreated by a late event).
    static func markDeleted(_ db: Database, _ userID: Int64, at now: Date) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO deleted_user (user_id, deleted_at) VALUES (?, ?)",
            arguments: [userID, now.micros]
        )
    }

    static func isDeleted(_ db: Database, _ userID: Int64) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM deleted_user WHERE user_id = ?)", arguments: [userID])
            ?? false
    }

    static func emptyCustomer(_ userID: Int64, now: Date) -> CustomerProfile {
        CustomerProfile(
            userId: userID,
            location: .north,
            budgetPreference: Money(cents: 0),
            createdAt: ProtoTimestamp(date: now),
            updatedAt: ProtoTimestamp(date: now)
        )
    }

    static func emptyProvider(_ userID: Int64, now: Date) -> ProviderProfile {
        ProviderProfile(
            userId: userID,
            hourlyRate: Money(cents: 0),
            rating: 5.0,
            active: true,
            createdAt: ProtoTimestamp(date: now),
            updatedAt: ProtoTimestamp(date: now)
        )
    }

    /// Gives a user the profile their role calls for (an empty one), removing the other kind:
    /// a customer never holds a provider profile, nor the reverse. Admins hold none.
    /// Returns the kind created, if any.
    @discardableResult
    static func conform(_ db: Database, userID: Int64, role: Role, now: Date) throws -> Role? {
        if try isDeleted(db, userID) { return nil }
        switch role {
        case .customer:
            try db.execute(sql: "DELETE FROM provider_profile WHERE user_id = ?", arguments: [userID])
            for table in ["provider_area", "provider_service_type", "provider_skill"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE user_id = ?", arguments: [userID])
            }
            guard try customer(db, userID) == nil else { return nil }
            try save(db, emptyCustomer(userID, now: now))
            return .customer
        case .provider:
            try db.execute(sql: "DELETE FROM customer_profile WHERE user_id = ?", arguments: [userID])
            guard try provider(db, userID) == nil else { return nil }
            try save(db, emptyProvider(userID, now: now))
            return .provider
        default:
            try deleteProfiles(db, userID)
            return nil
        }
    }
}

/// A provider search: the filters of `SearchProviders`, as a keyset page over provider
/// profiles, best rated first.
struct ProviderSearch: Sendable {
    var area: Location?
    var serviceType: ServiceType?
    /// Lowercased; empty: any.
    var skill = ""
    var verifiedOnly = false
    var minRating = 0.0

    var page: KeysetPage {
        var page = KeysetPage(
            select: "SELECT profile, rating, total_reviews, user_id FROM provider_profile",
            keys: [.descending("rating", .real), .descending("total_reviews"), .ascending("user_id")]
        )
        if let area {
            page.filter("user_id IN (SELECT user_id FROM provider_area WHERE location = ?)", area.protoValue)
        }
        if let serviceType {
            page.filter(
                "user_id IN (SELECT user_id FROM provider_service_type WHERE service_type = ?)",
                serviceType.protoValue
            )
        }
        if !skill.isEmpty { page.filter("user_id IN (SELECT user_id FROM provider_skill WHERE skill = ?)", skill) }
        if verifiedOnly { page.filter("verified = 1") }
        if minRating > 0 { page.filter("rating >= ?", minRating) }
        return page
    }
}

extension UsersSchema {
    /// One page of a provider search and the next page's token.
    static func providers(_ db: Database, _ page: KeysetPage, size: Int, token: String) throws -> (
        [ProviderProfile], String
    ) {
        let (rows, next) = try page.fetch(db, size: size, token: token)
        return (try rows.map { try ProviderProfile(serializedBytes: [UInt8]($0["profile"] as Data)) }, next)
    }
}
