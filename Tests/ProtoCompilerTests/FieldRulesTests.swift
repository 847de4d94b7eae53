import Foundation
import ProtoCompiler
import TestSupport
import Testing

@Suite("Field rules (rpc.v1.rules) in the compiler")
struct FieldRulesTests {
    static let rules =
        (try? String(contentsOf: repositoryRoot.appendingPathComponent("Protos/rpc/v1/rules.proto"), encoding: .utf8))
        ?? ""

    static func source(_ body: String) -> String {
        """
        syntax = "proto3";
        package t;
        import "rpc/v1/rules.proto";
        enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; }
        message Money { int64 cents = 1; }
        \(body)
        """
    }

    static func errors(_ body: String) -> [String] { diagnostics(source(body), extra: ["rpc/v1/rules.proto": rules]) }

    @Test(
        "a rule that does not fit its field is a compile error at the field",
        arguments: [
            (
                "message M { int32 n = 1 [(rpc.v1.rules) = { string: { max_len: 3 } }]; }",
                "string rules do not fit a field of type int32"
            ),
            (
                "message M { string s = 1 [(rpc.v1.rules) = { string: { min_len: 5 max_len: 3 } }]; }",
                "min_len 5 is more than max_len 3"
            ),
            (
                "message M { string s = 1 [(rpc.v1.rules) = { string: { chars: \"z-a\" } }]; }",
                "whose start is after its end"
            ),
            ("message M { string s = 1 [(rpc.v1.rules) = { string: { chars: \"a\\\\\" } }]; }", "ends with a lone"),
            ("message M { string s = 1 [(rpc.v1.rules) = { string: { chars: \"\" } }]; }", "is empty"),
            (
                "message M { string s = 1 [(rpc.v1.rules) = { string: { chars: \"a-z\" email: true } }]; }",
                "chars and email cannot both be set"
            ),
            ("message M { int32 n = 1 [(rpc.v1.rules) = { int: { gte: 5 lte: 4 } }]; }", "no value is allowed"),
            (
                "message M { uint32 n = 1 [(rpc.v1.rules) = { int: { gte: -1 } }]; }",
                "gte -1 does not fit a field of type uint32"
            ),
            (
                "message M { int32 n = 1 [(rpc.v1.rules) = { int: { lte: 3000000000 } }]; }",
                "lte 3000000000 does not fit"
            ),
            ("message M { double d = 1 [(rpc.v1.rules) = { double: { gt: 1 lt: 1 } }]; }", "no value is allowed"),
            (
                "message M { Color c = 1 [(rpc.v1.rules) = { enum: { in: [\"COLOR_BLUE\"] } }]; }",
                "t.Color has no value named 'COLOR_BLUE'"
            ),
            (
                "message M { Color c = 1 [(rpc.v1.rules) = { enum: { defined_only: true not_in: [\"COLOR_UNSPECIFIED\", \"COLOR_RED\"] } }]; }",
                "no value of t.Color is allowed"
            ),
            (
                "message M { repeated string s = 1 [(rpc.v1.rules) = { string: { max_len: 3 } }]; }",
                "put the elements' rules in repeated.items"
            ),
            (
                "message M { string s = 1 [(rpc.v1.rules) = { repeated: { max_items: 3 } }]; }",
                "repeated rules need a repeated field"
            ),
            (
                "message M { repeated string s = 1 [(rpc.v1.rules) = { repeated: { min_items: 4 max_items: 3 } }]; }",
                "min_items 4 is more than max_items 3"
            ),
            (
                "message M { Money m = 1 [(rpc.v1.rules) = { message: { fields: [{ name: \"euros\" }] } }]; }",
                "t.Money has no field named 'euros'"
            ),
            (
                "message M { Money m = 1 [(rpc.v1.rules) = { message: { fields: [{ name: \"cents\" rules: { string: { max_len: 1 } } }] } }]; }",
                "rules of 'm.cents': string rules do not fit a field of type int64"
            ),
            (
                "message M { Money m = 1 [(rpc.v1.rules) = { timestamp: { gte_seconds: 0 } }]; }",
                "timestamp rules do not fit"
            ),
            (
                "message M { oneof o { string a = 1 [(rpc.v1.rules) = { required: true }]; string b = 2; } }",
                "use (rpc.v1.oneof_rules) required"
            ),
            (
                "message M { map<string, string> m = 1 [(rpc.v1.rules) = { required: true }]; }",
                "map field 'm' are not supported"
            ),
            (
                "message Tree { Tree child = 1; string name = 2 [(rpc.v1.rules) = { string: { max_len: 3 } }]; }",
                "cannot be checked through 'child'"
            ),
        ]
    )
    func misfit(body: String, expected: String) {
        let found = FieldRulesTests.errors(body)
        #expect(found.contains { $0.contains("error: ") && $0.contains(expected) }, "\(found)")
        #expect(found.allSatisfy { $0.hasPrefix("test.proto:") }, "\(found)")
    }

    @Test("valid rules compile; the generated validate() checks them, and messages without rules get none")
    func generated() throws {
        let body = """
            message Plain { string s = 1; }
            message Address { string street = 1 [(rpc.v1.rules) = { string: { max_len: 10 } }]; }
            message Request {
              string name = 1 [(rpc.v1.rules) = { string: { min_len: 1 max_len: 20 not_blank: true chars: "A-Za-z_-" } }];
              Money price = 2 [(rpc.v1.rules) = { required: true error_message: "price must be positive" message: { fields: [{ name: "cents" rules: { int: { gt: 0 } } }] } }];
              repeated Address addresses = 3 [(rpc.v1.rules) = { repeated: { max_items: 2 } }];
              Color color = 4 [(rpc.v1.rules) = { enum: { defined_only: true not_in: ["COLOR_UNSPECIFIED"] } }];
              oneof who {
                option (rpc.v1.oneof_rules) = { required: true };
                string email = 5 [(rpc.v1.rules) = { string: { email: true } }];
                string user = 6;
              }
            }
            """
        let result = try compile([
            "test.proto": FieldRulesTests.source(body), "rpc/v1/rules.proto": FieldRulesTests.rules,
        ])
        let file = try #require(result.requestedFiles.first)
        let swift = SwiftGenerator().generate(file, schema: result.schema)
        #expect(swift.contains("extension Request {"))
        #expect(swift.contains("extension Address {"))
        #expect(!swift.contains("extension Plain {"))
        #expect(swift.contains("public func validate() throws(ProtoRuntime.FieldViolation)"))
        #expect(swift.contains("ProtoRuntime.FieldCheck.length(self.name, min: 1, max: 20, maxBytes: Int.max)"))
        #expect(
            swift.contains(
                "private static let _chars0: [ClosedRange<UInt32>] = [0x2D...0x2D, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]"
            )
        )
        #expect(swift.contains("catch { throw error.under(\"addresses[\\(v"))
        #expect(swift.contains("case 1:"))
        #expect(swift.contains("if self.who == nil"))
        #expect(swift.contains("message: \"price must be positive\""))
    }
}
