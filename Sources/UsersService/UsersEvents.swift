import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPCSchema
import ServiceKit

/// What the users service does with the events of its queue (`users.events`); each runs in the
/// transaction that records the event as handled (``IdempotentConsumer``), so a redelivery
/// changes nothing.
enum UsersEvents {
    static let queue = "users.events"

    static func handle(_ event: Event, _ db: Database, now: Date) throws {
        switch event.type {
        case UserRegistered.protoMessageName:
            let registered = try UserRegistered(serializedBytes: event.payload)
            if let kind = try UsersSchema.conform(db, userID: registered.userId, role: registered.role, now: now) {
                try Outbox.enqueue(db, ProfileCreated(userId: registered.userId, profileType: kind, occurredAt: ProtoTimestamp(date: now)))
            }
        case UserUpdated.protoMessageName:
            let updated = try UserUpdated(serializedBytes: event.payload)
            if updated.role != updated.previousRole {
                if let kind = try UsersSchema.conform(db, userID: updated.userId, role: updated.role, now: now) {
                    try Outbox.enqueue(db, ProfileCreated(userId: updated.userId, profileType: kind, occurredAt: ProtoTimestamp(date: now)))
                }
            }
        case UserDeactivated.protoMessageName:
            let deactivated = try UserDeactivated(serializedBytes: event.payload)
            try db.execute(
                sql: "INSERT OR IGNORE INTO deleted_user (user_id, deleted_at) VALUES (?, ?)", arguments: [deactivated.userId, now.micros])
            try UsersSchema.deleteProfiles(db, deactivated.userId)
        case RatingUpdated.protoMessageName:
            let rating = try RatingUpdated(serializedBytes: event.payload)
            if var profile = try UsersSchema.provider(db, rating.providerId) {
                profile.rating = rating.averageRating
                profile.totalReviews = rating.totalReviews
                profile.updatedAt = ProtoTimestamp(date: now)
                try UsersSchema.save(db, profile)
            }
        case OrderCompleted.protoMessageName:
            let completed = try OrderCompleted(serializedBytes: event.payload)
            if var profile = try UsersSchema.provider(db, completed.providerId) {
                profile.completedOrders += 1
                profile.updatedAt = ProtoTimestamp(date: now)
                try UsersSchema.save(db, profile)
            }
        default:
            // Not ours (a binding added later, say): recorded as handled, nothing to do.
            break
        }
    }
}
