import Foundation
import MarketplaceAPI
import RPC
import ServiceKit

/// Field rules for profiles (INVALID_ARGUMENT naming the field).
enum ProfileRules {
    static func invalid(_ message: String) -> RPCError { RPCError(code: .invalidArgument, message: message) }

    static func location(_ value: Location, field: String = "location") throws -> Location {
        switch value {
        case .north, .south, .east, .west, .mid: return value
        default: throw invalid("\(field) must be one of NORTH, SOUTH, EAST, WEST, MID")
        }
    }

    static func serviceType(_ value: ServiceType, field: String) throws -> ServiceType {
        switch value {
        case .cleaningRepair, .itTechnology, .educationTraining, .lifeHealth, .designConsulting, .other: return value
        default: throw invalid("\(field) must be a known service type")
        }
    }

    static func text(_ value: String, field: String, maximum: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLimit.fits(trimmed, characters: 0...maximum) else {
            throw invalid("\(field) must be at most \(maximum) characters and \(TextLimit.bytes(maximum)) bytes")
        }
        return trimmed
    }

    static func money(_ value: Money?, field: String, maximumCents: Int64 = 100_000_000) throws -> Money {
        let cents = value?.cents ?? 0
        guard cents >= 0, cents <= maximumCents else { throw invalid("\(field) must be between 0 and \(maximumCents / 100)") }
        return Money(cents: cents)
    }

    static func list(_ values: [String], field: String, count: Int, length: Int) throws -> [String] {
        guard values.count <= count else { throw invalid("\(field) may hold at most \(count) entries") }
        return try values.map { value in
            let trimmed = try text(value, field: field, maximum: length)
            guard !trimmed.isEmpty else { throw invalid("\(field) may not hold empty entries") }
            return trimmed
        }
    }

    static func experience(_ value: Int32) throws -> Int32 {
        guard (0...80).contains(value) else { throw invalid("experience_years must be between 0 and 80") }
        return value
    }

    static func certifications(_ values: [Certification]) throws -> [Certification] {
        guard values.count <= 20 else { throw invalid("certifications may hold at most 20 entries") }
        return try values.map { value in
            let name = try text(value.name, field: "certifications.name", maximum: 200)
            guard !name.isEmpty else { throw invalid("certifications.name is required") }
            return Certification(name: name, fileUrl: try text(value.fileUrl, field: "certifications.file_url", maximum: 500))
        }
    }

    static func address(_ value: Address?) throws -> Address? {
        guard let value else { return nil }
        return Address(
            street: try text(value.street, field: "structured_address.street", maximum: 255),
            city: try text(value.city, field: "structured_address.city", maximum: 100),
            postalCode: try text(value.postalCode, field: "structured_address.postal_code", maximum: 20),
            district: try text(value.district, field: "structured_address.district", maximum: 100))
    }
}
