public import GRDB
import RPC

/// One keyset-paginated list, the pager every service's lists share: rows of `select` that
/// pass the filters, ordered by `keys` (the last key unique, so the order is total), one page
/// at a time. The next page's token is the sort key of the page's last row (``PageToken``), so
/// a page costs an index range scan however deep it is, and rows added meanwhile neither repeat
/// nor vanish.
///
/// ```swift
/// var page = KeysetPage(select: "SELECT * FROM orders", keys: [.descending("created_at"), .descending("id")])
/// page.filter("customer_id = ?", customer)
/// let (rows, next) = try page.fetch(db, size: 50, token: request.pageToken)
/// ```
public struct KeysetPage: Sendable {
    /// A column of the sort key.
    public struct Key: Sendable, Hashable {
        public enum Kind: Sendable, Hashable { case integer, real }
        public let column: String
        public let descending: Bool
        public let kind: Kind

        public static func descending(_ column: String, _ kind: Kind = .integer) -> Key {
            Key(column: column, descending: true, kind: kind)
        }
        public static func ascending(_ column: String, _ kind: Kind = .integer) -> Key {
            Key(column: column, descending: false, kind: kind)
        }
    }

    /// The statement up to its `WHERE` (`SELECT * FROM orders`); it must select every key column.
    public let select: String
    public let keys: [Key]
    var conditions: [String] = []
    var arguments: [DatabaseValue] = []

    /// - Parameters:
    ///   - select: written by the service, never from input.
    ///   - keys: at least one; the last must be unique (an id).
    public init(select: String, keys: [Key]) {
        self.select = select
        self.keys = keys
    }

    /// Keeps only rows that satisfy `condition` (SQL with `?` placeholders for `values`).
    public mutating func filter(_ condition: String, _ values: any DatabaseValueConvertible...) {
        filter(condition, arguments: values)
    }

    /// ``filter(_:_:)`` with the values as an array.
    public mutating func filter(_ condition: String, arguments values: [any DatabaseValueConvertible]) {
        conditions.append(condition)
        arguments += values.map(\.databaseValue)
    }

    /// The page's SQL and arguments (one row more than the page, to know whether another follows).
    /// - Throws: INVALID_ARGUMENT for a token this pager did not issue.
    public func query(size: Int, token: String) throws -> (String, StatementArguments) {
        var conditions = self.conditions
        var arguments = self.arguments
        if let fields = try PageToken.decode(token, expecting: keys.count) {
            var values: [DatabaseValue] = []
            for (key, field) in zip(keys, fields) {
                switch key.kind {
                case .integer:
                    guard let value = Int64(field) else { throw PageToken.invalid }
                    values.append(value.databaseValue)
                case .real:
                    guard let value = Double(field), value.isFinite else { throw PageToken.invalid }
                    values.append(value.databaseValue)
                }
            }
            let (condition, bound) = KeysetPage.after(keys[...], values[...])
            conditions.append(condition)
            arguments += bound
        }
        arguments.append((size + 1).databaseValue)
        let order = keys.map { "\($0.column) \($0.descending ? "DESC" : "ASC")" }.joined(separator: ", ")
        let sql =
            select + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY \(order) LIMIT ?"
        return (sql, StatementArguments(arguments))
    }

    /// Rows strictly after `values` in the keys' order:
    /// `(k1 < ? OR (k1 = ? AND (k2 < ? OR (k2 = ? AND k3 > ?))))` (its depth is the number of
    /// keys, which the service chooses).
    static func after(_ keys: ArraySlice<Key>, _ values: ArraySlice<DatabaseValue>) -> (String, [DatabaseValue]) {
        guard let key = keys.first, let value = values.first else { return ("1", []) }
        let beyond = "\(key.column) \(key.descending ? "<" : ">") ?"
        if keys.count == 1 { return (beyond, [value]) }
        let (rest, restValues) = after(keys.dropFirst(), values.dropFirst())
        return ("(\(beyond) OR (\(key.column) = ? AND \(rest)))", [value, value] + restValues)
    }

    /// Fetches one page and the next page's token ("" after the last page).
    /// - Throws: INVALID_ARGUMENT for a token this pager did not issue; the database's errors.
    public func fetch(_ db: Database, size: Int, token: String) throws -> ([Row], String) {
        let (sql, arguments) = try query(size: size, token: token)
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        let page = Array(rows.prefix(size))
        var next = ""
        if rows.count > size, let last = page.last {
            next = PageToken.encode(try keys.map { key in try KeysetPage.keyField(key, of: last) })
        }
        return (page, next)
    }

    /// The token field of `key` in `row`.
    /// - Throws: ``KeysetPage/KeyError`` when the statement did not select the column or it holds
    ///   NULL or another type (a fault of the service's SQL, never of the caller).
    static func keyField(_ key: Key, of row: Row) throws -> String {
        let value: DatabaseValue? = row.hasColumn(key.column) ? row[key.column] : nil
        switch key.kind {
        case .integer:
            guard let value, let integer = Int64.fromDatabaseValue(value) else { throw KeyError(column: key.column) }
            return String(integer)
        case .real:
            guard let value, let real = Double.fromDatabaseValue(value), real.isFinite else {
                throw KeyError(column: key.column)
            }
            return String(real)
        }
    }

    /// A page's last row lacks a usable sort key (the column is missing, NULL or of another type).
    public struct KeyError: Error, Hashable, CustomStringConvertible {
        public let column: String
        public init(column: String) { self.column = column }
        public var description: String {
            "keyset page: the sort key column '\(column)' is missing, NULL or not a number"
        }
    }
}
