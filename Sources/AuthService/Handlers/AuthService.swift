public import Crypto
import EventBus
public import Foundation
public import GRDB
public import Logging
public import MarketplaceAPI
import ProtoRuntime
public import RPC
public import ServiceKit

/// The auth service's settings.
public struct AuthConfiguration: Sendable {
    /// How long an access token is valid (30 minutes, as the legacy system).
    public var accessTokenLifetime: TimeInterval = 30 * 60
    /// How long an unused refresh token is valid.
    public var refreshTokenLifetime: TimeInterval = 30 * 24 * 3600
    /// Failed logins in a row that lock an account.
    public var maximumFailedLogins = 5
    /// How long a locked account stays locked.
    public var lockoutDuration: TimeInterval = 15 * 60
    /// scrypt's cost (`--password-hash-cost` sets log2 N). Tests use ``PasswordHasher/Parameters/testing``.
    public var passwordParameters: PasswordHasher.Parameters = .standard
    /// Password hashes at once, and how many may wait before a request is refused at once.
    public var hashConcurrency = ProcessInfo.processInfo.activeProcessorCount
    public var hashQueue = 16
    /// Logins and registrations per source address (the caller's, or the client's as a trusted
    /// proxy such as the gateway says in `x-client-address`): a burst, then so many per minute.
    public var perSource = (burst: 20, perMinute: 60)
    /// Login attempts per account (by the e-mail or username given, whether it exists or not).
    public var perAccount = (burst: 10, perMinute: 20)
    /// Peers whose `x-client-address` names the real client (the gateway's host).
    public var trustedProxies: Set<String> = ["127.0.0.1", "::1"]
    /// The clock (injectable, so tests need no sleeps).
    public var now: @Sendable () -> Date = { Date() }

    public init() {}
}

/// `marketplace.v1.Auth`: accounts, passwords (scrypt), Ed25519-signed access tokens, rotating
/// refresh tokens, lockout and revocation.
public struct AuthService: Auth.Handler {
    let database: DatabasePool
    let signingKey: Curve25519.Signing.PrivateKey
    let keyID: String
    let hasher: PasswordHasher
    let configuration: AuthConfiguration
    let revocations: RevocationList
    let decoy: String
    let logger: Logger
    let sourceLimiter: RateLimiter
    let accountLimiter: RateLimiter

    /// - Parameters:
    ///   - revocations: the list the service's own access control consults; updated at once on
    ///     logout and deactivation.
    public init(
        database: DatabasePool,
        signingKey: Curve25519.Signing.PrivateKey,
        configuration: AuthConfiguration,
        revocations: RevocationList,
        logger: Logger
    ) async throws {
        self.database = database
        self.signingKey = signingKey
        self.keyID = KeyFile.keyID(signingKey.publicKey)
        self.hasher = PasswordHasher(
            parameters: configuration.passwordParameters,
            gate: HashingGate(concurrency: configuration.hashConcurrency, queue: configuration.hashQueue)
        )
        self.sourceLimiter = RateLimiter(
            capacity: configuration.perSource.burst,
            perMinute: configuration.perSource.perMinute
        )
        self.accountLimiter = RateLimiter(
            capacity: configuration.perAccount.burst,
            perMinute: configuration.perAccount.perMinute
        )
        self.configuration = configuration
        self.revocations = revocations
        self.decoy = try await hasher.decoy()
        self.logger = logger
        try await loadRevocations()
    }

    var now: Date { configuration.now() }

    /// What every refused login hears.
    static let refusal = "invalid credentials (after too many failed attempts an account is locked for a while)"

    /// Who is asking: the peer's address, or for a trusted proxy (the gateway) the client
    /// address it forwards in `x-client-address`.
    func source(_ context: ServerContext) -> String {
        let host = AuthService.normalized(
            context.peer.lastIndex(of: ":").map { String(context.peer[..<$0]) } ?? context.peer
        )
        if configuration.trustedProxies.contains(host), let forwarded = context.metadata[MetadataKeys.clientAddress],
            !forwarded.isEmpty,
            forwarded.utf8.count <= 64
        {
            return AuthService.bucket(AuthService.normalized(forwarded))
        }
        return AuthService.bucket(host)
    }

    /// An IPv4-mapped IPv6 address as the IPv4 address it is.
    static func normalized(_ host: String) -> String {
        let lower = host.lowercased()
        return lower.hasPrefix("::ffff:") && lower.contains(".") ? String(lower.dropFirst(7)) : lower
    }

