import EventBus
public import Foundation
public import GRDB
public import Logging
public import MarketplaceAPI
import ProtoRuntime
public import RPC
import ServiceKit

/// `marketplace.v1.Users`: customer and provider profiles, the admin's view of users (accounts
/// come from the auth service), provider verification and search.
public struct UsersService: Users.Handler {
    let database: DatabasePool
    /// The auth service, called with this service's identity.
    let auth: Auth.Client
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        database: DatabasePool,
        auth: Auth.Client,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.database = database
        self.auth = auth
        self.now = now
        self.logger = logger
    }

    // MARK: Either profile

    /// The caller's profile of kind `P`, or NOT_FOUND.
    func myProfile<P: StoredProfile>(_: P.Type, context: ServerContext) async throws -> P {
        let id = try context.requireUserID()
        guard let profile = try await read({ db in try P.fetch(db, id) }) else {
            throw RPCError(code: .notFound, message: "no \(P.noun) yet")
        }
        return profile
    }

    /// Stores a new profile (ALREADY_EXISTS if the user has one of this kind) and announces it.
    func create<P: StoredProfile>(_ profile: P, of id: Int64, at now: Date) async throws -> P {
        try await write { db in
            guard try P.fetch(db, id) == nil else {
                throw RPCError(code: .alreadyExists, message: "the \(P.noun) already exists; update it instead")
            }
            try profile.save(db)
            try Outbox.enqueue(
                db,
                ProfileCreated(userId: id, profileType: P.kind, occurredAt: ProtoTimestamp(date: now))
            )
            return profile
        }
    }

    /// Applies `change` (which returns the fields it set) to the caller's profile of kind `P`
    /// and announces the fields; NOT_FOUND without one, INVALID_ARGUMENT when nothing changes.
    func updateMyProfile<P: StoredProfile>(
        context: ServerContext,
        _ change: @escaping @Sendable (inout P) throws -> [String]
    ) async throws -> P {
        let id = try context.requireUserID()
        let now = self.now()
        return try await write { db in
            guard var profile = try P.fetch(db, id) else {
                throw RPCError(code: .notFound, message: "no \(P.noun) yet")
            }
            let changed = try change(&profile)
            guard !changed.isEmpty else { throw RPCError(code: .invalidArgument, message: "nothing to update") }
            profile.updatedAt = ProtoTimestamp(date: now)
            try profile.save(db)
            let updated = ProfileUpdated(
                userId: id,
                profileType: P.kind,
                updatedFields: changed + ["updated_at"],
                occurredAt: ProtoTimestamp(date: now)
            )
            try Outbox.enqueue(db, updated)
            return profile
        }
    }

    // MARK: Customer profile

    public func getMyCustomerProfile(_ request: GetMyProfileRequest, context: ServerContext) async throws
        -> CustomerProfile
    {
        try await myProfile(CustomerProfile.self, context: context)
    }

    public func createMyCustomerProfile(_ request: CreateCustomerProfileRequest, context: ServerContext) async throws
        -> CustomerProfile
    {
        let id = try context.requireUserID()
        let now = self.now()
        var profile = UsersSchema.emptyCustomer(id, now: now)
        profile.location = request.location ?? .north
        profile.address = ProfileRules.trimmed(request.address ?? "")
        profile.budgetPreference = ProfileRules.money(request.budgetPreference)
        profile.fullName = ProfileRules.trimmed(request.fullName ?? "")
        profile.phone = ProfileRules.trimmed(request.phone ?? "")
        profile.structuredAddress = ProfileRules.address(request.structuredAddress)
        profile.preferredServiceTypes = request.preferredServiceTypes
        return try await create(profile, of: id, at: now)
    }

    public func updateMyCustomerProfile(_ request: UpdateCustomerProfileRequest, context: ServerContext) async throws
        -> CustomerProfile
    {
        try await updateMyProfile(context: context) { profile in try UsersService.apply(request, to: &profile) }
    }

    static let customerFields: Set<String> = [
        "location", "address", "budget_preference", "full_name", "phone", "structured_address",
        "preferred_service_types",
    ]

    /// Applies a partial update; returns the names of the fields it set.
    static func apply(_ request: UpdateCustomerProfileRequest, to profile: inout CustomerProfile) throws -> [String] {
        let selection = try UpdateSelection(mask: request.updateMask, known: customerFields)
        var changed: [String] = []
        if selection.wants("location", present: request.location != nil) {
            profile.location = try ProfileRules.location(request.location)
            changed.append("location")
        }
        if selection.wants("address", present: request.address != nil) {
            profile.address = ProfileRules.trimmed(request.address ?? "")
            changed.append("address")
        }
        if selection.wants("budget_preference", present: request.budgetPreference != nil) {
            profile.budgetPreference = ProfileRules.money(request.budgetPreference)
            changed.append("budget_preference")
        }
        if selection.wants("full_name", present: request.fullName != nil) {
            profile.fullName = ProfileRules.trimmed(request.fullName ?? "")
            changed.append("full_name")
        }
        if selection.wants("phone", present: request.phone != nil) {
            profile.phone = ProfileRules.trimmed(request.phone ?? "")
            changed.append("phone")
        }
        if selection.wants("structured_address", present: request.structuredAddress != nil) {
            profile.structuredAddress = ProfileRules.address(request.structuredAddress)
            changed.append("structured_address")
        }
        if selection.wants("preferred_service_types", present: !request.preferredServiceTypes.isEmpty) {
            profile.preferredServiceTypes = request.preferredServiceTypes
            changed.append("preferred_service_types")
        }
        return changed
    }

    // MARK: Provider profile

    public func getMyProviderProfile(_ request: GetMyProfileRequest, context: ServerContext) async throws
        -> ProviderProfile
    {
        try await myProfile(ProviderProfile.self, context: context)
    }

    public func createMyProviderProfile(_ request: CreateProviderProfileRequest, context: ServerContext) async throws
        -> ProviderProfile
    {
        let id = try context.requireUserID()
        let now = self.now()
        var update = UpdateProviderProfileRequest(
            skills: request.skills,
            experienceYears: request.experienceYears,
            hourlyRate: request.hourlyRate,
            availability: request.availability,
            portfolio: request.portfolio,
            fullName: request.fullName,
            phone: request.phone,
            certifications: request.certifications,
            serviceAreas: request.serviceAreas,
            serviceTypes: request.serviceTypes
        )
        update.updateMask = []
        var profile = UsersSchema.emptyProvider(id, now: now)
        _ = try UsersService.apply(update, to: &profile)
        return try await create(profile, of: id, at: now)
    }

    public func updateMyProviderProfile(_ request: UpdateProviderProfileRequest, context: ServerContext) async throws
        -> ProviderProfile
    {
        try await updateMyProfile(context: context) { profile in try UsersService.apply(request, to: &profile) }
    }

    static let providerFields: Set<String> = [
        "skills", "experience_years", "hourly_rate", "availability", "portfolio", "full_name", "phone",
        "certifications",
        "service_areas", "service_types",
    ]

    static func apply(_ request: UpdateProviderProfileRequest, to profile: inout ProviderProfile) throws -> [String] {
        let selection = try UpdateSelection(mask: request.updateMask, known: providerFields)
        var changed: [String] = []
        if selection.wants("skills", present: !request.skills.isEmpty) {
            profile.skills = request.skills.map(ProfileRules.trimmed)
            changed.append("skills")
        }
        if selection.wants("experience_years", present: request.experienceYears != nil) {
            profile.experienceYears = request.experienceYears ?? 0
            changed.append("experience_years")
        }
        if selection.wants("hourly_rate", present: request.hourlyRate != nil) {
            profile.hourlyRate = ProfileRules.money(request.hourlyRate)
            changed.append("hourly_rate")
        }
        if selection.wants("availability", present: request.availability != nil) {
            profile.availability = ProfileRules.trimmed(request.availability ?? "")
            changed.append("availability")
        }
        if selection.wants("portfolio", present: !request.portfolio.isEmpty) {
            profile.portfolio = request.portfolio.map(ProfileRules.trimmed)
            changed.append("portfolio")
        }
        if selection.wants("full_name", present: request.fullName != nil) {
            profile.fullName = ProfileRules.trimmed(request.fullName ?? "")
            changed.append("full_name")
        }
        if selection.wants("phone", present: request.phone != nil) {
            profile.phone = ProfileRules.trimmed(request.phone ?? "")
            changed.append("phone")
        }
        if selection.wants("certifications", present: !request.certifications.isEmpty) {
            profile.certifications = ProfileRules.certifications(request.certifications)
            changed.append("certifications")
        }
        if selection.wants("service_areas", present: !request.serviceAreas.isEmpty) {
            profile.serviceAreas = request.serviceAreas
            changed.append("service_areas")
        }
        if selection.wants("service_types", present: !request.serviceTypes.isEmpty) {
            profile.serviceTypes = request.serviceTypes
            changed.append("service_types")
        }
        return changed
    }

    public func getProviderProfile(_ request: GetProviderProfileRequest, context: ServerContext) async throws
        -> ProviderProfile
    {
        guard let profile = try await read({ db in try UsersSchema.provider(db, request.userId) }), profile.active
        else {
            throw RPCError(code: .notFound, message: "provider \(request.userId) not found")
        }
        return profile
    }

    public func searchProviders(_ request: SearchProvidersRequest, context: ServerContext) async throws
        -> SearchProvidersResponse
    {
        let size = try PageToken.size(request.pageSize)
        var search = ProviderSearch()
        // The schema's rules checked the values (known enums, skill length, min_rating 0-5).
        if request.area != .unspecified { search.area = request.area }
        if request.serviceType != .unspecified { search.serviceType = request.serviceType }
        search.skill = ProfileRules.trimmed(request.skill).lowercased()
        search.verifiedOnly = request.verifiedOnly
        search.minRating = request.minRating
        let page = search.page
        let (providers, next) = try await read { db in
            try UsersSchema.providers(db, page, size: size, token: request.pageToken)
        }
        return SearchProvidersResponse(providers: providers, nextPageToken: next)
    }

    // MARK: Admin

    public func adminListUsers(_ request: AdminListUsersRequest, context: ServerContext) async throws
        -> AdminListUsersResponse
    {
        let accounts = try await auth.listUsers(
            ListUsersRequest(role: request.role, pageSize: request.pageSize, pageToken: request.pageToken)
        )
        let ids = accounts.users.map(\.id)
        let withProfiles = try await read { db in try UsersSchema.withProfiles(db, ids) }
        return AdminListUsersResponse(
            users: accounts.users.map { UserSummary(user: $0, hasProfile: withProfiles.contains($0.id)) },
            nextPageToken: accounts.nextPageToken
        )
    }

    public func adminGetUser(_ request: AdminGetUserRequest, context: ServerContext) async throws -> UserDetail {
        let user = try await auth.getUser(GetUserRequest(userId: request.userId))
        guard user.active else { throw RPCError(code: .notFound, message: "user \(request.userId) not found") }
        return try await detail(of: user)
    }

    func detail(of user: User) async throws -> UserDetail {
        try await read { db in
            switch user.role {
            case .customer:
                return UserDetail(user: user, profile: try UsersSchema.customer(db, user.id).map { .customer($0) })
            case .provider:
                return UserDetail(user: user, profile: try UsersSchema.provider(db, user.id).map { .provider($0) })
            default: return UserDetail(user: user)
            }
        }
    }

    public func adminUpdateUser(_ request: AdminUpdateUserRequest, context: ServerContext) async throws -> UserDetail {
        // Everything is checked before anything is written, so a bad profile field changes nothing.
        let known = Set(["username", "email", "role"]).union(UsersService.customerFields).union(
            UsersService.providerFields
        )
        let selection = try UpdateSelection(mask: request.updateMask, known: known)
        var user = try await auth.getUser(GetUserRequest(userId: request.userId))
        guard user.active else { throw RPCError(code: .notFound, message: "user \(request.userId) not found") }
        let customerMask = request.updateMask.filter { UsersService.customerFields.contains($0) }
        let providerMask = request.updateMask.filter { UsersService.providerFields.contains($0) }
        let customerUpdate = UpdateCustomerProfileRequest(
            location: request.location,
            address: request.address,
            budgetPreference: request.budgetPreference,
            fullName: request.fullName,
            phone: request.phone,
            updateMask: customerMask
        )
        let providerUpdate = UpdateProviderProfileRequest(
            skills: request.skills,
            experienceYears: request.experienceYears,
            hourlyRate: request.hourlyRate,
            availability: request.availability,
            portfolio: request.portfolio,
            fullName: request.fullName,
            phone: request.phone,
            updateMask: providerMask
        )
        let newRole = selection.wants("role", present: request.role != nil) ? request.role : nil
        let role = newRole ?? user.role
        var probeCustomer = CustomerProfile()
        var probeProvider = ProviderProfile()
        if role == .customer, request.updateMask.isEmpty || !customerMask.isEmpty {
            _ = try UsersService.apply(customerUpdate, to: &probeCustomer)
        }
        if role == .provider, request.updateMask.isEmpty || !providerMask.isEmpty {
            _ = try UsersService.apply(providerUpdate, to: &probeProvider)
        }

        let account = UpdateAccountRequest(
            userId: request.userId,
            username: selection.wants("username", present: request.username != nil) ? request.username : nil,
            email: selection.wants("email", present: request.email != nil) ? request.email : nil,
            role: newRole
        )
        if account.username != nil || account.email != nil || account.role != nil {
            user = try await auth.updateAccount(account)
        }
        let now = self.now()
        let current = user
        try await write { db in
            // The profile matches the (possibly new) role at once; the user.updated event does
            // the same, idempotently, should this step be interrupted.
            try UsersSchema.conform(db, userID: current.id, role: current.role, now: now)
            switch current.role {
            case .customer:
                if var profile = try UsersSchema.customer(db, current.id),
                    request.updateMask.isEmpty || !customerMask.isEmpty
                {
                    let changed = try UsersService.apply(customerUpdate, to: &profile)
                    if !changed.isEmpty {
                        profile.updatedAt = ProtoTimestamp(date: now)
                        try UsersSchema.save(db, profile)
                    }
                }
            case .provider:
                if var profile = try UsersSchema.provider(db, current.id),
                    request.updateMask.isEmpty || !providerMask.isEmpty
                {
                    let changed = try UsersService.apply(providerUpdate, to: &profile)
                    if !changed.isEmpty {
                        profile.updatedAt = ProtoTimestamp(date: now)
                        try UsersSchema.save(db, profile)
                    }
                }
            default: break
            }
        }
        context.logger.notice(
            "user updated by admin",
            metadata: ["user": "\(current.id)", "by": "\(context.caller?.subject ?? "?")"]
        )
        return try await detail(of: current)
    }

    public func adminDeleteUser(_ request: AdminDeleteUserRequest, context: ServerContext) async throws
        -> AdminDeleteUserResponse
    {
        let deactivated = try await auth.deactivateUser(DeactivateUserRequest(userId: request.userId))
        let now = self.now()
        // The account is deactivated first (its tokens stop working); the profiles go now, and
        // the user.deactivated event removes them again (idempotently) if this step is interrupted.
        try await write { db in
            try UsersSchema.markDeleted(db, request.userId, at: now)
            try UsersSchema.deleteProfiles(db, request.userId)
        }
        context.logger.notice(
            "user deleted by admin",
            metadata: ["user": "\(deactivated.user?.id ?? request.userId)", "by": "\(context.caller?.subject ?? "?")"]
        )
        return AdminDeleteUserResponse(userId: request.userId)
    }

    public func verifyProvider(_ request: VerifyProviderRequest, context: ServerContext) async throws -> ProviderProfile
    {
        // Not blank and at most 500 characters (the schema's rule), so never empty once trimmed.
        let reason = ProfileRules.trimmed(request.reason)
        let admin = Int64(context.caller?.subject ?? "") ?? 0
        let now = self.now()
        return try await write { db in
            guard var profile = try UsersSchema.provider(db, request.userId) else {
                throw RPCError(code: .notFound, message: "provider \(request.userId) has no profile")
            }
            profile.verified = request.verified
            profile.verificationNote = reason
            profile.updatedAt = ProtoTimestamp(date: now)
            try UsersSchema.save(db, profile)
            try Outbox.enqueue(
                db,
                ProviderVerificationChanged(
                    userId: request.userId,
                    verified: request.verified,
                    reason: reason,
                    adminId: admin,
                    occurredAt: ProtoTimestamp(date: now)
                )
            )
            return profile
        }
    }

    // MARK: Database

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceRead(logger: logger, body)
    }

    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.serviceWrite(logger: logger, body)
    }
}
