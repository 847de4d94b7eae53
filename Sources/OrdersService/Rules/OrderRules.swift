import Foundation
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// What is left of the orders' field rules once the schema's (`rpc.v1.rules` in orders.proto,
/// checked before a handler runs) have passed: normalization (trimming) and the rules that need
/// another field or the update mask.
enum OrderRules {
    static func invalid(_ message: String) -> RPCError { RPCError(code: .invalidArgument, message: message) }

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

    /// Surrounding white space goes; the schema's `not_blank` makes sure something is left.
    static func trimmed(_ value: String) -> String { value.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// A start before the end (both in range: the schema checked each).
    static func times(_ start: ProtoTimestamp?, _ end: ProtoTimestamp?) throws -> (Int64?, Int64?) {
        if let start, let end, !(start.micros < end.micros) {
            throw invalid("service_end_time must be after service_start_time")
        }
        return (start?.micros, end?.micros)
    }

    /// A published order's fields, from a request that passed its schema rules.
    static func fields(_ request: PublishOrderRequest) throws -> Fields {
        let (start, end) = try times(request.serviceStartTime, request.serviceEndTime)
        return Fields(
            title: trimmed(request.title),
            description: request.description,
            serviceType: request.serviceType,
            priceCents: request.price?.cents ?? 0,
            location: request.location,
            address: request.address,
            start: start,
            end: end
        )
    }

    static let editable: Set<String> = [
        "title", "description", "service_type", "price", "location", "address", "service_start_time",
        "service_end_time", "status",
        "reason",
    ]

    static func selection(_ request: AdminUpdateOrderRequest) throws -> UpdateSelection {
        try UpdateSelection(mask: request.updateMask, known: editable)
    }

    /// A field the mask names but the request leaves out would be set to its default, which the
    /// schema's rules refuse for these (an empty title, no price, an unspecified type or area).
    static func masked(_ field: String) -> RPCError {
        invalid("\(field) is named in update_mask but not set (it cannot be cleared)")
    }

    /// Applies an admin's field edits (not the status) to `order`; returns whether any field changed.
    static func apply(_ request: AdminUpdateOrderRequest, selection: UpdateSelection, to order: inout Order) throws
        -> Bool
    {
        var changed = false
        if selection.wants("title", present: request.title != nil) {
            guard let title = request.title else { throw masked("title") }
            order.title = trimmed(title)
            changed = true
        }
        if selection.wants("description", present: request.description != nil) {
            order.description = request.description ?? ""
            changed = true
        }
        if selection.wants("service_type", present: request.serviceType != nil) {
            guard let serviceType = request.serviceType else { throw masked("service_type") }
            order.serviceType = serviceType
            changed = true
        }
        if selection.wants("price", present: request.price != nil) {
            guard let price = request.price else { throw masked("price") }
            order.price = Money(cents: price.cents)
            changed = true
        }
        if selection.wants("location", present: request.location != nil) {
            guard let location = request.location else { throw masked("location") }
            order.location = location
            changed = true
        }
        if selection.wants("address", present: request.address != nil) {
            order.address = request.address ?? ""
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
