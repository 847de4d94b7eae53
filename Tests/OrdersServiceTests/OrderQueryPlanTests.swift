import Foundation
import ServiceTestSupport
import GRDB
import MarketplaceAPI
@testable import OrdersService
import ServiceKit
import TestSupport
import Testing

@Suite("Order lists: every page is an index range scan (the same cost at any depth and table size)")
struct OrderQueryPlanTests {
    @Test(
        "query plans use an index in the list's order: no full scan, no sort",
        arguments: [
            ("customer active", OrderPage.customerActive(7)),
            ("customer history", OrderPage.customerHistory(7)),
            (
                "available",
                try! OrderPage.available(
                    ListAvailableOrdersRequest(location: .north, minPrice: Money(cents: 100), keyword: "sink")
                )
            ),
            ("provider active", OrderPage.providerActive(9)),
            ("provider history", OrderPage.providerHistory(9)),
            ("admin by status", try! OrderPage.admin(.pending)),
            ("admin all", try! OrderPage.admin(.unspecified)),
            ("pending review", OrderPage.pendingReview),
        ]
    )
    func plans(name: String, page: OrderPage) async throws {
        let directory = try makeTemporaryDirectory("plans")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try ServiceDatabase.open(
            path: directory.appendingPathComponent("orders.sqlite").path,
            migrate: OrdersSchema.migrate
        )
        for token in ["", PageToken.encode(["1000", "5"])] {
            let (sql, arguments) = try page.query(size: 50, token: token)
            let plan = try await database.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map {
                    $0["detail"] as String
                }
            }
            let text = plan.joined(separator: " | ")
            #expect(text.contains("USING INDEX") || text.contains("USING COVERING INDEX"), "\(name): \(text)")
            #expect(!text.contains("TEMP B-TREE"), "\(name) sorts: \(text)")
            #expect(
                !plan.contains { $0.hasPrefix("SCAN orders") && !$0.contains("INDEX") },
                "\(name) scans the table: \(text)"
            )
        }
    }
}
