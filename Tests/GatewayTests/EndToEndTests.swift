import EventBus
import Foundation
import ServiceTestSupport
@testable import Gateway
import MarketplaceAPI
import ProtoRuntime
import RPC
import RPCSchema
import TestSupport
import Testing

func number(_ value: JSONValue?) -> Int64? {
    if case .number(let text)? = value { return Int64(text) }
    return nil
}

func string(_ value: JSONValue?) -> String? {
    if case .string(let text)? = value { return text }
    return nil
}

@Suite("End to end over HTTP: the legacy contract through the gateway to the real services")
struct EndToEndTests {
    static let order =
        #"{"title":"Fix the sink","description":"It leaks","service_type":"cleaning_repair","price":120.5,"location":"CENTRAL","address":"1 Main St","service_start_time":"2026-12-01T10:00","service_end_time":"2026-12-01T12:00"}"#

    @Test(
        "sign up, publish, approve, accept, start, complete: envelope, shapes, time formats and statuses as the contract has them"
    )
    func happyPath() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (customerID, customer) = try await http.signUp("carla", roleID: 1)
            let (providerID, provider) = try await http.signUp("paulo", roleID: 2)
            let (_, admin) = try await cluster.admin()

            let me = try await http.call("GET", "/auth/me", token: customer)
            #expect(me.status == 200)
            #expect(me.json?["success"] == .bool(true))
            #expect(me.json?["error"] == .null)
            #expect(number(me.json?["data"]?["role_id"]) == 1)
            #expect(string(me.json?["data"]?["created_at"])?.count == 19, "YYYY-MM-DDTHH:MM:SS")

            let published = try await http.call("POST", "/customer/orders/publish", token: customer, json: Self.order)
            #expect(published.status == 200, "\(published.text)")
            #expect(published.json?["message"] == .string("Order published"))
            #expect(string(published.json?["data"]?["status"]) == "pending_review")
            let orderID = try #require(number(published.json?["data"]?["order_id"]))

            let mine = try await http.call("GET", "/customer/orders/my/\(orderID)", token: customer)
            let data = try #require(mine.json?["data"])
            #expect(data["price"] == .number("120.5"))
            #expect(string(data["location"]) == "MID", "CENTRAL is accepted as MID")
            #expect(string(data["service_type"]) == "cleaning_repair")
            #expect(string(data["service_start_time"]) == "2026-12-01T10:00:00")
            #expect(string(data["created_at"])?.contains(" ") == true, "customer routes: created_at with a space")
            #expect(data["provider_id"] == .null)
            #expect(string(data["payment_status"]) == "unpaid")
            #expect(number(data["customer_id"]) == customerID)

            let pending = try await http.call("GET", "/admin/orders/pending-review", token: admin)
            #expect(pending.status == 200)
            let approve = try await http.call(
                "POST",
                "/admin/orders/\(orderID)/approve",
                token: admin,
                json: #"{"approved": true}"#
            )
            #expect(approve.status == 200, "\(approve.text)")
            #expect(approve.json?["message"] == .string("Order approval processed"))
            let available = try await http.call(
                "GET",
                "/provider/orders/available?location=MID&min_price=100&keyword=sink",
                token: provider
            )
            #expect(available.status == 200)
            if case .array(let list)? = available.json?["data"] {
                #expect(list.count == 1)
            } else {
                Issue.record("no list: \(available.text)")
            }
            let accept = try await http.call("POST", "/provider/orders/accept/\(orderID)", token: provider)
            #expect(accept.status == 200, "\(accept.text)")
            #expect(string(accept.json?["data"]?["status"]) == "accepted")
            let started = try await http.call(
                "POST",
                "/provider/orders/status/\(orderID)",
                token: provider,
                json: #"{"new_status":"in_progress"}"#
            )
            #expect(started.status == 200, "\(started.text)")
            let wrongOrder = try await http.call(
                "POST",
                "/provider/orders/status/\(orderID)",
                token: provider,
                json: #"{"new_status":"in_progress"}"#
            )
            #expect(wrongOrder.status == 400)
            let cancelLate = try await http.call("POST", "/customer/orders/cancel/\(orderID)", token: customer)
            #expect(cancelLate.status == 400, "a customer cannot cancel work in progress")
            let done = try await http.call(
                "POST",
                "/provider/orders/status/\(orderID)",
                token: provider,
                json: #"{"new_status":"completed"}"#
            )
            #expect(string(done.json?["data"]?["status"]) == "completed")
            let history = try await http.call("GET", "/provider/orders/history", token: provider)
            if case .array(let list)? = history.json?["data"] {
                #expect(list.count == 1)
                #expect(number(list.first?["provider_id"]) == providerID)
                #expect(string(list.first?["service_start_time"])?.contains(" ") == true, "provider routes: spaces")
            }
            let adminView = try await http.call("GET", "/admin/orders/\(orderID)", token: admin)
            #expect(string(adminView.json?["data"]?["created_at"])?.contains("T") == true, "admin routes: T")
            let transitions = try await http.call("GET", "/orders/\(orderID)/history", token: customer)
            #expect(transitions.status == 200)

