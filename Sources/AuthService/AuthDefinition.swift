import Crypto
import EventBus
import Foundation
import GRDB
public import MarketplaceAPI
import RPC
public import ServiceKit

extension ServiceDefinition {
    /// The auth service (port 8000): accounts, passwords, tokens. It issues the tokens everyone
    /// else verifies, and its revocation list comes from its own tables.
    /// - Parameters:
    ///   - signingKeyPath: the token signing key (default `<data>/keys/auth-ed25519.key`, created if absent).
    public static func auth(_ configuration: AuthConfiguration = AuthConfiguration(), signingKeyPath: String? = nil)
        -> ServiceDefinition
    {
        ServiceDefinition(
            name: "auth",
            rpcServices: [Auth.serviceName],
            tokens: .issues(keyPath: signingKeyPath),
            migrate: AuthSchema.migrate,
            now: configuration.now
        ) { environment in
            guard let signingKey = environment.signingKey else {
                throw ServiceHostError(message: "auth: the host gave no signing key")
            }
            let service = try await AuthService(
                database: environment.database,
                signingKey: signingKey,
                configuration: configuration,
                revocations: environment.revocations,
                logger: environment.logger
            )
            return ServiceParts(handlers: [service], revocationSnapshot: { try await service.revocationSnapshot() })
        }
    }
}

extension AuthService {
    /// Creates an admin account directly in the database (`marketplace admin create`, and the
    /// first admin of `make run`); publishes `user.registered` through the outbox like any other.
    /// - Throws: INVALID_ARGUMENT for a bad username, e-mail or password; ALREADY_EXISTS when taken.
    public static func createAdmin(
        dataDirectory: String,
        username: String,
        email: String,
        password: String,
        parameters: PasswordHasher.Parameters = .standard
    ) async throws -> User {
        let database = try ServiceHost.openDatabase(.auth(), dataDirectory: dataDirectory)
        try AccountRules.check(RegisterRequest(username: username, email: email, password: password, role: .admin))
        let email = AccountRules.normalizedEmail(email)
        let hash = try await PasswordHasher(parameters: parameters).hash(password)
        let now = Date()
        return try await database.write { db in
            try AuthSchema.insertAccount(
                db,
                username: username,
                email: email,
                role: .admin,
                passwordHash: hash,
                now: now
            ).user
        }
    }

    /// Whether any admin account exists (for creating the first one at start).
    public static func hasAdmin(dataDirectory: String) async throws -> Bool {
        let database = try ServiceHost.openDatabase(.auth(), dataDirectory: dataDirectory)
        return try await database.read { db in try AuthSchema.hasAdmin(db) }
    }
}
