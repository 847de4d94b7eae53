import Foundation
public import GRDB
public import Logging
import RPC

/// Opens a service's SQLite database (WAL) and applies its migrations before anyone uses it.
public enum ServiceDatabase {
    /// How a commit reaches the disk (SQLite's `synchronous` in WAL mode).
    public enum Durability: String, Sendable {
        /// A commit survives a crash of the process; the last commits may be lost if the machine
        /// loses power (the default of the services whose state can be rebuilt or is re-sent).
        case normal = "NORMAL"
        /// Every commit is on the disk before it returns: it survives power loss too (money).
        case full = "FULL"
    }

    /// - Parameters:
    ///   - path: the file (its directory is created).
    ///   - durability: `.normal` unless every commit must survive power loss.
    ///   - migrate: registers the service's migrations.
    public static func open(
        path: String,
        durability: Durability = .normal,
        migrate: (inout DatabaseMigrator) -> Void
    ) throws -> DatabasePool {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability.rawValue)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrate(&migrator)
        try migrator.migrate(pool)
        return pool
    }
}

extension DatabasePool {
    /// A read whose errors, other than ``RPCError``s, become INTERNAL (logged, never sent: they
    /// may name tables and values).
    public func serviceRead<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        do { return try await read(body) } catch let error as RPCError { throw error } catch {
            logger.error("database read failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "internal error")
        }
    }

    /// A write transaction, with errors mapped as in ``serviceRead(logger:_:)``.
    public func serviceWrite<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        do { return try await write(body) } catch let error as RPCError { throw error } catch {
            logger.error("database write failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "internal error")
        }
    }
}
