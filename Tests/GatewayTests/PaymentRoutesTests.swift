import Foundation
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceTestSupport
import TestSupport
import Testing

@Suite("The payment routes through the gateway: the legacy pay, Idempotency-Key, role rules, admin refunds")
struct PaymentRoutesTests {
    /// An order of 120.50 taken to completed by a provider, through the contract.
    func completedOrder(_ http: LegacyClient, customer: String, provider: String, admin: String) async throws -> Int64 {
        let published = try await http.call(
            "POST",
            "/customer/orders/publish",
            token: customer,
            json: #"{"title":"Fix the sink","service_type":"cleaning_repair","price":120.5,"location":"NORTH"}"#
        )
        let id = try #require(number(published.json?["data"]?["order_id"]), "\(published.text)")
        _ = try await http.call("POST", "/admin/orders/\(id)/approve", token: admin, json: #"{"approved": true}"#)
        _ = try await http.call("POST", "/provider/orders/accept/\(id)", token: provider)
        for status in ["in_progress", "completed"] {
            let moved = try await http.call(
                "POST",
                "/provider/orders/status/\(id)",
                token: provider,
                json: #"{"new_status":"\#(status)"}"#
            )
            #expect(moved.status == 200, "\(moved.text)")
        }
        return id
    }

    @Test(
        "completed → pay → the order shows paid at once; a retry with the Idempotency-Key is the same payment; 409 for the key elsewhere"
    )
    func pay() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("paycarla", roleID: 1)
            let (_, other) = try await http.signUp("payolga", roleID: 1)
            let (_, provider) = try await http.signUp("paypaulo", roleID: 2)
            let (_, admin) = try await cluster.admin()
            let orderID = try await completedOrder(http, customer: customer, provider: provider, admin: admin)
            let body = #"{"order_id":\#(orderID)}"#

            // The contract's role rules: a non-owner 404, a provider or anonymous caller 403.
            #expect(try await http.call("POST", "/customer/payments/pay", token: other, json: body).status == 404)
            #expect(try await http.call("POST", "/customer/payments/pay", token: provider, json: body).status == 403)
            #expect(try await http.call("POST", "/customer/payments/pay", json: body).status == 403)

            let key = [("Idempotency-Key", "checkout-1")]
            let paid = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/api/v1/customer/payments/pay",
                token: customer,
                json: body,
                headers: key
            )
            #expect(paid.status == 200, "\(paid.text)")
            #expect(paid.json?["message"] == .string("Payment successful"))
            let data = try #require(paid.json?["data"])
            #expect(number(data["order_id"]) == orderID)
            #expect(data["amount"] == .number("120.5"))
            let paymentID = try #require(number(data["payment_id"]))
            let order = try await http.call("GET", "/customer/orders/my/\(orderID)", token: customer)
            #expect(string(order.json?["data"]?["payment_status"]) == "paid", "paid when pay answered")

            let retry = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/api/v1/customer/payments/pay",
                token: customer,
                json: body,
                headers: key
            )
            #expect(retry.status == 200)
            #expect(number(retry.json?["data"]?["payment_id"]) == paymentID)
            let elsewhere = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/api/v1/customer/payments/pay",
                token: customer,
                json: #"{"order_id":\#(orderID + 1)}"#,
                headers: key
            )
            #expect(elsewhere.status == 409, "\(elsewhere.text)")
            let differing = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/api/v1/customer/payments/pay",
                token: customer,
                json: #"{"order_id":\#(orderID),"idempotency_key":"other"}"#,
                headers: key
            )
            #expect(differing.status == 422, "the header and the body disagree: \(differing.text)")
            // Without a key, a second pay of a paid order is the contract's 400.
            #expect(try await http.call("POST", "/customer/payments/pay", token: customer, json: body).status == 400)

            // An admin refunds part of it.
            let refund = try await http.call(
                "POST",
                "/admin/payments/\(paymentID)/refund",
                token: admin,
                json: #"{"reason":"late","amount":20.5}"#
            )
            #expect(refund.status == 200, "\(refund.text)")
            #expect(
                try await http.call(
                    "POST",
                    "/admin/payments/\(paymentID)/refund",
                    token: customer,
                    json: #"{"reason":"mine"}"#
                ).status == 403
            )
            let after = try await http.call("GET", "/customer/orders/my/\(orderID)", token: customer)
            #expect(string(after.json?["data"]?["payment_status"]) == "partially_refunded")
        }
    }

    @Test(
        "escrow from accepted (released when the provider completes), a declined card (400, still unpaid), the provider's earnings"
    )
    func escrowAndDecline() async throws {
        try await Cluster.with { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            let (_, customer) = try await http.signUp("escarla", roleID: 1)
            let (_, provider) = try await http.signUp("espaulo", roleID: 2)
            let (_, admin) = try await cluster.admin()
            let published = try await http.call(
                "POST",
                "/customer/orders/publish",
                token: customer,
                json: #"{"title":"Paint the fence","service_type":"other","price":80,"location":"SOUTH"}"#
            )
            let id = try #require(number(published.json?["data"]?["order_id"]))
            _ = try await http.call("POST", "/admin/orders/\(id)/approve", token: admin, json: #"{"approved": true}"#)
            _ = try await http.call("POST", "/provider/orders/accept/\(id)", token: provider)

            let declined = try await http.call(
                "POST",
                "/customer/payments/pay",
                token: customer,
                json: #"{"order_id":\#(id),"payment_method":"test_card_declined"}"#
            )
            #expect(declined.status == 400, "\(declined.text)")
            #expect(string(declined.json?["detail"])?.contains("declined") == true)
            let unpaid = try await http.call("GET", "/customer/orders/my/\(id)", token: customer)
            #expect(string(unpaid.json?["data"]?["payment_status"]) == "unpaid")

            let held = try await http.call(
                "POST",
                "/customer/payments/pay",
                token: customer,
                json: #"{"order_id":\#(id)}"#
            )
            #expect(held.status == 200, "\(held.text)")
            #expect(string(held.json?["data"]?["message"])?.contains("escrow") == true, "\(held.text)")
            let paid = try await http.call("GET", "/customer/orders/my/\(id)", token: customer)
            #expect(string(paid.json?["data"]?["payment_status"]) == "paid")
            for status in ["in_progress", "completed"] {
                _ = try await http.call(
                    "POST",
                    "/provider/orders/status/\(id)",
                    token: provider,
                    json: #"{"new_status":"\#(status)"}"#
                )
            }
            #expect(
                try await eventually {
                    let earnings = try await http.call("GET", "/provider/payments/earnings", token: provider)
                    return string(earnings.json?["data"]?["total_earnings"]?["cents"]) == "8000"
                },
                "released to the provider on completion"
            )
            #expect(
                try await eventually {
                    let profile = try await http.call("GET", "/provider/profile", token: provider)
                    return profile.json?["data"]?["total_earnings"] == .number("80.0")
                },
                "the provider's profile shows the earnings"
            )
        }
    }
}
