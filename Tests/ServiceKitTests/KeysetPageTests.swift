import Foundation
import ServiceTestSupport
import GRDB
import RPC
import ServiceKit
import TestSupport
import Testing

@Suite("KeysetPage: one pager for every list")
struct KeysetPageTests {
    /// 250 rows with many ties in the leading keys.
    func database() throws -> (DatabaseQueue, [(Double, Int64, Int64)]) {
        let db = try DatabaseQueue()
        var rows: [(Double, Int64, Int64)] = []
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, rating REAL NOT NULL, total INTEGER NOT NULL)")
            for id in 1...250 {
                let row = (Double(id % 7) / 2, Int64(id % 3), Int64(id))
                rows.append(row)
                try db.execute(
                    sql: "INSERT INTO t (id, rating, total) VALUES (?, ?, ?)",
                    arguments: [row.2, row.0, row.1]
                )
            }
        }
        return (db, rows)
    }

    @Test("mixed directions (rating desc, total desc, id asc): the pages, joined, are every row exactly once, in order")
    func pagesCoverTheOrder() throws {
        let (db, rows) = try database()
        let page = KeysetPage(
            select: "SELECT id, rating, total FROM t",
            keys: [.descending("rating", .real), .descending("total"), .ascending("id")]
        )
        let expected = rows.sorted { a, b in a.0 != b.0 ? a.0 > b.0 : a.1 != b.1 ? a.1 > b.1 : a.2 < b.2 }.map(\.2)
        for size in [1, 7, 50, 249, 250, 251] {
            var token = ""
            var seen: [Int64] = []
            repeat {
                let (page, next) = try db.read { db in try page.fetch(db, size: size, token: token) }
                #expect(page.count <= size)
                seen += page.map { $0["id"] as Int64 }
                token = next
            } while !token.isEmpty
            #expect(seen == expected, "page size \(size)")
        }
    }

    @Test("filters and the keyset condition are bound arguments; the SQL is the services' shape")
    func sql() throws {
        var page = KeysetPage(select: "SELECT * FROM orders", keys: [.descending("created_at"), .descending("id")])
        page.filter("customer_id = ?", 7)
        let (first, firstArguments) = try page.query(size: 50, token: "")
        #expect(first == "SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC LIMIT ?")
        #expect(firstArguments == [7, 51])
        let (next, arguments) = try page.query(size: 50, token: PageToken.encode(["1000", "5"]))
        #expect(
            next
                == "SELECT * FROM orders WHERE customer_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        #expect(arguments == [7, 1000, 1000, 5, 51])
    }

    @Test(
        "a token it did not issue: INVALID_ARGUMENT (other fields, wrong count, not numbers, not finite, too long, not base64)"
    )
    func foreignTokens() throws {
        let page = KeysetPage(select: "SELECT * FROM t", keys: [.descending("rating", .real), .ascending("id")])
        for token in [
            PageToken.encode(["1"]), PageToken.encode(["1", "2", "3"]), PageToken.encode(["x", "2"]),
            PageToken.encode(["1", "2.5"]),
            PageToken.encode(["inf", "2"]), PageToken.encode(["nan", "2"]), "%%%", String(repeating: "A", count: 600),
            Base64URL.encode(Data("v0:1\u{1F}2".utf8)),
        ] {
            #expect(throws: RPCError.self, "\(token)") { _ = try page.query(size: 10, token: token) }
            do { _ = try page.query(size: 10, token: token) } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
            }
        }
        #expect(try page.query(size: 10, token: PageToken.encode(["2.5", "9"])).1 == [2.5, 2.5, 9, 11])
    }

    @Test("a sort key column that is NULL, missing or not a number is an error naming the column, not a trap")
    func unusableKeys() throws {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE u (id INTEGER PRIMARY KEY, score REAL, label TEXT)")
            for id in 1...3 {
                try db.execute(sql: "INSERT INTO u (id, score, label) VALUES (?, NULL, 'x')", arguments: [id])
            }
        }
        let cases: [(String, KeysetPage.Key)] = [
            ("SELECT * FROM u", .descending("score", .real)),
            ("SELECT id FROM u", .descending("score", .real)),
            ("SELECT * FROM u", .ascending("label")),
        ]
        for (select, key) in cases {
            let page = KeysetPage(select: select, keys: [key, .ascending("id")])
            #expect(throws: KeysetPage.KeyError(column: key.column), "\(select) \(key.column)") {
                _ = try db.read { db in try page.fetch(db, size: 2, token: "") }
            }
        }
        // The last page needs no token, so nothing is read from its keys.
        let last = KeysetPage(select: "SELECT * FROM u", keys: [.descending("score", .real), .ascending("id")])
        #expect(try db.read { db in try last.fetch(db, size: 10, token: "") }.1 == "")
    }
}
