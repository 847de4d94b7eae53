public import RPC
import RPCSchema

/// What one identity may do on the bus, in the spirit of RabbitMQ's permissions:
///
/// - `configure`: queues and exchanges it may declare;
/// - `write`: exchanges it may publish to, and queues it may bind to an exchange;
/// - `read`: queues it may consume, and exchanges whose events it may bind a queue to.
///
/// Each entry is a name, a prefix ending in `*` (`revocations.orders.*`), or `*` (everything).
/// `identity` is `service:<name>` for a service token, `admin` for any admin's access token.
public struct BusPermission: Codable, Sendable, Hashable {
    public var identity: String
    public var configure: [String]
    public var write: [String]
    public var read: [String]

    public init(identity: String, configure: [String] = [], write: [String] = [], read: [String] = []) {
        self.identity = identity
        self.configure = configure
        self.write = write
        self.read = read
    }

    /// Whether `name` is among `patterns` (exact, a `prefix*`, or `*`).
    static func allows(_ patterns: [String], _ name: String) -> Bool {
        patterns.contains { pattern in
            if pattern.hasSuffix("*") { return name.hasPrefix(pattern.dropLast()) }
            return pattern == name
        }
    }

    /// The grants a service of the marketplace needs: it publishes to its own exchange, consumes
    /// its own queue (`<name>.events`), and declares, binds and consumes its temporary
    /// revocation-feed queues (`revocations.<name>.*`, bound to `auth_events`).
    public static func service(_ name: String, exchange: String?, consumes: [String] = []) -> BusPermission {
        let feed = "revocations.\(name).*"
        return BusPermission(
            identity: "service:\(name)",
            configure: [feed],
            write: (exchange.map { [$0] } ?? []) + [feed],
            read: consumes + [feed, "auth_events"]
        )
    }

    /// Operators: an admin's access token, or the operator identity minted from the service key
    /// on the bus machine (`rpcctl --key-file`). They may do everything.
    public static let operators = [
        BusPermission(identity: "admin", configure: ["*"], write: ["*"], read: ["*"]),
        BusPermission(identity: "service:operator", configure: ["*"], write: ["*"], read: ["*"]),
    ]

    /// Each marketplace service with exactly what it needs, and the operators.
    public static let standard: [BusPermission] =
        [
            service("auth", exchange: "auth_events"),
            service("users", exchange: "user_events", consumes: ["users.events"]),
            service("orders", exchange: "order_events", consumes: ["orders.events"]),
            service("payments", exchange: "payment_events", consumes: ["payments.events"]),
            service("reviews", exchange: "review_events", consumes: ["reviews.events"]),
            service("notifications", exchange: "notification_events", consumes: ["notifications.events"]),
        ] + operators
}

/// Who a bus caller is, for permissions and for stamping what it publishes.
public struct BusIdentity: Sendable, Hashable, CustomStringConvertible {
    /// What permissions name: `service:<name>` or `admin`.
    public var role: String
    /// What deliveries carry as the publisher: `service:<name>` or `admin:<user id>`.
    public var publisher: String

    public var description: String { publisher }

    /// The identity of an authenticated caller; nil for one the bus serves nothing (users who
    /// are not admins).
    public init?(_ caller: Caller) {
        switch caller.kind {
        case .service:
            role = "service:\(caller.subject)"
            publisher = role
        case .user:
            guard caller.roles.contains("admin") else { return nil }
            role = "admin"
            publisher = "admin:\(caller.subject)"
        }
    }
}

/// The permissions in force: each identity's grant (several entries for one identity add up).
public struct BusAccess: Sendable {
    public enum Operation: String, Sendable {
        case configure, write, read
    }

    let grants: [String: [BusPermission]]

    public init(_ permissions: [BusPermission]) {
        grants = Dictionary(grouping: permissions, by: \.identity)
    }

    /// Whether `identity` may `operation` on `resource` (a queue or an exchange name).
    public func allows(_ identity: BusIdentity, _ operation: Operation, _ resource: String) -> Bool {
        (grants[identity.role] ?? []).contains { grant in
            switch operation {
            case .configure: return BusPermission.allows(grant.configure, resource)
            case .write: return BusPermission.allows(grant.write, resource)
            case .read: return BusPermission.allows(grant.read, resource)
            }
        }
    }

    /// Whether `identity` may configure everything (an operator: declares exchanges and durable
    /// queues, unbounded by the quotas of services).
    public func isOperator(_ identity: BusIdentity) -> Bool {
        (grants[identity.role] ?? []).contains { $0.configure.contains("*") }
    }

    /// Throws PERMISSION_DENIED unless `identity` may `operation` on `resource`.
    public func check(_ identity: BusIdentity, _ operation: Operation, _ kind: String, _ resource: String) throws {
        guard allows(identity, operation, resource) else {
            let verb: String
            switch operation {
            case .configure: verb = "declare"
            case .write: verb = kind == "exchange" ? "publish to" : "bind"
            case .read: verb = kind == "exchange" ? "bind to" : "consume"
            }
            throw RPCError(
                code: .permissionDenied,
                message:
                    "\(identity) may not \(verb) \(kind) '\(resource)' (no '\(operation.rawValue)' permission in the bus topology)"
            )
        }
    }
}

/// Which service owns each exchange: the only publisher whose events a consumer accepts from it.
/// A leaked credential of one service therefore cannot forge another's events, even where the
/// bus would let it publish (a misconfigured topology, an operator's `rpcctl events publish`).
public enum EventOwnership {
    /// The marketplace's exchanges and their owners.
    public static let standard: [String: String] = [
        "auth_events": "auth", "user_events": "users", "order_events": "orders", "payment_events": "payments",
        "review_events": "reviews", "notification_events": "notifications",
    ]

    /// Whether `event` comes from the owner of its exchange (the bus's stamp says who sent it).
    public static func accepts(_ event: Event, owners: [String: String] = standard) -> Bool {
        guard let owner = owners[event.exchange] else { return false }
        return event.publisher == "service:\(owner)"
    }
}
