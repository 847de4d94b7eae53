import Foundation
public import GRDB
import ProtoRuntime
public import RPC
public import Logging

/// Opens a service's SQLite database (WAL) and applies its migrations before anyone uses it.
public enum ServiceDatabase {
    /// - Parameters:
    ///   - path: the file (its directory is created).
    ///   - migrate: registers the service's migrations.
    public static func open(path: String, migrate: (inout DatabaseMigrator) -> Void) throws -> DatabasePool {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrate(&migrator)
        try migrator.migrate(pool)
        return pool
    }
}

/// Keyset page tokens: the sort key of the last row of a page, opaque to clients
/// (base64url of `v1:<fields joined by \u{1F}>`). A token that does not decode is INVALID_ARGUMENT.
public enum PageToken {
    public static func encode(_ fields: [String]) -> String {
        Base64URL.encode(Data(("v1:" + fields.joined(separator: "\u{1F}")).utf8))
    }

    /// The fields of `token` (`expecting` of them); nil for an empty token (the first page).
    public static func decode(_ token: String, expecting count: Int) throws -> [String]? {
        if token.isEmpty { return nil }
        guard token.utf8.count <= 512, let data = Base64URL.decode(token), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("v1:")
        else { throw RPCError(code: .invalidArgument, message: "page_token is not a token this service issued") }
        let fields = text.dropFirst(3).split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == count else { throw RPCError(code: .invalidArgument, message: "page_token is not a token this service issued") }
        return fields
    }

    /// A page size: 0 means `defaultSize`; more than `maximum` is INVALID_ARGUMENT.
    public static func size(_ requested: Int32, default defaultSize: Int = 50, maximum: Int = 100) throws -> Int {
        if requested == 0 { return defaultSize }
        guard requested > 0, Int(requested) <= maximum else {
            throw RPCError(code: .invalidArgument, message: "page_size must be between 1 and \(maximum)")
        }
        return Int(requested)
    }
}

extension ServerContext {
    /// The calling user's id, or UNAUTHENTICATED (for handlers of methods only users call).
    public func requireUserID() throws -> Int64 {
        guard let id = caller?.userID else { throw RPCError(code: .unauthenticated, message: "this method needs a signed-in user") }
        return id
    }

    /// Whether the caller is an admin user.
    public var callerIsAdmin: Bool { caller?.kind == .user && caller?.roles.contains(RoleName.admin) == true }
}

extension DatabasePool {
    /// A read whose errors, other than ``RPCError``s, become INTERNAL (logged, never sent: they
    /// may name tables and values).
    public func serviceRead<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await read(body) } catch let error as RPCError { throw error } catch {
            logger.error("database read failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "internal error")
        }
    }

    /// A write transaction, with errors mapped as in ``serviceRead(logger:_:)``.
    public func serviceWrite<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await write(body) } catch let error as RPCError { throw error } catch {
            logger.error("database write failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "internal error")
        }
    }
}

/// Which fields a partial update changes: those named in its `update_mask`, or, with no mask,
/// those present (set optionals and messages, non-empty lists). A mask naming an unknown field
/// is INVALID_ARGUMENT.
public struct UpdateSelection: Sendable {
    public let mask: Set<String>

    public init(mask: [String], known: Set<String>) throws {
        for name in mask where !known.contains(name) {
            throw RPCError(code: .invalidArgument, message: "update_mask names unknown field '\(name)'")
        }
        self.mask = Set(mask)
    }

    public func wants(_ field: String, present: Bool) -> Bool { mask.isEmpty ? present : mask.contains(field) }
}