            // A reviewed order reads as completed with has_review (the contract has no `reviewed`).
            let review = ReviewCreated(
                reviewId: 1,
                orderId: orderID,
                customerId: customerID,
                providerId: providerID,
                stars: 5
            )
            try await cluster.bus(as: "reviews") { reviews in
                _ = try await reviews.publish(
                    PublishRequest(events: [
                        Event(
                            id: "review-\(orderID)",
                            exchange: ReviewCreated.eventExchange,
                            routingKey: ReviewCreated.eventRoutingKey,
                            type: ReviewCreated.protoMessageName,
                            payload: review.serializedBytes()
                        )
                    ])
                )
            }
            #expect(
                try await eventually {
                    let read = try await http.call("GET", "/customer/orders/my/\(orderID)", token: customer)
                    return read.json?["data"]?["has_review"] == .bool(true)
                }
            )
            let reviewed = try await http.call("GET", "/customer/orders/my/\(orderID)", token: customer)
            #expect(string(reviewed.json?["data"]?["status"]) == "completed")

            // Pages: page_size and page_token in the query, the next token in a header.
            for _ in 0..<3 {
                _ = try await http.call("POST", "/customer/orders/publish", token: customer, json: Self.order)
            }
            let first = try await http.call("GET", "/customer/orders/history?page_size=2", token: customer)
            let next = try #require(first.headers["x-next-page-token"])
            let second = try await http.call(
                "GET",
                "/customer/orders/history?page_size=2&page_token=\(next)",
                token: customer
            )
            if case .array(let a)? = first.json?["data"], case .array(let b)? = second.json?["data"] {
                #expect(a.count == 2)
                #expect(b.count == 2)
                #expect(Set(a.compactMap { number($0["id"]) }).isDisjoint(with: b.compactMap { number($0["id"]) }))
            } else {
                Issue.record("pages: \(first.text) / \(second.text)")
            }
            #expect(second.headers["x-next-page-token"] == nil, "4 orders: two pages")
            // Without page_size/page_token the contract's whole array comes back, pages followed.
            for _ in 0..<120 {
                _ = try await http.call("POST", "/customer/orders/publish", token: customer, json: Self.order)
            }
            let whole = try await http.call("GET", "/customer/orders/history", token: customer)
            if case .array(let all)? = whole.json?["data"] {
                #expect(all.count == 124)
                #expect(Set(all.compactMap { number($0["id"]) }).count == 124)
            } else {
                Issue.record("whole list: \(whole.text.prefix(200))")
            }
            #expect(whole.headers["x-next-page-token"] == nil)
            #expect(whole.headers["access-control-expose-headers"]?.contains("X-Next-Page-Token") == true)
        }
    }

    @Test("50 providers race to accept over HTTP, 20 times: one 200, the rest 400 naming the winner")
    func raceOverHTTP() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("rachel", roleID: 1)
            let (_, admin) = try await cluster.admin()
            var providers: [(Int64, String)] = []
            for i in 0..<50 { providers.append(try await http.signUp("runner\(i)", roleID: 2)) }
            let contenders = providers
            for round in 0..<20 {
                let published = try await http.call(
                    "POST",
                    "/customer/orders/publish",
                    token: customer,
                    json: Self.order
                )
                let orderID = try #require(number(published.json?["data"]?["order_id"]))
                _ = try await http.call(
                    "POST",
                    "/admin/orders/\(orderID)/approve",
                    token: admin,
                    json: #"{"approved": true}"#
                )
                let results = try await withThrowingTaskGroup(of: (Int64, HTTPResult).self) { group in
                    for (id, token) in contenders {
                        group.addTask {
                            (id, try await http.call("POST", "/provider/orders/accept/\(orderID)", token: token))
                        }
                    }
                    var all: [(Int64, HTTPResult)] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                let winners = results.filter { $0.1.status == 200 }
                #expect(winners.count == 1, "round \(round): \(winners.count) winners")
                let winner = try #require(winners.first?.0)
                for (_, result) in results where result.status != 200 {
                    #expect(result.status == 400)
                    #expect(
                        string(result.json?["detail"])?.contains("provider \(winner) accepted it first") == true,
                        "\(result.text)"
                    )
                }
            }
        }
    }

    @Test("no token → 403 Not authenticated on every protected route; a bad token → 401; the wrong role → 403")
    func authStatuses() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("nora", roleID: 1)
            let routes = RouteTable(methods: Auth.Method.all + Users.Method.all + Orders.Method.all)
            for route in routes.routes where route.access?.public != true {
                let path = route.path.replacingOccurrences(of: "{order_id}", with: "1").replacingOccurrences(
                    of: "{user_id}",
                    with: "1"
                )
                .replacingOccurrences(of: "{provider_id}", with: "1").dropFirst("/api/v1".count)
                let result = try await http.call(route.verb, String(path), json: route.body == "*" ? "{}" : nil)
                #expect(result.status == 403, "\(route.verb) \(route.path): \(result.status)")
                #expect(string(result.json?["detail"]) == "Not authenticated", "\(route.verb) \(route.path)")
            }
            let garbage = try await http.call("GET", "/auth/me", token: "not.a.token")
            #expect(garbage.status == 401)
            #expect(string(garbage.json?["detail"])?.hasPrefix("Invalid token") == true)
            let basic = try await httpRequest(
                cluster.gatewayEndpoint,
                "GET",
                "/api/v1/auth/me",
                headers: [("Authorization", "Basic abc")]
            )
            #expect(basic.status == 403)
            let wrongRole = try await http.call("GET", "/admin/orders", token: customer)
            #expect(wrongRole.status == 403)
            let providerOnly = try await http.call("POST", "/provider/orders/accept/1", token: customer)
            #expect(providerOnly.status == 403)
            let badLogin = try await http.call(
                "POST",
                "/auth/login",
                json: #"{"email":"nora@example.com","password":"wrong-password"}"#
            )
            #expect(badLogin.status == 401)
        }
    }

    @Test(
        "hostile input: malformed JSON, wrong types, unknown enums, oversized bodies, bad ids → 4xx with a message, never 500"
    )
    func badInput() async throws {
        var configuration = Cluster.gatewayDefaults
        configuration.maximumBodyBytes = 4096
        try await Cluster.with(gateway: configuration) { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("hank", roleID: 1)
            let cases: [(String, String, String?, Int)] = [
                ("POST", "/customer/orders/publish", "{not json", 422),
                ("POST", "/customer/orders/publish", "[1, 2]", 422),
                ("POST", "/customer/orders/publish", "", 422),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": 5, "service_type": "other", "price": 1, "location": "NORTH"}"#, 422
                ),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": "x", "service_type": "other", "price": "lots", "location": "NORTH"}"#, 422
                ),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": "x", "service_type": "gardening", "price": 1, "location": "NORTH"}"#, 400
                ),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": "x", "service_type": "other", "price": 1, "location": "ATLANTIS"}"#, 400
                ),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": "x", "service_type": "other", "price": 0, "location": "NORTH"}"#, 400
                ),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": "x", "service_type": "other", "price": 1, "location": "NORTH", "service_start_time": "tomorrow"}"#,
                    422
                ),
                (
                    "POST", "/customer/orders/publish",
                    #"{"title": "x", "service_type": "other", "price": 1, "location": "NORTH", "service_start_time": "2026-12-02T10:00", "service_end_time": "2026-12-01T10:00"}"#,
                    400
                ),
                ("GET", "/customer/orders/my/abc", nil, 422),
                ("GET", "/customer/orders/my/99999", nil, 404),
                (
                    "POST", "/customer/orders/publish", "{\"title\": \"" + String(repeating: "x", count: 5000) + "\"}",
                    413
                ),
            ]
            for (method, path, body, expected) in cases {
                let result = try await http.call(method, path, token: customer, json: body)
                #expect(
                    result.status == expected,
                    "\(method) \(path) \(body?.prefix(60) ?? ""): \(result.status) \(result.text.prefix(200))"
                )
                #expect(string(result.json?["detail"])?.isEmpty == false, "a message for \(path)")
                #expect(result.headers["access-control-allow-origin"] == "*", "CORS on errors too")
            }
            let deep = String(repeating: "[", count: 5000)
            let nested = try await http.call("POST", "/customer/orders/publish", token: customer, json: deep)
            #expect((400..<500).contains(nested.status))
        }
    }

    @Test(
        "the HTTP surface: 404, 405, 307 for a trailing slash, CORS preflight, /rpc JSON, /healthz, /metrics, /health"
    )
    func surface() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("ivy", roleID: 1)
            let unknown = try await http.call("GET", "/nothing/here", token: customer)
            #expect(unknown.status == 404)
            #expect(unknown.json?["detail"] == .string("Not Found"))
            let wrongVerb = try await http.call("DELETE", "/auth/login")
            #expect(wrongVerb.status == 405)
            let slash = try await http.call("GET", "/auth/me/", token: customer)
            #expect(slash.status == 307)
            #expect(slash.headers["location"] == "/api/v1/auth/me")
            let preflight = try await httpRequest(
                cluster.gatewayEndpoint,
                "OPTIONS",
                "/api/v1/customer/orders",
                headers: [
                    ("Origin", "http://client.example"), ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "authorization,content-type"),
                ]
            )
            #expect(preflight.status == 200)
            #expect(preflight.headers["access-control-allow-origin"] == "http://client.example")
            #expect(preflight.headers["access-control-allow-headers"] == "authorization,content-type")
            #expect(preflight.headers["access-control-max-age"] == "600")

            let rpc = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/rpc/marketplace.v1.Auth/GetMe",
                token: customer,
                json: "{}"
            )
            #expect(rpc.status == 200, "\(rpc.text)")
            #expect(string(rpc.json?["username"]) == "ivy", "canonical proto3 JSON")
            let rpcError = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/rpc/marketplace.v1.Orders/GetMyOrder",
                token: customer,
                json: #"{"orderId": "4242"}"#
            )
            #expect(rpcError.status == 404)
            #expect(rpcError.json?["code"] == .string("NOT_FOUND"))
            let noMethod = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/rpc/marketplace.v1.Auth/Nope",
                json: "{}"
            )
            #expect(noMethod.status == 404)

            let health = try await httpRequest(cluster.gatewayEndpoint, "GET", "/healthz")
            #expect(health.status == 200, "\(health.text)")
            #expect(health.json?["services"]?["marketplace.v1.Orders"] == .string("SERVING"))
            let metrics = try await httpRequest(cluster.gatewayEndpoint, "GET", "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("gateway_requests"))
            let legacyHealth = try await httpRequest(cluster.gatewayEndpoint, "GET", "/health")
            #expect(legacyHealth.json?["status"] == .string("healthy"))
            #expect(legacyHealth.headers["x-request-id"]?.isEmpty == false, "every response names its request")
        }
    }

    @Test("rate limits: a token bucket per IP and per user; 429 with Retry-After")
    func rateLimits() async throws {
        var configuration = Cluster.gatewayDefaults
        configuration.perIP = (burst: 5, perMinute: 1)  // refills one a minute: the test cannot outrun it
        try await Cluster.with(gateway: configuration) { cluster in
            var statuses: [Int] = []
            var retry: String?
            for _ in 0..<8 {
                let result = try await httpRequest(cluster.gatewayEndpoint, "GET", "/api/v1/reviews/provider/1/rating")
                statuses.append(result.status)
                if result.status == 429 { retry = result.headers["retry-after"] }
            }
            #expect(statuses.filter { $0 == 429 }.count >= 3, "\(statuses)")
            #expect(Int(retry ?? "") ?? 0 >= 1)
        }
        // Behind a balancer: the last X-Forwarded-For entry is the client; earlier ones are ignored.
        configuration.trustForwardedFor = true
        try await Cluster.with(gateway: configuration) { cluster in
            var statuses: [Int] = []
            for i in 0..<8 {
                let result = try await httpRequest(
                    cluster.gatewayEndpoint,
                    "GET",
                    "/api/v1/reviews/provider/1/rating",
                    headers: [("X-Forwarded-For", "198.51.100.\(i), 203.0.113.9")]
                )
                statuses.append(result.status)
            }
            #expect(
                statuses.filter { $0 == 429 }.count >= 3,
                "spoofed first entries do not buy new buckets: \(statuses)"
            )
            let other = try await httpRequest(
                cluster.gatewayEndpoint,
                "GET",
                "/api/v1/reviews/provider/1/rating",
                headers: [("X-Forwarded-For", "203.0.113.10")]
            )
            #expect(other.status != 429, "another client has its own bucket")
        }
    }
}

