import ProtoCompiler
import TestSupport
import Testing

@Suite("Parsing and resolving each proto3 construct")
struct ParserTests {
    @Test("package, imports, nested messages and enums, every scalar, repeated, map, oneof, optional")
    func messages() throws {
        let result = try compile([
            "test.proto": """
            syntax = "proto3";
            package demo.v1;
            import "other.proto";
            import public "pub.proto";
            message Outer {
              message Inner { enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; } Kind kind = 1; }
              int32 a = 1; int64 b = 2; uint32 c = 3; uint64 d = 4; sint32 e = 5; sint64 f = 6;
              fixed32 g = 7; fixed64 h = 8; sfixed32 i = 9; sfixed64 j = 10; float k = 11; double l = 12;
              bool m = 13; string n = 14; bytes o = 15;
              repeated Inner inners = 16;
              map<string, Other> others = 17;
              oneof choice { string text = 18; Inner.Kind kind = 19; }
              optional int32 maybe = 20;
              Public pub = 21;
            }
            """,
            "other.proto": "syntax = \"proto3\"; package demo.v1; message Other {}",
            "pub.proto": "syntax = \"proto3\"; package demo.v1; message Public {}",
        ])
        let file = try #require(result.requestedFiles.first)
        #expect(file.package == "demo.v1")
        #expect(file.dependencies == ["other.proto", "pub.proto"])
        #expect(file.publicDependencies == [1])
        let outer = try #require(file.messages.first)
        #expect(outer.fields.count == 21)
        #expect(outer.fields[15].type == .message("demo.v1.Outer.Inner"))
        #expect(outer.fields[15].label == .repeated)
        #expect(outer.fields[16].type == .map(key: .string, value: .message("demo.v1.Other")))
        #expect(outer.oneofs.map(\.name) == ["choice"])
        #expect(outer.fields[18].type == .enumeration("demo.v1.Outer.Inner.Kind"))
        #expect(outer.fields[18].oneofIndex == 0)
        #expect(outer.fields[19].label == .optional)
        #expect(outer.fields[0].isPacked == false)
        #expect(outer.messages.first?.enums.first?.values.map(\.name) == ["KIND_UNSPECIFIED", "KIND_A"])
    }

    @Test("services with the four call kinds and method options")
    func services() throws {
        let result = try compile([
            "test.proto": """
            syntax = "proto3";
            package svc;
            message Req {} message Res {}
            // Does things.
            service Things {
              rpc Unary(Req) returns (Res);
              rpc ClientStream(stream Req) returns (Res);
              rpc ServerStream(Req) returns (stream Res) { option deprecated = true; }
              rpc Bidi(stream Req) returns (stream .svc.Res) {}
            }
            """
        ])
        let service = try #require(result.requestedFiles.first?.services.first)
        #expect(service.fullName == "svc.Things")
        #expect(service.doc == "Does things.")
        #expect(service.methods.map(\.clientStreaming) == [false, true, false, true])
        #expect(service.methods.map(\.serverStreaming) == [false, false, true, true])
        #expect(service.methods[2].isDeprecated)
        #expect(service.methods[3].outputType == "svc.Res")
    }

