import Foundation
import MarketplaceAPI
import RPC
import ServiceKit

/// What is left of the profiles' field rules once the schema's (`rpc.v1.rules` in users.proto
/// and common.proto, checked before a handler runs) have passed: normalization (trimming) and
/// the one rule that needs the update mask.
enum ProfileRules {
    static func invalid(_ message: String) -> RPCError { RPCError(code: .invalidArgument, message: message) }

    /// Surrounding white space goes (the schema's `not_blank` keeps list entries from ending empty).
    static func trimmed(_ value: String) -> String { value.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// A location the mask names but the request leaves out would be LOCATION_UNSPECIFIED.
    static func location(_ value: Location?) throws -> Location {
        guard let value else { throw invalid("location is named in update_mask but not set (it cannot be cleared)") }
        return value
    }

    static func money(_ value: Money?) -> Money { Money(cents: value?.cents ?? 0) }

    static func certifications(_ values: [Certification]) -> [Certification] {
        values.map { Certification(name: trimmed($0.name), fileUrl: trimmed($0.fileUrl)) }
    }

    static func address(_ value: Address?) -> Address? {
        value.map {
            Address(
                street: trimmed($0.street),
                city: trimmed($0.city),
                postalCode: trimmed($0.postalCode),
                district: trimmed($0.district)
            )
        }
    }
}
