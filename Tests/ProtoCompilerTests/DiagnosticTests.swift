import ProtoCompiler
import TestSupport
import Testing

@Suite("Diagnostics: each error with its exact position")
struct DiagnosticTests {
    static let header = "syntax = \"proto3\";\npackage p;\n"

    @Test(
        "one error per case",
        arguments: [
            ("message M { Ordr o = 1; }", "test.proto:3:13: error: unknown type 'Ordr'"),
            (
                "message M { int32 a = 1; int32 b = 1; }",
                "test.proto:3:36: error: field number 1 is already used by 'a' in 'p.M'"
            ),
            ("message M { int32 a = 0; }", "test.proto:3:23: error: field number 0 is out of range (1 to 536,870,911)"),
            (
                "message M { int32 a = 536870912; }",
                "test.proto:3:23: error: field number 536870912 is out of range (1 to 536,870,911)"
            ),
            (
                "message M { int32 a = 19500; }",
                "test.proto:3:23: error: field number 19500 is reserved for the protobuf implementation (19000 to 19999)"
            ),
            ("message M { reserved 5; int32 a = 5; }", "test.proto:3:35: error: field 'a' uses reserved number 5"),
            ("message M { reserved \"a\"; int32 a = 1; }", "test.proto:3:33: error: field name 'a' is reserved"),
            ("message M { int32 a = 1; string a = 2; }", "test.proto:3:33: error: 'a' is already defined in 'p.M'"),
            (
                "message M { map<float, int32> m = 1; }",
                "test.proto:3:13: error: map keys cannot be float, double or bytes"
            ),
            (
                "message M { map<M, int32> m = 1; }",
                "test.proto:3:13: error: map keys must be integral, bool or string types, not 'M'"
            ),
            (
                "enum E { E_ONE = 1; }",
                "test.proto:3:10: error: the first value of a proto3 enum must be zero ('E_ONE' is 1)"
            ),
            (
                "enum E { E_ZERO = 0; E_NIL = 0; }",
                "test.proto:3:22: error: 'E_NIL' uses number 0, already used by 'E_ZERO' (set 'option allow_alias = true;' to allow aliases)"
            ),
            (
                "enum E { option allow_alias = true; E_ZERO = 0; }",
                "test.proto:3:6: error: enum 'E' sets allow_alias but has no aliases; remove the option"
            ),
            ("message M { oneof o { } }", "test.proto:3:19: error: oneof 'o' must have at least one field"),
            (
                "message M { oneof o { repeated int32 a = 1; } }",
                "test.proto:3:23: error: fields in oneofs must not have labels"
            ),
            (
                "message M { int32 foo_bar = 1; int32 fooBar = 2; }",
                "test.proto:3:38: error: the JSON name 'fooBar' of field 'fooBar' conflicts with field 'foo_bar'"
            ),
            ("message M { int32 a = 1 [foo = true]; }", "test.proto:3:26: error: unknown option 'foo'"),
            (
                "message M { int32 a = 1 [deprecated = 3]; }",
                "test.proto:3:39: error: option 'deprecated' expects true or false"
            ),
            (
                "message M { required int32 a = 1; }",
                "test.proto:3:13: error: required fields are not allowed in proto3"
            ),
            ("message M { int32 a = 1 }", "test.proto:3:25: error: expected ';' after field 'a', found '}'"),
            ("message M { int32 a = 1; } }", "test.proto:3:28: error: expected a top-level declaration, found '}'"),
            ("service S { rpc Get(Missing) returns (Missing); }", "test.proto:3:21: error: unknown type 'Missing'"),
            (
                "enum E { E_ZERO = 0; } service S { rpc Get(E) returns (E); }",
                "test.proto:3:44: error: method input type 'E' must be a message"
            ),
            ("message M { p q = 1; }", "test.proto:3:13: error: 'p' is not a type (it is a package)"),
            (
                "message M { int32 a = 1 [default = 5]; }",
                "test.proto:3:26: error: explicit default values are not allowed in proto3"
            ),
            (
                "message M { string s = 1; } message N { M.s x = 1; }",
                "test.proto:3:41: error: 'M.s' is not a type (it is a field)"
            ),
            (
                "enum E { E_ZERO = 0; E_A = 1; } enum F { F_ZERO = 0; E_A = 1; }",
                "test.proto:3:54: error: 'E_A' is already defined in 'p'; note that enum values use C++ scoping rules: they are siblings of their enum, not children"
            ),
            ("message M { int32 a = 1 [json_name = 5]; }", "test.proto:3:26: error: json_name must be a string"),
            ("message M { group G = 1 {} }", "test.proto:3:13: error: groups are not supported in proto3"),
            ("message M { int32 1a = 1; }", "test.proto:3:19: error: need space between number and identifier"),
        ]
    )
    func single(source: String, expected: String) {
        let found = diagnostics(DiagnosticTests.header + source)
        #expect(found.contains(expected), "got: \(found)")
    }

