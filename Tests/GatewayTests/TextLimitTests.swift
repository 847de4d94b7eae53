import Foundation
import ServiceTestSupport
@testable import Gateway
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit
import TestSupport
import Testing

@Suite("Text limits hold in bytes as well as characters")
struct TextLimitTests {
    /// 200 characters of ~8 KB: each one an `e` with 20 combining acute accents.
    static let combiningTitle = String(repeating: "e" + String(repeating: "\u{301}", count: 20), count: 200)

    @Test("the rule: N characters and at most 4·N bytes")
    func rule() {
        #expect(Self.combiningTitle.count == 200)
        #expect(!TextLimit.fits(Self.combiningTitle, characters: 1...200))
        #expect(TextLimit.fits(String(repeating: "🙂", count: 200), characters: 1...200), "200 four-byte characters fit")
        #expect(!TextLimit.fits(String(repeating: "a", count: 201), characters: 1...200))
        #expect(!TextLimit.fits("", characters: 1...200))
    }

    @Test("an order title of 200 combining-character graphemes is INVALID_ARGUMENT over RPC and 400 over HTTP")
    func combiningTitle() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("cara")
            let refused = await code {
                _ = try await cluster.orders.publishOrder(
                    PublishOrderRequest(
                        title: Self.combiningTitle,
                        serviceType: .other,
                        price: Money(cents: 100),
                        location: .east
                    ),
                    options: bearer(customer)
                )
            }
            #expect(refused == .invalidArgument)
            let body = JSONValue.object([
                ("title", .string(Self.combiningTitle)), ("service_type", .string("other")), ("price", .number("1")),
                ("location", .string("EAST")),
            ])
            let answer = try await httpJSON(
                cluster.gatewayEndpoint,
                "POST",
                "/api/v1/customer/orders/publish",
                token: customer,
                json: String(decoding: body.serialized, as: UTF8.self)
            )
            #expect(answer.status == 400)
            #expect(
                answer.json?["detail"].flatMap { if case .string(let s) = $0 { s } else { nil } }?.contains("800 bytes")
                    == true
            )
            // Two hundred ordinary multi-byte characters are a fine title.
            let fine = try await cluster.orders.publishOrder(
                PublishOrderRequest(
                    title: String(repeating: "é", count: 200),
                    serviceType: .other,
                    price: Money(cents: 100),
                    location: .east
                ),
                options: bearer(customer)
            )
            #expect(fine.order?.title.count == 200)
        }
    }

    @Test(
        "the gateway answers a call refused for a too-large message with 502, not the 429 of other RESOURCE_EXHAUSTED"
    )
    func tooLargeIsNotARateLimit() {
        let tooLarge = RPCError(
            code: .resourceExhausted,
            message: "the response message of 5041512 bytes exceeds the maximum frame size of 4194304 bytes",
            metadata: Metadata([(RPCError.messageTooLargeKey, "5041512")])
        )
        #expect(Gateway.legacyStatus(tooLarge) == 502)
        #expect(Gateway.rpcStatus(tooLarge) == 502)
        #expect(Gateway.legacyDetail(tooLarge).hasPrefix("The answer is too large to send"))
        #expect(Gateway.rpcStatus(RPCError(code: .resourceExhausted, message: "slow down")) == 429)
    }
}
