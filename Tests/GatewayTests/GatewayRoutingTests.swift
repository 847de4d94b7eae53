import Crypto
import Foundation
import ServiceTestSupport
@testable import Gateway
import MarketplaceAPI
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("The gateway's schema and routing: Hummingbird's router gives the route table's answers")
struct GatewayRoutingTests {
    static let table = RouteTable(methods: Gateway.services.flatMap(\.methods))

    /// The presentations of the services not built yet (reviews, notifications): their
    /// routes answer 503 until then, and their shapes come with them. Kept exact below, so adding
    /// one means taking it off this list.
    static let awaitingTheirService: Set<String> = [
        "inbox", "notice_sent", "rating", "review", "review_created", "review_items",
    ]

    @Test(
        "every presentation the schema's (gateway.v1.http) options name is in the presentation table (but those of services not built yet)"
    )
    func presentationsExist() {
        let named = Set(Self.table.routes.map(\.presentation).filter { !$0.isEmpty })
        #expect(named.count > Self.awaitingTheirService.count)
        let missing = named.filter { Presentations.table[$0] == nil }
        #expect(
            missing == Self.awaitingTheirService,
            "named in the schema but not shaped: \(missing.subtracting(Self.awaitingTheirService).sorted())"
        )
        for route in Self.table.routes where Self.awaitingTheirService.contains(route.presentation) {
            #expect(
                ["marketplace.v1.Reviews", "marketplace.v1.Notifications"].contains(
                    route.method.service
                )
            )
        }
    }

    @Test(
        "the gateway's own method option, (gateway.v1.http), reaches the runtime from the schema (absent where the schema sets none)"
    )
    func httpOption() {
        #expect(Orders.Method.publishOrder.httpRule?.pattern == .post("/api/v1/customer/orders/publish"))
        #expect(Orders.Method.publishOrder.httpRule?.body == "*")
        #expect(Orders.Method.publishOrder.accessRule?.roles == ["customer"])
        #expect(Auth.Method.listRevocations.httpRule == nil)
    }

    @Test(
        "the services come from the descriptors the build plugin's index lists: the generated services and methods, options included, in the files' order"
    )
    func servicesFromDescriptors() {
        let generated: [(String, [MethodDescriptor])] = [
            (Auth.serviceName, Auth.Method.all), (Notifications.serviceName, Notifications.Method.all),
            (Orders.serviceName, Orders.Method.all), (Payments.serviceName, Payments.Method.all),
            (Reviews.serviceName, Reviews.Method.all), (Users.serviceName, Users.Method.all),
        ]
        #expect(MarketplaceAPIIndex.serviceNames == generated.map(\.0))
        #expect(Gateway.services.map(\.name) == generated.map(\.0))
        for (service, (_, methods)) in zip(Gateway.services, generated) {
            #expect(service.methods == methods, "\(service.name)")
        }
    }

    /// The paths to try: every route's, with its variables filled by a number and by each literal
    /// a sibling route has (where the trie and the table could disagree), with and without one or
    /// two trailing slashes.
    static func paths() -> [String] {
        let literals = Set(
            table.routes.flatMap(\.segments).compactMap { if case .literal(let text) = $0 { text } else { nil } }
        )
        .filter { ["me", "my", "pending-review", "available", "history", "rating"].contains($0) }
        var paths: Set<String> = []
        for route in table.routes {
            var variants = [""]
            for segment in route.segments {
                switch segment {
                case .literal(let text): variants = variants.map { $0 + "/" + text }
                case .variable:
                    variants = variants.flatMap { prefix in (["1"] + literals.sorted()).map { prefix + "/" + $0 } }
                }
            }
            for variant in variants { paths.formUnion([variant, variant + "/", variant + "//"]) }
        }
        return paths.sorted()
    }

    @Test(
        "for every route's path (variables as numbers and as sibling literals, trailing slashes) and verb: the status the route table predicts"
    )
    func routerAgreesWithTable() async throws {
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.perIP = (burst: 1_000_000, perMinute: 1_000_000)
        let server = GatewayServer(
            gateway: try Gateway(
                configuration: configuration,
                backends: GatewayBackends([:]),
                authPublicKey: Curve25519.Signing.PrivateKey().publicKey,
                logger: Cluster.quiet
            ),
            configuration: configuration,
            logger: Cluster.quiet
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let endpoint = Endpoint(host: "127.0.0.1", port: await server.localPort)
            for path in Self.paths() {
                for verb in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] {
                    let result = try await httpRequest(
                        endpoint,
                        verb,
                        path,
                        headers: [("Content-Type", "application/json")],
                        body: Array("{}".utf8)
                    )
                    let label = "\(verb) \(path): \(result.status) \(result.text.prefix(120))"
                    switch Self.table.match(verb: verb, path: path) {
                    case .found(let route, _):
                        // Reached the route: refused early (no token), refused by the codec (a
                        // literal where an id goes), or sent on to a service that is not there.
                        let expected: Set<Int> = route.access?.public == true ? [422, 503] : [403]
                        #expect(expected.contains(result.status), "\(label) (\(route.method.method))")
                    case .methodNotAllowed(let allowed):
                        #expect(result.status == 405, "\(label)")
                        #expect(result.headers["allow"] == allowed.joined(separator: ", "), "\(label)")
                    case .redirect(let target):
                        #expect(result.status == 307, "\(label)")
                        #expect(result.headers["location"] == target, "\(label)")
                    case .notFound:
                        #expect(result.status == 404, "\(label)")
                    }
                }
            }
            // Outside /api/v1: exact paths only, and /rpc's own refusals.
            for (verb, path, status) in [
                ("GET", "/health", 200), ("GET", "/health/", 404), ("POST", "/health", 404), ("HEAD", "/health", 404),
                ("GET", "/nothing", 404),
                ("GET", "/rpc/marketplace.v1.Auth/GetMe", 405), ("POST", "/rpc/marketplace.v1.Auth/GetMe/", 404),
                ("POST", "/rpc/a", 404),
                ("POST", "/rpc/marketplace.v1.Auth/GetPublicKey", 503),
            ] {
                let result = try await httpRequest(endpoint, verb, path, body: Array("{}".utf8))
                #expect(result.status == status, "\(verb) \(path): \(result.status) \(result.text.prefix(120))")
                #expect(result.headers["access-control-allow-origin"] == "*", "\(verb) \(path)")
                #expect(result.headers["x-request-id"]?.isEmpty == false, "\(verb) \(path)")
            }
        }
    }
}