    /// The rate-limit key of an address: IPv4 whole, IPv6 by its /64 (one host has a whole /64
    /// to pick addresses from).
    static func bucket(_ host: String) -> String {
        guard host.contains(":") else { return host }
        var groups = host.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // Expand "::" so the first four groups are the prefix.
        if let gap = groups.firstIndex(of: ""), host.contains("::") {
            let present = groups.filter { !$0.isEmpty }
            let missing = max(0, 8 - present.count)
            groups =
                Array(groups[..<gap].filter { !$0.isEmpty }) + Array(repeating: "0", count: missing)
                + Array(groups[gap...].filter { !$0.isEmpty })
        }
        return groups.prefix(4).joined(separator: ":") + "::/64"
    }

    /// Takes a token from `limiter` for `key`, or refuses with RESOURCE_EXHAUSTED and when to retry.
    static func limit(_ limiter: RateLimiter, _ key: String, _ what: String) throws {
        guard let wait = limiter.take(key) else { return }
        throw RPCError(
            code: .resourceExhausted,
            message: "too many \(what); retry in \(wait) s",
            metadata: Metadata([("retry-after", String(wait))])
        )
    }

    /// The key that verifies this service's access tokens.
    public var publicKey: Curve25519.Signing.PublicKey { signingKey.publicKey }

    // MARK: Registration

    public func register(_ request: RegisterRequest, context: ServerContext) async throws -> RegisterResponse {
        guard request.role == .customer || request.role == .provider else {
            throw RPCError(
                code: .invalidArgument,
                message: "role must be CUSTOMER or PROVIDER (admins are created by admins)"
            )
        }
        return RegisterResponse(user: try await createAccount(request, role: request.role, context: context).user)
    }

    public func registerAdmin(_ request: RegisterRequest, context: ServerContext) async throws -> RegisterResponse {
        guard request.role == .admin || request.role == .unspecified else {
            throw RPCError(code: .invalidArgument, message: "role must be ADMIN")
        }
        let account = try await createAccount(request, role: .admin, context: context)
        context.logger.notice(
            "admin created",
            metadata: ["user": "\(account.id)", "by": "\(context.caller?.subject ?? "?")"]
        )
        return RegisterResponse(user: account.user)
    }

    func createAccount(_ request: RegisterRequest, role: Role, context: ServerContext) async throws -> Account {
        // Internal callers (the admin tool) are not rate limited; everyone else per source.
        if context.caller?.kind != .service {
            try AuthService.limit(sourceLimiter, source(context), "attempts from this address")
        }
        // The schema's rules checked username, e-mail and password before the handler ran.
        let username = request.username
        let email = AccountRules.normalizedEmail(request.email)
        let hash = try await hasher.hash(request.password)
        let now = self.now
        return try await write { db in
            try AuthSchema.insertAccount(db, username: username, email: email, role: role, passwordHash: hash, now: now)
        }
    }

    // MARK: Sessions