@Suite("Legacy presentations")
struct PresentationTests {
    @Test("an admin's user detail without a stored profile gets the contract's default profile (null for admins)")
    func defaultProfiles() {
        let user: (String) -> JSONValue = { role in
            .object([("user", .object([("id", .string("5")), ("username", .string("u")), ("role", .string(role))]))])
        }
        let shape = Presentations.table["user_detail"]
        let customer = shape?(user("ROLE_CUSTOMER"))["profile"]
        #expect(customer?["location"] == .string("NORTH"))
        #expect(customer?["budget_preference"] == .number("0.0"))
        #expect(customer?["created_at"] == .null)
        let provider = shape?(user("ROLE_PROVIDER"))["profile"]
        #expect(provider?["rating"] == .number("5.0"))
        #expect(provider?["skills"] == .array([]))
        #expect(shape?(user("ROLE_ADMIN"))["profile"] == .null)
        #expect(Presentations.money(.object([("cents", .string("1205"))])) == .number("12.05"))
        #expect(Presentations.money(.object([("cents", .string("-50"))])) == .number("-0.5"))
    }

    @Test("query strings decode + as a space and percent escapes")
    func query() {
        let items = Gateway.queryItems("keyword=deep+clean&x=%2B1&empty=&flag")
        #expect(items.map(\.0) == ["keyword", "x", "empty", "flag"])
        #expect(items.map(\.1) == ["deep clean", "+1", "", ""])
    }
}

