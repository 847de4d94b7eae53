import Foundation
import ProtoRuntime

/// How the legacy contract shapes a response's `data`: one table, keyed by the presentation
/// names the schema's `(gateway.v1.http)` options give, read by generic code (the routes themselves
/// are never written by hand). Input is the response's canonical JSON (proto field names,
/// defaults written).
enum Presentations {
    typealias Shape = @Sendable (JSONValue) -> JSONValue

    static let table: [String: Shape] = [
        "user_created": { response in
            let user = response["user"] ?? .null
            return object([
                "id": int(user["id"]), "username": user["username"] ?? .null, "email": user["email"] ?? .null,
            ])
        },
        "token": { response in
            object([
                "access_token": response["access_token"] ?? .null,
                "token_type": response["token_type"] ?? .string("bearer"),
                "expires_in": int(response["expires_in"]), "refresh_token": response["refresh_token"] ?? .null,
            ])
        },
        "me": { user in
            object([
                "id": int(user["id"]), "username": user["username"] ?? .null, "email": user["email"] ?? .null,
                "role_id": roleID(user["role"]), "created_at": time(user["created_at"], .t),
            ])
        },
        "customer_profile": { customerProfile($0) },
        "provider_profile": { providerProfile($0) },
        "user_summaries": { response in
            .array(
                array(response["users"]).map { summary in
                    let user = summary["user"] ?? .null
                    return object([
                        "user_id": int(user["id"]), "id": int(user["id"]), "username": user["username"] ?? .null,
                        "email": user["email"] ?? .null,
                        "role_id": roleID(user["role"]), "role_name": roleName(user["role"]),
                        "has_profile": summary["has_profile"] ?? .bool(false),
                        "created_at": time(user["created_at"], .t),
                    ])
                }
            )
        },
        "user_detail": { detail in
            let user = detail["user"] ?? .null
            // The contract: the stored profile, else a default one with null times (null for admins).
            var profile: JSONValue = .null
            switch text(user["role"]) {
            case "ROLE_CUSTOMER": profile = customerProfile(detail["customer"] ?? defaultCustomer(user["id"]))
            case "ROLE_PROVIDER": profile = providerProfile(detail["provider"] ?? defaultProvider(user["id"]))
            default: break
            }
            return object([
                "user_id": int(user["id"]), "username": user["username"] ?? .null, "email": user["email"] ?? .null,
                "role_id": roleID(user["role"]), "role_name": roleName(user["role"]), "profile": profile,
                "created_at": time(user["created_at"], .t), "last_login_at": time(user["last_login_at"], .t),
            ])
        },
        "user_deleted": { response in
            object([
                "user_id": int(response["user_id"]), "message": .string("User \(text(response["user_id"])) deleted"),
            ])
        },
        "order_published": { orderAction($0) },
        "order_action": { orderAction($0) },
        "order_deleted": { response in
            let order = response["order"] ?? .null
            return object(["order_id": int(order["id"]), "message": response["message"] ?? .null])
        },
        "order_customer": { order($0, created: .space, service: .t) },
        "order_provider": { order($0, created: .space, service: .space) },
        "order_admin": { order($0, created: .t, service: .t) },
        "orders_customer": { .array(array($0["orders"]).map { order($0, created: .space, service: .t) }) },
        "orders_provider": { .array(array($0["orders"]).map { order($0, created: .space, service: .space) }) },
        "orders_admin": { .array(array($0["orders"]).map { order($0, created: .t, service: .t) }) },
        "payment": { response in
            let payment = response["payment"] ?? .null
            return object([
                "payment_id": int(payment["id"]), "order_id": int(payment["order_id"]),
                "amount": money(payment["amount"]), "message": response["message"] ?? .null,
            ])
        },
    ]

    // MARK: Shapes shared by several entries

    static func order(_ order: JSONValue, created: LegacyCodec.TimeStyle, service: LegacyCodec.TimeStyle) -> JSONValue {
        // The contract has no `reviewed` status (the client buckets by status): a reviewed order
        // is `completed` with `has_review: true`.
        let reviewed = lower(order["status"], prefix: "ORDER_STATUS_") == .string("reviewed")
        let status = reviewed ? JSONValue.string("completed") : lower(order["status"], prefix: "ORDER_STATUS_")
        return object([
            "id": int(order["id"]), "customer_id": int(order["customer_id"]), "title": order["title"] ?? .null,
            "description": nullIfEmpty(order["description"]),
            "service_type": lower(order["service_type"], prefix: "SERVICE_TYPE_"),
            "status": status, "price": money(order["price"]), "location": upper(order["location"], prefix: "LOCATION_"),
            "address": nullIfEmpty(order["address"]), "service_start_time": time(order["service_start_time"], service),
            "service_end_time": time(order["service_end_time"], service),
            "created_at": time(order["created_at"], created),
            "updated_at": time(order["updated_at"], created), "provider_id": int(order["provider_id"]),
            "payment_status": lower(order["payment_status"], prefix: "PAYMENT_STATUS_"),
            "has_review": .bool(reviewed), "status_reason": nullIfEmpty(order["status_reason"]),
        ])
    }

