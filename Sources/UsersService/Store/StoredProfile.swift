import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime

/// What the customer and the provider profile have in common for the handlers: one row per user
/// in its own table, its kind, its update time. Creating, reading and updating either is written
/// once (``UsersService``'s generic helpers) over this.
protocol StoredProfile: Sendable {
    /// The role the profile belongs to (`profileType` of its events).
    static var kind: Role { get }
    /// How a missing profile is named ("customer profile").
    static var noun: String { get }
    var updatedAt: ProtoTimestamp? { get set }
    static func fetch(_ db: Database, _ userID: Int64) throws -> Self?
    func save(_ db: Database) throws
}

extension CustomerProfile: StoredProfile {
    static var kind: Role { .customer }
    static var noun: String { "customer profile" }
    static func fetch(_ db: Database, _ userID: Int64) throws -> CustomerProfile? {
        try UsersSchema.customer(db, userID)
    }
    func save(_ db: Database) throws { try UsersSchema.save(db, self) }
}

extension ProviderProfile: StoredProfile {
    static var kind: Role { .provider }
    static var noun: String { "provider profile" }
    static func fetch(_ db: Database, _ userID: Int64) throws -> ProviderProfile? {
        try UsersSchema.provider(db, userID)
    }
    func save(_ db: Database) throws { try UsersSchema.save(db, self) }
}
