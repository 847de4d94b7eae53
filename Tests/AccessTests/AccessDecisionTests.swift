import Access
import RPC
import RPCSchema
import Testing

@Suite("The access decision the services and the gateway share")
struct AccessDecisionTests {
    static let customer = Caller(kind: .user, subject: "7", roles: ["customer"])
    static let admin = Caller(kind: .user, subject: "1", roles: ["admin"])
    static let service = Caller(kind: .service, subject: "orders")

    func rule(public: Bool = false, authenticated: Bool = false, roles: [String] = [], internal: Bool = false)
        -> AccessRule
    {
        var rule = AccessRule()
        rule.public = `public`
        rule.authenticated = authenticated
        rule.roles = roles
        rule.internal = `internal`
        return rule
    }

    @Test("public: anyone, signed in or not")
    func publicRule() {
        #expect(rule(public: true).decision(for: nil, operation: "Login") == .allowed)
        #expect(rule(public: true).decision(for: Self.customer, operation: "Login") == .allowed)
    }

    @Test("no caller where one is needed: UNAUTHENTICATED")
    func nobody() throws {
        for rule in [rule(authenticated: true), rule(roles: ["admin"]), rule(internal: true)] {
            guard case .unauthenticated = rule.decision(for: nil, operation: "GetMe") else {
                Issue.record("\(rule) without a caller")
                continue
            }
        }
        let error = #expect(throws: RPCError.self) {
            try rule(authenticated: true).decision(for: nil, operation: "GetMe").enforce()
        }
        #expect(error?.code == .unauthenticated)
    }

    @Test("internal: services only")
    func internalRule() {
        #expect(rule(internal: true).decision(for: Self.service, operation: "ListRevocations") == .allowed)
        #expect(
            rule(internal: true).decision(for: Self.admin, operation: "ListRevocations")
                == .permissionDenied("ListRevocations is for the system's services only")
        )
    }

    @Test("roles: a user holding one of them; services and other roles are PERMISSION_DENIED")
    func roles() {
        let adminOnly = rule(authenticated: true, roles: ["admin", "provider"])
        #expect(adminOnly.decision(for: Self.admin, operation: "ListUsers") == .allowed)
        #expect(
            adminOnly.decision(for: Self.customer, operation: "ListUsers")
                == .permissionDenied("ListUsers requires the role admin or provider")
        )
        #expect(
            adminOnly.decision(for: Self.service, operation: "ListUsers")
                == .permissionDenied("ListUsers requires the role admin or provider")
        )
        let error = #expect(throws: RPCError.self) {
            try adminOnly.decision(for: Self.customer, operation: "ListUsers").enforce()
        }
        #expect(error?.code == .permissionDenied)
    }

    @Test("authenticated with no roles: any verified caller")
    func anyCaller() {
        #expect(rule(authenticated: true).decision(for: Self.customer, operation: "GetMe") == .allowed)
        #expect(rule(authenticated: true).decision(for: Self.service, operation: "GetMe") == .allowed)
    }
}