@Suite("The OpenAPI document")
struct OpenAPITests {
    @Test("Generated/openapi.json is what the schema generates now (make generate refreshes it); the gateway serves it")
    func fresh() async throws {
        let generated = try Gateway.openAPIDocument()
        let committed = try [UInt8](Data(contentsOf: repositoryRoot.appendingPathComponent("Generated/openapi.json")))
        #expect(generated == committed, "Generated/openapi.json is stale: run `make generate`")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(generated)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(paths["/api/v1/customer/orders/publish"] != nil)
        #expect(paths["/rpc/marketplace.v1.Orders/AcceptOrder"] != nil)
        try await Cluster.with { cluster in
            let served = try await httpRequest(cluster.gatewayEndpoint, "GET", "/api/v1/openapi.json")
            #expect(served.status == 200)
            #expect(served.body == generated)
        }
    }
}

@Suite("The gateway under random input")
struct GatewayFuzzTests {
    /// A random JSON value, biased towards the keys and shapes the routes expect.
    static func value(_ generator: inout SeededGenerator, depth: Int = 0) -> String {
        switch Int.random(in: 0..<(depth > 2 ? 7 : 9), using: &generator) {
        case 0: return "null"
        case 1: return Bool.random(using: &generator) ? "true" : "false"
        case 2: return String(Int.random(in: -1_000_000_000...1_000_000_000, using: &generator))
        case 3: return String(Double.random(in: -1e12...1e12, using: &generator))
        case 4:
            return [
                "\"\"", "\"NORTH\"", "\"CENTRAL\"", "\"in_progress\"", "\"cleaning_repair\"", "\"2026-12-01T10:00\"",
                "\"x\u{0000}y\"", "\"é\"", "\"\\ud800\"",
            ].randomElement(using: &generator) ?? "\"\""
        case 5: return "\"" + String(repeating: "a", count: Int.random(in: 0...300, using: &generator)) + "\""
        case 6: return ["1e400", "-0", "0.000001", "99999999999999999999999"].randomElement(using: &generator) ?? "0"
        case 7:
            return "["
                + (0..<Int.random(in: 0...3, using: &generator)).map { _ in value(&generator, depth: depth + 1) }
                .joined(separator: ",") + "]"
        default:
            let keys = [
                "title", "price", "location", "service_type", "role_id", "email", "password", "username", "approved",
                "reject_reason",
                "new_status", "service_start_time", "service_end_time", "budget_preference", "skills", "hourly_rate",
                "status", "x",
            ]
            return "{"
                + (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                    "\"\(keys.randomElement(using: &generator) ?? "x")\":\(value(&generator, depth: depth + 1))"
                }.joined(separator: ",") + "}"
        }
    }

