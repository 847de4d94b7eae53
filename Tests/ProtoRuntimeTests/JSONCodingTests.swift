import ProtoFixtures
import ProtoRuntime
import TestSupport
import Testing

@Suite("proto3 JSON mapping")
struct JSONCodingTests {
    @Test("canonical output: lowerCamelCase names, int64 as strings, enums by name, bytes as base64, defaults omitted")
    func canonicalOutput() {
        let message = AllTypes(
            fInt32: -5,
            fInt64: 1 << 60,
            fUint64: .max,
            fFloat: 1.5,
            fDouble: .infinity,
            fBool: true,
            fString: "a\"b\n",
            fBytes: [0xFB, 0xFF],
            fEnum: .blue,
            oInt32: 0,
            rInt32: [1, 2],
            mInt32Int64: [1: 2],
            choice: .cEnum(.green),
            customJson: "x"
        )
        #expect(
            message.jsonString()
                == #"{"fInt32":-5,"fInt64":"1152921504606846976","fUint64":"18446744073709551615","fFloat":1.5,"fDouble":"Infinity","fBool":true,"fString":"a\"b\n","fBytes":"+/8=","fEnum":"COLOR_BLUE","oInt32":0,"rInt32":[1,2],"mInt32Int64":{"1":"2"},"cEnum":"COLOR_GREEN","renamedField":"x"}"#
        )
    }

    @Test("options: proto field names, defaults, enums as numbers")
    func options() {
        let message = BenchAddress(postalCode: "0150")
        #expect(message.jsonString(options: .init(preserveProtoFieldNames: true)) == #"{"postal_code":"0150"}"#)
        #expect(
            message.jsonString(options: .init(emitDefaults: true)) == #"{"street":"","city":"","postalCode":"0150"}"#
        )
        #expect(BenchOrder(status: .pending).jsonString(options: .init(enumsAsIntegers: true)) == #"{"status":1}"#)
    }

    @Test("input accepts JSON names and proto names, numbers as strings, enums by number, null as default")
    func lenientInput() throws {
        let message = try AllTypes(
            jsonString: """
                { "f_int32": "12", "fInt64": 34, "fUint32": 1e2, "fDouble": "NaN", "fFloat": "-Infinity",
                  "fEnum": 2, "rEnum": ["COLOR_RED", 3], "fString": null, "fNested": {"a": 1},
                  "fBytes": "-_8", "mBoolString": {"true": "yes"}, "mInt64String": {"-5": "neg"},
                  "fTimestamp": "1972-01-01T10:00:20.021+01:00", "fDuration": "-1.5s" }
                """
        )
        #expect(message.fInt32 == 12)
        #expect(message.fInt64 == 34)
        #expect(message.fUint32 == 100)
        #expect(message.fDouble.isNaN)
        #expect(message.fFloat == -.infinity)
        #expect(message.fEnum == .green)
        #expect(message.rEnum == [.red, .blue])
        #expect(message.fNested?.a == 1)
        #expect(message.fBytes == [0xFB, 0xFF])
        #expect(message.mBoolString == [true: "yes"])
        #expect(message.mInt64String == [-5: "neg"])
        #expect(message.fTimestamp == ProtoTimestamp(seconds: 63_104_420, nanos: 21_000_000))
        #expect(message.fDuration == ProtoDuration(seconds: -1, nanos: -500_000_000))
    }

    @Test(
        "errors name the JSON path",
        arguments: [
            (#"{"rNested": [{}, {}, {"a": "x"}]}"#, "$.rNested[2].a: expected an integer"),
            (
                #"{"fNested": {"inner": {"values": [1, true]}}}"#,
                "$.fNested.inner.values[1]: expected number, found bool"
            ),
            (#"{"nope": 1}"#, "$.nope: unknown field"),
            (#"{"fInt32": 2147483648}"#, "$.fInt32: number out of range for int32"),
            (#"{"fUint32": -1}"#, "$.fUint32: number out of range for uint32"),
            (#"{"fInt32": 1.5}"#, "$.fInt32: expected an integer"),
            (#"{"fEnum": "COLOR_PURPLE"}"#, "$.fEnum: unknown enum value 'COLOR_PURPLE'"),
            (#"{"fBytes": "***"}"#, "$.fBytes: expected base64 bytes"),
            (#"{"fInt32": 1, "f_int32": 2}"#, "$.f_int32: field set more than once"),
            (#"{"cInt32": 1, "cString": "x"}"#, "$.cString: more than one field of oneof 'choice' is set"),
            (#"{"mInt32Int64": {"x": "1"}}"#, "$.mInt32Int64.x: map key 'x' is not a valid Int32"),
            (
                #"{"fTimestamp": "2020-02-30T00:00:00Z"}"#,
                "$.fTimestamp: expected an RFC 3339 timestamp between 0001-01-01 and 9999-12-31, found '2020-02-30T00:00:00Z'"
            ),
            (#"{"fDuration": "1.5"}"#, "$.fDuration: expected a duration like \"1.5s\", found '1.5'"),
            (#"{"fString": "\ud800"}"#, "$.fString: unpaired surrogate in string"),
            (#"{"fFloat": 1e39}"#, "$.fFloat: number out of range for float"),
            (#"{"fInt32": 01}"#, "$.fInt32: malformed number '01'"),
            (#"[]"#, "$: expected object, found array"),
            (#"{"fInt32": 1,}"#, "$: expected a key string, found '}'"),
            (#"{"fInt32": 1} x"#, "$: unexpected 'x' after the JSON value"),
            (#"{"fString": "a"#, "$.fString: unterminated string"),
            (#"{"mStringString": {"a": "1", "a": "2"}}"#, "$.mStringString.a: duplicate map key"),
        ]
    )
    func errors(json: String, message: String) {
        do {
            _ = try AllTypes(jsonString: json)
            Issue.record("decoded without error")
        } catch let error as JSONDecodingError {
            #expect(error.description == message)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("unknown fields and enum names can be ignored on request")
    func ignoreUnknown() throws {
        let options = JSONDecodingOptions(ignoreUnknownFields: true)
        let message = try AllTypes(
            jsonString:
                #"{"nope": {"deep": [1, {"x": null}]}, "fEnum": "COLOR_PURPLE", "rEnum": ["X", "COLOR_RED"], "fInt32": 3}"#,
            options: options
        )
        #expect(message == AllTypes(fInt32: 3, rEnum: [.red]))
    }

    @Test("nesting deeper than the limit is an error, not a stack overflow")
    func depth() {
        let deep = String(repeating: #"{"left":"#, count: 5000) + "{}" + String(repeating: "}", count: 5000)
        #expect(throws: JSONDecodingError.self) { try Tree(jsonString: deep) }
        let deepArrays = #"{"nope":"# + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"
        #expect(throws: JSONDecodingError.self) {
            try Tree(jsonString: deepArrays, options: .init(ignoreUnknownFields: true))
        }
    }

    @Test(
        "Timestamp and Duration JSON forms",
        arguments: [
            (ProtoTimestamp(seconds: 0), "1970-01-01T00:00:00Z"),
            (ProtoTimestamp(seconds: 1, nanos: 20_000_000), "1970-01-01T00:00:01.020Z"),
            (ProtoTimestamp(seconds: -1, nanos: 999_999_999), "1969-12-31T23:59:59.999999999Z"),
            (ProtoTimestamp(seconds: ProtoTimestamp.minimumSeconds), "0001-01-01T00:00:00Z"),
            (ProtoTimestamp(seconds: ProtoTimestamp.maximumSeconds, nanos: 1000), "9999-12-31T23:59:59.000001Z"),
            (ProtoTimestamp(seconds: 951_782_400), "2000-02-29T00:00:00Z"),
        ]
    )
    func timestamps(value: ProtoTimestamp, text: String) throws {
        #expect(value.rfc3339 == text)
        #expect(ProtoTimestamp(rfc3339: text) == value)
    }

    @Test(
        "Duration text",
        arguments: [
            (ProtoDuration(seconds: 1, nanos: 500_000_000), "1.500s"),
            (ProtoDuration(seconds: 0, nanos: -1), "-0.000000001s"),
            (ProtoDuration(seconds: -3), "-3s"),
            (ProtoDuration(), "0s"),
        ]
    )
    func durations(value: ProtoDuration, text: String) {
        #expect(value.jsonText == text)
        #expect(ProtoDuration(jsonText: text) == value)
    }

    @Test(
        "out-of-range timestamps and durations are refused",
        arguments: [
            "0000-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "2020-13-01T00:00:00Z", "2020-01-01 00:00:00Z",
            "2020-01-01T00:00:00", "2020-01-01T00:00:00.1234567891Z", "2020-01-01T24:00:00Z",
        ]
    )
    func badTimestamps(text: String) {
        #expect(ProtoTimestamp(rfc3339: text) == nil)
    }
}