    public func login(_ request: LoginRequest, context: ServerContext) async throws -> TokenResponse {
        // One answer for every refusal (unknown account, wrong password, deactivated, locked), so
        // it tells nobody which accounts exist.
        let invalid = RPCError(code: .unauthenticated, message: AuthService.refusal)
        guard !request.password.isEmpty, request.password.count <= 128 else { throw invalid }
        try AuthService.limit(sourceLimiter, source(context), "attempts from this address")
        let identifier: String
        switch request.identifier {
        case .email(let email)?: identifier = "e:" + email.lowercased()
        case .username(let username)?: identifier = "u:" + username.lowercased()
        case nil: identifier = ""
        }
        // Before the account is looked up, so an unknown account is limited the same way.
        if !identifier.isEmpty, identifier.utf8.count <= 400 {
            try AuthService.limit(accountLimiter, identifier, "login attempts for this account")
        }
        let account: Account?
        switch request.identifier {
        case .email(let email)?:
            // A valid address (the schema's rule); the domain is compared lower-cased.
            let normalized = AccountRules.normalizedEmail(email)
            account = try await database.read { db in try Account.fetch(db, email: normalized) }
        case .username(let username)?:
            account = try await database.read { db in try Account.fetch(db, username: username) }
        case nil:
            // The schema's oneof rule answers this before the handler runs.
            throw RPCError(code: .invalidArgument, message: "login needs an email or a username")
        }
        guard let account, account.active else {
            // As slow as a wrong password, so the answer does not tell which accounts exist.
            _ = try await hasher.verify(request.password, against: decoy)
            context.logger.info("login refused: unknown or deactivated account", metadata: ["peer": "\(context.peer)"])
            throw invalid
        }
        let now = self.now
        if let until = account.lockedUntil, until > now.micros {
            context.logger.warning(
                "login refused: account locked",
                metadata: ["user": "\(account.id)", "peer": "\(context.peer)"]
            )
            throw invalid
        }
        guard try await hasher.verify(request.password, against: account.passwordHash) else {
            try await recordFailure(account, now: now, context: context)
            throw invalid
        }
        return try await write { db in
            // Checked again where it counts: a lock set by a concurrent failure (while this
            // password was being verified) or a deactivation refuses this login too.
            try db.execute(
                sql: """
                    UPDATE account SET failed_logins = 0, locked_until = NULL, last_login_at = ?
                    WHERE id = ? AND active = 1 AND (locked_until IS NULL OR locked_until <= ?)
                    """,
                arguments: [now.micros, account.id, now.micros]
            )
            guard db.changesCount == 1, let fresh = try Account.fetch(db, id: account.id) else { throw invalid }
            return try self.issueTokens(db, for: fresh, family: UUID().uuidString.lowercased(), now: now)
        }
    }

    func recordFailure(_ account: Account, now: Date, context: ServerContext) async throws {
        let maximum = configuration.maximumFailedLogins
        let lockUntil = now.addingTimeInterval(configuration.lockoutDuration).micros
        let locked = try await write { db -> Bool in
            // Already locked (by a concurrent failure): nothing more to count.
            guard
                let failures = try Int.fetchOne(
                    db,
                    sql: """
                        UPDATE account SET failed_logins = failed_logins + 1
                        WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?) RETURNING failed_logins
                        """,
                    arguments: [account.id, now.micros]
                )
            else { return false }
            guard failures >= maximum else { return false }
            try db.execute(
                sql: "UPDATE account SET failed_logins = 0, locked_until = ? WHERE id = ?",
                arguments: [lockUntil, account.id]
            )
            return true
        }
        if locked {
            context.logger.warning(
                "account locked after failed logins",
                metadata: ["user": "\(account.id)", "failures": "\(maximum)", "peer": "\(context.peer)"]
            )
        } else {
            context.logger.info(
                "login refused: wrong password",
                metadata: ["user": "\(account.id)", "peer": "\(context.peer)"]
            )
        }
    }

    /// A new access token and a new refresh token (in `family`), the refresh token stored as a hash.
    func issueTokens(_ db: Database, for account: Account, family: String, now: Date) throws -> TokenResponse {
        // `iat` has whole seconds and tokens issued up to `tokens_valid_after` are refused: a
        // token issued in that same second (a login right after a role change) dates itself to
        // the next second so that it works.
        var issued = Int64(now.timeIntervalSince1970)
        if let cutoff = account.tokensValidAfter { issued = max(issued, cutoff / 1_000_000 + 1) }
        let lifetime = Int64(configuration.accessTokenLifetime)
        let claims = TokenClaims(
            sub: String(account.id),
            role: account.role,
            iat: issued,
            exp: issued + lifetime,
            jti: UUID().uuidString.lowercased(),
            use: "access"
        )
        let access = try JWT.sign(claims, key: signingKey, keyID: keyID)
        var secret = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in secret.indices { secret[i] = UInt8.random(in: 0 ... .max, using: &generator) }
        let refresh = Base64URL.encode(secret)
        let refreshLifetime = Int64(configuration.refreshTokenLifetime)
        try db.execute(
            sql: "INSERT INTO refresh_token (token_hash, user_id, family, expires_at) VALUES (?, ?, ?, ?)",
            arguments: [AuthService.digest(refresh), account.id, family, now.micros + refreshLifetime * 1_000_000]
        )
        return TokenResponse(
            accessToken: access,
            tokenType: "bearer",
            expiresIn: lifetime,
            refreshToken: refresh,
            refreshExpiresIn: refreshLifetime,
            user: account.user
        )
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public func refresh(_ request: RefreshRequest, context: ServerContext) async throws -> TokenResponse {
        let refused = RPCError(code: .unauthenticated, message: "refresh token is invalid, expired or already used")
        guard !request.refreshToken.isEmpty, request.refreshToken.utf8.count <= 256 else { throw refused }
        let hash = AuthService.digest(request.refreshToken)
        let now = self.now
        enum Outcome {
            case issued(TokenResponse)
            case reused(family: String, user: Int64)
            case refused
        }
        let outcome = try await write { db -> Outcome in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM refresh_token WHERE token_hash = ?",
                    arguments: [hash]
                )
            else {
                return .refused
            }
            let family: String = row["family"]
            let userID: Int64 = row["user_id"]
            if (row["used_at"] as Int64?) != nil || (row["revoked_at"] as Int64?) != nil {
                // A used token presented again: whoever holds the family may have stolen it.
                try db.execute(
                    sql: "UPDATE refresh_token SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
                    arguments: [now.micros, family]
                )
                return .reused(family: family, user: userID)
            }
            guard (row["expires_at"] as Int64) > now.micros, let account = try Account.fetch(db, id: userID),
                account.active
            else {
                return .refused
            }
            try db.execute(
                sql: "UPDATE refresh_token SET used_at = ? WHERE token_hash = ?",
                arguments: [now.micros, hash]
            )
            return .issued(try self.issueTokens(db, for: account, family: family, now: now))
        }
        switch outcome {
        case .issued(let tokens): return tokens
        case .reused(_, let user):
            context.logger.warning(
                "refresh token reused; its family is revoked",
                metadata: ["user": "\(user)", "peer": "\(context.peer)"]
            )
            throw refused
        case .refused: throw refused
        }
    }

