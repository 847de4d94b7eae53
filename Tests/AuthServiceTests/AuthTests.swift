import AuthService
import Crypto
import Foundation
import ServiceTestSupport
import MarketplaceAPI
import RPC
import ServiceKit
import TestSupport
import Testing

@Suite("Auth service: registration, login, lockout, refresh, logout (real servers, real SQLite)")
struct AuthTests {
    @Test("registration rules: each refusal is INVALID_ARGUMENT; admins cannot self-register")
    func registrationRules() async throws {
        try await Cluster.with { cluster in
            func register(_ username: String, _ email: String, _ password: String, _ role: Role = .customer) async
                -> RPCCode?
            {
                await code {
                    _ = try await cluster.auth.register(
                        RegisterRequest(username: username, email: email, password: password, role: role)
                    )
                }
            }
            #expect(await register("ab", "ab@example.com", "password123") == .invalidArgument, "username too short")
            #expect(
                await register(String(repeating: "a", count: 51), "long@example.com", "password123") == .invalidArgument
            )
            #expect(await register("bad name", "bn@example.com", "password123") == .invalidArgument, "space")
            #expect(await register("émile", "em@example.com", "password123") == .invalidArgument, "non-ASCII")
            for email in [
                "plain", "a@b", "a@@b.com", ".a@b.com", "a..b@c.com", "a@-b.com", "a@b.c", "a@b.123", "a b@c.com",
            ] {
                #expect(
                    await register("user_\(abs(email.hashValue) % 10000)", email, "password123") == .invalidArgument,
                    "\(email)"
                )
            }
            #expect(await register("shortpw", "s@example.com", "1234567") == .invalidArgument)
            #expect(await register("longpw", "l@example.com", String(repeating: "x", count: 129)) == .invalidArgument)
            #expect(await register("admin1", "a1@example.com", "password123", .admin) == .invalidArgument)
            #expect(await register("norole", "nr@example.com", "password123", .unspecified) == .invalidArgument)
            let ok = try await cluster.auth.register(
                RegisterRequest(
                    username: "Good.Name-1_x",
                    email: "Someone@Example.COM",
                    password: "12345678",
                    role: .provider
                )
            )
            #expect(ok.user?.username == "Good.Name-1_x")
            #expect(ok.user?.email == "Someone@example.com", "the domain is lower-cased")
            #expect(ok.user?.role == .provider)
        }
    }

    @Test("usernames and e-mails are unique ignoring case: ALREADY_EXISTS")
    func uniqueness() async throws {
        try await Cluster.with { cluster in
            try await cluster.signUp("alice")
            let sameName = await code {
                _ = try await cluster.auth.register(
                    RegisterRequest(
                        username: "ALICE",
                        email: "other@example.com",
                        password: "password123",
                        role: .customer
                    )
                )
            }
            #expect(sameName == .alreadyExists)
            let sameEmail = await code {
                _ = try await cluster.auth.register(
                    RegisterRequest(
                        username: "alice2",
                        email: "Alice@EXAMPLE.com",
                        password: "password123",
                        role: .customer
                    )
                )
            }
            #expect(sameEmail == .alreadyExists)
        }
    }

    @Test("20 concurrent registrations of one username: exactly one succeeds")
    func concurrentDuplicates() async throws {
        try await Cluster.with { cluster in
            let outcomes = try await withThrowingTaskGroup(of: RPCCode?.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        await code {
                            _ = try await cluster.auth.register(
                                RegisterRequest(
                                    username: "racer",
                                    email: "racer\(i)@example.com",
                                    password: "password123",
                                    role: .customer
                                )
                            )
                        }
                    }
                }
                return try await group.reduce(into: [RPCCode?]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == nil }.count == 1)
            #expect(outcomes.filter { $0 == .alreadyExists }.count == 19)
        }
    }

    @Test("login by e-mail or username; wrong password and unknown account are the same UNAUTHENTICATED")
    func login() async throws {
        try await Cluster.with { cluster in
            let (user, _) = try await cluster.signUp("carol")
            let byEmail = try await cluster.auth.login(
                LoginRequest(identifier: .email("CAROL@example.com"), password: "password123")
            )
            #expect(byEmail.tokenType == "bearer")
            #expect(byEmail.expiresIn == 1800)
            #expect(byEmail.user?.id == user.id)
            #expect(!byEmail.refreshToken.isEmpty)
            do {
                _ = try await cluster.auth.login(
                    LoginRequest(identifier: .username("carol"), password: "wrong-password")
                )
                Issue.record("a wrong password logged in")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated)
                #expect(error.message.hasPrefix("invalid credentials"))
            }
            do {
                _ = try await cluster.auth.login(
                    LoginRequest(identifier: .email("nobody@example.com"), password: "password123")
                )
                Issue.record("an unknown account logged in")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated)
                #expect(error.message.hasPrefix("invalid credentials"), "the same answer as a wrong password")
            }
            #expect(
                await code {
                    _ = try await cluster.auth.login(LoginRequest(identifier: .email("not-an-email"), password: "x"))
                } == .invalidArgument
            )
            #expect(
                await code { _ = try await cluster.auth.login(LoginRequest(password: "password123")) }
                    == .invalidArgument
            )
        }
    }

    @Test(
        "the access token: EdDSA, sub as a string, role as an integer, iat, exp 30 min later, jti; verifies with the public key"
    )
    func tokenShape() async throws {
        try await Cluster.with { cluster in
            let (user, token) = try await cluster.signUp("dave", role: .provider)
            let parts = token.split(separator: ".")
            #expect(parts.count == 3)
            let header =
                try JSONSerialization.jsonObject(with: try #require(Base64URL.decode(parts[0]))) as? [String: Any]
            let claims =
                try JSONSerialization.jsonObject(with: try #require(Base64URL.decode(parts[1]))) as? [String: Any]
            #expect(header?["alg"] as? String == "EdDSA")
            #expect(claims?["sub"] as? String == String(user.id))
            #expect(claims?["role"] as? Int == 2)
            let iat = try #require(claims?["iat"] as? Int)
            #expect(claims?["exp"] as? Int == iat + 1800)
            #expect((claims?["jti"] as? String)?.isEmpty == false)
            let key = try await cluster.auth.getPublicKey(GetPublicKeyRequest())
            #expect(key.algorithm == "EdDSA")
            let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey)
            #expect(
                publicKey.isValidSignature(
                    try #require(Base64URL.decode(parts[2])),
                    for: Data("\(parts[0]).\(parts[1])".utf8)
                )
            )
            let me = try await cluster.auth.getMe(GetMeRequest(), options: bearer(token))
            #expect(me.id == user.id)
            #expect(me.lastLoginAt != nil)
        }
    }

    @Test("5 failed logins lock the account for 15 minutes (even the right password); the lock expires")
    func lockout() async throws {
        try await Cluster.with { cluster in
            try await cluster.signUp("erin")
            for _ in 0..<4 {
                #expect(
                    await code {
                        _ = try await cluster.auth.login(
                            LoginRequest(identifier: .username("erin"), password: "nope-nope")
                        )
                    } == .unauthenticated
                )
            }
            // Four failures: not locked yet, and a success resets the count.
            _ = try await cluster.auth.login(LoginRequest(identifier: .username("erin"), password: "password123"))
            for _ in 0..<5 {
                #expect(
                    await code {
                        _ = try await cluster.auth.login(
                            LoginRequest(identifier: .username("erin"), password: "nope-nope")
                        )
                    } == .unauthenticated
                )
            }
            do {
                _ = try await cluster.auth.login(LoginRequest(identifier: .username("erin"), password: "password123"))
                Issue.record("a locked account logged in")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated)
                #expect(
                    error.message.hasPrefix("invalid credentials"),
                    "a lock looks like any refusal: no account enumeration"
                )
            }
            cluster.clock.advance(14 * 60)
            #expect(
                await code {
                    _ = try await cluster.auth.login(
                        LoginRequest(identifier: .username("erin"), password: "password123")
                    )
                } == .unauthenticated
            )
            cluster.clock.advance(61)
            _ = try await cluster.auth.login(LoginRequest(identifier: .username("erin"), password: "password123"))
        }
    }

    @Test("a burst of concurrent wrong and right passwords: once locked, no login gets through")
    func lockoutUnderConcurrency() async throws {
        try await Cluster.with { cluster in
            try await cluster.signUp("flood")
            // 5 failures lock the account; then 20 concurrent attempts with the right password and
            // 20 with wrong ones: none may succeed while it is locked.
            for _ in 0..<5 {
                _ = await code {
                    _ = try await cluster.auth.login(
                        LoginRequest(identifier: .username("flood"), password: "wrong-pass")
                    )
                }
            }
            let outcomes = try await withThrowingTaskGroup(of: RPCCode?.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        await code {
                            _ = try await cluster.auth.login(
                                LoginRequest(
                                    identifier: .username("flood"),
                                    password: i % 2 == 0 ? "password123" : "wrong-pass"
                                )
                            )
                        }
                    }
                }
                var all: [RPCCode?] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            #expect(outcomes.allSatisfy { $0 == .unauthenticated })
        }
    }

    @Test("refresh rotates: the new pair works, the used refresh token is refused, and reusing it revokes the family")
    func refreshRotation() async throws {
        try await Cluster.with { cluster in
            try await cluster.signUp("frank")
            let first = try await cluster.auth.login(
                LoginRequest(identifier: .username("frank"), password: "password123")
            )
            let second = try await cluster.auth.refresh(RefreshRequest(refreshToken: first.refreshToken))
            #expect(second.refreshToken != first.refreshToken)
            #expect(second.accessToken != first.accessToken)
            _ = try await cluster.auth.getMe(GetMeRequest(), options: bearer(second.accessToken))
            // The old one again: refused, and the whole family with it (second's refresh token too).
            #expect(
                await code { _ = try await cluster.auth.refresh(RefreshRequest(refreshToken: first.refreshToken)) }
                    == .unauthenticated
            )
            #expect(
                await code { _ = try await cluster.auth.refresh(RefreshRequest(refreshToken: second.refreshToken)) }
                    == .unauthenticated
            )
            #expect(
                await code { _ = try await cluster.auth.refresh(RefreshRequest(refreshToken: "garbage")) }
                    == .unauthenticated
            )
            // Expired refresh tokens are refused.
            let third = try await cluster.auth.login(
                LoginRequest(identifier: .username("frank"), password: "password123")
            )
            cluster.clock.advance(31 * 24 * 3600)
            #expect(
                await code { _ = try await cluster.auth.refresh(RefreshRequest(refreshToken: third.refreshToken)) }
                    == .unauthenticated
            )
        }
    }

    @Test("logout revokes the access token (at auth at once, at users through the feed) and the refresh token")
    func logout() async throws {
        try await Cluster.with { cluster in
            try await cluster.signUp("grace")
            let session = try await cluster.auth.login(
                LoginRequest(identifier: .username("grace"), password: "password123")
            )
            // The token works at users (its profile comes with the user.registered event).
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyCustomerProfile(
                        GetMyProfileRequest(),
                        options: bearer(session.accessToken)
                    )) != nil
                }
            )
            _ = try await cluster.auth.logout(
                LogoutRequest(refreshToken: session.refreshToken),
                options: bearer(session.accessToken)
            )
            #expect(
                await code { _ = try await cluster.auth.getMe(GetMeRequest(), options: bearer(session.accessToken)) }
                    == .unauthenticated
            )
            #expect(
                await code { _ = try await cluster.auth.refresh(RefreshRequest(refreshToken: session.refreshToken)) }
                    == .unauthenticated
            )
            #expect(
                try await eventually {
                    await code {
                        _ = try await cluster.users.getMyCustomerProfile(
                            GetMyProfileRequest(),
                            options: bearer(session.accessToken)
                        )
                    }
                        == .unauthenticated
                },
                "the users service learns of the revocation"
            )
            // A new login works.
            let again = try await cluster.auth.login(
                LoginRequest(identifier: .username("grace"), password: "password123")
            )
            _ = try await cluster.auth.getMe(GetMeRequest(), options: bearer(again.accessToken))
        }
    }

    @Test("admins are created only by admins: RegisterAdmin needs an admin token")
    func adminRegistration() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("henry")
            let request = RegisterRequest(
                username: "boss",
                email: "boss@example.com",
                password: "password123",
                role: .admin
            )
            #expect(await code { _ = try await cluster.auth.registerAdmin(request) } == .unauthenticated)
            #expect(
                await code { _ = try await cluster.auth.registerAdmin(request, options: bearer(customer)) }
                    == .permissionDenied
            )
            let (_, admin) = try await cluster.admin()
            let created = try await cluster.auth.registerAdmin(request, options: bearer(admin))
            #expect(created.user?.role == .admin)
        }
    }
}
