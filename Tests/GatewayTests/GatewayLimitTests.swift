import Foundation
import ServiceTestSupport
@testable import Gateway
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("The gateway's bounds on hostile paths and bodies")
struct GatewayLimitTests {
    static let table = RouteTable(methods: Gateway.services.flatMap(\.methods))

    static func isNotFound(_ match: RouteTable.Match) -> Bool {
        if case .notFound = match { return true }
        return false
    }

    @Test("the route table strips at most one trailing slash and never recurses: a path of many slashes is not found")
    func routeTableSlashes() {
        guard case .found(let route, _) = Self.table.match(verb: "GET", path: "/api/v1/auth/me") else {
            Issue.record("GET /api/v1/auth/me has a route")
            return
        }
        #expect(route.method.method == "GetMe")
        guard case .redirect(let target) = Self.table.match(verb: "GET", path: "/api/v1/auth/me/") else {
            Issue.record("one trailing slash redirects")
            return
        }
        #expect(target == "/api/v1/auth/me")
        #expect(
            Self.isNotFound(Self.table.match(verb: "GET", path: "/api/v1/auth/me//")),
            "two slashes are not stripped"
        )
        for count in [2, 2_000, 100_000] {
            #expect(
                Self.isNotFound(Self.table.match(verb: "GET", path: "/api/v1/" + String(repeating: "/", count: count)))
            )
        }
        #expect(
            Self.isNotFound(Self.table.match(verb: "GET", path: "/api/v1/" + String(repeating: "a/", count: 50_000)))
        )
        #expect(
            Self.isNotFound(Self.table.match(verb: "GET", path: "/api/v1/" + String(repeating: "x", count: 100_000)))
        )
        // A path over the limit is refused whole, even one that would otherwise match.
        #expect(
            Self.isNotFound(
                Self.table.match(verb: "GET", path: "/api/v1/customer/orders/my/" + String(repeating: "1", count: 3000))
            )
        )
    }

    @Test(
        "GET /api/v1/ with 2,000 or 100,000 slashes, long segment paths and long queries: 404 or 414 with a detail, and the gateway lives"
    )
    func longPathsOverHTTP() async throws {
        try await Cluster.with { cluster in
            // Our bounds: 404 under the path limit, 414 over it (with the contract's detail).
            let cases: [(String, Int)] = [
                ("/api/v1/" + String(repeating: "/", count: 2_000), 404),
                ("/api/v1/" + String(repeating: "/", count: 10_000), 414),
                ("/api/v1/" + String(repeating: "a/", count: 1_000), 404),
                ("/api/v1/" + String(repeating: "a/", count: 10_000), 414),
                ("/api/v1/customer/orders/my/" + String(repeating: "7", count: 10_000), 414),
                ("/api/v1/auth/me//", 404),
                ("/api/v1/reviews/provider/1/rating?" + String(repeating: "a=1&", count: 5_000), 414),
            ]
            for (path, expected) in cases {
                let result = try await httpRequest(cluster.gatewayEndpoint, "GET", path)
                #expect(
                    result.status == expected,
                    "\(path.prefix(40))… (\(path.utf8.count) bytes): \(result.status) \(result.text.prefix(200))"
                )
                #expect(string(result.json?["detail"])?.isEmpty == false, "a message for \(path.prefix(40))…")
            }
            // 100,000 bytes: the HTTP parser refuses a request line that long (400) before routing.
            for path in [
                "/api/v1/" + String(repeating: "/", count: 100_000),
                "/api/v1/" + String(repeating: "a/", count: 50_000),
            ] {
                let result = try await httpRequest(cluster.gatewayEndpoint, "GET", path)
                #expect((400..<500).contains(result.status), "\(path.prefix(40))…: \(result.status)")
            }
            let alive = try await httpRequest(cluster.gatewayEndpoint, "GET", "/health")
            #expect(alive.status == 200, "the gateway still answers")
        }
    }

    @Test("JSON bodies nested 100,000 deep: 422 on /api/v1, 400 INVALID_ARGUMENT on /rpc, each naming the limit")
    func deepBodies() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("deepa", roleID: 1)
            let depth = 100_000
            let documents = [
                String(repeating: "[", count: depth) + String(repeating: "]", count: depth),
                String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth),
                #"{"title":"# + String(repeating: "[", count: depth),
            ]
            for document in documents {
                let legacy = try await http.call("POST", "/customer/orders/publish", token: customer, json: document)
                #expect(legacy.status == 422, "\(legacy.status) \(legacy.text.prefix(200))")
                #expect(
                    string(legacy.json?["detail"])?.contains("nesting deeper than 100 levels") == true,
                    "\(legacy.text.prefix(200))"
                )
                let rpc = try await httpJSON(
                    cluster.gatewayEndpoint,
                    "POST",
                    "/rpc/marketplace.v1.Orders/PublishOrder",
                    token: customer,
                    json: document
                )
                #expect(rpc.status == 400, "\(rpc.status) \(rpc.text.prefix(200))")
                #expect(rpc.json?["code"] == .string("INVALID_ARGUMENT"))
                #expect(
                    string(rpc.json?["message"])?.contains("nesting deeper than 100 levels") == true,
                    "\(rpc.text.prefix(200))"
                )
            }
            let alive = try await http.call("GET", "/auth/me", token: customer)
            #expect(alive.status == 200)
        }
    }

    @Test("the OpenAPI generator walks recursive message types once each (a worklist, not recursion)")
    func openAPIRecursiveTypes() throws {
        func field(_ name: String, _ number: Int32, repeated: Bool = false) -> FieldDescriptorProto {
            var field = FieldDescriptorProto()
            field.name = name
            field.number = number
            field.label = repeated ? .repeated : .optional
            field.type = .message
            field.typeName = ".t.Node"
            return field
        }
        var node = DescriptorProto()
        node.name = "Node"
        node.field = [field("next", 1), field("kids", 2, repeated: true)]
        var method = MethodDescriptorProto()
        method.name = "Walk"
        method.inputType = ".t.Node"
        method.outputType = ".t.Node"
        var service = ServiceDescriptorProto()
        service.name = "S"
        service.method = [method]
        var file = FileDescriptorProto()
        file.name = "t.proto"
        file.package = "t"
        file.syntax = "proto3"
        file.messageType = [node]
        file.service = [service]
        let pool = try DescriptorPool(serializedFiles: [file.serializedBytes()])
        let document = OpenAPI.document(
            pool: pool,
            routes: RouteTable(methods: []),
            methods: [MethodDescriptor(service: "t.S", method: "Walk", kind: .unary)]
        )
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let schema = schemas?["t.Node"] as? [String: Any]
        let next = (schema?["properties"] as? [String: Any])?["next"] as? [String: Any]
        #expect(next?["$ref"] as? String == "#/components/schemas/t.Node")
    }

    @Test(
        "the gateway's own refusals on /rpc (429, 405, 414) are {code, message}, as the OpenAPI document says, never {detail}"
    )
    func rpcRefusalShape() async throws {
        var configuration = Cluster.gatewayDefaults
        configuration.perIP = (burst: 3, perMinute: 1)
        try await Cluster.with(gateway: configuration) { cluster in
            let wrongVerb = try await httpRequest(cluster.gatewayEndpoint, "GET", "/rpc/marketplace.v1.Auth/GetMe")
            #expect(wrongVerb.status == 405)
            #expect(wrongVerb.json?["code"] == .string("UNIMPLEMENTED"), "\(wrongVerb.text)")
            let long = try await httpRequest(
                cluster.gatewayEndpoint,
                "POST",
                "/rpc/" + String(repeating: "x", count: 3000)
            )
            #expect(long.status == 414)
            #expect(long.json?["code"] == .string("INVALID_ARGUMENT"), "\(long.text)")
            var limited: HTTPResult?
            for _ in 0..<6 {
                let result = try await httpJSON(
                    cluster.gatewayEndpoint,
                    "POST",
                    "/rpc/marketplace.v1.Auth/GetPublicKey",
                    json: "{}"
                )
                if result.status == 429 { limited = result }
            }
            let refusal = try #require(limited, "the bucket of 3 ran out")
            #expect(refusal.json?["code"] == .string("RESOURCE_EXHAUSTED"), "\(refusal.text)")
            #expect(string(refusal.json?["message"])?.contains("Rate limit") == true)
            #expect(refusal.headers["retry-after"] != nil)
        }
    }
}