    public func logout(_ request: LogoutRequest, context: ServerContext) async throws -> LogoutResponse {
        let userID = try context.requireUserID()
        guard let tokenID = context.caller?.tokenID, let expires = context.caller?.expiresAt else {
            throw RPCError(code: .unauthenticated, message: "logout needs the access token being logged out")
        }
        let now = self.now
        let hash = request.refreshToken.isEmpty ? nil : AuthService.digest(request.refreshToken)
        try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO revoked_token (jti, user_id, expires_at) VALUES (?, ?, ?)",
                arguments: [tokenID, userID, expires.micros]
            )
            if let hash,
                let family = try String.fetchOne(
                    db,
                    sql: "SELECT family FROM refresh_token WHERE token_hash = ? AND user_id = ?",
                    arguments: [hash, userID]
                )
            {
                try db.execute(
                    sql: "UPDATE refresh_token SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
                    arguments: [now.micros, family]
                )
            }
            try Outbox.enqueue(
                db,
                TokenRevoked(
                    tokenId: tokenID,
                    userId: userID,
                    expiresAt: ProtoTimestamp(date: expires),
                    occurredAt: ProtoTimestamp(date: now)
                )
            )
        }
        revocations.revoke(tokenID: tokenID, until: expires)
        return LogoutResponse()
    }

    public func getMe(_ request: GetMeRequest, context: ServerContext) async throws -> User {
        let userID = try context.requireUserID()
        return try await user(userID)
    }

    public func getPublicKey(_ request: GetPublicKeyRequest, context: ServerContext) async throws -> PublicKeyResponse {
        PublicKeyResponse(algorithm: "EdDSA", publicKey: [UInt8](signingKey.publicKey.rawRepresentation), keyId: keyID)
    }

    // MARK: For services

    public func getUser(_ request: GetUserRequest, context: ServerContext) async throws -> User {
        try await user(request.userId)
    }

    func user(_ id: Int64) async throws -> User {
        guard let account = try await database.read({ db in try Account.fetch(db, id: id) }) else {
            throw RPCError(code: .notFound, message: "user \(id) not found")
        }
        return account.user
    }

    public func listUsers(_ request: ListUsersRequest, context: ServerContext) async throws -> ListUsersResponse {
        let size = try PageToken.size(request.pageSize)
        let page = AuthSchema.accounts(role: request.role, includeInactive: request.includeInactive)
        let (accounts, next) = try await database.read { db in
            try AuthSchema.accounts(db, page, size: size, token: request.pageToken)
        }
        return ListUsersResponse(users: accounts.map(\.user), nextPageToken: next)
    }

    public func updateAccount(_ request: UpdateAccountRequest, context: ServerContext) async throws -> User {
        // The schema's rules checked username, e-mail and role (a known role, not UNSPECIFIED).
        let username = request.username
        let email = request.email.map(AccountRules.normalizedEmail)
        let now = self.now
        let (user, reroled) = try await write { db -> (User, Bool) in
            guard let before = try Account.fetch(db, id: request.userId), before.active else {
                throw RPCError(code: .notFound, message: "user \(request.userId) not found")
            }
            do {
                if let username {
                    try db.execute(
                        sql: "UPDATE account SET username = ? WHERE id = ?",
                        arguments: [username, before.id]
                    )
                }
                if let email {
                    try db.execute(sql: "UPDATE account SET email = ? WHERE id = ?", arguments: [email, before.id])
                }
                if let role = request.role {
                    try db.execute(
                        sql: "UPDATE account SET role = ? WHERE id = ?",
                        arguments: [Int(role.protoValue), before.id]
                    )
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw AuthSchema.conflict(error)
            }
            guard let after = try Account.fetch(db, id: before.id) else {
                throw RPCError(code: .notFound, message: "user vanished")
            }
            if after.role != before.role {
                // Tokens carry the role: the old ones stop working (here at once, elsewhere
                // through user.updated).
                try db.execute(
                    sql: "UPDATE account SET tokens_valid_after = ? WHERE id = ?",
                    arguments: [now.micros, after.id]
                )
            }
            if after.username != before.username || after.email != before.email || after.role != before.role {
                try Outbox.enqueue(
                    db,
                    UserUpdated(
                        userId: after.id,
                        username: after.username,
                        email: after.email,
                        role: after.user.role,
                        previousRole: before.user.role,
                        occurredAt: ProtoTimestamp(date: now)
                    )
                )
            }
            return (after.user, after.role != before.role)
        }
        if reroled { revocations.refuseTokens(of: user.id, issuedUpTo: now) }
        return user
    }

    public func deactivateUser(_ request: DeactivateUserRequest, context: ServerContext) async throws
        -> DeactivateUserResponse
    {
        let now = self.now
        let (account, changed) = try await write { db -> (Account, Bool) in
            guard let account = try Account.fetch(db, id: request.userId) else {
                throw RPCError(code: .notFound, message: "user \(request.userId) not found")
            }
            guard account.active else { return (account, false) }
            try db.execute(
                sql: "UPDATE account SET active = 0, deactivated_at = ?, tokens_valid_after = ? WHERE id = ?",
                arguments: [now.micros, now.micros, account.id]
            )
            try db.execute(
                sql: "UPDATE refresh_token SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                arguments: [now.micros, account.id]
            )
            try Outbox.enqueue(
                db,
                UserDeactivated(userId: account.id, role: account.user.role, occurredAt: ProtoTimestamp(date: now))
            )
            return (try Account.fetch(db, id: account.id) ?? account, true)
        }
        if changed {
            revocations.refuseTokens(of: account.id, issuedUpTo: now)
            context.logger.notice(
                "account deactivated",
                metadata: ["user": "\(account.id)", "by": "\(context.caller?.subject ?? "?")"]
            )
        }
        return DeactivateUserResponse(user: account.user)
    }

    public func listRevocations(_ request: ListRevocationsRequest, context: ServerContext) async throws
        -> ListRevocationsResponse
    {
        try await revocationSnapshot()
    }

    func revocationSnapshot() async throws -> ListRevocationsResponse {
        let now = self.now.micros
        return try await database.read { db in
            let tokens = try Row.fetchAll(
                db,
                sql: "SELECT jti, expires_at FROM revoked_token WHERE expires_at > ?",
                arguments: [now]
            )
            .map {
                ListRevocationsResponse.RevokedToken(
                    tokenId: $0["jti"],
                    expiresAt: ProtoTimestamp(micros: $0["expires_at"])
                )
            }
            let users = try Row.fetchAll(
                db,
                sql: "SELECT id, tokens_valid_after FROM account WHERE tokens_valid_after IS NOT NULL"
            )
            .map {
                ListRevocationsResponse.DeactivatedUser(
                    userId: $0["id"],
                    deactivatedAt: ProtoTimestamp(micros: $0["tokens_valid_after"])
                )
            }
            return ListRevocationsResponse(tokens: tokens, users: users)
        }
    }

    /// Fills the service's own revocation list from its tables (at start).
    func loadRevocations() async throws {
        let revoked = try await revocationSnapshot()
        RevocationFollower.apply(revoked, to: revocations)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceWrite(logger: logger, body)
    }
}
