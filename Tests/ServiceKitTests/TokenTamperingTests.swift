import Crypto
import Foundation
import ServiceTestSupport
import MarketplaceAPI
import RPC
import ServiceKit
import TestSupport
import Testing
import UsersService

@Suite("Tokens against a service reached directly over TCP: every forgery is refused")
struct TokenTamperingTests {
    /// A token with these raw header and claims, signed by `key` (or carrying `signature`).
    func forge(header: String, claims: String, key: Curve25519.Signing.PrivateKey?, signature: String? = nil) throws
        -> String
    {
        let input = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(claims.utf8))
        if let signature { return input + "." + signature }
        guard let key else { return input + "." }
        return input + "." + Base64URL.encode(try key.signature(for: Data(input.utf8)))
    }

    @Test("no token, garbage, alg none, HS256, another key, tampered claims, expired, wrong token_use: UNAUTHENTICATED")
    func forgeries() async throws {
        try await Cluster.with { cluster in
            let (user, good) = try await cluster.signUp("ivan")
            // A method whose answer does not wait for any event: only the token decides.
            let profile = { (token: String?) async -> RPCCode? in
                await code {
                    _ = try await cluster.users.searchProviders(
                        SearchProvidersRequest(),
                        options: token.map(bearer) ?? CallOptions()
                    )
                }
            }
            #expect(await profile(good) == nil, "the genuine token works")
            #expect(await profile(nil) == .unauthenticated)
            #expect(await profile("garbage") == .unauthenticated)
            #expect(await profile("a.b.c") == .unauthenticated)
            #expect(await profile(String(repeating: "A", count: 10_000)) == .unauthenticated)

            let key = try cluster.signingKey
            let now = Int(cluster.clock.now().timeIntervalSince1970)
            let claims =
                #"{"sub":"\#(user.id)","role":1,"iat":\#(now),"exp":\#(now + 600),"jti":"x1","token_use":"access"}"#
            #expect(
                await profile(try forge(header: #"{"alg":"EdDSA","typ":"JWT"}"#, claims: claims, key: key)) == nil,
                "a correct forge with the real key works (sanity)"
            )
            #expect(
                await profile(try forge(header: #"{"alg":"none","typ":"JWT"}"#, claims: claims, key: nil))
                    == .unauthenticated,
                "alg none"
            )
            #expect(
                await profile(
                    try forge(header: #"{"alg":"none","typ":"JWT"}"#, claims: claims, key: nil, signature: "")
                ) == .unauthenticated
            )
            #expect(
                await profile(try forge(header: #"{"alg":"HS256","typ":"JWT"}"#, claims: claims, key: key))
                    == .unauthenticated,
                "other alg"
            )
            #expect(
                await profile(
                    try forge(header: #"{"alg":"EdDSA"}"#, claims: claims, key: Curve25519.Signing.PrivateKey())
                ) == .unauthenticated,
                "another key"
            )
            // The genuine token with its claims changed (role 3: admin) and the old signature.
            let parts = good.split(separator: ".")
            let elevated =
                #"{"sub":"\#(user.id)","role":3,"iat":\#(now),"exp":\#(now + 600),"jti":"x2","token_use":"access"}"#
            #expect(
                await profile(
                    try forge(header: #"{"alg":"EdDSA"}"#, claims: elevated, key: nil, signature: String(parts[2]))
                ) == .unauthenticated
            )
            // One signature character changed (a whole 6-bit group, not the last character's padding bits).
            var signature = Array(parts[2])
            signature[10] = signature[10] == "A" ? "B" : "A"
            #expect(
                await profile(String(parts[0]) + "." + String(parts[1]) + "." + String(signature)) == .unauthenticated,
                "bit-flipped signature"
            )
            // Claims of the wrong types or missing.
            let numericSub =
                #"{"sub":\#(user.id),"role":1,"iat":\#(now),"exp":\#(now + 600),"jti":"x3","token_use":"access"}"#
            #expect(
                await profile(try forge(header: #"{"alg":"EdDSA"}"#, claims: numericSub, key: key)) == .unauthenticated
            )
            let noExp = #"{"sub":"\#(user.id)","role":1,"iat":\#(now),"jti":"x4","token_use":"access"}"#
            #expect(await profile(try forge(header: #"{"alg":"EdDSA"}"#, claims: noExp, key: key)) == .unauthenticated)
            // Expired (moving the clock past 30 minutes).
            cluster.clock.advance(31 * 60)
            #expect(await profile(good) == .unauthenticated, "expired")
            // A "service" token signed with the auth key (not the service key).
            let fakeService =
                #"{"sub":"service:orders","iat":\#(now),"exp":\#(now + 4000),"jti":"x5","token_use":"service"}"#
            #expect(
                await code {
                    _ = try await cluster.auth.listUsers(
                        ListUsersRequest(),
                        options: bearer(try forge(header: #"{"alg":"EdDSA"}"#, claims: fakeService, key: key))
                    )
                } == .unauthenticated
            )
        }
    }

    @Test("the wrong role or kind of caller: PERMISSION_DENIED; service-only methods refuse users, admins included")
    func roles() async throws {
        try await Cluster.with { cluster in
            let (_, customer) = try await cluster.signUp("judy", role: .customer)
            let (_, provider) = try await cluster.signUp("ken", role: .provider)
            let (_, admin) = try await cluster.admin()
            #expect(
                await code {
                    _ = try await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(customer))
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.users.getMyCustomerProfile(GetMyProfileRequest(), options: bearer(provider))
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.users.adminListUsers(AdminListUsersRequest(), options: bearer(customer))
                } == .permissionDenied
            )
            #expect(
                await code {
                    _ = try await cluster.users.adminListUsers(AdminListUsersRequest(), options: bearer(admin))
                } == nil
            )
            for token in [customer, provider, admin] {
                #expect(
                    await code { _ = try await cluster.auth.listUsers(ListUsersRequest(), options: bearer(token)) }
                        == .permissionDenied
                )
                #expect(
                    await code {
                        _ = try await cluster.auth.deactivateUser(
                            DeactivateUserRequest(userId: 1),
                            options: bearer(token)
                        )
                    } == .permissionDenied
                )
            }
            // No login ever yields a service identity: what a login returns is an access token.
            let session = try await cluster.auth.login(
                LoginRequest(identifier: .username("judy"), password: "password123")
            )
            let claims =
                try JSONSerialization.jsonObject(
                    with: try #require(Base64URL.decode(session.accessToken.split(separator: ".")[1]))
                ) as? [String: Any]
            #expect(claims?["token_use"] as? String == "access")
            // A holder of the service key (a service on this machine) is let in.
            let identity = ServiceIdentity(
                name: "test",
                key: try ServiceKeys.serviceKey(dataDirectory: cluster.directory.path),
                now: cluster.clock.now
            )
            #expect(
                await code {
                    _ = try await cluster.auth.listUsers(ListUsersRequest(), options: bearer(try identity.token()))
                } == nil
            )
        }
    }

    @Test("until its revocation list is loaded a service refuses authenticated calls (UNAVAILABLE): it fails closed")
    func failClosed() async throws {
        let directory = try makeTemporaryDirectory("fail-closed")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = Curve25519.Signing.PrivateKey()
        // Auth and the bus are unreachable: the revocation snapshot never arrives.
        let nowhere = [Endpoint(host: "127.0.0.1", port: 1)]
        let users = try await ServiceHost.make(
            .users(),
            dataDirectory: directory.path,
            configuration: Cluster.server,
            peers: ["bus": nowhere, "auth": nowhere],
            authPublicKey: key.publicKey,
            logger: Cluster.quiet
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await users.run() }
            defer { group.cancelAll() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await users.server.localPort)
            let client = Users.Client(RPCClient(endpoints: [endpoint]))
            let now = Int64(Date().timeIntervalSince1970)
            let token = try JWT.sign(
                TokenClaims(sub: "5", role: 1, iat: now, exp: now + 600, jti: "j", use: "access"),
                key: key,
                keyID: KeyFile.keyID(key.publicKey)
            )
            #expect(
                await code { _ = try await client.searchProviders(SearchProvidersRequest(), options: bearer(token)) }
                    == .unavailable
            )
            #expect(!users.isReady)
            await client.client.close()
        }
    }
}