    @Test("syntax other than proto3 is refused")
    func proto2() {
        #expect(
            diagnostics("syntax = \"proto2\";\nmessage M {}")
                == ["test.proto:1:10: error: unsupported syntax \"proto2\"; only \"proto3\" is supported"]
        )
    }

    @Test("every error of a file is reported in one run, in source order")
    func allErrorsAtOnce() {
        let found = diagnostics(
            DiagnosticTests.header + """
                message A { Unknown1 x = 1; }
                message B { int32 y = 0; Unknown2 z = 2; }
                """
        )
        #expect(
            found == [
                "test.proto:3:13: error: unknown type 'Unknown1'",
                "test.proto:4:23: error: field number 0 is out of range (1 to 536,870,911)",
                "test.proto:4:26: error: unknown type 'Unknown2'",
            ]
        )
    }

    @Test("nesting past the limit is an error, not a stack overflow")
    func nestingLimit() {
        let source =
            "syntax = \"proto3\";\n" + String(repeating: "message M { ", count: 70) + String(repeating: "}", count: 70)
        #expect(diagnostics(source) == ["test.proto:2:777: error: nesting deeper than 64 levels"])
    }

    @Test("a missing import is an error at the import")
    func missingImport() {
        #expect(
            diagnostics("syntax = \"proto3\";\nimport \"nowhere.proto\";\n")
                == ["test.proto:2:8: error: file not found: 'nowhere.proto'"]
        )
    }

    @Test("import cycles are reported with the cycle")
    func importCycle() {
        let found = diagnostics(
            "syntax = \"proto3\";\nimport \"a.proto\";\n",
            extra: [
                "a.proto": "syntax = \"proto3\";\nimport \"b.proto\";\n",
                "b.proto": "syntax = \"proto3\";\nimport \"test.proto\";\n",
            ]
        )
        #expect(found == ["b.proto:2:8: error: import cycle: test.proto -> a.proto -> b.proto -> test.proto"])
    }

    @Test("a type from a file that is not imported is not visible")
    func notImported() {
        let found = diagnostics(
            "syntax = \"proto3\";\nimport \"a.proto\";\nmessage M { Hidden h = 1; }\n",
            extra: [
                "a.proto": "syntax = \"proto3\";\nimport \"b.proto\";\n",
                "b.proto": "syntax = \"proto3\";\nmessage Hidden {}\n",
            ]
        )
        #expect(
            found == ["test.proto:3:13: error: 'Hidden' is defined in 'b.proto', which is not imported by 'test.proto'"]
        )
    }

    @Test("a custom option of the wrong kind of declaration is refused")
    func optionOnWrongTarget() {
        let found = diagnostics(
            "syntax = \"proto3\";\nimport \"o.proto\";\nmessage M { option (o.tag) = 1; }\n",
            extra: [
                "o.proto": """
                syntax = "proto3";
                package o;
                import "google/protobuf/descriptor.proto";
                extend google.protobuf.FieldOptions { int32 tag = 50000; }
                """
            ]
        )
        #expect(
            found == [
                "test.proto:3:13: error: option '(o.tag)' extends 'google.protobuf.FieldOptions', so it cannot be used where 'google.protobuf.MessageOptions' applies"
            ]
        )
    }

    @Test(
        "malformed input never crashes the compiler",
        arguments: [
            "", "\u{0}\u{1}\u{2}", "message", "message {", "message M {", "message M { int32", "syntax = ",
            "\"unterminated",
            "/* unterminated", "message M { map<int32 m = 1; }", "option (", "enum E { E = ; }", "service S { rpc A(",
            "{{{{}}}}",
            "message M { option (a.b).c = { x: [1, 2 };", "package ..;", String(repeating: "message M {", count: 500),
            String(repeating: "message M {", count: 100_000),
            "option (x) = " + String(repeating: "{a:", count: 100_000),
        ]
    )
    func hostile(source: String) {
        let found = diagnostics(source)
        #expect(!found.isEmpty)
    }
}

extension DiagnosticTests {
    @Test("setting a sub-field an aggregate option already set is an error")
    func optionSetTwice() {
        let found = diagnostics(
            """
            syntax = "proto3";
            import "o.proto";
            message M { option (o.r) = { a: 1 }; option (o.r).a = 2; }
            """,
            extra: [
                "o.proto": """
                syntax = "proto3";
                package o;
                import "google/protobuf/descriptor.proto";
                message R { int32 a = 1; }
                extend google.protobuf.MessageOptions { R r = 50000; }
                """
            ]
        )
        #expect(found == ["test.proto:3:38: error: option '(o.r).a' is set more than once"])
    }
}
