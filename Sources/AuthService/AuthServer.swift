import Crypto
import EventBus
import Foundation
import GRDB
public import Logging
public import MarketplaceAPI
public import RPC
import RPCSchema
import ServiceKit
public import ServiceLifecycle

/// The auth service as a process: its database (migrated before the port opens), its keys, the
/// RPC server with access control, and the outbox relay to the bus.
public struct AuthServer: Service {
    public let server: RPCServer
    public let service: AuthService
    let relay: OutboxRelay
    /// Replicas sharing the database learn of each other's revocations through the bus.
    let follower: RevocationFollower

    /// - Parameters:
    ///   - dataDirectory: `auth.sqlite` and `keys/` live here.
    ///   - signingKeyPath: the token signing key (default `<data>/keys/auth-ed25519.key`, created if absent).
    ///   - bus: the event bus's addresses.
    public static func make(
        dataDirectory: String, configuration: ServerConfiguration, bus: [Endpoint], signingKeyPath: String? = nil,
        auth: AuthConfiguration = AuthConfiguration(), logger: Logger = Logger(label: "auth")
    ) async throws -> AuthServer {
        let database = try ServiceDatabase.open(path: dataDirectory + "/auth.sqlite", migrate: AuthSchema.migrate)
        let signingKey = try KeyFile.loadOrCreate(path: signingKeyPath ?? ServiceKeys.authKeyPath(dataDirectory: dataDirectory))
        let serviceKey = try ServiceKeys.serviceKey(dataDirectory: dataDirectory)
        let revocations = RevocationList()
        let service = try await AuthService(
            database: database, signingKey: signingKey, configuration: auth, revocations: revocations, logger: logger)
        let verifier = TokenVerifier(
            accessKey: signingKey.publicKey, serviceKey: serviceKey.publicKey, revocations: revocations, now: auth.now)
        let server = RPCServer(
            services: [service], configuration: configuration, interceptors: [AccessControl(verifier: verifier)], logger: logger)
        let busClient = Broker.Client(RPCClient(endpoints: bus, interceptors: [ServiceIdentity(name: "auth", key: serviceKey).interceptor]))
        let relay = OutboxRelay(database: database, bus: busClient, logger: logger)
        let follower = RevocationFollower(
            revocations: revocations, snapshot: { [service] in try await service.revocationSnapshot() }, bus: busClient, service: "auth",
            logger: logger)
        return AuthServer(server: server, service: service, relay: relay, follower: follower)
    }

    public func run() async throws { try await runTogether([server, relay, follower]) }
}

extension AuthService {
    /// Creates an admin account directly in the database (`marketplace admin create`, and the
    /// first admin of `make run`); publishes `user.registered` through the outbox like any other.
    /// - Throws: INVALID_ARGUMENT for a bad username, e-mail or password; ALREADY_EXISTS when taken.
    public static func createAdmin(
        dataDirectory: String, username: String, email: String, password: String,
        parameters: PasswordHasher.Parameters = .standard
    ) async throws -> User {
        let database = try ServiceDatabase.open(path: dataDirectory + "/auth.sqlite", migrate: AuthSchema.migrate)
        let username = try AccountRules.username(username)
        let email = try AccountRules.email(email)
        let password = try AccountRules.password(password)
        let hash = try await PasswordHasher(parameters: parameters).hash(password)
        let now = Date()
        return try await database.write { db in
            try AuthSchema.insertAccount(db, username: username, email: email, role: .admin, passwordHash: hash, now: now).user
        }
    }

    /// Whether any admin account exists (for creating the first one at start).
    public static func hasAdmin(dataDirectory: String) async throws -> Bool {
        let database = try ServiceDatabase.open(path: dataDirectory + "/auth.sqlite", migrate: AuthSchema.migrate)
        return try await database.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE role = 3)") ?? false }
    }
}
