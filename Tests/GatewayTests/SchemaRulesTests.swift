import Foundation
@testable import Gateway
import MarketplaceAPI
import ProtoRuntime
import TestSupport
import Testing

/// The marketplace's field rules (`rpc.v1.rules` in Protos/marketplace): the generated checks
/// and what the OpenAPI document says of them.
@Suite("Schema field rules")
struct SchemaRulesTests {
    static func violation(_ message: some ProtoRuntime.Message) -> FieldViolation? {
        do {
            try message.validate()
            return nil
        } catch {
            return error
        }
    }

    static let valid = PublishOrderRequest(
        title: "Fix the sink",
        description: "",
        serviceType: .cleaningRepair,
        price: Money(cents: 5000),
        location: .north,
        address: ""
    )

    @Test("PublishOrderRequest: the title's length and blankness, the price, the enums, the times")
    func publish() {
        #expect(Self.violation(Self.valid) == nil)
        var r = Self.valid
        r.title = "   "
        #expect(Self.violation(r)?.description == "title must not be blank")
        r.title = String(repeating: "e\u{301}", count: 200)  // 200 graphemes, 400 scalars
        #expect(Self.violation(r)?.description == "title must be 1-200 characters and at most 800 bytes")
        r.title = String(repeating: "\u{E9}", count: 200)
        #expect(Self.violation(r) == nil)
        r = Self.valid
        r.price = nil
        #expect(Self.violation(r)?.description == "price must be more than 0 and at most 1,000,000.00")
        r.price = Money(cents: 100_000_001)
        #expect(Self.violation(r)?.field == "price.cents")
        r = Self.valid
        r.serviceType = .unspecified
        #expect(Self.violation(r)?.field == "service_type")
        r.serviceType = .unrecognized(42)
        #expect(Self.violation(r)?.field == "service_type")
        r = Self.valid
        r.serviceStartTime = ProtoTimestamp(seconds: -1, nanos: 0)
        #expect(Self.violation(r)?.description == "service times must be between 1970 and 9999")
    }

