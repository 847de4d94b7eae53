import EventBus
import Foundation
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPC
import ServiceKit

/// The auth service's tables (auth.sqlite) and its outbox.
enum AuthSchema {
    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("auth.v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE account (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        username TEXT NOT NULL COLLATE NOCASE UNIQUE,
                        email TEXT NOT NULL COLLATE NOCASE UNIQUE,
                        role INTEGER NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        last_login_at INTEGER,
                        active INTEGER NOT NULL DEFAULT 1,
                        deactivated_at INTEGER,
                        failed_logins INTEGER NOT NULL DEFAULT 0,
                        locked_until INTEGER);
                    CREATE INDEX account_by_created ON account (created_at DESC, id DESC);
                    CREATE INDEX account_by_role ON account (role, created_at DESC, id DESC);
                    CREATE TABLE refresh_token (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        user_id INTEGER NOT NULL REFERENCES account (id),
                        family TEXT NOT NULL,
                        expires_at INTEGER NOT NULL,
                        used_at INTEGER,
                        revoked_at INTEGER);
                    CREATE INDEX refresh_by_family ON refresh_token (family);
                    CREATE INDEX refresh_by_user ON refresh_token (user_id);
                    CREATE TABLE revoked_token (
                        jti TEXT PRIMARY KEY NOT NULL,
                        user_id INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL);
                    """
            )
        }
        migrator.registerMigration("auth.v2") { db in
            // Tokens issued up to this moment are refused (deactivation, a role change).
            try db.execute(sql: "ALTER TABLE account ADD COLUMN tokens_valid_after INTEGER")
            try db.execute(sql: "UPDATE account SET tokens_valid_after = deactivated_at WHERE active = 0")
        }
    }
}

/// One row of `account`.
struct Account: Sendable {
    var id: Int64
    var username: String
    var email: String
    var role: Int
    var passwordHash: String
    var createdAt: Int64
    var lastLoginAt: Int64?
    var active: Bool
    var deactivatedAt: Int64?
    var failedLogins: Int
    var lockedUntil: Int64?
    /// Tokens issued up to this moment (µs) are refused.
    var tokensValidAfter: Int64?

    init(row: Row) {
        id = row["id"]
        username = row["username"]
        email = row["email"]
        role = row["role"]
        passwordHash = row["password_hash"]
        createdAt = row["created_at"]
        lastLoginAt = row["last_login_at"]
        active = row["active"]
        deactivatedAt = row["deactivated_at"]
        failedLogins = row["failed_logins"]
        lockedUntil = row["locked_until"]
        tokensValidAfter = row["tokens_valid_after"]
    }

    var user: User {
        User(
            id: id,
            username: username,
            email: email,
            role: Role(protoValue: Int32(clamping: role)),
            createdAt: ProtoTimestamp(micros: createdAt),
            lastLoginAt: lastLoginAt.map { ProtoTimestamp(micros: $0) },
            active: active
        )
    }

    static func fetch(_ db: Database, id: Int64) throws -> Account? {
        try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [id]).map(Account.init)
    }

    static func fetch(_ db: Database, email: String) throws -> Account? {
        try Row.fetchOne(db, sql: "SELECT * FROM account WHERE email = ?", arguments: [email]).map(Account.init)
    }

    static func fetch(_ db: Database, username: String) throws -> Account? {
        try Row.fetchOne(db, sql: "SELECT * FROM account WHERE username = ?", arguments: [username]).map(Account.init)
    }
}

extension AuthSchema {
    /// Inserts an account and its `user.registered` event in one transaction.
    /// - Throws: ALREADY_EXISTS naming the username or e-mail that is taken.
    static func insertAccount(
        _ db: Database,
        username: String,
        email: String,
        role: Role,
        passwordHash: String,
        now: Date
    ) throws -> Account {
        do {
            try db.execute(
                sql: "INSERT INTO account (username, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [username, email, Int(role.protoValue), passwordHash, now.micros]
            )
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw conflict(error)
        }
        let id = db.lastInsertedRowID
        guard let account = try Account.fetch(db, id: id) else {
            throw RPCError(code: .internalError, message: "the new account could not be read back")
        }
        try Outbox.enqueue(
            db,
            UserRegistered(
                userId: id,
                username: username,
                email: email,
                role: role,
                occurredAt: ProtoTimestamp(date: now)
            )
        )
        return account
    }

    /// ALREADY_EXISTS for a uniqueness violation on username or e-mail.
    static func conflict(_ error: DatabaseError) -> RPCError {
        let message = error.message ?? ""
        if message.contains("account.email") {
            return RPCError(code: .alreadyExists, message: "email is already registered")
        }
        if message.contains("account.username") {
            return RPCError(code: .alreadyExists, message: "username is already taken")
        }
        return RPCError(code: .alreadyExists, message: "the account already exists")
    }
}

extension AuthSchema {
    /// Whether any admin account exists.
    static func hasAdmin(_ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS (SELECT 1 FROM account WHERE role = ?)",
            arguments: [Role.admin.protoValue]
        ) ?? false
    }
}

extension AuthSchema {
    /// Accounts newest first, of `role` (unspecified: any), active ones unless `includeInactive`.
    static func accounts(role: Role, includeInactive: Bool) -> KeysetPage {
        var page = KeysetPage(select: "SELECT * FROM account", keys: [.descending("created_at"), .descending("id")])
        if role != .unspecified { page.filter("role = ?", Int(role.protoValue)) }
        if !includeInactive { page.filter("active = 1") }
        return page
    }

    /// One page of accounts and the next page's token.
    static func accounts(_ db: Database, _ page: KeysetPage, size: Int, token: String) throws -> ([Account], String) {
        let (rows, next) = try page.fetch(db, size: size, token: token)
        return (rows.map(Account.init), next)
    }
}
