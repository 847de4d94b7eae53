import Foundation
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// The field rules of orders (INVALID_ARGUMENT naming the field and the rule).
enum OrderRules {
    static func invalid(_ message: String) -> RPCError { RPCError(code: .invalidArgument, message: message) }

    /// 1,000,000.00 in cents.
    static let maximumPriceCents: Int64 = 100_000_000

    struct Fields {
        var title: String
        var description: String
        var serviceType: ServiceType
        var priceCents: Int64
        var location: Location
        var address: String
        var start: Int64?
        var end: Int64?
    }

    static func title(_ value: String) throws -> String {
        let title = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLimit.fits(title, characters: 1...200) else {
            throw invalid("title must be 1-200 characters (not counting surrounding spaces) and at most \(TextLimit.bytes(200)) bytes")
        }
        return title
    }

    static func description(_ value: String) throws -> String {
        guard TextLimit.fits(value, characters: 0...5000) else {
            throw invalid("description must be at most 5,000 characters and \(TextLimit.bytes(5000)) bytes")
        }
        return value
    }

    static func price(_ value: Money?) throws -> Int64 {
        guard let cents = value?.cents, cents > 0, cents <= maximumPriceCents else {
            throw invalid("price must be more than 0 and at most 1,000,000.00")
        }
        return cents
    }

    static func serviceType(_ value: ServiceType) throws -> ServiceType {
        switch value {
        case .cleaningRepair, .itTechnology, .educationTraining, .lifeHealth, .designConsulting, .other: return value
        default:
            throw invalid("service_type must be one of cleaning_repair, it_technology, education_training, life_health, design_consulting, other")
        }
    }

    static func location(_ value: Location) throws -> Location {
        switch value {
        case .north, .south, .east, .west, .mid: return value
        default: throw invalid("location must be one of NORTH, SOUTH, EAST, WEST, MID")
        }
    }

    static func address(_ value: String) throws -> String {
        guard TextLimit.fits(value, characters: 0...255) else { throw invalid("address must be at most 255 characters and \(TextLimit.bytes(255)) bytes") }
        return value
    }

    static func times(_ start: ProtoTimestamp?, _ end: ProtoTimestamp?) throws -> (Int64?, Int64?) {
        for time in [start, end].compactMap({ $0 }) {
            guard time.seconds >= 0, time.seconds < 253_402_300_800, (0..<1_000_000_000).contains(time.nanos) else {
                throw invalid("service times must be between 1970 and 9999")
            }
        }
        if let start, let end, !(start.micros < end.micros) {
            throw invalid("service_end_time must be after service_start_time")
        }
        return (start?.micros, end?.micros)
    }

    static func reason(_ value: String) throws -> String {
        let reason = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLimit.fits(reason, characters: 0...500) else { throw invalid("reason must be at most 500 characters and \(TextLimit.bytes(500)) bytes") }
        return reason
    }

    static func validate(
        title: String, description: String, serviceType: ServiceType, price: Money?, location: Location, address: String,
        start: ProtoTimestamp?, end: ProtoTimestamp?
    ) throws -> Fields {
        let (startMicros, endMicros) = try times(start, end)
        return Fields(
            title: try self.title(title), description: try self.description(description), serviceType: try self.serviceType(serviceType),
            priceCents: try self.price(price), location: try self.location(location), address: try self.address(address),
            start: startMicros, end: endMicros)
    }

    static let editable: Set<String> = [
        "title", "description", "service_type", "price", "location", "address", "service_start_time", "service_end_time", "status",
        "reason",
    ]

    static func selection(_ request: AdminUpdateOrderRequest) throws -> UpdateSelection {
        try UpdateSelection(mask: request.updateMask, known: editable)
    }

    /// Applies an admin's field edits (not the status) to `order`; returns whether any field changed.
    static func apply(_ request: AdminUpdateOrderRequest, selection: UpdateSelection, to order: inout Order) throws -> Bool {
        var changed = false
        if selection.wants("title", present: request.title != nil) {
            order.title = try title(request.title ?? "")
            changed = true
        }
        if selection.wants("description", present: request.description != nil) {
            order.description = try description(request.description ?? "")
            changed = true
        }
        if selection.wants("service_type", present: request.serviceType != nil) {
            order.serviceType = try serviceType(request.serviceType ?? .unspecified)
            changed = true
        }
        if selection.wants("price", present: request.price != nil) {
            order.price = Money(cents: try price(request.price))
            changed = true
        }
        if selection.wants("location", present: request.location != nil) {
            order.location = try location(request.location ?? .unspecified)
            changed = true
        }
        if selection.wants("address", present: request.address != nil) {
            order.address = try address(request.address ?? "")
            changed = true
        }
        if selection.wants("service_start_time", present: request.serviceStartTime != nil) {
            order.serviceStartTime = request.serviceStartTime
            changed = true
        }
        if selection.wants("service_end_time", present: request.serviceEndTime != nil) {
            order.serviceEndTime = request.serviceEndTime
            changed = true
        }
        if changed { _ = try times(order.serviceStartTime, order.serviceEndTime) }
        return changed
    }
}
