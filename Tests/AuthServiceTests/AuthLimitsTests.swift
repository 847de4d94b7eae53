@testable import AuthService
import EventBus
import Foundation
import ServiceTestSupport
import Logging
import MarketplaceAPI
import NIOConcurrencyHelpers
import ProtoRuntime
import RPC
import ServiceKit
import TestSupport
import Testing

/// What a peer can make the auth service spend is bounded: password hashes at once (with a short
/// queue, then an immediate refusal), attempts per source address and per account.
@Suite("Auth limits: concurrent hashing, attempts per source and per account")
struct AuthLimitsTests {
    /// An auth server alone (no bus needed for registration and login), with `configure` applied.
    func withAuth(
        _ configure: @Sendable (inout AuthConfiguration) -> Void,
        _ body: @Sendable (Auth.Client) async throws -> Void
    ) async throws {
        let dir = try makeTemporaryDirectory("auth-limits")
        defer { try? FileManager.default.removeItem(at: dir) }
        var configuration = AuthConfiguration()
        configuration.passwordParameters = .testing
        configure(&configuration)
        // Port 9 (discard): the outbox relay retries in the background; nothing here needs the bus.
        let auth = try await ServiceHost.make(
            .auth(configuration),
            dataDirectory: dir.path,
            configuration: Cluster.server,
            peers: ["bus": [Endpoint(host: "127.0.0.1", port: 9)]],
            logger: Cluster.quiet
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await auth.run() }
            defer { group.cancelAll() }
            let client = Auth.Client(
                RPCClient(endpoints: [Endpoint(host: "127.0.0.1", port: try await auth.server.localPort)])
            )
            try await body(client)
            await client.client.close()
        }
    }

    func register(_ auth: Auth.Client, _ name: String, options: CallOptions = CallOptions()) async throws {
        _ = try await auth.register(
            RegisterRequest(username: name, email: "\(name)@example.com", password: "password123", role: .customer),
            options: options
        )
    }

    @Test(
        "40 concurrent logins with the real scrypt cost: past one hash at a time and a queue of 2, RESOURCE_EXHAUSTED at once with retry-after; then logins work again"
    )
    func hashingGate() async throws {
        try await withAuth({ configuration in
            configuration.passwordParameters = .standard  // the production cost (32 MiB, ~80 ms)
            configuration.hashConcurrency = 1
            configuration.hashQueue = 2
            configuration.perSource = (burst: 1000, perMinute: 1000)
            configuration.perAccount = (burst: 1000, perMinute: 1000)
        }) { auth in
            try await register(auth, "gina")
            let outcomes = NIOLockedValueBox<[RPCCode: Int]>([:])
            let retryAfter = NIOLockedValueBox<Set<String>>([])
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await auth.login(
                                LoginRequest(identifier: .username("gina"), password: "password123")
                            )
                            outcomes.withLockedValue { $0[.ok, default: 0] += 1 }
                        } catch let error as RPCError {
                            outcomes.withLockedValue { $0[error.code, default: 0] += 1 }
                            if let value = error.metadata["retry-after"] {
                                retryAfter.withLockedValue { _ = $0.insert(value) }
                            }
                        } catch {
                            outcomes.withLockedValue { $0[.unknown, default: 0] += 1 }
                        }
                    }
                }
            }
            let counts = outcomes.withLockedValue { $0 }
            #expect(counts[.ok, default: 0] >= 1)
            #expect(counts[.resourceExhausted, default: 0] >= 1, "\(counts)")
            #expect(counts[.ok, default: 0] + counts[.resourceExhausted, default: 0] == 40, "\(counts)")
            #expect(retryAfter.withLockedValue { $0 } == ["1"])
            // Nothing stays held: the next login goes through.
            #expect(
                !(try await auth.login(LoginRequest(identifier: .username("gina"), password: "password123")))
                    .accessToken.isEmpty
            )
        }
    }

    @Test(
        "per source: a burst of attempts, then RESOURCE_EXHAUSTED with retry-after; x-client-address counts only from a trusted peer"
    )
    func perSource() async throws {
        for trusted in [true, false] {
            try await withAuth({ configuration in
                configuration.perSource = (burst: 3, perMinute: 1)
                if !trusted { configuration.trustedProxies = [] }
            }) { auth in
                for name in ["ann", "ben", "cat"] { try await register(auth, name) }
                var refused: RPCError?
                do { try await register(auth, "dan") } catch let error as RPCError { refused = error }
                #expect(refused?.code == .resourceExhausted)
                #expect(refused?.message.contains("too many attempts from this address") == true)
                #expect(refused?.metadata["retry-after"].flatMap { Int($0) }.map { $0 >= 1 } == true)
                await #expect(throws: RPCError.self) {
                    _ = try await auth.login(LoginRequest(identifier: .username("ann"), password: "password123"))
                }
                // The gateway names the client it serves: another client has its own budget,
                // unless the peer is not a trusted proxy (then the header means nothing).
                let forwarded = CallOptions(metadata: Metadata([(MetadataKeys.clientAddress, "203.0.113.7")]))
                let other = await code { try await register(auth, "eve", options: forwarded) }
                #expect(other == (trusted ? nil : .resourceExhausted))
            }
        }
    }

    @Test("source addresses: IPv4-mapped as IPv4, IPv6 by its /64")
    func sourceBuckets() {
        #expect(AuthService.normalized("::FFFF:127.0.0.1") == "127.0.0.1")
        #expect(AuthService.bucket("203.0.113.7") == "203.0.113.7")
        #expect(AuthService.bucket("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64")
        #expect(AuthService.bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64")
        #expect(AuthService.bucket("2001:db8::1") == "2001:db8:0:0::/64")
        #expect(AuthService.bucket("::1") == "0:0:0:0::/64")
    }

    @Test(
        "per account: a burst of attempts on one account (existing or not), then RESOURCE_EXHAUSTED; other accounts are unaffected"
    )
    func perAccount() async throws {
        try await withAuth({ configuration in
            configuration.perAccount = (burst: 2, perMinute: 1)
            configuration.maximumFailedLogins = 100
        }) { auth in
            try await register(auth, "fay")
            try await register(auth, "gus")
            for account in ["fay", "nobody"] {
                for _ in 0..<2 {
                    #expect(
                        await code {
                            _ = try await auth.login(
                                LoginRequest(identifier: .username(account), password: "wrong-password")
                            )
                        } == .unauthenticated
                    )
                }
                #expect(
                    await code {
                        _ = try await auth.login(LoginRequest(identifier: .username(account), password: "password123"))
                    } == .resourceExhausted
                )
            }
            // By e-mail or username, case aside, it is one account's budget.
            #expect(
                await code {
                    _ = try await auth.login(LoginRequest(identifier: .username("FAY"), password: "password123"))
                } == .resourceExhausted
            )
            #expect(
                await code {
                    _ = try await auth.login(LoginRequest(identifier: .username("gus"), password: "password123"))
                } == nil
            )
        }
    }

    @Test("through the gateway: auth's refusal is 429 with Retry-After, and the gateway forwards who the client is")
    func gateway() async throws {
        try await Cluster.with(authLimits: { $0.perAccount = (burst: 1, perMinute: 1) }) { cluster in
            let http = LegacyClient(endpoint: cluster.gatewayEndpoint)
            _ = try await cluster.signUp("hal")
            let limited = try await http.call(
                "POST",
                "/auth/login",
                json: #"{"username":"hal","password":"password123"}"#
            )
            #expect(limited.status == 429, "\(limited.text)")
            #expect(limited.headers["retry-after"].flatMap { Int($0) }.map { $0 >= 1 } == true)
            #expect(
                limited.json?["detail"].map { "\($0)" }?.contains("too many login attempts for this account") == true,
                "\(limited.text)"
            )
        }
    }
}
