public import AuthService
public import Foundation
import MarketplaceAPI
public import ProtoRuntime
public import OrdersService
public import PaymentsService
public import ServiceKit
import UsersService

/// Every service of the marketplace, in start order (auth first: the others verify its tokens).
/// Adding a service is a folder (its definition, handlers, store, events, rules) and one line in
/// ``all(_:)``; `marketplace run`, `marketplace serve NAME`, the gateway's backends and the
/// bus's standard topology follow from the list.
public enum MarketplaceServices {
    /// The settings the services take from the command line (or a test).
    public struct Options: Sendable {
        public var auth = AuthConfiguration()
        /// The token signing key file (nil: `<data>/keys/auth-ed25519.key`).
        public var authSigningKeyPath: String?
        public var orders = OrdersConfiguration()
        public var payments = PaymentsConfiguration()
        /// The clock of the services without a configuration of their own (tests move it by hand).
        public var now: @Sendable () -> Date = { Date() }

        public init() {}
    }

    /// The services, each with its options applied.
    public static func all(_ options: Options = Options()) -> [ServiceDefinition] {
        [
            .auth(options.auth, signingKeyPath: options.authSigningKeyPath),
            .users(now: options.now),
            .orders(options.orders),
            .payments(options.payments),
        ]
    }

    /// The services' names, in start order.
    public static var names: [String] { all().map(\.name) }

    /// The schemas of the events on the bus (its reflection describes them, so tools decode
    /// payloads by type).
    public static var eventSchemas: [EmbeddedFileDescriptor] { EventsProtoFile.files }

    /// The standard ports (the seed's; DESIGN.md §9), by service name, with the bus's and the gateway's.
    public static let ports: [String: Int] = [
        "auth": 8000, "users": 8002, "orders": 8003, "payments": 8004, "reviews": 8005, "notifications": 8006,
        "bus": 8007,
        "gateway": 8080,
    ]
}