    static func orderAction(_ response: JSONValue) -> JSONValue {
        let order = response["order"] ?? .null
        return object([
            "order_id": int(order["id"]), "status": lower(order["status"], prefix: "ORDER_STATUS_"),
            "message": response["message"] ?? .null,
            "provider_id": int(order["provider_id"]),
        ])
    }

    static func customerProfile(_ profile: JSONValue) -> JSONValue {
        object([
            "user_id": int(profile["user_id"]), "location": upper(profile["location"], prefix: "LOCATION_"),
            "address": nullIfEmpty(profile["address"]),
            "budget_preference": money(profile["budget_preference"], zero: true),
            "balance": money(profile["balance"], zero: true),
            "full_name": nullIfEmpty(profile["full_name"]), "phone": nullIfEmpty(profile["phone"]),
            "preferred_service_types": .array(
                array(profile["preferred_service_types"]).map { lower($0, prefix: "SERVICE_TYPE_") }
            ),
            "created_at": time(profile["created_at"], .fraction), "updated_at": time(profile["updated_at"], .fraction),
        ])
    }

    static func providerProfile(_ profile: JSONValue) -> JSONValue {
        object([
            "user_id": int(profile["user_id"]), "skills": profile["skills"] ?? .array([]),
            "experience_years": int(profile["experience_years"]),
            "hourly_rate": money(profile["hourly_rate"], zero: true),
            "availability": nullIfEmpty(profile["availability"]), "portfolio": profile["portfolio"] ?? .array([]),
            "rating": profile["rating"] ?? .number("5.0"), "total_reviews": int(profile["total_reviews"]),
            "full_name": nullIfEmpty(profile["full_name"]), "phone": nullIfEmpty(profile["phone"]),
            "certifications": profile["certifications"] ?? .array([]),
            "service_areas": .array(array(profile["service_areas"]).map { upper($0, prefix: "LOCATION_") }),
            "service_types": .array(array(profile["service_types"]).map { lower($0, prefix: "SERVICE_TYPE_") }),
            "completed_orders": int(profile["completed_orders"]), "verified": profile["verified"] ?? .bool(false),
            "total_earnings": money(profile["total_earnings"], zero: true),
            "created_at": time(profile["created_at"], .fraction), "updated_at": time(profile["updated_at"], .fraction),
        ])
    }

    static func defaultCustomer(_ id: JSONValue?) -> JSONValue {
        .object([
            ("user_id", id ?? .null), ("location", .string("LOCATION_NORTH")),
            ("budget_preference", .object([("cents", .string("0"))])),
        ])
    }

    static func defaultProvider(_ id: JSONValue?) -> JSONValue {
        .object([
            ("user_id", id ?? .null), ("rating", .number("5.0")), ("hourly_rate", .object([("cents", .string("0"))])),
        ])
    }

    // MARK: Values

    static func object(_ members: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(members.map { ($0.key, $0.value) })
    }

    static func array(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let elements)? = value { return elements }
        return []
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?, .number(let s)?: return s
        default: return ""
        }
    }

    /// int64s arrive as strings in proto3 JSON; the contract has numbers. Absent → null.
    static func int(_ value: JSONValue?) -> JSONValue {
        switch value {
        case .string(let s)? where Int64(s) != nil: return .number(s)
        case .number(let s)?: return .number(s)
        default: return .null
        }
    }

    /// `Money {cents}` as the contract's float (12.5); absent → null (or 0.0 with `zero`).
    static func money(_ value: JSONValue?, zero: Bool = false) -> JSONValue {
        guard let value, case .object = value else { return zero ? .number("0.0") : .null }
        let cents = Int64(text(value["cents"])) ?? 0
        let magnitude = cents.magnitude
        let units = magnitude / 100
        let rest = magnitude % 100
        var digits = "\(units)."
        if rest == 0 {
            digits += "0"
        } else if rest % 10 == 0 {
            digits += "\(rest / 10)"
        } else {
            digits += rest < 10 ? "0\(rest)" : "\(rest)"
        }
        return .number((cents < 0 ? "-" : "") + digits)
    }

    static func lower(_ value: JSONValue?, prefix: String) -> JSONValue {
        let name = text(value)
        guard !name.isEmpty else { return .null }
        return .string((name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name).lowercased())
    }

    static func upper(_ value: JSONValue?, prefix: String) -> JSONValue {
        let name = text(value)
        guard !name.isEmpty else { return .null }
        return .string(name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name)
    }

    static func roleID(_ value: JSONValue?) -> JSONValue {
        switch text(value) {
        case "ROLE_CUSTOMER": return .number("1")
        case "ROLE_PROVIDER": return .number("2")
        case "ROLE_ADMIN": return .number("3")
        default: return .null
        }
    }

    static func roleName(_ value: JSONValue?) -> JSONValue {
        switch text(value) {
        case "ROLE_CUSTOMER": return .string("customer")
        case "ROLE_PROVIDER": return .string("provider")
        case "ROLE_ADMIN": return .string("admin")
        default: return .string("unknown")
        }
    }

    static func nullIfEmpty(_ value: JSONValue?) -> JSONValue {
        if case .string(let s)? = value, !s.isEmpty { return .string(s) }
        return .null
    }

    static func time(_ value: JSONValue?, _ style: LegacyCodec.TimeStyle) -> JSONValue {
        guard case .string(let text)? = value else { return .null }
        return LegacyCodec.format(text, style: style)
    }
}