    @Test("custom options with scalar and aggregate values, at every level")
    func customOptions() throws {
        let result = try compile([
            "test.proto": """
            syntax = "proto3";
            package app;
            import "opts.proto";
            option (opts.file_tag) = "files";
            message M {
              option (opts.route) = { exchange: "order_events" routing_key: "order.created" };
              int32 a = 1 [(opts.field_tag) = -42, deprecated = true];
            }
            enum E { option (opts.enum_tag) = true; E_ZERO = 0 [(opts.value_tag) = 1.5]; }
            service S {
              option (opts.service_tag) = 7;
              rpc Call(M) returns (M) {
                option (opts.http) = { post: "/api/v1/things/{id}" body: "*" additional: [{ get: "/x" }, { get: "/y" }] };
              }
              rpc Other(M) returns (M) {
                option (opts.http).get = "/other";
                option (opts.http).body = "";
              }
            }
            """,
            "opts.proto": """
            syntax = "proto3";
            package opts;
            import "google/protobuf/descriptor.proto";
            message Route { string exchange = 1; string routing_key = 2; }
            message Http { oneof pattern { string get = 1; string post = 2; } string body = 3; repeated Http additional = 4; }
            extend google.protobuf.FileOptions { string file_tag = 50000; }
            extend google.protobuf.MessageOptions { Route route = 50001; }
            extend google.protobuf.FieldOptions { sint32 field_tag = 50002; }
            extend google.protobuf.EnumOptions { bool enum_tag = 50003; }
            extend google.protobuf.EnumValueOptions { double value_tag = 50004; }
            extend google.protobuf.ServiceOptions { uint64 service_tag = 50005; }
            extend google.protobuf.MethodOptions { Http http = 50006; }
            """,
        ])
        let file = try #require(result.requestedFiles.first)
        #expect(file.options.value("opts.file_tag")?.stringValue == "files")
        let route = try #require(file.messages.first?.options.value("opts.route"))
        #expect(route[field: "routing_key"]?.stringValue == "order.created")
        #expect(file.messages.first?.fields.first?.options.value("opts.field_tag") == .int(-42))
        #expect(file.messages.first?.fields.first?.isDeprecated == true)
        #expect(file.enums.first?.options.value("opts.enum_tag") == .bool(true))
        #expect(file.enums.first?.values.first?.options.value("opts.value_tag") == .double(1.5))
        #expect(file.services.first?.options.value("opts.service_tag") == .uint(7))
        let http = try #require(file.services.first?.methods.first?.options.value("opts.http"))
        #expect(http[field: "post"]?.stringValue == "/api/v1/things/{id}")
        #expect(http[field: "body"]?.stringValue == "*")
        if case .message(let fields) = http {
            #expect(fields.filter { $0.name == "additional" }.count == 2)
        }
        // Sub-fields set by separate statements merge into one value.
        let other = try #require(file.services.first?.methods.last?.options.value("opts.http"))
        #expect(other[field: "get"]?.stringValue == "/other")
        #expect(other[field: "body"]?.stringValue == "")
    }

    @Test("reserved numbers, ranges and names; json_name; comments become docs")
    func reservedAndDocs() throws {
        let result = try compile([
            "test.proto": """
            syntax = "proto3";
            // The order.
            // Two lines.
            message Order {
              reserved 2, 15, 9 to 11, 40 to max;
              reserved "foo", "bar";
              // The id.
              int64 order_id = 1 [json_name = "ID"];
              string title = 3; // trailing doc
            }
            """
        ])
        let m = try #require(result.requestedFiles.first?.messages.first)
        #expect(m.doc == "The order.\nTwo lines.")
        #expect(m.reservedRanges == [2...2, 15...15, 9...11, 40...536_870_911])
        #expect(m.reservedNames == ["foo", "bar"])
        #expect(m.fields[0].jsonName == "ID")
        #expect(m.fields[0].doc == "The id.")
        #expect(m.fields[1].jsonName == "title")
        #expect(m.fields[1].doc == "trailing doc")
    }

    @Test("protobuf's scoping: inner scopes first, partial names resolved from the first component")
    func scoping() throws {
        let result = try compile([
            "test.proto": """
            syntax = "proto3";
            package a.b;
            message Target {}
            message Outer {
              message Target {}
              Target inner = 1;       // Outer.Target (innermost)
              .a.b.Target outer = 2;  // fully qualified
              b.Target via_pkg = 3;   // 'b' resolves to package a.b
              Outer.Target nested = 4;
            }
            """
        ])
        let fields = try #require(result.requestedFiles.first?.messages.last?.fields)
        #expect(
            fields.map(\.type) == [
                .message("a.b.Outer.Target"), .message("a.b.Target"), .message("a.b.Target"),
                .message("a.b.Outer.Target"),
            ]
        )
    }

    @Test("enum aliases with allow_alias, and negative values")
    func aliases() throws {
        let result = try compile([
            "test.proto": """
            syntax = "proto3";
            enum E { option allow_alias = true; E_ZERO = 0; E_ONE = 1; E_UNO = 1; E_NEG = -3; E_HEX = 0x10; }
            """
        ])
        #expect(result.requestedFiles.first?.enums.first?.values.map(\.number) == [0, 1, 1, -3, 16])
    }
}