    @Test("600 random bodies on the write routes: always an answer below 500, with a detail and CORS")
    func randomBodies() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("fuzzc", roleID: 1)
            let (_, provider) = try await http.signUp("fuzzp", roleID: 2)
            let (_, admin) = try await cluster.admin()
            let published = try await http.call(
                "POST",
                "/customer/orders/publish",
                token: customer,
                json: EndToEndTests.order
            )
            let id = number(published.json?["data"]?["order_id"]) ?? 1
            let routes: [(String, String, String)] = [
                ("POST", "/customer/orders/publish", customer), ("PUT", "/customer/profile", customer),
                ("PUT", "/provider/profile", provider),
                ("POST", "/admin/orders/\(id)/approve", admin), ("PUT", "/admin/orders/\(id)", admin),
                ("POST", "/provider/orders/status/\(id)", provider),
                ("POST", "/auth/register", ""), ("POST", "/auth/login", ""), ("PUT", "/admin/users/2", admin),
            ]
            var generator = SeededGenerator(state: 2026)
            for i in 0..<(Int(ProcessInfo.processInfo.environment["GATEWAY_FUZZ_ITERATIONS"] ?? "") ?? 600) {
                let (method, path, token) = routes[i % routes.count]
                let body = Self.value(&generator)
                let result = try await http.call(method, path, token: token.isEmpty ? nil : token, json: body)
                #expect(
                    result.status < 500,
                    "\(method) \(path) \(body.prefix(120)): \(result.status) \(result.text.prefix(200))"
                )
                if result.status >= 400 {
                    #expect(string(result.json?["detail"])?.isEmpty == false, "\(path): \(result.text.prefix(120))")
                }
                #expect(result.headers["access-control-allow-origin"] == "*")
            }
        }
    }
}