    @Test("nested and repeated fields are named by their path")
    func paths() {
        var customer = CreateCustomerProfileRequest()
        customer.structuredAddress = Address(street: String(repeating: "x", count: 256))
        #expect(
            Self.violation(customer)?.description
                == "structured_address.street must be at most 255 characters and 1020 bytes"
        )
        var provider = CreateProviderProfileRequest()
        provider.certifications = [Certification(name: "ok"), Certification(name: " ")]
        #expect(Self.violation(provider)?.description == "certifications[1].name must not be blank")
        provider.certifications = []
        provider.skills = ["swift", ""]
        #expect(Self.violation(provider)?.field == "skills[1]")
        provider.skills = Array(repeating: "x", count: 51)
        #expect(Self.violation(provider)?.description == "skills may hold at most 50 entries")
        var update = UpdateCustomerProfileRequest()
        update.updateMask = ["address", "password"]
        #expect(Self.violation(update)?.field == "update_mask[1]")
    }

    @Test("accounts: username characters, e-mail, a required oneof")
    func accounts() {
        let register = RegisterRequest(
            username: "ann_1.x-y",
            email: "ann@example.org",
            password: "12345678",
            role: .customer
        )
        #expect(Self.violation(register) == nil)
        var bad = register
        bad.username = "ann smith"
        #expect(
            Self.violation(bad)?.description == "username must be 3-50 characters of letters, digits, '_', '.' and '-'"
        )
        bad = register
        bad.email = "ann@localhost"
        #expect(Self.violation(bad)?.description == "email is not a valid e-mail address")
        #expect(Self.violation(LoginRequest(password: "x"))?.description == "login needs an email or a username")
        #expect(Self.violation(LoginRequest(identifier: .email("nope"), password: "x"))?.field == "email")
        #expect(Self.violation(LoginRequest(identifier: .username("anything goes"), password: "x")) == nil)
    }

    @Test(
        "the OpenAPI document states the rules (PublishOrder's title, price, enums; Register's username; Login's oneof)"
    )
    func document() throws {
        let json = try JSONSerialization.jsonObject(with: Data(try Gateway.openAPIDocument())) as? [String: Any]
        let schemas = try #require((json?["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let publish = try #require(schemas["marketplace.v1.PublishOrderRequest"] as? [String: Any])
        #expect(publish["required"] as? [String] == ["location", "price", "serviceType", "title"])
        let properties = try #require(publish["properties"] as? [String: Any])
        let title = try #require(properties["title"] as? [String: Any])
        #expect(title["minLength"] as? Int == 1)
        #expect(title["maxLength"] as? Int == 200)
        #expect(title["pattern"] as? String == OpenAPI.notBlankPattern)
        let cents = try #require(
            ((properties["price"] as? [String: Any])?["properties"] as? [String: Any])?["cents"] as? [String: Any]
        )
        #expect(cents["type"] as? String == "integer")
        #expect(cents["minimum"] as? Int == 1)
        #expect(cents["maximum"] as? Int == 100_000_000)
        let serviceType = try #require(properties["serviceType"] as? [String: Any])
        #expect((serviceType["enum"] as? [String])?.contains("SERVICE_TYPE_UNSPECIFIED") == false)
        #expect((serviceType["enum"] as? [String])?.count == 6)
        let username = try #require(
            (schemas["marketplace.v1.RegisterRequest"] as? [String: Any]).flatMap {
                ($0["properties"] as? [String: Any])?["username"] as? [String: Any]
            }
        )
        #expect(username["pattern"] as? String == "^[\\u002d-\\u002e0-9A-Z\\u005fa-z]*$(?!\\n)")
        #expect(username["minLength"] as? Int == 3)
        let email = try #require(
            (schemas["marketplace.v1.RegisterRequest"] as? [String: Any]).flatMap {
                ($0["properties"] as? [String: Any])?["email"] as? [String: Any]
            }
        )
        #expect(email["format"] as? String == "email")
        #expect(email["pattern"] as? String == OpenAPI.emailPattern)
        #expect(email["maxLength"] as? Int == 254)
        let login = try #require(schemas["marketplace.v1.LoginRequest"] as? [String: Any])
        #expect((login["oneOf"] as? [[String: Any]])?.count == 2)
    }

    @Test("the document's patterns mean to Python what the checks mean (the not-blank class; the username class)")
    func patternsAgreeWithPython() async throws {
        let username = try #require(FieldCheck.characterRanges("A-Za-z0-9_.-"))
        let pattern = "^[" + username.map(OpenAPI.classItem).joined() + "]*" + OpenAPI.end
        let samples = [
            "ann", "ann\n", "a b", "a-b.c_d", "ä", "\u{85}", " \u{FEFF} ", "x\u{200B}", "\u{3000}", "-", "\\", "^", "]",
        ]
        var script = "import re, json, sys\nsamples = json.loads(sys.argv[1])\n"
        script += "u = re.compile(sys.argv[2]); b = re.compile(sys.argv[3])\n"
        script += "print(json.dumps([[bool(u.search(s)) for s in samples], [bool(b.search(s)) for s in samples]]))\n"
        let argument = String(decoding: try JSONSerialization.data(withJSONObject: samples), as: UTF8.self)
        let run = try await runProcess("python3", ["-c", script, argument, pattern, OpenAPI.notBlankPattern])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[Bool]])
        #expect(answer[0] == samples.map { FieldCheck.onlyAllowed($0, username) })
        #expect(answer[1] == samples.map { !FieldCheck.isBlank($0) })
    }

    @Test("the document's e-mail pattern accepts to Python exactly what FieldCheck.isEmailAddress accepts")
    func emailPatternAgreesWithPython() async throws {
        let long = String(repeating: "a", count: 63)
        let samples = [
            "ann@example.org", "a.b+c@sub.example.co", "A_B@EXAMPLE.ORG", "x@xn--p1ai", "x@xn--", "x@a.b",
            "ann@localhost", "ann@@example.org", ".ann@example.org", "ann.@example.org", "a..b@example.org",
            "ann@-example.org", "ann@example-.org", "ann@example..org", "ann@exa_mple.org", "ann@example.o1",
            "ann@example.123", "änn@example.org", "ann@exämple.org", "ann example@example.org", "@example.org",
            "ann@", "{~}@x.io", "a\(long)@example.org", "\(long)a@example.org", "a@\(long).\(long).\(long).\(long)",
            "a@\(long).\(long).\(long).\(long.dropLast(2))", "a@b.\(long)", "a@b.\(long)a", "ann@example.org\n",
        ]
        var script = "import re, json, sys\nsamples = json.loads(sys.argv[1])\n"
        script += "e = re.compile(sys.argv[2])\n"
        script += "print(json.dumps([bool(e.search(s)) and len(s) <= 254 for s in samples]))\n"
        let argument = String(decoding: try JSONSerialization.data(withJSONObject: samples), as: UTF8.self)
        let run = try await runProcess("python3", ["-c", script, argument, OpenAPI.emailPattern])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [Bool])
        #expect(answer == samples.map(FieldCheck.isEmailAddress))
        #expect(samples.map(FieldCheck.isEmailAddress).filter { $0 }.count >= 6)
    }
}
