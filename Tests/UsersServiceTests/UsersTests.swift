import EventBus
import Foundation
import ServiceTestSupport
import GRDB
import MarketplaceAPI
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit
import TestSupport
import Testing

@Suite("Users service: profiles, admin, verification, search, events (real servers, real SQLite)")
struct UsersTests {
    @Test("registration creates the matching empty profile through user.registered; admins get none")
    func profilesFromRegistration() async throws {
        try await Cluster.with { cluster in
            let (customer, customerToken) = try await cluster.signUp("lena", role: .customer)
            let (_, providerToken) = try await cluster.signUp("mike", role: .provider)
            let (admin, _) = try await cluster.admin()
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyCustomerProfile(
                        GetMyProfileRequest(),
                        options: bearer(customerToken)
                    )) != nil
                }
            )
            let profile = try await cluster.users.getMyCustomerProfile(
                GetMyProfileRequest(),
                options: bearer(customerToken)
            )
            #expect(profile.userId == customer.id)
            #expect(profile.location == .north)
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyProviderProfile(
                        GetMyProfileRequest(),
                        options: bearer(providerToken)
                    )) != nil
                }
            )
            let provider = try await cluster.users.getMyProviderProfile(
                GetMyProfileRequest(),
                options: bearer(providerToken)
            )
            #expect(provider.rating == 5.0)
            #expect(provider.active)
            let (_, adminToken) = (
                admin,
                try await cluster.auth.login(LoginRequest(identifier: .username("root"), password: "adminpass1"))
                    .accessToken
            )
            let detail = try await cluster.users.adminGetUser(
                AdminGetUserRequest(userId: admin.id),
                options: bearer(adminToken)
            )
            #expect(detail.profile == nil)
        }
    }

    @Test(
        "own profile: create conflicts with the auto-created one; partial updates leave absent fields alone; bad values are INVALID_ARGUMENT"
    )
    func ownProfile() async throws {
        try await Cluster.with { cluster in
            let (_, token) = try await cluster.signUp("nina", role: .customer)
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyCustomerProfile(GetMyProfileRequest(), options: bearer(token)))
                        != nil
                }
            )
            #expect(
                await code {
                    _ = try await cluster.users.createMyCustomerProfile(
                        CreateCustomerProfileRequest(),
                        options: bearer(token)
                    )
                } == .alreadyExists
            )
            var update = UpdateCustomerProfileRequest()
            update.address = "1 Main Street"
            update.budgetPreference = Money(cents: 12_50)
            let first = try await cluster.users.updateMyCustomerProfile(update, options: bearer(token))
            #expect(first.address == "1 Main Street")
            #expect(first.location == .north)
            var second = UpdateCustomerProfileRequest()
            second.location = .mid
            let after = try await cluster.users.updateMyCustomerProfile(second, options: bearer(token))
            #expect(after.location == .mid)
            #expect(after.address == "1 Main Street", "absent fields are untouched")
            #expect(after.budgetPreference?.cents == 1250)
            // A mask can clear a field.
            let cleared = try await cluster.users.updateMyCustomerProfile(
                UpdateCustomerProfileRequest(updateMask: ["address"]),
                options: bearer(token)
            )
            #expect(cleared.address == "")
            #expect(cleared.location == .mid)
            #expect(
                await code {
                    _ = try await cluster.users.updateMyCustomerProfile(
                        UpdateCustomerProfileRequest(),
                        options: bearer(token)
                    )
                } == .invalidArgument
            )
            #expect(
                await code {
                    _ = try await cluster.users.updateMyCustomerProfile(
                        UpdateCustomerProfileRequest(updateMask: ["nope"]),
                        options: bearer(token)
                    )
                } == .invalidArgument
            )
            var badLocation = UpdateCustomerProfileRequest()
            badLocation.location = .unrecognized(42)
            #expect(
                await code { _ = try await cluster.users.updateMyCustomerProfile(badLocation, options: bearer(token)) }
                    == .invalidArgument
            )
            var longAddress = UpdateCustomerProfileRequest()
            longAddress.address = String(repeating: "x", count: 256)
            #expect(
                await code { _ = try await cluster.users.updateMyCustomerProfile(longAddress, options: bearer(token)) }
                    == .invalidArgument
            )
            var negative = UpdateCustomerProfileRequest()
            negative.budgetPreference = Money(cents: -1)
            #expect(
                await code { _ = try await cluster.users.updateMyCustomerProfile(negative, options: bearer(token)) }
                    == .invalidArgument
            )
            // A customer cannot hold a provider profile.
            #expect(
                await code {
                    _ = try await cluster.users.createMyProviderProfile(
                        CreateProviderProfileRequest(),
                        options: bearer(token)
                    )
                } == .permissionDenied
            )
        }
    }

    @Test("admin: list by role with pagination, get, update account and profile, role change swaps the profile kind")
    func adminManagement() async throws {
        try await Cluster.with { cluster in
            let (_, adminToken) = try await cluster.admin()
            var customers: [User] = []
            for i in 0..<5 { customers.append(try await cluster.signUp("cust\(i)", role: .customer).user) }
            let (provider, _) = try await cluster.signUp("prov0", role: .provider)
            var seen: [Int64] = []
            var token = ""
            repeat {
                let page = try await cluster.users.adminListUsers(
                    AdminListUsersRequest(role: .customer, pageSize: 2, pageToken: token),
                    options: bearer(adminToken)
                )
                #expect(page.users.count <= 2)
                seen += page.users.compactMap { $0.user?.id }
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(seen == customers.map(\.id).reversed(), "newest first, every customer once, no provider")
            #expect(
                await code {
                    _ = try await cluster.users.adminListUsers(
                        AdminListUsersRequest(pageToken: "bogus"),
                        options: bearer(adminToken)
                    )
                } == .invalidArgument
            )
            #expect(
                await code {
                    _ = try await cluster.users.adminListUsers(
                        AdminListUsersRequest(pageSize: 1000),
                        options: bearer(adminToken)
                    )
                } == .invalidArgument
            )

            let target = customers[0]
            #expect(
                try await eventually {
                    (try? await cluster.users.adminGetUser(
                        AdminGetUserRequest(userId: target.id),
                        options: bearer(adminToken)
                    ))?.profile != nil
                }
            )
            var update = AdminUpdateUserRequest(userId: target.id)
            update.email = "renamed@example.com"
            update.address = "2 High Street"
            let updated = try await cluster.users.adminUpdateUser(update, options: bearer(adminToken))
            #expect(updated.user?.email == "renamed@example.com")
            guard case .customer(let profile)? = updated.profile else { Issue.record("no customer profile"); return }
            #expect(profile.address == "2 High Street")
            var clash = AdminUpdateUserRequest(userId: target.id)
            clash.username = "prov0"
            #expect(
                await code { _ = try await cluster.users.adminUpdateUser(clash, options: bearer(adminToken)) }
                    == .alreadyExists
            )

            var promote = AdminUpdateUserRequest(userId: target.id)
            promote.role = .provider
            let promoted = try await cluster.users.adminUpdateUser(promote, options: bearer(adminToken))
            #expect(promoted.user?.role == .provider)
            guard case .provider? = promoted.profile else {
                Issue.record("the profile did not follow the role"); return
            }
            #expect(
                await code {
                    _ = try await cluster.users.adminGetUser(
                        AdminGetUserRequest(userId: 999_999),
                        options: bearer(adminToken)
                    )
                } == .notFound
            )
            _ = provider

            // A role change retires the tokens that carry the old role, everywhere; a new login works at once.
            let (demoted, oldToken) = try await cluster.signUp("bigboss", role: .customer)
            var change = AdminUpdateUserRequest(userId: demoted.id)
            change.role = .provider
            _ = try await cluster.users.adminUpdateUser(change, options: bearer(adminToken))
            #expect(
                await code { _ = try await cluster.auth.getMe(GetMeRequest(), options: bearer(oldToken)) }
                    == .unauthenticated
            )
            #expect(
                try await eventually {
                    await code {
                        _ = try await cluster.orders.listMyOrderHistory(ListOrdersRequest(), options: bearer(oldToken))
                    } == .unauthenticated
                },
                "the orders service learns of it through user.updated"
            )
            let fresh = try await cluster.auth.login(
                LoginRequest(identifier: .username("bigboss"), password: "password123")
            )
            #expect(try await cluster.auth.getMe(GetMeRequest(), options: bearer(fresh.accessToken)).role == .provider)
            #expect(
                await code {
                    _ = try await cluster.orders.listProviderHistory(
                        ListOrdersRequest(),
                        options: bearer(fresh.accessToken)
                    )
                } == nil
            )
        }
    }

    @Test(
        "admin delete: the account is deactivated (no login, its tokens refused everywhere) and its profiles are gone"
    )
    func adminDelete() async throws {
        try await Cluster.with { cluster in
            let (_, adminToken) = try await cluster.admin()
            let (user, token) = try await cluster.signUp("olga", role: .provider)
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(token)))
                        != nil
                }
            )
            let deleted = try await cluster.users.adminDeleteUser(
                AdminDeleteUserRequest(userId: user.id),
                options: bearer(adminToken)
            )
            #expect(deleted.userId == user.id)
            #expect(
                await code {
                    _ = try await cluster.auth.login(
                        LoginRequest(identifier: .username("olga"), password: "password123")
                    )
                } == .unauthenticated
            )
            #expect(
                await code { _ = try await cluster.auth.getMe(GetMeRequest(), options: bearer(token)) }
                    == .unauthenticated
            )
            #expect(
                try await eventually {
                    await code {
                        _ = try await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(token))
                    } == .unauthenticated
                }
            )
            #expect(
                await code {
                    _ = try await cluster.users.adminGetUser(
                        AdminGetUserRequest(userId: user.id),
                        options: bearer(adminToken)
                    )
                } == .notFound
            )
            let listed = try await cluster.users.adminListUsers(AdminListUsersRequest(), options: bearer(adminToken))
            #expect(!listed.users.contains { $0.user?.id == user.id })
            let database = try DatabaseQueue(path: cluster.directory.appendingPathComponent("users.sqlite").path)
            let rows = try await database.read { db in
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT (SELECT COUNT(*) FROM customer_profile WHERE user_id = ?) + (SELECT COUNT(*) FROM provider_profile WHERE user_id = ?) + (SELECT COUNT(*) FROM provider_skill WHERE user_id = ?)",
                    arguments: [user.id, user.id, user.id]
                )
            }
            #expect(rows == 0)
            // Deleting again is idempotent.
            _ = try await cluster.users.adminDeleteUser(
                AdminDeleteUserRequest(userId: user.id),
                options: bearer(adminToken)
            )

            // Interrupted half-way: the account is deactivated in auth (step one) but the users
            // service never got to step two. The user.deactivated event finishes the job.
            let (other, otherToken) = try await cluster.signUp("olga2", role: .customer)
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyCustomerProfile(GetMyProfileRequest(), options: bearer(otherToken)))
                        != nil
                }
            )
            let identity = ServiceIdentity(
                name: "users",
                key: try ServiceKeys.serviceKey(dataDirectory: cluster.directory.path),
                now: cluster.clock.now
            )
            _ = try await cluster.auth.deactivateUser(
                DeactivateUserRequest(userId: other.id),
                options: bearer(try identity.token())
            )
            #expect(
                try await eventually {
                    try await database.read { db in
                        try Int.fetchOne(
                            db,
                            sql: "SELECT COUNT(*) FROM customer_profile WHERE user_id = ?",
                            arguments: [other.id]
                        ) == 0
                    }
                },
                "the profile is removed by the event alone"
            )
        }
    }

    @Test("verification with a reason; provider search by area, service type, skill, verified and rating, paginated")
    func verificationAndSearch() async throws {
        try await Cluster.with { cluster in
            let (_, adminToken) = try await cluster.admin()
            var providers: [(User, String)] = []
            for i in 0..<4 { providers.append(try await cluster.signUp("pro\(i)", role: .provider)) }
            for (index, (_, token)) in providers.enumerated() {
                #expect(
                    try await eventually {
                        (try? await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(token)))
                            != nil
                    }
                )
                var update = UpdateProviderProfileRequest()
                update.skills = index % 2 == 0 ? ["Plumbing", "Tiling"] : ["Tutoring"]
                update.serviceAreas = index < 2 ? [.north, .mid] : [.south]
                update.serviceTypes = index % 2 == 0 ? [.cleaningRepair] : [.educationTraining]
                _ = try await cluster.users.updateMyProviderProfile(update, options: bearer(token))
            }
            #expect(
                await code {
                    _ = try await cluster.users.verifyProvider(
                        VerifyProviderRequest(userId: providers[0].0.id, verified: true),
                        options: bearer(adminToken)
                    )
                } == .invalidArgument
            )
            let verified = try await cluster.users.verifyProvider(
                VerifyProviderRequest(userId: providers[0].0.id, verified: true, reason: "licence checked"),
                options: bearer(adminToken)
            )
            #expect(verified.verified)
            #expect(verified.verificationNote == "licence checked")
            let searcher = providers[1].1
            let plumbers = try await cluster.users.searchProviders(
                SearchProvidersRequest(skill: "plumbing"),
                options: bearer(searcher)
            )
            #expect(Set(plumbers.providers.map(\.userId)) == [providers[0].0.id, providers[2].0.id])
            let northPlumbers = try await cluster.users.searchProviders(
                SearchProvidersRequest(area: .north, serviceType: .cleaningRepair),
                options: bearer(searcher)
            )
            #expect(northPlumbers.providers.map(\.userId) == [providers[0].0.id])
            let onlyVerified = try await cluster.users.searchProviders(
                SearchProvidersRequest(verifiedOnly: true),
                options: bearer(searcher)
            )
            #expect(onlyVerified.providers.map(\.userId) == [providers[0].0.id])
            var all: [Int64] = []
            var page = ""
            repeat {
                let result = try await cluster.users.searchProviders(
                    SearchProvidersRequest(pageSize: 3, pageToken: page),
                    options: bearer(searcher)
                )
                all += result.providers.map(\.userId)
                page = result.nextPageToken
            } while !page.isEmpty
            #expect(all.count == 4)
            #expect(Set(all).count == 4)
            #expect(
                await code {
                    _ = try await cluster.users.searchProviders(
                        SearchProvidersRequest(minRating: 7),
                        options: bearer(searcher)
                    )
                } == .invalidArgument
            )
        }
    }

    @Test("events are applied once under redelivery: rating.updated and order.completed published twice with one id")
    func idempotentConsumers() async throws {
        try await Cluster.with { cluster in
            let (provider, token) = try await cluster.signUp("quinn", role: .provider)
            #expect(
                try await eventually {
                    (try? await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(token)))
                        != nil
                }
            )
            func wire<E: EventMessage>(_ event: E, id: String) -> Event {
                Event(
                    id: id,
                    exchange: E.eventExchange,
                    routingKey: E.eventRoutingKey,
                    type: E.protoMessageName,
                    payload: event.serializedBytes()
                )
            }
            let completed = wire(
                OrderCompleted(orderId: 7, customerId: 1, providerId: provider.id),
                id: "order-7-completed"
            )
            let rating = wire(
                RatingUpdated(providerId: provider.id, averageRating: 4.5, totalReviews: 2),
                id: "rating-1"
            )
            // Each from the service that owns it (consumers accept nothing else).
            try await cluster.bus(as: "orders") { orders in
                try await cluster.bus(as: "reviews") { reviews in
                    for _ in 0..<3 {
                        _ = try await orders.publish(PublishRequest(events: [completed]))
                        _ = try await reviews.publish(PublishRequest(events: [rating]))
                    }
                }
                let other = wire(
                    OrderCompleted(orderId: 8, customerId: 1, providerId: provider.id),
                    id: "order-8-completed"
                )
                _ = try await orders.publish(PublishRequest(events: [other]))
            }
            #expect(
                try await eventually {
                    let profile = try await cluster.users.getMyProviderProfile(
                        GetMyProfileRequest(),
                        options: bearer(token)
                    )
                    return profile.completedOrders == 2 && profile.rating == 4.5 && profile.totalReviews == 2
                }
            )
            // Nothing more arrives later: the duplicates were recognised, not queued behind.
            try await Task.sleep(for: .milliseconds(200))
            let profile = try await cluster.users.getMyProviderProfile(GetMyProfileRequest(), options: bearer(token))
            #expect(profile.completedOrders == 2)
        }
    }
}
